#![allow(clippy::unwrap_used, clippy::panic)]
use authz_testkit::{
    keys::{TestKey, b64url, raw_token},
    tls::TestCa,
};
use serde_json::json;

use super::*;
use crate::alg::SUPPORTED_ALGORITHMS;

const URL: &str = "https://api.example.com/prod/pets/42";
const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
const NOW: f64 = 1_800_000_000.0;

fn target() -> ProofTarget {
    ProofTarget {
        method: "GET".into(),
        url: Some(URL.into()),
    }
}

fn check() -> ProofCheck<'static> {
    ProofCheck {
        now: NOW,
        max_age: 60.0,
        leeway: 5.0,
        algorithms: &SUPPORTED_ALGORITHMS,
    }
}

fn proof(key: &TestKey) -> String {
    key.dpop_proof("GET", URL, TOKEN, NOW as i64, "j1")
}

fn verify(p: &str) -> Result<Proof, AuthzError> {
    verify_proof(p, TOKEN, &target(), &check())
}

#[test]
fn rfc_7638_thumbprint_vector() {
    // RFC 7638 §3.1.
    let jwk = json!({"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
    assert_eq!(
        thumbprint(jwk.as_object().unwrap()).unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    assert!(thumbprint(json!({"kty": "oct", "k": "AA"}).as_object().unwrap()).is_err());
    assert!(thumbprint(json!({"kty": "EC", "crv": "P-256"}).as_object().unwrap()).is_err());
}

#[test]
fn rfc_9449_ath_vector() {
    // RFC 9449 §4.2, the example access token and its `ath`.
    assert_eq!(
        access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    );
}

#[test]
fn valid_proofs_of_every_key_type_verify() {
    for key in [
        TestKey::rsa("k"),
        TestKey::rsa("k").with_alg(Algorithm::PS256),
        TestKey::ec_p256("k"),
        TestKey::ec_p384("k"),
        TestKey::ed25519("k"),
    ] {
        let p = verify(&proof(&key)).unwrap_or_else(|e| panic!("{:?}: {e}", key.alg()));
        assert_eq!(p.jkt, key.jkt());
        assert_eq!(p.jti, "j1");
        assert_eq!(p.iat, NOW);
    }
}

#[test]
fn htm_and_htu_must_name_the_request() {
    let key = TestKey::ec_p256("k");
    let post = key.dpop_proof("POST", URL, TOKEN, NOW as i64, "j");
    assert_eq!(verify(&post), Err(AuthzError::DpopMethodMismatch));
    for other in [
        "https://api.example.com/prod/pets/43",
        "https://api.example.com/dev/pets/42",
        "http://api.example.com/prod/pets/42",
        "https://evil.example.com/prod/pets/42",
        "https://api.example.com:8443/prod/pets/42",
    ] {
        let p = key.dpop_proof("GET", other, TOKEN, NOW as i64, "j");
        assert_eq!(verify(&p), Err(AuthzError::DpopUrlMismatch), "{other}");
    }
    // Query and fragment are ignored; scheme and host case and the default port normalized.
    for same in [
        "https://api.example.com/prod/pets/42?x=1",
        "https://api.example.com/prod/pets/42#f",
        "HTTPS://API.example.com:443/prod/pets/42",
    ] {
        let p = key.dpop_proof("GET", same, TOKEN, NOW as i64, "j");
        assert!(verify(&p).is_ok(), "{same}");
    }
    // An event without a URL matches no proof.
    let no_url = ProofTarget {
        method: "GET".into(),
        url: None,
    };
    assert_eq!(
        verify_proof(&proof(&key), TOKEN, &no_url, &check()),
        Err(AuthzError::DpopUrlMismatch)
    );
}

#[test]
fn htu_paths_compare_after_rfc_3986_normalization() {
    let at = |path: &str| format!("https://api.example.com{path}");
    // (htu path, request path as API Gateway passes it): the same resource. REST passes the path
    // as the client sent it; an HTTP API's `rawPath` comes decoded.
    for (htu, request) in [
        ("/dev/pets/a%20b", "/dev/pets/a%20b"),
        ("/dev/pets/a%20b", "/dev/pets/a b"),
        ("/dev/pets/a%7Eb", "/dev/pets/a~b"),
        ("/dev/pets/a%7eb", "/dev/pets/a~b"),
        ("/dev/pets/a~b", "/dev/pets/a%7Eb"),
        ("/dev/pets/%61", "/dev/pets/a"),
        ("/dev/pets/a%2fb", "/dev/pets/a%2Fb"),
        ("/dev/pets/a%c3%a9", "/dev/pets/a%C3%A9"),
        ("/dev/pets/a%C3%A9", "/dev/pets/aé"),
        ("/dev/pets/a%3Fb", "/dev/pets/a?b"),
        ("/dev/pets/a%23b", "/dev/pets/a#b"),
        ("/dev/pets/100%25", "/dev/pets/100%"),
        ("/dev/pets/%2E%2E/42", "/dev/42"),
    ] {
        assert!(same_url(&at(htu), &at(request)), "{htu} vs {request}");
    }
    // Different resources, whatever the encoding.
    for (htu, request) in [
        ("/dev/pets/a", "/dev/pets/b"),
        ("/dev/pets/%62", "/dev/pets/a"),
        ("/dev/pets/a%2Fb", "/dev/pets/a/b"),
        ("/dev/pets/a/b", "/dev/pets/a%2Fb"),
        ("/dev/pets/a%3Ab", "/dev/pets/a:b"),
        ("/dev/pets/a", "/dev/pets/a?b"),
        ("/dev/pets/a", "/dev/pets/a#b"),
        ("/dev/pets/a%2520b", "/dev/pets/a%20b"),
        ("/dev/pets/a%20b", "/dev/pets/a%2520b"),
    ] {
        assert!(!same_url(&at(htu), &at(request)), "{htu} vs {request}");
    }
    // An `htu` that is not a URI matches nothing, not even the same text.
    for htu in [
        "/dev/pets/a b",
        "/dev/pets/a%zz",
        "/dev/pets/100%",
        "/dev/pets/aé",
    ] {
        assert!(!same_url(&at(htu), &at(htu)), "{htu}");
    }
    // End to end: a proof for the encoded path verifies against the decoded one.
    let key = TestKey::ec_p256("k");
    let p = key.dpop_proof("GET", &at("/dev/pets/a%7eb%20c"), TOKEN, NOW as i64, "j");
    let decoded = ProofTarget {
        method: "GET".into(),
        url: Some(at("/dev/pets/a~b c")),
    };
    assert!(verify_proof(&p, TOKEN, &decoded, &check()).is_ok());
    let other = ProofTarget {
        method: "GET".into(),
        url: Some(at("/dev/pets/a~b/c")),
    };
    assert_eq!(
        verify_proof(&p, TOKEN, &other, &check()),
        Err(AuthzError::DpopUrlMismatch)
    );
}

#[test]
fn iat_must_be_inside_the_window() {
    let key = TestKey::ec_p256("k");
    let at = |iat: i64| verify(&key.dpop_proof("GET", URL, TOKEN, iat, "j"));
    let now = NOW as i64;
    assert!(at(now - 65).is_ok(), "max age plus leeway");
    assert!(at(now + 5).is_ok(), "leeway ahead");
    assert_eq!(at(now - 66), Err(AuthzError::DpopStale));
    assert_eq!(at(now + 6), Err(AuthzError::DpopStale));
}

#[test]
fn token_request_proofs_are_checked_without_ath() {
    let key = TestKey::ec_p256("k");
    let now = NOW as i64;
    let at_token = |p: &str| verify_token_request_proof(p, "POST", URL, NOW, 60.0, 5.0);
    let p = key.dpop_token_request_proof("POST", URL, now, "t1");
    assert_eq!(at_token(&p).unwrap().jkt, key.jkt());
    // The resource server's checks still apply: method, URL, window, signature.
    let get = key.dpop_token_request_proof("GET", URL, now, "t2");
    assert_eq!(at_token(&get), Err(AuthzError::DpopMethodMismatch));
    let elsewhere = key.dpop_token_request_proof("POST", "https://other.example/token", now, "t3");
    assert_eq!(at_token(&elsewhere), Err(AuthzError::DpopUrlMismatch));
    let stale = key.dpop_token_request_proof("POST", URL, now - 66, "t4");
    assert_eq!(at_token(&stale), Err(AuthzError::DpopStale));
    let donor = key.dpop_token_request_proof("POST", URL, now, "another");
    let forged = authz_testkit::keys::with_signature_of(&p, &donor);
    assert_eq!(at_token(&forged), Err(AuthzError::DpopBadSignature));
    // At a resource server a proof without `ath` is malformed.
    assert!(matches!(
        verify_proof(
            &p,
            TOKEN,
            &ProofTarget {
                method: "POST".into(),
                url: Some(URL.into())
            },
            &check()
        ),
        Err(AuthzError::DpopProofInvalid(_))
    ));
}

#[test]
fn ath_must_hash_the_presented_token() {
    let key = TestKey::ec_p256("k");
    let p = key.dpop_proof("GET", URL, "another.access.token", NOW as i64, "j");
    assert_eq!(verify(&p), Err(AuthzError::DpopAthMismatch));
}

#[test]
fn header_rules() {
    let key = TestKey::ec_p256("k");
    let claims = json!({"jti": "j", "htm": "GET", "htu": URL, "iat": NOW as i64,
                        "ath": access_token_hash(TOKEN)});
    let with = |header: serde_json::Value| verify(&key.sign_with_header(&header, &claims));
    let jwk = key.public_jwk();
    assert!(with(json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk})).is_ok());
    assert!(matches!(
        with(json!({"typ": "JWT", "alg": "ES256", "jwk": jwk})),
        Err(AuthzError::DpopProofInvalid(_))
    ));
    assert!(matches!(
        with(json!({"alg": "ES256", "jwk": jwk})),
        Err(AuthzError::DpopProofInvalid(_))
    ));
    assert!(matches!(
        with(json!({"typ": "dpop+jwt", "alg": "ES256"})),
        Err(AuthzError::DpopProofInvalid(_))
    ));
    assert!(matches!(
        with(json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk, "crit": ["x"]})),
        Err(AuthzError::DpopProofInvalid(_))
    ));
    // The key in the header is another key than the signer's: the signature fails.
    let other = TestKey::ec_p256("k2");
    let mut forged = other.public_jwk();
    forged["x"] = TestKey::rsa("r").jwk()["n"].clone();
    assert!(with(json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": forged})).is_err());
    let rsa = TestKey::rsa("r");
    assert_eq!(
        verify(&rsa.sign_with_header(
            &json!({"typ": "dpop+jwt", "alg": "RS256", "jwk": TestKey::rsa2("r").public_jwk()}),
            &claims
        )),
        Err(AuthzError::DpopBadSignature)
    );
}

#[test]
fn a_private_key_in_the_proof_is_refused() {
    let key = TestKey::ec_p256("k");
    let claims = json!({"jti": "j", "htm": "GET", "htu": URL, "iat": NOW as i64,
                        "ath": access_token_hash(TOKEN)});
    for member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        let mut jwk = key.public_jwk();
        jwk[member] = json!("AQAB");
        let p = key.sign_with_header(
            &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}),
            &claims,
        );
        assert_eq!(verify(&p), Err(AuthzError::DpopPrivateKey), "{member}");
    }
}

