//! RFC 7662 token introspection for opaque tokens.
//!
//! The client credentials come from an AWS Secrets Manager secret (`{"client_id",
//! "client_secret"}`), fetched at cold start, kept in memory, and fetched again (at most once per
//! cool-down) when the IdP answers `invalid_client`, so a rotated secret heals itself. Answers are
//! cached under the SHA-256 of the token (never the token): active ones until the earlier of the
//! configured TTL and the token's `exp`, inactive ones for a short negative TTL. Any failure to get
//! an answer (IdP down, slow, 5xx, not JSON) fails closed and is not cached.
//!
//! Every call goes through the [`Fetch`] seam (the one HTTP path); the credentials come from a
//! [`SecretSource`]; endpoints not configured come from the issuer's [`Discoverer`].

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::{
    claims::{ClaimCheck, Claims, DEFAULT_SCOPE_CLAIMS, is_security_event},
    decision_log::{Trace, truncate},
    discovery::Discoverer,
    error::AuthzError,
    outbound::{Fetch, FormPost},
    secrets::{ClientCredentials, SecretSource},
};

/// How the introspection endpoint authenticates this authorizer (RFC 7662 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with the form-encoded client id and secret.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A bearer access token first obtained with the client-credentials grant.
    Bearer,
}

/// RFC 7662 introspection settings of one issuer.
#[derive(Debug, Clone)]
pub struct IntrospectionConfig {
    /// Secrets Manager secret (ARN or name) holding `{"client_id","client_secret"}`.
    pub secret_arn: String,
    /// Endpoint; `None`: `introspection_endpoint` from discovery.
    pub endpoint: Option<String>,
    /// Client authentication.
    pub auth: ClientAuth,
    /// Token endpoint for [`ClientAuth::Bearer`]; `None`: from discovery.
    pub token_endpoint: Option<String>,
    /// Scope requested with the client-credentials grant ([`ClientAuth::Bearer`]).
    pub scope: Option<String>,
    /// Upper bound on how long an active answer is reused (also bounded by the token's `exp`).
    pub cache_ttl: Duration,
    /// How long an inactive answer is reused.
    pub negative_ttl: Duration,
    /// Most answers kept in memory.
    pub max_entries: usize,
}

/// Largest introspection or token-endpoint answer accepted.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What the introspection endpoint said about one token.
#[derive(Debug, Clone)]
pub enum Answer {
    /// `"active": true`, with every member of the answer.
    Active(Arc<Map<String, Value>>),
    /// `"active": false`.
    Inactive,
}

/// Why a call got no usable answer.
#[derive(Debug)]
pub enum CallError {
    /// The IdP refused our credentials: worth one retry with a freshly fetched secret.
    InvalidClient,
    /// Anything else (the text is logged: it never holds the token or a secret).
    Failed(String),
}

/// RFC 7662 client of one issuer.
pub struct Introspector {
    issuer: String,
    config: IntrospectionConfig,
    fetch: Arc<dyn Fetch>,
    discovery: Arc<Discoverer>,
    secret: Arc<dyn SecretSource>,
    cooldown: Duration,
    creds: RwLock<Option<Arc<ClientCredentials>>>,
    /// Single-flight secret fetches; the time of the last one (cool-down).
    secret_fetch: tokio::sync::Mutex<Option<Instant>>,
    /// Access token for [`ClientAuth::Bearer`] and when to stop using it.
    bearer: tokio::sync::Mutex<Option<(String, Instant)>>,
    cache: Mutex<HashMap<[u8; 32], (Answer, Instant)>>,
}

impl fmt::Debug for Introspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspector")
            .field("issuer", &self.issuer)
            .field("auth", &self.config.auth)
            .finish()
    }
}

