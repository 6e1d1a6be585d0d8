//! The API Gateway emulator of one API (REST or HTTP), in front of the demo backend.
//!
//! What it reproduces (see the README's "What API Gateway answers"):
//! * routing by the route table with API Gateway's specificity (`authz_core::Rules`);
//!   an unknown route: REST 403 `Missing Authentication Token`, HTTP 404;
//! * identity source absent (no `Authorization` header) → 401 without invoking;
//! * REST TOKEN / REQUEST: the event with `methodArn`
//!   `arn:aws:execute-api:us-east-1:123456789012:<api>/local/<VERB>/<path>`; error
//!   `Unauthorized` → 401; a policy evaluated against the method ARN
//!   (`authz_core::evaluate`, explicit Deny wins) → backend or 403; other errors → 500;
//! * HTTP Lambda (payload 2.0, simple responses): `isAuthorized` false → 403, error → 500;
//! * HTTP native JWT: verified in-process with authz-core (issuer + audience), scopes any-of;
//!   invalid → 401, missing scope → 403; like API Gateway's, it trusts one issuer (the dev
//!   issuer or `--issuer`), so the IdP-shaped issuers' tokens get 401 there, while the Lambda
//!   authorizers trust those too ([`crate::shapes`]);
//! * the authorizer result cache keyed exactly on the identity sources the CDK app renders: REST
//!   TOKEN the token header alone, REQUEST the token and binding headers (`AUTHZ_TOKEN_HEADER`,
//!   `AUTHZ_BIND_HEADER`), HTTP those plus `$context.routeKey` whenever results are cached, for
//!   the table's `cacheTtlSeconds`;
//! * the authorizer `context` handed to the backend;
//! * sender-constrained APIs (`senderConstrained`): their authorizers get
//!   `AUTHZ_SENDER_CONSTRAINED` and the shared replay table (`AUTHZ_DPOP_REPLAY_TABLE`, moto's
//!   DynamoDB), their results are not cached; a client certificate, which API Gateway takes from
//!   mutual TLS on a custom domain, comes in the dev-only header [`CLIENT_CERT_HEADER`] and goes
//!   into the event where API Gateway puts it (REST `requestContext.identity.clientCert`, HTTP
//!   `requestContext.authentication.clientCert`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use authz_core::{
    Authorizer, AuthorizerKind as AuthzKind, Config, Rule, Rules, Trace, evaluate,
    policy_statements,
};
use authz_testkit::{LambdaProcess, Outcome};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::backend::{self, GatewayRequest};
use crate::shapes::ShapeIssuers;
use crate::table::{ApiKind, ApiSpec, AuthorizerKind, SenderConstrained, path_params};
use crate::{Options, Shared};
use authz_testkit::server::{lock, response as reply};

/// Which process served an invocation, and how many lines it had written before.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    process: usize,
    lines_before: usize,
}

/// The response header the local mode adds to a refusal: the reason of the authorizer's decision
/// line (dev only; API Gateway sends no such header). The demo page shows it.
pub const REASON_HEADER: &str = "x-authz-local-reason";

fn with_reason(mut resp: Resp, reason: Option<&str>) -> Resp {
    if let Some(v) = reason.and_then(|r| http::HeaderValue::from_str(r).ok()) {
        resp.headers_mut().insert(REASON_HEADER, v);
    }
    resp
}

/// The local gateway's stand-in for mutual TLS (dev only; API Gateway has no such header): the
/// client certificate's PEM, on one line (line breaks as spaces) or percent-encoded as nginx's
/// `$ssl_client_escaped_cert`. The gateway puts it into the authorizer event's `clientCert` and
/// does not pass the header on.
pub const CLIENT_CERT_HEADER: &str = "x-authz-local-client-cert";

/// The PEM of [`CLIENT_CERT_HEADER`]'s value: percent-decoded, each base64 run of the body on a
/// line of its own between the markers (the PEM API Gateway's `clientCertPem` carries). `None`
/// when it holds no `CERTIFICATE` block.
pub fn client_cert_pem(value: &str) -> Option<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let decoded: String =
        form_urlencoded::parse(format!("v={}", value.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())?;
    let body = &decoded[decoded.find(BEGIN)? + BEGIN.len()..];
    let body = &body[..body.find(END)?];
    let lines: Vec<&str> = body.split_whitespace().collect();
    if lines.is_empty() {
        return None;
    }
    Some(format!("{BEGIN}\n{}\n{END}\n", lines.join("\n")))
}

/// What `cdk synth` refuses of an authorizer's configuration beyond its cold start: the
/// authorizers' own reader given whether API Gateway caches its answers (`Config::cache_key`, as
/// infra calls it through `authz-config`), e.g. a sender-constrained API with a cache TTL. A
/// configuration the reader refuses outright is left to the cold start, which reports it.
fn synth_check(api: &ApiSpec, kind: AuthorizerKind, env: &[(&str, &str)]) -> Result<(), String> {
    let core_kind = match kind {
        AuthorizerKind::Token => AuthzKind::Token,
        AuthorizerKind::Request => AuthzKind::Request,
        _ => AuthzKind::Http,
    };
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    };
    match Config::from_lookup(lookup) {
        Ok(config) => config
            .cache_key(
                core_kind,
                &std::collections::BTreeMap::new(),
                api.cache_ttl_seconds > 0,
            )
            .map(|_| ())
            .map_err(|e| format!("{}: the {} authorizer: {e}", api.name, kind.name())),
        Err(_) => Ok(()),
    }
}

