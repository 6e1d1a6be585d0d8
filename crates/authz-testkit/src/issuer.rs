//! A fault-injectable OIDC issuer on `127.0.0.1`: discovery document and JWKS, over HTTP or
//! HTTPS (private CA), optionally also an OAuth 2.0 token endpoint and a bearer-authenticated
//! RFC 7662 introspection endpoint (ORY Hydra's older admin API style).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};
use std::time::{Duration, Instant};

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::server::{Accepts, Hangup, Reply, lock, response, serve_on};
use crate::tls::{PemFile, TestCa};

/// A complete response.
type Resp = http::Response<http_body_util::Full<bytes::Bytes>>;

/// A handler for the paths the issuer does not serve itself (see [`Issuer::set_fallback`]).
pub type Fallback = Arc<
    dyn Fn(Request<Incoming>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Reply> + Send>>
        + Send
        + Sync,
>;

/// Largest request body `/token` and `/introspect` read.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// `expires_in` of access tokens until [`Issuer::set_access_token_lifetime`].
const DEFAULT_ACCESS_TOKEN_LIFETIME: u64 = 3600;

/// A fault injected on one issuer endpoint.
#[derive(Clone, Debug, Default)]
pub enum Fault {
    /// Answer normally (the default).
    #[default]
    None,
    /// Answer with this status and a small text body.
    Status(u16),
    /// `200 OK` with a body that is not JSON.
    Garbage,
    /// `200 OK` with a body of exactly this many bytes: the valid JSON document `{"keys":[]}`
    /// padded with whitespace (so only a size limit rejects it), truncated if `n < 11`.
    Oversize(usize),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Read the request, then close the connection without answering (IdP "down").
    Close,
}

/// A loopback OIDC issuer with fault injection, serving `/.well-known/openid-configuration`
/// and `/jwks` (every other path is a 404).
///
/// Two options, both off by default:
/// * HTTPS ([`Issuer::start_tls`]): the certificate is for `127.0.0.1` (IP SAN), signed by a
///   private CA generated for this issuer, whose PEM is at [`Issuer::ca_pem_path`].
/// * Bearer introspection ([`Issuer::enable_bearer_introspection`]): one OAuth client may get
///   access tokens with the client-credentials grant at `POST /token` (HTTP Basic, RFC 6749
///   §2.3.1) and must send one as `Authorization: Bearer` to `POST /introspect` (RFC 7662),
///   which answers for the opaque tokens registered with [`Issuer::add_opaque_token`].
///
/// Cheap to clone (an `Arc` inside); the server stops when the last clone is dropped (and the
/// CA PEM file, if any, is removed then).
#[derive(Clone)]
pub struct Issuer(Arc<Inner>);

struct Inner {
    state: Arc<State>,
    url: String,
    ca: Option<(String, PemFile)>,
    accepts: Arc<Accepts>,
    /// The listener (plain or TLS), kept only so that dropping the issuer stops it.
    _server: Box<dyn std::any::Any + Send + Sync>,
}

#[derive(Default)]
struct State {
    config: Mutex<Config>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
    token_requests: AtomicUsize,
    introspection_requests: AtomicUsize,
    /// When the last `/jwks` answer was handed out since [`Issuer::reset_timing`].
    jwks_served: Mutex<Option<Instant>>,
}

#[derive(Default)]
struct Config {
    url: String,
    keys: Vec<Value>,
    jwks_fault: Fault,
    discovery_fault: Fault,
    token_fault: Fault,
    introspection_fault: Fault,
    down: bool,
    cache_control: Option<HeaderValue>,
    expires: Option<HeaderValue>,
    discovery_issuer: Option<String>,
    /// Members merged into the discovery document ([`Issuer::set_discovery_extra`]).
    discovery_extra: serde_json::Map<String, Value>,
    /// Serves the paths the issuer does not ([`Issuer::set_fallback`]).
    fallback: Option<Fallback>,
    /// `Some` once bearer introspection is enabled.
    client: Option<Client>,
    /// `expires_in` of new access tokens; `None` = [`DEFAULT_ACCESS_TOKEN_LIFETIME`].
    access_token_lifetime: Option<u64>,
    /// Access tokens issued at `/token` and not revoked, with their expiry (Unix seconds, with
    /// fractions: `expires_in` is short in tests).
    access_tokens: HashMap<String, f64>,
    /// Opaque tokens `/introspect` knows, with their claims.
    opaque: HashMap<String, Value>,
}

/// The one OAuth client of the bearer-introspection mode.
struct Client {
    id: String,
    secret: String,
}

/// Which endpoint a request is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Discovery,
    Jwks,
    Token,
    Introspect,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("url", &self.0.url)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// Binds `127.0.0.1:0` and serves in a background task on the current tokio runtime
    /// (works from `#[tokio::test]` with either runtime flavor). No keys until
    /// [`Issuer::set_keys`].
    pub async fn start() -> Issuer {
        let state = Arc::new(State::default());
        let served = state.clone();
        let accepts = Arc::new(Accepts::default());
        let server = serve_on(None, accepts.clone(), move |req| {
            handle(served.clone(), req)
        })
        .await;
        let url = format!("http://{}", server.addr);
        Issuer::new(state, url, None, accepts, Box::new(server))
    }

    /// [`Issuer::start`] over HTTPS: the issuer identifier is `https://127.0.0.1:PORT` and the
    /// server presents a certificate for the IP address `127.0.0.1` (IP SAN, no DNS name) signed
    /// by a private CA generated for this issuer alone ([`TestCa`]). Clients trust it only
    /// through [`Issuer::ca_pem_path`] / [`Issuer::ca_pem`] (e.g. `AUTHZ_CA_BUNDLE`); a client
    /// that does not fails the TLS handshake, and no request is counted.
    pub async fn start_tls() -> Issuer {
        let ca = TestCa::new();
        let state = Arc::new(State::default());
        let served = state.clone();
        let accepts = Arc::new(Accepts::default());
        let tls = Some(ca.loopback_server_config());
        let server = serve_on(tls, accepts.clone(), move |req| handle(served.clone(), req)).await;
        let url = format!("https://{}", server.addr);
        let pem = (ca.pem().to_owned(), ca.write_pem());
        Issuer::new(state, url, Some(pem), accepts, Box::new(server))
    }

    fn new(
        state: Arc<State>,
        url: String,
        ca: Option<(String, PemFile)>,
        accepts: Arc<Accepts>,
        server: Box<dyn std::any::Any + Send + Sync>,
    ) -> Issuer {
        state.config().url = url.clone();
        Issuer(Arc::new(Inner {
            state,
            url,
            ca,
            accepts,
            _server: server,
        }))
    }

    /// The issuer identifier, `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` for
    /// [`Issuer::start_tls`] (no trailing slash).
    pub fn url(&self) -> String {
        self.0.url.clone()
    }

    /// `{url}/jwks`.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.0.url)
    }

    /// `{url}/.well-known/openid-configuration`. The document served there is
    /// `{"issuer": url (or the override), "jwks_uri", "token_endpoint": "{url}/token",
    /// "id_token_signing_alg_values_supported": [...], "response_types_supported",
    /// "subject_types_supported"}`, plus `"introspection_endpoint": "{url}/introspect"` and
    /// `"grant_types_supported": ["client_credentials"]` while bearer introspection is enabled.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.0.url)
    }

    /// Sets the `"keys"` array served at `/jwks` (e.g. `vec![key.jwk()]`).
    pub fn set_keys(&self, jwks: Vec<Value>) {
        self.0.state.config().keys = jwks;
    }

    /// Injects `fault` on `/jwks` ([`Fault::None`] restores normal answers).
    pub fn set_jwks_fault(&self, fault: Fault) {
        self.0.state.config().jwks_fault = fault;
    }

    /// Injects `fault` on the discovery document ([`Fault::None`] restores normal answers).
    pub fn set_discovery_fault(&self, fault: Fault) {
        self.0.state.config().discovery_fault = fault;
    }

    /// While `down`, every request on every path gets [`Fault::Close`] (still counted).
    pub fn set_down(&self, down: bool) {
        self.0.state.config().down = down;
    }

    /// `Cache-Control` header on `/jwks` answers (default: none).
    pub fn set_jwks_cache_control(&self, value: Option<&str>) {
        self.0.state.config().cache_control = value.map(header_value);
    }

    /// `Expires` header on `/jwks` answers (default: none).
    pub fn set_jwks_expires(&self, value: Option<&str>) {
        self.0.state.config().expires = value.map(header_value);
    }

    /// Overrides the `"issuer"` in the discovery document (mismatch tests); `None` restores it.
    pub fn set_discovery_issuer(&self, issuer: Option<&str>) {
        self.0.state.config().discovery_issuer = issuer.map(str::to_owned);
    }

    /// Members merged over the discovery document (e.g. an `introspection_endpoint` served by a
    /// [`Issuer::set_fallback`] handler); an empty object restores the plain document.
    ///
    /// # Panics
    /// If `extra` is not a JSON object.
    pub fn set_discovery_extra(&self, extra: Value) {
        let Value::Object(extra) = extra else {
            panic!("Issuer::set_discovery_extra: a JSON object is needed");
        };
        self.0.state.config().discovery_extra = extra;
    }

    /// Hands every request for a path the issuer does not serve itself (everything but
    /// discovery and `/jwks`, and `/token` and `/introspect` while the bearer introspection mode
    /// is on) to `handler` instead of answering 404: a token endpoint or an introspection
    /// endpoint of the caller's own. [`Issuer::set_down`] still closes those connections.
    pub fn set_fallback(&self, handler: Fallback) {
        self.0.state.config().fallback = Some(handler);
    }

    /// Number of `/jwks` requests received, faulted ones included.
    pub fn jwks_fetches(&self) -> usize {
        self.0.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Number of discovery requests received, faulted ones included.
    pub fn discovery_fetches(&self) -> usize {
        self.0.state.discovery_fetches.load(Ordering::SeqCst)
    }

    /// Connections accepted so far; over HTTPS ([`Issuer::start_tls`]) each is one TLS
    /// handshake, so a client that reuses its connection for discovery and JWKS makes one.
    pub fn connections(&self) -> usize {
        self.0.accepts.count()
    }

    /// Starts a timing window: forgets when the first connection came in and when the last
    /// JWKS was served (see [`Issuer::fetch_window`]).
    pub fn reset_timing(&self) {
        self.0.accepts.reset();
        *lock(&self.0.state.jwks_served) = None;
    }

    /// Since the last [`Issuer::reset_timing`] (or the start): when the first connection was
    /// accepted and when the last `/jwks` answer was handed out, e.g. the span of a cold start's
    /// discovery + JWKS fetches, TLS handshakes included. `None` until both happened.
    pub fn fetch_window(&self) -> Option<(Instant, Instant)> {
        let first = self.0.accepts.first()?;
        let served = (*lock(&self.0.state.jwks_served))?;
        Some((first, served))
    }

    /// The PEM file of the CA that signed the server certificate, for [`Issuer::start_tls`]
    /// issuers (`None` for plain HTTP). A temporary file, removed when the last clone of the
    /// issuer is dropped.
    pub fn ca_pem_path(&self) -> Option<PathBuf> {
        self.0.ca.as_ref().map(|(_, file)| file.path().to_owned())
    }

    /// The same CA certificate as a PEM string (`None` for plain HTTP).
    pub fn ca_pem(&self) -> Option<String> {
        self.0.ca.as_ref().map(|(pem, _)| pem.clone())
    }

    /// `{url}/token`.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.0.url)
    }

    /// `{url}/introspect`.
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/introspect", self.0.url)
    }

    /// Turns on the Hydra-like bearer introspection mode with one OAuth client (calling it again
    /// replaces the client and revokes the access tokens issued so far):
    ///
    /// * `POST /token`, form `grant_type=client_credentials[&scope=…]`, client authenticated
    ///   with HTTP Basic over the form-encoded id and secret (RFC 6749 §2.3.1; a raw, unencoded
    ///   secret with `+`, `%`, … does not match): `200 {"access_token", "token_type":"Bearer",
    ///   "expires_in": N[, "scope"]}` (`Cache-Control: no-store`). A missing or wrong client:
    ///   `401 {"error":"invalid_client"}` with `WWW-Authenticate: Basic`; another grant type:
    ///   `400 {"error":"unsupported_grant_type"}`.
    /// * `POST /introspect`, form `token=…[&token_type_hint=…]`, with `Authorization: Bearer`
    ///   and an access token issued here, unexpired and not revoked (else `401
    ///   {"error":"invalid_client"}` with `WWW-Authenticate: Bearer`): for a token registered
    ///   with [`Issuer::add_opaque_token`] whose `exp` (if any) is not past, `200
    ///   {"active":true, "iss": url, "token_type":"Bearer", …its claims}`; for any other token
    ///   `200 {"active":false}`; without `token`, `400 {"error":"invalid_request"}`.
    ///
    /// Both answer 404 while the mode is off; other methods than `POST` get 405.
    pub fn enable_bearer_introspection(&self, client_id: &str, client_secret: &str) {
        let mut config = self.0.state.config();
        config.client = Some(Client {
            id: client_id.to_owned(),
            secret: client_secret.to_owned(),
        });
        config.access_tokens.clear();
    }

    /// Rotates the client secret of the bearer mode. Like an IdP that invalidates a client's
    /// grants when its credentials change, the access tokens issued so far stop working too (so
    /// a client holding one gets `invalid_client` at `/introspect`, and then at `/token` until
    /// it uses the new secret).
    ///
    /// # Panics
    /// If [`Issuer::enable_bearer_introspection`] was not called.
    pub fn set_client_secret(&self, client_secret: &str) {
        let mut config = self.0.state.config();
        let client = config
            .client
            .as_mut()
            .expect("Issuer::set_client_secret: call enable_bearer_introspection first");
        client.secret = client_secret.to_owned();
        config.access_tokens.clear();
    }

    /// Revokes every access token issued so far (the client and its secret are unchanged).
    pub fn revoke_access_tokens(&self) {
        self.0.state.config().access_tokens.clear();
    }

    /// `expires_in` (seconds) of the access tokens issued from now on (default 3600); they are
    /// refused at `/introspect` once that time has passed.
    pub fn set_access_token_lifetime(&self, seconds: u64) {
        self.0.state.config().access_token_lifetime = Some(seconds);
    }

    /// The access tokens issued at `/token` that still work (unexpired, not revoked), e.g. to
    /// check that none reaches a log.
    pub fn access_tokens(&self) -> Vec<String> {
        let now = unix_now();
        let config = self.0.state.config();
        config
            .access_tokens
            .iter()
            .filter(|(_, exp)| **exp > now)
            .map(|(token, _)| token.clone())
            .collect()
    }

    /// Registers an opaque token `/introspect` reports as active with `claims` (a JSON object,
    /// e.g. `{"sub","client_id","scope","exp","aud":[...]}`), merged over `{"active": true,
    /// "iss": url, "token_type": "Bearer"}`. A token whose `exp` has passed is reported inactive.
    ///
    /// # Panics
    /// If `claims` is not a JSON object.
    pub fn add_opaque_token(&self, token: &str, claims: Value) {
        assert!(
            claims.is_object(),
            "Issuer::add_opaque_token: claims must be a JSON object"
        );
        self.0
            .state
            .config()
            .opaque
            .insert(token.to_owned(), claims);
    }

    /// Forgets an opaque token (revocation): `/introspect` reports it inactive from now on.
    pub fn remove_opaque_token(&self, token: &str) {
        self.0.state.config().opaque.remove(token);
    }

    /// Injects `fault` on `/token` ([`Fault::None`] restores normal answers).
    pub fn set_token_fault(&self, fault: Fault) {
        self.0.state.config().token_fault = fault;
    }

    /// Injects `fault` on `/introspect` ([`Fault::None`] restores normal answers).
    pub fn set_introspection_fault(&self, fault: Fault) {
        self.0.state.config().introspection_fault = fault;
    }

    /// Number of `/token` requests received while the bearer mode is on, faulted and refused
    /// ones included.
    pub fn token_requests(&self) -> usize {
        self.0.state.token_requests.load(Ordering::SeqCst)
    }

    /// Number of `/introspect` requests received while the bearer mode is on, faulted and
    /// refused ones included.
    pub fn introspection_requests(&self) -> usize {
        self.0.state.introspection_requests.load(Ordering::SeqCst)
    }
}

