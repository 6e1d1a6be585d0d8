//! Fault matrix: the real binary, the shared emulator and issuer, short windows. Each row breaks
//! the IdP in one way while keys must be refreshed, and checks that cached keys keep serving
//! inside the stale bound, that no invocation blocks past the HTTP timeout, and that everything
//! recovers.

use std::time::{Duration, Instant};

use authz_testkit::{
    Fault, Issuer, LambdaProcess, Outcome, TestKey,
    fixtures::{claims, decisions, start_authorizer, unauthorized},
};
use serde_json::json;

use super::{BIN, bearer_event, event};

fn allowed(out: &Outcome) -> bool {
    matches!(out, Outcome::Response(r) if r["policyDocument"]["Statement"][0]["Effect"] == "Allow")
}

/// Keys live 0.4 s, then serve stale for 1.5 s more; HTTP timeout 0.5 s; cool-down 0.3 s.
async fn start(issuer: &Issuer) -> LambdaProcess {
    start_authorizer(
        BIN,
        issuer,
        &[
            ("AUTHZ_JWKS_MIN_TTL_SECONDS", "0"),
            ("AUTHZ_JWKS_DEFAULT_TTL_SECONDS", "0.4"),
            ("AUTHZ_JWKS_STALE_SECONDS", "1.5"),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_faults_during_refresh_serve_cached_keys_then_fail_closed_then_recover() {
    let faults = [
        Fault::Status(500),
        Fault::Garbage,
        Fault::Oversize(10 * 1024 * 1024),
        Fault::Delay(Duration::from_secs(5)),
        Fault::Close,
    ];
    let mut rows = Vec::new();
    for fault in faults {
        rows.push(tokio::spawn(async move {
            let issuer = Issuer::start().await;
            let key = TestKey::rsa("k1");
            issuer.set_keys(vec![key.jwk()]);
            let p = start(&issuer).await;
            let ev = bearer_event(&key.sign(&claims(&issuer)), "/pets");
            assert!(allowed(&p.invoke(&ev).await), "{fault:?}: warm");
            issuer.set_jwks_fault(fault.clone());
            tokio::time::sleep(Duration::from_millis(500)).await; // keys expired, stale window
            let started = Instant::now();
            assert!(
                allowed(&p.invoke(&ev).await),
                "{fault:?}: cached keys serve inside the stale bound"
            );
            // Correctness bound, not a benchmark: the 0.5 s HTTP timeout must cut a 5 s delay.
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{fault:?}: blocked {:?}",
                started.elapsed()
            );
            assert!(
                issuer.jwks_fetches() >= 2,
                "{fault:?}: a refresh was attempted"
            );
            tokio::time::sleep(Duration::from_millis(1600)).await; // past the stale bound
            assert_eq!(
                p.invoke(&ev).await,
                unauthorized(),
                "{fault:?}: fail closed past the stale bound"
            );
            assert_eq!(
                decisions(&p).await.last().unwrap()["reason"],
                "jwks_unavailable"
            );
            issuer.set_jwks_fault(Fault::None);
            tokio::time::sleep(Duration::from_millis(350)).await;
            assert!(allowed(&p.invoke(&ev).await), "{fault:?}: recovers");
            assert!(
                p.logs().iter().any(|l| l.contains("jwks refresh failed")),
                "{fault:?}: failure logged"
            );
        }));
    }
    for row in rows {
        row.await.unwrap();
    }
}

#[tokio::test]
async fn ten_thousand_random_kids_cost_at_most_one_fetch_per_cool_down() {
    let issuer = Issuer::start().await;
    let key = TestKey::ec_p256("real");
    issuer.set_keys(vec![key.jwk()]);
    let p = start_authorizer(BIN, &issuer, &[("AUTHZ_JWKS_COOLDOWN_SECONDS", "0.5")]).await;
    let c = claims(&issuer);
    let good = key.sign(&c);
    // One signature, many kids: only the header changes, so minting stays cheap.
    let (_, rest) = good.split_once('.').unwrap();
    let started = Instant::now();
    for i in 0..10_000u32 {
        let header = authz_testkit::b64url(
            json!({"alg": "ES256", "kid": format!("rnd-{i:08x}")})
                .to_string()
                .as_bytes(),
        );
        assert_eq!(
            p.invoke(&bearer_event(&format!("{header}.{rest}"), "/pets"))
                .await,
            unauthorized()
        );
    }
    let windows = (started.elapsed().as_secs_f64() / 0.5).ceil() as usize;
    let refetches = issuer.jwks_fetches() - 1;
    assert!(
        refetches <= windows,
        "{refetches} refetches in {windows} cool-down windows"
    );
    assert!(allowed(&p.invoke(&bearer_event(&good, "/pets")).await));
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_refused_by_the_binary() {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k1");
    issuer.set_keys(vec![key.jwk()]);
    issuer.set_discovery_issuer(Some("https://evil.example.com"));
    let p = start_authorizer(BIN, &issuer, &[]).await;
    assert_eq!(
        p.invoke(&bearer_event(&key.sign(&claims(&issuer)), "/pets"))
            .await,
        unauthorized()
    );
    assert_eq!(issuer.jwks_fetches(), 0);
    assert!(
        p.logs()
            .iter()
            .any(|l| l.contains("discovery document names another issuer") && l.contains("ERROR"))
    );
}

#[tokio::test]
async fn oversized_and_malformed_events_never_stop_the_process() {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k1");
    issuer.set_keys(vec![key.jwk()]);
    let p = start_authorizer(BIN, &issuer, &[]).await;
    let good = bearer_event(&key.sign(&claims(&issuer)), "/pets");
    let huge_token = format!("Bearer {}", "A".repeat(6 * 1024 * 1024));
    let bad: Vec<Vec<u8>> = vec![
        event(&huge_token, "/pets").to_string().into_bytes(),
        vec![b'['; 100_000],
        "{\"authorizationToken\": \"\u{0}\"}".as_bytes().to_vec(),
        b"\xff\xfe\xfd".to_vec(),
        Vec::new(),
    ];
    for raw in bad {
        let out = p.invoke_raw(raw, Duration::from_secs(20)).await.unwrap();
        assert!(matches!(out, Outcome::Error { .. }), "{out:?}");
        assert!(allowed(&p.invoke(&good).await), "next invocation served");
    }
}
