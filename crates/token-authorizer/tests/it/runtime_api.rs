//! The real `token-authorizer` binary driven through the Lambda Runtime API emulator, with a
//! loopback OIDC issuer serving discovery and JWKS.

use std::{path::Path, time::Duration};

use authz_testkit::{
    Fault, Issuer, LambdaProcess, Outcome, TestKey,
    fixtures::{claims, decisions, sample_event, start_authorizer, unauthorized},
    now, with_signature_of,
};
use serde_json::{Value, json};

use super::{BIN, arn, bearer_event};

async fn start(issuer: &Issuer, extra: &[(&str, &str)]) -> LambdaProcess {
    start_authorizer(BIN, issuer, extra).await
}

fn sample(name: &str, token: &str) -> Value {
    sample_event(&format!("token/{name}"), token)
}

#[tokio::test]
async fn allow_policy_covers_the_stage_and_carries_context() {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k1");
    issuer.set_keys(vec![key.jwk()]);
    let p = start(&issuer, &[("AUTHZ_CONTEXT_CLAIMS", "email,groups")]).await;
    let token = key.sign(&claims(&issuer));
    let Outcome::Response(r) = p.invoke(&sample("allow.json", &token)).await else {
        panic!("expected a policy")
    };
    assert_eq!(r["principalId"], "alice");
    let st = &r["policyDocument"]["Statement"][0];
    assert_eq!(r["policyDocument"]["Version"], "2012-10-17");
    assert_eq!(st["Effect"], "Allow");
    assert_eq!(st["Action"], json!(["execute-api:Invoke"]));
    assert_eq!(
        st["Resource"],
        json!(["arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/*"])
    );
    assert_eq!(
        r["context"],
        json!({"sub": "alice", "iss": issuer.url(), "scope": "read write", "email": "alice@example.com", "groups": "pets,admins"})
    );
    let d = decisions(&p).await;
    let line = d
        .iter()
        .find(|v| v["decision"] == "allow")
        .expect("an allow decision line");
    assert_eq!(line["reason"], "ok");
    assert_eq!(line["kid"], "k1");
    assert_eq!(line["iss"], issuer.url());
    assert_eq!(line["sub"], "alice");
    assert_eq!(line["route"], "GET /pets");
    assert!(line["latency_us"].is_u64());
    assert_eq!(issuer.jwks_fetches(), 1, "keys fetched once, at cold start");
}

