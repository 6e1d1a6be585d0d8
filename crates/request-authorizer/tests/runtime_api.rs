//! The real `request-authorizer` binary through the Lambda Runtime API emulator, against a
//! loopback issuer: token sources, stage variables, identity binding, route rules, and the
//! cached-policy replay over a whole route table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use authz_core::{MIN_API_KEY_LENGTH, evaluate};
use authz_testkit::{
    Issuer, LambdaProcess, Outcome, TestKey,
    fixtures::{
        STAGE_ARN, claims, fixture, last_reason, rest_statements, sample_event, start_authorizer,
        unauthorized, with,
    },
};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_request-authorizer");

async fn setup(extra: &[(&str, &str)]) -> (Issuer, TestKey, LambdaProcess) {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k1");
    issuer.set_keys(vec![key.jwk()]);
    let p = start_authorizer(BIN, &issuer, extra).await;
    (issuer, key, p)
}

/// A REQUEST event for `verb /path` with the given headers, query and stage variables.
fn request(verb: &str, path: &str, headers: Value, query: Value, stage: Value) -> Value {
    let mut e = sample_event("request/header.json", "unused");
    e["methodArn"] = json!(format!("{STAGE_ARN}/{verb}{path}"));
    e["httpMethod"] = json!(verb);
    e["path"] = json!(path);
    e["resource"] = json!(path);
    e["headers"] = headers;
    e["multiValueHeaders"] = json!({});
    e["queryStringParameters"] = query;
    e["multiValueQueryStringParameters"] = json!({});
    e["stageVariables"] = stage;
    e
}

fn bearer(token: &str) -> Value {
    json!({"Authorization": format!("Bearer {token}")})
}

fn effect(outcome: &Outcome, arn: &str) -> Option<bool> {
    rest_statements(outcome).map(|s| evaluate(&s, arn))
}

#[tokio::test]
async fn token_from_header_or_query_never_both() {
    let (issuer, key, p) = setup(&[("AUTHZ_TOKEN_QUERY_PARAM", "access_token")]).await;
    let t = key.sign(&claims(&issuer));
    let out = p.invoke(&sample_event("request/header.json", &t)).await;
    assert_eq!(
        effect(&out, &format!("{STAGE_ARN}/GET/pets/42")),
        Some(true)
    );
    assert_eq!(
        effect(&out, &format!("{STAGE_ARN}/DELETE/anything")),
        Some(true),
        "whole stage when no rules"
    );
    let out = p
        .invoke(&sample_event("request/query-token.json", &t))
        .await;
    assert_eq!(effect(&out, &format!("{STAGE_ARN}/GET/pets")), Some(true));
    // Lower-case header name, `headers` only.
    let ev = request(
        "GET",
        "/pets",
        json!({"authorization": format!("bearer {t}")}),
        json!({}),
        json!({}),
    );
    assert_eq!(
        effect(&p.invoke(&ev).await, &format!("{STAGE_ARN}/GET/pets")),
        Some(true)
    );
    // Header and query at once, and two Authorization values: 401.
    let ev = request(
        "GET",
        "/pets",
        bearer(&t),
        json!({"access_token": t}),
        json!({}),
    );
    assert_eq!(p.invoke(&ev).await, unauthorized());
    assert_eq!(last_reason(&p).await, "multiple_credentials");
    assert_eq!(
        p.invoke(&sample_event("request/two-authorization-values.json", &t))
            .await,
        unauthorized()
    );
    assert_eq!(last_reason(&p).await, "multiple_credentials");
    let ev = request("GET", "/pets", json!({}), json!({}), json!({}));
    assert_eq!(p.invoke(&ev).await, unauthorized());
    assert_eq!(last_reason(&p).await, "missing_token");
}

#[tokio::test]
async fn query_token_is_ignored_unless_configured() {
    let (issuer, key, p) = setup(&[]).await;
    let t = key.sign(&claims(&issuer));
    assert_eq!(
        p.invoke(&sample_event("request/query-token.json", &t))
            .await,
        unauthorized()
    );
    assert_eq!(last_reason(&p).await, "missing_token");
}

