//! The allowed dependency direction between the modules (drawn in ARCHITECTURE.md): a test
//! reads every source file of the crate and fails when a module imports a module it may not,
//! reaches an item through a crate-root re-export (`use crate::Config`), or reads the
//! environment outside `config`.

// A test module (`#[cfg(test)]` in lib.rs): an unreadable source file fails the test.
#![allow(clippy::panic, clippy::expect_used)]

use std::path::Path;

/// Each module and the crate modules it may import. Pure modules come first and import only
/// pure modules; nothing imports `config` or `authorizer` but the top.
const ALLOWED: &[(&str, &[&str])] = &[
    // Pure.
    ("error", &[]),
    ("alg", &[]),
    ("decision_log", &["error"]),
    ("bearer", &["error"]),
    ("event", &["error"]),
    ("jwk", &["alg", "error"]),
    ("jwt", &["alg", "decision_log", "error"]),
    ("dpop", &["alg", "bearer", "error", "jwk", "jwt"]),
    ("claims", &["decision_log", "error"]),
    ("policy", &["claims", "error"]),
    ("response", &["claims", "error", "policy"]),
    // I/O.
    ("outbound", &["error"]),
    ("discovery", &["decision_log", "outbound"]),
    (
        "keys",
        &[
            "alg",
            "decision_log",
            "discovery",
            "error",
            "jwk",
            "outbound",
        ],
    ),
    ("aws", &[]),
    ("secrets", &["aws", "error"]),
    ("replay", &["aws", "error"]),
    (
        "introspect",
        &[
            "claims",
            "decision_log",
            "discovery",
            "error",
            "outbound",
            "secrets",
        ],
    ),
    (
        "verifier",
        &[
            "claims",
            "decision_log",
            "error",
            "introspect",
            "jwt",
            "keys",
        ],
    ),
    // Top.
    (
        "config",
        &[
            "alg",
            "claims",
            "dpop",
            "error",
            "event",
            "introspect",
            "keys",
            "outbound",
            "policy",
            "verifier",
        ],
    ),
    (
        "authorizer",
        &[
            "alg",
            "bearer",
            "claims",
            "config",
            "decision_log",
            "discovery",
            "dpop",
            "error",
            "event",
            "introspect",
            "jwt",
            "keys",
            "outbound",
            "policy",
            "replay",
            "response",
            "secrets",
            "verifier",
        ],
    ),
];

/// Pure modules: besides the table above, they may not name an I/O crate.
const PURE: [&str; 11] = [
    "error",
    "alg",
    "jwk",
    "dpop",
    "decision_log",
    "bearer",
    "event",
    "jwt",
    "claims",
    "policy",
    "response",
];

/// Crates only I/O modules may use.
const IO_CRATES: [&str; 5] = [
    "tokio",
    "reqwest",
    "aws_config",
    "aws_sdk_secretsmanager",
    "std::fs",
];

/// What reads the environment at run time (`env!` is the build's, at compile time).
const ENV_READS: [&str; 2] = ["std::env", "env::var"];

/// The module that may read the environment.
const ENV_READER: &str = "config";

/// The crate's modules (the table plus this test module).
fn modules() -> Vec<&'static str> {
    ALLOWED
        .iter()
        .map(|(m, _)| *m)
        .chain(["layering"])
        .collect()
}

