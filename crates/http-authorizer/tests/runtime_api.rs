//! The real `http-authorizer` binary (HTTP API, payload 2.0, simple responses) through the
//! Lambda Runtime API emulator, against a loopback issuer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use authz_testkit::{
    Algorithm, Issuer, LambdaProcess, Outcome, TestKey,
    fixtures::{claims, decisions, fixture, last_reason, sample_event, start_authorizer, with},
    with_signature_of,
};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_http-authorizer");

async fn setup(extra: &[(&str, &str)]) -> (Issuer, TestKey, LambdaProcess) {
    let issuer = Issuer::start().await;
    let key = TestKey::ec_p256("k1");
    issuer.set_keys(vec![key.jwk()]);
    let routes = fixture("solar-system.json")["routes"].to_string();
    let mut env = vec![("AUTHZ_ROUTES", routes.as_str())];
    env.extend_from_slice(extra);
    let p = start_authorizer(BIN, &issuer, &env).await;
    (issuer, key, p)
}

fn tier_token(issuer: &Issuer, key: &TestKey, scope: Value) -> String {
    key.sign(&with(claims(issuer), scope))
}

/// `isAuthorized` of the answer; panics on an error answer.
fn authorized(out: &Outcome) -> bool {
    match out {
        Outcome::Response(r) => r["isAuthorized"].as_bool().unwrap(),
        other => panic!("expected a simple response, got {other:?}"),
    }
}

fn route(name: &str, token: &str) -> Value {
    sample_event(&format!("http/{name}.json"), token)
}

#[tokio::test]
async fn scopes_are_any_of_per_route() {
    let (issuer, key, p) = setup(&[]).await;
    let table = fixture("solar-system.json");
    for (tier, scopes) in table["tiers"].as_object().unwrap() {
        let t = tier_token(&issuer, &key, json!({"scope": scopes[0]}));
        for name in ["asteroids", "planets", "moons"] {
            let want = table["expect"][format!("GET /{name}")][tier]
                .as_bool()
                .unwrap();
            assert_eq!(
                authorized(&p.invoke(&route(name, &t)).await),
                want,
                "{tier} on {name}"
            );
        }
    }
    let silver = tier_token(&issuer, &key, json!({"scope": "silver"}));
    p.invoke(&route("moons", &silver)).await;
    assert_eq!(last_reason(&p).await, "insufficient_scope");
    assert_eq!(decisions(&p).await.last().unwrap()["decision"], "deny");
}

#[tokio::test]
async fn scp_arrays_count_as_scopes_and_context_travels_with_allow() {
    let (issuer, key, p) = setup(&[("AUTHZ_CONTEXT_CLAIMS", "email")]).await;
    let t = tier_token(
        &issuer,
        &key,
        json!({"scope": null, "scp": ["bronze", "silver"]}),
    );
    let out = p.invoke(&route("planets", &t)).await;
    assert!(authorized(&out));
    let Outcome::Response(r) = out else {
        unreachable!()
    };
    assert_eq!(
        r["context"],
        json!({"sub": "alice", "iss": issuer.url(), "scope": "bronze silver", "email": "alice@example.com"})
    );
    let out = p.invoke(&route("moons", &t)).await;
    assert!(!authorized(&out));
    let Outcome::Response(r) = out else {
        unreachable!()
    };
    assert_eq!(r["context"], json!({}), "no context with a refusal");
}

#[tokio::test]
async fn bad_tokens_are_false_not_errors() {
    let (issuer, key, p) = setup(&[]).await;
    let good = tier_token(&issuer, &key, json!({"scope": "gold"}));
    let expired = key.sign(&with(claims(&issuer), json!({"exp": 1})));
    // The valid token's signature over another payload.
    let other = key.sign(&with(claims(&issuer), json!({"sub": "mallory"})));
    let forged = with_signature_of(&other, &good);
    for (token, reason) in [
        ("", "missing_token"),
        ("garbage", "malformed"),
        (&expired, "expired"),
        (&forged, "bad_signature"),
    ] {
        let mut ev = route("asteroids", token);
        if token.is_empty() {
            ev["headers"]
                .as_object_mut()
                .unwrap()
                .remove("authorization");
        } else if token == "garbage" {
            ev["headers"]["authorization"] = json!("Bearer a.b.c");
        }
        assert!(!authorized(&p.invoke(&ev).await), "{reason}");
        assert_eq!(last_reason(&p).await, reason);
        assert_eq!(
            decisions(&p).await.last().unwrap()["decision"],
            "unauthorized"
        );
    }
    // Duplicate Authorization headers arrive comma-joined in payload 2.0: refused.
    let mut ev = route("asteroids", &good);
    ev["headers"]["authorization"] = json!(format!("Bearer {good},Bearer {good}"));
    assert!(!authorized(&p.invoke(&ev).await));
    assert!(authorized(&p.invoke(&route("asteroids", &good)).await));
}

