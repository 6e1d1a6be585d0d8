//! RFC 8725 attack table: every way a token can be wrong, against the real verifier, a real
//! loopback issuer serving discovery and JWKS, and real signatures.

use authz_core::{Authorizer, AuthzError, Claims, Config, Trace};
use authz_testkit::{Algorithm, Issuer, TestKey, b64url, now, raw_token};
use serde_json::{Value, json};

struct Env {
    issuer: Issuer,
    authz: Authorizer,
}

async fn env_with(extra: &[(&str, &str)]) -> Env {
    let issuer = Issuer::start().await;
    // A JWK without "alg": usable with every RSA algorithm.
    let mut rsa_any = TestKey::rsa("rsa-any").jwk();
    rsa_any.as_object_mut().unwrap().remove("alg");
    issuer.set_keys(vec![
        rsa_any,
        TestKey::rsa("rsa").jwk(),
        TestKey::rsa2("rsa-ps").with_alg(Algorithm::PS256).jwk(),
        TestKey::ec_p256("p256").jwk(),
        TestKey::ec_p384("p384").jwk(),
        TestKey::ed25519("ed").jwk(),
        TestKey::rsa1024("weak").jwk(),
    ]);
    let url = issuer.url();
    let mut vars: Vec<(String, String)> = vec![
        ("AUTHZ_ISSUER".into(), url),
        ("AUTHZ_AUDIENCE".into(), "api,other-api".into()),
    ];
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())).unwrap();
    let authz = Authorizer::new(config).unwrap();
    assert_eq!(authz.warm().await, 1, "keys must load at warm-up");
    Env { issuer, authz }
}

async fn env() -> Env {
    env_with(&[]).await
}

impl Env {
    fn claims(&self) -> Value {
        json!({"iss": self.issuer.url(), "aud": "api", "sub": "alice", "exp": now() + 300, "iat": now(), "scope": "read write"})
    }

    fn with(&self, patch: Value) -> Value {
        let mut c = self.claims();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    async fn check(&self, token: &str) -> Result<Claims, AuthzError> {
        self.authz
            .verify_bearer(Some(&format!("Bearer {token}")), &mut Trace::default())
            .await
    }
}

fn rsa() -> TestKey {
    TestKey::rsa("rsa")
}

fn header(alg: &str, kid: &str) -> Value {
    json!({"alg": alg, "typ": "JWT", "kid": kid})
}

#[tokio::test]
async fn valid_tokens_of_every_supported_algorithm() {
    let e = env().await;
    let c = e.claims();
    for key in [
        rsa(),
        TestKey::rsa("rsa-any").with_alg(Algorithm::RS384),
        TestKey::rsa("rsa-any").with_alg(Algorithm::RS512),
        TestKey::rsa("rsa-any").with_alg(Algorithm::PS384),
        TestKey::rsa2("rsa-ps").with_alg(Algorithm::PS256),
        TestKey::ec_p256("p256"),
        TestKey::ec_p384("p384"),
        TestKey::ed25519("ed"),
    ] {
        let claims = e
            .check(&key.sign(&c))
            .await
            .unwrap_or_else(|err| panic!("{:?}: {err:?}", key.alg()));
        assert_eq!(claims.principal(), "alice");
        assert_eq!(claims.scopes, vec!["read", "write"]);
    }
}

#[tokio::test]
async fn algorithm_attacks() {
    let e = env().await;
    let c = e.claims();
    // alg none, in any spelling, with or without a signature.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let t = raw_token(&header(alg, "rsa"), &c, b"");
        assert_eq!(
            e.check(&t).await.unwrap_err(),
            AuthzError::AlgorithmNotAllowed,
            "{alg}"
        );
        let t = raw_token(&header(alg, "rsa"), &c, b"x");
        assert_eq!(
            e.check(&t).await.unwrap_err(),
            AuthzError::AlgorithmNotAllowed,
            "{alg}"
        );
    }
    // HS256 "signed" with the RSA public key as the HMAC secret (key confusion).
    let jwk = rsa().jwk();
    for secret in [
        jwk["n"].as_str().unwrap().as_bytes().to_vec(),
        serde_json::to_vec(&jwk).unwrap(),
    ] {
        let h = header("HS256", "rsa");
        let input = format!(
            "{}.{}",
            b64url(&serde_json::to_vec(&h).unwrap()),
            b64url(&serde_json::to_vec(&c).unwrap())
        );
        let key = jsonwebtoken::EncodingKey::from_secret(&secret);
        let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::HS256).unwrap();
        assert_eq!(
            e.check(&format!("{input}.{sig}")).await.unwrap_err(),
            AuthzError::AlgorithmNotAllowed
        );
    }
    // Unknown algorithm names.
    for alg in ["RS1", "ES512", "", "rs256"] {
        let t = raw_token(&header(alg, "rsa"), &c, b"sig");
        assert_eq!(
            e.check(&t).await.unwrap_err(),
            AuthzError::AlgorithmNotAllowed,
            "{alg}"
        );
    }
}

