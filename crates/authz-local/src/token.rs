//! The dev IdP's OAuth side, and the demo-token endpoint.
//!
//! The dev OIDC issuer ([`authz_testkit::Issuer`]: discovery + JWKS) hands its other paths to
//! [`Minter::oauth`], so they sit under the issuer URL like a real IdP's:
//! * `POST /token`: the client-credentials grant (RFC 6749 §4.4) for the demo clients, one per
//!   tier of each API ([`Minter::clients`]: `client_id` `{api}-{tier}`, `client_secret`
//!   `{api}-{tier}-secret`), authenticated with `client_secret_basic` or `client_secret_post`;
//!   `scope` optional (a subset of the tier's scopes, else `invalid_scope`); the non-standard
//!   `token_format=opaque` asks for an opaque token instead of a JWT;
//! * a token request carrying a `DPoP` proof (RFC 9449 §5, checked by authz-core's own proof
//!   code, [`authz_core::verify_token_request_proof`]: signature, `htm` the request's method,
//!   `htu` this endpoint's URL, `iat` within [`PROOF_MAX_AGE_SECONDS`]) gets a DPoP-bound token
//!   (`cnf.jkt`, the proof key's RFC 7638 thumbprint; `token_type` `DPoP`), at both token
//!   endpoints; a bad proof, or one used already (its `jti`), is `invalid_dpop_proof`. `client_cert=PEM` (demo-token endpoint)
//!   binds the token to that client certificate instead (`cnf.x5t#S256`, RFC 8705 §3), as an
//!   authorization server does for a client that authenticated with it over mutual TLS;
//! * `POST /introspect`: RFC 7662, only for the introspection client, whose secret is random
//!   per run and stored in Secrets Manager (moto) for the authorizers to read, like production.
//!
//! The demo-token endpoint (its own port; `scripts/token.sh` and the demo page call it) skips
//! client authentication:
//! * `GET /token?api=A&tier=T&scope=S&format=opaque&lifetime=N&shape=X` → the bare token (text/plain;
//!   `Access-Control-Allow-Origin: *` for the demo page);
//! * `POST /token` with the same parameters form-encoded → an OAuth-style JSON answer
//!   (`access_token`, `token_type`, `expires_in`, `scope`);
//! * `GET /` → the issuer, the demo clients, the APIs and their tiers (JSON).
//!
//! Without `api` the API is the one with the tier (or `pet-store`, else the first); without
//! `tier` and `scope` the scopes are those of the API's first guarded `GET` route (for the
//! PetStore demo: `read`). `lifetime` (seconds, −86400 to 86400, default 3600) may be negative:
//! an expired token, for the load script. `shape` (`cognito`, `entra`, `entra-v1`, `auth0`,
//! `okta`, `keycloak`, `hydra`) lays the JWT out like that IdP's access token
//! ([`authz_testkit::idp`]: its header fields, claim names and types, its issuer's path form on
//! the host of that shape's own loopback issuer, [`crate::shapes`]), carrying the tier's scopes
//! where that IdP puts them; with a shape, `kind=id` gives that IdP's ID token instead and
//! `tenant=T` sets Entra ID's `tid`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use authz_testkit::idp::{Shape, TokenSpec};
use authz_testkit::issuer::{basic_credentials, random_token};
use authz_testkit::server::{Reply, lock, response as reply};
use authz_testkit::{TestKey, now};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{Map, Value, json};

use crate::table::{ApiSpec, AuthorizerKind};

/// Default lifetime of demo tokens.
pub const TOKEN_LIFETIME_SECONDS: i64 = 3600;
/// Bound of `lifetime` either way.
const MAX_LIFETIME_SECONDS: i64 = 86_400;
/// Opaque tokens kept before expired ones are swept.
const OPAQUE_SWEEP_AT: usize = 100_000;
/// Largest form body read.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// Oldest DPoP proof a token endpoint accepts (its `iat`), seconds; the resource servers'
/// default window (`AUTHZ_DPOP_MAX_AGE_SECONDS`).
pub const PROOF_MAX_AGE_SECONDS: f64 = 60.0;
/// Clock skew allowed on a token request proof's `iat`, seconds.
const PROOF_LEEWAY_SECONDS: f64 = 5.0;
/// The request header carrying a DPoP proof (RFC 9449 §4.1).
pub const DPOP_HEADER: &str = "dpop";

