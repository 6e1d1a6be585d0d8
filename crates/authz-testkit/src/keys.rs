//! Fixed test signing keys (files in `keys/`, generated once with openssl) and JWT builders.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
pub use jsonwebtoken::Algorithm;
use jsonwebtoken::{
    EncodingKey,
    jwk::{Jwk, PublicKeyUse},
};
use num_bigint::BigUint;
use serde_json::{Value, json};

/// A signing key for tests with its public JWK.
///
/// Cheap to clone. Every constructor loads the same key material each time, so tokens signed in
/// one test verify against JWKs built in another.
#[derive(Clone)]
pub struct TestKey {
    kid: String,
    alg: Algorithm,
    /// The algorithm the key material naturally belongs to (decides the JWK's curve).
    natural: Algorithm,
    key: EncodingKey,
    /// aws-lc refuses RSA keys under 2048 bits, so RSA-1024 is signed by [`legacy_rsa_sign`].
    legacy: bool,
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl TestKey {
    fn load(kid: &str, alg: Algorithm, key: jsonwebtoken::errors::Result<EncodingKey>) -> Self {
        let (kid, key) = (kid.to_owned(), key.expect("authz-testkit: bad key file"));
        TestKey {
            kid,
            alg,
            natural: alg,
            key,
            legacy: false,
        }
    }

    /// RSA-2048 key #1, alg RS256.
    pub fn rsa(kid: &str) -> TestKey {
        let pem = include_bytes!("../keys/rsa2048_a.pem");
        Self::load(kid, Algorithm::RS256, EncodingKey::from_rsa_pem(pem))
    }

    /// A second, different RSA-2048 key, alg RS256 (key rotation tests).
    pub fn rsa2(kid: &str) -> TestKey {
        let pem = include_bytes!("../keys/rsa2048_b.pem");
        Self::load(kid, Algorithm::RS256, EncodingKey::from_rsa_pem(pem))
    }

    /// RSA-1024, alg RS256: too weak, a verifier must reject it. Signs RS256/RS384/RS512 only.
    pub fn rsa1024(kid: &str) -> TestKey {
        let pem = include_bytes!("../keys/rsa1024.pem");
        let mut key = Self::load(kid, Algorithm::RS256, EncodingKey::from_rsa_pem(pem));
        key.legacy = true;
        key
    }

    /// EC P-256, alg ES256.
    pub fn ec_p256(kid: &str) -> TestKey {
        let pem = include_bytes!("../keys/ec_p256.pem");
        Self::load(kid, Algorithm::ES256, EncodingKey::from_ec_pem(pem))
    }

    /// EC P-384, alg ES384.
    pub fn ec_p384(kid: &str) -> TestKey {
        let pem = include_bytes!("../keys/ec_p384.pem");
        Self::load(kid, Algorithm::ES384, EncodingKey::from_ec_pem(pem))
    }

    /// Ed25519, alg EdDSA.
    pub fn ed25519(kid: &str) -> TestKey {
        let pem = include_bytes!("../keys/ed25519.pem");
        Self::load(kid, Algorithm::EdDSA, EncodingKey::from_ed_pem(pem))
    }

    /// Changes the signing algorithm and the JWK's `"alg"` (e.g. PS256 or RS512 on an RSA key).
    /// The key material is unchanged; signing panics if it cannot be used with `alg`.
    pub fn with_alg(mut self, alg: Algorithm) -> TestKey {
        self.alg = alg;
        self
    }

    /// The key id (`kid`) put in the JWK and in the header of [`TestKey::sign`].
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The signing algorithm.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Public JWK as JSON: `{"kty","kid","use":"sig","alg", n/e or crv/x/y}`.
    pub fn jwk(&self) -> Value {
        let alg = serde_json::to_value(self.alg).expect("alg serializes");
        if self.legacy {
            let ints = der_integers(self.key.as_bytes());
            return json!({"kty": "RSA", "kid": self.kid, "use": "sig", "alg": alg,
                          "n": b64url(unsigned(ints[1])), "e": b64url(unsigned(ints[2]))});
        }
        let mut jwk = Jwk::from_encoding_key(&self.key, self.natural)
            .expect("authz-testkit: cannot derive the public JWK");
        jwk.common.key_id = Some(self.kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let mut value = serde_json::to_value(jwk).expect("JWK serializes");
        value["alg"] = alg;
        value
    }

    /// Signs `claims` with header `{"alg": <alg>, "typ": "JWT", "kid": <kid>}`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(
            &json!({"alg": self.alg, "typ": "JWT", "kid": self.kid}),
            claims,
        )
    }