impl Introspector {
    /// A client for `issuer`; no I/O until [`warm`](Self::warm) or the first token. Calls go
    /// through `fetch`; endpoints not configured come from `discovery`; the secret is fetched
    /// again at most once per `cooldown`.
    pub fn new(
        issuer: String,
        config: IntrospectionConfig,
        fetch: Arc<dyn Fetch>,
        discovery: Arc<Discoverer>,
        secret: Arc<dyn SecretSource>,
        cooldown: Duration,
    ) -> Introspector {
        Introspector {
            issuer,
            config,
            fetch,
            discovery,
            secret,
            cooldown,
            creds: RwLock::new(None),
            secret_fetch: tokio::sync::Mutex::new(None),
            bearer: tokio::sync::Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Fetches the client credentials at cold start. Failure is logged, not fatal: opaque tokens
    /// get `Unauthorized` until the secret can be read (retried on demand, cool-down bounded).
    pub async fn warm(&self) -> bool {
        let loaded = self.refresh_secret(None).await;
        // The bearer mode's access token too, so the first opaque token pays no extra round trip.
        if loaded
            && self.config.auth == ClientAuth::Bearer
            && let Some(creds) = self.credentials().await
            && self.access_token(&creds).await.is_err()
        {
            tracing::warn!(iss = %self.issuer, "could not get the introspection access token at cold start");
        }
        loaded
    }

    /// Introspects `token` (answers cached) and checks the claims against `check` as for a JWT,
    /// where present.
    pub async fn introspect(
        &self,
        token: &str,
        check: ClaimCheck<'_>,
        trace: &mut Trace,
    ) -> Result<Claims, AuthzError> {
        let now = check.now;
        trace.iss = Some(truncate(&self.issuer).to_owned());
        let key = digest(token);
        let answer = match self.cached(&key) {
            Some(answer) => answer,
            None => {
                let answer = self.call(token).await?;
                self.store(key, &answer, now);
                answer
            }
        };
        judge_with(&answer, check, trace)
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Answer> {
        let cache = self.cache.lock().ok()?;
        let (answer, until) = cache.get(key)?;
        (Instant::now() < *until).then(|| answer.clone())
    }

    fn store(&self, key: [u8; 32], answer: &Answer, now: f64) {
        let ttl = answer_ttl(answer, now, self.config.cache_ttl, self.config.negative_ttl);
        if ttl.is_zero() {
            return;
        }
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.len() >= self.config.max_entries {
            let now = Instant::now();
            cache.retain(|_, (_, until)| *until > now);
            if cache.len() >= self.config.max_entries {
                // Bounded memory beats a perfect hit rate: start over.
                cache.clear();
            }
        }
        cache.insert(key, (answer.clone(), Instant::now() + ttl));
    }

    /// One introspection, retried once with a fresh secret when the IdP says `invalid_client`.
    async fn call(&self, token: &str) -> Result<Answer, AuthzError> {
        let fail = |why: String| {
            tracing::warn!(iss = %self.issuer, error = %why, "introspection failed");
            AuthzError::IntrospectionFailed
        };
        let endpoint = match &self.config.endpoint {
            Some(e) => e.clone(),
            None => self
                .discovery
                .get()
                .await
                .map_err(fail)?
                .introspection_endpoint
                .clone()
                .ok_or_else(|| fail("discovery lists no introspection_endpoint".into()))?,
        };
        for attempt in 0..2 {
            let creds = self
                .credentials()
                .await
                .ok_or_else(|| fail("no client credentials (secret unavailable)".into()))?;
            match self.post(&endpoint, token, &creds).await {
                Ok(answer) => return Ok(answer),
                Err(CallError::InvalidClient) if attempt == 0 => {
                    tracing::warn!(iss = %self.issuer, "introspection: invalid_client; fetching the secret again");
                    *self.bearer.lock().await = None;
                    let renewed = self.refresh_secret(Some(&creds)).await;
                    // With the same secret, only the bearer mode can gain from a retry (a new
                    // access token); otherwise it would just be refused again.
                    if !renewed && self.config.auth != ClientAuth::Bearer {
                        return Err(fail("the IdP rejects our client credentials".into()));
                    }
                }
                Err(CallError::InvalidClient) => {
                    return Err(fail("the IdP rejects our client credentials".into()));
                }
                Err(CallError::Failed(why)) => return Err(fail(why)),
            }
        }
        Err(fail("the IdP rejects our client credentials".into()))
    }

    async fn post(
        &self,
        endpoint: &str,
        token: &str,
        creds: &ClientCredentials,
    ) -> Result<Answer, CallError> {
        let authorization = match self.config.auth {
            ClientAuth::ClientSecretBasic => Some(basic(creds)),
            ClientAuth::ClientSecretPost => None,
            ClientAuth::Bearer => Some(format!("Bearer {}", self.access_token(creds).await?)),
        };
        let form = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("token", token)
                .append_pair("token_type_hint", "access_token");
            if self.config.auth == ClientAuth::ClientSecretPost {
                form.append_pair("client_id", &creds.client_id)
                    .append_pair("client_secret", &creds.client_secret);
            }
            form.finish()
        };
        let (status, body) = self
            .send(FormPost {
                url: endpoint,
                authorization,
                accept: Some("application/json"),
                form,
                max_bytes: MAX_ANSWER_BYTES,
            })
            .await?;
        read_answer(status, &body)
    }

    async fn send(&self, post: FormPost<'_>) -> Result<(u16, Vec<u8>), CallError> {
        let resp = self
            .fetch
            .post_form(post)
            .await
            .map_err(CallError::Failed)?;
        Ok((resp.status, resp.body))
    }

    /// The client-credentials access token for [`ClientAuth::Bearer`], cached until 90% of its
    /// lifetime has passed.
    async fn access_token(&self, creds: &ClientCredentials) -> Result<String, CallError> {
        let mut slot = self.bearer.lock().await;
        if let Some((token, until)) = slot.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let endpoint = match &self.config.token_endpoint {
            Some(e) => e.clone(),
            None => self
                .discovery
                .get()
                .await
                .map_err(CallError::Failed)?
                .token_endpoint
                .clone()
                .ok_or_else(|| CallError::Failed("discovery lists no token_endpoint".into()))?,
        };
        let form = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if let Some(scope) = &self.config.scope {
                form.append_pair("scope", scope);
            }
            form.finish()
        };
        let (status, body) = self
            .send(FormPost {
                url: &endpoint,
                authorization: Some(basic(creds)),
                accept: None,
                form,
                max_bytes: MAX_ANSWER_BYTES,
            })
            .await?;
        if status == 401 || is_invalid_client(&body) {
            return Err(CallError::InvalidClient);
        }
        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: String,
            token_type: Option<String>,
            expires_in: Option<f64>,
        }
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .ok()
            .filter(|_| status == 200)
            .ok_or_else(|| {
                CallError::Failed(format!(
                    "token endpoint answered HTTP {status} without an access token"
                ))
            })?;
        // RFC 6749 §7.1: never use a token of a type we do not understand.
        if answer
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(CallError::Failed(
                "token endpoint issued a token that is not a Bearer token".into(),
            ));
        }
        let lifetime =
            Duration::from_secs_f64(answer.expires_in.unwrap_or(60.0).clamp(0.0, 86_400.0) * 0.9);
        *slot = Some((answer.access_token.clone(), Instant::now() + lifetime));
        Ok(answer.access_token)
    }

    async fn credentials(&self) -> Option<Arc<ClientCredentials>> {
        if let Some(c) = self.creds.read().ok()?.clone() {
            return Some(c);
        }
        self.refresh_secret(None).await;
        self.creds.read().ok()?.clone()
    }

    /// Fetches the secret, single-flight and at most once per cool-down. `rejected` is the
    /// credential the IdP just refused: if another caller already replaced it, nothing is fetched.
    async fn refresh_secret(&self, rejected: Option<&ClientCredentials>) -> bool {
        let mut last = self.secret_fetch.lock().await;
        let current = self.creds.read().ok().and_then(|c| c.clone());
        if let (Some(cur), Some(bad)) = (&current, rejected)
            && cur.client_secret != bad.client_secret
        {
            return true;
        }
        let now = Instant::now();
        if last.is_some_and(|t| now < t + self.cooldown) {
            return false;
        }
        *last = Some(now);
        match self.secret.fetch().await {
            Ok(creds) => {
                tracing::info!(iss = %self.issuer, client_id = %creds.client_id, "introspection client credentials loaded");
                if let Ok(mut slot) = self.creds.write() {
                    *slot = Some(Arc::new(creds));
                }
                true
            }
            Err(error) => {
                tracing::error!(iss = %self.issuer, error = %error, "cannot read the introspection client secret");
                false
            }
        }
    }
}

