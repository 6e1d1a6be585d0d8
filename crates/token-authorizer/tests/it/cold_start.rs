//! Issue 22, item 6: an IdP slower than [`COLD_START_FETCH_BOUND`] cannot keep the real binary
//! from starting (Lambda fails a function whose init passes 10 s): init ends at the bound, and
//! the tokens that come before the keys are `Unauthorized` at once.

use std::time::{Duration, Instant};

use authz_core::COLD_START_FETCH_BOUND;
use authz_testkit::{
    Fault, Issuer, TestKey,
    fixtures::{claims, last_reason, start_authorizer, unauthorized},
};

use super::{BIN, bearer_event};

/// Longer than process start-up and the first invocation take, with room for a loaded machine.
const MARGIN: Duration = Duration::from_secs(2);

#[tokio::test]
async fn a_slow_idp_cannot_hold_the_cold_start_past_the_bound() {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k1");
    issuer.set_keys(vec![key.jwk()]);
    // Each answer inside the longest HTTP timeout (9 s), both together far past the bound.
    let slow = Duration::from_secs(8);
    issuer.set_discovery_fault(Fault::Delay(slow));
    issuer.set_jwks_fault(Fault::Delay(slow));
    let started = Instant::now();
    // The default cool-down (10 s): no second fetch for the first token.
    let env = [
        ("AUTHZ_HTTP_TIMEOUT_SECONDS", "9"),
        ("AUTHZ_JWKS_COOLDOWN_SECONDS", ""),
    ];
    let p = start_authorizer(BIN, &issuer, &env).await;
    let token = key.sign(&claims(&issuer));
    let event = bearer_event(&token, "/pets").to_string().into_bytes();
    let answer = p.invoke_raw(event, Duration::from_secs(30)).await.unwrap();
    let init = p.api().first_poll().expect("the function polled") - started;
    assert!(
        init >= COLD_START_FETCH_BOUND,
        "it waited for the IdP up to the bound: {init:?}"
    );
    assert!(
        init < COLD_START_FETCH_BOUND + MARGIN,
        "init took {init:?}, bound {COLD_START_FETCH_BOUND:?}"
    );
    assert_eq!(answer, unauthorized());
    assert_eq!(last_reason(&p).await, "jwks_unavailable");
    assert!(
        started.elapsed() < COLD_START_FETCH_BOUND + MARGIN,
        "the token waited for no fetch"
    );
    assert_eq!(issuer.discovery_fetches(), 1);
    assert_eq!(issuer.jwks_fetches(), 0, "the JWKS was never asked for");
    assert!(
        p.logs()
            .iter()
            .any(|l| l.contains("not fetched within the bound")),
        "the cold start says so: {:#?}",
        p.logs()
    );
}
