//! Signing keys: JWKS parsing and the per-issuer key cache.
//!
//! The cache is filled at cold start ([`IssuerKeys::refresh_now`]) so the hot path is a map
//! lookup. It honours Cache-Control / Expires within bounds, and keeps serving the last good keys
//! for a bounded stale window while the IdP cannot be reached. Fetches are single-flight. An
//! unknown `kid` right after a good fetch (cold start, routine refresh, a found rotation) triggers
//! one refetch, so a newly published key works at once; only a failed lookup (the `kid` still
//! unknown, or the fetch failed) starts the penalty window (the cool-down), during which nothing
//! is fetched: an unknown-`kid` flood costs one fetch per cool-down. Routine refreshes of expired
//! keys are at least a cool-down apart. All I/O goes through [`Fetch`], JWKS GETs through the one
//! [`JwksFetcher`] every issuer shares (issuers with one JWKS URI fetched at once make one GET);
//! the JWKS location comes from the configuration or from [`Discoverer`].

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use jsonwebtoken::Algorithm;
use serde::Deserialize;
use tokio::time::Instant;

use crate::{
    decision_log::truncate,
    discovery::Discoverer,
    error::AuthzError,
    jwk::{VerifyKey, parse_jwk},
    outbound::{Fetch, HttpResponse},
};

/// JWKS cache bounds.
#[derive(Debug, Clone)]
pub struct JwksSettings {
    /// Lower bound on the cache lifetime taken from Cache-Control / Expires.
    pub min_ttl: Duration,
    /// Upper bound on it: a removed key stops working at most this long after removal.
    pub max_ttl: Duration,
    /// Lifetime when the response carries no caching headers.
    pub default_ttl: Duration,
    /// How long past expiry cached keys keep serving while the IdP cannot be reached.
    pub stale: Duration,
    /// Penalty window after a failed lookup (unknown `kid` after a refetch, failed fetch): no
    /// fetch during it. Also the least time between two routine refreshes of expired keys.
    pub cooldown: Duration,
    /// Largest JWKS or discovery body accepted.
    pub max_bytes: usize,
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

/// Parses a JWKS document. Keys that are not for signatures, of an unsupported type, RSA under
/// 2048 bits or malformed are skipped (counted in the second value); a duplicate `kid` keeps
/// the first key.
pub fn parse_jwks(
    body: &[u8],
    allowed: &[Algorithm],
) -> Result<(HashMap<String, Arc<VerifyKey>>, usize), String> {
    let raw: RawJwks =
        serde_json::from_slice(body).map_err(|e| format!("JWKS is not valid JSON: {e}"))?;
    let mut keys = HashMap::with_capacity(raw.keys.len());
    let mut skipped = 0;
    for value in raw.keys {
        match parse_jwk(value, allowed) {
            Ok((kid, key)) if !keys.contains_key(&kid) => {
                keys.insert(kid, Arc::new(key));
            }
            Ok((kid, _)) => {
                tracing::warn!(kid = %truncate(&kid), "duplicate kid in JWKS; keeping the first");
                skipped += 1;
            }
            Err(why) => {
                tracing::debug!(why, "JWK skipped");
                skipped += 1;
            }
        }
    }
    Ok((keys, skipped))
}

/// Cache lifetime from `Cache-Control: max-age` or `Expires`, clamped to the configured bounds.
pub fn cache_ttl(resp: &HttpResponse, s: &JwksSettings) -> Duration {
    let from_cc = resp.cache_control.as_deref().and_then(|cc| {
        let mut max_age = None;
        for d in cc.split(',').map(|d| d.trim().to_ascii_lowercase()) {
            if d == "no-store" || d == "no-cache" {
                return Some(Duration::ZERO);
            }
            if let Some(v) = d.strip_prefix("max-age=") {
                max_age = Some(
                    v.trim_matches('"')
                        .parse::<u64>()
                        .map_or(Duration::ZERO, Duration::from_secs),
                );
            }
        }
        max_age
    });
    let ttl = from_cc.or_else(|| {
        let expires = resp.expires.as_deref()?;
        let Ok(at) = httpdate::parse_http_date(expires) else {
            return Some(Duration::ZERO);
        };
        let now = resp
            .date
            .as_deref()
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .unwrap_or_else(SystemTime::now);
        Some(at.duration_since(now).unwrap_or(Duration::ZERO))
    });
    ttl.unwrap_or(s.default_ttl).clamp(s.min_ttl, s.max_ttl)
}

/// The JWKS GETs of every issuer. Calls for one URI take turns, and a call that waited while a
/// GET of its URI completed takes that answer (or failure) instead of making its own: the
/// tenants of an Entra ID `{tenantid}` template sharing one JWKS, warmed at once, make one GET,
/// not one each. Calls for different URIs run in parallel.
#[derive(Debug)]
pub struct JwksFetcher {
    fetch: Arc<dyn Fetch>,
    max_bytes: usize,
    uris: Mutex<HashMap<String, Arc<UriFlight>>>,
}

/// The turns of one JWKS URI. GETs run one at a time (under `last`), numbered as they start.
#[derive(Debug, Default)]
struct UriFlight {
    /// How many GETs of the URI started.
    started: AtomicU64,
    /// The number of the last GET that completed (0: none).
    done: AtomicU64,
    /// Held during a GET; the answer of the last one.
    last: tokio::sync::Mutex<Option<Result<HttpResponse, String>>>,
}

impl JwksFetcher {
    /// GETs through `fetch`, refusing bodies over `max_bytes`.
    pub fn new(fetch: Arc<dyn Fetch>, max_bytes: usize) -> JwksFetcher {
        JwksFetcher {
            fetch,
            max_bytes,
            uris: Mutex::new(HashMap::new()),
        }
    }