/// Reads an introspection answer (RFC 7662 §2.2) from its status and body. Pure (fuzzed): any
/// input gives an answer or an error, never a panic.
pub fn read_answer(status: u16, body: &[u8]) -> Result<Answer, CallError> {
    if status == 401 || is_invalid_client(body) {
        return Err(CallError::InvalidClient);
    }
    if status != 200 {
        return Err(CallError::Failed(format!(
            "introspection answered HTTP {status}"
        )));
    }
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Err(CallError::Failed(
            "introspection answer is not a JSON object".into(),
        ));
    };
    match map.get("active") {
        Some(Value::Bool(true)) => Ok(Answer::Active(Arc::new(map))),
        Some(Value::Bool(false)) => Ok(Answer::Inactive),
        _ => Err(CallError::Failed(
            "introspection answer has no boolean `active`".into(),
        )),
    }
}

/// How long an answer is reused: inactive ones `negative_ttl`; active ones `cache_ttl`, cut to
/// what is left of the token's `exp` (seconds since the epoch, as `now`). Pure (fuzzed): no
/// number from the IdP may panic (`exp: 1e20` is far away, not an overflow; a negative or
/// non-number `exp` reuses nothing beyond `cache_ttl`, and the claim check refuses it anyway).
pub fn answer_ttl(
    answer: &Answer,
    now: f64,
    cache_ttl: Duration,
    negative_ttl: Duration,
) -> Duration {
    match answer {
        Answer::Inactive => negative_ttl,
        Answer::Active(claims) => match claims.get("exp").and_then(Value::as_f64) {
            None => cache_ttl,
            Some(exp) => {
                let left =
                    Duration::try_from_secs_f64((exp - now).max(0.0)).unwrap_or(Duration::MAX);
                cache_ttl.min(left)
            }
        },
    }
}

