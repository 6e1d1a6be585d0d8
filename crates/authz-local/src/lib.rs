//! The local mode: the whole system on loopback, no AWS account, no Docker.
//!
//! [`LocalMode::start`] reads the route table (`infra/routes.json`, the same file `infra/`
//! deploys from) and starts:
//! * a dev OIDC issuer ([`authz_testkit::Issuer`]: discovery + JWKS) whose demo tokens (one per
//!   tier of each API, or any scopes) come from a small token endpoint ([`token`]);
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
pub mod table;
pub mod token;

use authz_testkit::server::serve_listener;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use authz_testkit::{Issuer, TestKey};
use tokio::net::TcpListener;

pub use gateway::Gateway;
pub use table::{ApiKind, ApiSpec, AuthorizerKind};

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
        }
    }
}

/// The running local mode; everything stops (servers, authorizer processes) when dropped.
#[derive(Debug)]
pub struct LocalMode {
    /// The issuer and its signing key (what the token endpoint mints with).
    pub tokens: Arc<token::Minter>,
    /// One gateway per API, in table order.
    pub gateways: Vec<Arc<Gateway>>,
    /// Address of the token endpoint.
    pub token_addr: SocketAddr,
    servers: Vec<tokio::task::JoinHandle<()>>,
    _issuer: Issuer,
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
        let apis = table::load(&opts.routes_file)?;
        for api in &apis {
            for kind in api.lambda_authorizers() {
                let bin = opts.bin_dir.join(kind.binary().unwrap_or_default());
                if !bin.is_file() {
                    return Err(format!(
                        "{} not found: build the authorizers first (cargo build --release -p \
                         token-authorizer -p request-authorizer -p http-authorizer)",
                        bin.display()
                    ));
                }
            }
        }
        let issuer = Issuer::start().await;
        let key = TestKey::rsa("authz-local-dev");
        issuer.set_keys(vec![key.jwk()]);
        let tokens = Arc::new(token::Minter::new(issuer.url(), key, apis.clone()));

        let mut servers = Vec::new();
        let mut gateways = Vec::new();
        let (mut rest_i, mut http_i) = (0u16, 0u16);
        for api in apis {
            let port = match api.kind {
                ApiKind::Rest => port_plus(opts.rest_port, &mut rest_i),
                ApiKind::Http => port_plus(opts.http_port, &mut http_i),
            };
            let listener = bind(port).await?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            let gw = Arc::new(Gateway::start(api, addr, &issuer.url(), opts).await?);
            let served = gw.clone();
            servers.push(tokio::spawn(serve_listener(listener, None, move |req| {
                let gw = served.clone();
                async move { Ok(gw.handle(req).await) }
            })));
            gateways.push(gw);
        }
        let listener = bind(opts.token_port).await?;
        let token_addr = listener.local_addr().map_err(|e| e.to_string())?;
        let minter = tokens.clone();
        servers.push(tokio::spawn(serve_listener(listener, None, move |req| {
            let minter = minter.clone();
            async move { Ok(minter.handle(req).await) }
        })));
        Ok(LocalMode {
            tokens,
            gateways,
            token_addr,
            servers,
            _issuer: issuer,
        })
    }

    /// The gateway of the API with this name.
    pub fn gateway(&self, name: &str) -> Option<&Gateway> {
        self.gateways
            .iter()
            .find(|g| g.api.name == name)
            .map(|g| &**g)
    }

    /// The issuer URL.
    pub fn issuer_url(&self) -> String {
        self.tokens.issuer_url.clone()
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
