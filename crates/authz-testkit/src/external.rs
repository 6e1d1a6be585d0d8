//! Real external components on `127.0.0.1`, started by the tests themselves: an OpenID provider
//! (npm `oidc-provider`, for RFC 7662 introspection and RFC 7009 revocation) and `moto_server`
//! (the AWS Secrets Manager API).
//!
//! Both are installed by `scripts/test-tools.sh` (`tests/idp/node_modules`, `.venv`); the
//! constructors panic with that hint when something is missing. Children are killed on drop and
//! their stdout/stderr lines are captured.
//!
//! Each child also ends when the process that started it ends, however that ends (a failed
//! assertion, Ctrl-C, SIGKILL, a killed `authz-local`): its standard input is a pipe this process
//! holds, and it exits when the pipe closes (`tests/idp/idp.mjs` watches its stdin; moto_server
//! runs under [`MOTO_WATCHDOG`]). Both carry [`crate::procs::RUN_VAR`] when set, so the check at
//! the end of `scripts/test.sh` finds any that survive.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader, Lines};
use tokio::process::{Child, Command};

use crate::issuer::basic_auth;
use crate::procs::RUN_VAR;
use crate::server::lock;

/// How long a component may take to become ready (moto imports a lot of Python on first start).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Timeout of every HTTP call the helpers make.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
const INSTALL_HINT: &str =
    "run scripts/test-tools.sh (from any directory) to install the test tools";

/// The repository root (`CARGO_MANIFEST_DIR/../..`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A loopback HTTP client that ignores any proxy settings of the environment.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(HTTP_TIMEOUT)
        .build()
        .expect("authz-testkit: cannot build an HTTP client")
}

/// `application/x-www-form-urlencoded` body of `pairs`.
fn form(pairs: &[(&str, &str)]) -> String {
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        body.append_pair(k, v);
    }
    body.finish()
}

/// Captured stdout and stderr lines of a child (and of its successors after a restart).
#[derive(Debug, Default)]
struct Logs(Mutex<Vec<String>>);

impl Logs {
    fn push(&self, line: String) {
        if std::env::var_os("AUTHZ_TESTKIT_ECHO").is_some() {
            eprintln!("[ext] {line}");
        }
        lock(&self.0).push(line);
    }

    fn all(&self) -> Vec<String> {
        lock(&self.0).clone()
    }

    fn tail(&self) -> String {
        let lines = self.all();
        lines[lines.len().saturating_sub(20)..].join("\n  ")
    }
}

/// Copies `stream` line by line into `logs` until EOF.
async fn capture(stream: impl AsyncRead + Unpin, logs: Arc<Logs>) {
    capture_lines(BufReader::new(stream).lines(), logs).await;
}

async fn capture_lines<R: AsyncRead + Unpin>(mut lines: Lines<BufReader<R>>, logs: Arc<Logs>) {
    while let Ok(Some(line)) = lines.next_line().await {
        logs.push(line);
    }
}

/// Kills `child` and waits for it to be gone (so its port is closed when this returns).
async fn kill(child: &mut Child) {
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
}

/// A free port on 127.0.0.1 for a tool that needs an explicit one (bound, then released).
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .expect("authz-testkit: cannot bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("authz-testkit: local_addr")
        .port()
}

/// One client registered at the [`OidcProvider`] (grant type `client_credentials` only).
#[derive(Clone, Debug)]
pub struct IdpClient {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: String,
    /// `token_endpoint_auth_method`, used at the token, introspection and revocation endpoints:
    /// `client_secret_basic` or `client_secret_post`.
    pub auth_method: String,
    /// Space-separated scopes the client may ask for (e.g. `read write bronze silver gold`).
    pub scope: String,
    /// Whether its tokens are bound to the client certificate of the token request (RFC 8705
    /// `tls_client_certificate_bound_access_tokens`; see [`OidcProvider::certificate_bound_token`]).
    pub certificate_bound: bool,
}

impl IdpClient {
    /// A client authenticating with `auth_method` (`client_secret_basic` or
    /// `client_secret_post`).
    pub fn new(client_id: &str, client_secret: &str, auth_method: &str, scope: &str) -> IdpClient {
        IdpClient {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            auth_method: auth_method.to_owned(),
            scope: scope.to_owned(),
            certificate_bound: false,
        }
    }