/// A JWT or an opaque token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// An RS256 JWT signed by the dev issuer.
    #[default]
    Jwt,
    /// A random string the dev issuer answers for at its introspection endpoint.
    Opaque,
}

/// What a token request asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRequest {
    /// API name.
    pub api: Option<String>,
    /// Tier name.
    pub tier: Option<String>,
    /// Explicit scopes (instead of a tier's, or added to them).
    pub scopes: Vec<String>,
    /// JWT (default) or opaque.
    pub format: Format,
    /// Seconds until `exp` (default [`TOKEN_LIFETIME_SECONDS`]); negative: already expired.
    pub lifetime: Option<i64>,
    /// Lay the JWT out like this IdP's access token ([`Shape`]); `None`: the dev issuer's own.
    pub shape: Option<Shape>,
    /// With a shape: that IdP's OIDC ID token for the same user and client instead (which the
    /// authorizers refuse: `not_access_token`).
    pub id_token: bool,
    /// With a shape: the tenant (`tid`, Entra ID) instead of [`TokenSpec::new`]'s.
    pub tenant: Option<String>,
    /// Bind the token to this DPoP key: its RFC 7638 thumbprint (`cnf.jkt`), from the token
    /// request's verified proof.
    pub jkt: Option<String>,
    /// Bind the token to this client certificate: its `x5t#S256` (`cnf`), from `client_cert`.
    pub x5t: Option<String>,
}

