//! The allowed dependency direction between the modules (drawn in ARCHITECTURE.md): a test
//! reads every module's source and fails when one imports a module it may not.

/// Each module and the crate modules it may import. Pure modules come first and import only
/// pure modules; nothing imports `config` or `authorizer` but the top.
const ALLOWED: &[(&str, &str, &[&str])] = &[
    // Pure.
    ("error", include_str!("error.rs"), &[]),
    ("alg", include_str!("alg.rs"), &[]),
    ("log", include_str!("log.rs"), &["error"]),
    ("bearer", include_str!("bearer.rs"), &["error"]),
    ("event", include_str!("event.rs"), &["error"]),
    ("jwt", include_str!("jwt.rs"), &["alg", "error", "log"]),
    ("claims", include_str!("claims.rs"), &["error", "log"]),
    ("policy", include_str!("policy.rs"), &["claims", "error"]),
    (
        "response",
        include_str!("response.rs"),
        &["claims", "policy"],
    ),
    // I/O.
    ("http", include_str!("http.rs"), &["error"]),
    ("discovery", include_str!("discovery.rs"), &["http", "log"]),
    (
        "keys",
        include_str!("keys.rs"),
        &["alg", "discovery", "error", "http", "log"],
    ),
    ("secrets", include_str!("secrets.rs"), &["error"]),
    (
        "introspect",
        include_str!("introspect.rs"),
        &["claims", "discovery", "error", "http", "log", "secrets"],
    ),
    (
        "verifier",
        include_str!("verifier.rs"),
        &["claims", "error", "introspect", "jwt", "keys", "log"],
    ),
    // Top.
    (
        "config",
        concat!(
            include_str!("config/mod.rs"),
            include_str!("config/build.rs"),
            include_str!("config/declare.rs"),
            include_str!("config/env.rs"),
            include_str!("config/settings.rs"),
        ),
        &[
            "alg",
            "claims",
            "error",
            "event",
            "http",
            "introspect",
            "keys",
            "policy",
            "verifier",
        ],
    ),
];

/// Pure modules: besides the table above, they may not name an I/O crate.
const PURE: [&str; 9] = [
    "error", "alg", "log", "bearer", "event", "jwt", "claims", "policy", "response",
];

/// Crates only I/O modules may use.
const IO_CRATES: [&str; 5] = [
    "tokio",
    "reqwest",
    "aws_config",
    "aws_sdk_secretsmanager",
    "std::fs",
];

/// Every crate module a source names, as `crate::x` / `super::x` or inside a `use crate::{…}` /
/// `use super::{…}` group (`super` of a top-level module is the crate root).
fn imported_modules(source: &str) -> Vec<String> {
    let modules: Vec<&str> = ALLOWED
        .iter()
        .map(|(m, _, _)| *m)
        .chain(["authorizer", "layering"])
        .collect();
    let mut found = Vec::new();
    for prefix in ["crate::", "super::"] {
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
    }
    found.retain(|m| modules.contains(&m.as_str()));
    found.sort();
    found.dedup();
    found
}

#[test]
fn modules_import_only_what_the_map_allows() {
    let mut bad = Vec::new();
    for (module, source, allowed) in ALLOWED {
        for import in imported_modules(source) {
            if import != *module && !allowed.contains(&import.as_str()) {
                bad.push(format!("{module} imports {import}"));
            }
        }
        if PURE.contains(module) {
            for krate in IO_CRATES {
                if source.contains(&format!("{krate}::"))
                    || source.contains(&format!("use {krate}"))
                {
                    bad.push(format!("pure module {module} uses {krate}"));
                }
            }
        }
    }
    assert!(bad.is_empty(), "layering violations: {bad:#?}");
}

#[test]
fn the_checker_sees_both_import_forms() {
    let src = "use crate::{\n    claims::{A, B},\n    error::AuthzError,\n    log,\n};\nfn f() { crate::http::client(); }";
    assert_eq!(
        imported_modules(src),
        ["claims", "error", "http", "log"]
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
        "log",
        "policy",
        "response",
        "discovery",
        "http",
        "introspect",
        "keys",
        "secrets",
        "verifier",
        "config",
    ] {
        assert!(ALLOWED.iter().any(|(m, _, _)| *m == file), "{file}");
    }
    let lib = include_str!("lib.rs");
    for line in lib.lines() {
        if let Some(m) = line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';')) {
            assert!(
                m == "authorizer" || m == "layering" || ALLOWED.iter().any(|(n, _, _)| *n == m),
                "module {m} is missing from the layering table"
            );
        }
    }
}