    /// This client with certificate-bound tokens (RFC 8705): each token request must carry a
    /// client certificate, and the token is bound to it.
    pub fn certificate_bound(mut self) -> IdpClient {
        self.certificate_bound = true;
        self
    }

    /// A client authenticating with `client_secret_basic`.
    pub fn basic(client_id: &str, client_secret: &str, scope: &str) -> IdpClient {
        IdpClient::new(client_id, client_secret, "client_secret_basic", scope)
    }

    /// A client authenticating with `client_secret_post`.
    pub fn post(client_id: &str, client_secret: &str, scope: &str) -> IdpClient {
        IdpClient::new(client_id, client_secret, "client_secret_post", scope)
    }
}

/// A real OpenID provider (npm oidc-provider) on loopback, run by `node tests/idp/idp.mjs`.
///
/// Client credentials grant at `/token`, RFC 7662 introspection at `/token/introspection` (any
/// registered client may introspect any opaque token), RFC 7009 revocation at
/// `/token/revocation` (a client may revoke only its own tokens), JWKS at `/jwks`. Every access
/// token carries an `aud`: the audience given to [`OidcProvider::start`], else
/// `urn:authz-test:api`. oidc-provider refuses to introspect or revoke JWT access tokens
/// (`400 unsupported_token_type`): use `"opaque"` for introspection tests.
///
/// Sender-constrained tokens: a token request with a DPoP proof gets a DPoP-bound token
/// ([`OidcProvider::dpop_token`]); a client registered [`IdpClient::certificate_bound`] gets
/// tokens bound to the client certificate of its token request
/// ([`OidcProvider::certificate_bound_token`]).
///
/// Errors look like `{"error":"invalid_client","error_description":"client authentication
/// failed"}` (status 401 for a bad client secret, 400 for other errors).
///
/// The child is killed on drop. Its signing key survives [`OidcProvider::restart`],
/// [`OidcProvider::stop`] and [`OidcProvider::resume`]; its tokens do not (memory adapter).
pub struct OidcProvider {
    port: u16,
    issuer: String,
    clients: Vec<IdpClient>,
    format: String,
    audience: Option<String>,
    ttl: u64,
    /// Private signing JWK, kept here between runs; removed on drop.
    key_file: PathBuf,
    /// `None` while stopped. `kill_on_drop`.
    child: Option<Child>,
    logs: Arc<Logs>,
    http: reqwest::Client,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.issuer)
            .field("format", &self.format)
            .field("pid", &self.child.as_ref().and_then(Child::id))
            .finish_non_exhaustive()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        // The child itself is killed by `kill_on_drop`.
        let _ = std::fs::remove_file(&self.key_file);
    }
}

impl OidcProvider {
    /// Starts the provider on an ephemeral port of 127.0.0.1 with `clients`, access tokens in
    /// `access_token_format` (`"opaque"` or `"jwt"`, the latter needs an `audience`) living
    /// 300 s, and waits until it listens.
    ///
    /// # Panics
    /// If `node` or `tests/idp/node_modules` is missing (with the install command), or if the
    /// provider does not start (with its output).
    pub async fn start(
        clients: &[IdpClient],
        access_token_format: &str,
        audience: Option<&str>,
    ) -> OidcProvider {
        Self::start_with_ttl(clients, access_token_format, audience, 300).await
    }

