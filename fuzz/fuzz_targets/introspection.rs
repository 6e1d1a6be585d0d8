//! An introspection answer (RFC 7662), as the IdP sends it: reading it, its cache lifetime and
//! the decision on it never panic (no number may: `exp: 1e20` once did); an active answer is
//! cached no longer than the configured TTL, and only an access token of this issuer passes.
#![no_main]
use std::time::Duration;

use authz_core::{
    Trace,
    internals::{Answer, answer_ttl, is_access_token, judge, read_answer},
};
use libfuzzer_sys::fuzz_target;

const ISSUER: &str = "https://idp.example.com";

fuzz_target!(|data: &[u8]| {
    let (ttl, negative) = (Duration::from_secs(300), Duration::from_secs(5));
    for status in [200, 401, 500] {
        let Ok(answer) = read_answer(status, data) else { continue };
        assert_eq!(status, 200);
        for now in [0.0, 1.7e9, 1e300, -1e300] {
            let lifetime = answer_ttl(&answer, now, ttl, negative);
            assert!(lifetime <= ttl);
            let decided = judge(&answer, ISSUER, &["api".to_owned()], now, 60.0, &mut Trace::default());
            if decided.is_ok() {
                let Answer::Active(claims) = &answer else { panic!("inactive answer passed") };
                assert!(is_access_token(claims));
                assert!(claims.get("iss").is_none_or(|i| i == ISSUER));
            }
        }
    }
});
