//! JWKS cache behaviour against a real loopback issuer with injected faults. Time windows are
//! configured short so each test runs in about a second.

use std::time::{Duration, Instant};

use authz_core::{Authorizer, AuthzError, Config, Trace};
use authz_testkit::{Fault, Issuer, TestKey, now};
use serde_json::json;

async fn authz(issuer: &Issuer, extra: &[(&str, &str)]) -> Authorizer {
    let mut vars: Vec<(String, String)> = vec![
        ("AUTHZ_ISSUER".into(), issuer.url()),
        ("AUTHZ_AUDIENCE".into(), "api".into()),
        ("AUTHZ_JWKS_MIN_TTL_SECONDS".into(), "0".into()),
        ("AUTHZ_JWKS_COOLDOWN_SECONDS".into(), "0.3".into()),
        ("AUTHZ_HTTP_TIMEOUT_SECONDS".into(), "0.5".into()),
    ];
    for (k, v) in extra {
        vars.retain(|(n, _)| n != k);
        vars.push(((*k).into(), (*v).into()));
    }
    Authorizer::new(
        Config::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())).unwrap(),
    )
    .unwrap()
}

fn token(issuer: &Issuer, key: &TestKey) -> String {
    key.sign(&json!({"iss": issuer.url(), "aud": "api", "sub": "alice", "exp": now() + 300}))
}

async fn check(a: &Authorizer, token: &str) -> Result<(), AuthzError> {
    a.verify_bearer(Some(&format!("Bearer {token}")), &mut Trace::default())
        .await
        .map(|_| ())
}

const PAUSE: Duration = Duration::from_millis(350); // just past the 0.3 s cool-down

#[tokio::test]
async fn cache_control_max_age_bounds_a_removed_key() {
    let issuer = Issuer::start().await;
    let (a_key, b_key) = (TestKey::rsa("a"), TestKey::rsa2("b"));
    issuer.set_keys(vec![a_key.jwk(), b_key.jwk()]);
    issuer.set_jwks_cache_control(Some("public, max-age=1"));
    let a = authz(&issuer, &[]).await;
    assert_eq!(a.warm().await, 1);
    let t_a = token(&issuer, &a_key);
    issuer.set_keys(vec![b_key.jwk()]); // key "a" removed at the IdP
    check(&a, &t_a).await.unwrap(); // still cached: max-age not reached
    check(&a, &token(&issuer, &b_key)).await.unwrap();
    assert_eq!(issuer.jwks_fetches(), 1, "hot path makes no network call");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        check(&a, &t_a).await,
        Err(AuthzError::KidNotFound),
        "removed key rejected after max-age"
    );
    assert_eq!(issuer.jwks_fetches(), 2);
    check(&a, &token(&issuer, &b_key)).await.unwrap();
}

