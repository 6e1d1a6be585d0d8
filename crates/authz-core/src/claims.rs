//! Claim checks shared by verified JWTs and introspection answers: time claims with the leeway,
//! audience, subject, scopes. Pure: `now` is a value.

use serde_json::{Map, Value};

use crate::{
    decision_log::{Trace, truncate},
    error::AuthzError,
};

/// Verified claims of a token.
#[derive(Debug, Clone)]
pub struct Claims {
    /// `iss`.
    pub iss: String,
    /// `sub`, if present.
    pub sub: Option<String>,
    /// The client the token was issued to: the first present of `client_id`, `azp`, `cid`,
    /// `appid` (with `AUTHZ_CLIENT_ID` set, every one present was allowed), or, for an accepted
    /// ID token without them, its single `aud`.
    pub client_id: Option<String>,
    /// Scopes from the scope claims (default `scope` and `scp`; each a space-delimited string or
    /// an array of strings), in order, each once.
    pub scopes: Vec<String>,
    /// All claims as sent.
    pub all: Map<String, Value>,
}

impl Claims {
    /// `sub`, or the client when there is no `sub`.
    pub fn principal(&self) -> &str {
        self.sub
            .as_deref()
            .or(self.client_id.as_deref())
            .unwrap_or_default()
    }

    /// The claim `name`: an RFC 6901 JSON Pointer when it starts with `/`
    /// (`/realm_access/roles`), else the literal top-level claim (`cognito:groups`,
    /// `https://example.com/roles`).
    pub fn get(&self, name: &str) -> Option<&Value> {
        claim(&self.all, name)
    }
}

/// The claim `name` of `claims`: an RFC 6901 JSON Pointer when `name` starts with `/`, else the
/// literal top-level claim. A pointer that does not resolve is an absent claim.
pub fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    let Some(pointer) = name.strip_prefix('/') else {
        return claims.get(name);
    };
    let mut tokens = pointer.split('/').map(unescape);
    let mut at = claims.get(&tokens.next()?)?;
    for token in tokens {
        at = match at {
            Value::Object(map) => map.get(&token)?,
            Value::Array(items) => {
                // RFC 6901 §4: an array index is `0` or digits without a leading zero.
                if token.is_empty() || (token.len() > 1 && token.starts_with('0')) {
                    return None;
                }
                items.get(token.parse::<usize>().ok()?)?
            }
            _ => return None,
        };
    }
    Some(at)
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Checks a configured claim name: non-empty, and when it is a JSON Pointer, `~` only as the
/// escapes `~0` and `~1` (RFC 6901 §3). The error says what is wrong.
pub fn check_claim_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a claim name is empty".into());
    }
    if let Some(pointer) = name.strip_prefix('/') {
        let mut rest = pointer;
        while let Some(i) = rest.find('~') {
            if !matches!(rest.as_bytes().get(i + 1), Some(b'0' | b'1')) {
                return Err(format!(
                    "claim `{name}`: in a JSON Pointer `~` must be written `~0` and `/` in a \
                     name `~1` (RFC 6901)"
                ));
            }
            rest = &rest[i + 2..];
        }
    }
    Ok(())
}

/// The claims that name the client a token was issued to. When clients are configured, every
/// one present must name an allowed client; the first present is the token's client
/// ([`Claims::client_id`]).
pub const CLIENT_CLAIMS: [&str; 4] = ["client_id", "azp", "cid", "appid"];

/// Whether the claims are a security event token's (RFC 8417 §2.2: an `events` claim, whatever
/// its value): an OIDC back-channel logout token, a RISC or CAEP event. Such a token is never an
/// access token, whatever else it says (a logout token's header `typ` may be `JWT` or absent).
pub fn is_security_event(claims: &Map<String, Value>) -> bool {
    claims.contains_key("events")
}

/// The default scope claims (`AUTHZ_SCOPE_CLAIMS`).
pub const DEFAULT_SCOPE_CLAIMS: [&str; 2] = ["scope", "scp"];