impl State {
    fn config(&self) -> std::sync::MutexGuard<'_, Config> {
        lock(&self.config)
    }
}

fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).expect("authz-testkit: invalid header value")
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Reply {
    let endpoint = match req.uri().path() {
        "/jwks" => Some(Endpoint::Jwks),
        "/.well-known/openid-configuration" => Some(Endpoint::Discovery),
        // The OAuth endpoints exist only in the bearer introspection mode.
        "/token" | "/introspect" if state.config().client.is_none() => None,
        "/token" => Some(Endpoint::Token),
        "/introspect" => Some(Endpoint::Introspect),
        _ => None,
    };
    let Some(endpoint) = endpoint else {
        let fallback = {
            let config = state.config();
            if config.down {
                return Err(Hangup);
            }
            config.fallback.clone()
        };
        return match fallback {
            Some(handler) => handler(req).await,
            None => Ok(response(StatusCode::NOT_FOUND, "text/plain", "not found")),
        };
    };
    let counter = match endpoint {
        Endpoint::Discovery => &state.discovery_fetches,
        Endpoint::Jwks => &state.jwks_fetches,
        Endpoint::Token => &state.token_requests,
        Endpoint::Introspect => &state.introspection_requests,
    };
    counter.fetch_add(1, Ordering::SeqCst);
    let fault = {
        let config = state.config();
        if config.down {
            Fault::Close
        } else {
            match endpoint {
                Endpoint::Discovery => config.discovery_fault.clone(),
                Endpoint::Jwks => config.jwks_fault.clone(),
                Endpoint::Token => config.token_fault.clone(),
                Endpoint::Introspect => config.introspection_fault.clone(),
            }
        }
    };
    match fault {
        Fault::None => {}
        Fault::Delay(delay) => tokio::time::sleep(delay).await,
        Fault::Close => return Err(Hangup),
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = format!("injected fault: status {code}");
            return Ok(response(status, "text/plain", body));
        }
        Fault::Garbage => {
            let body = "<html><body>502 Bad Gateway (not JSON)</body></html>";
            return Ok(response(StatusCode::OK, "application/json", body));
        }
        Fault::Oversize(size) => {
            let mut body = String::with_capacity(size.max(11));
            body.push_str("{\"keys\":[");
            body.extend(std::iter::repeat_n(' ', size.saturating_sub(11)));
            body.push_str("]}");
            body.truncate(size);
            return Ok(response(StatusCode::OK, "application/json", body));
        }
    }
    match endpoint {
        Endpoint::Discovery => Ok(discovery(&state.config())),
        Endpoint::Jwks => {
            let resp = jwks(&state.config());
            *lock(&state.jwks_served) = Some(Instant::now());
            Ok(resp)
        }
        Endpoint::Token | Endpoint::Introspect => {
            if req.method() != Method::POST {
                let mut resp = json_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &json!({"error": "invalid_request", "error_description": "POST only"}),
                );
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST"));
                return Ok(resp);
            }
            let authorization = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let Ok(body) = Limited::new(req.into_body(), MAX_FORM_BYTES)
                .collect()
                .await
            else {
                return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_request"));
            };
            let form: HashMap<String, String> = form_urlencoded::parse(&body.to_bytes())
                .into_owned()
                .collect();
            let mut config = state.config();
            Ok(if endpoint == Endpoint::Token {
                token(&mut config, authorization.as_deref(), &form)
            } else {
                introspect(&mut config, authorization.as_deref(), &form)
            })
        }
    }
}