#[tokio::test]
async fn stage_variables_choose_audience_scopes_and_rule_set() {
    let sets = r#"{"readers":[{"route":"GET /pets","scopes":["read"]}],"admins":[{"route":"GET /pets","scopes":["admin"]}]}"#;
    let (issuer, key, p) = setup(&[("AUTHZ_ROUTE_SETS", sets)]).await;
    let t = key.sign(&claims(&issuer));
    let arn = format!("{STAGE_ARN}/GET/pets");
    let ev = |stage: Value, token: &str| request("GET", "/pets", bearer(token), json!({}), stage);
    // Audience chosen by the stage.
    assert_eq!(
        p.invoke(&ev(json!({"authzAudience": "billing"}), &t)).await,
        unauthorized()
    );
    assert_eq!(last_reason(&p).await, "wrong_audience");
    let billing = key.sign(&with(claims(&issuer), json!({"aud": ["billing"]})));
    assert_eq!(
        effect(
            &p.invoke(&ev(json!({"authzAudience": "billing,other"}), &billing))
                .await,
            &arn
        ),
        Some(true)
    );
    // Required scopes for the whole stage.
    assert_eq!(
        effect(
            &p.invoke(&ev(json!({"authzScopes": "admin,root"}), &t))
                .await,
            &arn
        ),
        Some(false)
    );
    assert_eq!(last_reason(&p).await, "insufficient_scope");
    assert_eq!(
        effect(
            &p.invoke(&ev(json!({"authzScopes": "write"}), &t)).await,
            &arn
        ),
        Some(true)
    );
    // Rule set chosen by the stage.
    assert_eq!(
        effect(
            &p.invoke(&ev(json!({"authzRouteSet": "readers"}), &t)).await,
            &arn
        ),
        Some(true)
    );
    assert_eq!(
        effect(
            &p.invoke(&ev(json!({"authzRouteSet": "admins"}), &t)).await,
            &arn
        ),
        Some(false)
    );
    let out = p.invoke(&ev(json!({"authzRouteSet": "nope"}), &t)).await;
    assert!(
        matches!(&out, Outcome::Error { error_type, .. } if error_type == "InternalError"),
        "{out:?}"
    );
}

#[tokio::test]
async fn identity_binding_header_must_equal_claim() {
    let (issuer, key, p) = setup(&[
        ("AUTHZ_BIND_HEADER", "X-Tenant-Id"),
        ("AUTHZ_BIND_CLAIM", "tenant"),
    ])
    .await;
    let t = key.sign(&with(claims(&issuer), json!({"tenant": "acme"})));
    let arn = format!("{STAGE_ARN}/GET/pets");
    let ev = |tenant: Option<&str>| {
        let mut h = bearer(&t);
        if let Some(v) = tenant {
            h["x-tenant-id"] = json!(v);
        }
        request("GET", "/pets", h, json!({}), json!({}))
    };
    assert_eq!(effect(&p.invoke(&ev(Some("acme"))).await, &arn), Some(true));
    assert_eq!(
        effect(&p.invoke(&ev(Some("globex"))).await, &arn),
        Some(false)
    );
    assert_eq!(last_reason(&p).await, "claim_mismatch");
    assert_eq!(effect(&p.invoke(&ev(None)).await, &arn), Some(false));
}

#[tokio::test]
async fn claim_rules_and_unlisted_routes() {
    let routes = r#"[{"route":"GET /pets","scopes":["read"]},
                     {"route":"ANY /pets/{petId}","claims":{"groups":"pets-admin"}},
                     {"route":"POST /pets","scopes":["write"],"claims":{"amr":"mfa"}}]"#;
    let (issuer, key, p) = setup(&[("AUTHZ_ROUTES", routes)]).await;
    let admin = key.sign(&with(
        claims(&issuer),
        json!({"groups": ["pets-admin"], "amr": ["pwd", "mfa"]}),
    ));
    let reader = key.sign(&claims(&issuer));
    let out = p
        .invoke(&request(
            "DELETE",
            "/pets/7",
            bearer(&admin),
            json!({}),
            json!({}),
        ))
        .await;
    assert_eq!(
        effect(&out, &format!("{STAGE_ARN}/DELETE/pets/7")),
        Some(true)
    );
    assert_eq!(
        effect(&out, &format!("{STAGE_ARN}/POST/pets")),
        Some(true),
        "cached policy covers POST for an mfa writer"
    );
    let out = p
        .invoke(&request(
            "DELETE",
            "/pets/7",
            bearer(&reader),
            json!({}),
            json!({}),
        ))
        .await;
    assert_eq!(
        effect(&out, &format!("{STAGE_ARN}/DELETE/pets/7")),
        Some(false)
    );
    assert_eq!(last_reason(&p).await, "claim_mismatch");
    assert_eq!(
        effect(&out, &format!("{STAGE_ARN}/GET/pets")),
        Some(true),
        "the same cached policy still allows GET /pets"
    );
    assert_eq!(effect(&out, &format!("{STAGE_ARN}/POST/pets")), Some(false));
    let out = p
        .invoke(&request(
            "GET",
            "/owners",
            bearer(&reader),
            json!({}),
            json!({}),
        ))
        .await;
    assert_eq!(
        effect(&out, &format!("{STAGE_ARN}/GET/owners")),
        Some(false)
    );
    assert_eq!(last_reason(&p).await, "route_not_allowed");
    // An invalid token is still 401, rules or not.
    let forged = TestKey::rsa2("k1").sign(&claims(&issuer));
    assert_eq!(
        p.invoke(&request(
            "GET",
            "/pets",
            bearer(&forged),
            json!({}),
            json!({})
        ))
        .await,
        unauthorized()
    );
}