#[test]
fn symmetric_and_none_algorithms_are_refused() {
    let claims = json!({"jti": "j", "htm": "GET", "htu": URL, "iat": NOW as i64,
                        "ath": access_token_hash(TOKEN)});
    let secret = b"a shared secret of thirty-two by";
    let jwk = json!({"kty": "oct", "k": b64url(secret)});
    let header = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": jwk});
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap();
    // The HS256 signature over our own header.
    let signed = raw_token(&header, &claims, b"");
    let forged = format!("{signed}{}", hs.rsplit_once('.').unwrap().1);
    assert_eq!(verify(&forged), Err(AuthzError::DpopAlgorithmNotAllowed));
    let none = raw_token(
        &json!({"typ": "dpop+jwt", "alg": "none", "jwk": TestKey::ec_p256("k").public_jwk()}),
        &claims,
        b"x",
    );
    assert_eq!(verify(&none), Err(AuthzError::DpopAlgorithmNotAllowed));
}

#[test]
fn missing_claims_and_shapes_are_malformed() {
    let key = TestKey::ec_p256("k");
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk()});
    let full = json!({"jti": "j", "htm": "GET", "htu": URL, "iat": NOW as i64,
                      "ath": access_token_hash(TOKEN)});
    for name in ["jti", "htm", "htu", "iat", "ath"] {
        let mut claims = full.clone();
        claims.as_object_mut().unwrap().remove(name);
        let p = key.sign_with_header(&header, &claims);
        assert!(
            matches!(verify(&p), Err(AuthzError::DpopProofInvalid(_))),
            "{name}"
        );
    }
    let mut long = full.clone();
    long["jti"] = json!("j".repeat(MAX_JTI_BYTES + 1));
    assert!(matches!(
        verify(&key.sign_with_header(&header, &long)),
        Err(AuthzError::DpopProofInvalid(_))
    ));
    for bad in ["", "a.b", "a.b.c.d", "e30.e30.", "!!.e30.c2ln"] {
        assert!(
            matches!(verify(bad), Err(AuthzError::DpopProofInvalid(_))),
            "{bad}"
        );
    }
}