/// What the claims of one token are checked against.
#[derive(Debug, Clone, Copy)]
pub struct ClaimCheck<'a> {
    /// The issuer the token was verified for (becomes [`Claims::iss`]).
    pub issuer: &'a str,
    /// `aud` must contain one of these. Empty: `aud` is not checked, which is allowed only with
    /// `client_ids` (otherwise every token is refused).
    pub audiences: &'a [String],
    /// When non-empty, every client claim of the token ([`CLIENT_CLAIMS`]) must be one of
    /// these, and there must be one.
    pub client_ids: &'a [String],
    /// When set, `tid` must equal it (an issuer expanded from a `{tenantid}` template).
    pub tenant: Option<&'a str>,
    /// The claims whose values are the token's scopes.
    pub scope_claims: &'a [String],
    /// Accept ID tokens (OIDC Core), not only access tokens.
    pub accept_id_tokens: bool,
    /// The JWT header's `typ`, if any (a hint of the token's kind).
    pub header_typ: Option<&'a str>,
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

/// What a token says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    /// An access token, or nothing says otherwise.
    Access,
    /// An OIDC ID token.
    Id,
    /// Something else: a refresh, logout or DPoP token, a security event…
    Other,
}

impl ClaimCheck<'_> {
    /// A JWT's claims (RFC 9068): `exp` is required, and `aud` unless only clients are checked.
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

    /// The token's kind, from the header `typ` and the claims that say it: an `events` claim
    /// ([`is_security_event`]), Cognito's `token_use`, Keycloak's `typ` claim, and the claims
    /// only an ID token has.
    fn kind(&self, claims: &Map<String, Value>) -> Result<TokenKind, AuthzError> {
        if is_security_event(claims) {
            return Ok(TokenKind::Other);
        }
        let mut access_marker = false;
        if let Some(typ) = self.header_typ {
            let typ = typ.to_ascii_lowercase();
            match typ.strip_prefix("application/").unwrap_or(&typ) {
                // RFC 7519 §5.1 `JWT`, RFC 7515 §4.1.9 `JOSE`: generic, they say nothing.
                "jwt" | "jose" => {}
                "at+jwt" => access_marker = true,
                _ => return Ok(TokenKind::Other),
            }
        }
        let mut kind = TokenKind::Access;
        // Cognito `token_use` (`access`, `id`; Hydra's introspection: `access_token`,
        // `refresh_token`), Keycloak's `typ` claim (`Bearer`, `ID`, `Refresh`, `Logout`, …).
        type Marker = (
            &'static str,
            &'static [&'static str],
            &'static [&'static str],
        );
        const MARKERS: [Marker; 2] = [
            (
                "token_use",
                &["access", "access_token"],
                &["id", "id_token"],
            ),
            // `at+jwt`: an introspection answer may name the RFC 9068 type (RFC 7662 `typ`).
            ("typ", &["bearer", "at+jwt", "application/at+jwt"], &["id"]),
        ];
        for (name, access, id) in MARKERS {
            match claims.get(name) {
                None => {}
                Some(Value::String(v)) => {
                    let v = v.to_ascii_lowercase();
                    if access.contains(&v.as_str()) {
                        access_marker = true;
                    } else if id.contains(&v.as_str()) {
                        kind = TokenKind::Id;
                    } else {
                        return Ok(TokenKind::Other);
                    }
                }
                Some(_) => return Err(AuthzError::InvalidClaim(name)),
            }
        }
        if kind == TokenKind::Id && access_marker {
            return Ok(TokenKind::Other); // it says both: trust neither
        }
        if !access_marker
            && ["at_hash", "c_hash", "s_hash", "nonce"]
                .iter()
                .any(|c| claims.contains_key(*c))
        {
            kind = TokenKind::Id;
        }
        Ok(kind)
    }

    /// `exp`, `nbf` and `iat` with the leeway, the token's kind, `aud` containing one of
    /// `audiences`, the client, the tenant, a `sub` or client, and well-typed scopes.
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
        let kind = self.kind(&claims)?;
        match kind {
            TokenKind::Access => {}
            TokenKind::Id if self.accept_id_tokens => {}
            TokenKind::Id | TokenKind::Other => return Err(AuthzError::NotAccessToken),
        }
        let aud = audience_list(&claims)?;
        match (&aud, audiences.is_empty()) {
            // Only the client is checked: `aud` may be absent.
            (_, true) if !self.client_ids.is_empty() => {}
            (_, true) => return Err(AuthzError::AudienceMismatch),
            (None, false) if strict => return Err(AuthzError::MissingClaim("aud")),
            (None, false) => {}
            (Some(list), false) => {
                if list.is_empty() {
                    return Err(AuthzError::InvalidClaim("aud"));
                }
                if !list.iter().any(|a| audiences.iter().any(|x| x == a)) {
                    return Err(AuthzError::AudienceMismatch);
                }
            }
        }
        // Every client claim present, in order: none may be skipped (a custom `client_id` must
        // not override Okta's `cid` or Entra ID's `azp`/`appid`).
        let mut clients = Vec::with_capacity(1);
        for name in CLIENT_CLAIMS {
            if let Some(c) = optional_string(&claims, name)? {
                clients.push(c);
            }
        }
        if clients.is_empty() && kind == TokenKind::Id {
            // OIDC Core §2: an ID token's `aud` holds its client.
            if let Some([one]) = aud.as_deref() {
                clients.push((*one).to_owned());
            }
        }
        if !self.client_ids.is_empty() {
            if clients.is_empty() {
                return Err(AuthzError::MissingClaim("client_id"));
            }
            if !clients.iter().all(|c| self.client_ids.contains(c)) {
                return Err(AuthzError::ClientMismatch);
            }
        }
        let client_id = clients.into_iter().next();
        if let Some(tenant) = self.tenant {
            match optional_string(&claims, "tid")? {
                Some(tid) if tid == tenant => {}
                Some(_) => return Err(AuthzError::InvalidClaim("tid")),
                None => return Err(AuthzError::MissingClaim("tid")),
            }
        }
        let sub = optional_string(&claims, "sub")?;
        if sub.is_none() && client_id.is_none() {
            return Err(AuthzError::MissingClaim("sub"));
        }
        let scopes = scopes(&claims, self.scope_claims)?;
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

