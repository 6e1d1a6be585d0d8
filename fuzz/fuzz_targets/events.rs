//! Event parsing for the three authorizer types and method ARNs: never panics, and an error
//! never quotes the input.
#![no_main]
use authz_core::{policy::MethodArn, token::parse_event};
use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV2Request,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    let errors = [
        parse_event::<ApiGatewayCustomAuthorizerRequest>(raw).err(),
        parse_event::<ApiGatewayCustomAuthorizerRequestTypeRequest>(raw).err(),
        parse_event::<ApiGatewayV2CustomAuthorizerV2Request>(raw).err(),
    ];
    for e in errors.into_iter().flatten() {
        let text = e.to_string();
        assert!(raw.len() < 24 || !text.contains(raw), "error echoes the input");
    }
    let _ = MethodArn::parse(raw);
});