#[tokio::test]
async fn unlisted_routes_and_default_are_refused() {
    let (issuer, key, p) = setup(&[]).await;
    let gold = tier_token(&issuer, &key, json!({"scope": "gold"}));
    for key_name in ["POST /planets", "GET /comets", "$default"] {
        let mut ev = route("planets", &gold);
        ev["routeKey"] = json!(key_name);
        assert!(!authorized(&p.invoke(&ev).await), "{key_name}");
        assert_eq!(last_reason(&p).await, "route_not_allowed");
    }
}

#[tokio::test]
async fn claim_rules_query_tokens_and_stage_scopes() {
    let routes = r#"[{"route":"GET /planets","claims":{"amr":"mfa"}},{"route":"ANY /moons","scopes":["gold"]}]"#;
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k1");
    issuer.set_keys(vec![key.jwk()]);
    let p = start_authorizer(
        BIN,
        &issuer,
        &[
            ("AUTHZ_ROUTES", routes),
            ("AUTHZ_TOKEN_QUERY_PARAM", "access_token"),
        ],
    )
    .await;
    let mfa = key.sign(&with(
        claims(&issuer),
        json!({"amr": ["pwd", "mfa"], "scope": "gold"}),
    ));
    let pwd = key.sign(&with(
        claims(&issuer),
        json!({"amr": ["pwd"], "scope": "gold"}),
    ));
    assert!(authorized(&p.invoke(&route("planets", &mfa)).await));
    assert!(!authorized(&p.invoke(&route("planets", &pwd)).await));
    assert_eq!(last_reason(&p).await, "claim_mismatch");
    // ANY rule matches any verb of the path.
    let mut ev = route("moons", &pwd);
    ev["routeKey"] = json!("DELETE /moons");
    assert!(authorized(&p.invoke(&ev).await));
    // Token in the query string instead of the header.
    let mut ev = route("moons", "unused");
    ev["headers"]
        .as_object_mut()
        .unwrap()
        .remove("authorization");
    ev["queryStringParameters"] = json!({"access_token": mfa});
    assert!(authorized(&p.invoke(&ev).await));
    // Stage variable scopes apply to every route of the stage.
    let mut ev = route("moons", &mfa);
    ev["stageVariables"] = json!({"authzScopes": "platinum"});
    assert!(!authorized(&p.invoke(&ev).await));
    assert_eq!(last_reason(&p).await, "insufficient_scope");
}

#[tokio::test]
async fn malformed_events_are_errors_and_the_next_is_served() {
    let (issuer, key, p) = setup(&[]).await;
    let gold = tier_token(&issuer, &key, json!({"scope": "gold"}));
    for raw in [
        &b"{"[..],
        b"[]",
        br#"{"version":"2.0","headers":{"bad header":"x"}}"#,
    ] {
        let out = p
            .invoke_raw(raw.to_vec(), Duration::from_secs(10))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Error { .. }), "{out:?}");
        assert!(authorized(&p.invoke(&route("moons", &gold)).await));
    }
}

/// The URL the asteroids event was sent to, as the client saw it (the DPoP `htu`).
const ASTEROIDS_URL: &str = "https://solar12345.execute-api.us-east-1.amazonaws.com/dev/asteroids";

/// The asteroids event with `authorization` and, when given, a `dpop` header.
fn presented(authorization: &str, proof: Option<&str>) -> Value {
    let mut ev = route("asteroids", "unused");
    ev["headers"]["authorization"] = json!(authorization);
    if let Some(p) = proof {
        ev["headers"]["dpop"] = json!(p);
    }
    ev
}

