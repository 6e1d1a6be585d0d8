//! Test keys: every JWK verifies its key's tokens; forged-token helpers build what they say.

use authz_testkit::{Algorithm, TestKey, b64url, now, raw_token, with_signature_of};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{DecodingKey, Validation, jwk::Jwk};
use serde_json::{Value, json};

use super::jwt_part;

fn decoding_key(key: &TestKey) -> DecodingKey {
    let jwk: Jwk = serde_json::from_value(key.jwk()).unwrap();
    DecodingKey::from_jwk(&jwk).unwrap()
}

fn verify(jwk_of: &TestKey, token: &str) -> jsonwebtoken::errors::Result<Value> {
    let mut validation = Validation::new(jwk_of.alg());
    validation.required_spec_claims.clear();
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &decoding_key(jwk_of), &validation).map(|t| t.claims)
}

/// Whether `token`'s signature verifies with `key`'s public key and algorithm (whatever the
/// token's header says).
fn signature_verifies(key: &TestKey, token: &str) -> bool {
    let (message, signature) = token.rsplit_once('.').unwrap();
    jsonwebtoken::crypto::verify(signature, message.as_bytes(), &decoding_key(key), key.alg())
        .unwrap()
}

#[test]
fn every_key_type_signs_tokens_its_jwk_verifies() {
    let claims = json!({"sub": "alice", "iss": "https://idp", "exp": now() + 300});
    let cases = [
        (TestKey::rsa("r1"), "RSA", "RS256"),
        (TestKey::rsa2("r2"), "RSA", "RS256"),
        (
            TestKey::rsa("r1").with_alg(Algorithm::PS256),
            "RSA",
            "PS256",
        ),
        (
            TestKey::rsa2("r2").with_alg(Algorithm::RS512),
            "RSA",
            "RS512",
        ),
        (TestKey::ec_p256("e1"), "EC", "ES256"),
        (TestKey::ec_p384("e2"), "EC", "ES384"),
        (TestKey::ed25519("o1"), "OKP", "EdDSA"),
    ];
    for (key, kty, alg) in cases {
        let jwk = key.jwk();
        assert_eq!(jwk["kty"], kty, "{jwk}");
        assert_eq!(
            (jwk["kid"].as_str(), jwk["use"].as_str()),
            (Some(key.kid()), Some("sig"))
        );
        assert_eq!(jwk["alg"], alg);
        assert_eq!(jwk.get("d"), None, "private part leaked: {jwk}");
        let token = key.sign(&claims);
        assert_eq!(
            jwt_part(&token, 0),
            json!({"alg": alg, "typ": "JWT", "kid": key.kid()})
        );
        assert_eq!(verify(&key, &token).unwrap(), claims, "{alg}");
    }
    assert_eq!(TestKey::ec_p256("k").jwk()["crv"], "P-256");
    assert_eq!(TestKey::ec_p384("k").jwk()["crv"], "P-384");
    assert_eq!(TestKey::ed25519("k").jwk()["crv"], "Ed25519");
}

#[test]
fn keys_are_stable_and_distinct() {
    let (a, b) = (TestKey::rsa("k"), TestKey::rsa2("k"));
    assert_eq!(a.jwk(), TestKey::rsa("k").jwk());
    assert_ne!(a.jwk()["n"], b.jwk()["n"]);
    let token = b.sign(&json!({"sub": "x"}));
    assert!(
        verify(&a, &token).is_err(),
        "rsa2 token must not verify with rsa's JWK"
    );
    assert!(verify(&b, &token).is_ok());
}

#[test]
fn sign_with_header_keeps_every_field_and_signs_with_the_key_alg() {
    let key = TestKey::ec_p256("e1");
    let header = json!({"alg": "ES256", "kid": "other", "typ": "at+jwt", "crit": ["exp"],
                        "jku": "http://127.0.0.1:1/jwks", "x-extra": [1, 2]});
    let token = key.sign_with_header(&header, &json!({"sub": "bob"}));
    assert_eq!(jwt_part(&token, 0), header);
    assert_eq!(jwt_part(&token, 1), json!({"sub": "bob"}));
    assert!(signature_verifies(&key, &token));
    // A lying header does not change the signing algorithm.
    let lying = key.sign_with_header(&json!({"alg": "HS256"}), &json!({}));
    assert!(signature_verifies(&key, &lying));
}

#[test]
fn rsa1024_signs_real_signatures_that_modern_verifiers_reject() {
    use aws_lc_rs::signature::{self, RsaPublicKeyComponents};
    for (alg, params) in [
        (
            Algorithm::RS256,
            &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        ),
        (
            Algorithm::RS512,
            &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        ),
    ] {
        let key = TestKey::rsa1024("weak").with_alg(alg);
        let jwk = key.jwk();
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
        assert_eq!(
            (n.len(), n[0] >= 0x80, e.as_slice()),
            (128, true, &[1, 0, 1][..])
        );
        let token = key.sign(&json!({"sub": "weak", "exp": now() + 60}));
        let (message, sig) = token.rsplit_once('.').unwrap();
        let public = RsaPublicKeyComponents { n: &n, e: &e };
        public
            .verify(
                params,
                message.as_bytes(),
                &URL_SAFE_NO_PAD.decode(sig).unwrap(),
            )
            .unwrap();
        assert!(verify(&key, &token).is_err(), "aws-lc must refuse RSA-1024");
    }
}

#[test]
fn raw_token_b64url_and_now() {
    assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
    assert_eq!(b64url(b""), "");
    let token = raw_token(&json!({"alg": "none"}), &json!({}), b"");
    assert_eq!(token, "eyJhbGciOiJub25lIn0.e30.");
    let forged = raw_token(&json!({"alg": "ES256"}), &json!({"sub": "x"}), &[0; 64]);
    assert_eq!(forged.rsplit('.').next(), Some(b64url(&[0; 64]).as_str()));
    let t = now();
    assert!(t > 1_700_000_000 && t < 4_000_000_000, "{t}");
}

#[test]
fn with_signature_of_keeps_the_header_and_payload_and_takes_the_other_signature() {
    let key = TestKey::rsa("r1");
    let good = key.sign(&json!({"sub": "alice"}));
    let other = key.sign(&json!({"sub": "mallory"}));
    let forged = with_signature_of(&other, &good);
    let (other_signed, _) = other.rsplit_once('.').unwrap();
    let (_, good_signature) = good.rsplit_once('.').unwrap();
    assert_eq!(forged, format!("{other_signed}.{good_signature}"));
    assert_eq!(jwt_part(&forged, 1), json!({"sub": "mallory"}));
    assert!(signature_verifies(&key, &good) && signature_verifies(&key, &other));
    assert!(!signature_verifies(&key, &forged));
}
