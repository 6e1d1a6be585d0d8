//! JWT verification (RFC 7515, RFC 7519, RFC 8725, RFC 9068) against the configured issuers, or
//! introspection for the issuer that takes opaque tokens.
//!
//! Every check is made here on purpose rather than through jsonwebtoken's `Validation`
//! defaults (60 s leeway, only `exp` required, `nbf` unchecked): jsonwebtoken is used for the
//! signature only. The order is: shape, header (`alg` allow-list, `crit`, `typ`, `kid`), issuer
//! (selects keys and allowed algorithms), key (must fit `alg`), signature, then claims. The
//! verifier is handed its key caches and introspector already built: it wires no I/O.

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
    sync::Arc,
    time::Duration,
};

use jsonwebtoken::Algorithm;

use crate::{
    claims::{ClaimCheck, Claims},
    decision_log::Trace,
    error::AuthzError,
    introspect::{IntrospectionConfig, Introspector},
    jwt::{ParsedJwt, looks_like_jwt, parse_jwt},
    keys::IssuerKeys,
};

/// One trusted issuer.
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    /// Exact expected `iss` (an issuer template is expanded, one entry per tenant).
    pub issuer: String,
    /// The token's `aud` must contain one of these; empty: `aud` is not checked (only with
    /// `client_ids`; with neither, every token is refused).
    pub audiences: Vec<String>,
    /// When non-empty, every client claim of the token (`client_id`, `azp`, `cid`, `appid`;
    /// at least one) must be one of these.
    pub client_ids: Vec<String>,
    /// When set, the token's `tid` must equal it (Entra ID multi-tenant: the tenant this
    /// issuer was expanded for).
    pub tenant: Option<String>,
    /// The claims whose values are the token's scopes (`scope`, `scp` by default).
    pub scope_claims: Vec<String>,
    /// Accept OIDC ID tokens too (a downgrade; see SECURITY.md).
    pub accept_id_tokens: bool,
    /// JWKS location; `None` means OIDC discovery at `{issuer}/.well-known/openid-configuration`.
    pub jwks_uri: Option<String>,
    /// Algorithms accepted for this issuer.
    pub algorithms: Vec<Algorithm>,
    /// Which tokens this issuer's are: JWTs, opaque, or either (by shape).
    pub token_format: TokenFormat,
    /// RFC 7662 introspection, for opaque tokens.
    pub introspection: Option<IntrospectionConfig>,
}

/// How an issuer's tokens are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormat {
    /// Local JWT verification only.
    Jwt,
    /// RFC 7662 introspection only.
    Opaque,
    /// JWT-shaped tokens locally, anything else by introspection.
    Auto,
}

/// One issuer with its key cache and, for opaque tokens, its introspector.
pub struct Issuer {
    /// Its settings.
    pub config: IssuerConfig,
    /// Its key cache.
    pub keys: IssuerKeys,
    /// Its introspection client, when it takes opaque tokens.
    pub introspector: Option<Introspector>,
}

impl Issuer {
    /// Fetches its keys (unless it takes only opaque tokens) and its introspection secret, at
    /// once. Whether both are ready.
    async fn warm(&self) -> bool {
        let keys = async {
            self.config.token_format == TokenFormat::Opaque || self.keys.refresh_now().await
        };
        let secret = async {
            match &self.introspector {
                Some(i) => i.warm().await,
                None => true,
            }
        };
        let (keys, secret) = tokio::join!(keys, secret);
        keys && secret
    }
}

/// The most time a cold start spends fetching discovery documents, keys and introspection
/// secrets, all issuers at once: well under Lambda's 10 s limit on a function's init, so a slow
/// IdP cannot keep the function from starting (with the longest HTTP timeouts, 9 s, discovery
/// then JWKS could take 18 s). What is not fetched by then is left to the first requests: the
/// issuer has no keys yet, its tokens are `Unauthorized` and a fetch is tried again after the
/// cool-down, as after a failed fetch. With the default timeouts (2 s a request), discovery then
/// JWKS end within it.
pub const COLD_START_FETCH_BOUND: Duration = Duration::from_secs(5);

