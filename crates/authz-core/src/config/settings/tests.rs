//! Tests of the settings table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::collections::HashSet;
use std::time::Duration;

use super::*;
use crate::config::declare::{Bounds, readme_table};

fn every_row() -> impl Iterator<Item = &'static Setting> {
    ALL_ROWS.iter()
}

#[test]
fn rows_are_unique_and_numbers_document_their_constant() {
    let mut variables = HashSet::new();
    let mut keys = HashSet::new();
    for s in every_row() {
        assert!(
            s.variable.is_empty() || variables.insert(s.variable),
            "{s:?}"
        );
        assert!(s.key.is_empty() || keys.insert(s.key), "{s:?}");
        assert!(!s.doc.is_empty(), "{s:?}");
        let numeric = matches!(s.kind, Kind::Seconds | Kind::Count);
        assert_eq!(numeric, s.number.is_some(), "{s:?}");
        assert_eq!(numeric, s.bounds.is_some(), "{s:?}");
        if let (Some(n), Some(b)) = (s.number, s.bounds) {
            assert_eq!(s.default, Some(n.to_string().as_str()), "{s:?}");
            assert!(b.min <= n && n <= b.max, "{s:?}");
        }
    }
    for s in SETTINGS {
        assert!(s.variable.starts_with("AUTHZ_"), "{s:?}");
    }
    for s in DOCUMENT_ONLY_SETTINGS {
        assert!(s.variable.is_empty() && !s.key.is_empty(), "{s:?}");
    }
    assert_eq!(ACCEPT_BARE_TOKEN.default, Some("false"));
    assert_eq!(ACCEPT_ID_TOKENS.default, Some("false"));
    assert_eq!(
        SCOPE_CLAIMS.default,
        Some(crate::claims::DEFAULT_SCOPE_CLAIMS.join(",").as_str())
    );
    assert_eq!(JWKS_MAX_BYTES.default, Some("150000"));
    assert_eq!(INTROSPECTION_AUTH.default, Some("client_secret_basic"));
}

#[test]
fn bounds_and_defaults_are_applied_with_the_setting_named() {
    assert_eq!(
        LEEWAY_SECONDS.seconds(None, "X"),
        Ok(Duration::from_secs(DEFAULT_LEEWAY_SECONDS))
    );
    assert_eq!(
        LEEWAY_SECONDS.seconds(Some(300.0), "X"),
        Ok(Duration::from_secs(300))
    );
    let e = LEEWAY_SECONDS.seconds(Some(300.5), "X").unwrap_err().0;
    assert_eq!(e, "X: must be between 0 and 300 seconds, got 300.5");
    assert_eq!(
        MAX_TOKEN_BYTES.count(None, "X"),
        Ok(DEFAULT_MAX_TOKEN_BYTES)
    );
    assert_eq!(MAX_TOKEN_BYTES.count(Some(256), "X"), Ok(256));
    let e = MAX_TOKEN_BYTES.count(Some(255), "X").unwrap_err().0;
    assert_eq!(e, "X: must be between 256 and 65536");
    let e = JWKS_MAX_BYTES.count(Some(1023), "X").unwrap_err().0;
    assert_eq!(e, "X: at least 1024");
    assert_eq!(JWKS_MAX_BYTES.count(Some(usize::MAX), "X"), Ok(usize::MAX));
}

#[test]
fn every_row_is_in_settings_or_document_only_in_declaration_order() {
    let listed: Vec<&Setting> = SETTINGS.iter().chain(DOCUMENT_ONLY_SETTINGS).collect();
    assert_eq!(listed.len(), ALL_ROWS.len());
    assert!(ALL_ROWS.iter().all(|r| listed.contains(&r)));
    let flat: Vec<&Setting> = ALL_ROWS.iter().filter(|r| !r.variable.is_empty()).collect();
    assert_eq!(flat, SETTINGS.iter().collect::<Vec<_>>());
    assert_eq!(LEEWAY_SECONDS.variable, "AUTHZ_LEEWAY_SECONDS");
    assert_eq!(LEEWAY_SECONDS.key, "leeway_seconds");
    assert_eq!(AUDIENCE.key, "audiences");
    assert_eq!(
        (AUDIENCE.also_per_issuer, LEEWAY_SECONDS.also_per_issuer),
        (true, false)
    );
    assert_eq!(JWKS_URI.key, "issuers[].jwks_uri");
    assert_eq!(JWKS_MIN_TTL_SECONDS.key, "jwks.min_ttl_seconds");
    assert_eq!(CA_BUNDLE.key, "http.ca_bundle");
    assert_eq!(
        INTROSPECTION_MAX_ENTRIES.key,
        "issuers[].introspection.max_entries"
    );
    assert_eq!((CONFIG.key, CONFIG.kind), ("", Kind::Document));
    assert_eq!(
        MAX_TOKEN_BYTES.bounds,
        Some(Bounds {
            min: 256,
            max: 65_536
        })
    );
}

/// The README's configuration table is rendered from the rows, between these markers.
const BEGIN: &str = "<!-- settings table: generated from crates/authz-core/src/config/settings.rs by \
                     `UPDATE_README=1 cargo test -p authz-core --lib readme`; do not edit -->\n";
const END: &str = "<!-- end of the generated settings table -->\n";

/// README.md's configuration table is the one rendered from the rows; with `UPDATE_README=1`
/// it is rewritten instead (the one command that regenerates it).
#[test]
fn readme_configuration_table_is_generated_from_the_rows() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let (before, rest) = readme
        .split_once(BEGIN)
        .expect("README.md has the settings table's begin marker");
    let (table, after) = rest
        .split_once(END)
        .expect("README.md has the settings table's end marker");
    let want = readme_table(ALL_ROWS);
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(path, format!("{before}{BEGIN}{want}{END}{after}")).unwrap();
        return;
    }
    assert!(
        table == want,
        "README.md's settings table is stale: run `UPDATE_README=1 cargo test -p authz-core --lib \
         readme`"
    );
}

#[test]
fn a_readme_row_shows_variable_key_default_doc_and_range() {
    assert_eq!(
        LEEWAY_SECONDS.readme_row(),
        "| `AUTHZ_LEEWAY_SECONDS` | `leeway_seconds` | `5` | Clock skew allowed for `exp`, `nbf`, \
         `iat`. Range: 0–300 s. |"
    );
    assert!(
        AUDIENCE
            .readme_row()
            .starts_with("| `AUTHZ_AUDIENCE` | `audiences` (or `issuers[].audiences`) | required, unless `AUTHZ_CLIENT_ID` | Comma-separated;")
    );
    assert!(
        INTROSPECTION_MAX_ENTRIES
            .readme_row()
            .starts_with("| — | `issuers[].introspection.max_entries` | `10000` |")
    );
    assert!(
        CONFIG
            .readme_row()
            .starts_with("| `AUTHZ_CONFIG` | — | unset |")
    );
}
