//! The build `scripts/dev.sh` makes is the one `cargo test --workspace` (scripts/test.sh) made:
//! every crate of it has the same features in both, so after scripts/test.sh the local mode's
//! first start compiles nothing (README, "How long `scripts/dev.sh` takes"). Cargo builds a crate
//! anew for every feature set; the test build's dev-dependencies turn on features of shared
//! crates, which authz-local's Cargo.toml turns on too. Read with `cargo tree` (the lock file, no
//! network, no build), the packages from dev.sh's own `cargo build` line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The `-p` packages of scripts/dev.sh's `cargo build` line.
fn dev_packages() -> Vec<String> {
    let script = std::fs::read_to_string(repo().join("scripts/dev.sh")).unwrap();
    let line = script
        .lines()
        .find(|l| l.starts_with("cargo build "))
        .expect("scripts/dev.sh has a `cargo build` line");
    let words: Vec<&str> = line.split_whitespace().collect();
    let packages: Vec<String> = words
        .windows(2)
        .filter(|w| w[0] == "-p")
        .map(|w| w[1].to_owned())
        .collect();
    assert!(!packages.is_empty(), "no -p in {line}");
    packages
}

/// Every package of a build with its features, one `name version features` line each.
fn features(args: &[&str]) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO"))
        .current_dir(repo())
        .args(["tree", "--locked", "--offline", "--prefix", "none"])
        .args(["--format", "{p} {f}"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim_end_matches(" (*)").trim_end().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn dev_sh_builds_what_the_test_build_built() {
    let packages = dev_packages();
    for p in [
        "token-authorizer",
        "request-authorizer",
        "http-authorizer",
        "authz-local",
    ] {
        assert!(packages.iter().any(|q| q == p), "dev.sh builds {p}");
    }
    let mut dev_args = vec!["--edges", "normal,build"];
    for p in &packages {
        dev_args.extend(["-p", p]);
    }
    let dev = features(&dev_args);
    let test = features(&["--workspace", "--edges", "normal,build,dev"]);
    assert!(dev.len() > 100, "{} packages", dev.len());
    let differ: Vec<&String> = dev.difference(&test).collect();
    assert!(
        differ.is_empty(),
        "scripts/dev.sh builds these crates with features the test build does not give them, so \
         it rebuilds them after scripts/test.sh (turn the test build's features on in \
         authz-local's Cargo.toml; a workspace crate's `default` feature: name it with -p on \
         dev.sh's cargo build line): {differ:#?}"
    );
}