fn discovery(config: &Config) -> Resp {
    let url = &config.url;
    let mut doc = json!({
        "issuer": config.discovery_issuer.as_deref().unwrap_or(url),
        "jwks_uri": format!("{url}/jwks"),
        "token_endpoint": format!("{url}/token"),
        "id_token_signing_alg_values_supported":
            ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
    });
    if config.client.is_some() {
        doc["introspection_endpoint"] = json!(format!("{url}/introspect"));
        doc["grant_types_supported"] = json!(["client_credentials"]);
        doc["token_endpoint_auth_methods_supported"] = json!(["client_secret_basic"]);
    }
    for (name, value) in &config.discovery_extra {
        doc[name] = value.clone();
    }
    response(StatusCode::OK, "application/json", doc.to_string())
}

fn jwks(config: &Config) -> Resp {
    let body = json!({ "keys": config.keys }).to_string();
    let mut resp = response(StatusCode::OK, "application/json", body);
    for (name, value) in [
        (header::CACHE_CONTROL, &config.cache_control),
        (header::EXPIRES, &config.expires),
    ] {
        if let Some(value) = value {
            resp.headers_mut().insert(name, value.clone());
        }
    }
    resp
}

/// `POST /token`: the client-credentials grant, client authenticated with HTTP Basic.
fn token(config: &mut Config, authorization: Option<&str>, form: &HashMap<String, String>) -> Resp {
    let authenticated = match (&config.client, authorization.and_then(basic_credentials)) {
        (Some(client), Some((id, secret))) => id == client.id && secret == client.secret,
        _ => false,
    };
    if !authenticated {
        return invalid_client("Basic realm=\"authz-testkit\"");
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let lifetime = config
        .access_token_lifetime
        .unwrap_or(DEFAULT_ACCESS_TOKEN_LIFETIME);
    let access_token = random_token("at_");
    let expiry = unix_now() + lifetime as f64;
    config.access_tokens.insert(access_token.clone(), expiry);
    let mut answer = json!({"access_token": access_token, "token_type": "Bearer",
                            "expires_in": lifetime});
    if let Some(scope) = form.get("scope") {
        answer["scope"] = json!(scope);
    }
    let mut resp = json_response(StatusCode::OK, &answer);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `POST /introspect`: RFC 7662, caller authenticated with an access token from `/token`.
fn introspect(
    config: &mut Config,
    authorization: Option<&str>,
    form: &HashMap<String, String>,
) -> Resp {
    let now = unix_now();
    let authorized = authorization
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        })
        .and_then(|token| config.access_tokens.get(token))
        .is_some_and(|exp| *exp > now);
    if !authorized {
        return invalid_client("Bearer error=\"invalid_token\"");
    }
    let Some(token) = form.get("token") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let claims = config.opaque.get(token).filter(|claims| {
        claims
            .get("exp")
            .and_then(Value::as_f64)
            .is_none_or(|exp| exp > now)
    });
    let answer = match claims {
        Some(Value::Object(claims)) => {
            let mut answer = json!({"active": true, "iss": config.url, "token_type": "Bearer"});
            for (name, value) in claims {
                answer[name] = value.clone();
            }
            answer
        }
        _ => json!({"active": false}),
    };
    json_response(StatusCode::OK, &answer)
}