    /// Signs with the given full header object: the caller controls every header field
    /// (alg, kid, typ, crit, jwk, jku, ...); the signature is made with this key and
    /// [`TestKey::alg`], whatever the header claims.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = signing_input(header, claims);
        let signature = if self.legacy {
            b64url(&legacy_rsa_sign(
                self.key.as_bytes(),
                self.alg,
                input.as_bytes(),
            ))
        } else {
            jsonwebtoken::crypto::sign(input.as_bytes(), &self.key, self.alg).unwrap_or_else(|e| {
                panic!(
                    "authz-testkit: key {:?} cannot sign {:?}: {e}",
                    self.kid, self.alg
                )
            })
        };
        format!("{input}.{signature}")
    }
}

impl TestKey {
    /// The public JWK alone (`kty` and its key members; no `kid`, `use`, `alg`): the `jwk` header
    /// of a DPoP proof.
    pub fn public_jwk(&self) -> Value {
        let full = self.jwk();
        let mut jwk = serde_json::Map::new();
        for name in ["kty", "crv", "n", "e", "x", "y"] {
            if let Some(v) = full.get(name) {
                jwk.insert(name.to_owned(), v.clone());
            }
        }
        Value::Object(jwk)
    }

    /// The RFC 7638 thumbprint of [`TestKey::public_jwk`], by the authorizer's own reader: what
    /// a DPoP-bound token's `cnf.jkt` holds.
    pub fn jkt(&self) -> String {
        let jwk = self.public_jwk();
        let jwk = jwk.as_object().expect("a JWK is an object");
        authz_core::internals::thumbprint(jwk).expect("test keys have thumbprints")
    }

    /// A DPoP proof (RFC 9449 §4.2) by this key for `method` and `url`, bound to `token`
    /// (`ath`), issued at `iat` with `jti`.
    pub fn dpop_proof(&self, method: &str, url: &str, token: &str, iat: i64, jti: &str) -> String {
        self.sign_with_header(
            &json!({"typ": "dpop+jwt", "alg": self.alg, "jwk": self.public_jwk()}),
            &json!({"jti": jti, "htm": method, "htu": url, "iat": iat,
                    "ath": authz_core::internals::access_token_hash(token)}),
        )
    }

    /// A DPoP proof for a request to an authorization server's token endpoint (RFC 9449 §5):
    /// as [`TestKey::dpop_proof`] without `ath`, since no access token is presented.
    pub fn dpop_token_request_proof(&self, method: &str, url: &str, iat: i64, jti: &str) -> String {
        self.sign_with_header(
            &json!({"typ": "dpop+jwt", "alg": self.alg, "jwk": self.public_jwk()}),
            &json!({"jti": jti, "htm": method, "htu": url, "iat": iat}),
        )
    }
}

impl TestKey {
    /// A freshly generated EC P-256 private key, PKCS#8 PEM: for a key kept in a file (the local
    /// mode's DPoP client key), loaded with [`TestKey::ec_p256_from_pem`].
    pub fn generate_ec_p256_pem() -> String {
        rcgen::KeyPair::generate()
            .expect("authz-testkit: cannot generate an EC P-256 key")
            .serialize_pem()
    }

    /// An EC P-256 key, alg ES256, from a PKCS#8 PEM; an error says why not.
    pub fn ec_p256_from_pem(kid: &str, pem: &str) -> Result<TestKey, String> {
        let key = EncodingKey::from_ec_pem(pem.as_bytes())
            .map_err(|e| format!("not an EC private key in PKCS#8 PEM: {e}"))?;
        let key = TestKey {
            kid: kid.to_owned(),
            alg: Algorithm::ES256,
            natural: Algorithm::ES256,
            key,
            legacy: false,
        };
        let crv = Jwk::from_encoding_key(&key.key, Algorithm::ES256)
            .ok()
            .and_then(|jwk| serde_json::to_value(jwk).ok())
            .and_then(|v| v["crv"].as_str().map(str::to_owned));
        match crv.as_deref() {
            Some("P-256") => Ok(key),
            other => Err(format!("not an EC P-256 key (curve {other:?})")),
        }
    }
}

