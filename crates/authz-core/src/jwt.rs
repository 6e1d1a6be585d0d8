//! JWS compact tokens taken apart and checked for shape (RFC 7515, RFC 7519, RFC 8725,
//! RFC 9068 `typ`), before any key or signature is involved. Pure: no key, no clock, no I/O.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use serde::{
    Deserialize, Deserializer,
    de::{Error as _, MapAccess, Visitor},
};
use serde_json::{Map, Value};

use crate::{
    alg,
    decision_log::{Trace, truncate},
    error::AuthzError,
};

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    /// Whether the header has a `crit` member at all, whatever its value: `"crit": null` is
    /// present too (RFC 7515 §4.1.11 makes `crit` an array; no extension is implemented, so
    /// any `crit` is refused, and `null` must not read as "absent").
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

/// A JSON object whose top-level member names are unique (RFC 7519 §4: a duplicate claim name
/// is rejected rather than resolved, so no two parsers can read different claims).
struct StrictObject(Map<String, Value>);

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StrictObject, A::Error> {
                let mut map = Map::new();
                while let Some((k, v)) = access.next_entry::<String, Value>()? {
                    if map.contains_key(&k) {
                        return Err(A::Error::custom("duplicate member"));
                    }
                    map.insert(k, v);
                }
                Ok(StrictObject(map))
            }
        }
        d.deserialize_map(V)
    }
}

/// A JSON object with unique member names, or `None` (the DPoP proof's header and claims).
pub fn strict_object(bytes: &[u8]) -> Option<Map<String, Value>> {
    serde_json::from_slice::<StrictObject>(bytes)
        .ok()
        .map(|StrictObject(map)| map)
}

fn decode_segment(segment: &str) -> Result<Vec<u8>, AuthzError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthzError::Malformed("segment is not base64url"))
}

/// A JWT taken apart and checked for shape, before any key or signature is involved.
#[derive(Debug)]
pub struct ParsedJwt<'a> {
    /// The header `alg`, already known to be a supported asymmetric algorithm.
    pub alg: Algorithm,
    /// The header `kid` (non-empty).
    pub kid: String,
    /// The header `typ`, if any.
    pub typ: Option<String>,
    /// The `iss` claim.
    pub iss: String,
    /// Every claim, with unique names.
    pub claims: Map<String, Value>,
    /// Length of the signing input (`header.payload`) at the start of the token.
    pub signing_input_len: usize,
    /// The signature segment (base64url, non-empty).
    pub signature: &'a str,
}

/// Takes a JWS compact token apart (RFC 7515/7519/8725): three segments of strict unpadded
/// base64url, a JSON-object header whose `alg` is a supported asymmetric algorithm, no `crit`, the
/// required `typ` when configured, a `kid`, a non-empty signature, and a JSON-object payload with
/// unique claim names and a string `iss`. Pure: no key, no clock, no I/O.
pub fn parse_jwt<'a>(
    token: &'a str,
    required_typ: Option<&str>,
    trace: &mut Trace,
) -> Result<ParsedJwt<'a>, AuthzError> {
    let mut parts = token.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthzError::Malformed("not three segments"));
    };
    let header: Header = serde_json::from_slice(&decode_segment(h64)?)
        .map_err(|_| AuthzError::Malformed("header is not a valid JSON object"))?;
    trace.kid = header.kid.as_deref().map(|k| truncate(k).to_owned());
    let alg = alg::supported(&header.alg).ok_or(AuthzError::AlgorithmNotAllowed)?;
    if header.crit {
        return Err(AuthzError::UnsupportedCrit);
    }
    if let Some(required) = required_typ
        && !header
            .typ
            .as_deref()
            .is_some_and(|t| typ_matches(t, required))
    {
        return Err(AuthzError::WrongType);
    }
    let kid = header
        .kid
        .filter(|k| !k.is_empty())
        .ok_or(AuthzError::MissingKid)?;
    if s64.is_empty() {
        return Err(AuthzError::Malformed("empty signature"));
    }
    let StrictObject(claims) = serde_json::from_slice(&decode_segment(p64)?)
        .map_err(|_| AuthzError::Malformed("payload is not a valid JSON object"))?;
    let iss = match claims.get("iss") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(AuthzError::InvalidClaim("iss")),
        None => return Err(AuthzError::MissingClaim("iss")),
    };
    trace.iss = Some(truncate(&iss).to_owned());
    Ok(ParsedJwt {
        alg,
        kid,
        typ: header.typ,
        iss,
        claims,
        signing_input_len: h64.len() + 1 + p64.len(),
        signature: s64,
    })
}

/// RFC 9068 §4: `at+jwt`, also spelled `application/at+jwt`, compared case-insensitively.
fn typ_matches(typ: &str, required: &str) -> bool {
    let strip = |s: &str| {
        let lower = s.to_ascii_lowercase();
        lower
            .strip_prefix("application/")
            .map(str::to_owned)
            .unwrap_or(lower)
    };
    strip(typ) == strip(required)
}

/// Whether a token has the shape of a JWS compact serialization: three segments, the first a
/// base64url JSON object. Used by the `auto` token format.
pub fn looks_like_jwt(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(head), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    URL_SAFE_NO_PAD
        .decode(head)
        .is_ok_and(|h| h.first() == Some(&b'{'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typ_comparison() {
        assert!(typ_matches("at+jwt", "at+jwt"));
        assert!(typ_matches("application/AT+JWT", "at+jwt"));
        assert!(!typ_matches("JWT", "at+jwt"));
    }

    #[test]
    fn duplicate_claims_are_rejected() {
        let r: Result<StrictObject, _> = serde_json::from_str(r#"{"iss":"a","iss":"b"}"#);
        assert!(r.is_err());
        let r: Result<StrictObject, _> = serde_json::from_str(r#"[1]"#);
        assert!(r.is_err());
    }

    #[test]
    fn crit_is_present_whatever_its_value() {
        let h = |json: &str| serde_json::from_str::<Header>(json).map(|h| h.crit).ok();
        assert_eq!(h(r#"{"alg":"RS256"}"#), Some(false));
        assert_eq!(h(r#"{"alg":"RS256","crit":null}"#), Some(true));
        assert_eq!(h(r#"{"alg":"RS256","crit":["exp"]}"#), Some(true));
    }

    #[test]
    fn jwt_shape() {
        assert!(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"));
        assert!(!looks_like_jwt("2YotnFZFEjr1zCsicMWpAA"));
        assert!(!looks_like_jwt("a.b.c"));
        assert!(!looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.e30"));
    }
}
