//! JWT verification (RFC 7515, RFC 7519, RFC 8725, RFC 9068).
//!
//! Every check is made here on purpose rather than through jsonwebtoken's `Validation`
//! defaults (60 s leeway, only `exp` required, `nbf` unchecked): jsonwebtoken is used for the
//! signature only. The order is: shape, header (`alg` allow-list, `crit`, `typ`, `kid`), issuer
//! (selects keys and allowed algorithms), key (must fit `alg`), signature, then claims.

use std::{collections::HashMap, fmt, sync::Arc};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use serde::{
    Deserialize, Deserializer,
    de::{Error as _, MapAccess, Visitor},
};
use serde_json::{Map, Value};

use crate::{
    config::{Config, ConfigError, IssuerConfig, SUPPORTED_ALGORITHMS, TokenFormat},
    error::AuthzError,
    introspect::{self, Introspector, looks_like_jwt},
    jwks::{Fetch, IssuerKeys},
};

/// Verified claims of a token.
#[derive(Debug, Clone)]
pub struct Claims {
    /// `iss`.
    pub iss: String,
    /// `sub`, if present.
    pub sub: Option<String>,
    /// `client_id`, if present.
    pub client_id: Option<String>,
    /// Scopes from `scope` (space-delimited) or `scp` (string or array).
    pub scopes: Vec<String>,
    /// All claims as sent.
    pub all: Map<String, Value>,
}

impl Claims {
    /// `sub`, or `client_id` when there is no `sub`.
    pub fn principal(&self) -> &str {
        self.sub
            .as_deref()
            .or(self.client_id.as_deref())
            .unwrap_or_default()
    }
}

/// What is known about a token so far, for the decision log (never the token itself).
#[derive(Debug, Default, Clone)]
pub struct Trace {
    /// Header `kid` (truncated).
    pub kid: Option<String>,
    /// Claim `iss` (truncated).
    pub iss: Option<String>,
    /// `sub` once verified.
    pub sub: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<Value>,
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

fn decode_segment(segment: &str) -> Result<Vec<u8>, AuthzError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthzError::Malformed("segment is not base64url"))
}

struct IssuerEntry {
    config: IssuerConfig,
    keys: IssuerKeys,
    introspector: Option<Introspector>,
}