#[tokio::test]
async fn algorithm_must_fit_the_key() {
    let e = env().await;
    let c = e.claims();
    // ES256 header naming the RSA key's kid (signed with a P-256 key).
    let t = TestKey::ec_p256("rsa").sign(&c);
    assert_eq!(
        e.check(&t).await.unwrap_err(),
        AuthzError::KeyAlgorithmMismatch
    );
    // RS256 header naming the P-256 key.
    let t = TestKey::rsa("p256").sign(&c);
    assert_eq!(
        e.check(&t).await.unwrap_err(),
        AuthzError::KeyAlgorithmMismatch
    );
    // ES384 against the P-256 key: same kty, other curve.
    let t = TestKey::ec_p384("p256").sign(&c);
    assert_eq!(
        e.check(&t).await.unwrap_err(),
        AuthzError::KeyAlgorithmMismatch
    );
    // The JWK says RS256: RS384 and PS256 with the very same key are refused.
    let t = rsa().with_alg(Algorithm::RS384).sign(&c);
    assert_eq!(
        e.check(&t).await.unwrap_err(),
        AuthzError::KeyAlgorithmMismatch
    );
    let t = rsa().with_alg(Algorithm::PS256).sign(&c);
    assert_eq!(
        e.check(&t).await.unwrap_err(),
        AuthzError::KeyAlgorithmMismatch
    );
    // The JWK says PS256; an RS256 token with the same RSA key is refused.
    let t = TestKey::rsa2("rsa-ps").sign(&c);
    assert_eq!(
        e.check(&t).await.unwrap_err(),
        AuthzError::KeyAlgorithmMismatch
    );
}

#[tokio::test]
async fn allow_list_is_enforced() {
    let e = env_with(&[("AUTHZ_ALGORITHMS", "RS256")]).await;
    let c = e.claims();
    assert!(e.check(&rsa().sign(&c)).await.is_ok());
    assert_eq!(
        e.check(&TestKey::ec_p256("p256").sign(&c))
            .await
            .unwrap_err(),
        AuthzError::AlgorithmNotAllowed
    );
    // With RS256 only, the PS256-only JWK is not even loaded.
    let t = TestKey::rsa2("rsa-ps").with_alg(Algorithm::PS256).sign(&c);
    assert_eq!(
        e.check(&t).await.unwrap_err(),
        AuthzError::AlgorithmNotAllowed
    );
}