/// The first path segment of every path a source names after `prefix` (`crate::x::…`, and each
/// item at depth 1 of a `crate::{a, b::{…}, c}` group), modules or not.
fn names_after(source: &str, prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    // `crate::x` anywhere.
    for (i, _) in source.match_indices(prefix) {
        let rest = &source[i + prefix.len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.push(name);
        }
    }
    // `use crate::{a, b::{…}, c}` groups: the first path segment of every item at depth 1.
    for (i, _) in source.match_indices(&format!("{prefix}{{")) {
        let mut depth = 0usize;
        let mut at_item_start = true;
        let mut word = String::new();
        for c in source[i + prefix.len()..].chars() {
            match c {
                '{' => {
                    depth += 1;
                    at_item_start = depth == 1;
                }
                '}' => {
                    // The last item of a group (`crate::{a, b}`) ends at the brace.
                    if !word.is_empty() {
                        found.push(std::mem::take(&mut word));
                        at_item_start = false;
                    }
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                ',' if depth == 1 => at_item_start = true,
                c if c.is_ascii_alphanumeric() || c == '_' => {
                    if at_item_start && depth == 1 {
                        word.push(c);
                    }
                }
                _ => {
                    if !word.is_empty() {
                        found.push(std::mem::take(&mut word));
                        at_item_start = false;
                    }
                }
            }
        }
    }
    found
}

/// Every crate module a source names, as `crate::x` / `super::x` or inside a `use crate::{…}` /
/// `use super::{…}` group (`super` of a top-level module is the crate root).
fn imported_modules(source: &str) -> Vec<String> {
    let modules = modules();
    let mut found: Vec<String> = ["crate::", "super::"]
        .iter()
        .flat_map(|prefix| names_after(source, prefix))
        .filter(|m| modules.contains(&m.as_str()))
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The top-level `use super::…` declarations of a file (unindented, to their `;`): where
/// `super` is the crate root when the file is a top-level module or a directory's `mod.rs`.
/// Indented ones are in inline modules (`mod tests { use super::*; }`), whose `super` is the
/// module itself.
fn top_level_super_uses(source: &str) -> String {
    let mut out = String::new();
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        if line.starts_with("use super::") || line.starts_with("pub use super::") {
            let rest = &source[offset..];
            let end = rest.find(';').map_or(rest.len(), |e| e + 1);
            out.push_str(&rest[..end]);
            out.push('\n');
        }
        offset += line.len();
    }
    out
}

/// One source file of a module. `super_is_root`: the file is a top-level module or a
/// directory's `mod.rs` (in `policy/rest.rs`, `super` is `policy`).
struct File {
    module: String,
    path: String,
    text: String,
    super_is_root: bool,
}

/// Every source file of the crate but `lib.rs` and this one, with its module.
fn crate_files() -> Vec<File> {
    fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .collect();
        out.sort();
        out
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let read = |path: &Path| {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let mut files = Vec::new();
    for path in rust_files(&src) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            for inner in rust_files(&path) {
                let file = inner.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if file.ends_with(".rs") {
                    files.push(File {
                        module: name.to_owned(),
                        path: format!("{name}/{file}"),
                        text: read(&inner),
                        super_is_root: file == "mod.rs",
                    });
                }
            }
        } else if let Some(module) = name.strip_suffix(".rs")
            && module != "lib"
            && module != "layering"
        {
            files.push(File {
                module: module.to_owned(),
                path: name.to_owned(),
                text: read(&path),
                super_is_root: true,
            });
        }
    }
    files
}

/// What is wrong with `source`, a file of `module`, by the rules above (empty: nothing).
fn violations(module: &str, source: &str, super_is_root: bool) -> Vec<String> {
    let Some((_, allowed)) = ALLOWED.iter().find(|(m, _)| *m == module) else {
        return vec![format!(
            "module {module} is missing from the layering table"
        )];
    };
    let modules = modules();
    let mut bad = Vec::new();
    // Paths from the crate root: `crate::…` anywhere, `super::…` in the top-level `use`s of a
    // file whose parent is the root.
    let mut from_root = names_after(source, "crate::");
    if super_is_root {
        from_root.extend(names_after(&top_level_super_uses(source), "super::"));
        // `super::x` elsewhere may be an inline module's parent: counted when `x` is a module.
        from_root.extend(
            names_after(source, "super::")
                .into_iter()
                .filter(|name| modules.contains(&name.as_str())),
        );
    }
    from_root.sort();
    from_root.dedup();
    for name in from_root {
        if !modules.contains(&name.as_str()) {
            bad.push(format!(
                "{module} names `{name}` through the crate root (a re-export): import it from \
                 its module"
            ));
        } else if name != module && !allowed.contains(&name.as_str()) {
            bad.push(format!("{module} imports {name}"));
        }
    }
    if module != ENV_READER {
        for read in ENV_READS {
            if source.contains(read) {
                bad.push(format!(
                    "{module} reads the environment (`{read}`): only {ENV_READER} may"
                ));
            }
        }
    }
    if PURE.contains(&module) {
        for krate in IO_CRATES {
            if source.contains(&format!("{krate}::")) || source.contains(&format!("use {krate}")) {
                bad.push(format!("pure module {module} uses {krate}"));
            }
        }
    }
    bad
}

#[test]
fn modules_import_only_what_the_map_allows() {
    let files = crate_files();
    let mut bad = Vec::new();
    for file in &files {
        for why in violations(&file.module, &file.text, file.super_is_root) {
            bad.push(format!("{}: {why}", file.path));
        }
    }
    assert!(bad.is_empty(), "layering violations: {bad:#?}");
    for (module, _) in ALLOWED {
        assert!(
            files.iter().any(|f| f.module == *module),
            "the table lists {module}, which has no source file"
        );
    }
}