/// Verifies tokens against the configured issuers and their cached keys.
pub struct Verifier {
    issuers: HashMap<String, IssuerEntry>,
    /// The one issuer that takes opaque tokens, if any.
    opaque: Option<String>,
    leeway: f64,
    required_typ: Option<String>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.issuers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Verifier {
    /// One key cache per issuer, all fetching through `fetch`; introspection (if configured)
    /// posts through `client` with credentials from Secrets Manager. Fails when introspection is
    /// configured in a build without the `introspection` feature ([`introspect::not_built`]).
    pub fn new(
        config: &Config,
        fetch: Arc<dyn Fetch>,
        client: reqwest::Client,
    ) -> Result<Verifier, ConfigError> {
        let mut opaque = None;
        let mut issuers = HashMap::with_capacity(config.issuers.len());
        for ic in &config.issuers {
            let keys = IssuerKeys::new(
                ic.issuer.clone(),
                ic.jwks_uri.clone(),
                ic.algorithms.clone(),
                config.jwks.clone(),
                Arc::clone(&fetch),
            );
            let introspector = match &ic.introspection {
                None => None,
                Some(intro) => {
                    let secret =
                        introspect::secrets_manager(&intro.secret_arn, config.http.timeout)
                            .ok_or_else(|| introspect::not_built(&ic.issuer))?;
                    Some(Introspector::new(
                        ic.issuer.clone(),
                        intro.clone(),
                        client.clone(),
                        secret,
                        config.jwks.cooldown,
                    ))
                }
            };
            if ic.token_format != TokenFormat::Jwt {
                opaque = Some(ic.issuer.clone());
            }
            let entry = IssuerEntry {
                config: ic.clone(),
                keys,
                introspector,
            };
            issuers.insert(ic.issuer.clone(), entry);
        }
        Ok(Verifier {
            issuers,
            opaque,
            leeway: config.leeway.as_secs_f64(),
            required_typ: config.required_typ.clone(),
        })
    }

    /// Fetches every issuer's keys, and the introspection secret, before the first request.
    /// Failures are logged, not fatal: the function answers `Unauthorized` until they arrive.
    /// Returns how many issuers are ready.
    pub async fn warm(&self) -> usize {
        let mut ok = 0;
        for entry in self.issuers.values() {
            let keys =
                entry.config.token_format == TokenFormat::Opaque || entry.keys.refresh_now().await;
            let secret = match &entry.introspector {
                Some(i) => i.warm(&entry.keys).await,
                None => true,
            };
            ok += usize::from(keys && secret);
        }
        ok
    }

    /// Verifies `token` at time `now` (seconds since the epoch): locally when it is a JWT, by
    /// introspection when the issuer takes opaque tokens (`auto`: by the token's shape).
    /// `audiences` replaces the issuer's configured audiences when given (a stage variable).
    pub async fn verify(
        &self,
        token: &str,
        now: f64,
        audiences: Option<&[String]>,
        trace: &mut Trace,
    ) -> Result<Claims, AuthzError> {
        if let Some(entry) = self.opaque.as_ref().and_then(|iss| self.issuers.get(iss))
            && let Some(introspector) = &entry.introspector
            && (entry.config.token_format == TokenFormat::Opaque || !looks_like_jwt(token))
        {
            let audiences = audiences.unwrap_or(&entry.config.audiences);
            return introspector
                .introspect(&entry.keys, token, now, self.leeway, audiences, trace)
                .await;
        }
        self.verify_jwt(token, now, audiences, trace).await
    }

    /// Verifies a JWT at time `now` (seconds since the epoch), filling `trace` as it learns.
    async fn verify_jwt(
        &self,
        token: &str,
        now: f64,
        audiences: Option<&[String]>,
        trace: &mut Trace,
    ) -> Result<Claims, AuthzError> {
        let parsed = parse(token, self.required_typ.as_deref(), trace)?;
        let Parsed {
            alg,
            kid,
            iss,
            claims,
            signing_input_len,
            signature,
        } = parsed;
        let entry = self.issuers.get(&iss).ok_or(AuthzError::UnknownIssuer)?;
        if !entry.config.algorithms.contains(&alg) {
            return Err(AuthzError::AlgorithmNotAllowed);
        }
        let key = entry.keys.key(&kid).await?;
        key.check_alg(alg)?;
        // The signing input is the first two segments exactly as received.
        key.verify(signature, &token.as_bytes()[..signing_input_len], alg)?;
        let audiences = audiences.unwrap_or(&entry.config.audiences);
        claims_from_map(
            &entry.config.issuer,
            audiences,
            claims,
            now,
            self.leeway,
            true,
            trace,
        )
    }
}

/// A JWT taken apart and checked for shape, before any key or signature is involved.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The header `alg`, already known to be a supported asymmetric algorithm.
    pub alg: Algorithm,
    /// The header `kid` (non-empty).
    pub kid: String,
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
pub fn parse<'a>(
    token: &'a str,
    required_typ: Option<&str>,
    trace: &mut Trace,
) -> Result<Parsed<'a>, AuthzError> {
    let mut parts = token.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthzError::Malformed("not three segments"));
    };
    let header: Header = serde_json::from_slice(&decode_segment(h64)?)
        .map_err(|_| AuthzError::Malformed("header is not a valid JSON object"))?;
    trace.kid = header
        .kid
        .as_deref()
        .map(|k| crate::jwks::truncate(k).to_owned());
    let alg = SUPPORTED_ALGORITHMS
        .iter()
        .copied()
        .find(|a| alg_name(*a) == header.alg)
        .ok_or(AuthzError::AlgorithmNotAllowed)?;
    if header.crit.is_some() {
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
    trace.iss = Some(crate::jwks::truncate(&iss).to_owned());
    Ok(Parsed {
        alg,
        kid,
        iss,
        claims,
        signing_input_len: h64.len() + 1 + p64.len(),
        signature: s64,
    })
}