impl TokenRequest {
    /// From `api=…&tier=…&scope=…&format=…&lifetime=…` (scope repeated or space-separated).
    pub fn from_query(query: &str) -> Result<TokenRequest, String> {
        let mut out = TokenRequest::default();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match &*k {
                "api" if !v.is_empty() => out.api = Some(v.into_owned()),
                "tier" if !v.is_empty() => out.tier = Some(v.into_owned()),
                "scope" => out
                    .scopes
                    .extend(v.split(' ').filter(|s| !s.is_empty()).map(str::to_owned)),
                "format" | "token_format" => out.format = parse_format(&v)?,
                "kind" => {
                    out.id_token = match &*v {
                        "" | "access" => false,
                        "id" => true,
                        other => return Err(format!("kind: `{other}` is not access or id")),
                    };
                }
                "tenant" if !v.is_empty() => out.tenant = Some(v.into_owned()),
                "client_cert" if !v.is_empty() => {
                    out.x5t = Some(authz_core::internals::certificate_thumbprint(&v).ok_or(
                        "client_cert: no PEM CERTIFICATE block (give the certificate file's \
                             text)",
                    )?);
                }
                "shape" if !v.is_empty() => {
                    out.shape = Some(Shape::parse(&v).ok_or_else(|| {
                        let names: Vec<&str> = Shape::ALL.iter().map(|s| s.name()).collect();
                        format!("shape: `{v}` is not one of {}", names.join(", "))
                    })?);
                }
                "lifetime" => {
                    out.lifetime = Some(
                        v.parse::<i64>()
                            .ok()
                            .filter(|n| n.abs() <= MAX_LIFETIME_SECONDS)
                            .ok_or_else(|| {
                                format!(
                                    "lifetime: `{v}` is not a number of seconds from \
                                     -{MAX_LIFETIME_SECONDS} to {MAX_LIFETIME_SECONDS}"
                                )
                            })?,
                    );
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

fn parse_format(v: &str) -> Result<Format, String> {
    match v {
        "" | "jwt" => Ok(Format::Jwt),
        "opaque" => Ok(Format::Opaque),
        other => Err(format!("format: `{other}` is not jwt or opaque")),
    }
}

/// A minted token and what it carries.
#[derive(Debug, Clone)]
pub struct Minted {
    /// The JWT or opaque token.
    pub token: String,
    /// The API it is for.
    pub api: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Seconds until it expires (negative if it already has).
    pub expires_in: i64,
    /// Sender-constrained (`cnf`): `token_type` `DPoP` when DPoP-bound.
    pub dpop_bound: bool,
}

impl Minted {
    /// The OAuth `token_type` (RFC 9449 §5.1: `DPoP` for a DPoP-bound token).
    pub fn token_type(&self) -> &'static str {
        if self.dpop_bound { "DPoP" } else { "Bearer" }
    }
}

/// A demo OAuth client of the dev issuer (client-credentials grant), one per API tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoClient {
    /// `{api}-{tier}`.
    pub client_id: String,
    /// `{api}-{tier}-secret` (a published dev value, like the demo itself).
    pub client_secret: String,
    /// The API.
    pub api: String,
    /// The tier.
    pub tier: String,
}

/// The dev issuer's tokens: signs JWTs, keeps opaque tokens for introspection.
#[derive(Debug)]
pub struct Minter {
    /// `iss`.
    pub issuer_url: String,
    key: TestKey,
    apis: Vec<ApiSpec>,
    serial: AtomicU64,
    /// Opaque tokens with their introspection answers.
    opaque: Mutex<HashMap<String, Value>>,
    /// `(client_id, client_secret)` of the introspection client.
    introspector: (String, String),
    /// Whether opaque tokens may be minted (the authorizers can introspect them).
    opaque_on: bool,
    /// The base URL of each shape's issuer ([`crate::shapes::ShapeIssuers`]).
    shape_bases: Vec<(Shape, String)>,
    /// Token requests' DPoP proofs already used (`{jkt} {jti}` → until when), RFC 9449 §11.1.
    spent_proofs: Mutex<HashMap<String, i64>>,
}

/// The `client_id` of the demo client of `api`'s `tier` (`{api}-{tier}`), or of its tier-less
/// tokens (`{api}-dev`): what the dev issuer's tokens carry and what the shaped issuers' recipes
/// accept.
pub fn client_id(api: &str, tier: Option<&str>) -> String {
    format!("{api}-{}", tier.unwrap_or("dev"))
}

impl Minter {
    /// A minter for `issuer_url` signing with `key`; the introspection client gets a random
    /// secret ([`Minter::introspection_client`]). Opaque tokens only when `opaque` (the local
    /// mode runs moto for the introspection secret).
    pub fn new(issuer_url: String, key: TestKey, apis: Vec<ApiSpec>, opaque: bool) -> Minter {
        Minter {
            issuer_url,
            key,
            apis,
            serial: AtomicU64::new(1),
            opaque: Mutex::default(),
            introspector: ("authz-local-introspection".to_owned(), random_token("")),
            opaque_on: opaque,
            shape_bases: Vec::new(),
            spent_proofs: Mutex::default(),
        }
    }

    /// Mints shaped tokens (`shape=…`) for these issuers: `(shape, base URL)`; a shape without
    /// one is refused.
    pub fn with_shape_bases(mut self, bases: Vec<(Shape, String)>) -> Minter {
        self.shape_bases = bases;
        self
    }

    /// `(client_id, client_secret)` of the one client allowed at `/introspect`: what the local
    /// mode stores in Secrets Manager for the authorizers.
    pub fn introspection_client(&self) -> (&str, &str) {
        (&self.introspector.0, &self.introspector.1)
    }

    /// The demo clients: one per tier of each API.
    pub fn clients(&self) -> Vec<DemoClient> {
        self.apis
            .iter()
            .flat_map(|api| {
                api.tiers.keys().map(|tier| DemoClient {
                    client_id: client_id(&api.name, Some(tier)),
                    client_secret: format!("{}-{tier}-secret", api.name),
                    api: api.name.clone(),
                    tier: tier.clone(),
                })
            })
            .collect()
    }

    /// A fresh token (each one unique: `jti`), or why not (unknown API or tier).
    pub fn mint(&self, req: &TokenRequest) -> Result<Minted, String> {
        self.mint_with(req, None)
    }

    /// [`Minter::mint`], with exactly `only` as scopes when given: each must be one the request
    /// would have had (`invalid_scope` otherwise).
    fn mint_with(&self, req: &TokenRequest, only: Option<&[String]>) -> Result<Minted, String> {
        if req.format == Format::Opaque && !self.opaque_on {
            return Err("opaque tokens are off in this local mode (--no-opaque)".to_owned());
        }
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
        let scopes = match only {
            Some(only) if only.iter().any(|s| !scopes.contains(s)) => {
                return Err("invalid_scope".to_owned());
            }
            Some(only) => only.to_vec(),
            None => scopes,
        };
        let n = self.serial.fetch_add(1, Ordering::Relaxed);
        let iat = now();
        let expires_in = req.lifetime.unwrap_or(TOKEN_LIFETIME_SECONDS);
        claims.extend(
            json!({
                "iss": self.issuer_url, "aud": api.audience, "sub": sub,
                "client_id": client_id(&api.name, req.tier.as_deref()),
                "scope": scopes.join(" "), "iat": iat, "exp": iat + expires_in,
                "jti": format!("local-{}-{n}", std::process::id()),
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
        // RFC 9449 §6 and RFC 8705 §3.1: the confirmation the resource servers check.
        let mut cnf = Map::new();
        if let Some(jkt) = &req.jkt {
            cnf.insert("jkt".into(), json!(jkt));
        }
        if let Some(x5t) = &req.x5t {
            cnf.insert("x5t#S256".into(), json!(x5t));
        }
        if !cnf.is_empty() {
            claims.insert("cnf".into(), Value::Object(cnf));
        }
        // Worded for scripts/token.sh's flags, with the query parameter each sets.
        if req.shape.is_none() && (req.id_token || req.tenant.is_some()) {
            return Err(
                "--id-token (kind=id) and --tenant (tenant=) apply to IdP-shaped tokens: add \
                 --shape IDP (shape=)"
                    .to_owned(),
            );
        }
        if let Some(shape) = req.shape
            && req.tenant.is_some()
            && !matches!(shape, Shape::Entra | Shape::EntraV1)
        {
            return Err(format!(
                "--tenant (tenant=) sets Entra ID's tenant (tid): it applies to --shape entra or \
                 entra-v1, not {}",
                shape.name()
            ));
        }
        if let Some(shape) = req.shape {
            if req.format == Format::Opaque {
                return Err("shape: applies to JWTs, not opaque tokens".to_owned());
            }
            let base = self
                .shape_bases
                .iter()
                .find(|(s, _)| *s == shape)
                .map(|(_, b)| b.trim_end_matches('/').to_owned())
                .ok_or_else(|| format!("shape: this local mode has no {} issuer", shape.name()))?;
            let spec = TokenSpec {
                base,
                client_id: claims["client_id"].as_str().unwrap_or_default().to_owned(),
                audience: api.audience.clone(),
                subject: claims["sub"].as_str().unwrap_or_default().to_owned(),
                scopes: scopes.clone(),
                roles: Vec::new(),
                tenant: req.tenant.clone().unwrap_or(TokenSpec::new("").tenant),
                lifetime: expires_in,
            };
            let mut shaped = if req.id_token {
                shape.id_claims(&spec)
            } else {
                shape.access_claims(&spec)
            };
            // The tier's claims (route rules' `claims`) keep their names.
            for (k, v) in claims.iter().filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "iss" | "aud" | "sub" | "client_id" | "scope" | "iat" | "exp" | "jti"
                )
            }) {
                shaped[k] = v.clone();
            }
            return Ok(Minted {
                token: self.key.sign_with_header(&shape.header(&self.key), &shaped),
                api: api.name.clone(),
                scopes,
                expires_in,
                dpop_bound: req.jkt.is_some(),
            });
        }
        let token = match req.format {
            Format::Jwt => self.key.sign(&Value::Object(claims)),
            Format::Opaque => {
                let token = random_token("ot_");
                let mut store = lock(&self.opaque);
                if store.len() >= OPAQUE_SWEEP_AT {
                    let t = now();
                    store.retain(|_, c| c["exp"].as_i64().is_some_and(|exp| exp > t));
                }
                store.insert(token.clone(), Value::Object(claims));
                token
            }
        };
        Ok(Minted {
            token,
            api: api.name.clone(),
            scopes,
            expires_in,
            dpop_bound: req.jkt.is_some(),
        })
    }

    /// The RFC 7662 answer for `token`: `{"active": true, "token_type": "Bearer", …claims}` for
    /// an opaque token minted here and not expired, else `{"active": false}`.
    pub fn introspect(&self, token: &str) -> Value {
        let store = lock(&self.opaque);
        match store.get(token) {
            Some(Value::Object(claims)) if claims["exp"].as_i64().is_some_and(|e| e > now()) => {
                let mut answer = claims.clone();
                answer.insert("active".into(), json!(true));
                answer.insert("token_type".into(), json!("Bearer"));
                Value::Object(answer)
            }
            _ => json!({"active": false}),
        }
    }

    /// The OAuth endpoints under the issuer URL: `POST /token`, `POST /introspect`.
    pub async fn oauth(&self, req: Request<Incoming>) -> Reply {
        let path = req.uri().path().to_owned();
        if path != "/token" && path != "/introspect" {
            return Ok(reply(StatusCode::NOT_FOUND, "text/plain", "not found\n"));
        }
        if req.method() != Method::POST {
            return Ok(oauth_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                "POST only",
            ));
        }
        let basic = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(basic_credentials);
        let proof = match self.proof_key(&req, &format!("{}{path}", self.issuer_url)) {
            Ok(jkt) => jkt,
            Err(e) => {
                return Ok(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_dpop_proof",
                    &e,
                ));
            }
        };
        let Ok(body) = Limited::new(req.into_body(), MAX_FORM_BYTES)
            .collect()
            .await
        else {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "bad body",
            ));
        };
        let body = body.to_bytes();
        let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
        // client_secret_basic, else client_secret_post (RFC 6749 §2.3.1).
        let client = basic.or_else(|| {
            Some((
                form.get("client_id")?.clone(),
                form.get("client_secret")?.clone(),
            ))
        });
        Ok(if path == "/token" {
            self.grant(client, &form, proof)
        } else {
            match client {
                Some((id, secret))
                    if (id.as_str(), secret.as_str()) == self.introspection_client() =>
                {
                    match form.get("token") {
                        Some(token) => reply(
                            StatusCode::OK,
                            "application/json",
                            self.introspect(token).to_string(),
                        ),
                        None => {
                            oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "token missing")
                        }
                    }
                }
                _ => invalid_client(),
            }
        })
    }

    /// The client-credentials grant for a demo client.
    fn grant(
        &self,
        client: Option<(String, String)>,
        form: &HashMap<String, String>,
        jkt: Option<String>,
    ) -> Resp {
        let Some(demo) = client.and_then(|(id, secret)| {
            self.clients()
                .into_iter()
                .find(|c| c.client_id == id && c.client_secret == secret)
        }) else {
            return invalid_client();
        };
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials",
            );
        }
        let format = match parse_format(form.get("token_format").map_or("", String::as_str)) {
            Ok(f) => f,
            Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &e),
        };
        let req = TokenRequest {
            api: Some(demo.api.clone()),
            tier: Some(demo.tier.clone()),
            scopes: Vec::new(),
            format,
            lifetime: None,
            shape: None,
            id_token: false,
            tenant: None,
            jkt,
            x5t: None,
        };
        let asked: Option<Vec<String>> =
            form.get("scope").filter(|s| !s.trim().is_empty()).map(|s| {
                s.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            });
        let minted = match self.mint_with(&req, asked.as_deref()) {
            Ok(m) => m,
            Err(e) if e == "invalid_scope" => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "a scope this client may not have",
                );
            }
            Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &e),
        };
        let mut resp = reply(
            StatusCode::OK,
            "application/json",
            json!({"access_token": minted.token, "token_type": minted.token_type(),
                   "expires_in": minted.expires_in, "scope": minted.scopes.join(" ")})
            .to_string(),
        );
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }

    /// The RFC 7638 thumbprint of the key of the request's `DPoP` proof for `url` (RFC 9449
    /// §5), `None` without one; why a proof is refused.
    fn proof_key<B>(&self, req: &Request<B>, url: &str) -> Result<Option<String>, String> {
        let mut proofs = req.headers().get_all(DPOP_HEADER).iter();
        let (Some(proof), None) = (proofs.next(), proofs.next()) else {
            return if req.headers().contains_key(DPOP_HEADER) {
                Err("more than one DPoP header".to_owned())
            } else {
                Ok(None)
            };
        };
        let proof = proof.to_str().map_err(|_| "the DPoP header is not text")?;
        #[allow(clippy::cast_precision_loss)]
        let at = now() as f64;
        authz_core::verify_token_request_proof(
            proof,
            req.method().as_str(),
            url,
            at,
            PROOF_MAX_AGE_SECONDS,
            PROOF_LEEWAY_SECONDS,
        )
        .map_err(|e| format!("{} ({url})", e.reason()))
        .and_then(|p| {
            // Each proof once while its `iat` is in the window (then it is refused as stale).
            let t = now();
            let mut spent = lock(&self.spent_proofs);
            spent.retain(|_, until| *until >= t);
            #[allow(clippy::cast_possible_truncation)]
            let until = (p.iat + PROOF_MAX_AGE_SECONDS + 2.0 * PROOF_LEEWAY_SECONDS).ceil() as i64;
            match spent.insert(format!("{} {}", p.jkt, p.jti), until) {
                Some(_) => Err(format!("dpop_replay ({url}): this proof was used already")),
                None => Ok(Some(p.jkt)),
            }
        })
    }

    /// The demo-token endpoint (no client authentication; dev only).
    pub async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or_default().to_owned();
        // Its own URL as the client addressed it (loopback, plain HTTP): a proof's `htu`.
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1")
            .to_owned();
        let jkt = match self.proof_key(&req, &format!("http://{host}{path}")) {
            Ok(jkt) => jkt,
            Err(e) => {
                let mut resp = oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof", &e);
                resp.headers_mut().insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
                return resp;
            }
        };
        let bound = |mut r: TokenRequest| {
            r.jkt.clone_from(&jkt);
            r
        };
        let mut resp = match (method, path.as_str()) {
            (Method::GET, "/") => {
                let apis: Vec<Value> = self
                    .apis
                    .iter()
                    .map(|a| json!({"api": a.name, "audience": a.audience, "tiers": a.tiers.keys().collect::<Vec<_>>()}))
                    .collect();
                let clients: Vec<Value> = self
                    .clients()
                    .iter()
                    .map(|c| json!({"client_id": c.client_id, "client_secret": c.client_secret, "api": c.api, "tier": c.tier}))
                    .collect();
                let body = json!({"issuer": self.issuer_url, "token_endpoint": "/token",
                    "oauth_token_endpoint": format!("{}/token", self.issuer_url),
                    "introspection_endpoint": format!("{}/introspect", self.issuer_url),
                    "clients": clients, "apis": apis});
                reply(StatusCode::OK, "application/json", body.to_string())
            }
            (Method::GET, "/token") => {
                match TokenRequest::from_query(&query).and_then(|r| self.mint(&bound(r))) {
                    Ok(m) => reply(StatusCode::OK, "text/plain", m.token + "\n"),
                    Err(e) => reply(StatusCode::BAD_REQUEST, "text/plain", e + "\n"),
                }
            }
            (Method::POST, "/token") => {
                let body = Limited::new(req.into_body(), MAX_FORM_BYTES)
                    .collect()
                    .await;
                let Ok(body) = body else {
                    return reply(StatusCode::BAD_REQUEST, "text/plain", "bad body\n");
                };
                let form = String::from_utf8_lossy(&body.to_bytes()).into_owned();
                let all = if query.is_empty() {
                    form
                } else {
                    format!("{query}&{form}")
                };
                match TokenRequest::from_query(&all).and_then(|r| self.mint(&bound(r))) {
                    Ok(m) => {
                        let body = json!({"access_token": m.token, "token_type": m.token_type(),
                            "expires_in": m.expires_in, "scope": m.scopes.join(" "), "api": m.api});
                        reply(StatusCode::OK, "application/json", body.to_string())
                    }
                    Err(e) => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &e),
                }
            }
            _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
        };
        // The demo page (another origin: the solar-system API's port) fetches tokens here.
        resp.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        resp
    }
}