fn proof_of(key: &TestKey) -> Proof {
    Proof {
        jkt: key.jkt(),
        jti: "j".into(),
        iat: NOW,
    }
}

fn claims(cnf: serde_json::Value) -> Map<String, Value> {
    json!({"sub": "a", "cnf": cnf}).as_object().unwrap().clone()
}

#[test]
fn binding_of_dpop_bound_tokens() {
    use SenderConstraint::*;
    let key = TestKey::ec_p256("k");
    let bound = claims(json!({"jkt": key.jkt()}));
    let p = proof_of(&key);
    assert_eq!(
        check_binding(Accept, &bound, Scheme::Dpop, Some(&p), None),
        Ok(())
    );
    assert_eq!(
        check_binding(Require, &bound, Scheme::Dpop, Some(&p), None),
        Ok(())
    );
    // Downgrade: the bound token as Bearer, in every mode.
    for mode in SenderConstraint::ALL {
        assert_eq!(
            check_binding(mode, &bound, Scheme::Bearer, Some(&p), None),
            Err(AuthzError::DpopDowngrade)
        );
    }
    assert_eq!(
        check_binding(Accept, &bound, Scheme::Dpop, None, None),
        Err(AuthzError::DpopProofMissing)
    );
    let other = proof_of(&TestKey::ec_p384("k"));
    assert_eq!(
        check_binding(Accept, &bound, Scheme::Dpop, Some(&other), None),
        Err(AuthzError::DpopKeyMismatch)
    );
    let unbound = json!({"sub": "a"}).as_object().unwrap().clone();
    assert_eq!(
        check_binding(Accept, &unbound, Scheme::Dpop, Some(&p), None),
        Err(AuthzError::DpopTokenNotBound)
    );
    assert_eq!(
        check_binding(Accept, &unbound, Scheme::Bearer, None, None),
        Ok(())
    );
    assert_eq!(
        check_binding(Off, &unbound, Scheme::Bearer, None, None),
        Ok(())
    );
    assert_eq!(
        check_binding(Require, &unbound, Scheme::Bearer, None, None),
        Err(AuthzError::SenderConstraintRequired)
    );
}

