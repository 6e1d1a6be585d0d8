//! The binary as the CDK app runs it: a cleared environment holding the authorizer's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn run(env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_authz-config"))
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap()
}

const BASE: [(&str, &str); 2] = [
    ("AUTHZ_ISSUER", "https://idp.example.com"),
    ("AUTHZ_AUDIENCE", "api"),
];

#[test]
fn prints_the_cache_key_of_either_spelling() {
    for setting in [
        ("AUTHZ_TOKEN_HEADER", "X-Api-Token"),
        ("AUTHZ_CONFIG", r#"{"token_header":"X-Api-Token"}"#),
    ] {
        let mut env = BASE.to_vec();
        env.push(setting);
        let out = run(
            &env,
            &[
                "cache-key",
                "request",
                "--stage-variable",
                "authzScopes=read",
            ],
        );
        assert!(out.status.success(), "{out:?}");
        let key: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            key["identitySources"],
            serde_json::json!([
                "method.request.header.X-Api-Token",
                "stageVariables.authzScopes"
            ])
        );
        assert_eq!(key["tokenHeader"], "x-api-token");
    }
}

#[test]
fn refuses_what_the_cold_start_refuses_with_its_message() {
    let mut env = BASE.to_vec();
    env.push(("AUTHZ_ROUTE", "[]"));
    let out = run(&env, &["cache-key", "http"]);
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(
        e.starts_with(
            "configuration error: unknown setting AUTHZ_ROUTE (did you mean AUTHZ_ROUTES?)"
        ),
        "{e}"
    );
    let mut env = BASE.to_vec();
    env.push(("AUTHZ_CONFIG", r#"{"bind_header":"x-t","bind_claim":"t"}"#));
    let out = run(&env, &["cache-key", "token"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("AUTHZ_BIND_HEADER `x-t`")
    );
    for bad in [
        &["cache-key", "jwt"][..],
        &["cache-key"],
        &["identity", "http"],
        &["cache-key", "http", "--stage-variable", "novalue"],
        &["cache-key", "http", "--ttl"],
    ] {
        assert_eq!(run(&BASE, bad).status.code(), Some(2), "{bad:?}");
    }
}
