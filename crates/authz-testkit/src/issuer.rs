//! A fault-injectable OIDC issuer on `127.0.0.1`: discovery document and JWKS.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};
use std::time::Duration;

use http::{HeaderValue, Request, StatusCode, header};
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::server::{Hangup, Reply, Server, lock, response, serve};

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
/// Cheap to clone (an `Arc` inside); the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct Issuer(Arc<Inner>);

struct Inner {
    state: Arc<State>,
    url: String,
    _server: Server,
}

#[derive(Default)]
struct State {
    config: Mutex<Config>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
}

#[derive(Default)]
struct Config {
    url: String,
    keys: Vec<Value>,
    jwks_fault: Fault,
    discovery_fault: Fault,
    down: bool,
    cache_control: Option<HeaderValue>,
    expires: Option<HeaderValue>,
    discovery_issuer: Option<String>,
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
        let server = serve(move |req| handle(served.clone(), req)).await;
        let url = format!("http://{}", server.addr);
        state.config().url = url.clone();
        Issuer(Arc::new(Inner {
            state,
            url,
            _server: server,
        }))
    }

    /// The issuer identifier, `http://127.0.0.1:PORT` (no trailing slash).
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
    /// "subject_types_supported"}`.
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

    /// Number of `/jwks` requests received, faulted ones included.
    pub fn jwks_fetches(&self) -> usize {
        self.0.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Number of discovery requests received, faulted ones included.
    pub fn discovery_fetches(&self) -> usize {
        self.0.state.discovery_fetches.load(Ordering::SeqCst)
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
    let jwks = match req.uri().path() {
        "/jwks" => true,
        "/.well-known/openid-configuration" => false,
        _ if state.config().down => return Err(Hangup),
        _ => return Ok(response(StatusCode::NOT_FOUND, "text/plain", "not found")),
    };
    let counter = if jwks {
        &state.jwks_fetches
    } else {
        &state.discovery_fetches
    };
    counter.fetch_add(1, Ordering::SeqCst);
    let fault = {
        let config = state.config();
        match (config.down, jwks) {
            (true, _) => Fault::Close,
            (false, true) => config.jwks_fault.clone(),
            (false, false) => config.discovery_fault.clone(),
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
    let config = state.config();
    if !jwks {
        let url = &config.url;
        let doc = json!({
            "issuer": config.discovery_issuer.as_deref().unwrap_or(url),
            "jwks_uri": format!("{url}/jwks"),
            "token_endpoint": format!("{url}/token"),
            "id_token_signing_alg_values_supported":
                ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
        });
        return Ok(response(
            StatusCode::OK,
            "application/json",
            doc.to_string(),
        ));
    }
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
    Ok(resp)
}
