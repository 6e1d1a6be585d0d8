//! The URL rule: never panics; a URL it accepts has no userinfo, and a message about a URL it
//! refuses never shows the userinfo.
#![no_main]
use authz_core::internals::{check_url, redact_userinfo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(url) = std::str::from_utf8(data) else { return };
    match check_url(url, "X") {
        Ok(()) => {
            assert_eq!(redact_userinfo(url), url, "an accepted URL has no userinfo");
        }
        // The message shows the URL only with its userinfo cut.
        Err(e) => assert!(e.0.contains(&format!("`{}`", redact_userinfo(url)))),
    }
});
