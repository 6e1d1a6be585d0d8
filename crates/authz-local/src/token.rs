//! Demo tokens: RS256 JWTs signed by the dev issuer's key, per API tier or for any scopes, and
//! the small token endpoint that hands them out (`scripts/token.sh` calls it).
//!
//! * `GET /token?api=A&tier=T` or `GET /token?scope=S&scope=S2` → the bare token (text/plain);
//! * `POST /token` with the same parameters form-encoded → an OAuth-style JSON answer
//!   (`access_token`, `token_type`, `expires_in`, `scope`);
//! * `GET /` → the issuer, the APIs and their tiers (JSON).
//!
//! Without `api` the API is the one with the tier (or `pet-store`, else the first); without
//! `tier` and `scope` the scopes are those of the API's first guarded `GET` route (for the
//! PetStore demo: `read`).

use authz_testkit::server::response as reply;
use std::sync::atomic::{AtomicU64, Ordering};

use authz_testkit::{TestKey, now};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{Map, Value, json};

use crate::table::{ApiSpec, AuthorizerKind};

/// Lifetime of demo tokens.
pub const TOKEN_LIFETIME_SECONDS: i64 = 3600;

/// What a token request asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRequest {
    /// API name.
    pub api: Option<String>,
    /// Tier name.
    pub tier: Option<String>,
    /// Explicit scopes (instead of a tier's).
    pub scopes: Vec<String>,
}

impl TokenRequest {
    /// From `api=…&tier=…&scope=…` (scope repeated or space-separated).
    pub fn from_query(query: &str) -> TokenRequest {
        let mut out = TokenRequest::default();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match &*k {
                "api" if !v.is_empty() => out.api = Some(v.into_owned()),
                "tier" if !v.is_empty() => out.tier = Some(v.into_owned()),
                "scope" => out
                    .scopes
                    .extend(v.split(' ').filter(|s| !s.is_empty()).map(str::to_owned)),
                _ => {}
            }
        }
        out
    }
}

/// A minted token and what it carries.
#[derive(Debug, Clone)]
pub struct Minted {
    /// The JWT.
    pub token: String,
    /// The API it is for.
    pub api: String,
    /// Its scopes.
    pub scopes: Vec<String>,
}

/// Signs demo tokens for the dev issuer.
#[derive(Debug)]
pub struct Minter {
    /// `iss`.
    pub issuer_url: String,
    key: TestKey,
    apis: Vec<ApiSpec>,
    serial: AtomicU64,
}

impl Minter {
    /// A minter for `issuer_url` signing with `key`.
    pub fn new(issuer_url: String, key: TestKey, apis: Vec<ApiSpec>) -> Minter {
        Minter {
            issuer_url,
            key,
            apis,
            serial: AtomicU64::new(1),
        }
    }

    /// A fresh token (each one unique: `jti`), or why not (unknown API or tier).
    pub fn mint(&self, req: &TokenRequest) -> Result<Minted, String> {
        let names = || {
            self.apis
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let api = match (&req.api, &req.tier) {
            (Some(name), _) => self
                .apis
                .iter()
                .find(|a| &a.name == name)
                .ok_or_else(|| format!("no API \"{name}\" (there are: {})", names()))?,
            (None, Some(tier)) => self
                .apis
                .iter()
                .find(|a| a.tiers.contains_key(tier))
                .ok_or_else(|| format!("no API has a tier \"{tier}\""))?,
            (None, None) => self
                .apis
                .iter()
                .find(|a| a.name == "pet-store")
                .or(self.apis.first())
                .ok_or("no APIs")?,
        };
        let mut claims = Map::new();
        let (sub, scopes) = match &req.tier {
            Some(t) => {
                let tier = api.tiers.get(t).ok_or_else(|| {
                    let tiers: Vec<&str> = api.tiers.keys().map(String::as_str).collect();
                    format!(
                        "no tier \"{t}\" in API \"{}\" (tiers: {})",
                        api.name,
                        tiers.join(", ")
                    )
                })?;
                claims.extend(tier.claims.clone());
                let mut scopes = tier.scopes.clone();
                scopes.extend(req.scopes.iter().cloned());
                (format!("{t}-user"), scopes)
            }
            None if !req.scopes.is_empty() => ("dev-user".to_owned(), req.scopes.clone()),
            None => ("dev-user".to_owned(), default_scopes(api)),
        };
        let n = self.serial.fetch_add(1, Ordering::Relaxed);
        let iat = now();
        claims.extend(
            json!({
                "iss": self.issuer_url, "aud": api.audience, "sub": sub,
                "client_id": format!("{}-{}", api.name, req.tier.as_deref().unwrap_or("dev")),
                "scope": scopes.join(" "), "iat": iat, "exp": iat + TOKEN_LIFETIME_SECONDS,
                "jti": format!("local-{}-{n}", std::process::id()),
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
        Ok(Minted {
            token: self.key.sign(&Value::Object(claims)),
            api: api.name.clone(),
            scopes,
        })
    }

    /// The token endpoint.
    pub async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or_default().to_owned();
        match (method, path.as_str()) {
            (Method::GET, "/") => {
                let apis: Vec<Value> = self
                    .apis
                    .iter()
                    .map(|a| json!({"api": a.name, "audience": a.audience, "tiers": a.tiers.keys().collect::<Vec<_>>()}))
                    .collect();
                let body =
                    json!({"issuer": self.issuer_url, "token_endpoint": "/token", "apis": apis});
                reply(StatusCode::OK, "application/json", body.to_string())
            }
            (Method::GET, "/token") => match self.mint(&TokenRequest::from_query(&query)) {
                Ok(m) => reply(StatusCode::OK, "text/plain", m.token + "\n"),
                Err(e) => reply(StatusCode::BAD_REQUEST, "text/plain", e + "\n"),
            },
            (Method::POST, "/token") => {
                let body = Limited::new(req.into_body(), 64 * 1024).collect().await;
                let Ok(body) = body else {
                    return reply(StatusCode::BAD_REQUEST, "text/plain", "bad body\n");
                };
                let form = String::from_utf8_lossy(&body.to_bytes()).into_owned();
                let all = if query.is_empty() {
                    form
                } else {
                    format!("{query}&{form}")
                };
                match self.mint(&TokenRequest::from_query(&all)) {
                    Ok(m) => {
                        let body = json!({"access_token": m.token, "token_type": "Bearer",
                            "expires_in": TOKEN_LIFETIME_SECONDS, "scope": m.scopes.join(" "), "api": m.api});
                        reply(StatusCode::OK, "application/json", body.to_string())
                    }
                    Err(e) => {
                        let body = json!({"error": "invalid_request", "error_description": e});
                        reply(
                            StatusCode::BAD_REQUEST,
                            "application/json",
                            body.to_string(),
                        )
                    }
                }
            }
            _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
        }
    }
}

/// Scopes of the API's first guarded `GET` route (the first of its any-of list).
fn default_scopes(api: &ApiSpec) -> Vec<String> {
    api.routes
        .iter()
        .filter(|r| r.authorizer != AuthorizerKind::None && r.method() == "GET")
        .find_map(|r| r.scopes.first().cloned())
        .into_iter()
        .collect()
}
