//! Property tests (bounded, run by the test command) of the parsers of what an IdP sends:
//! introspection answers, discovery documents, JWKS and their caching headers, and the URL rule
//! every configured or discovered URL passes. The same properties as the cargo-fuzz targets
//! `introspection`, `discovery`, `jwks` and `urls` (fuzz/): no input panics (no number either),
//! and what is accepted is what the rules allow.

use std::time::Duration;

use authz_core::{
    JwksSettings, Trace,
    internals::{
        Answer, HttpResponse, SUPPORTED_ALGORITHMS, answer_ttl, cache_ttl, check_url,
        is_access_token, judge, parse_discovery, parse_jwks, read_answer, redact_userinfo,
    },
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const ISSUER: &str = "https://idp.example.com";

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Numbers an IdP might send, the extremes first.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(1e20)),
        Just(json!(f64::MAX)),
        Just(json!(-f64::MAX)),
        Just(json!(f64::MIN_POSITIVE)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(0)),
        (1.6e9..1.8e9f64).prop_map(|f| json!(f)),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        any::<i64>().prop_map(|i| json!(i)),
    ]
}

/// Any JSON scalar, or a small array of them.
fn value() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        prop::sample::select(vec![
            "Bearer",
            "bearer",
            "access_token",
            "refresh_token",
            "access",
            "id",
            "Refresh",
            "ID",
            "DPoP",
            "at+jwt",
            ISSUER,
            "https://evil.example.com",
            "api",
            "read write",
        ])
        .prop_map(|s| json!(s)),
        ".{0,12}".prop_map(Value::String),
    ];
    prop_oneof![
        4 => scalar.clone(),
        1 => prop::collection::vec(scalar, 0..3).prop_map(Value::Array),
    ]
}

/// An introspection answer: members an IdP sends, with any values.
fn answer_members() -> impl Strategy<Value = Map<String, Value>> {
    let name = prop::sample::select(vec![
        "active",
        "exp",
        "iat",
        "nbf",
        "iss",
        "aud",
        "sub",
        "scope",
        "client_id",
        "token_type",
        "token_use",
        "typ",
    ]);
    (
        prop::collection::vec((name, value()), 0..8),
        prop_oneof![Just(Some(true)), Just(Some(false)), Just(None)],
    )
        .prop_map(|(members, active)| {
            let mut map: Map<String, Value> = members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            if let Some(active) = active {
                map.insert("active".into(), Value::Bool(active));
            }
            map
        })
}

/// URLs as an IdP or a configuration might write them, hostile ones included.
fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "https://idp.example.com/jwks",
            "http://127.0.0.1:8080/jwks",
            "http://localhost/x",
            "http://[::1]:9000/",
            "http://127.0.0.1:1@other-host/jwks",
            "https://user:pw@idp.example.com/x",
            "http://other-host/x",
            "http://127.0.0.1.evil.com/x",
            "http://127.0.0.1\\@evil.com/",
            "http://evil.com#@127.0.0.1/",
            "https:///x",
            "ftp://idp.example.com",
        ])
        .prop_map(str::to_owned),
        "(https?|HTTP|ftp)://[a-z0-9.:@\\[\\]%/?#\\\\ -]{0,30}",
        ".{0,30}",
    ]
}

/// The host a real parser connects to is loopback.
fn loopback(parsed: &url::Url) -> bool {
    match parsed.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn jwks_settings() -> JwksSettings {
    JwksSettings::default()
}

/// One JWK-ish object: real key types and curves, base64url of random bytes, odd values.
fn jwk() -> impl Strategy<Value = Value> {
    let b64 = prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| {
        use base64::Engine;
        json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
    });
    let field = |names: Vec<&'static str>| {
        prop_oneof![
            Just(None),
            prop::sample::select(names).prop_map(|s| Some(json!(s))),
            value().prop_map(Some),
        ]
    };
    (
        field(vec!["RSA", "EC", "OKP", "oct"]),
        field(vec!["k", "", "k2"]),
        field(vec!["P-256", "P-384", "Ed25519", "P-521"]),
        field(vec!["RS256", "ES256", "EdDSA", "HS256", "none"]),
        field(vec!["sig", "enc"]),
        prop::collection::vec(prop_oneof![b64, value()], 4),
    )
        .prop_map(|(kty, kid, crv, alg, use_, params)| {
            let mut m = Map::new();
            for (name, v) in [
                ("kty", kty),
                ("kid", kid),
                ("crv", crv),
                ("alg", alg),
                ("use", use_),
            ] {
                if let Some(v) = v {
                    m.insert(name.into(), v);
                }
            }
            for (name, v) in ["n", "e", "x", "y"].into_iter().zip(params) {
                m.insert(name.into(), v);
            }
            Value::Object(m)
        })
}

