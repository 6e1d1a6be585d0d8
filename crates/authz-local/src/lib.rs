//! The local mode: the whole system on loopback, no AWS account, no Docker.
//!
//! [`LocalMode::start`] reads the route table (`infra/routes.json`, the same file `infra/`
//! deploys from) and starts:
//! * a dev OIDC issuer ([`authz_testkit::Issuer`]: discovery + JWKS) with a client-credentials
//!   token endpoint (a demo client per tier of each API), opaque tokens and RFC 7662
//!   introspection, plus a demo-token endpoint without client authentication ([`token`]); or,
//!   instead, an external issuer ([`ExternalIssuer`], e.g. npm `oidc-provider`);
//! * with the dev issuer, one loopback issuer per IdP shape ([`shapes`]), which every Lambda
//!   authorizer also trusts with that IdP's README recipe (the native JWT routes do not);
//! * `moto_server` (AWS Secrets Manager) holding the introspection client's secret, so opaque
//!   tokens take the production path: the authorizers read the secret with the AWS SDK; and,
//!   when an API is sender-constrained (`senderConstrained`, DPoP and certificate-bound
//!   tokens), moto's DynamoDB with the shared DPoP replay table ([`REPLAY_TABLE`]), which that
//!   API's authorizers write to as deployed ones do (`AUTHZ_DPOP_REPLAY_TABLE`);
//! * per API, an API Gateway emulator ([`gateway`]): REST APIs with TOKEN / REQUEST Lambda
//!   authorizers, HTTP APIs with Lambda (simple responses) and native JWT authorizers. The
//!   Lambda authorizers are the real binaries run through the Lambda Runtime API emulator
//!   ([`authz_testkit::LambdaProcess`]), a small pool per function, with `AUTHZ_ROUTES`
//!   generated from the table as infra does; API Gateway's behaviour is reproduced (401 without
//!   invoking when the identity source is missing, result cache with the table's TTL, IAM policy
//!   evaluation, `Unauthorized` → 401, other errors → 500, the authorizer context handed on);
//! * demo backends answering JSON ([`backend`]).
//!
//! A dev tool, never a production path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod backend;
pub mod gateway;
pub mod logs;
pub mod probe;
pub mod proof;
pub mod shapes;
pub mod table;
pub mod token;

use authz_testkit::server::serve_listener;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use authz_testkit::{Issuer, MotoServer, TestKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::TcpListener;

pub use gateway::Gateway;
pub use table::{ApiKind, ApiSpec, AuthorizerKind, SenderConstrained};

/// Settings of [`LocalMode::start`]. Ports 0 pick free ones.
#[derive(Debug, Clone)]
pub struct Options {
    /// The route table.
    pub routes_file: PathBuf,
    /// Where `token-authorizer`, `request-authorizer`, `http-authorizer` are.
    pub bin_dir: PathBuf,
    /// Port of the first REST API (the next REST APIs get the following ports).
    pub rest_port: u16,
    /// Port of the first HTTP API (likewise).
    pub http_port: u16,
    /// Port of the token endpoint.
    pub token_port: u16,
    /// Processes per Lambda function.
    pub pool_size: usize,
    /// Extra environment for every authorizer process (e.g. `AWS_LAMBDA_LOG_LEVEL`).
    pub extra_env: Vec<(String, String)>,
    /// Overrides every API's `cacheTtlSeconds` (0: no authorizer cache, e.g. for load runs).
    pub cache_ttl: Option<u64>,
    /// Opaque tokens: start `moto_server` with the introspection client's secret (default on).
    pub opaque: bool,
    /// Trust this issuer instead of starting the dev issuer (no demo tokens then).
    pub issuer: Option<ExternalIssuer>,
    /// Overrides of APIs' `senderConstrained` (`--sender-constrained API=MODE`).
    pub sender_constrained: Vec<(String, SenderConstrained)>,
}

/// An external OIDC issuer for the local mode (tokens come from it, not from `token.sh`).
#[derive(Debug, Clone)]
pub struct ExternalIssuer {
    /// Its issuer identifier (discovery at `{url}/.well-known/openid-configuration`).
    pub url: String,
    /// `(client_id, client_secret)` the authorizers introspect opaque tokens with (stored in
    /// moto's Secrets Manager like the dev issuer's); `None`: JWTs only.
    pub introspection_client: Option<(String, String)>,
}

impl Options {
    /// Defaults: REST 3000, HTTP 3001, tokens 3002, 2 processes per function.
    pub fn new(routes_file: PathBuf, bin_dir: PathBuf) -> Options {
        Options {
            routes_file,
            bin_dir,
            rest_port: 3000,
            http_port: 3001,
            token_port: 3002,
            pool_size: 2,
            extra_env: Vec::new(),
            cache_ttl: None,
            opaque: true,
            issuer: None,
            sender_constrained: Vec::new(),
        }
    }
}

/// What every gateway of one local mode shares.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The issuer URL every authorizer trusts.
    pub issuer: String,
    /// `http://127.0.0.1:PORT` of the demo-token endpoint (the demo page calls it).
    pub token_url: String,
    /// Environment every authorizer process gets beyond issuer, audience and routes (the
    /// introspection secret and the AWS SDK's endpoint for moto, `extra_env`).
    pub authorizer_env: Vec<(String, String)>,
    /// The IdP-shaped issuers the Lambda authorizers also trust, each with its recipe (with the
    /// dev issuer; `None` with an external one).
    pub shapes: Option<Arc<shapes::ShapeIssuers>>,
    /// The DPoP replay table in moto's DynamoDB, when an API is sender-constrained: the
    /// `AUTHZ_DPOP_REPLAY_TABLE` of those APIs' authorizers.
    pub replay_table: Option<String>,
}

