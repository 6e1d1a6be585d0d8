//! JSON Web Keys (RFC 7517) as verification keys: type, curve and size checks, and the
//! signature check with a key. Pure: used by the JWKS cache (`keys`) and by the DPoP proof
//! check (`dpop`), whose key travels in the proof's header.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use crate::{alg, error::AuthzError};

/// Key type and curve of a JWK, which fix the algorithms it can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

/// One usable verification key from a JWKS.
pub struct VerifyKey {
    kind: KeyKind,
    alg: Option<Algorithm>,
    key: DecodingKey,
}

impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kind", &self.kind)
            .field("alg", &self.alg)
            .finish()
    }
}

impl VerifyKey {
    /// The token's `alg` must fit the key type and curve, and the JWK's own `alg` when present.
    pub fn check_alg(&self, alg: Algorithm) -> Result<(), AuthzError> {
        use Algorithm::*;
        let fits = match self.kind {
            KeyKind::Rsa => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            KeyKind::P256 => alg == ES256,
            KeyKind::P384 => alg == ES384,
            KeyKind::Ed25519 => alg == EdDSA,
        };
        if fits && self.alg.is_none_or(|a| a == alg) {
            Ok(())
        } else {
            Err(AuthzError::KeyAlgorithmMismatch)
        }
    }

    /// Verifies `signature` (base64url) over `message` with `alg` (already checked to fit).
    pub fn verify(
        &self,
        signature: &str,
        message: &[u8],
        alg: Algorithm,
    ) -> Result<(), AuthzError> {
        match jsonwebtoken::crypto::verify(signature, message, &self.key, alg) {
            Ok(true) => Ok(()),
            _ => Err(AuthzError::BadSignature),
        }
    }
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

fn b64(field: &Option<String>) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(field.as_deref()?).ok()
}

/// Parses one JWK into a usable key, or says why it is skipped.
pub fn parse_jwk(
    value: serde_json::Value,
    allowed: &[Algorithm],
) -> Result<(String, VerifyKey), &'static str> {
    let jwk: RawJwk = serde_json::from_value(value).map_err(|_| "not a JWK object")?;
    let kid = jwk.kid.clone().filter(|k| !k.is_empty()).ok_or("no kid")?;
    Ok((kid, key_of(&jwk, allowed)?))
}

/// A public JWK without a `kid` (the `jwk` header of a DPoP proof, RFC 9449 §4.2), under the
/// rules of a JWKS key: type, curve, size, and `use`/`key_ops`/`alg` when present.
pub fn public_key(
    value: &serde_json::Map<String, serde_json::Value>,
    allowed: &[Algorithm],
) -> Result<VerifyKey, &'static str> {
    let jwk: RawJwk = serde_json::from_value(serde_json::Value::Object(value.clone()))
        .map_err(|_| "not a JWK object")?;
    key_of(&jwk, allowed)
}

/// The key of a parsed JWK, or why it is not usable.
fn key_of(jwk: &RawJwk, allowed: &[Algorithm]) -> Result<VerifyKey, &'static str> {
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err("use is not sig");
    }
    if jwk
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|o| o == "verify"))
    {
        return Err("key_ops lacks verify");
    }
    let alg = match jwk.alg.as_deref() {
        None => None,
        Some(name) => Some(
            allowed
                .iter()
                .copied()
                .find(|a| alg::alg_name(*a) == name)
                .ok_or("alg not allowed")?,
        ),
    };
    let (kind, key) = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("RSA", _) => {
            let n = b64(&jwk.n).ok_or("bad n")?;
            let e = b64(&jwk.e).ok_or("bad e")?;
            let n_bits = rsa_bits(&n);
            if n_bits < 2048 {
                return Err("RSA key under 2048 bits");
            }
            if n_bits > 8192 || e.is_empty() || e.len() > 8 {
                return Err("RSA parameters out of range");
            }
            (KeyKind::Rsa, DecodingKey::from_rsa_raw_components(&n, &e))
        }
        ("EC", Some(curve @ ("P-256" | "P-384"))) => {
            let (kind, len) = if curve == "P-256" {
                (KeyKind::P256, 32)
            } else {
                (KeyKind::P384, 48)
            };
            let (x, y) = (b64(&jwk.x).ok_or("bad x")?, b64(&jwk.y).ok_or("bad y")?);
            if x.len() != len || y.len() != len {
                return Err("EC coordinates of the wrong length");
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            (kind, DecodingKey::from_ec_der(&point))
        }
        ("OKP", Some("Ed25519")) => {
            let x = b64(&jwk.x).ok_or("bad x")?;
            if x.len() != 32 {
                return Err("Ed25519 key of the wrong length");
            }
            (KeyKind::Ed25519, DecodingKey::from_ed_der(&x))
        }
        _ => return Err("unsupported key type"),
    };
    let key = VerifyKey { kind, alg, key };
    // A key whose type fits none of the allowed algorithms can never be used.
    if !allowed.iter().any(|a| key.check_alg(*a).is_ok()) {
        return Err("no allowed algorithm fits the key");
    }
    Ok(key)
}

fn rsa_bits(n: &[u8]) -> usize {
    let n = &n[n.iter().take_while(|b| **b == 0).count()..];
    n.first()
        .map_or(0, |first| n.len() * 8 - first.leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_bit_length() {
        assert_eq!(rsa_bits(&[0, 0x80, 0]), 16);
        assert_eq!(rsa_bits(&[0x01, 0]), 9);
        assert_eq!(rsa_bits(&[]), 0);
    }
}