#[tokio::test]
async fn every_bad_token_is_401_with_a_logged_reason() {
    let issuer = Issuer::start().await;
    let key = TestKey::ec_p256("k1");
    issuer.set_keys(vec![key.jwk()]);
    let p = start(&issuer, &[]).await;
    let c = claims(&issuer);
    let mut expired = c.clone();
    expired["exp"] = json!(now() - 600);
    let mut wrong_aud = c.clone();
    wrong_aud["aud"] = json!("other");
    let forged = TestKey::ec_p256("other").sign(&c);
    let forged_same_kid = {
        let t = TestKey::ec_p256("k1");
        let good = key.sign(&c);
        with_signature_of(&good, &t.sign(&wrong_aud))
    };
    let cases = [
        (sample("missing-token.json", ""), "missing_token"),
        (sample("bad-scheme.json", ""), "bad_scheme"),
        (sample("malformed-jwt.json", ""), "malformed"),
        (sample("console-test.json", &key.sign(&c)), "bad_scheme"),
        (bearer_event(&key.sign(&expired), "/pets"), "expired"),
        (
            bearer_event(&key.sign(&wrong_aud), "/pets"),
            "wrong_audience",
        ),
        (bearer_event(&forged, "/pets"), "unknown_kid"),
        (bearer_event(&forged_same_kid, "/pets"), "bad_signature"),
        (
            json!({"type": "TOKEN", "methodArn": arn("/pets")}),
            "missing_token",
        ),
    ];
    for (ev, reason) in &cases {
        assert_eq!(p.invoke(ev).await, unauthorized(), "{reason}");
    }
    let reasons: Vec<String> = decisions(&p)
        .await
        .iter()
        .map(|d| d["reason"].as_str().unwrap().to_owned())
        .collect();
    let want: Vec<&str> = cases.iter().map(|(_, r)| *r).collect();
    assert_eq!(reasons, want);
    assert!(
        decisions(&p)
            .await
            .iter()
            .all(|d| d["decision"] == "unauthorized")
    );
    // One line per refusal, ours: no ERROR line from lambda_runtime for an ordinary 401.
    let lines = p.logs();
    assert!(
        !lines.iter().any(|l| l.contains("\"level\":\"ERROR\"")),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn bare_token_only_when_opted_in_and_api_allow_list() {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k1");
    issuer.set_keys(vec![key.jwk()]);
    let token = key.sign(&claims(&issuer));
    let p = start(
        &issuer,
        &[
            ("AUTHZ_ACCEPT_BARE_TOKEN", "true"),
            (
                "AUTHZ_ALLOWED_API_ARNS",
                "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/test-invoke-stage",
            ),
        ],
    )
    .await;
    let Outcome::Response(r) = p.invoke(&sample("console-test.json", &token)).await else {
        panic!()
    };
    assert_eq!(r["policyDocument"]["Statement"][0]["Effect"], "Allow");
    // Same token, a stage outside the allow-list: an explicit Deny (403), not an Allow.
    let Outcome::Response(r) = p.invoke(&sample("allow.json", &token)).await else {
        panic!()
    };
    assert_eq!(r["policyDocument"]["Statement"][0]["Effect"], "Deny");
    assert_eq!(
        r["policyDocument"]["Statement"][0]["Resource"],
        json!([arn("/pets")])
    );
    assert_eq!(
        decisions(&p).await.last().unwrap()["reason"],
        "api_not_allowed"
    );
}

#[tokio::test]
async fn key_rotation_through_the_binary() {
    let issuer = Issuer::start().await;
    let (old, new) = (TestKey::rsa("old"), TestKey::rsa2("new"));
    issuer.set_keys(vec![old.jwk()]);
    issuer.set_jwks_cache_control(Some("max-age=1"));
    let p = start(&issuer, &[("AUTHZ_JWKS_MIN_TTL_SECONDS", "0")]).await;
    let c = claims(&issuer);
    assert!(matches!(
        p.invoke(&bearer_event(&old.sign(&c), "/pets")).await,
        Outcome::Response(_)
    ));
    issuer.set_keys(vec![new.jwk()]);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(matches!(
        p.invoke(&bearer_event(&new.sign(&c), "/pets")).await,
        Outcome::Response(_)
    ));
    assert_eq!(issuer.jwks_fetches(), 2, "one refetch for the new kid");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        p.invoke(&bearer_event(&old.sign(&c), "/pets")).await,
        unauthorized(),
        "removed key"
    );
}

#[tokio::test]
async fn idp_down_at_cold_start_then_back() {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k1");
    issuer.set_keys(vec![key.jwk()]);
    issuer.set_down(true);
    let p = start(&issuer, &[]).await;
    let ev = bearer_event(&key.sign(&claims(&issuer)), "/pets");
    assert_eq!(p.invoke(&ev).await, unauthorized());
    assert_eq!(
        decisions(&p).await.last().unwrap()["reason"],
        "jwks_unavailable"
    );
    issuer.set_down(false);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(
        matches!(p.invoke(&ev).await, Outcome::Response(_)),
        "recovers once the IdP is back"
    );
}

#[tokio::test]
async fn unknown_kid_flood_costs_at_most_one_fetch_per_cool_down() {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k1");
    issuer.set_keys(vec![key.jwk()]);
    let p = start(&issuer, &[("AUTHZ_JWKS_COOLDOWN_SECONDS", "60")]).await;
    let c = claims(&issuer);
    for i in 0..200 {
        let t = TestKey::rsa(&format!("kid-{i}")).sign(&c);
        assert_eq!(p.invoke(&bearer_event(&t, "/pets")).await, unauthorized());
    }
    assert_eq!(
        issuer.jwks_fetches(),
        2,
        "the cold start fetch and the first unknown kid's refetch (a key published right after a \
         fetch must work, issue 13 item 11); that failed lookup starts the cool-down, which the \
         rest of the flood falls inside"
    );
    assert!(matches!(
        p.invoke(&bearer_event(&key.sign(&c), "/pets")).await,
        Outcome::Response(_)
    ));
}

#[tokio::test]
async fn malformed_events_get_an_error_and_the_next_invocation_is_served() {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k1");
    issuer.set_keys(vec![key.jwk()]);
    issuer.set_jwks_fault(Fault::None);
    let p = start(&issuer, &[]).await;
    let good = bearer_event(&key.sign(&claims(&issuer)), "/pets");
    let bad_events: Vec<Vec<u8>> = vec![
        b"{not json".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        br#"{"type":"TOKEN","authorizationToken":5,"methodArn":"x"}"#.to_vec(),
        br#"{"type":"TOKEN","authorizationToken":"Bearer x"}"#.to_vec(),
        br#"{"type":"TOKEN","authorizationToken":"Bearer x","methodArn":"arn:aws:s3:::bucket"}"#
            .to_vec(),
        format!(
            r#"{{"type":"TOKEN","authorizationToken":"Bearer {}","methodArn":"{}"}}"#,
            "a".repeat(1 << 20),
            arn("/pets")
        )
        .into_bytes(),
    ];
    for raw in bad_events {
        let out = p.invoke_raw(raw, Duration::from_secs(10)).await.unwrap();
        match out {
            Outcome::Error { error_type, .. } => assert_ne!(error_type, ""),
            Outcome::Response(r) => {
                panic!("a malformed event must not be answered with a policy: {r}")
            }
        }
        assert!(
            matches!(p.invoke(&good).await, Outcome::Response(_)),
            "next invocation served"
        );
    }
}

#[tokio::test]
async fn a_bad_configuration_fails_the_cold_start_naming_the_variable() {
    let issuer = Issuer::start().await;
    for (env, name) in [
        (vec![("AUTHZ_AUDIENCE", "x")], "AUTHZ_ISSUER"),
        (
            vec![
                ("AUTHZ_ISSUER", "https://idp.example.com"),
                ("AUTHZ_AUDIENCE", "x"),
                ("AUTHZ_ALGORITHMS", "HS256"),
            ],
            "AUTHZ_ALGORITHMS",
        ),
        (
            vec![
                ("AUTHZ_ISSUER", "https://idp.example.com"),
                ("AUTHZ_AUDIENCE", "x"),
                ("AUTHZ_LEEWAY_SECONDS", "soon"),
            ],
            "AUTHZ_LEEWAY_SECONDS",
        ),
        // Review findings: what would read as "unset" and widen access fails instead.
        (
            vec![
                ("AUTHZ_ISSUER", "https://idp.example.com"),
                ("AUTHZ_AUDIENCE", "x"),
                ("AUTHZ_ROUTES", "null"),
            ],
            "AUTHZ_ROUTES",
        ),
        (
            vec![
                ("AUTHZ_ISSUER", "https://idp.example.com"),
                ("AUTHZ_AUDIENCE", "x"),
                ("AUTHZ_ROUTES", "  "),
            ],
            "AUTHZ_ROUTES is set but empty",
        ),
        (
            vec![
                ("AUTHZ_ISSUER", "https://idp.example.com"),
                ("AUTHZ_AUDIENCE", "x"),
                ("AUTHZ_ALLOWED_API_ARNS", ","),
            ],
            "AUTHZ_ALLOWED_API_ARNS",
        ),
        (
            vec![
                ("AUTHZ_ISSUER", "https://idp.example.com"),
                ("AUTHZ_AUDIENCE", "x"),
                (
                    "AUTHZ_ROUTE_SETS",
                    r#"{"locked":[{"route":"GET /a","scopes":["admin"]}]}"#,
                ),
            ],
            "AUTHZ_ROUTE_SETS: a TOKEN authorizer gets no stage variables",
        ),
        (
            vec![
                ("AUTHZ_ISSUER", "https://idp.example.com"),
                ("AUTHZ_AUDIENCE", "x"),
                ("AUTHZ_SENDER_CONSTRAINED", "require"),
            ],
            "AUTHZ_SENDER_CONSTRAINED `require`: a TOKEN authorizer sees only the token header",
        ),
    ] {
        let mut p = LambdaProcess::spawn(Path::new(BIN), &env).await;
        let message = p.config_error(name).await;
        assert!(message.contains(name), "{message}");
    }
    drop(issuer);
}

/// Issue 13, item 10: a misspelt setting (`AUTHZ_ROUTE` for `AUTHZ_ROUTES`) would mean "no
/// rules": every valid token on every route. It fails the cold start, naming the variable and
/// the closest setting, and never quoting the value.
#[tokio::test]
async fn an_unknown_authz_variable_fails_the_cold_start_naming_the_closest_setting() {
    let issuer = Issuer::start().await;
    let url = issuer.url();
    let env = [
        ("AUTHZ_ISSUER", url.as_str()),
        ("AUTHZ_AUDIENCE", "api"),
        (
            "AUTHZ_ROUTE",
            r#"[{"route":"GET /secret-value","scopes":["admin"]}]"#,
        ),
    ];
    let mut p = LambdaProcess::spawn(Path::new(BIN), &env).await;
    let message = p.config_error("AUTHZ_ROUTE").await;
    assert!(
        message.contains("AUTHZ_ROUTE (did you mean AUTHZ_ROUTES?)"),
        "{message}"
    );
    assert!(!message.contains("secret-value"), "{message}");
}

#[tokio::test]
async fn logs_never_contain_the_token_even_at_trace_level() {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k1");
    issuer.set_keys(vec![key.jwk()]);
    let p = start(&issuer, &[("AWS_LAMBDA_LOG_LEVEL", "TRACE")]).await;
    let c = claims(&issuer);
    let mut expired = c.clone();
    expired["exp"] = json!(now() - 600);
    let tokens = [
        key.sign(&c),
        key.sign(&expired),
        TestKey::rsa("zz").sign(&c),
    ];
    for t in &tokens {
        p.invoke(&bearer_event(t, "/pets")).await;
    }
    p.invoke_raw(
        format!(r#"{{"authorizationToken":["{}"]}}"#, tokens[0]).into_bytes(),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let logs = p.logs().join("\n");
    assert_eq!(decisions(&p).await.len(), 4, "{logs}");
    for t in &tokens {
        let (head, sig) = t.rsplit_once('.').unwrap();
        let payload = head.split_once('.').unwrap().1;
        for secret in [t.as_str(), sig, payload] {
            assert!(!logs.contains(secret), "a token part reached the logs");
        }
    }
}