/// Name of the DynamoDB table (moto) where sender-constrained APIs' authorizers record the DPoP
/// proofs they accepted.
pub const REPLAY_TABLE: &str = "authz-local-dpop-replay";

/// Name of the Secrets Manager secret holding the introspection client.
pub const INTROSPECTION_SECRET_NAME: &str = "authz-local/introspection-client";

/// What `authz-local --ready-json` prints, as one line of JSON, once every server is up: what a
/// program driving the local mode (the load test) needs, so it never scrapes the banner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    /// The process id of `authz-local`.
    pub pid: u32,
    /// The issuer URL every authorizer trusts.
    pub issuer: String,
    /// Whether that issuer is the dev issuer (`false`: `--issuer`, an external one).
    pub dev_issuer: bool,
    /// The dev issuer's client-credentials endpoint (`None` with an external issuer).
    pub token_endpoint: Option<String>,
    /// The demo-token endpoint, `GET …/token?api=A&tier=T` (`None` with an external issuer).
    pub demo_token_endpoint: Option<String>,
    /// moto's endpoint (Secrets Manager when opaque tokens are on, DynamoDB when an API is
    /// sender-constrained); `None`: neither.
    pub moto: Option<String>,
    /// One entry per API, in table order.
    pub apis: Vec<ReadyApi>,
}

/// One API in [`Readiness`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadyApi {
    /// Its name in the route table.
    pub name: String,
    /// `rest` or `http`.
    pub kind: String,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The authorizer cache TTL in effect (after `--cache-ttl`).
    pub cache_ttl_seconds: u64,
    /// Its Lambda authorizer functions.
    pub authorizers: Vec<ReadyAuthorizer>,
}

/// One Lambda authorizer function of an API in [`Readiness`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadyAuthorizer {
    /// The route table's authorizer type (`token`, `request`, `http`).
    pub kind: String,
    /// The binary.
    pub binary: String,
    /// The pids of its process pool.
    pub pids: Vec<u32>,
}

/// The running local mode; everything stops (servers, authorizer processes, moto) when
/// dropped.
#[derive(Debug)]
pub struct LocalMode {
    /// The dev issuer's tokens (`None` with an external issuer).
    pub tokens: Option<Arc<token::Minter>>,
    /// One gateway per API, in table order.
    pub gateways: Vec<Arc<Gateway>>,
    /// Address of the demo-token endpoint.
    pub token_addr: SocketAddr,
    /// The issuer URL.
    pub issuer_url: String,
    /// moto: Secrets Manager when opaque tokens are on, DynamoDB (the DPoP replay table) when an
    /// API is sender-constrained.
    pub moto: Option<MotoServer>,
    /// The IdP-shaped issuers (with the dev issuer).
    pub shapes: Option<Arc<shapes::ShapeIssuers>>,
    /// Whether moto's Secrets Manager holds the introspection client (opaque tokens on).
    pub introspection: bool,
    /// The DPoP replay table in moto's DynamoDB ([`REPLAY_TABLE`]), when an API is
    /// sender-constrained.
    pub replay_table: Option<String>,
    servers: Vec<tokio::task::JoinHandle<()>>,
    _issuer: Option<Issuer>,
}

