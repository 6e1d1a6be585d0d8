//! A JWKS document and its caching headers: parsing never panics; every key kept has a kid; the
//! cache lifetime stays within the configured bounds whatever the headers say.
#![no_main]

use authz_core::{
    JwksSettings,
    internals::{HttpResponse, SUPPORTED_ALGORITHMS, cache_ttl, parse_jwks},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((keys, _skipped)) = parse_jwks(data, &SUPPORTED_ALGORITHMS) {
        assert!(keys.keys().all(|kid| !kid.is_empty()));
    }
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n').map(str::to_owned);
    let settings = JwksSettings::default();
    let resp = HttpResponse {
        status: 200,
        body: Vec::new(),
        cache_control: parts.next(),
        expires: parts.next(),
        date: parts.next(),
    };
    let ttl = cache_ttl(&resp, &settings);
    assert!(ttl >= settings.min_ttl && ttl <= settings.max_ttl);
});
