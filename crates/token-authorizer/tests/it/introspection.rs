//! Opaque tokens through the real `token-authorizer` binary: RFC 7662 introspection at a real
//! OpenID provider (npm oidc-provider) on loopback, with the client credentials read from a real
//! Secrets Manager API (moto_server). Both are started by the test (install them with
//! `scripts/test-tools.sh`, which `scripts/test.sh` runs).

use std::{path::Path, time::Duration};

use authz_testkit::{
    LambdaProcess, Outcome, TestKey,
    external::{IdpClient, MotoServer, OidcProvider},
    fixtures::{decisions, introspection_secret, last_reason, unauthorized},
    now,
};
use serde_json::json;

use super::{BIN, bearer_event};

const ROUTES: &str =
    r#"[{"route":"GET /pets","scopes":["read"]},{"route":"GET /admin","scopes":["admin"]}]"#;

/// The introspection client, authenticating with `auth` (`client_secret_basic` or
/// `client_secret_post`).
fn introspector(secret: &str, auth: &str) -> IdpClient {
    IdpClient::new("authz-introspector", secret, auth, "")
}

fn reader() -> IdpClient {
    IdpClient::basic("pet-reader", "reader-secret", "read write")
}

fn secret_json(secret: &str) -> String {
    introspection_secret("authz-introspector", secret)
}

struct Setup {
    idp: OidcProvider,
    moto: MotoServer,
    arn: String,
    function: LambdaProcess,
}

async fn setup(auth: &str, extra: &[(&str, &str)]) -> Setup {
    let moto = MotoServer::start().await;
    let arn = moto
        .put_secret("authz/introspection", &secret_json("first-secret-value"))
        .await;
    let idp = OidcProvider::start(
        &[introspector("first-secret-value", auth), reader()],
        "opaque",
        Some("petstore"),
    )
    .await;
    let issuer = idp.issuer();
    let mut env: Vec<(String, String)> = vec![
        ("AUTHZ_ISSUER".into(), issuer),
        ("AUTHZ_AUDIENCE".into(), "petstore".into()),
        ("AUTHZ_INTROSPECTION_SECRET_ARN".into(), arn.clone()),
        ("AUTHZ_INTROSPECTION_AUTH".into(), auth.into()),
        ("AUTHZ_INTROSPECTION_CACHE_SECONDS".into(), "1".into()),
        ("AUTHZ_JWKS_COOLDOWN_SECONDS".into(), "0.3".into()),
        ("AUTHZ_ROUTES".into(), ROUTES.into()),
    ];
    env.extend(moto.sdk_env());
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let function = LambdaProcess::spawn(Path::new(BIN), &env).await;
    Setup {
        idp,
        moto,
        arn,
        function,
    }
}

/// Whether the policy answered for `token` on `/pets` allows `path`.
async fn allows(f: &LambdaProcess, token: &str, path: &str) -> Option<bool> {
    let out = f.invoke(&bearer_event(token, "/pets")).await;
    super::allows(&out, path)
}

#[tokio::test]
async fn active_tokens_allowed_with_scopes_inactive_refused_revocation_seen_after_the_cache_ttl() {
    let s = setup("client_secret_basic", &[]).await;
    let token = s.idp.token("pet-reader", "reader-secret", "read").await;
    assert_eq!(allows(&s.function, &token, "/pets").await, Some(true));
    assert_eq!(
        allows(&s.function, &token, "/admin").await,
        Some(false),
        "scope read only"
    );
    let d = decisions(&s.function).await;
    assert_eq!(
        d.last().unwrap()["sub"],
        "pet-reader",
        "client_id is the principal"
    );
    // Unknown opaque token: inactive.
    assert_eq!(
        s.function
            .invoke(&bearer_event("2YotnFZFEjr1zCsicMWpAA", "/pets"))
            .await,
        unauthorized()
    );
    assert_eq!(last_reason(&s.function).await, "inactive_token");
    // Revoked at the IdP: the cached answer serves until the 1 s cache TTL, then 401.
    s.idp.revoke("pet-reader", "reader-secret", &token).await;
    assert_eq!(
        allows(&s.function, &token, "/pets").await,
        Some(true),
        "cached answer"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        s.function.invoke(&bearer_event(&token, "/pets")).await,
        unauthorized()
    );
    assert_eq!(last_reason(&s.function).await, "inactive_token");
    // JWT-shaped tokens are still verified locally in auto mode, never introspected.
    let forged = TestKey::rsa("k")
        .sign(&json!({"iss": s.idp.issuer(), "aud": "petstore", "sub": "x", "exp": now() + 60}));
    assert_eq!(
        s.function.invoke(&bearer_event(&forged, "/pets")).await,
        unauthorized()
    );
    assert_ne!(last_reason(&s.function).await, "inactive_token");
    let logs = s.function.logs().join("\n");
    assert!(
        !logs.contains("first-secret-value"),
        "the client secret never reaches a log"
    );
    assert!(!logs.contains(&token), "the token never reaches a log");
}