#[tokio::test]
async fn dpop_bound_tokens_need_a_fresh_proof_of_their_key() {
    let (issuer, key, p) = setup(&[("AUTHZ_SENDER_CONSTRAINED", "accept")]).await;
    let client = TestKey::ed25519("client");
    let t = key.sign(&with(
        claims(&issuer),
        json!({"scope": "gold", "cnf": {"jkt": client.jkt()}}),
    ));
    let now = authz_testkit::now();
    let proof = |method: &str, url: &str, token: &str, iat: i64, jti: &str| {
        client.dpop_proof(method, url, token, iat, jti)
    };
    let dpop = format!("DPoP {t}");
    let good = proof("GET", ASTEROIDS_URL, &t, now, "a");
    assert!(authorized(&p.invoke(&presented(&dpop, Some(&good))).await));
    assert_eq!(decisions(&p).await.last().unwrap()["decision"], "allow");
    // The same proof again, in the same execution environment.
    assert!(!authorized(&p.invoke(&presented(&dpop, Some(&good))).await));
    assert_eq!(last_reason(&p).await, "dpop_replay");
    let other_token = key.sign(&with(
        claims(&issuer),
        json!({"scope": "gold", "sub": "bob", "cnf": {"jkt": client.jkt()}}),
    ));
    let stranger = TestKey::ec_p256("stranger");
    for (auth, proof, reason) in [
        (
            dpop.clone(),
            Some(proof("POST", ASTEROIDS_URL, &t, now, "b")),
            "dpop_htm_mismatch",
        ),
        (
            dpop.clone(),
            Some(proof(
                "GET",
                "https://solar12345.execute-api.us-east-1.amazonaws.com/dev/moons",
                &t,
                now,
                "c",
            )),
            "dpop_htu_mismatch",
        ),
        (
            dpop.clone(),
            Some(proof("GET", ASTEROIDS_URL, &t, now - 600, "d")),
            "dpop_iat_out_of_window",
        ),
        (
            dpop.clone(),
            Some(proof("GET", ASTEROIDS_URL, &other_token, now, "e")),
            "dpop_ath_mismatch",
        ),
        (
            dpop.clone(),
            Some(stranger.dpop_proof("GET", ASTEROIDS_URL, &t, now, "f")),
            "dpop_jkt_mismatch",
        ),
        (dpop.clone(), None, "dpop_proof_missing"),
        (
            format!("Bearer {t}"),
            Some(proof("GET", ASTEROIDS_URL, &t, now, "g")),
            "dpop_downgrade",
        ),
    ] {
        assert!(
            !authorized(&p.invoke(&presented(&auth, proof.as_deref())).await),
            "{reason}"
        );
        assert_eq!(last_reason(&p).await, reason);
        assert_eq!(
            decisions(&p).await.last().unwrap()["decision"],
            "unauthorized"
        );
    }
    // An unbound token: still fine as Bearer with `accept`, refused with the DPoP scheme.
    let plain = tier_token(&issuer, &key, json!({"scope": "gold"}));
    assert!(authorized(
        &p.invoke(&presented(&format!("Bearer {plain}"), None)).await
    ));
    let h = proof("GET", ASTEROIDS_URL, &plain, now, "h");
    assert!(!authorized(
        &p.invoke(&presented(&format!("DPoP {plain}"), Some(&h)))
            .await
    ));
    assert_eq!(last_reason(&p).await, "dpop_token_not_bound");
}

#[tokio::test]
async fn require_refuses_bearer_tokens_and_checks_client_certificates() {
    let (issuer, key, p) = setup(&[("AUTHZ_SENDER_CONSTRAINED", "require")]).await;
    let plain = tier_token(&issuer, &key, json!({"scope": "gold"}));
    assert!(!authorized(
        &p.invoke(&presented(&format!("Bearer {plain}"), None)).await
    ));
    assert_eq!(last_reason(&p).await, "sender_constraint_required");
    let (mine, theirs) = (authz_testkit::TestCa::new(), authz_testkit::TestCa::new());
    let x5t = authz_core::internals::certificate_thumbprint(mine.pem()).unwrap();
    let bound = key.sign(&with(
        claims(&issuer),
        json!({"scope": "gold", "cnf": {"x5t#S256": x5t}}),
    ));
    let with_cert = |pem: Option<&str>| {
        let mut ev = presented(&format!("Bearer {bound}"), None);
        if let Some(pem) = pem {
            ev["requestContext"]["authentication"] = json!({"clientCert": {
                "clientCertPem": pem, "issuerDN": "CN=test", "serialNumber": "1",
                "subjectDN": "CN=client",
                "validity": {"notBefore": "Jan 1 00:00:00 2026 GMT", "notAfter": "Jan 1 00:00:00 2027 GMT"}
            }});
        }
        ev
    };
    assert!(authorized(&p.invoke(&with_cert(Some(mine.pem()))).await));
    assert!(!authorized(&p.invoke(&with_cert(Some(theirs.pem()))).await));
    assert_eq!(last_reason(&p).await, "mtls_cert_mismatch");
    assert!(!authorized(&p.invoke(&with_cert(None)).await));
    assert_eq!(last_reason(&p).await, "mtls_cert_missing");
}