#[tokio::test]
async fn embedded_keys_and_key_urls_are_never_used() {
    let e = env().await;
    let c = e.claims();
    let attacker = TestKey::rsa2("evil");
    let attacker_jwk = attacker.jwk();
    let evil_jwks = Issuer::start().await;
    evil_jwks.set_keys(vec![attacker_jwk.clone()]);
    let headers = [
        json!({"alg": "RS256", "kid": "evil", "jwk": attacker_jwk}),
        json!({"alg": "RS256", "kid": "evil", "jku": evil_jwks.jwks_uri()}),
        json!({"alg": "RS256", "kid": "evil", "x5u": evil_jwks.jwks_uri()}),
        json!({"alg": "RS256", "kid": "evil", "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}),
    ];
    for h in &headers {
        assert_eq!(
            e.check(&attacker.sign_with_header(h, &c))
                .await
                .unwrap_err(),
            AuthzError::KidNotFound,
            "{h}"
        );
    }
    // The same, naming the real kid: the real key does not verify the attacker's signature.
    for mut h in headers {
        h["kid"] = json!("rsa");
        assert_eq!(
            e.check(&attacker.sign_with_header(&h, &c))
                .await
                .unwrap_err(),
            AuthzError::BadSignature,
            "{h}"
        );
    }
    assert_eq!(
        evil_jwks.jwks_fetches(),
        0,
        "the verifier must never fetch a URL named by the token"
    );
    assert_eq!(evil_jwks.discovery_fetches(), 0);
}

#[tokio::test]
async fn crit_headers_are_rejected() {
    let e = env().await;
    let c = e.claims();
    for crit in [
        json!(["exp"]),
        json!(["b64"]),
        json!(["urn:example:custom"]),
        json!([]),
        json!("x"),
        // RFC 7515 §4.1.11: crit is an array; `null` is not "absent" (issue 13, item 9).
        Value::Null,
        json!({}),
        json!(0),
    ] {
        let h = json!({"alg": "RS256", "kid": "rsa", "crit": crit, "b64": false});
        assert_eq!(
            e.check(&rsa().sign_with_header(&h, &c)).await.unwrap_err(),
            AuthzError::UnsupportedCrit,
            "{crit}"
        );
    }
}

#[tokio::test]
async fn time_claims_with_leeway() {
    let e = env().await; // default leeway: 5 s
    let n = now();
    let k = rsa();
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"exp": n - 10}))))
            .await
            .unwrap_err(),
        AuthzError::Expired
    );
    assert!(
        e.check(&k.sign(&e.with(json!({"exp": n - 2}))))
            .await
            .is_ok(),
        "inside the leeway"
    );
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"nbf": n + 60}))))
            .await
            .unwrap_err(),
        AuthzError::NotYetValid
    );
    assert!(
        e.check(&k.sign(&e.with(json!({"nbf": n + 2}))))
            .await
            .is_ok(),
        "inside the leeway"
    );
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"iat": n + 60}))))
            .await
            .unwrap_err(),
        AuthzError::IssuedInFuture
    );
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"exp": null}))))
            .await
            .unwrap_err(),
        AuthzError::MissingClaim("exp")
    );
    for bad in [json!("9999999999"), json!(true), json!(null), json!([1])] {
        let mut c = e.claims();
        c["exp"] = bad;
        let want = if c["exp"].is_null() {
            AuthzError::MissingClaim("exp")
        } else {
            AuthzError::InvalidClaim("exp")
        };
        if c["exp"].is_null() {
            c.as_object_mut().unwrap().remove("exp");
        }
        assert_eq!(e.check(&k.sign(&c)).await.unwrap_err(), want);
    }
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"nbf": "0"}))))
            .await
            .unwrap_err(),
        AuthzError::InvalidClaim("nbf")
    );
    // Fractional NumericDate values are valid.
    assert!(
        e.check(&k.sign(&e.with(json!({"exp": n as f64 + 60.5}))))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn zero_leeway_is_exact() {
    let e = env_with(&[("AUTHZ_LEEWAY_SECONDS", "0")]).await;
    let n = now();
    assert_eq!(
        e.check(&rsa().sign(&e.with(json!({"exp": n - 1}))))
            .await
            .unwrap_err(),
        AuthzError::Expired
    );
    assert_eq!(
        e.check(&rsa().sign(&e.with(json!({"nbf": n + 2}))))
            .await
            .unwrap_err(),
        AuthzError::NotYetValid
    );
}

#[tokio::test]
async fn issuer_and_audience() {
    let e = env().await;
    let k = rsa();
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"iss": "https://evil.example.com"}))))
            .await
            .unwrap_err(),
        AuthzError::UnknownIssuer
    );
    let trailing = format!("{}/", e.issuer.url());
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"iss": trailing}))))
            .await
            .unwrap_err(),
        AuthzError::UnknownIssuer
    );
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"iss": null}))))
            .await
            .unwrap_err(),
        AuthzError::MissingClaim("iss")
    );
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"iss": [e.issuer.url()]}))))
            .await
            .unwrap_err(),
        AuthzError::InvalidClaim("iss")
    );
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"aud": "nope"}))))
            .await
            .unwrap_err(),
        AuthzError::AudienceMismatch
    );
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"aud": ["x", "y"]}))))
            .await
            .unwrap_err(),
        AuthzError::AudienceMismatch
    );
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"aud": null}))))
            .await
            .unwrap_err(),
        AuthzError::MissingClaim("aud")
    );
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"aud": []}))))
            .await
            .unwrap_err(),
        AuthzError::InvalidClaim("aud")
    );
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"aud": 1}))))
            .await
            .unwrap_err(),
        AuthzError::InvalidClaim("aud")
    );
    assert!(
        e.check(&k.sign(&e.with(json!({"aud": ["x", "other-api"]}))))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn subject_and_client_id() {
    let e = env().await;
    let k = rsa();
    let c = e
        .check(&k.sign(&e.with(json!({"sub": null, "client_id": "svc-1"}))))
        .await
        .unwrap();
    assert_eq!(c.principal(), "svc-1");
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"sub": null}))))
            .await
            .unwrap_err(),
        AuthzError::MissingClaim("sub")
    );
    assert_eq!(
        e.check(&k.sign(&e.with(json!({"sub": 42}))))
            .await
            .unwrap_err(),
        AuthzError::InvalidClaim("sub")
    );
}

