//! Event parsing for the three authorizer types and method ARNs: never panics, and an error
//! message has the fixed shape `invalid event: <Category> error at line N column M` (it never
//! quotes the input, which carries the token).
#![no_main]
use authz_core::{MethodArn, internals::parse_event};
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
        let rest = text.strip_prefix("invalid event: ").expect("error prefix");
        let (category, position) = rest.split_once(" error at line ").expect("error shape");
        assert!(matches!(category, "Io" | "Syntax" | "Data" | "Eof"), "{text}");
        let (line, column) = position.split_once(" column ").expect("error shape");
        assert!(line.parse::<usize>().is_ok() && column.parse::<usize>().is_ok(), "{text}");
    }
    let _ = MethodArn::parse(raw);
});
