//! Helpers every authorizer test shares: the sample events of `events/`, a standard start of an
//! authorizer binary against an issuer, standard claims, and the decision log lines.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::{Issuer, LambdaProcess, Outcome, now};

/// The repository's `events/` folder.
pub fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

/// A sample event from `events/` (e.g. `token/allow.json`) with `REPLACE_WITH_A_JWT` replaced.
pub fn sample_event(name: &str, token: &str) -> Value {
    let path = events_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text.replace("REPLACE_WITH_A_JWT", token)).unwrap()
}

/// The folder holding the workspace's binaries: `AUTHZ_LOCAL_BIN_DIR` when set, else the
/// profile folder of the running test executable (`target/debug` for
/// `target/debug/deps/<test>-<hash>`). `cargo test --workspace` builds every workspace binary
/// there before running any test; `cargo test -p <crate>` does not (see [`workspace_bin`]).
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AUTHZ_LOCAL_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("bin_dir: no current executable");
    exe.parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("bin_dir: {} has no grandparent folder", exe.display()))
        .to_path_buf()
}

/// The workspace binary `name` (e.g. `token-authorizer`) in [`bin_dir`].
///
/// # Panics
/// If it is not there, with the command that builds it.
pub fn workspace_bin(name: &str) -> PathBuf {
    let path = bin_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} not found: run `cargo build --workspace` first (or set AUTHZ_LOCAL_BIN_DIR)",
        path.display()
    );
    path
}

/// A JSON fixture from `events/fixtures/`.
pub fn fixture(name: &str) -> Value {
    let path = events_dir().join("fixtures").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The stage of the sample events in `events/` (REST API `abcdef1234`, stage `dev`): a method
/// ARN is `{STAGE_ARN}/{METHOD}{path}`.
pub const STAGE_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev";

/// The Secrets Manager secret value the authorizers read the introspection client from
/// (`AUTHZ_INTROSPECTION_SECRET_ARN`): `{"client_id", "client_secret"}`.
pub fn introspection_secret(client_id: &str, client_secret: &str) -> String {
    json!({"client_id": client_id, "client_secret": client_secret}).to_string()
}

/// The audience [`start_authorizer`] configures and [`claims`] uses.
pub const AUDIENCE: &str = "petstore";

/// Starts an authorizer binary trusting `issuer` for [`AUDIENCE`], with short time windows for
/// tests (cool-down 0.3 s, HTTP timeout 0.5 s); `extra` adds or overrides variables (an empty
/// value removes a default one).
pub async fn start_authorizer(
    binary: &str,
    issuer: &Issuer,
    extra: &[(&str, &str)],
) -> LambdaProcess {
    let url = issuer.url();
    let mut env = vec![
        ("AUTHZ_ISSUER", url.as_str()),
        ("AUTHZ_AUDIENCE", AUDIENCE),
        ("AUTHZ_JWKS_COOLDOWN_SECONDS", "0.3"),
        ("AUTHZ_HTTP_TIMEOUT_SECONDS", "0.5"),
    ];
    for (k, v) in extra {
        env.retain(|(n, _)| n != k);
        // An empty value unsets a default (the authorizer refuses a set-but-empty setting).
        if !v.is_empty() {
            env.push((k, v));
        }
    }
    LambdaProcess::spawn(Path::new(binary), &env).await
}

/// Valid claims for `issuer` and [`AUDIENCE`]: `sub` alice, scopes `read write`, 5 minutes left.
pub fn claims(issuer: &Issuer) -> Value {
    json!({"iss": issuer.url(), "aud": AUDIENCE, "sub": "alice", "exp": now() + 300, "iat": now(),
           "scope": "read write", "email": "alice@example.com", "groups": ["pets", "admins"]})
}

/// The introspection answer's claims of an active opaque token of `sub` (for
/// [`Issuer::add_opaque_token`]): client `pet-app`, scopes `read write`, [`AUDIENCE`], 5 minutes
/// left.
pub fn opaque_claims(sub: &str) -> Value {
    json!({"sub": sub, "client_id": "pet-app", "scope": "read write", "exp": now() + 300,
           "aud": [AUDIENCE]})
}

/// The status of `resp` and its body as JSON (a JSON string when the body is not JSON).
pub async fn status_and_body(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `claims` with some members replaced (a `null` removes the member).
pub fn with(mut claims: Value, patch: Value) -> Value {
    for (k, v) in patch.as_object().cloned().unwrap_or_default() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(&k);
        } else {
            claims[k] = v;
        }
    }
    claims
}

/// The answer a REST authorizer gives for 401.
pub fn unauthorized() -> Outcome {
    Outcome::Error {
        error_type: "Unauthorized".into(),
        error_message: "Unauthorized".into(),
    }
}

/// The decision log lines (`"decision"` key) the process wrote, parsed. Each invocation its
/// handler answered wrote one before answering, but stdout is read by another task: this waits
/// (up to 5 s) until there is one line per handled invocation, so reading the last one right after
/// an invocation never races.
pub async fn decisions(p: &LambdaProcess) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let lines: Vec<Value> = p
            .logs()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v.get("decision").is_some())
            .collect();
        if lines.len() >= p.handled() || tokio::time::Instant::now() >= deadline {
            return lines;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// The `reason` of the last decision line (see [`decisions`]).
pub async fn last_reason(p: &LambdaProcess) -> String {
    let all = decisions(p).await;
    let last = all
        .last()
        .unwrap_or_else(|| panic!("no decision line; logs: {:#?}", p.logs()));
    last["reason"].as_str().unwrap_or_default().to_owned()
}

/// The statements of a REST policy answer (to replay with `authz_core::evaluate`), or `None`
/// for an error answer.
pub fn rest_statements(outcome: &Outcome) -> Option<Vec<authz_core::Statement>> {
    let Outcome::Response(r) = outcome else {
        return None;
    };
    authz_core::policy_statements(&r["policyDocument"])
}