#[test]
fn binding_of_certificate_bound_tokens() {
    use SenderConstraint::*;
    let (ca, other) = (TestCa::new(), TestCa::new());
    let x5t = certificate_thumbprint(ca.pem()).unwrap();
    // The PEM reader gives the DER's digest.
    assert_eq!(
        x5t,
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, ca.der()))
    );
    let bound = claims(json!({"x5t#S256": x5t}));
    let theirs = certificate_thumbprint(other.pem()).unwrap();
    assert_eq!(
        check_binding(Accept, &bound, Scheme::Bearer, None, Some(&x5t)),
        Ok(())
    );
    assert_eq!(
        check_binding(Require, &bound, Scheme::Bearer, None, Some(&x5t)),
        Ok(())
    );
    assert_eq!(
        check_binding(Accept, &bound, Scheme::Bearer, None, None),
        Err(AuthzError::MtlsCertMissing)
    );
    assert_eq!(
        check_binding(Accept, &bound, Scheme::Bearer, None, Some(&theirs)),
        Err(AuthzError::MtlsCertMismatch)
    );
    assert_eq!(
        check_binding(Accept, &bound, Scheme::Bearer, None, Some("")),
        Err(AuthzError::MtlsCertMismatch)
    );
    assert_eq!(
        check_binding(Off, &bound, Scheme::Bearer, None, Some(&x5t)),
        Err(AuthzError::BoundTokenNotAccepted)
    );
    assert_eq!(certificate_thumbprint("not a certificate"), None);
}

#[test]
fn unknown_or_malformed_cnf_is_refused() {
    use SenderConstraint::*;
    let none = |cnf| check_binding(Accept, &claims(cnf), Scheme::Bearer, None, None);
    assert_eq!(
        none(json!({"jwk": {}})),
        Err(AuthzError::BoundTokenNotAccepted)
    );
    assert_eq!(none(json!({})), Err(AuthzError::BoundTokenNotAccepted));
    assert_eq!(none(json!("jkt")), Err(AuthzError::InvalidClaim("cnf")));
    assert_eq!(
        none(json!({"jkt": 1})),
        Err(AuthzError::InvalidClaim("cnf"))
    );
}

#[test]
fn a_proof_is_accepted_once_until_it_leaves_the_window() {
    let set = ReplaySet::default();
    let p = proof_of(&TestKey::ec_p256("k"));
    assert!(set.first_use(&p, NOW + 70.0, NOW));
    assert!(!set.first_use(&p, NOW + 70.0, NOW + 1.0));
    // Another key may use the same jti.
    let q = proof_of(&TestKey::ed25519("k"));
    assert!(set.first_use(&q, NOW + 70.0, NOW));
    // Past its window the entry is forgotten (the proof is refused as stale by then anyway).
    assert!(set.first_use(&p, NOW + 200.0, NOW + 71.0));
}

#[test]
fn modes_round_trip() {
    for m in SenderConstraint::ALL {
        assert_eq!(SenderConstraint::parse(m.name()), Some(m));
    }
    assert_eq!(SenderConstraint::parse("on"), None);
}
