//! Claim checks shared by verified JWTs and introspection answers: time claims with the leeway,
//! audience, subject, scopes. Pure: `now` is a value.

use serde_json::{Map, Value};

use crate::{
    error::AuthzError,
    log::{Trace, truncate},
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
    /// Scopes from `scope` (space-delimited) or `scp` (string or array), each once.
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

/// What the claims of one token are checked against.
#[derive(Debug, Clone, Copy)]
pub struct ClaimCheck<'a> {
    /// The issuer the token was verified for (becomes [`Claims::iss`]).
    pub issuer: &'a str,
    /// `aud` must contain one of these.
    pub audiences: &'a [String],
    /// Seconds since the Unix epoch.
    pub now: f64,
    /// Clock-skew allowance in seconds for `exp`, `nbf` and `iat`.
    pub leeway: f64,
}

/// Whether `exp` and `aud` must be present.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Presence {
    Required,
    IfPresent,
}

impl ClaimCheck<'_> {
    /// A JWT's claims (RFC 9068): `exp` and `aud` are required.
    pub fn jwt(&self, claims: Map<String, Value>, trace: &mut Trace) -> Result<Claims, AuthzError> {
        self.check(claims, Presence::Required, trace)
    }

    /// An introspection answer's claims (RFC 7662 makes them optional): `exp` and `aud` are
    /// checked where present.
    pub fn introspected(
        &self,
        claims: Map<String, Value>,
        trace: &mut Trace,
    ) -> Result<Claims, AuthzError> {
        self.check(claims, Presence::IfPresent, trace)
    }

    /// `exp`, `nbf` and `iat` with the leeway, `aud` containing one of `audiences`, a `sub` or
    /// `client_id`, and well-typed scopes.
    fn check(
        &self,
        claims: Map<String, Value>,
        presence: Presence,
        trace: &mut Trace,
    ) -> Result<Claims, AuthzError> {
        let (now, leeway, strict) = (self.now, self.leeway, presence == Presence::Required);
        let audiences = self.audiences;
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
            .map(|s| truncate(s).to_owned());
        Ok(Claims {
            iss: self.issuer.to_owned(),
            sub,
            client_id,
            scopes,
            all: claims,
        })
    }
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

/// The scopes of `scope` and `scp`, in order, each once.
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
    let mut seen = std::collections::HashSet::with_capacity(out.len());
    out.retain(|s| seen.insert(s.clone()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn scopes_from_scope_and_scp() {
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

    #[test]
    fn scopes_are_deduplicated_not_only_adjacent_ones() {
        assert_eq!(
            scopes(&m(
                serde_json::json!({"scope": "a b a", "scp": ["b", "c", "a"]})
            )),
            Ok(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()])
        );
    }

    #[test]
    fn jwt_requires_exp_and_aud_introspection_does_not() {
        let audiences = ["api".to_owned()];
        let check = ClaimCheck {
            issuer: "https://idp",
            audiences: &audiences,
            now: 1000.0,
            leeway: 5.0,
        };
        let mut trace = Trace::default();
        let bare = m(serde_json::json!({"sub": "alice"}));
        assert_eq!(
            check.jwt(bare.clone(), &mut trace).err(),
            Some(AuthzError::MissingClaim("exp"))
        );
        let c = check.introspected(bare, &mut trace);
        assert_eq!(c.map(|c| c.sub), Ok(Some("alice".to_owned())));
        assert_eq!(trace.sub.as_deref(), Some("alice"));
        let no_aud = m(serde_json::json!({"sub": "alice", "exp": 2000}));
        assert_eq!(
            check.jwt(no_aud, &mut trace).err(),
            Some(AuthzError::MissingClaim("aud"))
        );
        let wrong = m(serde_json::json!({"sub": "a", "aud": "other", "exp": 2000}));
        assert_eq!(
            check.introspected(wrong, &mut trace).err(),
            Some(AuthzError::AudienceMismatch)
        );
    }
}