#[tokio::test]
async fn a_rotated_secret_is_read_again_after_invalid_client() {
    let mut s = setup("client_secret_post", &[]).await;
    let token = s.idp.token("pet-reader", "reader-secret", "read").await;
    assert_eq!(allows(&s.function, &token, "/pets").await, Some(true));
    // Rotation: the IdP and Secrets Manager get a new secret; the function still holds the old.
    s.idp
        .restart(&[
            introspector("second-secret-value", "client_secret_post"),
            reader(),
        ])
        .await;
    let rotated = s
        .moto
        .put_secret("authz/introspection", &secret_json("second-secret-value"))
        .await;
    assert_eq!(rotated, s.arn);
    tokio::time::sleep(Duration::from_millis(350)).await; // past the cool-down since cold start
    let token = s.idp.token("pet-reader", "reader-secret", "read").await;
    assert_eq!(
        allows(&s.function, &token, "/pets").await,
        Some(true),
        "healed by re-reading the secret"
    );
    assert!(
        s.function
            .logs()
            .iter()
            .any(|l| l.contains("invalid_client"))
    );
    let logs = s.function.logs().join("\n");
    assert!(!logs.contains("first-secret-value") && !logs.contains("second-secret-value"));
}

#[tokio::test]
async fn an_idp_that_is_down_fails_closed_and_recovers() {
    let mut s = setup(
        "client_secret_basic",
        &[("AUTHZ_HTTP_TIMEOUT_SECONDS", "0.5")],
    )
    .await;
    let token = s.idp.token("pet-reader", "reader-secret", "read").await;
    s.idp.stop().await;
    assert_eq!(
        s.function.invoke(&bearer_event(&token, "/pets")).await,
        unauthorized()
    );
    assert_eq!(last_reason(&s.function).await, "introspection_unavailable");
    // Failures are not cached beyond the cool-down (0.3 s here; issue 13 item 8 gave failed
    // discovery one too): once the IdP is back, a fresh token is allowed within a few of them.
    s.idp.resume().await;
    let token = s.idp.token("pet-reader", "reader-secret", "read").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut got = allows(&s.function, &token, "/pets").await;
    while got != Some(true) && std::time::Instant::now() < deadline {
        assert_eq!(last_reason(&s.function).await, "introspection_unavailable");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        got = allows(&s.function, &token, "/pets").await;
    }
    assert_eq!(got, Some(true));
}

#[tokio::test]
async fn an_unreadable_secret_fails_closed_without_crashing() {
    let s = setup(
        "client_secret_basic",
        &[(
            "AUTHZ_INTROSPECTION_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing",
        )],
    )
    .await;
    let token = s.idp.token("pet-reader", "reader-secret", "read").await;
    assert_eq!(
        s.function.invoke(&bearer_event(&token, "/pets")).await,
        unauthorized()
    );
    assert_eq!(last_reason(&s.function).await, "introspection_unavailable");
    assert!(
        matches!(
            s.function.invoke(&bearer_event(&token, "/pets")).await,
            Outcome::Error { .. }
        ),
        "still serving"
    );
}