#[tokio::test]
async fn tampering_and_forged_signatures() {
    let e = env().await;
    let good = rsa().sign(&e.claims());
    let parts: Vec<&str> = good.split('.').collect();
    // Payload swapped for another (sub changed), signature kept.
    let other = b64url(&serde_json::to_vec(&e.with(json!({"sub": "mallory"}))).unwrap());
    assert_eq!(
        e.check(&format!("{}.{other}.{}", parts[0], parts[2]))
            .await
            .unwrap_err(),
        AuthzError::BadSignature
    );
    // Signature of another token.
    let sig2 = rsa().sign(&e.with(json!({"sub": "bob"})));
    let sig2 = sig2.rsplit('.').next().unwrap();
    assert_eq!(
        e.check(&format!("{}.{}.{sig2}", parts[0], parts[1]))
            .await
            .unwrap_err(),
        AuthzError::BadSignature
    );
    // One flipped signature character.
    let mut sig = parts[2].to_owned().into_bytes();
    sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
    let t = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        String::from_utf8(sig).unwrap()
    );
    assert_eq!(e.check(&t).await.unwrap_err(), AuthzError::BadSignature);
    // ECDSA "psychic signature": r = s = 0 (CVE-2022-21449), and all-ones.
    for sig in [vec![0u8; 64], vec![0xff; 64], vec![0u8; 0x40 + 8]] {
        let t = raw_token(&header("ES256", "p256"), &e.claims(), &sig);
        assert_eq!(e.check(&t).await.unwrap_err(), AuthzError::BadSignature);
    }
    let t = raw_token(&header("ES384", "p384"), &e.claims(), &[0u8; 96]);
    assert_eq!(e.check(&t).await.unwrap_err(), AuthzError::BadSignature);
    let t = raw_token(&header("EdDSA", "ed"), &e.claims(), &[0u8; 64]);
    assert_eq!(e.check(&t).await.unwrap_err(), AuthzError::BadSignature);
}

#[tokio::test]
async fn weak_and_unknown_keys() {
    let e = env().await;
    // The RSA-1024 JWK was skipped at load: its kid is unknown.
    assert_eq!(
        e.check(&TestKey::rsa1024("weak").sign(&e.claims()))
            .await
            .unwrap_err(),
        AuthzError::KidNotFound
    );
    let h = json!({"alg": "RS256", "typ": "JWT"});
    assert_eq!(
        e.check(&rsa().sign_with_header(&h, &e.claims()))
            .await
            .unwrap_err(),
        AuthzError::MissingKid
    );
    let h = json!({"alg": "RS256", "kid": ""});
    assert_eq!(
        e.check(&rsa().sign_with_header(&h, &e.claims()))
            .await
            .unwrap_err(),
        AuthzError::MissingKid
    );
}