    /// [`OidcProvider::start`] with access tokens living `ttl_seconds` (at least 1).
    pub async fn start_with_ttl(
        clients: &[IdpClient],
        access_token_format: &str,
        audience: Option<&str>,
        ttl_seconds: u64,
    ) -> OidcProvider {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = repo_root().join("tests/idp");
        if !dir
            .join("node_modules/oidc-provider/package.json")
            .is_file()
        {
            panic!(
                "OidcProvider: {} has no node_modules/oidc-provider; {INSTALL_HINT}",
                dir.display()
            );
        }
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let key_file = std::env::temp_dir().join(format!(
            "authz-testkit-idp-{}-{n}-key.json",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&key_file);
        let mut idp = OidcProvider {
            port: 0,
            issuer: String::new(),
            clients: clients.to_vec(),
            format: access_token_format.to_owned(),
            audience: audience.map(str::to_owned),
            ttl: ttl_seconds,
            key_file,
            child: None,
            logs: Arc::default(),
            http: http_client(),
        };
        let (child, port) = idp
            .launch(0)
            .await
            .unwrap_or_else(|e| panic!("OidcProvider::start: {e}"));
        idp.child = Some(child);
        idp.port = port;
        idp.issuer = format!("http://127.0.0.1:{port}");
        idp
    }

    /// Spawns `node idp.mjs` on `port` (0 = ephemeral) and waits for its ready line.
    async fn launch(&self, port: u16) -> Result<(Child, u16), String> {
        let dir = repo_root().join("tests/idp");
        let clients: Vec<Value> = self
            .clients
            .iter()
            .map(|c| {
                json!({"client_id": c.client_id, "client_secret": c.client_secret,
                       "token_endpoint_auth_method": c.auth_method,
                       "grant_types": ["client_credentials"], "scope": c.scope,
                       "certificate_bound": c.certificate_bound})
            })
            .collect();
        let config = json!({"clients": clients, "access_token_format": self.format,
                            "access_token_ttl": self.ttl});
        let mut cmd = Command::new("node");
        cmd.arg("idp.mjs").current_dir(&dir).env_clear();
        for name in ["PATH", "HOME", RUN_VAR] {
            if let Some(value) = std::env::var_os(name) {
                cmd.env(name, value);
            }
        }
        cmd.env("PORT", port.to_string())
            .env("IDP_CONFIG", config.to_string())
            .env("IDP_KEY_FILE", &self.key_file);
        if let Some(audience) = &self.audience {
            cmd.env("IDP_AUDIENCE", audience);
        }
        // stdin: a pipe left in `child`; idp.mjs exits when it closes (this process is gone).
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                panic!(
                    "OidcProvider: `node` not found on PATH: install Node.js 20 or later, then {INSTALL_HINT}"
                )
            }
            Err(e) => panic!("OidcProvider: cannot start node: {e}"),
        };
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        tokio::spawn(capture(stderr, self.logs.clone()));
        let mut lines = BufReader::new(stdout).lines();
        let logs = self.logs.clone();
        let ready = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                let ready: Option<Value> = serde_json::from_str(&line).ok();
                logs.push(line);
                if let Some(ready) = ready
                    && ready["ready"] == true
                {
                    return ready["port"].as_u64().and_then(|p| u16::try_from(p).ok());
                }
            }
            None
        })
        .await;
        match ready {
            Ok(Some(port)) => {
                tokio::spawn(capture_lines(lines, self.logs.clone()));
                Ok((child, port))
            }
            outcome => {
                kill(&mut child).await;
                // Let the stderr capture drain.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let why = if outcome.is_err() {
                    format!("not ready within {START_TIMEOUT:?}")
                } else {
                    format!(
                        "exited before listening ({:?})",
                        child.try_wait().ok().flatten()
                    )
                };
                Err(format!(
                    "node tests/idp/idp.mjs on port {port} {why}; last output:\n  {}",
                    self.logs.tail()
                ))
            }
        }
    }

    /// Starts the child again on the same port, retrying a few times if the port is briefly
    /// taken.
    async fn relaunch(&mut self, what: &str) {
        let mut last = String::new();
        for attempt in 0..5u64 {
            tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
            match self.launch(self.port).await {
                Ok((child, _)) => {
                    self.child = Some(child);
                    return;
                }
                Err(e) => last = e,
            }
        }
        panic!("OidcProvider::{what}: {last}");
    }

    /// The issuer identifier, `http://127.0.0.1:PORT` (no trailing slash); also the base of
    /// every endpoint.
    pub fn issuer(&self) -> String {
        self.issuer.clone()
    }

    /// The port, the same across [`OidcProvider::restart`] and [`OidcProvider::resume`].
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The current clients (changed by [`OidcProvider::restart`]).
    pub fn clients(&self) -> &[IdpClient] {
        &self.clients
    }

    /// `POST {issuer}{path}` with `pairs` as a form, authenticated as `client_id` with the auth
    /// method of that registered client (`client_secret_basic` for an unknown id).
    async fn post_form(
        &self,
        path: &str,
        client_id: &str,
        client_secret: &str,
        pairs: &[(&str, &str)],
    ) -> Result<(u16, Value), reqwest::Error> {
        self.post_form_with(path, client_id, client_secret, pairs, &[])
            .await
    }

    /// [`post_form`](Self::post_form) with extra request `headers`.
    async fn post_form_with(
        &self,
        path: &str,
        client_id: &str,
        client_secret: &str,
        pairs: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Result<(u16, Value), reqwest::Error> {
        let method = self
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
            .map_or("client_secret_basic", |c| c.auth_method.as_str());
        let mut pairs = pairs.to_vec();
        let mut req = self.http.post(format!("{}{path}", self.issuer));
        if method == "client_secret_post" {
            pairs.extend([("client_id", client_id), ("client_secret", client_secret)]);
        } else {
            req = req.header("authorization", basic_auth(client_id, client_secret));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = req
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(form(&pairs))
            .send()
            .await?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await?;
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        Ok((status, json))
    }

    /// Client-credentials grant: returns the access token. `scope` may be empty (then the
    /// token has no scope: oidc-provider does not default to the client's scopes).
    ///
    /// # Panics
    /// Unless the provider answers `200` with an `access_token` (message with the answer).
    pub async fn token(&self, client_id: &str, client_secret: &str, scope: &str) -> String {
        let mut pairs = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            pairs.push(("scope", scope));
        }
        let answer = self
            .post_form("/token", client_id, client_secret, &pairs)
            .await;
        match answer {
            Ok((200, body)) if body["access_token"].is_string() => {
                body["access_token"].as_str().unwrap_or_default().to_owned()
            }
            other => panic!("OidcProvider::token for {client_id:?}: {other:?}"),
        }
    }

    /// The token endpoint's URL, `{issuer}/token` (the `htu` of a DPoP proof for it).
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// Client-credentials grant with extra request `headers` (`DPoP`, `Client-Cert`):
    /// `(status, body)`, e.g. `(200, {"access_token","token_type":"DPoP",...})` or
    /// `(400, {"error":"invalid_dpop_proof",...})`.
    ///
    /// # Panics
    /// If the provider cannot be reached.
    pub async fn token_request(
        &self,
        client_id: &str,
        client_secret: &str,
        scope: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut pairs = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            pairs.push(("scope", scope));
        }
        self.post_form_with("/token", client_id, client_secret, &pairs, headers)
            .await
            .unwrap_or_else(|e| panic!("OidcProvider::token_request: {e}"))
    }

    /// A DPoP-bound access token (RFC 9449 §5): the token request carries a fresh proof signed
    /// by `key` for `POST` [`token_endpoint`](Self::token_endpoint); the token is bound to
    /// `key` (`cnf.jkt`), whatever its format.
    ///
    /// # Panics
    /// Unless the provider answers `200` with an access token of `token_type` `DPoP`.
    pub async fn dpop_token(
        &self,
        client_id: &str,
        client_secret: &str,
        scope: &str,
        key: &crate::TestKey,
    ) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let jti = format!(
            "token-request-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let proof =
            key.dpop_token_request_proof("POST", &self.token_endpoint(), crate::now(), &jti);
        let answer = self
            .token_request(client_id, client_secret, scope, &[("dpop", &proof)])
            .await;
        match answer {
            (200, body) if body["token_type"] == "DPoP" && body["access_token"].is_string() => {
                body["access_token"].as_str().unwrap_or_default().to_owned()
            }
            other => panic!("OidcProvider::dpop_token for {client_id:?}: {other:?}"),
        }
    }

    /// A certificate-bound access token (RFC 8705 §3) for a client registered with
    /// [`IdpClient::certificate_bound`]: the token request carries `cert_der` the way a
    /// TLS-terminating proxy passes a client certificate on (the RFC 9440 `Client-Cert` header;
    /// the provider listens on plain HTTP), and the provider binds the token to it
    /// (`cnf.x5t#S256`, which it computes itself).
    ///
    /// # Panics
    /// Unless the provider answers `200` with an access token.
    pub async fn certificate_bound_token(
        &self,
        client_id: &str,
        client_secret: &str,
        scope: &str,
        cert_der: &[u8],
    ) -> String {
        use base64::{Engine, engine::general_purpose::STANDARD};
        let header = format!(":{}:", STANDARD.encode(cert_der));
        let answer = self
            .token_request(client_id, client_secret, scope, &[("client-cert", &header)])
            .await;
        match answer {
            (200, body) if body["access_token"].is_string() => {
                body["access_token"].as_str().unwrap_or_default().to_owned()
            }
            other => panic!("OidcProvider::certificate_bound_token for {client_id:?}: {other:?}"),
        }
    }

    /// RFC 7662 introspection of `token`, authenticated as `client_id`: `(status, body)`, e.g.
    /// `(200, {"active":true,"client_id","exp","iat","iss","aud","scope","token_type":"Bearer"})`,
    /// `(200, {"active":false})`, `(401, {"error":"invalid_client",...})`.
    ///
    /// # Panics
    /// If the provider cannot be reached.
    pub async fn introspect(
        &self,
        client_id: &str,
        client_secret: &str,
        token: &str,
    ) -> (u16, Value) {
        let pairs = [("token", token)];
        self.post_form("/token/introspection", client_id, client_secret, &pairs)
            .await
            .unwrap_or_else(|e| panic!("OidcProvider::introspect: {e}"))
    }

    /// RFC 7009 revocation of a token (only the client it was issued to may revoke it).
    ///
    /// # Panics
    /// Unless the provider answers `200`.
    pub async fn revoke(&self, client_id: &str, client_secret: &str, token: &str) {
        let pairs = [("token", token)];
        let answer = self
            .post_form("/token/revocation", client_id, client_secret, &pairs)
            .await;
        if !matches!(answer, Ok((200, _))) {
            panic!("OidcProvider::revoke for {client_id:?}: {answer:?}");
        }
    }

    /// Restart on the SAME port with other clients (e.g. a rotated secret); tokens issued before
    /// are forgotten (memory adapter). The signing key is kept.
    pub async fn restart(&mut self, clients: &[IdpClient]) {
        self.stop().await;
        self.clients = clients.to_vec();
        self.relaunch("restart").await;
    }

    /// Stops the provider (IdP down): connections to its port are refused until
    /// [`OidcProvider::resume`]. Does nothing if already stopped.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(&mut child).await;
        }
    }

    /// Starts it again on the same port with the same clients and signing key (tokens issued
    /// before are forgotten). Does nothing if running.
    pub async fn resume(&mut self) {
        if self.child.is_none() {
            self.relaunch("resume").await;
        }
    }

    /// All stdout and stderr lines captured so far, across restarts: the ready line, one JSON
    /// line per request (`{"method","path","status"}`), provider errors
    /// (`{"event":"introspection.error",...}`) and Node's warnings.
    pub fn logs(&self) -> Vec<String> {
        self.logs.all()
    }
}