#[tokio::test]
async fn bound_tokens_are_refused_when_sender_constraints_are_off() {
    let (issuer, key, p) = setup(&[]).await;
    let client = TestKey::ed25519("client");
    let t = key.sign(&with(
        claims(&issuer),
        json!({"scope": "gold", "cnf": {"jkt": client.jkt()}}),
    ));
    let proof = client.dpop_proof("GET", ASTEROIDS_URL, &t, authz_testkit::now(), "a");
    assert!(!authorized(
        &p.invoke(&presented(&format!("Bearer {t}"), None)).await
    ));
    assert_eq!(last_reason(&p).await, "dpop_downgrade");
    assert!(!authorized(
        &p.invoke(&presented(&format!("DPoP {t}"), Some(&proof)))
            .await
    ));
    assert_eq!(last_reason(&p).await, "bad_scheme");
}

/// Issue 26: a proof is accepted once across every execution environment. Two authorizer
/// processes share a DynamoDB table (moto); the same proof sent to both at once is accepted by
/// exactly one. With the table unreachable, proofs are refused with their own reason.
#[tokio::test]
async fn a_proof_is_accepted_once_across_concurrent_execution_environments() {
    let moto = authz_testkit::MotoServer::start().await;
    moto.create_replay_table("dpop-replay").await;
    let sdk = moto.sdk_env();
    let mut env: Vec<(&str, &str)> = sdk.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend([
        ("AUTHZ_SENDER_CONSTRAINED", "accept"),
        ("AUTHZ_DPOP_REPLAY_TABLE", "dpop-replay"),
        ("AUTHZ_HTTP_TIMEOUT_SECONDS", "3"),
    ]);
    let (issuer, key, a) = setup(&env).await;
    let routes = fixture("solar-system.json")["routes"].to_string();
    env.push(("AUTHZ_ROUTES", routes.as_str()));
    let b = start_authorizer(BIN, &issuer, &env).await;
    let client = TestKey::ed25519("client");
    let t = key.sign(&with(
        claims(&issuer),
        json!({"scope": "gold", "cnf": {"jkt": client.jkt()}}),
    ));
    let dpop = format!("DPoP {t}");
    let now = authz_testkit::now();
    for jti in ["one", "two", "three"] {
        let proof = client.dpop_proof("GET", ASTEROIDS_URL, &t, now, jti);
        let ev = presented(&dpop, Some(&proof));
        let (x, y) = tokio::join!(a.invoke(&ev), b.invoke(&ev));
        let allowed = [authorized(&x), authorized(&y)];
        assert_eq!(
            allowed.iter().filter(|ok| **ok).count(),
            1,
            "{jti}: {x:?} {y:?}"
        );
        let loser = if allowed[0] { &b } else { &a };
        assert_eq!(last_reason(loser).await, "dpop_replay", "{jti}");
        // The item carries its expiry (the table's TTL attribute).
        let (status, item) = moto
            .dynamodb(
                "GetItem",
                &json!({"TableName": "dpop-replay", "Key": {
                    authz_core::internals::REPLAY_KEY_ATTRIBUTE: {"S": format!("{} {jti}", client.jkt())}
                }}),
            )
            .await;
        assert_eq!(status, 200, "{item}");
        let expires: i64 = item["Item"][authz_core::internals::REPLAY_EXPIRES_ATTRIBUTE]["N"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            expires > now && expires <= now + 60 + 11,
            "{expires} vs {now}"
        );
    }
    // The store gone: refused, with its own reason, never allowed on the local set alone.
    drop(moto);
    let proof = client.dpop_proof("GET", ASTEROIDS_URL, &t, now, "four");
    assert!(!authorized(
        &a.invoke(&presented(&dpop, Some(&proof))).await
    ));
    assert_eq!(last_reason(&a).await, "dpop_replay_store_unavailable");
}