/// How long a cold start may take (the dev issuer is on loopback; Lambda's init limit is 10 s).
const COLD_START_LIMIT: Duration = Duration::from_secs(30);

/// Waits until the process polls for its first event (its init phase is over), or fails with
/// what it reported to `/runtime/init/error`, or how it exited.
async fn cold_start(p: &mut LambdaProcess) -> Result<(), String> {
    let deadline = Instant::now() + COLD_START_LIMIT;
    loop {
        if p.api().first_poll().is_some() {
            return Ok(());
        }
        if let Some((error_type, message)) = p.api().init_error(Duration::ZERO).await {
            return Err(format!("{error_type}: {message}"));
        }
        if let Some(status) = p.wait_exit(Duration::ZERO).await {
            let logs = p.logs();
            let last = logs.last().map_or("", String::as_str);
            return Err(format!("exited ({status}) before its first poll: {last}"));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no first poll within {} s",
                COLD_START_LIMIT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Region, account and stage of the emulated APIs.
pub const ARN_PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012";
/// The stage name.
pub const STAGE: &str = "local";

type Resp = Response<Full<Bytes>>;

/// A few processes of one Lambda function; a request takes a free one (or waits for one).
#[derive(Debug)]
pub struct Pool {
    kind: AuthorizerKind,
    procs: Vec<LambdaProcess>,
    free: Mutex<Vec<usize>>,
    permits: Semaphore,
    invocations: AtomicUsize,
}

impl Pool {
    /// Starts the processes and waits for each cold start: one that fails (a configuration the
    /// authorizer refuses, as it would in Lambda) fails the start with its reported error.
    async fn start(
        kind: AuthorizerKind,
        bin: &Path,
        env: &[(&str, &str)],
        size: usize,
    ) -> Result<Pool, String> {
        let mut procs = Vec::new();
        for _ in 0..size.max(1) {
            procs.push(LambdaProcess::spawn(bin, env).await);
        }
        let binary = kind.binary().unwrap_or_default();
        for p in &mut procs {
            cold_start(p)
                .await
                .map_err(|e| format!("{binary} failed its cold start: {e}"))?;
        }
        Ok(Pool {
            kind,
            free: Mutex::new((0..procs.len()).rev().collect()),
            permits: Semaphore::new(procs.len()),
            procs,
            invocations: AtomicUsize::new(0),
        })
    }

    /// Invokes one free process; the [`Ticket`] finds that invocation's decision line.
    pub async fn invoke(&self, event: &Value) -> Result<(Outcome, Ticket), String> {
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        let i = lock(&self.free).pop().ok_or("pool: no free process")?;
        self.invocations.fetch_add(1, Ordering::SeqCst);
        let body = serde_json::to_vec(event).map_err(|e| e.to_string())?;
        let ticket = Ticket {
            process: i,
            lines_before: self.procs[i].logs().len(),
        };
        let out = self.procs[i]
            .invoke_raw(body, Duration::from_secs(10))
            .await;
        lock(&self.free).push(i);
        out.map(|o| (o, ticket))
    }

    /// The `reason` of the decision line the invocation of `ticket` wrote (waiting up to 200 ms
    /// for it to be read from the process's output); `None` if it wrote none.
    pub async fn decision_reason(&self, ticket: &Ticket) -> Option<String> {
        let process = self.procs.get(ticket.process)?;
        let deadline = Instant::now() + Duration::from_millis(200);
        loop {
            // A process serves one invocation at a time: the first decision line after the
            // ticket's is this invocation's.
            let found = process
                .logs()
                .iter()
                .skip(ticket.lines_before)
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find_map(|v| {
                    let fields = v.get("fields").unwrap_or(&v);
                    fields.get("decision")?;
                    Some(
                        fields
                            .get("reason")
                            .and_then(Value::as_str)
                            .unwrap_or("-")
                            .to_owned(),
                    )
                });
            if found.is_some() || Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Invocations so far.
    pub fn invocations(&self) -> usize {
        self.invocations.load(Ordering::SeqCst)
    }

    /// Every log line of every process (decision lines are JSON with `"decision"`).
    pub fn logs(&self) -> Vec<String> {
        self.procs.iter().flat_map(LambdaProcess::logs).collect()
    }

    /// Process ids.
    pub fn pids(&self) -> Vec<u32> {
        self.procs.iter().map(LambdaProcess::pid).collect()
    }

    /// The authorizer type.
    pub fn kind(&self) -> AuthorizerKind {
        self.kind
    }
}

/// A cached authorizer result.
#[derive(Debug, Clone)]
enum Cached {
    /// REST: the whole answer (policy, principal, context), re-evaluated per request.
    Policy(Value),
    /// HTTP simple response: `isAuthorized` and `context`.
    Simple(bool, Value),
}

/// The request headers the Lambda authorizers read, lower-case: each is an identity source, so
/// each is part of the cache key and required (absent → 401 without invoking).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHeaders {
    /// `AUTHZ_TOKEN_HEADER` (default `authorization`).
    pub token: String,
    /// `AUTHZ_BIND_HEADER`, when identity binding is on.
    pub bind: Option<String>,
}

impl IdentityHeaders {
    /// From the authorizers' environment, read by the authorizers' own parser (both spellings:
    /// flat variables and `AUTHZ_CONFIG` keys), as infra renders the identity sources from it
    /// (`Config::cache_key`, through `authz-config`). A configuration the parser refuses fails
    /// every authorizer's cold start; the defaults then stand in.
    pub fn from_env(env: &[(String, String)]) -> IdentityHeaders {
        let lookup = |name: &str| {
            env.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let key = Config::from_lookup(lookup).and_then(|config| {
            config.cache_key(AuthzKind::Http, &std::collections::BTreeMap::new(), false)
        });
        match key {
            Ok(key) => IdentityHeaders {
                token: key.token_header,
                bind: key.bind_header,
            },
            Err(_) => IdentityHeaders {
                token: "authorization".to_owned(),
                bind: None,
            },
        }
    }
}

/// One emulated API.
#[derive(Debug)]
pub struct Gateway {
    /// Its table entry.
    pub api: ApiSpec,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The API id in method ARNs (the API's name).
    pub api_id: String,
    /// The demo-token endpoint (the demo page calls it).
    pub token_url: String,
    /// The IdP shapes the demo page offers (their issuers are trusted).
    shapes: Vec<&'static str>,
    rules: Rules,
    /// The identity sources as the CDK app renders them (`Config::cache_key` through
    /// `authz-config`): the token header and the binding header the authorizers read.
    identity: IdentityHeaders,
    pools: Vec<Pool>,
    jwt: Option<Authorizer>,
    cache: Mutex<HashMap<String, (Instant, Cached)>>,
    jwt_checks: AtomicUsize,
    jwt_log: Mutex<Vec<String>>,
    request_ids: AtomicU64,
}

/// The variable of the introspection secret, which is per issuer (the dev issuer's).
const SECRET_ARN_VAR: &str = "AUTHZ_INTROSPECTION_SECRET_ARN";

/// The `AUTHZ_CONFIG` document of `api`'s Lambda authorizers when they trust the shaped issuers
/// too: the dev issuer (the API's audience, the introspection secret) first, then one entry per
/// shape from its recipe.
fn issuers_document(
    api: &ApiSpec,
    issuer: &str,
    shapes: &ShapeIssuers,
    shared: &Shared,
) -> Result<String, String> {
    let mut dev = json!({"issuer": issuer, "audiences": [api.audience]});
    if let Some((_, arn)) = shared
        .authorizer_env
        .iter()
        .find(|(k, _)| k == SECRET_ARN_VAR)
    {
        dev["introspection"] = json!({ "secret_arn": arn });
    }
    let mut issuers = vec![dev];
    issuers.extend(
        shapes
            .issuer_entries(api)
            .map_err(|e| format!("{}: {e}", api.name))?,
    );
    Ok(json!({ "issuers": issuers }).to_string())
}

impl Gateway {
    /// Starts the authorizer processes of `api` (environment as infra generates it).
    pub async fn start(
        api: ApiSpec,
        addr: SocketAddr,
        shared: &Shared,
        opts: &Options,
    ) -> Result<Gateway, String> {
        let issuer = shared.issuer.as_str();
        let api_id = api.name.clone();
        let mut rules = Vec::new();
        for r in &api.routes {
            rules.push(Rule::new(&r.route, Vec::new(), Vec::new())?);
        }
        let document = match &shared.shapes {
            Some(shapes) => Some(issuers_document(&api, issuer, shapes, shared)?),
            None => None,
        };
        let mut pools = Vec::new();
        for kind in api.lambda_authorizers() {
            let routes = api.authz_routes_for(kind);
            let cedar = api.cedar_environment_for(kind);
            let allowed = format!("{ARN_PREFIX}:{api_id}/{STAGE}");
            let mut env: Vec<(&str, &str)> = match &document {
                // The issuers (dev and shaped) with their per-issuer settings.
                Some(doc) => vec![("AUTHZ_CONFIG", doc)],
                None => vec![("AUTHZ_ISSUER", issuer), ("AUTHZ_AUDIENCE", &api.audience)],
            };
            env.push(("AUTHZ_ROUTES", &routes));
            // Written from the table, `off` too, as infra writes it.
            env.push(("AUTHZ_SENDER_CONSTRAINED", api.sender_constrained.name()));
            if api.sender_constrained != SenderConstrained::Off
                && let Some(table) = &shared.replay_table
            {
                env.push(("AUTHZ_DPOP_REPLAY_TABLE", table));
            }
            // The API's Cedar files, read where they are (infra bundles the same files).
            env.extend(cedar.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            if api.kind == ApiKind::Rest {
                env.push(("AUTHZ_ALLOWED_API_ARNS", &allowed));
            }
            for (k, v) in &shared.authorizer_env {
                if document.is_some() && k == SECRET_ARN_VAR {
                    continue; // in the dev issuer's entry
                }
                env.retain(|(n, _)| n != k);
                env.push((k, v));
            }
            synth_check(&api, kind, &env)?;
            let bin = opts.bin_dir.join(kind.binary().unwrap_or_default());
            pools.push(
                Pool::start(kind, &bin, &env, opts.pool_size)
                    .await
                    .map_err(|e| format!("{}: {e}", api.name))?,
            );
        }
        let jwt = if api
            .routes
            .iter()
            .any(|r| r.authorizer == AuthorizerKind::Jwt)
        {
            let vars: HashMap<&str, String> = HashMap::from([
                ("AUTHZ_ISSUER", issuer.to_owned()),
                ("AUTHZ_AUDIENCE", api.audience.clone()),
            ]);
            let config = Config::from_lookup(|name| vars.get(name).cloned())
                .map_err(|e| format!("{}: JWT authorizer: {e}", api.name))?;
            let authorizer = Authorizer::new(config).map_err(|e| e.to_string())?;
            authorizer.warm().await;
            Some(authorizer)
        } else {
            None
        };
        Ok(Gateway {
            api,
            addr,
            api_id,
            token_url: shared.token_url.clone(),
            shapes: shared
                .shapes
                .as_ref()
                .map(|s| s.shapes().map(|s| s.name()).collect())
                .unwrap_or_default(),
            rules: Rules(rules),
            identity: IdentityHeaders::from_env(&shared.authorizer_env),
            pools,
            jwt,
            cache: Mutex::default(),
            jwt_checks: AtomicUsize::new(0),
            jwt_log: Mutex::new(Vec::new()),
            request_ids: AtomicU64::new(1),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The pool of a Lambda authorizer type.
    pub fn pool(&self, kind: AuthorizerKind) -> Option<&Pool> {
        self.pools.iter().find(|p| p.kind == kind)
    }

    /// Invocations of a Lambda authorizer type so far (0 if the API has none).
    pub fn invocations(&self, kind: AuthorizerKind) -> usize {
        if kind == AuthorizerKind::Jwt {
            return self.jwt_checks.load(Ordering::SeqCst);
        }
        self.pool(kind).map_or(0, Pool::invocations)
    }

    /// Empties the authorizer result cache.
    pub fn flush_cache(&self) {
        lock(&self.cache).clear();
    }

    fn cached(&self, key: &str) -> Option<Cached> {
        let mut cache = lock(&self.cache);
        match cache.get(key) {
            Some((until, c)) if Instant::now() < *until => Some(c.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    fn remember(&self, key: String, c: Cached) {
        if self.api.cache_ttl_seconds > 0 {
            let until = Instant::now() + Duration::from_secs(self.api.cache_ttl_seconds);
            lock(&self.cache).insert(key, (until, c));
        }
    }

    /// Handles one request as API Gateway would.
    pub async fn handle(&self, req: Request<Incoming>) -> Resp {
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, 1 << 20).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return message(StatusCode::PAYLOAD_TOO_LARGE, "Request too large"),
        };
        let verb = parts.method.as_str().to_owned();
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().unwrap_or_default().to_owned();
        let Some(route) = self
            .rules
            .for_path(&verb, &path)
            .and_then(|rule| self.api.route(&rule.route))
        else {
            return match self.api.kind {
                ApiKind::Rest => message(StatusCode::FORBIDDEN, "Missing Authentication Token"),
                ApiKind::Http => message(StatusCode::NOT_FOUND, "Not Found"),
            };
        };
        let client_cert = parts
            .headers
            .get(CLIENT_CERT_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(client_cert_pem);
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .filter(|(k, _)| k.as_str() != CLIENT_CERT_HEADER)
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .filter(|v| !v.is_empty())
        };
        // The native JWT authorizer reads `Authorization`; the Lambda authorizers the token
        // header their settings name, plus the binding header: every identity source.
        let jwt_authorization = header(http::header::AUTHORIZATION.as_str());
        let token_value = header(&self.identity.token);
        let bind_value = self.identity.bind.as_deref().map(header);
        let request = GatewayRequest {
            verb,
            path,
            query,
            headers,
            route,
            params: path_params(route.path(), parts.uri.path()),
            client_cert,
        };
        let context = match route.authorizer {
            AuthorizerKind::None => None,
            kind => {
                // Identity sources are required: one absent → 401, the authorizer is not invoked.
                let identity = if kind == AuthorizerKind::Jwt {
                    jwt_authorization.map(|a| vec![a])
                } else {
                    match (token_value, bind_value) {
                        (Some(t), None) => Some(vec![t]),
                        (Some(t), Some(Some(b))) => Some(vec![t, b]),
                        _ => None,
                    }
                };
                let Some(identity) = identity else {
                    return self.refuse(StatusCode::UNAUTHORIZED, "Unauthorized");
                };
                match self.authorize(kind, &request, &identity).await {
                    Ok(ctx) => Some(ctx),
                    Err(resp) => return resp,
                }
            }
        };
        backend::answer(
            &self.api,
            &self.token_url,
            &self.shapes,
            &request,
            &body,
            context,
        )
    }

    async fn authorize(
        &self,
        kind: AuthorizerKind,
        req: &GatewayRequest<'_>,
        identity: &[String],
    ) -> Result<Value, Resp> {
        // The token header's value: the TOKEN event's `authorizationToken`.
        let authorization = identity.first().map(String::as_str).unwrap_or_default();
        match kind {
            AuthorizerKind::Token | AuthorizerKind::Request => {
                let arn = format!(
                    "{ARN_PREFIX}:{}/{STAGE}/{}{}",
                    self.api_id, req.verb, req.path
                );
                // TOKEN: the token alone; REQUEST: every identity source (no stage variables
                // locally).
                let key = if kind == AuthorizerKind::Token {
                    format!("{}\n{authorization}", kind.name())
                } else {
                    format!("{}\n{}", kind.name(), identity.join("\n"))
                };
                let (answer, ticket) = match self.cached(&key) {
                    Some(Cached::Policy(v)) => (v, None),
                    _ => {
                        let event = if kind == AuthorizerKind::Token {
                            json!({"type": "TOKEN", "authorizationToken": authorization, "methodArn": arn})
                        } else {
                            self.request_event(req, &arn)
                        };
                        let (v, ticket) = self.invoke_lambda(kind, &event).await?;
                        self.remember(key, Cached::Policy(v.clone()));
                        (v, Some(ticket))
                    }
                };
                if !evaluate(
                    &policy_statements(&answer["policyDocument"]).unwrap_or_default(),
                    &arn,
                ) {
                    let refusal = self.refuse(
                        StatusCode::FORBIDDEN,
                        "User is not authorized to access this resource with an explicit deny",
                    );
                    return Err(self.explained(kind, refusal, ticket.as_ref()).await);
                }
                let mut ctx = answer
                    .get("context")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                ctx.insert("principalId".into(), answer["principalId"].clone());
                Ok(Value::Object(ctx))
            }
            AuthorizerKind::Http => {
                let mut identity = identity.to_vec();
                if self.api.http_route_key_in_identity() {
                    identity.push(req.route.route.clone());
                }
                let key = format!("http\n{}", identity.join("\n"));
                let (ok, ctx, ticket) = match self.cached(&key) {
                    Some(Cached::Simple(ok, ctx)) => (ok, ctx, None),
                    _ => {
                        let event = self.http_event(req, &identity);
                        let (v, ticket) = self.invoke_lambda(kind, &event).await?;
                        let Some(ok) = v.get("isAuthorized").and_then(Value::as_bool) else {
                            return Err(message(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                "Internal Server Error",
                            ));
                        };
                        let ctx = v.get("context").cloned().unwrap_or(json!({}));
                        self.remember(key, Cached::Simple(ok, ctx.clone()));
                        (ok, ctx, Some(ticket))
                    }
                };
                if ok {
                    Ok(ctx)
                } else {
                    let refusal = message(StatusCode::FORBIDDEN, "Forbidden");
                    Err(self.explained(kind, refusal, ticket.as_ref()).await)
                }
            }
            AuthorizerKind::Jwt => {
                self.jwt_checks.fetch_add(1, Ordering::SeqCst);
                let Some(jwt) = &self.jwt else {
                    return Err(message(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                    ));
                };
                let started = Instant::now();
                let mut trace = Trace::default();
                let claims = match jwt.verify_bearer(Some(authorization), &mut trace).await {
                    Ok(claims) => claims,
                    Err(e) => {
                        // API Gateway's native JWT authorizer answers 401 to any token it
                        // cannot verify; the line says why, as a Lambda authorizer's would.
                        let decision = authz_core::DECISIONS[2];
                        self.log_jwt(req, decision, Some(e.reason()), &trace, started);
                        let refusal = message(StatusCode::UNAUTHORIZED, "Unauthorized");
                        return Err(with_reason(refusal, Some(e.reason())));
                    }
                };
                let scopes = &req.route.scopes;
                if !scopes.is_empty() && !scopes.iter().any(|s| claims.scopes.contains(s)) {
                    let decision = authz_core::DECISIONS[1];
                    self.log_jwt(req, decision, Some("insufficient_scope"), &trace, started);
                    let refusal = message(StatusCode::FORBIDDEN, "Forbidden");
                    return Err(with_reason(refusal, Some("insufficient_scope")));
                }
                self.log_jwt(req, authz_core::DECISIONS[0], None, &trace, started);
                Ok(json!({"jwt": {"claims": claims.all, "scopes": claims.scopes}}))
            }
            AuthorizerKind::None => Ok(Value::Null),
        }
    }

    /// Invokes a Lambda authorizer: a response, or the API Gateway answer for an error.
    async fn invoke_lambda(
        &self,
        kind: AuthorizerKind,
        event: &Value,
    ) -> Result<(Value, Ticket), Resp> {
        let Some(pool) = self.pool(kind) else {
            return Err(message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
            ));
        };
        match pool.invoke(event).await {
            Ok((Outcome::Response(v), ticket)) => Ok((v, ticket)),
            Ok((Outcome::Error { error_message, .. }, ticket))
                if error_message == "Unauthorized" && kind != AuthorizerKind::Http =>
            {
                let refusal = self.refuse(StatusCode::UNAUTHORIZED, "Unauthorized");
                Err(self.explained(kind, refusal, Some(&ticket)).await)
            }
            Ok((Outcome::Error { .. }, _)) | Err(_) => Err(message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
            )),
        }
    }

    /// A refusal with the reason the authorizer's decision line gives ([`REASON_HEADER`]); none
    /// for an answer from the emulated cache (no call, no line, as in API Gateway).
    async fn explained(
        &self,
        kind: AuthorizerKind,
        refusal: Resp,
        ticket: Option<&Ticket>,
    ) -> Resp {
        let reason = match (self.pool(kind), ticket) {
            (Some(pool), Some(ticket)) => pool.decision_reason(ticket).await,
            _ => None,
        };
        with_reason(refusal, reason.as_deref())
    }

    /// The native JWT route's decision line, shaped as the Lambda authorizers' (`decision`,
    /// `reason`, `route`, `iss`, `kid`, `sub`, `latency_us`; never the token), kept for
    /// [`Gateway::jwt_logs`] and handed to the local mode's output ([`crate::logs::emit`]).
    fn log_jwt(
        &self,
        req: &GatewayRequest<'_>,
        decision: &str,
        reason: Option<&str>,
        trace: &Trace,
        started: Instant,
    ) {
        let latency = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let line = json!({
            "level": "INFO", "message": "authorization decision", "decision": decision,
            "reason": reason, "route": req.route.route, "iss": trace.iss, "kid": trace.kid,
            "sub": trace.sub, "latency_us": latency,
        })
        .to_string();
        crate::logs::emit(&format!("{}/jwt", self.api.name), &line);
        lock(&self.jwt_log).push(line);
    }

    /// The native JWT routes' decision lines so far (JSON, one per check).
    pub fn jwt_logs(&self) -> Vec<String> {
        lock(&self.jwt_log).clone()
    }

    /// A refusal: on a REST API the gateway response the CDK app deploys for it
    /// ([`gateway_response`]), on an HTTP API API Gateway's fixed `{"message"}` answer.
    fn refuse(&self, status: StatusCode, text: &str) -> Resp {
        let response = match status {
            StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
            StatusCode::FORBIDDEN => "ACCESS_DENIED",
            _ => return message(status, text),
        };
        if self.api.kind == ApiKind::Rest {
            gateway_response(response, &self.api, text, &self.request_id())
        } else {
            message(status, text)
        }
    }

    fn request_id(&self) -> String {
        let n = self.request_ids.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-0000-4000-8000-{n:012x}", std::process::id())
    }

    fn request_event(&self, req: &GatewayRequest<'_>, arn: &str) -> Value {
        let mut headers = Map::new();
        let mut multi: Map<String, Value> = Map::new();
        for (k, v) in &req.headers {
            headers.insert(k.clone(), json!(v));
            if let Some(Value::Array(list)) = multi.get_mut(k) {
                list.push(json!(v));
            } else {
                multi.insert(k.clone(), json!([v]));
            }
        }
        let mut query = Map::new();
        let mut multi_query: Map<String, Value> = Map::new();
        for (k, v) in form_urlencoded::parse(req.query.as_bytes()) {
            query.insert(k.to_string(), json!(v));
            if let Some(Value::Array(list)) = multi_query.get_mut(&*k) {
                list.push(json!(v));
            } else {
                multi_query.insert(k.to_string(), json!([v]));
            }
        }
        let mut identity = json!({"sourceIp": "127.0.0.1"});
        if let Some(pem) = &req.client_cert {
            identity["clientCert"] = client_cert_event(pem);
        }
        json!({
            "type": "REQUEST", "methodArn": arn, "resource": req.route.path(), "path": req.path,
            "httpMethod": req.verb, "headers": headers, "multiValueHeaders": multi,
            "queryStringParameters": query, "multiValueQueryStringParameters": multi_query,
            "pathParameters": req.params, "stageVariables": {},
            "requestContext": {
                "path": format!("/{STAGE}{}", req.path), "accountId": "123456789012",
                "resourceId": "local", "stage": STAGE, "requestId": self.request_id(),
                "identity": identity, "resourcePath": req.route.path(),
                "httpMethod": req.verb, "apiId": self.api_id,
            }
        })
    }

    fn http_event(&self, req: &GatewayRequest<'_>, identity: &[String]) -> Value {
        let mut headers = Map::new();
        for (k, v) in &req.headers {
            // Payload 2.0: lower-case names, repeated headers joined with commas.
            match headers.get_mut(k) {
                Some(Value::String(s)) => {
                    s.push(',');
                    s.push_str(v);
                }
                _ => {
                    headers.insert(k.clone(), json!(v));
                }
            }
        }
        let mut query = Map::new();
        for (k, v) in form_urlencoded::parse(req.query.as_bytes()) {
            match query.get_mut(&*k) {
                Some(Value::String(s)) => {
                    s.push(',');
                    s.push_str(&v);
                }
                _ => {
                    query.insert(k.to_string(), json!(v));
                }
            }
        }
        let arn = format!(
            "{ARN_PREFIX}:{}/{STAGE}/{}{}",
            self.api_id, req.verb, req.path
        );
        let now_ms = std::time::UNIX_EPOCH
            .elapsed()
            .unwrap_or_default()
            .as_millis();
        let mut event = json!({
            "version": "2.0", "type": "REQUEST", "routeArn": arn, "identitySource": identity,
            "routeKey": req.route.route, "rawPath": format!("/{STAGE}{}", req.path),
            "rawQueryString": req.query, "headers": headers, "queryStringParameters": query,
            "requestContext": {
                "accountId": "123456789012", "apiId": self.api_id,
                "domainName": self.addr.to_string(), "domainPrefix": self.api_id,
                "http": {"method": req.verb, "path": format!("/{STAGE}{}", req.path),
                         "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": ""},
                "requestId": self.request_id(), "routeKey": req.route.route, "stage": STAGE,
                "timeEpoch": u64::try_from(now_ms).unwrap_or(u64::MAX),
            },
            "pathParameters": req.params, "stageVariables": {},
        });
        if let Some(pem) = &req.client_cert {
            event["requestContext"]["authentication"] =
                json!({"clientCert": client_cert_event(pem)});
        }
        event
    }
}

/// The `clientCert` object API Gateway puts into the event for a mutual-TLS request (only the
/// PEM is read by the authorizers; the other members as API Gateway names them).
fn client_cert_event(pem: &str) -> Value {
    json!({"clientCertPem": pem, "subjectDN": "", "issuerDN": "", "serialNumber": "",
           "validity": {"notBefore": "", "notAfter": ""}})
}

/// The REST APIs' 401 / 403 answers: `infra/gateway-responses.json`, the definition
/// `infra/lib/rest-api.ts` deploys as gateway responses.
const GATEWAY_RESPONSES: &str = include_str!("../../../infra/gateway-responses.json");

fn gateway_responses() -> &'static Value {
    static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        serde_json::from_str(GATEWAY_RESPONSES).expect("infra/gateway-responses.json is JSON")
    })
}

/// The `WWW-Authenticate` value of a REST API's `response` (`UNAUTHORIZED`, `ACCESS_DENIED`), as
/// `infra/lib/rest-api.ts` `wwwAuthenticate` renders `challenges` of the same file: the RFC 6750
/// bearer challenge, and on an API with sender-constrained tokens also the RFC 9449 DPoP one
/// with the proof algorithms (`dpopAlgs`). The realm is the one the CDK app gives
/// (`ApiAuthz-<stage>-<api>`).
///
/// # Panics
/// If `infra/gateway-responses.json` lacks the response or a template (a test reads every one).
pub fn www_authenticate(response: &str, api: &ApiSpec) -> String {
    let doc = gateway_responses();
    let r = &doc["responses"][response];
    let text = |v: &Value| {
        v.as_str()
            .expect("gateway-responses.json: a string")
            .to_owned()
    };
    let algs: Vec<String> = doc["dpopAlgs"]
        .as_array()
        .expect("gateway-responses.json dpopAlgs")
        .iter()
        .map(text)
        .collect();
    let values = [
        ("{realm}", format!("ApiAuthz-{STAGE}-{}", api.name)),
        ("{error}", text(&r["error"])),
        ("{errorDescription}", text(&r["errorDescription"])),
        ("{algs}", algs.join(" ")),
    ];
    let mut schemes = vec!["bearer"];
    if api.sender_constrained != SenderConstrained::Off {
        schemes.push("dpop");
    }
    schemes
        .into_iter()
        .map(|scheme| {
            values
                .iter()
                .fold(text(&doc["challenges"][scheme]), |t, (k, v)| {
                    t.replace(k, v)
                })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A REST API's answer when its authorizer refuses (`UNAUTHORIZED` or `ACCESS_DENIED`), as the
/// deployed gateway response: `{"message", "error", "requestId"}` and the challenges of
/// [`www_authenticate`].
///
/// # Panics
/// If `infra/gateway-responses.json` lacks the response (a test reads every one).
pub fn gateway_response(response: &str, api: &ApiSpec, text: &str, request_id: &str) -> Resp {
    let doc = gateway_responses();
    let r = &doc["responses"][response];
    let error = r["error"].as_str().expect("gateway response error");
    let status = r["statusCode"]
        .as_u64()
        .and_then(|c| u16::try_from(c).ok())
        .and_then(|c| StatusCode::from_u16(c).ok())
        .expect("gateway response statusCode");
    let mut resp = reply(
        status,
        "application/json",
        json!({"message": text, "error": error, "requestId": request_id}).to_string(),
    );
    if let Ok(v) = http::HeaderValue::from_str(&www_authenticate(response, api)) {
        resp.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
    }
    resp
}

/// API Gateway's JSON error body `{"message": …}`.
pub fn message(status: StatusCode, text: &str) -> Resp {
    let mut resp = reply(
        status,
        "application/json",
        json!({"message": text}).to_string(),
    );
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer"),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_certificate_header_gives_the_pem_api_gateway_passes() {
        let pem = authz_testkit::tls::TestCa::new().client_cert("c").pem;
        let x5t = authz_core::internals::certificate_thumbprint(&pem);
        assert!(x5t.is_some());
        let one_line = pem.replace('\n', " ");
        let escaped: String = form_urlencoded::byte_serialize(pem.as_bytes())
            .collect::<String>()
            .replace('+', "%20");
        for value in [one_line.as_str(), escaped.as_str(), pem.trim()] {
            let got = client_cert_pem(value).unwrap();
            assert!(got.starts_with("-----BEGIN CERTIFICATE-----\n"), "{got}");
            assert!(
                got.lines()
                    .all(|l| !l.contains(' ') || l.contains("CERTIFICATE"))
            );
            assert_eq!(authz_core::internals::certificate_thumbprint(&got), x5t);
        }
        assert_eq!(client_cert_pem("not a certificate"), None);
        assert_eq!(
            client_cert_pem("-----BEGIN CERTIFICATE----- -----END CERTIFICATE-----"),
            None
        );
    }

    #[test]
    fn the_dpop_challenge_names_the_proof_algorithms_authz_core_accepts() {
        use authz_core::internals::{SUPPORTED_ALGORITHMS, alg_name};
        let algs: Vec<&str> = gateway_responses()["dpopAlgs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let core: Vec<&str> = SUPPORTED_ALGORITHMS.into_iter().map(alg_name).collect();
        assert_eq!(algs, core, "infra/gateway-responses.json dpopAlgs");
    }

    #[test]
    fn rest_challenges_are_bearer_and_dpop_on_sender_constrained_apis() {
        let mut doc: Value =
            serde_json::from_str(include_str!("../../../infra/routes.json")).unwrap();
        let bearer = "Bearer realm=\"ApiAuthz-local-pet-store\", error=\"invalid_token\", \
             error_description=\"The access token is missing, malformed, expired or not trusted\"";
        let apis = crate::table::parse(&doc.to_string()).unwrap();
        assert_eq!(www_authenticate("UNAUTHORIZED", &apis[0]), bearer);
        doc["apis"]["pet-store"]["senderConstrained"] = json!("accept");
        doc["apis"]["pet-store"]["cacheTtlSeconds"] = json!(0);
        let apis = crate::table::parse(&doc.to_string()).unwrap();
        assert_eq!(
            www_authenticate("UNAUTHORIZED", &apis[0]),
            format!(
                "{bearer}, DPoP realm=\"ApiAuthz-local-pet-store\", \
                 algs=\"RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA\", \
                 error=\"invalid_token\", \
                 error_description=\"The access token is missing, malformed, expired or not trusted\""
            )
        );
        let denied = www_authenticate("ACCESS_DENIED", &apis[0]);
        assert!(denied.starts_with(
            "Bearer realm=\"ApiAuthz-local-pet-store\", error=\"insufficient_scope\""
        ));
        assert!(denied.contains(", DPoP realm=\"ApiAuthz-local-pet-store\", algs=\""));
        assert!(denied.ends_with("error=\"insufficient_scope\", error_description=\"The access token does not grant access to this resource\""));
    }

    #[test]
    fn identity_headers_follow_the_authorizer_settings() {
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            IdentityHeaders::from_env(&env(&[])),
            IdentityHeaders {
                token: "authorization".into(),
                bind: None
            }
        );
        let base = [
            ("AUTHZ_ISSUER", "https://idp.example.com"),
            ("AUTHZ_AUDIENCE", "api"),
        ];
        let want = IdentityHeaders {
            token: "x-api-token".into(),
            bind: Some("x-tenant".into()),
        };
        let flat = [
            ("AUTHZ_TOKEN_HEADER", "X-Api-Token"),
            ("AUTHZ_BIND_HEADER", "X-Tenant"),
            ("AUTHZ_BIND_CLAIM", "tenant"),
        ];
        assert_eq!(
            IdentityHeaders::from_env(&env(&[&base[..], &flat].concat())),
            want
        );
        let doc = [(
            "AUTHZ_CONFIG",
            r#"{"token_header":"X-Api-Token","bind_header":"X-Tenant","bind_claim":"tenant"}"#,
        )];
        assert_eq!(
            IdentityHeaders::from_env(&env(&[&base[..], &doc].concat())),
            want
        );
    }
}
