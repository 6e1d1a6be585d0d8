//! The verify path in-process: what one invocation costs beyond the Lambda runtime loop.
//!
//! `cargo bench -p authz-core --bench verify` (the Runtime-API-level benchmark is `scripts/bench.sh`). Compares, in one run, the
//! raw RSA-2048 / P-256 signature check of the crypto backend with our whole TOKEN handler
//! (event parse, bearer extraction, header/claims decode, key lookup, signature, claim checks,
//! policy rendering and the JSON decision log line), the REQUEST and HTTP handlers on the
//! sample events of `events/`, and the event parse alone for each type.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use authz_core::{Authorizer, Config, Trace, internals::alg_name};
use authz_testkit::{Issuer, TestKey, now};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::DecodingKey;
use serde_json::json;

fn bench(c: &mut Criterion) {
    // Production log format, written to a sink, so the decision line is part of the cost.
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .without_time()
        .with_writer(std::io::sink)
        .init();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (rsa, ec) = (TestKey::rsa("rsa"), TestKey::ec_p256("ec"));
    let issuer = rt.block_on(Issuer::start());
    issuer.set_keys(vec![rsa.jwk(), ec.jwk()]);
    let config = Config::from_lookup(|k| match k {
        "AUTHZ_ISSUER" => Some(issuer.url()),
        "AUTHZ_AUDIENCE" => Some("api".into()),
        _ => None,
    })
    .unwrap();
    let authz = Authorizer::new(config).unwrap();
    assert_eq!(rt.block_on(authz.warm()), 1);
    let claims = json!({"iss": issuer.url(), "aud": "api", "sub": "alice", "scope": "read write",
                        "iat": now(), "exp": now() + 86_400});
    let arn = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/GET/pets";

    for key in [&rsa, &ec] {
        let name = alg_name(key.alg());
        let token = key.sign(&claims);
        let (input, sig) = token.rsplit_once('.').unwrap();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.jwk()).unwrap();
        let raw_key = DecodingKey::from_jwk(&jwk).unwrap();
        c.bench_function(
            &format!("{name}/raw signature verify (jsonwebtoken + aws-lc)"),
            |b| {
                b.iter(|| {
                    assert!(
                        jsonwebtoken::crypto::verify(
                            black_box(sig),
                            input.as_bytes(),
                            &raw_key,
                            key.alg()
                        )
                        .unwrap()
                    )
                })
            },
        );
        let bearer = format!("Bearer {token}");
        c.bench_function(&format!("{name}/verify_bearer"), |b| {
            b.iter(|| {
                rt.block_on(authz.verify_bearer(Some(black_box(&bearer)), &mut Trace::default()))
                    .unwrap()
            })
        });
        let event =
            json!({"type": "TOKEN", "authorizationToken": bearer, "methodArn": arn}).to_string();
        c.bench_function(
            &format!("{name}/TOKEN handler (parse, verify, decide, render, log)"),
            |b| {
                b.iter(|| {
                    let r = rt.block_on(authz.token(black_box(&event))).unwrap();
                    serde_json::to_vec(&r).unwrap()
                })
            },
        );
    }

    // REQUEST and HTTP (payload 2.0) handlers on the repository's sample events (RS256), and
    // what deserializing each event type costs alone.
    let token = rsa.sign(&claims);
    let request = authz_testkit::fixtures::sample_event("request/header.json", &token).to_string();
    let http = authz_testkit::fixtures::sample_event("http/planets.json", &token).to_string();
    let token_event =
        json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": arn})
            .to_string();
    c.bench_function("RS256/REQUEST handler (sample event)", |b| {
        b.iter(|| {
            let r = rt.block_on(authz.request(black_box(&request))).unwrap();
            serde_json::to_vec(&r).unwrap()
        })
    });
    c.bench_function("RS256/HTTP handler (sample event)", |b| {
        b.iter(|| {
            let r = rt.block_on(authz.http(black_box(&http))).unwrap();
            serde_json::to_vec(&r).unwrap()
        })
    });
    use aws_lambda_events::apigw::{
        ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
        ApiGatewayV2CustomAuthorizerV2Request,
    };
    c.bench_function("parse only/TOKEN event", |b| {
        b.iter(|| {
            serde_json::from_str::<ApiGatewayCustomAuthorizerRequest>(black_box(&token_event))
                .unwrap()
        })
    });
    c.bench_function("parse only/REQUEST event", |b| {
        b.iter(|| {
            serde_json::from_str::<ApiGatewayCustomAuthorizerRequestTypeRequest>(black_box(
                &request,
            ))
            .unwrap()
        })
    });
    c.bench_function("parse only/HTTP event", |b| {
        b.iter(|| {
            serde_json::from_str::<ApiGatewayV2CustomAuthorizerV2Request>(black_box(&http)).unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