/// `aud` as a list (a string is a list of one); `None` when absent.
fn audience_list(claims: &Map<String, Value>) -> Result<Option<Vec<&str>>, AuthzError> {
    match claims.get("aud") {
        None => Ok(None),
        Some(Value::String(a)) => Ok(Some(vec![a.as_str()])),
        Some(Value::Array(list)) => list
            .iter()
            .map(|a| a.as_str().ok_or(AuthzError::InvalidClaim("aud")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(AuthzError::InvalidClaim("aud")),
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

/// The scopes of the `scope_claims` (each a space-delimited string or an array of strings), in
/// order, each once.
fn scopes(claims: &Map<String, Value>, scope_claims: &[String]) -> Result<Vec<String>, AuthzError> {
    let mut out: Vec<String> = Vec::new();
    for name in scope_claims {
        match claim(claims, name) {
            None => {}
            Some(Value::String(s)) => {
                out.extend(s.split(' ').filter(|s| !s.is_empty()).map(str::to_owned))
            }
            Some(Value::Array(list)) => {
                for v in list {
                    let s = v.as_str().ok_or_else(|| invalid_scope_claim(name))?;
                    if !s.is_empty() {
                        out.push(s.to_owned());
                    }
                }
            }
            Some(_) => return Err(invalid_scope_claim(name)),
        }
    }
    let mut seen = std::collections::HashSet::with_capacity(out.len());
    out.retain(|s| seen.insert(s.clone()));
    Ok(out)
}

/// The error for a scope claim of the wrong type, naming the usual ones.
fn invalid_scope_claim(name: &str) -> AuthzError {
    AuthzError::InvalidClaim(match name {
        "scope" => "scope",
        "scp" => "scp",
        "permissions" => "permissions",
        "roles" => "roles",
        "groups" => "groups",
        "cognito:groups" => "cognito:groups",
        _ => "a scope claim",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn default_scopes(claims: &Map<String, Value>) -> Result<Vec<String>, AuthzError> {
        scopes(claims, &DEFAULT_SCOPE_CLAIMS.map(str::to_owned))
    }

    const AUDIENCES: [String; 0] = [];

    fn check<'a>(audiences: &'a [String], client_ids: &'a [String]) -> ClaimCheck<'a> {
        ClaimCheck {
            issuer: "https://idp",
            audiences,
            client_ids,
            tenant: None,
            scope_claims: &[],
            accept_id_tokens: false,
            header_typ: None,
            now: 1000.0,
            leeway: 5.0,
        }
    }

    #[test]
    fn scopes_from_scope_and_scp() {
        assert_eq!(
            default_scopes(&m(json!({"scope": "a  b"}))),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            default_scopes(&m(json!({"scp": ["x", "y"]}))),
            Ok(vec!["x".to_owned(), "y".to_owned()])
        );
        assert_eq!(
            default_scopes(&m(json!({"scp": [1]}))),
            Err(AuthzError::InvalidClaim("scp"))
        );
        assert_eq!(
            default_scopes(&m(json!({"scope": {"a": 1}}))),
            Err(AuthzError::InvalidClaim("scope"))
        );
    }

    #[test]
    fn scopes_are_deduplicated_not_only_adjacent_ones() {
        assert_eq!(
            default_scopes(&m(json!({"scope": "a b a", "scp": ["b", "c", "a"]}))),
            Ok(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()])
        );
    }

    #[test]
    fn configured_scope_claims_replace_the_default_and_may_be_pointers() {
        let claims = m(json!({
            "scope": "openid",
            "permissions": ["read:planets", "write:planets"],
            "cognito:groups": ["gold"],
            "realm_access": {"roles": ["admin"]},
        }));
        let names = ["permissions", "cognito:groups", "/realm_access/roles"].map(str::to_owned);
        assert_eq!(
            scopes(&claims, &names),
            Ok(["read:planets", "write:planets", "gold", "admin"]
                .map(str::to_owned)
                .to_vec())
        );
        let bad = m(json!({"roles": "x", "permissions": [true]}));
        assert_eq!(
            scopes(&bad, &["permissions".to_owned()]),
            Err(AuthzError::InvalidClaim("permissions"))
        );
    }

    #[test]
    fn claim_names_are_literal_or_json_pointers() {
        let claims = m(json!({
            "realm_access": {"roles": ["admin", "user"]},
            "resource_access": {"shop": {"roles": ["buyer"]}},
            "https://example.com/roles": ["editor"],
            "cognito:groups": ["gold"],
            "a.b": 1,
            "a": {"b": 2, "x/y": 3, "t~n": 4},
            "list": [10, 11],
        }));
        assert_eq!(
            claim(&claims, "/realm_access/roles"),
            Some(&json!(["admin", "user"]))
        );
        assert_eq!(
            claim(&claims, "/resource_access/shop/roles/0"),
            Some(&json!("buyer"))
        );
        assert_eq!(
            claim(&claims, "https://example.com/roles"),
            Some(&json!(["editor"]))
        );
        assert_eq!(claim(&claims, "cognito:groups"), Some(&json!(["gold"])));
        assert_eq!(claim(&claims, "a.b"), Some(&json!(1)), "dots are literal");
        assert_eq!(claim(&claims, "/a/b"), Some(&json!(2)));
        assert_eq!(claim(&claims, "/a/x~1y"), Some(&json!(3)));
        assert_eq!(claim(&claims, "/a/t~0n"), Some(&json!(4)));
        assert_eq!(claim(&claims, "/list/1"), Some(&json!(11)));
        for absent in [
            "/list/01",
            "/list/2",
            "/list/-",
            "/a/b/c",
            "/nope",
            "/",
            "realm_access.roles",
        ] {
            assert_eq!(claim(&claims, absent), None, "{absent}");
        }
        assert!(check_claim_name("/a/x~1y~0").is_ok());
        assert!(
            check_claim_name("https://example.com/roles~x").is_ok(),
            "literal"
        );
        assert!(check_claim_name("/a~2").is_err());
        assert!(check_claim_name("/a~").is_err());
        assert!(check_claim_name("").is_err());
    }

    #[test]
    fn jwt_requires_exp_and_aud_introspection_does_not() {
        let audiences = ["api".to_owned()];
        let check = check(&audiences, &[]);
        let mut trace = Trace::default();
        let bare = m(json!({"sub": "alice"}));
        assert_eq!(
            check.jwt(bare.clone(), &mut trace).err(),
            Some(AuthzError::MissingClaim("exp"))
        );
        let c = check.introspected(bare, &mut trace);
        assert_eq!(c.map(|c| c.sub), Ok(Some("alice".to_owned())));
        assert_eq!(trace.sub.as_deref(), Some("alice"));
        let no_aud = m(json!({"sub": "alice", "exp": 2000}));
        assert_eq!(
            check.jwt(no_aud, &mut trace).err(),
            Some(AuthzError::MissingClaim("aud"))
        );
        let wrong = m(json!({"sub": "a", "aud": "other", "exp": 2000}));
        assert_eq!(
            check.introspected(wrong, &mut trace).err(),
            Some(AuthzError::AudienceMismatch)
        );
    }

    #[test]
    fn client_ids_alone_make_aud_optional_and_both_must_hold_when_both_set() {
        let clients = ["app1".to_owned()];
        let audiences = ["api".to_owned()];
        let mut trace = Trace::default();
        let cognito =
            m(json!({"sub": "s", "client_id": "app1", "token_use": "access", "exp": 2000}));
        let c = check(&AUDIENCES, &clients).jwt(cognito.clone(), &mut trace);
        assert_eq!(c.map(|c| c.client_id), Ok(Some("app1".to_owned())));
        let other = m(json!({"sub": "s", "client_id": "app2", "exp": 2000}));
        assert_eq!(
            check(&AUDIENCES, &clients).jwt(other, &mut trace).err(),
            Some(AuthzError::ClientMismatch)
        );
        for (name, value) in [("azp", "app1"), ("cid", "app1"), ("appid", "app1")] {
            let mut t = m(json!({"sub": "s", "exp": 2000}));
            t.insert(name.into(), value.into());
            assert!(
                check(&AUDIENCES, &clients).jwt(t, &mut trace).is_ok(),
                "{name}"
            );
        }
        // `azp: app1` does not make up for `client_id: app2`: every client claim must hold.
        let both = m(json!({"sub": "s", "client_id": "app2", "azp": "app1", "exp": 2000}));
        assert_eq!(
            check(&AUDIENCES, &clients).jwt(both, &mut trace).err(),
            Some(AuthzError::ClientMismatch)
        );
        let none = m(json!({"sub": "s", "exp": 2000}));
        assert_eq!(
            check(&AUDIENCES, &clients).jwt(none, &mut trace).err(),
            Some(AuthzError::MissingClaim("client_id"))
        );
        // Both set: the audience must hold as well.
        assert_eq!(
            check(&audiences, &clients).jwt(cognito, &mut trace).err(),
            Some(AuthzError::MissingClaim("aud"))
        );
        let both_ok = m(json!({"sub": "s", "azp": "app1", "aud": ["x", "api"], "exp": 2000}));
        assert!(check(&audiences, &clients).jwt(both_ok, &mut trace).is_ok());
        // Neither: nothing is accepted (the configuration refuses this at load as well).
        let any = m(json!({"sub": "s", "aud": "api", "exp": 2000}));
        assert_eq!(
            check(&AUDIENCES, &[]).jwt(any, &mut trace).err(),
            Some(AuthzError::AudienceMismatch)
        );
    }

    #[test]
    fn non_access_tokens_are_refused_and_id_tokens_only_when_accepted() {
        let clients = ["app1".to_owned()];
        let mut trace = Trace::default();
        let base = json!({"sub": "s", "exp": 2000, "azp": "app1"});
        let with = |extra: Value| {
            let mut t = m(base.clone());
            t.extend(m(extra));
            t
        };
        let refused = [
            json!({"token_use": "id"}),
            json!({"token_use": "refresh"}),
            json!({"typ": "ID"}),
            json!({"typ": "Refresh"}),
            json!({"typ": "Logout"}),
            json!({"nonce": "n"}),
            json!({"at_hash": "h"}),
            json!({"token_use": "id", "typ": "Bearer"}),
        ];
        for extra in &refused {
            let c = check(&AUDIENCES, &clients).jwt(with(extra.clone()), &mut trace);
            assert_eq!(c.err(), Some(AuthzError::NotAccessToken), "{extra}");
        }
        let accepted = [
            json!({"token_use": "access"}),
            json!({"token_use": "access_token"}),
            json!({"typ": "Bearer"}),
            json!({"typ": "Bearer", "nonce": "n"}),
            json!({}),
        ];
        for extra in &accepted {
            let c = check(&AUDIENCES, &clients).jwt(with(extra.clone()), &mut trace);
            assert!(c.is_ok(), "{extra}: {c:?}");
        }
        assert_eq!(
            check(&AUDIENCES, &clients)
                .jwt(with(json!({"token_use": 1})), &mut trace)
                .err(),
            Some(AuthzError::InvalidClaim("token_use"))
        );
        for (typ, ok) in [
            ("JWT", true),
            ("JOSE", true),
            ("secevent+jwt", false),
            ("at+jwt", true),
            ("application/AT+JWT", true),
            ("logout+jwt", false),
            ("dpop+jwt", false),
        ] {
            let mut c = check(&AUDIENCES, &clients);
            c.header_typ = Some(typ);
            assert_eq!(c.jwt(with(json!({})), &mut trace).is_ok(), ok, "{typ}");
        }
        let mut at = check(&AUDIENCES, &clients);
        at.header_typ = Some("at+jwt");
        assert_eq!(
            at.jwt(with(json!({"token_use": "id"})), &mut trace).err(),
            Some(AuthzError::NotAccessToken),
            "says both"
        );
        // Accepted ID tokens: Cognito's carries its client in `aud`; refresh tokens stay refused.
        let mut ids = check(&AUDIENCES, &clients);
        ids.accept_id_tokens = true;
        let id = m(json!({"sub": "s", "exp": 2000, "aud": "app1", "token_use": "id"}));
        assert_eq!(
            ids.jwt(id, &mut trace).map(|c| c.client_id),
            Ok(Some("app1".to_owned()))
        );
        let other = m(json!({"sub": "s", "exp": 2000, "aud": "app2", "token_use": "id"}));
        assert_eq!(
            ids.jwt(other, &mut trace).err(),
            Some(AuthzError::ClientMismatch)
        );
        assert_eq!(
            ids.jwt(with(json!({"typ": "Refresh"})), &mut trace).err(),
            Some(AuthzError::NotAccessToken)
        );
    }

    /// Issue 22, item 4: a custom `client_id` does not override the IdP's own client claim
    /// (Okta `cid`, Entra ID `azp`/`appid`): every client claim present must be allowed.
    #[test]
    fn every_client_claim_present_must_name_an_allowed_client() {
        let clients = ["allowed-app".to_owned()];
        let mut trace = Trace::default();
        for own in ["azp", "cid", "appid"] {
            let mut t = m(json!({"sub": "s", "exp": 2000, "client_id": "allowed-app"}));
            t.insert(own.into(), "other-app".into());
            assert_eq!(
                check(&AUDIENCES, &clients).jwt(t, &mut trace).err(),
                Some(AuthzError::ClientMismatch),
                "{own}: other-app beside client_id: allowed-app"
            );
        }
        let two_allowed = ["a".to_owned(), "b".to_owned()];
        let both = m(json!({"sub": "s", "exp": 2000, "client_id": "a", "cid": "b"}));
        let c = check(&AUDIENCES, &two_allowed).jwt(both, &mut trace);
        assert_eq!(c.map(|c| c.client_id), Ok(Some("a".to_owned())));
        let all = m(json!({"sub": "s", "exp": 2000, "client_id": "allowed-app",
                           "azp": "allowed-app", "cid": "allowed-app", "appid": "allowed-app"}));
        assert!(check(&AUDIENCES, &clients).jwt(all, &mut trace).is_ok());
        // A later client claim of the wrong type is not skipped either.
        let odd = m(json!({"sub": "s", "exp": 2000, "client_id": "allowed-app", "appid": 7}));
        assert_eq!(
            check(&AUDIENCES, &clients).jwt(odd, &mut trace).err(),
            Some(AuthzError::InvalidClaim("appid"))
        );
    }

    /// Issue 22, item 5: an `events` claim makes a security event token (RFC 8417: a
    /// back-channel logout token, a RISC event), never an access token, whatever its header
    /// `typ` and even with an access-token marker.
    #[test]
    fn a_token_with_events_is_never_an_access_token() {
        let audiences = ["api".to_owned()];
        let mut trace = Trace::default();
        let logout = m(
            json!({"iss": "https://idp", "aud": "api", "iat": 900, "exp": 2000,
            "jti": "j", "sid": "s-1", "sub": "alice",
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}),
        );
        let risc = m(
            json!({"iss": "https://idp", "aud": "api", "iat": 900, "exp": 2000,
            "jti": "j", "sub": "alice", "events": {
                "https://schemas.openid.net/secevent/risc/event-type/account-disabled":
                    {"subject": {"subject_type": "iss-sub", "iss": "https://idp", "sub": "alice"}}}}),
        );
        for (name, token) in [("logout", &logout), ("risc", &risc)] {
            for typ in [None, Some("JWT"), Some("at+jwt")] {
                let mut c = check(&audiences, &[]);
                c.header_typ = typ;
                assert_eq!(
                    c.jwt(token.clone(), &mut trace).err(),
                    Some(AuthzError::NotAccessToken),
                    "{name}, typ {typ:?}"
                );
            }
            assert_eq!(
                check(&audiences, &[])
                    .introspected(token.clone(), &mut trace)
                    .err(),
                Some(AuthzError::NotAccessToken),
                "{name} introspected"
            );
        }
        let mut marked = logout.clone();
        marked.insert("typ".into(), "Bearer".into());
        let mut ids = check(&audiences, &[]);
        ids.accept_id_tokens = true;
        assert_eq!(
            ids.jwt(marked, &mut trace).err(),
            Some(AuthzError::NotAccessToken)
        );
    }

    #[test]
    fn tenant_must_match_tid() {
        let audiences = ["api".to_owned()];
        let mut c = check(&audiences, &[]);
        c.tenant = Some("t1");
        let mut trace = Trace::default();
        let token = |tid: Value| m(json!({"sub": "s", "aud": "api", "exp": 2000, "tid": tid}));
        assert!(c.jwt(token(json!("t1")), &mut trace).is_ok());
        assert_eq!(
            c.jwt(token(json!("t2")), &mut trace).err(),
            Some(AuthzError::InvalidClaim("tid"))
        );
        let none = m(json!({"sub": "s", "aud": "api", "exp": 2000}));
        assert_eq!(
            c.jwt(none, &mut trace).err(),
            Some(AuthzError::MissingClaim("tid"))
        );
    }
}