type Resp = Response<Full<Bytes>>;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Resp {
    reply(
        status,
        "application/json",
        json!({"error": error, "error_description": description}).to_string(),
    )
}

fn invalid_client() -> Resp {
    let mut resp = oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    );
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"authz-local\""),
    );
    resp
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

#[cfg(test)]
mod tests {
    use super::*;
    use authz_core::{Trace, internals::parse_jwt};
    use authz_testkit::TestKey;

    fn minter() -> Minter {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/routes.json");
        let apis = crate::table::load(std::path::Path::new(file)).unwrap();
        Minter::new("http://127.0.0.1:8".into(), TestKey::rsa("k1"), apis, false).with_shape_bases(
            Shape::ALL
                .map(|s| (s, "http://127.0.0.1:9".into()))
                .to_vec(),
        )
    }

    fn payload(token: &str) -> (Map<String, Value>, Option<String>) {
        let parsed = parse_jwt(token, None, &mut Trace::default()).unwrap();
        (parsed.claims, parsed.typ)
    }

    #[test]
    fn bound_tokens_carry_their_confirmation() {
        let m = minter();
        let key = TestKey::ec_p256("client");
        let req = TokenRequest {
            tier: Some("gold".into()),
            jkt: Some(key.jkt()),
            ..TokenRequest::default()
        };
        let t = m.mint(&req).unwrap();
        assert_eq!(t.token_type(), "DPoP");
        assert_eq!(payload(&t.token).0["cnf"], json!({"jkt": key.jkt()}));
        let plain = m.mint(&TokenRequest::default()).unwrap();
        assert_eq!(plain.token_type(), "Bearer");
        assert!(payload(&plain.token).0.get("cnf").is_none());
        // `client_cert`: the certificate's x5t#S256, by the authorizers' own reader.
        let pem = authz_testkit::tls::TestCa::new().client_cert("c").pem;
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("tier", "reader")
            .append_pair("client_cert", &pem)
            .finish();
        let req = TokenRequest::from_query(&query).unwrap();
        let t = m.mint(&req).unwrap();
        let x5t = authz_core::internals::certificate_thumbprint(&pem).unwrap();
        assert_eq!(payload(&t.token).0["cnf"], json!({"x5t#S256": x5t}));
        assert_eq!(t.token_type(), "Bearer");
        let e = TokenRequest::from_query("client_cert=nothing").unwrap_err();
        assert!(e.contains("no PEM CERTIFICATE"), "{e}");
    }