impl Drop for LocalMode {
    fn drop(&mut self) {
        for s in &self.servers {
            s.abort();
        }
    }
}

async fn bind(port: u16) -> Result<TcpListener, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))
}

impl LocalMode {
    /// Starts everything; errors say what is missing (a binary, the table, a busy port).
    pub async fn start(opts: &Options) -> Result<LocalMode, String> {
        let apis = table::load_with(&opts.routes_file, &opts.sender_constrained)?;
        let constrained = apis
            .iter()
            .any(|a| a.sender_constrained != SenderConstrained::Off);
        for api in &apis {
            for kind in api.lambda_authorizers() {
                let bin = opts.bin_dir.join(kind.binary().unwrap_or_default());
                if !bin.is_file() {
                    return Err(format!(
                        "{} not found: build the authorizers first (scripts/dev.sh does; or cargo \
                         build -p token-authorizer -p request-authorizer -p http-authorizer, \
                         with --release for target/release)",
                        bin.display()
                    ));
                }
            }
        }
        // Every port before any process starts: a busy port fails the start with nothing left
        // running (no authorizer process outlives the error).
        let token_listener = bind(opts.token_port).await?;
        let token_addr = token_listener.local_addr().map_err(|e| e.to_string())?;
        let mut listeners = Vec::new();
        let (mut rest_i, mut http_i) = (0u16, 0u16);
        for api in &apis {
            let port = match api.kind {
                ApiKind::Rest => port_plus(opts.rest_port, &mut rest_i),
                ApiKind::Http => port_plus(opts.http_port, &mut http_i),
            };
            listeners.push(bind(port).await.map_err(|e| format!("{}: {e}", api.name))?);
        }
        let (issuer, tokens, issuer_url, shape_issuers) = match &opts.issuer {
            Some(external) => (
                None,
                None,
                external.url.trim_end_matches('/').to_owned(),
                None,
            ),
            None => {
                let issuer = Issuer::start().await;
                let key = TestKey::rsa("authz-local-dev");
                issuer.set_keys(vec![key.jwk()]);
                let shape_issuers = Arc::new(shapes::ShapeIssuers::start(&key).await);
                let bases = shape_issuers
                    .shapes()
                    .filter_map(|s| Some((s, shape_issuers.base(s)?)))
                    .collect();
                let tokens = Arc::new(
                    token::Minter::new(issuer.url(), key, apis.clone(), opts.opaque)
                        .with_shape_bases(bases),
                );
                let oauth = tokens.clone();
                issuer.set_fallback(Arc::new(move |req| {
                    let oauth = oauth.clone();
                    Box::pin(async move { oauth.oauth(req).await })
                }));
                let url = issuer.url();
                issuer.set_discovery_extra(json!({
                    "introspection_endpoint": format!("{url}/introspect"),
                    "grant_types_supported": ["client_credentials"],
                    "token_endpoint_auth_methods_supported":
                        ["client_secret_basic", "client_secret_post"],
                    "introspection_endpoint_auth_methods_supported":
                        ["client_secret_basic", "client_secret_post"],
                }));
                (Some(issuer), Some(tokens), url, Some(shape_issuers))
            }
        };
        let introspection_client = match (&opts.issuer, &tokens) {
            (Some(external), _) => external.introspection_client.clone(),
            (None, Some(t)) if opts.opaque => {
                let (id, secret) = t.introspection_client();
                Some((id.to_owned(), secret.to_owned()))
            }
            _ => None,
        };
        let mut authorizer_env = Vec::new();
        let moto = if introspection_client.is_some() || constrained {
            let moto = MotoServer::try_start().await.map_err(|e| {
                if introspection_client.is_some() {
                    format!(
                        "opaque tokens need moto_server (Secrets Manager): {e}; or pass --no-opaque"
                    )
                } else {
                    format!(
                        "a sender-constrained API needs moto_server (DynamoDB, the DPoP replay \
                         table): {e}"
                    )
                }
            })?;
            authorizer_env.extend(moto.sdk_env());
            Some(moto)
        } else {
            None
        };
        let introspection = introspection_client.is_some();
        if let (Some(moto), Some((client_id, client_secret))) = (&moto, introspection_client) {
            let value = json!({"client_id": client_id, "client_secret": client_secret});
            let arn = moto
                .try_put_secret(INTROSPECTION_SECRET_NAME, &value.to_string())
                .await?;
            authorizer_env.push(("AUTHZ_INTROSPECTION_SECRET_ARN".to_owned(), arn));
        }
        let replay_table = match (&moto, constrained) {
            (Some(moto), true) => {
                moto.create_replay_table(REPLAY_TABLE).await;
                Some(REPLAY_TABLE.to_owned())
            }
            _ => None,
        };
        authorizer_env.extend(opts.extra_env.iter().cloned());
        let shared = Shared {
            issuer: issuer_url.clone(),
            token_url: format!("http://{token_addr}"),
            authorizer_env,
            shapes: shape_issuers.clone(),
            replay_table: replay_table.clone(),
        };

        let mut servers = Vec::new();
        let mut gateways = Vec::new();
        for (mut api, listener) in apis.into_iter().zip(listeners) {
            if let Some(ttl) = opts.cache_ttl {
                api.cache_ttl_seconds = ttl;
            }
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            let gw = Arc::new(Gateway::start(api, addr, &shared, opts).await?);
            let served = gw.clone();
            servers.push(tokio::spawn(serve_listener(listener, None, move |req| {
                let gw = served.clone();
                async move { Ok(gw.handle(req).await) }
            })));
            gateways.push(gw);
        }
        let minter = tokens.clone();
        servers.push(tokio::spawn(serve_listener(
            token_listener,
            None,
            move |req| {
                let minter = minter.clone();
                async move {
                    Ok(match minter {
                        Some(m) => m.handle(req).await,
                        None => authz_testkit::server::response(
                            http::StatusCode::SERVICE_UNAVAILABLE,
                            "text/plain",
                            "the local mode trusts an external issuer: get tokens from it\n",
                        ),
                    })
                }
            },
        )));
        Ok(LocalMode {
            tokens,
            gateways,
            token_addr,
            issuer_url,
            moto,
            shapes: shape_issuers,
            introspection,
            replay_table,
            servers,
            _issuer: issuer,
        })
    }