/// Verifier-wide settings.
#[derive(Debug, Clone)]
pub struct VerifySettings {
    /// Clock-skew allowance for `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// When set, the header `typ` must equal it (RFC 9068: `at+jwt`).
    pub required_typ: Option<String>,
}

/// Verifies tokens against the configured issuers and their cached keys.
pub struct Verifier {
    issuers: HashMap<String, Arc<Issuer>>,
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
    /// A verifier over `issuers`, built by the caller.
    pub fn new(issuers: Vec<Issuer>, settings: VerifySettings) -> Verifier {
        let opaque = issuers
            .iter()
            .rev()
            .find(|i| i.config.token_format != TokenFormat::Jwt)
            .map(|i| i.config.issuer.clone());
        Verifier {
            issuers: issuers
                .into_iter()
                .map(|i| (i.config.issuer.clone(), Arc::new(i)))
                .collect(),
            opaque,
            leeway: settings.leeway.as_secs_f64(),
            required_typ: settings.required_typ,
        }
    }

    /// Fetches every issuer's keys, and the introspection secret, before the first request:
    /// all issuers at once, for at most [`COLD_START_FETCH_BOUND`]. Failures are logged, not
    /// fatal: the function answers `Unauthorized` until they arrive. Returns how many issuers are
    /// ready.
    pub async fn warm(&self) -> usize {
        let mut tasks = tokio::task::JoinSet::new();
        for entry in self.issuers.values() {
            let entry = Arc::clone(entry);
            tasks.spawn(async move { (entry.warm().await, entry.config.issuer.clone()) });
        }
        let mut pending: BTreeSet<&str> = self.issuers.keys().map(String::as_str).collect();
        let bound = tokio::time::sleep(COLD_START_FETCH_BOUND);
        tokio::pin!(bound);
        let mut ok = 0;
        loop {
            tokio::select! {
                done = tasks.join_next() => match done {
                    None => break,
                    Some(Ok((ready, issuer))) => {
                        ok += usize::from(ready);
                        pending.remove(issuer.as_str());
                    }
                    // A panicked task: the issuer stays pending, hence not ready.
                    Some(Err(_)) => {}
                },
                () = &mut bound => {
                    tasks.abort_all();
                    let pending = pending.into_iter().collect::<Vec<_>>().join(", ");
                    tracing::warn!(
                        bound_ms = COLD_START_FETCH_BOUND.as_millis() as u64,
                        pending = %pending,
                        "cold start: keys or introspection secret not fetched within the bound; \
                         tokens of these issuers are refused until a fetch after the cool-down \
                         succeeds"
                    );
                    break;
                }
            }
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
            let check = self.check(entry, now, audiences, None);
            return introspector.introspect(token, check, trace).await;
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
        let ParsedJwt {
            alg,
            kid,
            typ,
            iss,
            claims,
            signing_input_len,
            signature,
        } = parse_jwt(token, self.required_typ.as_deref(), trace)?;
        let entry = self.issuers.get(&iss).ok_or(AuthzError::UnknownIssuer)?;
        if !entry.config.algorithms.contains(&alg) {
            return Err(AuthzError::AlgorithmNotAllowed);
        }
        let key = entry.keys.key(&kid).await?;
        key.check_alg(alg)?;
        // The signing input is the first two segments exactly as received.
        key.verify(signature, &token.as_bytes()[..signing_input_len], alg)?;
        self.check(entry, now, audiences, typ.as_deref())
            .jwt(claims, trace)
    }

    /// What `entry`'s tokens' claims are checked against; `audiences` replaces its own.
    fn check<'a>(
        &self,
        entry: &'a Issuer,
        now: f64,
        audiences: Option<&'a [String]>,
        header_typ: Option<&'a str>,
    ) -> ClaimCheck<'a> {
        let c = &entry.config;
        ClaimCheck {
            issuer: &c.issuer,
            audiences: audiences.unwrap_or(&c.audiences),
            client_ids: &c.client_ids,
            tenant: c.tenant.as_deref(),
            scope_claims: &c.scope_claims,
            accept_id_tokens: c.accept_id_tokens,
            header_typ,
            now,
            leeway: self.leeway,
        }
    }
}

/// The current time in seconds since the Unix epoch (wall clock; 0 if before it).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