/// How moto_server runs: `python -c MOTO_WATCHDOG -H 127.0.0.1 -p PORT`, with the interpreter
/// of the `moto_server` script. A thread reads standard input (a pipe the starting process holds)
/// and ends the process when it closes; then the main thread runs moto_server's own `main`.
///
/// Requests are handled one at a time: moto_server serves each on a thread of its own, and its
/// DynamoDB conditional put (`attribute_not_exists`) checks and writes without a lock, so two
/// concurrent puts of one key could both succeed there (seen in CI: two authorizers both
/// accepting one DPoP proof), where DynamoDB's conditional writes are atomic. Serialized, moto
/// keeps the guarantee the replay store relies on, and the concurrency tests test our code.
pub const MOTO_WATCHDOG: &str = "import os, sys, threading
def watch():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)
threading.Thread(target=watch, daemon=True).start()
import moto.server
one_at_a_time = threading.Lock()
dispatch = moto.server.DomainDispatcherApplication.__call__
def serialized(self, environ, start_response):
    with one_at_a_time:
        return dispatch(self, environ, start_response)
moto.server.DomainDispatcherApplication.__call__ = serialized
moto.server.main(sys.argv[1:])
";

/// moto_server serving the AWS Secrets Manager API on loopback.
///
/// Account `123456789012`, any region (the helpers and [`MotoServer::sdk_env`] use
/// `us-east-1`); state lives in the process. The child is killed on drop, and ends by itself
/// when the process that started it is gone ([`MOTO_WATCHDOG`]).
pub struct MotoServer {
    endpoint: String,
    /// `kill_on_drop`; its stdin is the watchdog's pipe.
    child: Child,
    logs: Arc<Logs>,
    http: reqwest::Client,
}

