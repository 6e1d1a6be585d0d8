//! Route rules: parsing never panics; a parsed rule's resource pattern is well-formed and the
//! matcher never panics on any path.
#![no_main]
use authz_core::{MethodArn, Rule, Rules};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (route, path) = text.split_once('\n').unwrap_or((text, "/"));
    let Ok(rule) = Rule::new(route, vec![], vec![]) else { return };
    let arn = MethodArn::parse("arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/x").unwrap();
    assert!(rule.resource(&arn).starts_with("arn:aws:execute-api:us-east-1:123456789012:api/prod/"));
    let rules = Rules(vec![rule]);
    for verb in ["GET", "POST", "DELETE"] {
        let _ = rules.for_path(verb, path);
    }
    let _ = rules.for_route_key(path);
});