/// The decision on an answer: inactive is refused; an active one must be an access token
/// ([`is_access_token`]), name no other issuer, and pass the claim checks of a JWT where its
/// claims are present. Pure (fuzzed). The claim check is an issuer's with `audiences` and the
/// defaults otherwise (no client list, no tenant, the default scope claims).
pub fn judge(
    answer: &Answer,
    issuer: &str,
    audiences: &[String],
    now: f64,
    leeway: f64,
    trace: &mut Trace,
) -> Result<Claims, AuthzError> {
    let scope_claims = DEFAULT_SCOPE_CLAIMS.map(str::to_owned);
    let check = ClaimCheck {
        issuer,
        audiences,
        client_ids: &[],
        tenant: None,
        scope_claims: &scope_claims,
        accept_id_tokens: false,
        header_typ: None,
        now,
        leeway,
    };
    judge_with(answer, check, trace)
}

/// [`judge`] with the issuer's whole claim check (clients, tenant, scope claims): an inactive
/// answer, another issuer's, or one that is not an access token is refused before the claims.
fn judge_with(
    answer: &Answer,
    check: ClaimCheck<'_>,
    trace: &mut Trace,
) -> Result<Claims, AuthzError> {
    let claims = match answer {
        Answer::Inactive => return Err(AuthzError::InactiveToken),
        Answer::Active(claims) => claims,
    };
    if claims
        .get("iss")
        .is_some_and(|iss| iss.as_str() != Some(check.issuer))
    {
        return Err(AuthzError::UnknownIssuer);
    }
    if !is_access_token(claims) {
        return Err(AuthzError::NotAccessToken);
    }
    check.introspected((**claims).clone(), trace)
}

/// Accepted spellings of "this is an access token", per member, compared case-insensitively.
/// RFC 7662 §2.2 `token_type` (RFC 6749 §7.1 type, or an RFC 8693 token-type URI), Ory Hydra's
/// `token_use`, Amazon Cognito's `token_use`, Keycloak's `typ` (`Bearer`; `Refresh`, `ID`,
/// `Offline` are other kinds of token) and RFC 9068's `at+jwt`.
const ACCESS_TOKEN_TYPES: [(&str, &[&str]); 3] = [
    (
        "token_type",
        &[
            "bearer",
            "access_token",
            "urn:ietf:params:oauth:token-type:access_token",
        ],
    ),
    ("token_use", &["access_token", "access"]),
    ("typ", &["bearer", "at+jwt", "application/at+jwt"]),
];

/// Whether an active answer is about an access token. RFC 7662 §2.1 lets the server ignore our
/// `token_type_hint=access_token`, so a refresh token (or an ID token) can come back
/// `"active": true`: each of `token_type`, `token_use` and `typ`, when present, must name an
/// access token, or the answer is refused (fail closed: an unknown kind is not an access token).
/// `token_type` `DPoP` (RFC 9449 §6.2: a DPoP-bound access token) passes only with the key it
/// is bound to, `cnf.jkt`, which the sender-constraint check then holds the request's proof
/// to (`dpop::check_binding`); without it the binding could not be checked. An answer with an
/// `events` claim is a security event token's, never an access token's
/// ([`is_security_event`]). An answer with none of them is taken as an access token, which is
/// what was asked for.
pub fn is_access_token(claims: &Map<String, Value>) -> bool {
    let dpop_bound = claims
        .get("cnf")
        .and_then(|cnf| cnf.get("jkt"))
        .and_then(Value::as_str)
        .is_some_and(|jkt| !jkt.is_empty());
    !is_security_event(claims)
        && ACCESS_TOKEN_TYPES
            .iter()
            .all(|(member, accepted)| match claims.get(*member) {
                None => true,
                Some(Value::String(kind)) => {
                    accepted.iter().any(|a| kind.eq_ignore_ascii_case(a))
                        || (*member == "token_type"
                            && dpop_bound
                            && kind.eq_ignore_ascii_case("dpop"))
                }
                Some(_) => false,
            })
}