/// Each kind of violation, made on purpose, is reported (and its lawful twin is not).
#[test]
fn a_deliberate_violation_of_each_kind_fails() {
    let cases: [(&str, &str, bool, &str); 10] = [
        // A pure module importing an I/O module, directly or in a group.
        (
            "jwt",
            "use crate::outbound::Fetch;",
            true,
            "jwt imports outbound",
        ),
        (
            "policy",
            "use crate::{claims::Claims, keys::IssuerKeys};",
            false,
            "policy imports keys",
        ),
        // The last item of a group.
        (
            "policy",
            "use crate::{error::AuthzError, keys};",
            false,
            "policy imports keys",
        ),
        // Anything but the top importing `authorizer` or `config`.
        (
            "keys",
            "fn f() { crate::authorizer::Authorizer::new(); }",
            true,
            "keys imports authorizer",
        ),
        // An item through a crate-root re-export: `crate::X`, a group, a root `super::X`.
        (
            "jwt",
            "use crate::Config;",
            true,
            "names `Config` through the crate root",
        ),
        (
            "claims",
            "use crate::{error::AuthzError, Rules};",
            true,
            "names `Rules` through the crate root",
        ),
        (
            "bearer",
            "use super::Config;\n",
            true,
            "names `Config` through the crate root",
        ),
        // The environment read outside `config`.
        (
            "keys",
            "fn f() { let _ = std::env::var(\"AUTHZ_ISSUER\"); }",
            true,
            "keys reads the environment",
        ),
        // A pure module using an I/O crate.
        (
            "policy",
            "use tokio::time::sleep;",
            true,
            "pure module policy uses tokio",
        ),
        // A module the table does not list.
        (
            "cache",
            "",
            true,
            "module cache is missing from the layering table",
        ),
    ];
    for (module, source, super_is_root, want) in cases {
        let found = violations(module, source, super_is_root);
        assert!(
            found.iter().any(|v| v.contains(want)),
            "{module}: {source:?}: want {want:?}, got {found:?}"
        );
    }
    for (module, source, super_is_root) in [
        (
            "config",
            "fn f() { let _ = std::env::var(\"AUTHZ_ISSUER\"); }",
            true,
        ),
        (
            "authorizer",
            "use crate::{config::Config, keys::IssuerKeys};",
            true,
        ),
        // `super` of a directory module's file is that module, of an inline module its parent.
        ("policy", "use super::{MethodArn, Rules};\n", false),
        ("jwt", "mod tests {\n    use super::ParsedJwt;\n}\n", true),
        // `env!` is the build's environment, read at compile time.
        (
            "outbound",
            "const V: &str = env!(\"CARGO_PKG_VERSION\");",
            true,
        ),
    ] {
        let found = violations(module, source, super_is_root);
        assert!(found.is_empty(), "{module}: {source:?}: {found:?}");
    }
}

#[test]
fn the_checker_sees_both_import_forms() {
    let src = "use crate::{\n    claims::{A, B},\n    error::AuthzError,\n    decision_log,\n};\nfn f() { crate::outbound::client(); }";
    assert_eq!(
        imported_modules(src),
        ["claims", "decision_log", "error", "outbound"]
            .map(String::from)
            .to_vec()
    );
    let src = "use super::{keys::X, Duration};\nfn f() { super::config::Config::from_env(); }";
    assert_eq!(
        imported_modules(src),
        ["config", "keys"].map(String::from).to_vec()
    );
}

#[test]
fn every_module_is_in_the_table() {
    for file in [
        "alg",
        "bearer",
        "claims",
        "error",
        "event",
        "jwt",
        "decision_log",
        "policy",
        "response",
        "discovery",
        "outbound",
        "introspect",
        "keys",
        "secrets",
        "verifier",
        "config",
        "authorizer",
    ] {
        assert!(ALLOWED.iter().any(|(m, _)| *m == file), "{file}");
    }
    let lib = include_str!("lib.rs");
    for line in lib.lines() {
        if let Some(m) = line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';')) {
            assert!(
                m == "layering" || ALLOWED.iter().any(|(n, _)| *n == m),
                "module {m} is missing from the layering table"
            );
        }
    }
}
