#![allow(clippy::unwrap_used)]
use std::collections::{BTreeMap, HashMap};

use super::*;

const ISSUER: &str = "https://idp.example.com";

fn load(vars: &[(&str, &str)]) -> Config {
    let map: HashMap<String, String> = [("AUTHZ_ISSUER", ISSUER), ("AUTHZ_AUDIENCE", "api")]
        .iter()
        .chain(vars)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned()).unwrap()
}

fn doc(json: &str) -> Config {
    let map: HashMap<&str, String> = [(
        "AUTHZ_CONFIG",
        format!(r#"{{"issuers":[{{"issuer":"{ISSUER}"}}],"audiences":["api"],{json}}}"#),
    )]
    .into_iter()
    .collect();
    Config::from_lookup(|k| map.get(k).cloned()).unwrap()
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn sources(c: &Config, kind: AuthorizerKind, stage: &[(&str, &str)]) -> Vec<String> {
    c.cache_key(kind, &vars(stage), true)
        .unwrap()
        .identity_sources
}

fn refusal(c: &Config, kind: AuthorizerKind, stage: &[(&str, &str)], cached: bool) -> String {
    c.cache_key(kind, &vars(stage), cached)
        .unwrap_err()
        .to_string()
}

#[test]
fn default_is_the_authorization_header() {
    let c = load(&[]);
    assert_eq!(
        sources(&c, AuthorizerKind::Token, &[]),
        ["method.request.header.Authorization"]
    );
    assert_eq!(
        sources(&c, AuthorizerKind::Request, &[]),
        ["method.request.header.Authorization"]
    );
    assert_eq!(
        sources(&c, AuthorizerKind::Http, &[]),
        ["$request.header.Authorization", "$context.routeKey"]
    );
    let uncached = c
        .cache_key(AuthorizerKind::Http, &BTreeMap::new(), false)
        .unwrap();
    assert_eq!(uncached.identity_sources, ["$request.header.Authorization"]);
}

/// Issue 22 item 1: the same settings as flat variables or as keys of the `AUTHZ_CONFIG`
/// document give the same cache key (they are one configuration, read by one parser).
#[test]
fn both_spellings_give_the_same_identity_sources() {
    let flat = load(&[
        ("AUTHZ_TOKEN_HEADER", "X-Api-Token"),
        ("AUTHZ_BIND_HEADER", "X-Tenant-Id"),
        ("AUTHZ_BIND_CLAIM", "tenant"),
        ("AUTHZ_ROUTE_SETS", r#"{"v2":[{"route":"GET /a"}]}"#),
    ]);
    let structured = doc(
        r#""token_header":"X-Api-Token","bind_header":"X-Tenant-Id","bind_claim":"tenant",
           "route_sets":{"v2":[{"route":"GET /a"}]}"#,
    );
    for kind in [AuthorizerKind::Request, AuthorizerKind::Http] {
        let stage = vars(&[("authzRouteSet", "v2")]);
        let a = flat.cache_key(kind, &stage, true).unwrap();
        assert_eq!(a, structured.cache_key(kind, &stage, true).unwrap());
        assert_eq!(a.token_header, "x-api-token");
        assert_eq!(a.bind_header.as_deref(), Some("x-tenant-id"));
        assert_eq!(a.route_sets["v2"], ["GET /a"]);
    }
    assert_eq!(
        sources(
            &structured,
            AuthorizerKind::Request,
            &[("authzRouteSet", "v2")]
        ),
        [
            "method.request.header.X-Api-Token",
            "method.request.header.X-Tenant-Id",
            "stageVariables.authzRouteSet"
        ]
    );
    assert_eq!(
        sources(
            &structured,
            AuthorizerKind::Http,
            &[("authzRouteSet", "v2")]
        ),
        [
            "$request.header.X-Api-Token",
            "$request.header.X-Tenant-Id",
            "$stageVariables.authzRouteSet",
            "$context.routeKey"
        ]
    );
    let token = doc(r#""token_header":"X-Api-Token""#);
    assert_eq!(
        sources(&token, AuthorizerKind::Token, &[]),
        ["method.request.header.X-Api-Token"]
    );
}

/// Issue 22 item 2: every `authz*` stage variable the stage sets is an identity source of the
/// REQUEST and HTTP authorizers; other stage variables are not read, so not keyed on.
#[test]
fn stage_variables_the_authorizer_reads_are_identity_sources() {
    let c = load(&[("AUTHZ_ROUTE_SETS", r#"{"v2":[{"route":"GET /a"}]}"#)]);
    let stage = [
        ("authzAudience", "api"),
        ("authzScopes", "read"),
        ("authzRouteSet", "v2"),
        ("backend", "x"),
    ];
    assert_eq!(
        sources(&c, AuthorizerKind::Http, &stage),
        [
            "$request.header.Authorization",
            "$stageVariables.authzAudience",
            "$stageVariables.authzRouteSet",
            "$stageVariables.authzScopes",
            "$context.routeKey"
        ]
    );
    assert_eq!(
        sources(&c, AuthorizerKind::Request, &stage)[1..],
        [
            "stageVariables.authzAudience",
            "stageVariables.authzRouteSet",
            "stageVariables.authzScopes"
        ]
    );
    let e = refusal(&c, AuthorizerKind::Http, &[("authzScope", "read")], true);
    assert!(e.contains("stage variable authzScope is not one"), "{e}");
    let e = refusal(
        &c,
        AuthorizerKind::Request,
        &[("authzRouteSet", "v3")],
        true,
    );
    assert!(e.contains("authzRouteSet names rule set `v3`"), "{e}");
    let e = refusal(
        &load(&[]),
        AuthorizerKind::Token,
        &[("authzScopes", "read")],
        true,
    );
    assert!(e.contains("would not apply to the token authorizer"), "{e}");
}

/// Issue 22 item 3: a list-valued stage variable that reads as an empty list is refused.
#[test]
fn blank_stage_lists_are_refused_naming_the_variable() {
    let c = load(&[]);
    for name in ["authzAudience", "authzScopes"] {
        for blank in [",", " ", "", " , "] {
            let e = refusal(&c, AuthorizerKind::Http, &[(name, blank)], true);
            assert!(e.contains(name) && e.contains("lists nothing"), "{e}");
        }
    }
}

#[test]
fn the_token_authorizer_refuses_what_it_cannot_see() {
    for c in [
        load(&[("AUTHZ_BIND_HEADER", "x-tenant"), ("AUTHZ_BIND_CLAIM", "t")]),
        doc(r#""bind_header":"x-tenant","bind_claim":"t""#),
    ] {
        let e = refusal(&c, AuthorizerKind::Token, &[], true);
        assert!(e.contains("AUTHZ_BIND_HEADER `x-tenant`"), "{e}");
        assert!(
            c.cache_key(AuthorizerKind::Request, &BTreeMap::new(), true)
                .is_ok()
        );
    }
    let c = doc(r#""route_sets":{"v2":[{"route":"GET /a"}]}"#);
    assert!(refusal(&c, AuthorizerKind::Token, &[], true).contains("AUTHZ_ROUTE_SETS"));
    let c = doc(r#""route_sets":{"v2":[{"route":"ANY /{proxy+}"},{"route":"GET /a/{id}"}]}"#);
    let e = refusal(&c, AuthorizerKind::Request, &[], true);
    assert!(e.contains("AUTHZ_ROUTE_SETS: rule set `v2`"), "{e}");
    assert!(
        c.cache_key(AuthorizerKind::Http, &BTreeMap::new(), true)
            .is_ok()
    );
}

#[test]
fn a_token_query_parameter_needs_caching_off() {
    for c in [
        load(&[("AUTHZ_TOKEN_QUERY_PARAM", "access_token")]),
        doc(r#""token_query_param":"access_token""#),
    ] {
        for kind in [AuthorizerKind::Request, AuthorizerKind::Http] {
            let e = refusal(&c, kind, &[], true);
            assert!(
                e.contains("AUTHZ_TOKEN_QUERY_PARAM") && e.contains("cacheTtlSeconds to 0"),
                "{e}"
            );
            let key = c.cache_key(kind, &BTreeMap::new(), false).unwrap();
            assert!(key.identity_sources.is_empty());
        }
    }
}

#[test]
fn kinds_by_name() {
    for kind in AuthorizerKind::ALL {
        assert_eq!(AuthorizerKind::parse(kind.name()), Some(kind));
    }
    assert_eq!(AuthorizerKind::parse("jwt"), None);
    assert_eq!(header_spelling("x-api-token"), "X-Api-Token");
    assert_eq!(header_spelling("authorization"), "Authorization");
}

#[test]
fn sender_constrained_tokens_refuse_caching_and_the_token_authorizer() {
    for mode in ["accept", "require"] {
        let c = load(&[("AUTHZ_SENDER_CONSTRAINED", mode)]);
        for kind in [AuthorizerKind::Request, AuthorizerKind::Http] {
            let e = refusal(&c, kind, &[], true);
            for needle in ["AUTHZ_SENDER_CONSTRAINED", mode, "cacheTtlSeconds to 0"] {
                assert!(e.contains(needle), "{needle}: {e}");
            }
            assert!(c.cache_key(kind, &vars(&[]), false).is_ok());
            assert!(c.check_for(kind).is_ok());
        }
        let e = c.check_for(AuthorizerKind::Token).unwrap_err().to_string();
        assert!(e.contains("AUTHZ_SENDER_CONSTRAINED"), "{e}");
        assert!(e.contains("REQUEST authorizer"), "{e}");
        assert!(
            refusal(&c, AuthorizerKind::Token, &[], false).contains("AUTHZ_SENDER_CONSTRAINED")
        );
    }
    // Off (the default): bound tokens are refused, so caching stays right.
    let c = load(&[("AUTHZ_SENDER_CONSTRAINED", "off")]);
    assert!(c.cache_key(AuthorizerKind::Token, &vars(&[]), true).is_ok());
    let bad = Config::from_lookup(|k| match k {
        "AUTHZ_ISSUER" => Some(ISSUER.into()),
        "AUTHZ_AUDIENCE" => Some("api".into()),
        "AUTHZ_SENDER_CONSTRAINED" => Some("on".into()),
        _ => None,
    })
    .unwrap_err()
    .to_string();
    assert!(bad.contains("AUTHZ_SENDER_CONSTRAINED"), "{bad}");
}

/// The optional cargo features a configuration needs (`CacheKey::features`): the CDK app checks
/// each authorizer's build against them, so a setting its binary lacks fails the synth.
#[cfg(feature = "replay-store")]
#[test]
fn the_cache_key_names_the_features_the_configuration_needs() {
    let uncached = |c: &Config| {
        c.cache_key(AuthorizerKind::Http, &BTreeMap::new(), false)
            .unwrap()
            .features
    };
    assert!(uncached(&load(&[])).is_empty());
    let replay = load(&[
        ("AUTHZ_SENDER_CONSTRAINED", "require"),
        ("AUTHZ_DPOP_REPLAY_TABLE", "proofs"),
    ]);
    assert_eq!(uncached(&replay), ["replay-store"]);
}