proptest! {
    #![proptest_config(config())]

    /// Reading an introspection answer, its cache lifetime and the decision never panic; an
    /// active answer is reused no longer than the TTL; only an active access token that names
    /// no other issuer passes.
    #[test]
    fn introspection_answers_never_panic_and_only_access_tokens_pass(
        members in answer_members(),
        status in prop::sample::select(vec![200u16, 401, 500]),
        now in prop_oneof![Just(1.7e9), number().prop_map(|n| n.as_f64().unwrap_or(0.0))],
    ) {
        let body = serde_json::to_vec(&members).unwrap();
        let (ttl, negative) = (Duration::from_secs(300), Duration::from_secs(5));
        if let Ok(answer) = read_answer(status, &body) {
            prop_assert_eq!(status, 200);
            let lifetime = answer_ttl(&answer, now, ttl, negative);
            prop_assert!(lifetime <= ttl);
            let decided = judge(&answer, ISSUER, &["api".to_owned()], now, 60.0, &mut Trace::default());
            if decided.is_ok() {
                let Answer::Active(claims) = &answer else {
                    return Err(TestCaseError::fail("an inactive answer passed"));
                };
                prop_assert!(is_access_token(claims));
                prop_assert!(claims.get("iss").is_none_or(|i| i == ISSUER));
                prop_assert_eq!(claims.get("active"), Some(&Value::Bool(true)));
            }
        }
    }

    /// Any bytes as an introspection answer: never a panic.
    #[test]
    fn introspection_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(answer) = read_answer(200, &body) {
            let _ = answer_ttl(&answer, 1.7e9, Duration::from_secs(300), Duration::ZERO);
            let _ = judge(&answer, ISSUER, &[], 1.7e9, 0.0, &mut Trace::default());
        }
    }

    /// A discovery document accepted names the configured issuer, and each endpoint is https or
    /// loopback http, without userinfo, as the parser reqwest connects with reads it.
    #[test]
    fn discovery_accepts_only_the_issuer_and_safe_endpoints(
        issuer in prop_oneof![Just(json!(ISSUER)), value()],
        jwks in prop_oneof![url().prop_map(|u| json!(u)), value()],
        introspection in prop::option::of(url()),
        token in prop::option::of(url()),
        status in prop::sample::select(vec![200u16, 404]),
    ) {
        let mut doc = json!({"issuer": issuer, "jwks_uri": jwks});
        if let Some(u) = introspection {
            doc["introspection_endpoint"] = json!(u);
        }
        if let Some(u) = token {
            doc["token_endpoint"] = json!(u);
        }
        let body = serde_json::to_vec(&doc).unwrap();
        if let Ok(d) = parse_discovery(ISSUER, status, &body) {
            prop_assert_eq!(status, 200);
            prop_assert_eq!(d.issuer.as_str(), ISSUER);
            for u in [Some(&d.jwks_uri), d.introspection_endpoint.as_ref(), d.token_endpoint.as_ref()]
                .into_iter()
                .flatten()
            {
                let parsed = url::Url::parse(u).unwrap();
                prop_assert!(parsed.username().is_empty() && parsed.password().is_none(), "{}", u);
                prop_assert!(parsed.scheme() == "https" || loopback(&parsed), "{}", u);
            }
        }
    }

    /// The URL rule: what it accepts, the real parser reads as https, or http to loopback, with
    /// no userinfo; what it refuses it names without the userinfo.
    #[test]
    fn url_rule_is_the_parsers_reading(u in url()) {
        match check_url(&u, "AUTHZ_X") {
            Ok(()) => {
                let parsed = url::Url::parse(&u);
                prop_assert!(parsed.is_ok(), "{}", u);
                let parsed = parsed.unwrap();
                prop_assert!(parsed.username().is_empty() && parsed.password().is_none(), "{}", u);
                prop_assert!(parsed.scheme() == "https" || loopback(&parsed), "{}", u);
                prop_assert_eq!(redact_userinfo(&u), u.clone());
            }
            Err(e) => {
                let shown = format!("`{}`", redact_userinfo(&u));
                prop_assert!(e.0.starts_with("AUTHZ_X: ") && e.0.contains(&shown), "{}", e.0);
            }
        }
    }

    /// JWKS parsing never panics; every key kept has a non-empty kid.
    #[test]
    fn jwks_parsing_never_panics(keys in prop::collection::vec(jwk(), 0..5), wrap in any::<bool>()) {
        let body = if wrap {
            serde_json::to_vec(&json!({"keys": keys})).unwrap()
        } else {
            serde_json::to_vec(&keys).unwrap()
        };
        if let Ok((kept, skipped)) = parse_jwks(&body, &SUPPORTED_ALGORITHMS) {
            prop_assert!(wrap);
            prop_assert!(kept.keys().all(|kid| !kid.is_empty()));
            prop_assert!(kept.len() + skipped == keys.len());
        }
    }

    /// The JWKS cache lifetime stays within the bounds whatever the headers say.
    #[test]
    fn jwks_cache_lifetime_is_bounded(
        cache_control in prop_oneof![
            "(public, )?max-age=[0-9]{0,30}",
            "max-age=\"?-?[0-9.e]{0,10}\"?",
            ".{0,30}",
        ],
        expires in prop::option::of(prop_oneof![
            Just("Mon, 23 Nov 2026 10:20:00 GMT".to_owned()),
            Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
            ".{0,30}",
        ]),
        date in prop::option::of(prop_oneof![
            Just("Thu, 01 Jan 1970 00:00:00 GMT".to_owned()),
            ".{0,30}",
        ]),
        with_cc in any::<bool>(),
    ) {
        let s = jwks_settings();
        let resp = HttpResponse {
            status: 200,
            body: Vec::new(),
            cache_control: with_cc.then_some(cache_control),
            expires,
            date,
        };
        let ttl = cache_ttl(&resp, &s);
        prop_assert!(ttl >= s.min_ttl && ttl <= s.max_ttl);
    }
}

/// Issue 13, item 7, kept as a fixed case: `exp: 1e20` once panicked `Duration::from_secs_f64`.
#[test]
fn regression_exp_1e20_is_far_away_not_a_panic() {
    let body =
        br#"{"active":true,"iss":"https://idp.example.com","aud":"api","sub":"a","exp":1e20}"#;
    let answer = read_answer(200, body).unwrap();
    let ttl = Duration::from_secs(300);
    assert_eq!(answer_ttl(&answer, 1.7e9, ttl, Duration::ZERO), ttl);
    let claims = judge(
        &answer,
        ISSUER,
        &["api".to_owned()],
        1.7e9,
        60.0,
        &mut Trace::default(),
    );
    assert!(claims.is_ok(), "{claims:?}");
}
