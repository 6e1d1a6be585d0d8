//! Property tests (bounded, deterministic per run count) of the parsers every request goes
//! through and of the route decision: no input panics, nothing malformed is accepted, and a cached
//! REST policy decides every route exactly as the rules do.

use authz_core::{
    AuthzError, Claims, MethodArn, Rule, Rules, Statement, Trace, evaluate,
    internals::{bearer, parse_event, parse_jwt as parse, rest_statements},
};
use authz_testkit::{TestKey, b64url, now};
use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV2Request,
};
use proptest::prelude::*;
use serde_json::json;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A valid token to mutate (signed once; the signature is irrelevant to `parse`).
fn good_token() -> String {
    TestKey::ec_p256("kid-1").sign(
        &json!({"iss": "https://idp.example.com", "aud": "api", "sub": "alice", "exp": now() + 60}),
    )
}

proptest! {
    #![proptest_config(config())]

    /// The Authorization parser never panics; what it returns is one RFC 6750 b64token, taken
    /// from the value, within the size bound.
    #[test]
    fn bearer_returns_only_a_bounded_b64token(value in ".{0,300}", bare in any::<bool>()) {
        if let Ok(token) = bearer(Some(&value), bare, 128) {
            prop_assert!(token.len() <= 128);
            prop_assert!(value.contains(token));
            let body = token.trim_end_matches('=');
            prop_assert!(!body.is_empty());
            prop_assert!(body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)));
        }
    }

    /// Scheme case does not matter; the credential must be exactly one.
    #[test]
    fn bearer_scheme_is_case_insensitive(scheme in "[bB][eE][aA][rR][eE][rR]", token in "[A-Za-z0-9._~+/-]{1,64}") {
        let one = format!("{scheme} {token}");
        let two = format!("{scheme} {token} {token}");
        prop_assert_eq!(bearer(Some(&one), false, 128), Ok(token.as_str()));
        prop_assert_eq!(bearer(Some(&two), false, 1000), Err(AuthzError::BadScheme));
    }

    /// The JWT parser never panics on arbitrary text.
    #[test]
    fn parse_never_panics(token in ".{0,400}") {
        let _ = parse(&token, Some("at+jwt"), &mut Trace::default());
    }

    /// Any single-byte change to a token's header or payload either fails to parse or parses to
    /// something different from the original (no two spellings of one token: strict base64url,
    /// no padding, no ignored trailing bits).
    #[test]
    fn a_mutated_token_never_parses_to_the_same_claims(pos in any::<prop::sample::Index>(), byte in 0x21u8..0x7f) {
        let good = good_token();
        let cut = good.rfind('.').unwrap();
        let i = pos.index(cut);
        let mut bytes = good.clone().into_bytes();
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let mutated = String::from_utf8(bytes).unwrap();
        let original = parse(&good, None, &mut Trace::default()).unwrap();
        if let Ok(p) = parse(&mutated, None, &mut Trace::default()) {
            let same = p.claims == original.claims && p.kid == original.kid && p.alg == original.alg
                && mutated[..p.signing_input_len] == good[..original.signing_input_len];
            prop_assert!(!same, "two spellings of one token: {mutated}");
        }
    }

    /// Structured garbage in a well-formed envelope never parses as valid.
    #[test]
    fn header_values_of_any_json_type_are_handled(alg in prop_oneof![Just(json!(null)), Just(json!(1)), Just(json!(["RS256"])), Just(json!("none")), Just(json!("HS256"))]) {
        let token = format!("{}.{}.c2ln", b64url(json!({"alg": alg, "kid": "k"}).to_string().as_bytes()), b64url(b"{\"iss\":\"x\"}"));
        prop_assert!(parse(&token, None, &mut Trace::default()).is_err());
    }

    /// Event parsing never panics, whatever bytes arrive.
    #[test]
    fn event_parsing_never_panics(raw in ".{0,300}") {
        let _ = parse_event::<ApiGatewayCustomAuthorizerRequest>(&raw);
        let _ = parse_event::<ApiGatewayCustomAuthorizerRequestTypeRequest>(&raw);
        let _ = parse_event::<ApiGatewayV2CustomAuthorizerV2Request>(&raw);
        let _ = MethodArn::parse(&raw);
        let _ = Rule::new(&raw, vec![], vec![]);
    }

    /// A route rule always matches its own path (templates filled with any segment values).
    #[test]
    fn a_rule_matches_its_own_paths(segs in prop::collection::vec(prop_oneof!["[a-z]{1,8}", Just("{id}".to_owned())], 0..5), value in "[A-Za-z0-9_-]{1,10}", verb in prop_oneof![Just("GET"), Just("POST"), Just("ANY")]) {
        let route = format!("{verb} /{}", segs.join("/"));
        let rules = Rules(vec![Rule::new(&route, vec![], vec![]).unwrap()]);
        let path = segs.iter().map(|s| if s == "{id}" { value.as_str() } else { s.as_str() }).collect::<Vec<_>>().join("/");
        let asked = if verb == "ANY" { "DELETE" } else { verb };
        prop_assert_eq!(rules.for_path(asked, &format!("/{path}")).map(|r| r.route.as_str()), Some(route.as_str()));
    }

    /// API Gateway reuses one cached policy for every route: whatever route the token asked
    /// first, the policy decides each route of a literal route table as its rule does.
    #[test]
    fn a_cached_policy_decides_every_route_as_the_rules_do(
        table in prop::collection::btree_map("[a-z]{1,6}(/[a-z]{1,6}){0,2}", prop::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c")], 0..3), 1..6),
        held in prop::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c")], 0..3),
        first in any::<prop::sample::Index>(),
    ) {
        let rules = Rules(table.iter().map(|(p, scopes)| Rule::new(&format!("GET /{p}"), scopes.iter().map(|s| (*s).to_owned()).collect(), vec![]).unwrap()).collect());
        let claims = Claims { iss: "i".into(), sub: Some("s".into()), client_id: None, scopes: held.iter().map(|s| (*s).to_owned()).collect(), all: Default::default() };
        let base = "arn:aws:execute-api:us-east-1:123456789012:api1/prod";
        let paths: Vec<&String> = table.keys().collect();
        let first_arn = format!("{base}/GET/{}", paths[first.index(paths.len())]);
        let statements = rest_statements(&rules, &claims, &MethodArn::parse(&first_arn).unwrap(), &first_arn);
        for (path, scopes) in &table {
            let want = scopes.is_empty() || scopes.iter().any(|s| held.contains(s));
            prop_assert_eq!(evaluate(&statements, &format!("{base}/GET/{path}")), want, "{}", path);
            prop_assert!(!evaluate(&statements, &format!("{base}/POST/{path}")), "other verbs stay denied");
        }
    }

    /// IAM evaluation without wildcards is string equality.
    #[test]
    fn evaluation_without_wildcards_is_equality(a in "[a-z/:]{0,20}", b in "[a-z/:]{0,20}") {
        prop_assert_eq!(evaluate(&[Statement::allow(a.clone())], &b), a == b);
    }
}