/// The claim checks shared by JWTs and introspection answers: `exp` (required when `strict`),
/// `nbf` and `iat` with the leeway, `aud` (required when `strict`) containing one of
/// `audiences`, a `sub` or `client_id`, and well-typed scopes.
pub(crate) fn claims_from_map(
    issuer: &str,
    audiences: &[String],
    claims: Map<String, Value>,
    now: f64,
    leeway: f64,
    strict: bool,
    trace: &mut Trace,
) -> Result<Claims, AuthzError> {
    match numeric_date(&claims, "exp")? {
        Some(exp) if now >= exp + leeway => return Err(AuthzError::Expired),
        None if strict => return Err(AuthzError::MissingClaim("exp")),
        _ => {}
    }
    if numeric_date(&claims, "nbf")?.is_some_and(|nbf| nbf > now + leeway) {
        return Err(AuthzError::NotYetValid);
    }
    if numeric_date(&claims, "iat")?.is_some_and(|iat| iat > now + leeway) {
        return Err(AuthzError::IssuedInFuture);
    }
    let aud_ok = match claims.get("aud") {
        None if strict => return Err(AuthzError::MissingClaim("aud")),
        None => true,
        Some(Value::String(a)) => audiences.iter().any(|x| x == a),
        Some(Value::Array(list)) if !list.is_empty() => {
            let mut any = false;
            for a in list {
                let a = a.as_str().ok_or(AuthzError::InvalidClaim("aud"))?;
                any |= audiences.iter().any(|x| x == a);
            }
            any
        }
        Some(_) => return Err(AuthzError::InvalidClaim("aud")),
    };
    if !aud_ok {
        return Err(AuthzError::AudienceMismatch);
    }
    let sub = optional_string(&claims, "sub")?;
    let client_id = optional_string(&claims, "client_id")?;
    if sub.is_none() && client_id.is_none() {
        return Err(AuthzError::MissingClaim("sub"));
    }
    let scopes = scopes(&claims)?;
    trace.sub = sub
        .as_deref()
        .or(client_id.as_deref())
        .map(|s| crate::jwks::truncate(s).to_owned());
    Ok(Claims {
        iss: issuer.to_owned(),
        sub,
        client_id,
        scopes,
        all: claims,
    })
}

/// The JOSE name of a supported algorithm (`RS256`, `EdDSA`, ...); empty for any other.
pub fn alg_name(alg: Algorithm) -> &'static str {
    use Algorithm::*;
    match alg {
        RS256 => "RS256",
        RS384 => "RS384",
        RS512 => "RS512",
        PS256 => "PS256",
        PS384 => "PS384",
        PS512 => "PS512",
        ES256 => "ES256",
        ES384 => "ES384",
        EdDSA => "EdDSA",
        // HMAC and anything added later: never accepted, never named.
        _ => "",
    }
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

fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<f64>, AuthzError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or(AuthzError::InvalidClaim(name)),
        Some(_) => Err(AuthzError::InvalidClaim(name)),
    }
}

fn optional_string(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, AuthzError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(AuthzError::InvalidClaim(name)),
    }
}

fn scopes(claims: &Map<String, Value>) -> Result<Vec<String>, AuthzError> {
    let mut out: Vec<String> = Vec::new();
    match claims.get("scope") {
        None => {}
        Some(Value::String(s)) => {
            out.extend(s.split(' ').filter(|s| !s.is_empty()).map(str::to_owned))
        }
        Some(_) => return Err(AuthzError::InvalidClaim("scope")),
    }
    match claims.get("scp") {
        None => {}
        Some(Value::String(s)) => {
            out.extend(s.split(' ').filter(|s| !s.is_empty()).map(str::to_owned))
        }
        Some(Value::Array(list)) => {
            for v in list {
                out.push(
                    v.as_str()
                        .ok_or(AuthzError::InvalidClaim("scp"))?
                        .to_owned(),
                );
            }
        }
        Some(_) => return Err(AuthzError::InvalidClaim("scp")),
    }
    out.dedup();
    Ok(out)
}

/// The current time in seconds since the Unix epoch (wall clock; 0 if before it).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
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
    fn scopes_from_scope_and_scp() {
        let m = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert_eq!(
            scopes(&m(serde_json::json!({"scope": "a  b"}))),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            scopes(&m(serde_json::json!({"scp": ["x", "y"]}))),
            Ok(vec!["x".to_owned(), "y".to_owned()])
        );
        assert_eq!(
            scopes(&m(serde_json::json!({"scp": [1]}))),
            Err(AuthzError::InvalidClaim("scp"))
        );
    }
}