impl std::fmt::Debug for MotoServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MotoServer")
            .field("endpoint", &self.endpoint)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

/// A SigV4-looking `Authorization` header: moto picks the service (and region) from its
/// credential scope (without one it answers as S3) and does not check the signature.
const MOTO_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 \
    Credential=testing/20260101/us-east-1/secretsmanager/aws4_request, \
    SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000";

impl MotoServer {
    /// Finds `moto_server` in `<repo>/.venv/bin` or on `PATH`, starts it on a free port of
    /// 127.0.0.1 and waits until it answers.
    ///
    /// # Panics
    /// If `moto_server` is missing (with the install command) or does not start (with its
    /// output).
    pub async fn start() -> MotoServer {
        match MotoServer::try_start().await {
            Ok(moto) => moto,
            Err(e) => panic!("MotoServer::start: {e}"),
        }
    }

    /// [`MotoServer::start`] that returns what went wrong instead of panicking (the local mode
    /// reports it and goes on without opaque tokens).
    pub async fn try_start() -> Result<MotoServer, String> {
        let script = find_moto().ok_or_else(|| {
            format!("moto_server not found in .venv/bin nor on PATH; {INSTALL_HINT}")
        })?;
        let program = interpreter(&script)?;
        let http = http_client();
        let logs = Arc::new(Logs::default());
        let mut last = String::new();
        // The free port is released before moto binds it: retry if someone took it meanwhile.
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(&program)
                .args([
                    "-c",
                    MOTO_WATCHDOG,
                    "-H",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
            let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
                return Err("moto_server: no piped output".to_owned());
            };
            tokio::spawn(capture(stdout, logs.clone()));
            tokio::spawn(capture(stderr, logs.clone()));
            let endpoint = format!("http://127.0.0.1:{port}");
            let deadline = tokio::time::Instant::now() + START_TIMEOUT;
            let exited = loop {
                if let Ok(Some(status)) = child.try_wait() {
                    break format!("exited ({status})");
                }
                let probe = http.get(format!("{endpoint}/moto-api/")).send().await;
                if probe.is_ok_and(|r| r.status().is_success()) {
                    return Ok(MotoServer {
                        endpoint,
                        child,
                        logs,
                        http,
                    });
                }
                if tokio::time::Instant::now() > deadline {
                    kill(&mut child).await;
                    break format!("not ready within {START_TIMEOUT:?}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            last = format!(
                "{} on port {port} {exited}; last output:\n  {}",
                script.display(),
                logs.tail()
            );
        }
        Err(last)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Calls one Secrets Manager action (`target` without prefix, e.g. `GetSecretValue`,
    /// `DeleteSecret`) with a JSON body: `(status, body)`; errors come as
    /// `(400, {"__type":"ResourceNotFoundException","message":...})`.
    ///
    /// # Panics
    /// If the server cannot be reached.
    pub async fn call(&self, target: &str, body: &Value) -> (u16, Value) {
        self.call_as(
            MOTO_AUTHORIZATION,
            &format!("secretsmanager.{target}"),
            "application/x-amz-json-1.1",
            body,
        )
        .await
    }

    /// Calls one DynamoDB action (`target` without prefix, e.g. `CreateTable`, `GetItem`):
    /// `(status, body)`, as [`MotoServer::call`].
    pub async fn dynamodb(&self, target: &str, body: &Value) -> (u16, Value) {
        let authorization = MOTO_AUTHORIZATION.replace("/secretsmanager/", "/dynamodb/");
        self.call_as(
            &authorization,
            &format!("DynamoDB_20120810.{target}"),
            "application/x-amz-json-1.0",
            body,
        )
        .await
    }

    /// Creates the DPoP replay table `name` with the authorizer's schema (partition key
    /// `REPLAY_KEY_ATTRIBUTE`, a string; on demand).
    ///
    /// # Panics
    /// If moto refuses.
    pub async fn create_replay_table(&self, name: &str) {
        let key = authz_core::internals::REPLAY_KEY_ATTRIBUTE;
        let (status, body) = self
            .dynamodb(
                "CreateTable",
                &json!({"TableName": name, "BillingMode": "PAY_PER_REQUEST",
                        "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
                        "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}]}),
            )
            .await;
        assert_eq!(
            status, 200,
            "MotoServer::create_replay_table {name}: {body}"
        );
    }

    async fn call_as(
        &self,
        authorization: &str,
        target: &str,
        content_type: &str,
        body: &Value,
    ) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/", self.endpoint))
            .header("x-amz-target", target)
            .header("content-type", content_type)
            .header("x-amz-date", "20260101T000000Z")
            .header("authorization", authorization)
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("MotoServer::call {target}: {e}"));
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap_or_default();
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        (status, json)
    }

    /// Creates or updates a secret with a string value; returns its ARN.
    ///
    /// # Panics
    /// If moto refuses either call (message with its answer).
    pub async fn put_secret(&self, name: &str, value: &str) -> String {
        match self.try_put_secret(name, value).await {
            Ok(arn) => arn,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`MotoServer::put_secret`] that returns moto's refusal (never the value) instead of
    /// panicking.
    pub async fn try_put_secret(&self, name: &str, value: &str) -> Result<String, String> {
        let created = self
            .call(
                "CreateSecret",
                &json!({"Name": name, "SecretString": value}),
            )
            .await;
        let answer = match created {
            (400, ref body)
                if body["__type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("ResourceExistsException")) =>
            {
                let update = json!({"SecretId": name, "SecretString": value});
                self.call("PutSecretValue", &update).await
            }
            other => other,
        };
        match answer {
            (200, body) if body["ARN"].is_string() => {
                Ok(body["ARN"].as_str().unwrap_or_default().to_owned())
            }
            other => Err(format!("MotoServer::put_secret {name:?}: {other:?}")),
        }
    }

    /// Env vars for a process using the AWS SDK against this server (endpoint URLs for Secrets
    /// Manager and DynamoDB, region us-east-1, dummy credentials, instance metadata lookups off).
    pub fn sdk_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", self.endpoint.as_str()),
            ("AWS_ENDPOINT_URL_DYNAMODB", self.endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// All stdout and stderr lines captured so far (moto logs one line per request).
    pub fn logs(&self) -> Vec<String> {
        self.logs.all()
    }
}

/// `<repo>/.venv/bin/moto_server`, else the first `moto_server` on `PATH`.
fn find_moto() -> Option<PathBuf> {
    let venv = repo_root().join(".venv/bin/moto_server");
    if venv.is_file() {
        return Some(venv);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("moto_server"))
        .find(|candidate| candidate.is_file())
}

/// The Python interpreter of the `moto_server` script: its `#!` line (`#!/usr/bin/env python3`
/// names a program looked up on `PATH`).
fn interpreter(script: &Path) -> Result<PathBuf, String> {
    let text =
        std::fs::read(script).map_err(|e| format!("cannot read {}: {e}", script.display()))?;
    let first = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(first);
    let mut words = line
        .strip_prefix("#!")
        .ok_or_else(|| {
            format!(
                "{} has no #! line: not the moto_server script pip installs; {INSTALL_HINT}",
                script.display()
            )
        })?
        .split_whitespace();
    let program = words.next().unwrap_or_default();
    Ok(match words.next() {
        Some(name) if program.ends_with("/env") => PathBuf::from(name),
        _ => PathBuf::from(program),
    })
}