    #[test]
    fn shaped_tokens_carry_the_tier_where_the_idp_puts_it() {
        let m = minter();
        let req = |q: &str| TokenRequest::from_query(q).unwrap();
        let t = m
            .mint(&req("api=pet-store&tier=reader&shape=cognito"))
            .unwrap();
        let (c, typ) = payload(&t.token);
        assert_eq!(typ, None, "Cognito's header has kid and alg only");
        assert!(c.get("aud").is_none());
        assert_eq!(c["token_use"], "access");
        assert_eq!(c["client_id"], "pet-store-reader");
        assert_eq!(c["iss"], "http://127.0.0.1:9");
        assert_eq!(c["scope"], t.scopes.join(" "));
        assert!(!t.scopes.is_empty());
        let (c, _) = payload(
            &m.mint(&req("api=pet-store&tier=reader&shape=entra"))
                .unwrap()
                .token,
        );
        assert_eq!(c["scp"], t.scopes.join(" "));
        assert_eq!(c["azp"], "pet-store-reader");
        assert!(c["iss"].as_str().unwrap().ends_with("/v2.0"));
        let (c, _) = payload(
            &m.mint(&req("api=pet-store&tier=reader&shape=okta"))
                .unwrap()
                .token,
        );
        assert_eq!(c["scp"], json!(t.scopes));
        assert_eq!(c["cid"], "pet-store-reader");
        let e = TokenRequest::from_query("shape=ping").unwrap_err();
        assert!(e.contains("cognito") && e.contains("keycloak"), "{e}");
        let e = m.mint(&req("shape=auth0&format=opaque")).unwrap_err();
        assert!(e.contains("opaque"), "{e}");
        let (c, _) = payload(
            &m.mint(&req("tier=gold&shape=entra&kind=id&tenant=t2"))
                .unwrap()
                .token,
        );
        assert_eq!(
            (c["aud"].as_str(), c["tid"].as_str()),
            (Some("solar-system-gold"), Some("t2"))
        );
        assert!(c.get("nonce").is_some(), "an ID token: {c:?}");
        let e = m.mint(&req("tier=gold&kind=id")).unwrap_err();
        assert!(
            e.starts_with("--id-token (kind=id)") && e.contains("--shape IDP"),
            "{e}"
        );
        let e = m
            .mint(&req("tier=reader&shape=cognito&tenant=abc"))
            .unwrap_err();
        assert!(e.contains("entra-v1, not cognito"), "{e}");
        assert!(TokenRequest::from_query("kind=refresh").is_err());
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/routes.json");
        let apis = crate::table::load(std::path::Path::new(file)).unwrap();
        let no_shapes = Minter::new("http://127.0.0.1:8".into(), TestKey::rsa("k1"), apis, false);
        let e = no_shapes.mint(&req("shape=okta")).unwrap_err();
        assert!(e.contains("no okta issuer"), "{e}");
    }
}
