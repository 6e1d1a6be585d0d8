//! The real `token-authorizer` binary, through the Lambda Runtime API emulator, against the
//! loopback issuer in its two optional roles:
//! * over HTTPS with a certificate from a private CA, trusted only through `AUTHZ_CA_BUNDLE`;
//! * as a Hydra-like IdP whose introspection endpoint takes `Authorization: Bearer` with a
//!   client-credentials access token (`AUTHZ_INTROSPECTION_AUTH=bearer`), the client secret read
//!   from a real Secrets Manager API (moto_server, installed by `scripts/test-tools.sh`).

use std::time::Duration;

use authz_testkit::{
    Issuer, LambdaProcess, Outcome, TestCa, TestKey,
    external::MotoServer,
    fixtures::{
        claims, decisions, introspection_secret, opaque_claims, start_authorizer, unauthorized,
    },
    now,
};
use serde_json::json;

use super::{BIN, allows, bearer_event};

const CLIENT_ID: &str = "authz-introspector";
/// Secrets with characters RFC 6749 §2.3.1 form-encoding changes in HTTP Basic.
const FIRST_SECRET: &str = "first+secret/value%1=";
const SECOND_SECRET: &str = "second secret:value&2";

/// Invokes `p` with `token` and returns the answer and the `reason` of the decision line this
/// invocation wrote. The line is written before the answer, but the test reads the process's
/// stdout in another task: wait for it rather than race it.
async fn invoke(p: &LambdaProcess, token: &str) -> (Outcome, String) {
    let before = decisions(p).await.len();
    let out = p.invoke(&bearer_event(token, "/pets")).await;
    // `decisions` waits (up to 5 s) for the line of every handled invocation.
    let lines = decisions(p).await;
    let line = lines
        .get(before)
        .unwrap_or_else(|| panic!("no decision line for the invocation; logs: {:#?}", p.logs()));
    (out, line["reason"].as_str().unwrap().to_owned())
}

/// [`invoke`] that must answer the REST 401 (`Unauthorized`): the logged reason.
async fn refused(p: &LambdaProcess, token: &str) -> String {
    let (out, reason) = invoke(p, token).await;
    assert_eq!(out, unauthorized(), "{reason}");
    reason
}

/// [`invoke`] that must allow `GET /pets`: the answer.
async fn allowed(p: &LambdaProcess, token: &str) -> Outcome {
    let (out, reason) = invoke(p, token).await;
    assert!(
        allows(&out, "/pets") == Some(true) && reason == "ok",
        "{reason}: {out:?}\n{:#?}",
        p.logs()
    );
    out
}