#[tokio::test]
async fn the_fapi2_profile_requires_bound_tokens_and_its_algorithms() {
    let (issuer, key, p) = setup(&[("AUTHZ_PROFILE", "fapi2")]).await;
    let plain = tier_token(&issuer, &key, json!({"scope": "gold"}));
    assert!(!authorized(
        &p.invoke(&presented(&format!("Bearer {plain}"), None)).await
    ));
    assert_eq!(last_reason(&p).await, "sender_constraint_required");
    let now = authz_testkit::now();
    for (client, reason) in [
        (TestKey::ec_p256("client"), None),
        (TestKey::rsa("client").with_alg(Algorithm::PS256), None),
        (TestKey::rsa("client"), Some("dpop_alg_not_allowed")),
        (TestKey::ec_p384("client"), Some("dpop_alg_not_allowed")),
    ] {
        let t = key.sign(&with(
            claims(&issuer),
            json!({"scope": "gold", "cnf": {"jkt": client.jkt()}}),
        ));
        let proof = client.dpop_proof(
            "GET",
            ASTEROIDS_URL,
            &t,
            now,
            &format!("{:?}", client.alg()),
        );
        let ok = authorized(
            &p.invoke(&presented(&format!("DPoP {t}"), Some(&proof)))
                .await,
        );
        assert_eq!(ok, reason.is_none(), "{:?}", client.alg());
        if let Some(reason) = reason {
            assert_eq!(last_reason(&p).await, reason);
        }
    }
}

#[tokio::test]
async fn sender_constrained_tokens_from_the_real_idp() {
    authz_testkit::sender::real_idp_sender_constrained(
        std::path::Path::new(BIN),
        authz_testkit::sender::Api::Http,
    )
    .await;
}

#[tokio::test]
async fn sender_constrained_opaque_tokens_from_the_real_idp() {
    authz_testkit::sender::real_idp_opaque_sender_constrained(
        std::path::Path::new(BIN),
        authz_testkit::sender::Api::Http,
    )
    .await;
}

/// Issue 26, item 2: an HTTP API passes `rawPath` decoded; the proof names the URL the client
/// sent, percent-encoded (in either hex case). Equal after RFC 3986 normalization; an encoded
/// `/` that API Gateway decoded cannot be told from a real one, so it is refused.
#[tokio::test]
async fn dpop_htu_is_the_encoded_form_of_a_decoded_raw_path() {
    let (issuer, key, p) = setup(&[("AUTHZ_SENDER_CONSTRAINED", "require")]).await;
    let client = TestKey::ed25519("client");
    let t = key.sign(&with(
        claims(&issuer),
        json!({"scope": "gold", "cnf": {"jkt": client.jkt()}}),
    ));
    let (now, dpop) = (authz_testkit::now(), format!("DPoP {t}"));
    let sent = |raw_path: &str, htu_path: &str, jti: &str| {
        let url = format!("https://solar12345.execute-api.us-east-1.amazonaws.com{htu_path}");
        let mut ev = presented(&dpop, Some(&client.dpop_proof("GET", &url, &t, now, jti)));
        ev["rawPath"] = json!(raw_path);
        ev
    };
    for (jti, htu_path) in [
        ("a", "/dev/asteroids/caf%C3%A9%201~"),
        ("b", "/dev/asteroids/caf%c3%a9%201%7e"),
    ] {
        let ev = sent("/dev/asteroids/café 1~", htu_path, jti);
        assert!(authorized(&p.invoke(&ev).await), "{htu_path}");
    }
    for (jti, raw_path, htu_path) in [
        ("c", "/dev/asteroids/a/b", "/dev/asteroids/a%2Fb"),
        ("d", "/dev/asteroids/a b", "/dev/asteroids/a%2520b"),
        ("e", "/dev/asteroids/a", "/dev/asteroids/b"),
    ] {
        let ev = sent(raw_path, htu_path, jti);
        assert!(!authorized(&p.invoke(&ev).await), "{raw_path} {htu_path}");
        assert_eq!(last_reason(&p).await, "dpop_htu_mismatch");
    }
}