#[tokio::test]
async fn format_errors() {
    let e = env().await;
    let good = rsa().sign(&e.claims());
    let p: Vec<&str> = good.split('.').collect();
    let malformed = [
        format!("{}.{}", p[0], p[1]),
        format!("{good}.extra"),
        format!("{}.{}=.{}", p[0], p[1], p[2]),
        format!("{}.{}.", p[0], p[1]),
        format!("{}..{}", p[0], p[2]),
        format!("{}.{}.{}", b64url(b"not json"), p[1], p[2]),
        format!("{}.{}.{}", b64url(b"[1,2]"), p[1], p[2]),
        format!(
            "{}.{}.{}",
            b64url(br#"{"alg":"RS256","alg":"none","kid":"rsa"}"#),
            p[1],
            p[2]
        ),
        format!("{}.{}.{}", p[0], b64url(b"[1]"), p[2]),
        format!("{}.{}.{}", p[0], b64url(b"\"str\""), p[2]),
        format!("{}.{}.{}", p[0], b64url(br#"{"iss":"a","iss":"b"}"#), p[2]),
        format!("{}.{}.{}", p[0], b64url(b"{\"iss\": \"\xff\"}"), p[2]),
        format!("{}.{}.{}", p[0], "%%%", p[2]),
        format!("{}.{}.{}", p[0].replace('e', "+"), p[1], p[2]),
    ];
    for t in &malformed {
        let err = e.check(t).await.unwrap_err();
        assert!(
            matches!(err, AuthzError::Malformed(_) | AuthzError::BadScheme),
            "{t}: {err:?} should be a format error"
        );
    }
    // Over the size limit: refused before decoding.
    let big = format!("{}.{}.{}", p[0], "A".repeat(9000), p[2]);
    assert_eq!(
        e.check(&big).await.unwrap_err(),
        AuthzError::TokenTooLarge { max: 8192 }
    );
}

#[tokio::test]
async fn rfc9068_typ_mode() {
    let e = env_with(&[("AUTHZ_REQUIRED_TYP", "at+jwt")]).await;
    let c = e.claims();
    assert_eq!(
        e.check(&rsa().sign(&c)).await.unwrap_err(),
        AuthzError::WrongType
    );
    for typ in ["at+jwt", "application/at+jwt", "AT+JWT"] {
        let h = json!({"alg": "RS256", "kid": "rsa", "typ": typ});
        assert!(
            e.check(&rsa().sign_with_header(&h, &c)).await.is_ok(),
            "{typ}"
        );
    }
    let h = json!({"alg": "RS256", "kid": "rsa"});
    assert_eq!(
        e.check(&rsa().sign_with_header(&h, &c)).await.unwrap_err(),
        AuthzError::WrongType
    );
}

#[tokio::test]
async fn trace_records_kid_iss_and_sub_but_never_the_token() {
    let e = env().await;
    let token = rsa().sign(&e.claims());
    let mut trace = Trace::default();
    e.authz
        .verify_bearer(Some(&format!("Bearer {token}")), &mut trace)
        .await
        .unwrap();
    assert_eq!(trace.kid.as_deref(), Some("rsa"));
    assert_eq!(trace.iss.as_deref(), Some(e.issuer.url().as_str()));
    assert_eq!(trace.sub.as_deref(), Some("alice"));
    assert!(!format!("{trace:?}").contains(&token));
}

/// Issue 13, item 6: a URL is judged by the host a real URL parser connects to. With userinfo,
/// `http://127.0.0.1:1@other-host/jwks` goes to `other-host` in plain HTTP: refused at cold
/// start, naming the variable, never showing the userinfo.
#[test]
fn urls_with_userinfo_fail_the_cold_start_and_are_never_shown() {
    let iss = "https://idp.example.com";
    for (var, url) in [
        ("AUTHZ_JWKS_URI", "http://127.0.0.1:1@other-host/jwks"),
        ("AUTHZ_JWKS_URI", "https://svc:hunter2@idp.example.com/jwks"),
        ("AUTHZ_ISSUER", "http://localhost:hunter2@other-host"),
        (
            "AUTHZ_INTROSPECTION_ENDPOINT",
            "https://cid:hunter2@idp.example.com/introspect",
        ),
    ] {
        let mut vars = vec![
            ("AUTHZ_ISSUER", iss),
            ("AUTHZ_AUDIENCE", "api"),
            (
                "AUTHZ_INTROSPECTION_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:1:secret:x",
            ),
        ];
        vars.retain(|(n, _)| *n != var);
        vars.push((var, url));
        let e = Config::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap_err()
        .0;
        assert!(e.contains(var) && e.contains("userinfo"), "{url}: {e}");
        assert!(
            !e.contains("hunter2") && !e.contains("127.0.0.1:1@"),
            "{url}: {e}"
        );
    }
}

/// The same rule on a discovered `jwks_uri`: the keys are never fetched from it.
#[tokio::test]
async fn a_discovered_url_with_userinfo_is_never_fetched() {
    let issuer = Issuer::start().await;
    issuer.set_keys(vec![TestKey::rsa("rsa").jwk()]);
    let host = issuer.url().trim_start_matches("http://").to_owned();
    // A parser would connect to the host after the `@`: the issuer itself, which serves keys.
    issuer.set_discovery_extra(json!({"jwks_uri": format!("http://127.0.0.1:1@{host}/jwks")}));
    let vars = [
        ("AUTHZ_ISSUER", issuer.url()),
        ("AUTHZ_AUDIENCE", "api".to_owned()),
    ];
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    let authz = Authorizer::new(config).unwrap();
    assert_eq!(authz.warm().await, 0);
    assert_eq!(issuer.discovery_fetches(), 1);
    assert_eq!(issuer.jwks_fetches(), 0, "never fetched");
}