fn path_of(issuer: &Issuer) -> String {
    issuer.ca_pem_path().unwrap().to_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_https_issuer_behind_a_private_ca_is_trusted_only_through_the_ca_bundle() {
    // With either root store (the default, compiled in, and the platform's): the bundle adds the
    // private CA to it, and nothing else trusts that CA.
    for roots in ["builtin", "system"] {
        https_issuer_behind_a_private_ca(roots).await;
    }
}

async fn https_issuer_behind_a_private_ca(roots: &str) {
    let issuer = Issuer::start_tls().await;
    assert!(issuer.url().starts_with("https://127.0.0.1:"));
    let key = TestKey::ec_p256("k1");
    issuer.set_keys(vec![key.jwk()]);
    let token = key.sign(&claims(&issuer));
    let with_roots = |extra: &[(&'static str, String)]| {
        let mut env = vec![("AUTHZ_TLS_ROOTS", roots.to_owned())];
        env.extend(extra.iter().cloned());
        env
    };
    let start = |env: Vec<(&'static str, String)>| {
        let issuer = issuer.clone();
        async move {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            start_authorizer(BIN, &issuer, &env).await
        }
    };

    // Bundle with the issuer's CA: discovery and JWKS over HTTPS, the token is allowed.
    let trusting = start(with_roots(&[("AUTHZ_CA_BUNDLE", path_of(&issuer))])).await;
    allowed(&trusting, &token).await;
    let d = decisions(&trusting).await;
    assert_eq!(
        (&d[0]["decision"], &d[0]["iss"]),
        (&json!("allow"), &json!(issuer.url()))
    );
    assert_eq!(
        (issuer.discovery_fetches(), issuer.jwks_fetches()),
        (1, 1),
        "{roots}"
    );
    // Discovery and JWKS went over one connection: one TLS handshake per cold start.
    assert_eq!(issuer.connections(), 1, "{roots}: TLS handshakes");

    // No bundle: the handshake fails, no request reaches the issuer, 401.
    let untrusting = start(with_roots(&[])).await;
    for _ in 0..2 {
        assert_eq!(
            refused(&untrusting, &token).await,
            "jwks_unavailable",
            "{roots}"
        );
    }
    assert_eq!(decisions(&untrusting).await.len(), 2, "still serving");
    // A bundle holding another private CA: the same.
    let other_ca = TestCa::new();
    let other = other_ca.write_pem();
    let other_path = other.path().to_str().unwrap().to_owned();
    let wrong_ca = start(with_roots(&[("AUTHZ_CA_BUNDLE", other_path)])).await;
    assert_eq!(
        refused(&wrong_ca, &token).await,
        "jwks_unavailable",
        "{roots}"
    );
    assert_eq!(
        (issuer.discovery_fetches(), issuer.jwks_fetches()),
        (1, 1),
        "failed handshakes never become requests"
    );

    // The platform store is what `system` reads, and only it: SSL_CERT_FILE naming the issuer's
    // CA makes `system` trust it, while `builtin` (compiled in) ignores the file.
    let via_platform = start(with_roots(&[("SSL_CERT_FILE", path_of(&issuer))])).await;
    if roots == "system" {
        allowed(&via_platform, &token).await;
    } else {
        assert_eq!(refused(&via_platform, &token).await, "jwks_unavailable");
    }

    // The host name is checked: the certificate names 127.0.0.1 only, so the same server as
    // `localhost`, CA trusted, fails the handshake (a connection is accepted, no request made).
    let port = issuer.url().rsplit(':').next().unwrap().to_owned();
    let by_name = format!("https://localhost:{port}");
    let mut renamed = claims(&issuer);
    renamed["iss"] = json!(by_name);
    let renamed = key.sign(&renamed);
    let (fetches, connections) = (
        (issuer.discovery_fetches(), issuer.jwks_fetches()),
        issuer.connections(),
    );
    let misnamed = start(with_roots(&[
        ("AUTHZ_CA_BUNDLE", path_of(&issuer)),
        ("AUTHZ_ISSUER", by_name.clone()),
    ]))
    .await;
    assert_eq!(
        refused(&misnamed, &renamed).await,
        "jwks_unavailable",
        "{roots}"
    );
    assert!(
        issuer.connections() > connections,
        "{roots}: no connection was made"
    );
    assert_eq!(
        (issuer.discovery_fetches(), issuer.jwks_fetches()),
        fetches,
        "{roots}: a certificate for another name was accepted"
    );

    // A bundle of several certificates (the other CA first) works: every one is trusted.
    let both =
        authz_testkit::PemFile::new(&format!("{}\n{}", other_ca.pem(), issuer.ca_pem().unwrap()));
    let both_path = both.path().to_str().unwrap().to_owned();
    let merged = start(with_roots(&[("AUTHZ_CA_BUNDLE", both_path)])).await;
    allowed(&merged, &token).await;
    // The trusting process keeps working.
    allowed(&trusting, &token).await;
}

struct Bearer {
    issuer: Issuer,
    moto: MotoServer,
    arn: String,
    function: LambdaProcess,
}

fn secret_json(secret: &str) -> String {
    introspection_secret(CLIENT_ID, secret)
}

/// The Hydra-like issuer (plain or HTTPS) with bearer introspection, moto holding the client
/// secret, and the function with opaque tokens, bearer client authentication and a 0.3 s
/// cool-down (`start_authorizer`), which also bounds the secret re-reads.
async fn bearer_setup(issuer: Issuer, extra: &[(&str, &str)]) -> Bearer {
    issuer.enable_bearer_introspection(CLIENT_ID, FIRST_SECRET);
    let moto = MotoServer::start().await;
    let arn = moto
        .put_secret("authz/introspection", &secret_json(FIRST_SECRET))
        .await;
    let function = bearer_function(&issuer, &moto, &arn, extra).await;
    Bearer {
        issuer,
        moto,
        arn,
        function,
    }
}

/// Starts the function in bearer mode against `issuer`, with the secret `arn` at `moto`.
async fn bearer_function(
    issuer: &Issuer,
    moto: &MotoServer,
    arn: &str,
    extra: &[(&str, &str)],
) -> LambdaProcess {
    let mut env: Vec<(String, String)> = moto.sdk_env();
    env.extend(
        [
            ("AUTHZ_TOKEN_FORMAT", "opaque"),
            ("AUTHZ_INTROSPECTION_AUTH", "bearer"),
            ("AUTHZ_INTROSPECTION_SECRET_ARN", arn),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    start_authorizer(BIN, issuer, &env).await
}

/// Registers an active opaque token for `sub` at the issuer and returns it.
fn opaque(issuer: &Issuer, name: &str) -> String {
    let token = format!("opaque-{name}-2YotnFZFEjr1zCsicMWpAA");
    issuer.add_opaque_token(&token, opaque_claims(name));
    token
}

/// Neither a client secret, nor an opaque token, nor an access token reached the logs.
fn assert_no_secret_in_logs(b: &Bearer, tokens: &[String], access_tokens: &[String]) {
    let logs = b.function.logs().join("\n");
    for secret in [FIRST_SECRET, SECOND_SECRET] {
        assert!(!logs.contains(secret), "a client secret reached a log");
    }
    for token in tokens.iter().chain(access_tokens) {
        assert!(!logs.contains(token.as_str()), "a token reached a log");
    }
}

#[tokio::test]
async fn bearer_introspection_fetches_one_access_token_and_reuses_it() {
    let b = bearer_setup(Issuer::start().await, &[]).await;
    let tokens: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| opaque(&b.issuer, n))
        .collect();
    for (token, sub) in tokens.iter().zip(["alice", "bob", "carol"]) {
        let out = allowed(&b.function, token).await;
        let Outcome::Response(r) = &out else {
            unreachable!()
        };
        assert_eq!(r["principalId"], sub);
        assert_eq!(r["context"]["scope"], "read write");
        assert_eq!(r["context"]["iss"], b.issuer.url());
    }
    // Cached answer: no new introspection for a token seen before.
    allowed(&b.function, &tokens[0]).await;
    assert_eq!(b.issuer.introspection_requests(), 3);
    assert_eq!(
        b.issuer.token_requests(),
        1,
        "one access token for every call"
    );

    // Unknown (or revoked) at the IdP: inactive → 401.
    assert_eq!(
        refused(&b.function, "not-a-token-the-idp-knows").await,
        "inactive_token"
    );
    let revoked = opaque(&b.issuer, "dave");
    b.issuer.remove_opaque_token(&revoked);
    assert_eq!(refused(&b.function, &revoked).await, "inactive_token");
    // Active at the IdP but for another audience: refused by the claim checks.
    b.issuer.add_opaque_token(
        "opaque-other-audience",
        json!({"sub": "eve", "exp": now() + 300, "aud": ["billing"]}),
    );
    assert_eq!(
        refused(&b.function, "opaque-other-audience").await,
        "wrong_audience"
    );
    assert_eq!(
        (b.issuer.token_requests(), b.issuer.introspection_requests()),
        (1, 6)
    );
    let mut all = tokens.clone();
    all.push(revoked);
    assert_no_secret_in_logs(&b, &all, &b.issuer.access_tokens());
}

#[tokio::test]
async fn bearer_introspection_heals_after_the_client_secret_is_rotated() {
    let b = bearer_setup(Issuer::start().await, &[]).await;
    let alice = opaque(&b.issuer, "alice");
    allowed(&b.function, &alice).await;
    let first_access = b.issuer.access_tokens();
    assert_eq!((b.issuer.token_requests(), first_access.len()), (1, 1));

    // Rotated at the IdP only (Secrets Manager not updated yet): the cached access token and
    // the re-read secret are both refused, so the call fails closed.
    b.issuer.set_client_secret(SECOND_SECRET);
    tokio::time::sleep(Duration::from_millis(350)).await; // past the cool-down since cold start
    let bob = opaque(&b.issuer, "bob");
    assert_eq!(
        refused(&b.function, &bob).await,
        "introspection_unavailable"
    );
    assert!(
        b.function
            .logs()
            .iter()
            .any(|l| l.contains("invalid_client")),
        "{:#?}",
        b.function.logs()
    );

    // Secrets Manager gets the new secret too; past the cool-down the function reads it again,
    // gets a new access token, and a new token is allowed.
    b.moto
        .put_secret("authz/introspection", &secret_json(SECOND_SECRET))
        .await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    let carol = opaque(&b.issuer, "carol");
    allowed(&b.function, &carol).await;
    let second_access = b.issuer.access_tokens();
    assert_eq!(second_access.len(), 1);
    assert_ne!(second_access, first_access);
    // The failed call left nothing cached: bob is allowed now as well.
    allowed(&b.function, &bob).await;
    // Token requests: alice 1; bob 1 (retry with the re-read, still old, secret); carol 2 (the
    // old secret refused, then the new one after the re-read).
    assert_eq!(b.issuer.token_requests(), 4);
    // Steady again: more introspections, no more token requests.
    let dave = opaque(&b.issuer, "dave");
    allowed(&b.function, &dave).await;
    assert_eq!(b.issuer.token_requests(), 4);
    let tokens = [alice, bob, carol, dave].map(String::from);
    let mut access = first_access;
    access.extend(second_access);
    assert_no_secret_in_logs(&b, &tokens, &access);
}

#[tokio::test]
async fn a_revoked_or_expiring_access_token_is_replaced_without_a_failed_call() {
    let b = bearer_setup(Issuer::start().await, &[]).await;
    b.issuer.set_access_token_lifetime(1);
    allowed(&b.function, &opaque(&b.issuer, "a")).await;
    assert_eq!(b.issuer.token_requests(), 1);
    // Revoked at the IdP, secret unchanged: one 401, then a new access token, same invocation.
    b.issuer.revoke_access_tokens();
    allowed(&b.function, &opaque(&b.issuer, "b")).await;
    assert_eq!(b.issuer.token_requests(), 2);
    // expires_in 1 s (cached for 0.9 s): a second later the function does not offer the lapsed
    // token (no refused introspection) but fetches a new one first.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let before = b.issuer.introspection_requests();
    allowed(&b.function, &opaque(&b.issuer, "c")).await;
    assert_eq!(b.issuer.token_requests(), 3);
    assert_eq!(
        b.issuer.introspection_requests(),
        before + 1,
        "no refused call"
    );
}

#[tokio::test]
async fn the_ca_bundle_also_applies_to_the_token_and_introspection_endpoints() {
    let issuer = Issuer::start_tls().await;
    let bundle = path_of(&issuer);
    let b = bearer_setup(issuer, &[("AUTHZ_CA_BUNDLE", &bundle)]).await;
    assert!(b.issuer.introspection_endpoint().starts_with("https://"));
    for name in ["alice", "bob"] {
        allowed(&b.function, &opaque(&b.issuer, name)).await;
    }
    assert_eq!(
        (b.issuer.token_requests(), b.issuer.introspection_requests()),
        (1, 2)
    );
    assert_eq!(
        refused(&b.function, "opaque-unknown").await,
        "inactive_token"
    );

    // The same IdP and secret without the bundle: no discovery, token or introspection request
    // gets through the handshake; fail closed.
    let untrusting = bearer_function(&b.issuer, &b.moto, &b.arn, &[]).await;
    let token = opaque(&b.issuer, "carol");
    for _ in 0..2 {
        assert_eq!(
            refused(&untrusting, &token).await,
            "introspection_unavailable"
        );
    }
    assert_eq!(
        (
            b.issuer.discovery_fetches(),
            b.issuer.token_requests(),
            b.issuer.introspection_requests()
        ),
        (1, 1, 3),
        "nothing new reached the IdP"
    );
    // The trusting function still works.
    allowed(&b.function, &token).await;
    assert_no_secret_in_logs(&b, &[token], &b.issuer.access_tokens());
}