    /// The answer of a GET of `uri`: its own, or another caller's. With `in_flight` (the cold
    /// start, where every issuer sharing a URI asks at once), any GET that completed after this
    /// call began; otherwise (a request looking for a key) only one that also started after this
    /// call began, never one already under way (it may predate the key rotation looked for).
    pub async fn get(&self, uri: &str, in_flight: bool) -> Result<HttpResponse, String> {
        let flight = {
            let mut uris = match self.uris.lock() {
                Ok(u) => u,
                Err(poisoned) => poisoned.into_inner(),
            };
            Arc::clone(uris.entry(uri.to_owned()).or_default())
        };
        let begun = flight.started.load(Ordering::Acquire);
        let seen = flight.done.load(Ordering::Acquire);
        let mut last = flight.last.lock().await;
        let done = flight.done.load(Ordering::Acquire);
        if (done > begun || (in_flight && done != seen))
            && let Some(answer) = last.as_ref()
        {
            return answer.clone();
        }
        // Numbered as it starts; `done` names the last that completed (a GET dropped midway,
        // e.g. past the cold-start bound, completes nothing).
        let number = flight.started.fetch_add(1, Ordering::AcqRel) + 1;
        let answer = self.fetch.get(uri, self.max_bytes).await;
        *last = Some(answer.clone());
        flight.done.store(number, Ordering::Release);
        answer
    }
}

#[derive(Debug)]
struct Snapshot {
    keys: HashMap<String, Arc<VerifyKey>>,
    generation: u64,
    /// `None`: never fetched.
    expires_at: Option<Instant>,
    stale_until: Option<Instant>,
}

/// The key cache of one issuer.
#[derive(Debug)]
pub struct IssuerKeys {
    issuer: String,
    configured_uri: Option<String>,
    discovery: Arc<Discoverer>,
    allowed: Vec<Algorithm>,
    settings: JwksSettings,
    jwks: Arc<JwksFetcher>,
    state: RwLock<Arc<Snapshot>>,
    /// Held during a fetch (single-flight).
    flight: tokio::sync::Mutex<Flight>,
}

/// When fetches may happen.
#[derive(Debug, Default)]
struct Flight {
    /// The last fetch attempt (routine refreshes are a cool-down apart).
    last_fetch: Option<Instant>,
    /// End of the penalty window a failed lookup started.
    penalty_until: Option<Instant>,
}

impl IssuerKeys {
    /// A cache with no keys yet; call [`refresh_now`](Self::refresh_now) at cold start. The
    /// keys are at `jwks_uri`, or where `discovery` says when it is `None`, fetched through
    /// `jwks` (shared by every issuer).
    pub fn new(
        issuer: String,
        jwks_uri: Option<String>,
        discovery: Arc<Discoverer>,
        allowed: Vec<Algorithm>,
        settings: JwksSettings,
        jwks: Arc<JwksFetcher>,
    ) -> IssuerKeys {
        IssuerKeys {
            issuer,
            configured_uri: jwks_uri,
            discovery,
            allowed,
            settings,
            jwks,
            state: RwLock::new(Arc::new(Snapshot {
                keys: HashMap::new(),
                generation: 0,
                expires_at: None,
                stale_until: None,
            })),
            flight: tokio::sync::Mutex::new(Flight::default()),
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        match self.state.read() {
            Ok(s) => Arc::clone(&s),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The key for `kid`: from the cache when fresh; otherwise after at most one refresh
    /// (single flight; none during a penalty window); stale keys serve until the stale bound when
    /// refresh fails.
    pub async fn key(&self, kid: &str) -> Result<Arc<VerifyKey>, AuthzError> {
        let snap = self.snapshot();
        let fresh = snap.expires_at.is_some_and(|t| Instant::now() < t);
        if fresh && let Some(k) = snap.keys.get(kid) {
            return Ok(Arc::clone(k));
        }
        self.refresh(snap.generation, kid, fresh).await;
        let snap = self.snapshot();
        let usable = snap.stale_until.is_some_and(|t| Instant::now() < t);
        match (snap.keys.get(kid), usable) {
            (Some(k), true) => Ok(Arc::clone(k)),
            (None, true) => Err(AuthzError::KidNotFound),
            (_, false) => Err(AuthzError::JwksUnavailable),
        }
    }

    /// Fetches now, ignoring the cool-down (cold start). Returns whether keys were loaded; a
    /// failure starts the penalty window.
    pub async fn refresh_now(&self) -> bool {
        let mut flight = self.flight.lock().await;
        flight.last_fetch = Some(Instant::now());
        let ok = self.fetch_and_store(true).await;
        flight.penalty_until = (!ok).then(|| Instant::now() + self.settings.cooldown);
        ok
    }

    /// Single-flight refresh for a request needing `kid`. `seen` is the generation the caller
    /// looked at: if another caller refreshed meanwhile, nothing is fetched. Nothing is fetched
    /// during a penalty window; a routine refresh (`lookup` false: the keys are expired) also waits
    /// a cool-down after the last fetch, while a lookup of an unknown `kid` in fresh keys does not
    /// (key rotation). The penalty window starts when the refresh does not yield `kid`.
    async fn refresh(&self, seen: u64, kid: &str, lookup: bool) {
        let mut flight = self.flight.lock().await;
        if self.snapshot().generation != seen {
            return;
        }
        let now = Instant::now();
        let cooldown = self.settings.cooldown;
        if flight.penalty_until.is_some_and(|t| now < t)
            || (!lookup && flight.last_fetch.is_some_and(|t| now < t + cooldown))
        {
            return;
        }
        flight.last_fetch = Some(now);
        let found = self.fetch_and_store(false).await && self.snapshot().keys.contains_key(kid);
        flight.penalty_until = (!found).then(|| Instant::now() + cooldown);
    }

    /// `in_flight`: a GET of the URI already under way may answer ([`JwksFetcher::get`]).
    async fn fetch_and_store(&self, in_flight: bool) -> bool {
        let started = Instant::now();
        match self.fetch_keys(in_flight).await {
            Ok((keys, skipped, ttl)) => {
                let count = keys.len();
                let now = Instant::now();
                let generation = self.snapshot().generation + 1;
                let snap = Snapshot {
                    keys,
                    generation,
                    expires_at: Some(now + ttl),
                    stale_until: Some(now + ttl + self.settings.stale),
                };
                match self.state.write() {
                    Ok(mut s) => *s = Arc::new(snap),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(snap),
                }
                tracing::info!(
                    iss = %self.issuer,
                    keys = count,
                    skipped,
                    ttl_s = ttl.as_secs(),
                    latency_us = started.elapsed().as_micros() as u64,
                    "jwks refreshed"
                );
                true
            }
            Err(error) => {
                // Say what is true: with no usable cached keys, every token is refused.
                let snap = self.snapshot();
                let serving =
                    !snap.keys.is_empty() && snap.stale_until.is_some_and(|t| Instant::now() < t);
                let message = if serving {
                    "jwks refresh failed; serving cached keys within the stale bound"
                } else if snap.keys.is_empty() {
                    "jwks refresh failed; no keys cached: tokens are refused until a refresh succeeds"
                } else {
                    "jwks refresh failed; cached keys past the stale bound: tokens are refused until a refresh succeeds"
                };
                tracing::warn!(
                    iss = %self.issuer,
                    error = %error,
                    latency_us = started.elapsed().as_micros() as u64,
                    "{message}"
                );
                false
            }
        }
    }

    async fn jwks_uri(&self) -> Result<String, String> {
        match &self.configured_uri {
            Some(uri) => Ok(uri.clone()),
            None => Ok(self.discovery.get().await?.jwks_uri.clone()),
        }
    }

    async fn fetch_keys(
        &self,
        in_flight: bool,
    ) -> Result<(HashMap<String, Arc<VerifyKey>>, usize, Duration), String> {
        let uri = self.jwks_uri().await?;
        let resp = self.jwks.get(&uri, in_flight).await?;
        if resp.status != 200 {
            return Err(format!("JWKS answered HTTP {}", resp.status));
        }
        let (keys, skipped) = parse_jwks(&resp.body, &self.allowed)?;
        Ok((keys, skipped, cache_ttl(&resp, &self.settings)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::alg;

    /// A `Fetch` whose GETs take `delay` and are counted.
    #[derive(Debug)]
    struct SlowCount {
        gets: std::sync::atomic::AtomicUsize,
        delay: Duration,
    }

    impl Fetch for SlowCount {
        fn get<'a>(&'a self, _url: &'a str, _max: usize) -> crate::outbound::FetchFuture<'a> {
            Box::pin(async move {
                let n = self.gets.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(self.delay).await;
                Ok(HttpResponse {
                    status: 200,
                    body: n.to_string().into_bytes(),
                    ..HttpResponse::default()
                })
            })
        }
        fn post_form<'a>(
            &'a self,
            _post: crate::outbound::FormPost<'a>,
        ) -> crate::outbound::FetchFuture<'a> {
            Box::pin(async { Err("no POST here".to_owned()) })
        }
    }

    /// Issue 22 review: a key lookup never takes the answer of a JWKS GET that was already under
    /// way when it began (it may predate the rotation it looks for); the cold start, where every
    /// issuer sharing a URI asks at once, does.
    #[tokio::test]
    async fn a_lookup_never_reuses_a_get_already_under_way() {
        for (in_flight, gets, second_body) in [(false, 2, "2"), (true, 1, "1")] {
            let fetch = Arc::new(SlowCount {
                gets: std::sync::atomic::AtomicUsize::new(0),
                delay: Duration::from_millis(150),
            });
            let jwks = Arc::new(JwksFetcher::new(fetch.clone(), 1024));
            let first = tokio::spawn({
                let jwks = Arc::clone(&jwks);
                async move { jwks.get("https://idp.example/jwks", true).await }
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
            let second = jwks
                .get("https://idp.example/jwks", in_flight)
                .await
                .unwrap();
            assert_eq!(first.await.unwrap().unwrap().body, b"1");
            assert_eq!(
                fetch.gets.load(Ordering::SeqCst),
                gets,
                "in_flight {in_flight}"
            );
            assert_eq!(second.body, second_body.as_bytes(), "in_flight {in_flight}");
        }
    }

    fn settings() -> JwksSettings {
        JwksSettings::default()
    }

    fn resp(cc: Option<&str>, expires: Option<&str>, date: Option<&str>) -> HttpResponse {
        HttpResponse {
            status: 200,
            body: vec![],
            cache_control: cc.map(str::to_owned),
            expires: expires.map(str::to_owned),
            date: date.map(str::to_owned),
        }
    }

    #[test]
    fn ttl_from_headers_within_bounds() {
        let s = settings();
        let secs = |r: HttpResponse| cache_ttl(&r, &s).as_secs();
        assert_eq!(secs(resp(None, None, None)), 600);
        assert_eq!(secs(resp(Some("public, max-age=900"), None, None)), 900);
        assert_eq!(
            secs(resp(Some("max-age=5"), None, None)),
            60,
            "clamped to min"
        );
        assert_eq!(
            secs(resp(Some("max-age=999999"), None, None)),
            3600,
            "clamped to max"
        );
        assert_eq!(secs(resp(Some("no-store"), None, None)), 60);
        assert_eq!(secs(resp(Some("max-age=abc"), None, None)), 60);
        let date = "Mon, 23 Nov 2026 10:00:00 GMT";
        assert_eq!(
            secs(resp(
                None,
                Some("Mon, 23 Nov 2026 10:20:00 GMT"),
                Some(date)
            )),
            1200
        );
        assert_eq!(secs(resp(None, Some("0"), Some(date))), 60);
        assert_eq!(
            secs(resp(
                Some("max-age=120"),
                Some("Mon, 23 Nov 2026 10:20:00 GMT"),
                Some(date)
            )),
            120,
            "max-age wins"
        );
    }

    #[test]
    fn jwks_parsing_skips_what_cannot_verify() {
        let all = alg::SUPPORTED_ALGORITHMS.to_vec();
        let body = br#"{"keys":[
            {"kty":"oct","kid":"h","k":"c2VjcmV0"},
            {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"small","n":"AQAB","e":"AQAB"},
            {"kty":"EC","kid":"p521","crv":"P-521","x":"AA","y":"AA"},
            {"kty":"EC","kid":"short","crv":"P-256","x":"AA","y":"AA"},
            {"kty":"OKP","kid":"x","crv":"X25519","x":"AA"},
            {"kty":"RSA","kid":"oaep","alg":"RSA-OAEP","n":"AQAB","e":"AQAB"},
            {"no":"kty"},
            42
        ]}"#;
        let (keys, skipped) = parse_jwks(body, &all).unwrap();
        assert!(keys.is_empty());
        assert_eq!(skipped, 9);
        assert!(parse_jwks(b"{}", &all).is_err());
        assert!(parse_jwks(b"<html>", &all).is_err());
    }
}
