//! The JWT parser (shape, header, payload): never panics, and a token it accepts has a
//! supported algorithm, a kid and a string iss.
#![no_main]
use authz_core::{Trace, internals::parse_jwt as parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    for typ in [None, Some("at+jwt")] {
        if let Ok(p) = parse(token, typ, &mut Trace::default()) {
            assert!(!p.kid.is_empty() && !p.signature.is_empty());
            assert!(p.signing_input_len < token.len());
        }
    }
});