/// `Authorization: Basic` with the client id and secret form-encoded first (RFC 6749 §2.3.1).
fn basic(creds: &ClientCredentials) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            enc(&creds.client_id),
            enc(&creds.client_secret)
        ))
    )
}

fn is_invalid_client(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .is_ok_and(|v| v.get("error").and_then(Value::as_str) == Some("invalid_client"))
}

fn digest(token: &str) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn basic_auth_form_encodes_first() {
        let c = ClientCredentials {
            client_id: "my client".into(),
            client_secret: "p@ss:w/rd".into(),
        };
        let got = basic(&c);
        let decoded = STANDARD
            .decode(got.trim_start_matches("Basic "))
            .unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&decoded),
            "my+client:p%40ss%3Aw%2Frd"
        );
        assert!(!format!("{c:?}").contains("p@ss"), "Debug hides the secret");
    }

    fn active(json: Value) -> Map<String, Value> {
        let mut map = json.as_object().cloned().unwrap_or_default();
        map.insert("active".into(), Value::Bool(true));
        map
    }

    #[test]
    fn only_access_tokens_pass() {
        for ok in [
            serde_json::json!({}),
            serde_json::json!({"token_type": "Bearer"}),
            serde_json::json!({"token_type": "access_token"}),
            serde_json::json!({"token_use": "access_token", "token_type": "bearer"}),
            serde_json::json!({"token_use": "access"}),
            serde_json::json!({"typ": "Bearer"}),
            // RFC 9449 §6.2: DPoP-bound, with the key the request's proof must be of.
            serde_json::json!({"token_type": "DPoP", "cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}),
            serde_json::json!({"token_type": "Bearer", "cnf": {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}),
        ] {
            assert!(is_access_token(&active(ok.clone())), "{ok}");
        }
        for bad in [
            serde_json::json!({"token_type": "refresh_token"}),
            serde_json::json!({"token_type": "urn:ietf:params:oauth:token-type:refresh_token"}),
            serde_json::json!({"token_type": "DPoP"}),
            serde_json::json!({"token_type": "DPoP", "cnf": {}}),
            serde_json::json!({"token_type": "DPoP", "cnf": {"jkt": ""}}),
            serde_json::json!({"token_type": "DPoP", "cnf": {"jkt": 1}}),
            serde_json::json!({"token_type": "DPoP", "cnf": {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}),
            serde_json::json!({"token_type": "DPoP", "cnf": {"jkt": "x"}, "token_use": "refresh_token"}),
            serde_json::json!({"token_type": "refresh_token", "cnf": {"jkt": "x"}}),
            serde_json::json!({"token_type": null}),
            serde_json::json!({"token_type": ["Bearer"]}),
            serde_json::json!({"token_use": "refresh_token"}),
            serde_json::json!({"token_use": "id"}),
            serde_json::json!({"token_type": "Bearer", "token_use": "refresh_token"}),
            serde_json::json!({"typ": "Refresh"}),
            serde_json::json!({"typ": "Offline"}),
            serde_json::json!({"typ": "ID"}),
            serde_json::json!({"token_type": "Bearer", "typ": "Refresh"}),
            serde_json::json!({"token_type": "Bearer", "events": {}}),
            serde_json::json!({"events": {"http://schemas.openid.net/event/backchannel-logout": {}}}),
        ] {
            assert!(!is_access_token(&active(bad.clone())), "{bad}");
        }
    }

    #[test]
    fn huge_or_odd_exp_never_panics_the_cache_lifetime() {
        let (ttl, neg) = (Duration::from_secs(300), Duration::from_secs(5));
        let at = |exp: Value| {
            answer_ttl(
                &Answer::Active(Arc::new(active(serde_json::json!({"exp": exp})))),
                1.7e9,
                ttl,
                neg,
            )
        };
        assert_eq!(at(serde_json::json!(1e20)), ttl);
        assert_eq!(at(serde_json::json!(1.7976931348623157e308)), ttl);
        assert_eq!(at(serde_json::json!(u64::MAX)), ttl);
        assert_eq!(at(serde_json::json!(-1e300)), Duration::ZERO);
        assert_eq!(at(serde_json::json!(1.7e9 + 10.0)), Duration::from_secs(10));
        assert_eq!(at(serde_json::json!("soon")), ttl);
        assert_eq!(answer_ttl(&Answer::Inactive, 0.0, ttl, neg), neg);
    }

    #[test]
    fn invalid_client_detection() {
        assert!(is_invalid_client(
            br#"{"error":"invalid_client","error_description":"x"}"#
        ));
        assert!(!is_invalid_client(br#"{"error":"invalid_request"}"#));
        assert!(!is_invalid_client(b"<html>"));
    }
}
