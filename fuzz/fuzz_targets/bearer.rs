//! The Authorization-header parser: never panics; anything it returns is a bounded b64token
//! taken from the input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else { return };
    for bare in [false, true] {
        if let Ok(token) = authz_core::internals::bearer(Some(value), bare, 8192) {
            assert!(token.len() <= 8192 && value.contains(token));
        }
    }
});