/// `AUTHZ_USAGE_IDENTIFIER_CLAIM`: the claim's value is the caller's `usageIdentifierKey`, and
/// a value no API key can have (missing, not a string, under API Gateway's 20 characters) is
/// refused with its own reason, by a policy that allows no route (the answer API Gateway caches
/// for the token), instead of an Allow API Gateway would turn into an untraced 403.
#[tokio::test]
async fn usage_identifier_must_be_a_possible_api_key_value() {
    let routes = r#"[{"route":"GET /pets","scopes":["read"]}]"#;
    let (issuer, key, p) = setup(&[
        ("AUTHZ_ROUTES", routes),
        ("AUTHZ_USAGE_IDENTIFIER_CLAIM", "plan"),
    ])
    .await;
    let get_pets = |t: &str| request("GET", "/pets", bearer(t), json!({}), json!({}));
    let shortest = "k".repeat(MIN_API_KEY_LENGTH);
    let t = key.sign(&with(claims(&issuer), json!({"plan": shortest})));
    let out = p.invoke(&get_pets(&t)).await;
    let Outcome::Response(r) = &out else {
        panic!("{out:?}")
    };
    assert_eq!(r["usageIdentifierKey"], json!(shortest));
    assert_eq!(effect(&out, &format!("{STAGE_ARN}/GET/pets")), Some(true));
    assert_eq!(last_reason(&p).await, "ok");
    let short = "k".repeat(MIN_API_KEY_LENGTH - 1);
    for plan in [
        json!(short),
        json!(null),
        json!(12_345_678_901_234_567_890_u64),
    ] {
        let t = key.sign(&with(claims(&issuer), json!({ "plan": plan })));
        let out = p.invoke(&get_pets(&t)).await;
        let Outcome::Response(r) = &out else {
            panic!("{out:?}")
        };
        assert!(
            r.get("usageIdentifierKey").is_none_or(Value::is_null),
            "{r}"
        );
        for route in ["GET/pets", "GET/pets/7", "POST/pets"] {
            assert_eq!(
                effect(&out, &format!("{STAGE_ARN}/{route}")),
                Some(false),
                "{plan}: {route}"
            );
        }
        assert_eq!(last_reason(&p).await, "invalid_usage_identifier", "{plan}");
    }
}