#[tokio::test]
async fn rotation_new_kid_accepted_after_one_refetch() {
    let issuer = Issuer::start().await;
    issuer.set_keys(vec![TestKey::rsa("old").jwk()]);
    let a = authz(&issuer, &[]).await;
    a.warm().await;
    let new = TestKey::rsa2("new");
    issuer.set_keys(vec![TestKey::rsa("old").jwk(), new.jwk()]);
    tokio::time::sleep(PAUSE).await;
    check(&a, &token(&issuer, &new)).await.unwrap();
    assert_eq!(issuer.jwks_fetches(), 2);
    check(&a, &token(&issuer, &new)).await.unwrap();
    check(&a, &token(&issuer, &TestKey::rsa("old")))
        .await
        .unwrap();
    assert_eq!(issuer.jwks_fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_flood_is_single_flight_and_cooled_down() {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("real");
    issuer.set_keys(vec![key.jwk()]);
    let a = authz(&issuer, &[]).await;
    a.warm().await;
    tokio::time::sleep(PAUSE).await;
    let started = Instant::now();
    let forged: Vec<String> = (0..2000)
        .map(|i| token(&issuer, &TestKey::rsa(&format!("random-{i}"))))
        .collect();
    let results = futures_join(a, forged).await;
    assert!(results.iter().all(|r| *r == Err(AuthzError::KidNotFound)));
    let windows = (started.elapsed().as_secs_f64() / 0.3).ceil() as usize;
    let fetches = issuer.jwks_fetches() - 1;
    assert!(
        fetches >= 1 && fetches <= windows,
        "{fetches} JWKS fetches for {windows} cool-down windows"
    );
}

/// Runs the checks concurrently (50 in flight) so single-flight is exercised.
async fn futures_join(a: Authorizer, tokens: Vec<String>) -> Vec<Result<(), AuthzError>> {
    let a = std::sync::Arc::new(a);
    let mut out = Vec::with_capacity(tokens.len());
    for chunk in tokens.chunks(50) {
        let mut set = tokio::task::JoinSet::new();
        for t in chunk {
            let (a, t) = (std::sync::Arc::clone(&a), t.clone());
            set.spawn(async move { check(&a, &t).await });
        }
        out.extend(set.join_all().await);
    }
    out
}

#[tokio::test]
async fn idp_down_at_cold_start_then_back() {
    let issuer = Issuer::start().await;
    let key = TestKey::ec_p256("k");
    issuer.set_keys(vec![key.jwk()]);
    issuer.set_down(true);
    let a = authz(&issuer, &[]).await;
    assert_eq!(a.warm().await, 0, "warm-up fails but does not panic");
    let t = token(&issuer, &key);
    assert_eq!(check(&a, &t).await, Err(AuthzError::JwksUnavailable));
    issuer.set_down(false);
    tokio::time::sleep(PAUSE).await;
    check(&a, &t).await.unwrap();
}

#[tokio::test]
async fn stale_keys_serve_within_the_bound_while_the_idp_fails() {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k");
    issuer.set_keys(vec![key.jwk()]);
    let a = authz(
        &issuer,
        &[
            ("AUTHZ_JWKS_DEFAULT_TTL_SECONDS", "0.4"),
            ("AUTHZ_JWKS_STALE_SECONDS", "1"),
        ],
    )
    .await;
    a.warm().await;
    let t = token(&issuer, &key);
    issuer.set_jwks_fault(Fault::Status(503));
    tokio::time::sleep(Duration::from_millis(500)).await; // expired, inside the stale bound
    check(&a, &t).await.unwrap();
    assert_eq!(issuer.jwks_fetches(), 2, "a refresh was attempted");
    issuer.set_jwks_fault(Fault::Garbage);
    tokio::time::sleep(PAUSE).await;
    check(&a, &t).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await; // past ttl + stale
    assert_eq!(check(&a, &t).await, Err(AuthzError::JwksUnavailable));
    issuer.set_jwks_fault(Fault::None);
    tokio::time::sleep(PAUSE).await;
    check(&a, &t).await.unwrap();
}

#[tokio::test]
async fn a_slow_idp_never_blocks_past_the_timeout() {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k");
    issuer.set_keys(vec![key.jwk()]);
    let a = authz(&issuer, &[("AUTHZ_JWKS_DEFAULT_TTL_SECONDS", "0.2")]).await;
    a.warm().await;
    issuer.set_jwks_fault(Fault::Delay(Duration::from_secs(5)));
    tokio::time::sleep(PAUSE).await;
    let started = Instant::now();
    check(&a, &token(&issuer, &key)).await.unwrap(); // stale key serves
    // Bound, not a benchmark: the 0.5 s timeout must cut the 5 s delay.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "blocked {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn garbage_oversize_and_error_bodies_are_refused() {
    let key = TestKey::rsa("k");
    for fault in [
        Fault::Garbage,
        Fault::Oversize(10 * 1024 * 1024),
        Fault::Status(500),
        Fault::Status(404),
        Fault::Close,
    ] {
        let issuer = Issuer::start().await;
        issuer.set_keys(vec![key.jwk()]);
        issuer.set_jwks_fault(fault.clone());
        let a = authz(&issuer, &[]).await;
        assert_eq!(a.warm().await, 0, "{fault:?}");
        assert_eq!(
            check(&a, &token(&issuer, &key)).await,
            Err(AuthzError::JwksUnavailable),
            "{fault:?}"
        );
    }
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_refused() {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k");
    issuer.set_keys(vec![key.jwk()]);
    issuer.set_discovery_issuer(Some("https://evil.example.com"));
    let a = authz(&issuer, &[]).await;
    assert_eq!(a.warm().await, 0);
    assert_eq!(
        check(&a, &token(&issuer, &key)).await,
        Err(AuthzError::JwksUnavailable)
    );
    assert_eq!(
        issuer.jwks_fetches(),
        0,
        "keys are never fetched from an untrusted discovery document"
    );
}

#[tokio::test]
async fn configured_jwks_uri_skips_discovery() {
    let issuer = Issuer::start().await;
    let key = TestKey::ed25519("k");
    issuer.set_keys(vec![key.jwk()]);
    let a = authz(&issuer, &[("AUTHZ_JWKS_URI", &issuer.jwks_uri())]).await;
    assert_eq!(a.warm().await, 1);
    check(&a, &token(&issuer, &key)).await.unwrap();
    assert_eq!(issuer.discovery_fetches(), 0);
}

/// Issue 13, item 11: a key published right after a fetch (cold start, routine refresh) is
/// accepted at once: the first unknown `kid` after a good fetch triggers one refetch. Only a
/// failed lookup starts the penalty window (1 s here), during which nothing is fetched.
#[tokio::test]
async fn a_key_published_right_after_a_fetch_is_accepted_at_once() {
    let issuer = Issuer::start().await;
    let old = TestKey::rsa("old");
    issuer.set_keys(vec![old.jwk()]);
    let a = authz(
        &issuer,
        &[
            ("AUTHZ_JWKS_COOLDOWN_SECONDS", "1"),
            ("AUTHZ_JWKS_DEFAULT_TTL_SECONDS", "1.2"),
        ],
    )
    .await;
    assert_eq!(a.warm().await, 1);
    // Right after the cold-start fetch.
    let new1 = TestKey::rsa2("new-1");
    issuer.set_keys(vec![old.jwk(), new1.jwk()]);
    check(&a, &token(&issuer, &new1)).await.unwrap();
    assert_eq!(issuer.jwks_fetches(), 2, "one refetch");
    // Right after a routine refresh of expired keys.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    check(&a, &token(&issuer, &old)).await.unwrap();
    assert_eq!(issuer.jwks_fetches(), 3, "routine refresh");
    let new2 = TestKey::ec_p256("new-2");
    issuer.set_keys(vec![old.jwk(), new1.jwk(), new2.jwk()]);
    check(&a, &token(&issuer, &new2)).await.unwrap();
    assert_eq!(issuer.jwks_fetches(), 4, "one refetch");
    // A kid the IdP does not publish: one refetch, then the penalty window.
    let forged = TestKey::rsa("forged");
    assert_eq!(
        check(&a, &token(&issuer, &forged)).await,
        Err(AuthzError::KidNotFound)
    );
    assert_eq!(issuer.jwks_fetches(), 5);
    let new3 = TestKey::ed25519("new-3");
    issuer.set_keys(vec![old.jwk(), new1.jwk(), new2.jwk(), new3.jwk()]);
    for t in [token(&issuer, &forged), token(&issuer, &new3)] {
        assert_eq!(check(&a, &t).await, Err(AuthzError::KidNotFound));
    }
    assert_eq!(
        issuer.jwks_fetches(),
        5,
        "nothing fetched in the penalty window"
    );
    check(&a, &token(&issuer, &new2)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    check(&a, &token(&issuer, &new3)).await.unwrap();
    assert_eq!(issuer.jwks_fetches(), 6);
}