/// The `Authorization` value of RFC 6749 §2.3.1 `client_secret_basic`: id and secret are
/// form-urlencoded before base64 (oidc-provider rejects a raw `+`, `%`, ... with
/// `invalid_request`). The inverse of [`basic_credentials`].
pub fn basic_auth(client_id: &str, client_secret: &str) -> String {
    let pair = format!("{}:{}", form_encode(client_id), form_encode(client_secret));
    format!("Basic {}", STANDARD.encode(pair))
}

/// `application/x-www-form-urlencoded` encoding of one component (`+` for a space, `%XX` for a
/// byte outside `A-Za-z0-9*-._`). The inverse of the decoding [`basic_credentials`] does.
pub fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The client id and secret of an `Authorization: Basic` value, each form-decoded
/// (RFC 6749 §2.3.1); `None` if it is not well-formed.
pub fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// `application/x-www-form-urlencoded` decoding of one component: `+` is a space, `%XX` a byte;
/// a malformed escape or invalid UTF-8 gives `None`.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The wall clock, Unix seconds with fractions.
fn unix_now() -> f64 {
    std::time::UNIX_EPOCH
        .elapsed()
        .expect("clock after 1970")
        .as_secs_f64()
}

/// A new random token: `prefix` + 32 random bytes, base64url (256 bits from the system's
/// CSPRNG).
pub fn random_token(prefix: &str) -> String {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("authz-testkit: no randomness");
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn json_response(status: StatusCode, body: &Value) -> Resp {
    response(status, "application/json", body.to_string())
}

fn oauth_error(status: StatusCode, error: &str) -> Resp {
    json_response(status, &json!({ "error": error }))
}

/// 401 `invalid_client` with the `WWW-Authenticate` challenge `challenge`.
fn invalid_client(challenge: &'static str) -> Resp {
    let mut resp = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_of_basic_credentials() {
        assert_eq!(form_decode("a+b%2B%25%3A").as_deref(), Some("a b+%:"));
        assert_eq!(form_decode("%zz"), None);
        assert_eq!(form_decode("%+1"), None);
        assert_eq!(form_decode("%4"), None);
        assert_eq!(form_decode("%C3%A9").as_deref(), Some("\u{e9}"));
        assert_eq!(form_decode("%FF"), None, "not UTF-8");
        let header = format!("Basic {}", STANDARD.encode("my+client:p%40ss%3Aw%2Frd"));
        assert_eq!(
            basic_credentials(&header),
            Some(("my client".to_owned(), "p@ss:w/rd".to_owned()))
        );
        assert_eq!(basic_credentials("Bearer abc"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
    }
}
