//! An OIDC discovery document: reading it never panics; one it accepts names the configured
//! issuer and only endpoints that pass the URL rule (https, or loopback http; no userinfo).
#![no_main]
use authz_core::internals::{check_url, parse_discovery};
use libfuzzer_sys::fuzz_target;

const ISSUER: &str = "https://idp.example.com";

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = parse_discovery(ISSUER, 200, data) {
        assert_eq!(doc.issuer, ISSUER);
        let endpoints = [Some(&doc.jwks_uri), doc.introspection_endpoint.as_ref(), doc.token_endpoint.as_ref()];
        for url in endpoints.into_iter().flatten() {
            assert!(check_url(url, "X").is_ok());
        }
    }
});