/// Assembles a JWT from raw header/payload JSON and raw signature bytes (for forged or
/// malformed tokens: `alg: none`, r = s = 0, ...). An empty `signature` gives `h.p.`.
pub fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!("{}.{}", signing_input(header, claims), b64url(signature))
}

/// `token`'s header and payload under `donor`'s signature (a forgery: the signature of another
/// token of the same key).
pub fn with_signature_of(token: &str, donor: &str) -> String {
    let (signed, _) = token.rsplit_once('.').unwrap_or((token, ""));
    let (_, signature) = donor.rsplit_once('.').unwrap_or(("", donor));
    format!("{signed}.{signature}")
}

/// `base64url(header).base64url(claims)`.
fn signing_input(header: &Value, claims: &Value) -> String {
    let (h, c) = (header.to_string(), claims.to_string());
    format!("{}.{}", b64url(h.as_bytes()), b64url(c.as_bytes()))
}

/// base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    let since = std::time::UNIX_EPOCH.elapsed().expect("clock after 1970");
    i64::try_from(since.as_secs()).expect("time fits i64")
}

/// RSASSA-PKCS1-v1_5 by hand (RFC 8017 §8.2.1) from a PKCS#1 `RSAPrivateKey` DER.
fn legacy_rsa_sign(pkcs1: &[u8], alg: Algorithm, message: &[u8]) -> Vec<u8> {
    use aws_lc_rs::digest;
    // DigestInfo DER prefixes from RFC 8017 §9.2, note 1.
    const OID_PREFIX: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0, 0x05, 0x00,
    ];
    let (digest_alg, id, len) = match alg {
        Algorithm::RS256 => (&digest::SHA256, 1, 32u8),
        Algorithm::RS384 => (&digest::SHA384, 2, 48),
        Algorithm::RS512 => (&digest::SHA512, 3, 64),
        other => {
            panic!("authz-testkit: the RSA-1024 key signs RS256/RS384/RS512 only, not {other:?}")
        }
    };
    let mut t = vec![0x30, 15 + 2 + len];
    t.extend_from_slice(&OID_PREFIX);
    t[2 + 12] = id;
    t.extend_from_slice(&[0x04, len]);
    t.extend_from_slice(digest::digest(digest_alg, message).as_ref());

    let ints = der_integers(pkcs1);
    let n = BigUint::from_bytes_be(ints[1]);
    let d = BigUint::from_bytes_be(ints[3]);
    let k = usize::try_from(n.bits().div_ceil(8)).expect("small modulus");
    let mut em = vec![0xff; k];
    em[0] = 0;
    em[1] = 1;
    em[k - t.len() - 1] = 0;
    em[k - t.len()..].copy_from_slice(&t);
    let s = BigUint::from_bytes_be(&em).modpow(&d, &n).to_bytes_be();
    let mut out = vec![0; k - s.len()];
    out.extend_from_slice(&s);
    out
}

/// The INTEGER contents inside a DER SEQUENCE (enough for a PKCS#1 RSAPrivateKey).
fn der_integers(der: &[u8]) -> Vec<&[u8]> {
    fn tlv(input: &[u8]) -> (u8, &[u8], &[u8]) {
        let (tag, first) = (input[0], usize::from(input[1]));
        // Short form, or long form: the low bits count the big-endian length bytes.
        let (len, start) = match first.checked_sub(0x80) {
            None => (first, 2),
            Some(n) => (
                input[2..2 + n]
                    .iter()
                    .fold(0, |l, b| l << 8 | usize::from(*b)),
                2 + n,
            ),
        };
        (tag, &input[start..start + len], &input[start + len..])
    }
    let (tag, mut body, _) = tlv(der);
    assert_eq!(tag, 0x30, "authz-testkit: expected a DER SEQUENCE");
    let mut ints = Vec::new();
    while !body.is_empty() {
        let (tag, value, rest) = tlv(body);
        assert_eq!(tag, 0x02, "authz-testkit: expected a DER INTEGER");
        ints.push(value);
        body = rest;
    }
    ints
}

/// Strips the DER sign byte(s) from a non-negative INTEGER.
fn unsigned(int: &[u8]) -> &[u8] {
    let zeros = int.iter().take_while(|b| **b == 0).count();
    &int[zeros.min(int.len() - 1)..]
}