/// API Gateway caches one policy per token and reuses it for every route: whichever route a
/// tier calls first, the policy it gets must decide every route of the table as the rules say.
#[tokio::test]
async fn one_cached_policy_is_right_for_every_route_of_the_solar_system() {
    let table = fixture("solar-system.json");
    let routes = table["routes"].to_string();
    let (issuer, key, p) = setup(&[("AUTHZ_ROUTES", &routes)]).await;
    let expect = table["expect"].as_object().unwrap();
    let mut checked = 0;
    for (tier, scopes) in table["tiers"].as_object().unwrap() {
        let scope = scopes
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        let token = key.sign(&with(claims(&issuer), json!({"scope": scope})));
        for first in expect.keys() {
            let (verb, path) = first.split_once(' ').unwrap();
            let out = p
                .invoke(&request(verb, path, bearer(&token), json!({}), json!({})))
                .await;
            let statements =
                rest_statements(&out).unwrap_or_else(|| panic!("{tier} {first}: {out:?}"));
            for (route, by_tier) in expect {
                let (v, pth) = route.split_once(' ').unwrap();
                let arn = format!("{STAGE_ARN}/{v}{pth}");
                let want = by_tier[tier].as_bool().unwrap();
                assert_eq!(
                    evaluate(&statements, &arn),
                    want,
                    "{tier}: policy from {first}, replayed on {route}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 3 * 5 * 5);
}

/// A REST event for `GET /pets/42` sent to `host` at `path` (as the client saw it: the stage on
/// the default endpoint, the base path on a custom domain), with these extra headers.
fn sent_to(host: &str, path: &str, headers: Value) -> Value {
    let mut h = json!({"Host": host});
    h.as_object_mut()
        .unwrap()
        .extend(headers.as_object().unwrap().clone());
    let mut e = request("GET", "/pets/42", h, json!({}), json!({}));
    e["requestContext"]["path"] = json!(path);
    e
}

#[tokio::test]
async fn dpop_proofs_name_the_url_the_client_used_and_are_spent_once() {
    let (issuer, key, p) = setup(&[("AUTHZ_SENDER_CONSTRAINED", "accept")]).await;
    let client = TestKey::ec_p256("client");
    let t = key.sign(&with(
        claims(&issuer),
        json!({"cnf": {"jkt": client.jkt()}}),
    ));
    let now = authz_testkit::now();
    let arn = format!("{STAGE_ARN}/GET/pets/42");
    let auth = format!("DPoP {t}");
    // A custom domain with the base path `v1` mapped to the stage.
    let url = "https://api.example.com/v1/pets/42";
    let proof = client.dpop_proof("GET", url, &t, now, "a");
    let ev = sent_to(
        "api.example.com",
        "/v1/pets/42",
        json!({"Authorization": auth, "DPoP": proof}),
    );
    assert_eq!(effect(&p.invoke(&ev).await, &arn), Some(true));
    assert_eq!(p.invoke(&ev).await, unauthorized());
    assert_eq!(last_reason(&p).await, "dpop_replay");
    // The same proof on the default endpoint names another URL.
    let proof = client.dpop_proof("GET", url, &t, now, "b");
    let ev = sent_to(
        "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "/dev/pets/42",
        json!({"Authorization": auth, "DPoP": proof}),
    );
    assert_eq!(p.invoke(&ev).await, unauthorized());
    assert_eq!(last_reason(&p).await, "dpop_htu_mismatch");
    // Two DPoP headers.
    let (a, b) = (
        client.dpop_proof("GET", url, &t, now, "c"),
        client.dpop_proof("GET", url, &t, now, "d"),
    );
    let mut ev = sent_to(
        "api.example.com",
        "/v1/pets/42",
        json!({"Authorization": auth}),
    );
    ev["multiValueHeaders"] =
        json!({"Authorization": [auth], "DPoP": [a, b], "Host": ["api.example.com"]});
    assert_eq!(p.invoke(&ev).await, unauthorized());
    assert_eq!(last_reason(&p).await, "dpop_proof_invalid");
    // A private key in the proof.
    let mut jwk = client.public_jwk();
    jwk["d"] = json!("AAAA");
    let leaked = client.sign_with_header(
        &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}),
        &json!({"jti": "e", "htm": "GET", "htu": url, "iat": now,
                "ath": authz_core::internals::access_token_hash(&t)}),
    );
    let ev = sent_to(
        "api.example.com",
        "/v1/pets/42",
        json!({"Authorization": auth, "DPoP": leaked}),
    );
    assert_eq!(p.invoke(&ev).await, unauthorized());
    assert_eq!(last_reason(&p).await, "dpop_private_key");
}

#[tokio::test]
async fn certificate_bound_tokens_need_the_same_client_certificate() {
    let (issuer, key, p) = setup(&[("AUTHZ_SENDER_CONSTRAINED", "accept")]).await;
    let (mine, theirs) = (authz_testkit::TestCa::new(), authz_testkit::TestCa::new());
    let x5t = authz_core::internals::certificate_thumbprint(mine.pem()).unwrap();
    let t = key.sign(&with(claims(&issuer), json!({"cnf": {"x5t#S256": x5t}})));
    let arn = format!("{STAGE_ARN}/GET/pets/42");
    let ev = |pem: Option<&str>| {
        let mut e = request("GET", "/pets/42", bearer(&t), json!({}), json!({}));
        if let Some(pem) = pem {
            e["requestContext"]["identity"]["clientCert"] = json!({
                "clientCertPem": pem, "issuerDN": "CN=test", "serialNumber": "1",
                "subjectDN": "CN=client",
                "validity": {"notBefore": "Jan 1 00:00:00 2026 GMT", "notAfter": "Jan 1 00:00:00 2027 GMT"}
            });
        }
        e
    };
    assert_eq!(
        effect(&p.invoke(&ev(Some(mine.pem()))).await, &arn),
        Some(true)
    );
    assert_eq!(p.invoke(&ev(Some(theirs.pem()))).await, unauthorized());
    assert_eq!(last_reason(&p).await, "mtls_cert_mismatch");
    assert_eq!(p.invoke(&ev(None)).await, unauthorized());
    assert_eq!(last_reason(&p).await, "mtls_cert_missing");
}

#[tokio::test]
async fn sender_constrained_tokens_from_the_real_idp() {
    authz_testkit::sender::real_idp_sender_constrained(
        std::path::Path::new(BIN),
        authz_testkit::sender::Api::Rest,
    )
    .await;
}

#[tokio::test]
async fn sender_constrained_opaque_tokens_from_the_real_idp() {
    authz_testkit::sender::real_idp_opaque_sender_constrained(
        std::path::Path::new(BIN),
        authz_testkit::sender::Api::Rest,
    )
    .await;
}