    /// What `--ready-json` prints.
    pub fn readiness(&self) -> Readiness {
        let dev = self.tokens.is_some();
        let apis = self
            .gateways
            .iter()
            .map(|gw| ReadyApi {
                name: gw.api.name.clone(),
                kind: match gw.api.kind {
                    ApiKind::Rest => "rest",
                    ApiKind::Http => "http",
                }
                .to_owned(),
                url: gw.url(),
                cache_ttl_seconds: gw.api.cache_ttl_seconds,
                authorizers: gw
                    .api
                    .lambda_authorizers()
                    .into_iter()
                    .filter_map(|kind| {
                        Some(ReadyAuthorizer {
                            kind: kind.name().to_owned(),
                            binary: kind.binary()?.to_owned(),
                            pids: gw.pool(kind)?.pids(),
                        })
                    })
                    .collect(),
            })
            .collect();
        Readiness {
            pid: std::process::id(),
            issuer: self.issuer_url.clone(),
            dev_issuer: dev,
            token_endpoint: dev.then(|| format!("{}/token", self.issuer_url)),
            demo_token_endpoint: dev.then(|| format!("http://{}/token", self.token_addr)),
            moto: self.moto.as_ref().map(MotoServer::endpoint),
            apis,
        }
    }

    /// The gateway of the API with this name.
    pub fn gateway(&self, name: &str) -> Option<&Gateway> {
        self.gateways
            .iter()
            .find(|g| g.api.name == name)
            .map(|g| &**g)
    }

    /// The dev issuer's tokens.
    ///
    /// # Panics
    /// With an external issuer.
    pub fn minter(&self) -> &token::Minter {
        self.tokens
            .as_deref()
            .expect("LocalMode::minter: an external issuer mints the tokens")
    }
}

fn port_plus(base: u16, i: &mut u16) -> u16 {
    let p = if base == 0 {
        0
    } else {
        base.saturating_add(*i)
    };
    *i += 1;
    p
}
