//! Cached == fresh (issue 13): for any configuration the authorizers accept and any two requests
//! API Gateway answers from the same cache entry, the outcome the second request gets from the
//! first one's cached answer (IAM evaluation of the cached policy against its own method ARN, or
//! the cached `isAuthorized`) is the outcome a fresh call for it gives.
//!
//! Everything runs through the real `Authorizer` (`token`, `request`, `http` on raw event JSON)
//! with real signed tokens from a loopback issuer. The cache keys are the identity sources the
//! CDK app renders: `Config::cache_key` of the parsed configuration, which infra takes from the
//! `authz-config` binary (issue 22: no second derivation here); each identity source string is
//! looked up in the request (a header, a stage variable, the route key), and a request missing
//! one gets 401 from API Gateway without the authorizer (nothing cached). Configurations are
//! drawn in both spellings (flat variables, `AUTHZ_CONFIG` document keys), with a custom token
//! header, and requests on stages with `authz*` stage variables. REST caches are per stage.
//! Some callers hold DPoP-bound tokens (`cnf.jkt`) sent as `Bearer`: never allowed, fresh or
//! cached; some configurations turn `AUTHZ_SENDER_CONSTRAINED` on: then no stage may be cached.
//! The observed cases of issues 13 and 22 are fixed regressions at the end.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use authz_core::{
    Authorizer, AuthorizerKind, AuthzError, Config, Verdict, evaluate, policy_statements,
};
use authz_testkit::{Issuer, TestKey, now};
use proptest::prelude::*;
use serde_json::{Value, json};

const PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012";
const API: &str = "api1";
const BIND_HEADER: &str = "x-tenant";
/// The custom token header some configurations name (`AUTHZ_TOKEN_HEADER` / `token_header`).
const API_TOKEN_HEADER: &str = "x-api-token";

/// One loopback issuer for every case (keys signed with one RSA key).
fn runtime_and_issuer() -> &'static (tokio::runtime::Runtime, Issuer) {
    static CELL: OnceLock<(tokio::runtime::Runtime, Issuer)> = OnceLock::new();
    CELL.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let issuer = rt.block_on(Issuer::start());
        issuer.set_keys(vec![key().jwk()]);
        (rt, issuer)
    })
}

fn key() -> TestKey {
    TestKey::rsa("rsa")
}

/// What API Gateway answers a request with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Allow,
    Forbidden,
    Unauthorized,
    Fault,
}

/// A route rule as generated: route, scopes (any of), required `tenant` claim.
type GenRule = (String, Vec<String>, Option<String>);

/// A generated configuration.
#[derive(Debug, Clone)]
struct Setup {
    routes: Vec<GenRule>,
    route_set: Option<Vec<GenRule>>,
    bind: bool,
    allowed_stage: bool,
    /// The token in `x-api-token` instead of `authorization` (which then carries junk).
    custom_header: bool,
    /// The settings as keys of the `AUTHZ_CONFIG` document instead of flat variables.
    document: bool,
    /// `AUTHZ_SENDER_CONSTRAINED` (`accept`, `require`): then nothing may be cached.
    sender_constrained: Option<&'static str>,
    /// The `routes` rules with one method (not `ANY`, not `$default`) decided by Cedar: marked
    /// `"cedar": true`, their scopes and tenant translated into one policy each (feature `cedar`).
    cedar: bool,
}

impl Setup {
    fn token_header(&self) -> &'static str {
        if self.custom_header {
            API_TOKEN_HEADER
        } else {
            "authorization"
        }
    }
}

/// Whether a generated rule is decided by Cedar in a `cedar` setup: one method, one action.
fn cedar_decided(route: &str) -> bool {
    route != "$default" && !route.starts_with("ANY ")
}

fn rules_json(rules: &[GenRule], cedar: bool) -> String {
    let list: Vec<Value> = rules
        .iter()
        .map(|(route, scopes, tenant)| {
            if cedar && cedar_decided(route) {
                return json!({"route": route, "cedar": true});
            }
            let mut r = json!({"route": route});
            if !scopes.is_empty() {
                r["scopes"] = json!(scopes);
            }
            if let Some(t) = tenant {
                r["claims"] = json!({"tenant": t});
            }
            r
        })
        .collect();
    Value::Array(list).to_string()
}

fn build(setup: &Setup) -> Authorizer {
    try_build(setup).expect("the configuration parses").1
}

/// The configuration of `setup` in its spelling, as the environment the authorizer gets.
fn environment(setup: &Setup) -> Vec<(String, String)> {
    let (_, issuer) = runtime_and_issuer();
    let mut settings: Vec<(&str, &str, Value)> = vec![(
        "AUTHZ_ROUTES",
        "routes",
        serde_json::from_str(&rules_json(&setup.routes, setup.cedar)).unwrap(),
    )];
    if setup.cedar {
        let (policies, schema) = cedar_files(&setup.routes);
        settings.push(("AUTHZ_CEDAR_POLICIES", "cedar_policies", json!(policies)));
        settings.push(("AUTHZ_CEDAR_SCHEMA", "cedar_schema", json!(schema)));
        settings.push(("AUTHZ_CEDAR_NAMESPACE", "cedar_namespace", json!("Api")));
    }
    if let Some(set) = &setup.route_set {
        let set: Value = serde_json::from_str(&rules_json(set, false)).unwrap();
        settings.push(("AUTHZ_ROUTE_SETS", "route_sets", json!({ "other": set })));
    }
    if setup.bind {
        settings.push(("AUTHZ_BIND_HEADER", "bind_header", json!(BIND_HEADER)));
        settings.push(("AUTHZ_BIND_CLAIM", "bind_claim", json!("tenant")));
    }
    if setup.allowed_stage {
        let arn = format!("{PREFIX}:{API}/prod");
        settings.push(("AUTHZ_ALLOWED_API_ARNS", "allowed_api_arns", json!([arn])));
    }
    if let Some(mode) = setup.sender_constrained {
        settings.push((
            "AUTHZ_SENDER_CONSTRAINED",
            "sender_constrained",
            json!(mode),
        ));
    }
    if setup.custom_header {
        // As an operator writes it; the configuration lower-cases it.
        settings.push(("AUTHZ_TOKEN_HEADER", "token_header", json!("X-Api-Token")));
    }
    let mut vars: Vec<(String, String)> = vec![
        ("AUTHZ_ISSUER".into(), issuer.url()),
        ("AUTHZ_AUDIENCE".into(), "api".into()),
    ];
    if setup.document {
        let doc: serde_json::Map<String, Value> = settings
            .into_iter()
            .map(|(_, key, value)| (key.to_owned(), value))
            .collect();
        vars.push(("AUTHZ_CONFIG".into(), Value::Object(doc).to_string()));
    } else {
        vars.extend(settings.into_iter().map(|(name, _, value)| {
            let flat = match value {
                Value::String(s) => s,
                Value::Array(items) if name == "AUTHZ_ALLOWED_API_ARNS" => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            (name.to_owned(), flat)
        }));
    }
    vars
}

/// The Cedar translation of the Cedar-decided `rules` (a rule's scopes: any one; its tenant: the
/// claim equals it), written to a policy file and a schema file: their paths.
fn cedar_files(rules: &[GenRule]) -> (String, String) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let mut actions = Vec::new();
    let mut policies = String::new();
    for (route, scopes, tenant) in rules.iter().filter(|r| cedar_decided(&r.0)) {
        let (verb, path) = route.split_once(' ').unwrap();
        let action = format!("{:?}", format!("{} {path}", verb.to_ascii_lowercase()));
        let mut when = vec!["true".to_owned()];
        if !scopes.is_empty() {
            when.push(format!("principal.scopes.containsAny({scopes:?})"));
        }
        if let Some(t) = tenant {
            when.push(format!("principal has tenant && principal.tenant == {t:?}"));
        }
        policies.push_str(&format!(
            "permit(principal, action == Api::Action::{action}, resource) when {{ {} }};\n",
            when.join(" && ")
        ));
        actions.push(action);
    }
    let schema = format!(
        "namespace Api {{ entity UserGroup; entity User in [UserGroup] {{ scopes: Set<String>, \
         tenant?: String }}; entity Application; {} }}",
        if actions.is_empty() {
            String::new()
        } else {
            format!(
                "action {} appliesTo {{ principal: [User], resource: [Application] }};",
                actions.join(", ")
            )
        }
    );
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir();
    let p = dir.join(format!("authz-cache-{}-{n}.cedar", std::process::id()));
    let s = dir.join(format!(
        "authz-cache-{}-{n}.cedarschema",
        std::process::id()
    ));
    std::fs::write(&p, policies).unwrap();
    std::fs::write(&s, schema).unwrap();
    (p.display().to_string(), s.display().to_string())
}

/// The Cedar files named in an environment of [`environment`], in either spelling.
fn cedar_paths(vars: &[(String, String)]) -> (String, String) {
    let get = |name: &str, key: &str| -> String {
        if let Some((_, v)) = vars.iter().find(|(n, _)| n == name) {
            return v.clone();
        }
        let (_, doc) = vars.iter().find(|(n, _)| n == "AUTHZ_CONFIG").unwrap();
        let doc: Value = serde_json::from_str(doc).unwrap();
        doc[key].as_str().unwrap().to_owned()
    };
    (
        get("AUTHZ_CEDAR_POLICIES", "cedar_policies"),
        get("AUTHZ_CEDAR_SCHEMA", "cedar_schema"),
    )
}

/// The configuration and authorizer of `setup`, or `None` when the configuration is refused
/// while parsing.
fn try_build(setup: &Setup) -> Option<(Config, Authorizer)> {
    let (rt, _) = runtime_and_issuer();
    let vars = environment(setup);
    let parsed = Config::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()));
    // The cold start has read the Cedar files: they go.
    if setup.cedar {
        let (policies, schema) = cedar_paths(&vars);
        std::fs::remove_file(policies).unwrap();
        std::fs::remove_file(schema).unwrap();
    }
    let config = match parsed {
        Ok(config) => config,
        Err(e) => {
            // A table with Cedar-decided routes parses whenever the same table without does.
            if setup.cedar {
                let plain = Setup {
                    cedar: false,
                    ..setup.clone()
                };
                assert!(try_build(&plain).is_none(), "{e}");
            }
            return None;
        }
    };
    let authz = Authorizer::new(config.clone()).unwrap();
    assert_eq!(rt.block_on(authz.warm()), 1);
    Some((config, authz))
}

/// A generated token: scopes, a tenant claim, and whether it is DPoP-bound (`cnf.jkt`; sent
/// as `Bearer`, without a proof, it must never be allowed, fresh or cached).
#[derive(Debug, Clone)]
struct Caller {
    scopes: Vec<String>,
    tenant: Option<String>,
    bound: bool,
}

fn sign(caller: &Caller) -> String {
    let (_, issuer) = runtime_and_issuer();
    let mut claims = json!({"iss": issuer.url(), "aud": "api", "sub": "alice", "exp": now() + 600,
        "scope": caller.scopes.join(" ")});
    if let Some(t) = &caller.tenant {
        claims["tenant"] = json!(t);
    }
    if caller.bound {
        claims["cnf"] = json!({"jkt": TestKey::ec_p256("client").jkt()});
    }
    key().sign(&claims)
}

/// One request: method, path as sent (may have empty segments), stage, binding header value,
/// stage variable choice, and for HTTP the route key API Gateway matched.
#[derive(Debug, Clone)]
struct Req {
    verb: String,
    path: String,
    stage: String,
    tenant: Option<String>,
    route_set: bool,
    /// The stage's `authzAudience`, `authzScopes`.
    audience: Option<String>,
    scopes: Option<String>,
    token: usize,
    /// The request carries no token at all (only the junk `authorization` of a custom header).
    no_token: bool,
}

impl Req {
    fn arn(&self) -> String {
        format!("{PREFIX}:{API}/{}/{}/{}", self.stage, self.verb, self.path)
    }

    fn stage_vars(&self) -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        if self.route_set {
            v.insert("authzRouteSet".to_owned(), "other".to_owned());
        }
        if let Some(a) = &self.audience {
            v.insert("authzAudience".to_owned(), a.clone());
        }
        if let Some(s) = &self.scopes {
            v.insert("authzScopes".to_owned(), s.clone());
        }
        v
    }

    /// The request headers, lower-case: the token in `token_header` (unless `no_token`), junk in
    /// `authorization` when the token travels elsewhere, the binding header.
    fn headers(&self, token_header: &str, token: &str) -> serde_json::Map<String, Value> {
        let mut h = serde_json::Map::new();
        if token_header != "authorization" {
            h.insert("authorization".into(), json!("Bearer junk"));
        }
        if !self.no_token {
            h.insert(token_header.into(), json!(format!("Bearer {token}")));
        }
        if let Some(t) = &self.tenant {
            h.insert(BIND_HEADER.into(), json!(t));
        }
        h
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Token,
    Request,
    Http,
}

impl Kind {
    fn core(self) -> AuthorizerKind {
        match self {
            Kind::Token => AuthorizerKind::Token,
            Kind::Request => AuthorizerKind::Request,
            Kind::Http => AuthorizerKind::Http,
        }
    }
}

/// The answer API Gateway caches for `req`, as JSON (`Err` = the error message).
fn answer(
    authz: &Authorizer,
    token_header: &str,
    kind: Kind,
    req: &Req,
    token: &str,
    route_key: &str,
) -> Result<Value, String> {
    let (rt, _) = runtime_and_issuer();
    let arn = req.arn();
    match kind {
        Kind::Token => {
            let mut event = json!({"type": "TOKEN", "methodArn": arn});
            if !req.no_token {
                event["authorizationToken"] = json!(format!("Bearer {token}"));
            }
            rt.block_on(authz.token(&event.to_string()))
                .map(|r| serde_json::to_value(r).unwrap())
                .map_err(runtime_message)
        }
        Kind::Request => {
            let mut event = authz_testkit::fixtures::sample_event("request/header.json", token);
            let headers = req.headers(token_header, token);
            let multi: serde_json::Map<String, Value> = headers
                .iter()
                .map(|(k, v)| (k.clone(), json!([v])))
                .collect();
            event["methodArn"] = json!(arn);
            event["headers"] = Value::Object(headers);
            event["multiValueHeaders"] = Value::Object(multi);
            event["stageVariables"] = json!(req.stage_vars());
            rt.block_on(authz.request(&event.to_string()))
                .map(|r| serde_json::to_value(r).unwrap())
                .map_err(runtime_message)
        }
        Kind::Http => {
            let route_arn = if route_key == "$default" {
                format!("{PREFIX}:{API}/{}/$default", req.stage)
            } else {
                arn
            };
            let event = json!({"version": "2.0", "type": "REQUEST", "routeArn": route_arn,
                "identitySource": [format!("Bearer {token}"), route_key], "routeKey": route_key,
                "rawPath": format!("/{}/{}", req.stage, req.path), "headers": req.headers(token_header, token),
                "requestContext": {"accountId": "123456789012", "apiId": API, "routeKey": route_key,
                    "stage": req.stage, "http": {"method": req.verb, "path": format!("/{}", req.path)}},
                "stageVariables": req.stage_vars()});
            rt.block_on(authz.http(&event.to_string()))
                .map(|r| serde_json::to_value(r).unwrap())
                .map_err(runtime_message)
        }
    }
}

/// The error as the runtime reports it (authz-lambda): exactly `Unauthorized` for a 401, else the
/// message (a 500).
fn runtime_message(e: AuthzError) -> String {
    match e.verdict() {
        Verdict::Unauthorized => "Unauthorized".to_owned(),
        _ => e.to_string(),
    }
}

/// What a (possibly cached) answer means for `req`.
fn outcome(kind: Kind, answer: &Result<Value, String>, req: &Req) -> Outcome {
    match answer {
        Err(m) if m == "Unauthorized" && kind != Kind::Http => Outcome::Unauthorized,
        Err(_) => Outcome::Fault,
        Ok(v) if kind == Kind::Http => {
            if v["isAuthorized"] == true {
                Outcome::Allow
            } else {
                Outcome::Forbidden
            }
        }
        Ok(v) => {
            let statements = policy_statements(&v["policyDocument"]).unwrap_or_default();
            if evaluate(&statements, &req.arn()) {
                Outcome::Allow
            } else {
                Outcome::Forbidden
            }
        }
    }
}

/// The cache key of `req`: the values of the identity sources `Config::cache_key` gives for the
/// stage `req` is on (what the CDK app renders), REST per stage. `None`: the stage is refused at
/// synth, or a source is missing (API Gateway answers 401 without calling the authorizer).
fn cache_key(
    config: &Config,
    kind: Kind,
    req: &Req,
    token: &str,
    route_key: &str,
) -> Option<String> {
    let stage = req.stage_vars();
    let key = config.cache_key(kind.core(), &stage, true).ok()?;
    let headers = req.headers(&key.token_header, token);
    let mut parts = vec![req.stage.clone()];
    for source in &key.identity_sources {
        let header = source
            .strip_prefix("method.request.header.")
            .or_else(|| source.strip_prefix("$request.header."));
        let variable = source
            .strip_prefix("stageVariables.")
            .or_else(|| source.strip_prefix("$stageVariables."));
        let value = match (header, variable) {
            (Some(h), _) => headers
                .get(&h.to_ascii_lowercase())
                .and_then(Value::as_str)
                .map(str::to_owned),
            (_, Some(v)) => stage.get(v).cloned(),
            _ if source == "$context.routeKey" => Some(route_key.to_owned()),
            _ => panic!("an identity source this test cannot read: {source}"),
        };
        parts.push(format!("{source}={}", value.filter(|v| !v.is_empty())?));
    }
    Some(parts.join("|"))
}

/// The route key an HTTP API gives a request: the most specific route of the API's table
/// (the API's routes are the rules plus one the authorizer does not list), or none (404, no
/// authorizer call).
fn route_key_of(setup: &Setup, req: &Req) -> Option<String> {
    let mut api: Vec<String> = setup.routes.iter().map(|r| r.0.clone()).collect();
    if let Some(set) = &setup.route_set {
        api.extend(set.iter().map(|r| r.0.clone()));
    }
    api.push("GET /unlisted/{id}".into());
    api.sort();
    api.dedup();
    let rules = authz_core::Rules(
        api.iter()
            .filter_map(|r| authz_core::Rule::new(r, vec![], vec![]).ok())
            .collect(),
    );
    rules
        .for_path(&req.verb, &req.path)
        .map(|r| r.route.clone())
}

/// Runs every request fresh, then checks every pair sharing a cache key.
fn check(setup: &Setup, kind: Kind, callers: &[Caller], reqs: &[Req]) -> Result<(), TestCaseError> {
    let Some((config, authz)) = try_build(setup) else {
        return Ok(());
    };
    if config.check_for(kind.core()).is_err() {
        // Refused at cold start (and at synth): nothing to cache.
        return Ok(());
    }
    if setup.sender_constrained.is_some() {
        // A proof differs per request and the certificate is no identity source: synth refuses
        // caching on every stage, so no answer is ever reused.
        for req in reqs {
            prop_assert!(
                config
                    .cache_key(kind.core(), &req.stage_vars(), true)
                    .is_err()
            );
        }
        return Ok(());
    }
    let header = setup.token_header();
    let tokens: Vec<String> = callers.iter().map(sign).collect();
    let mut seen = Vec::new();
    let tails = greedy_tail_requests(setup);
    for req in reqs.iter().chain(&tails) {
        let route_key = match kind {
            Kind::Http => match route_key_of(setup, req) {
                Some(k) => k,
                None => continue,
            },
            _ => String::new(),
        };
        let token = &tokens[req.token % tokens.len()];
        let mut req = req.clone();
        req.token %= tokens.len();
        let Some(key) = cache_key(&config, kind, &req, token, &route_key) else {
            continue;
        };
        let a = answer(&authz, header, kind, &req, token, &route_key);
        if callers[req.token].bound {
            prop_assert_ne!(
                outcome(kind, &a, &req),
                Outcome::Allow,
                "a DPoP-bound token as Bearer: {:?}",
                a
            );
        } else if kind != Kind::Http
            && let Some(own) = rules_decision(setup, &callers[req.token], &req)
        {
            prop_assert_eq!(
                outcome(kind, &a, &req),
                own,
                "{:?}: {} {} fresh is not the rules' own decision (setup {:?}, answer {:?})",
                kind,
                req.verb,
                req.path,
                setup,
                a
            );
        }
        seen.push((key, req, a));
    }
    for (key_a, req_a, answer_a) in &seen {
        for (key_b, req_b, answer_b) in &seen {
            if key_a != key_b {
                continue;
            }
            let cached = outcome(kind, answer_a, req_b);
            let fresh = outcome(kind, answer_b, req_b);
            prop_assert_eq!(
                &cached,
                &fresh,
                "{:?}: {:?} cached from {:?} (setup {:?}, answer {:?})",
                kind,
                req_b,
                req_a,
                setup,
                answer_a
            );
        }
    }
    Ok(())
}

/// What the rules themselves decide for a REST request, when nothing else takes part (no
/// binding, `AUTHZ_ROUTES` in force, a stage the allow-list admits): Allow when the rule the
/// request routes to (`Rules::for_path`, the authorizer's own reader) admits the caller
/// (`Rule::check`). A fresh REST answer must be exactly that: a Deny in the policy that covers a
/// path a satisfied rule matches is a false deny even when cached and fresh agree (issue 22
/// item 7).
fn rules_decision(setup: &Setup, caller: &Caller, req: &Req) -> Option<Outcome> {
    if setup.bind
        || req.route_set
        || req.stage != "prod"
        || req.no_token
        || req.audience.is_some()
        || req.scopes.is_some()
    {
        return None;
    }
    let rules = authz_core::Rules(
        setup
            .routes
            .iter()
            .map(|(route, scopes, tenant)| {
                let claims = tenant.iter().map(|t| ("tenant".to_owned(), json!(t)));
                authz_core::Rule::new(route, scopes.clone(), claims.collect()).unwrap()
            })
            .collect(),
    );
    let mut all = serde_json::Map::new();
    if let Some(t) = &caller.tenant {
        all.insert("tenant".into(), json!(t));
    }
    let claims = authz_core::Claims {
        iss: String::new(),
        sub: Some("alice".into()),
        client_id: None,
        scopes: caller.scopes.clone(),
        all,
    };
    let allowed = rules
        .for_path(&req.verb, &req.path)
        .is_some_and(|rule| rule.check(&claims).is_ok());
    Some(if allowed {
        Outcome::Allow
    } else {
        Outcome::Forbidden
    })
}

/// Requests the random paths rarely reach: for each rule with a greedy tail, its path with
/// every `{param}` one segment and a tail that repeats the rule's literals (`pets/7/orders/
/// pets/orders/7` for `GET /pets/{id}/orders/{proxy+}`), where a deeper-path Deny could also
/// match the rule's own paths (issue 22 item 7).
fn greedy_tail_requests(setup: &Setup) -> Vec<Req> {
    let mut out = Vec::new();
    for (route, _, _) in setup.routes.iter().chain(setup.route_set.iter().flatten()) {
        let Some((verb, path)) = route.split_once(' ') else {
            continue;
        };
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if !segs.last().is_some_and(|s| s.ends_with("+}")) {
            continue;
        }
        let literals: Vec<&str> = segs
            .iter()
            .copied()
            .filter(|s| !s.starts_with('{'))
            .collect();
        let mut filled: Vec<&str> = segs[..segs.len() - 1]
            .iter()
            .map(|s| if s.starts_with('{') { "7" } else { s })
            .collect();
        filled.extend(&literals);
        filled.push("7");
        out.push(Req {
            token: out.len(),
            ..req(if verb == "ANY" { "GET" } else { verb }, &filled.join("/"))
        });
    }
    out
}

const SEGMENTS: [&str; 5] = ["pets", "orders", "mine", "admin", "7"];

/// A route: segments of `SEGMENTS`, `{id}` and a greedy tail at random, or (one in six) a
/// `{param}` then a literal then a greedy tail, whose literal the request paths repeat inside
/// the tail (`greedy_tail_requests`; issue 22 item 7).
fn route() -> impl Strategy<Value = String> {
    let verb = prop::sample::select(vec!["GET", "POST", "DELETE", "ANY"]);
    let literal = prop::sample::select(&SEGMENTS[..4]);
    let param_then_tail =
        (verb, prop::option::of(literal.clone()), literal).prop_map(|(verb, lead, lit)| {
            let lead = lead.map(|l| format!("/{l}")).unwrap_or_default();
            format!("{verb} {lead}/{{id}}/{lit}/{{proxy+}}")
        });
    prop_oneof![5 => free_route(), 1 => param_then_tail]
}

fn free_route() -> impl Strategy<Value = String> {
    let seg = prop_oneof![
        4 => prop::sample::select(&SEGMENTS[..4]).prop_map(str::to_owned),
        2 => Just("{id}".to_owned()),
    ];
    (
        prop::sample::select(vec!["GET", "POST", "DELETE", "ANY"]),
        prop::collection::vec(seg, 0..3),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(verb, mut segs, greedy)| {
            if greedy {
                segs.push("{proxy+}".into());
            }
            // One template name per position, as API Gateway requires.
            format!("{verb} /{}", segs.join("/"))
        })
}

fn scopes() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::sample::select(vec!["read", "write", "admin"]), 0..2)
        .prop_map(|s| s.into_iter().map(str::to_owned).collect())
}

fn rule_set(http: bool) -> impl Strategy<Value = Vec<GenRule>> {
    let tenant = prop::option::weighted(
        0.2,
        prop::sample::select(vec!["a", "b"]).prop_map(str::to_owned),
    );
    let one = (route(), scopes(), tenant);
    prop::collection::vec(one, 1..5).prop_map(move |mut rules| {
        rules.sort_by(|a, b| a.0.cmp(&b.0));
        rules.dedup_by(|a, b| a.0 == b.0);
        if http && rules.len() > 2 {
            rules[0].0 = "$default".into();
        }
        rules
    })
}

fn setup(http: bool) -> impl Strategy<Value = Setup> {
    (
        rule_set(http),
        prop::option::weighted(0.3, rule_set(http)),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.3),
        any::<bool>(),
        prop::option::weighted(0.15, prop::sample::select(vec!["accept", "require"])),
        // Cedar-decided routes in a third of the setups, when built with the feature.
        prop::bool::weighted(if cfg!(feature = "cedar") { 0.33 } else { 0.0 }),
    )
        .prop_map(
            |(routes, route_set, bind, allowed_stage, custom_header, document, sc, cedar)| Setup {
                routes,
                route_set,
                bind,
                allowed_stage,
                custom_header,
                document,
                sender_constrained: sc,
                cedar,
            },
        )
}

fn caller() -> impl Strategy<Value = Caller> {
    (
        scopes(),
        prop::option::of(prop::sample::select(vec!["a", "b"]).prop_map(str::to_owned)),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(scopes, tenant, bound)| Caller {
            scopes,
            tenant,
            bound,
        })
}

fn request() -> impl Strategy<Value = Req> {
    let path = (
        prop::collection::vec(
            prop::sample::select(&SEGMENTS[..]).prop_map(str::to_owned),
            0..5,
        ),
        prop::sample::select(vec!["", "trailing", "empty"]),
    )
        .prop_map(|(segs, shape)| {
            let p = segs.join("/");
            match shape {
                "trailing" if !p.is_empty() => format!("{p}/"),
                "empty" if segs.len() > 1 => p.replacen('/', "//", 1),
                _ => p,
            }
        });
    (
        prop::sample::select(vec!["GET", "POST", "DELETE", "PUT"]),
        path,
        prop::sample::select(vec!["prod", "prod", "prod", "dev"]),
        prop::option::of(prop::sample::select(vec!["a", "b"]).prop_map(str::to_owned)),
        prop::bool::weighted(0.3),
        prop::option::weighted(0.2, prop::sample::select(vec!["api", "other", "api,other"])),
        prop::option::weighted(
            0.2,
            prop::sample::select(vec!["read", "admin", "read,write"]),
        ),
        0..3usize,
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(verb, path, stage, tenant, route_set, audience, scopes, token, no_token)| Req {
                verb: verb.to_owned(),
                path,
                stage: stage.to_owned(),
                tenant,
                route_set,
                audience: audience.map(str::to_owned),
                scopes: scopes.map(str::to_owned),
                token,
                no_token,
            },
        )
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 40,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// REST TOKEN: one cached policy per token, reused for every method ARN of the stage.
    #[test]
    fn token_cached_equals_fresh(setup in setup(false), callers in prop::collection::vec(caller(), 1..3), reqs in prop::collection::vec(request(), 1..14)) {
        check(&setup, Kind::Token, &callers, &reqs)?;
    }

    /// REST REQUEST: keyed by the token header, the binding header and the stage variables.
    #[test]
    fn request_cached_equals_fresh(setup in setup(false), callers in prop::collection::vec(caller(), 1..3), reqs in prop::collection::vec(request(), 1..14)) {
        check(&setup, Kind::Request, &callers, &reqs)?;
    }

    /// HTTP: keyed by the token header, the binding header and the route key.
    #[test]
    fn http_cached_equals_fresh(setup in setup(true), callers in prop::collection::vec(caller(), 1..3), reqs in prop::collection::vec(request(), 1..14)) {
        check(&setup, Kind::Http, &callers, &reqs)?;
    }
}

// ---- The observed cases of issue 13, kept as fixed regressions. ----

fn setup_of(routes: &[(&str, &[&str])]) -> Setup {
    Setup {
        routes: routes
            .iter()
            .map(|(r, s)| {
                (
                    (*r).to_owned(),
                    s.iter().map(|x| (*x).to_owned()).collect(),
                    None,
                )
            })
            .collect(),
        route_set: None,
        bind: false,
        allowed_stage: false,
        custom_header: false,
        document: false,
        sender_constrained: None,
        cedar: false,
    }
}

/// Cedar-decided routes (feature `cedar`): their translated policies decide as the scope and
/// claim rules do, and one cached answer is right for every route, on all three authorizer
/// types (a literal, a `{param}`, a greedy tail, `ANY` and `$default` left to the plain rules).
#[cfg(feature = "cedar")]
#[test]
fn regression_cedar_decided_routes_cached_equals_fresh() {
    let mut setup = setup_of(&[
        ("GET /pets", &["read"]),
        ("POST /pets", &["write"]),
        ("GET /pets/{petId}", &[]),
        ("GET /files/{path+}", &["admin"]),
        ("ANY /orders", &["read"]),
    ]);
    setup.routes[2].2 = Some("a".into());
    setup.cedar = true;
    assert!(try_build(&setup).is_some());
    let callers = [
        reader(),
        Caller {
            scopes: vec!["write".into(), "admin".into()],
            tenant: Some("a".into()),
            bound: false,
        },
        Caller {
            scopes: vec![],
            tenant: Some("b".into()),
            bound: false,
        },
    ];
    let paths = [
        ("GET", "pets"),
        ("POST", "pets"),
        ("GET", "pets/7"),
        ("GET", "pets/7/x"),
        ("GET", "files/a/b"),
        ("DELETE", "orders"),
        ("GET", "other"),
    ];
    // Every caller asks every path.
    let reqs: Vec<Req> = (0..callers.len())
        .flat_map(|token| {
            paths.iter().map(move |(verb, path)| Req {
                token,
                ..req(verb, path)
            })
        })
        .collect();
    for kind in [Kind::Token, Kind::Request] {
        check(&setup, kind, &callers, &reqs).unwrap();
    }
    setup
        .routes
        .push(("$default".into(), vec!["admin".into()], None));
    check(&setup, Kind::Http, &callers, &reqs).unwrap();
}

fn req(verb: &str, path: &str) -> Req {
    Req {
        verb: verb.into(),
        path: path.into(),
        stage: "prod".into(),
        tenant: None,
        route_set: false,
        audience: None,
        scopes: None,
        token: 0,
        no_token: false,
    }
}

/// A caller of tenant `a` with no scope (the binding regressions).
fn tenant_a() -> Caller {
    Caller {
        scopes: vec![],
        tenant: Some("a".into()),
        bound: false,
    }
}

/// `GET /pets` with the binding header of tenant `a`, then of tenant `b`.
fn binding_requests() -> [Req; 2] {
    ["a", "b"].map(|t| Req {
        tenant: Some(t.into()),
        ..req("GET", "pets")
    })
}

fn reader() -> Caller {
    Caller {
        scopes: vec!["read".into()],
        tenant: None,
        bound: false,
    }
}

/// `reqs` checked cached == fresh on both REST authorizer types for the `read` caller; the
/// authorizer and the caller's token, for the fresh answers a regression asserts next.
fn rest_checked_for_reader(setup: &Setup, reqs: &[Req]) -> (Authorizer, String) {
    for kind in [Kind::Token, Kind::Request] {
        check(setup, kind, &[reader()], reqs).unwrap();
    }
    (build(setup), sign(&reader()))
}

/// Item 1: `GET /pets/{petId}` and `ANY /orders/{orderId}` (scope `read`): the policy cached for
/// `GET /pets/7` allowed `GET /pets/7/medical-records`, `DELETE /admin/orders/1` and
/// `GET /internal/orders/x/export`, each denied fresh.
#[test]
fn regression_unlisted_routes_under_templates_stay_denied_from_the_cache() {
    let setup = setup_of(&[
        ("GET /pets/{petId}", &["read"]),
        ("ANY /orders/{orderId}", &["read"]),
    ]);
    let reqs = [
        req("GET", "pets/7"),
        req("GET", "pets/7/medical-records"),
        req("DELETE", "admin/orders/1"),
        req("GET", "internal/orders/x/export"),
        req("DELETE", "orders/1"),
    ];
    let (authz, token) = rest_checked_for_reader(&setup, &reqs);
    let cached = answer(&authz, "authorization", Kind::Token, &reqs[0], &token, "");
    assert_eq!(outcome(Kind::Token, &cached, &reqs[0]), Outcome::Allow);
    for r in &reqs[1..4] {
        assert_eq!(
            outcome(Kind::Token, &cached, r),
            Outcome::Forbidden,
            "{r:?}"
        );
    }
    assert_eq!(outcome(Kind::Token, &cached, &reqs[4]), Outcome::Allow);
}

/// Item 1 with `AUTHZ_ROUTE_SETS`, and on the HTTP authorizer with identical rules and an
/// unlisted route (the route key is part of the cache key).
#[test]
fn regression_route_sets_and_http_unlisted_routes() {
    let mut setup = setup_of(&[("GET /pets/{petId}", &["read"])]);
    setup.route_set = Some(vec![(
        "ANY /orders/{orderId}".into(),
        vec!["read".into()],
        None,
    )]);
    let mut reqs = vec![
        req("GET", "pets/7"),
        req("GET", "pets/7/x"),
        req("DELETE", "admin/orders/1"),
    ];
    for r in reqs.clone() {
        reqs.push(Req {
            route_set: true,
            ..r
        });
    }
    for kind in [Kind::Request, Kind::Http] {
        check(&setup, kind, &[reader()], &reqs).unwrap();
    }
    let http = setup_of(&[("GET /pets", &["read"]), ("GET /orders", &["read"])]);
    check(
        &http,
        Kind::Http,
        &[reader()],
        &[req("GET", "pets"), req("GET", "unlisted/1")],
    )
    .unwrap();
}

/// Item 2: with identity binding, tenant B's request never reuses tenant A's Allow.
#[test]
fn regression_binding_header_is_part_of_the_cache_key() {
    let mut setup = setup_of(&[("GET /pets", &[])]);
    setup.bind = true;
    let a = tenant_a();
    let reqs = binding_requests();
    for kind in [Kind::Request, Kind::Http] {
        check(&setup, kind, std::slice::from_ref(&a), &reqs).unwrap();
        let (config, authz) = try_build(&setup).unwrap();
        let token = sign(&a);
        let route_key = if kind == Kind::Http { "GET /pets" } else { "" };
        let fresh_b = answer(&authz, "authorization", kind, &reqs[1], &token, route_key);
        assert_eq!(outcome(kind, &fresh_b, &reqs[1]), Outcome::Forbidden);
        assert_ne!(
            cache_key(&config, kind, &reqs[0], &token, route_key),
            cache_key(&config, kind, &reqs[1], &token, route_key)
        );
    }
}

/// Item 3: `GET /pets/mine` (scope `admin`) beside `GET /pets/{petId}` (scope `read`): a `read`
/// token is denied `…/GET/pets/mine`, and so are `…/GET/pets/mine/` and `…/GET/pets//mine`,
/// fresh and from any cached policy.
#[test]
fn regression_trailing_slash_and_empty_segments_never_allow() {
    let setup = setup_of(&[
        ("GET /pets/mine", &["admin"]),
        ("GET /pets/{petId}", &["read"]),
    ]);
    let reqs = [
        req("GET", "pets/mine"),
        req("GET", "pets/mine/"),
        req("GET", "pets//mine"),
        req("GET", "pets/7"),
    ];
    let (authz, token) = rest_checked_for_reader(&setup, &reqs);
    for kind in [Kind::Token, Kind::Request] {
        for r in &reqs[..3] {
            let fresh = answer(&authz, "authorization", kind, r, &token, "");
            assert_eq!(outcome(kind, &fresh, r), Outcome::Forbidden, "{r:?}");
        }
    }
}

/// Item 4: the HTTP authorizer applies `AUTHZ_ALLOWED_API_ARNS` to the route ARN.
#[test]
fn regression_http_authorizer_applies_the_api_allow_list() {
    let mut setup = setup_of(&[("GET /pets", &[])]);
    setup.allowed_stage = true;
    let authz = build(&setup);
    let token = sign(&reader());
    let ok = answer(
        &authz,
        "authorization",
        Kind::Http,
        &req("GET", "pets"),
        &token,
        "GET /pets",
    );
    assert_eq!(
        outcome(Kind::Http, &ok, &req("GET", "pets")),
        Outcome::Allow
    );
    let dev = Req {
        stage: "dev".into(),
        ..req("GET", "pets")
    };
    let other = answer(
        &authz,
        "authorization",
        Kind::Http,
        &dev,
        &token,
        "GET /pets",
    );
    assert_eq!(outcome(Kind::Http, &other, &dev), Outcome::Forbidden);
}

/// Configurations IAM cannot cache exactly are refused at cold start, naming the setting.
#[test]
fn regression_uncachable_rules_are_refused_naming_the_setting() {
    let setup = setup_of(&[
        ("GET /pets/{petId}", &["read"]),
        ("GET /pets/{petId}/photos", &["admin"]),
    ]);
    let e = build(&setup).check_rest_caching().unwrap_err().to_string();
    assert!(
        e.contains("AUTHZ_ROUTES") && e.contains("GET /pets/{petId}/photos"),
        "{e}"
    );
    // The README's route-rule section shows exactly this message.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    assert!(
        readme.contains(&e),
        "README must show the message a user sees: {e}"
    );
    let mut sets = setup_of(&[("GET /pets", &[])]);
    sets.route_set = Some(vec![
        ("ANY /{proxy+}".into(), vec![], None),
        ("GET /a/{id}".into(), vec![], None),
    ]);
    let e = build(&sets).check_rest_caching().unwrap_err().to_string();
    assert!(
        e.contains("AUTHZ_ROUTE_SETS") && e.contains("`other`"),
        "{e}"
    );
}

/// The cachable/refused REST rule sets both languages check (`tests/golden/`): same verdict and
/// message as infra's `restCacheConflict`.
#[test]
fn rest_cache_conflicts_match_the_golden_cases() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/golden/rest-cache-conflicts.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 8);
    for case in cases {
        let rules = authz_core::Rules(
            case["routes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| authz_core::Rule::new(r.as_str().unwrap(), vec![], vec![]).unwrap())
                .collect(),
        );
        assert_eq!(
            rules.rest_cache_conflict().as_deref(),
            case["conflict"].as_str(),
            "{}",
            case["routes"]
        );
    }
}

// ---- The observed cases of issue 22, kept as fixed regressions. ----

/// Item 1: `AUTHZ_CONFIG={"token_header":"X-Api-Token"}`. A request with any `Authorization`
/// and a valid `X-Api-Token` is allowed; the next with the same `Authorization` and no token
/// must not get that answer from the cache (it is missing an identity source: 401 without the
/// authorizer), and fresh it is `missing_token`.
#[test]
fn regression_token_header_in_the_document_is_the_cache_key() {
    let mut setup = setup_of(&[("GET /pets", &[])]);
    setup.custom_header = true;
    setup.document = true;
    let (config, authz) = try_build(&setup).unwrap();
    let token = sign(&reader());
    let with = req("GET", "pets");
    let without = Req {
        no_token: true,
        ..req("GET", "pets")
    };
    for (kind, route_key) in [(Kind::Request, ""), (Kind::Http, "GET /pets")] {
        let key = cache_key(&config, kind, &with, &token, route_key).unwrap();
        assert!(key.contains("header.X-Api-Token=Bearer "), "{key}");
        assert!(!key.contains("Authorization"), "{key}");
        assert_eq!(cache_key(&config, kind, &without, &token, route_key), None);
        let fresh = answer(&authz, API_TOKEN_HEADER, kind, &with, &token, route_key);
        assert_eq!(outcome(kind, &fresh, &with), Outcome::Allow);
        let fresh = answer(&authz, API_TOKEN_HEADER, kind, &without, &token, route_key);
        let missing = if kind == Kind::Http {
            Outcome::Forbidden
        } else {
            Outcome::Unauthorized
        };
        assert_eq!(outcome(kind, &fresh, &without), missing);
        check(&setup, kind, &[reader()], &[with.clone(), without.clone()]).unwrap();
    }
}

/// Item 1: binding written in the document is in the cache key (tenant A's token with
/// `x-tenant: b` never reuses tenant A's answer), and is refused on a TOKEN authorizer.
#[test]
fn regression_binding_in_the_document_is_the_cache_key() {
    let mut setup = setup_of(&[("GET /pets", &[])]);
    setup.bind = true;
    setup.document = true;
    let (config, authz) = try_build(&setup).unwrap();
    let a = tenant_a();
    let token = sign(&a);
    let reqs = binding_requests();
    for (kind, route_key) in [(Kind::Request, ""), (Kind::Http, "GET /pets")] {
        assert_ne!(
            cache_key(&config, kind, &reqs[0], &token, route_key),
            cache_key(&config, kind, &reqs[1], &token, route_key)
        );
        let fresh = answer(&authz, "authorization", kind, &reqs[1], &token, route_key);
        assert_eq!(outcome(kind, &fresh, &reqs[1]), Outcome::Forbidden);
        check(&setup, kind, std::slice::from_ref(&a), &reqs).unwrap();
    }
    let e = config.check_for(AuthorizerKind::Token).unwrap_err();
    assert!(e.to_string().contains("AUTHZ_BIND_HEADER"), "{e}");
}

/// Item 2: the HTTP authorizer's `authz*` stage variables are in its cache key: an answer for a
/// stage without `authzScopes` is never reused on one requiring `admin`.
#[test]
fn regression_http_stage_variables_are_the_cache_key() {
    let setup = setup_of(&[("GET /pets", &[])]);
    let (config, authz) = try_build(&setup).unwrap();
    let token = sign(&reader());
    let plain = req("GET", "pets");
    let admin = Req {
        scopes: Some("admin".into()),
        ..req("GET", "pets")
    };
    let k = |r: &Req| cache_key(&config, Kind::Http, r, &token, "GET /pets").unwrap();
    assert_ne!(k(&plain), k(&admin));
    assert!(k(&admin).contains("$stageVariables.authzScopes=admin"));
    let fresh = answer(
        &authz,
        "authorization",
        Kind::Http,
        &admin,
        &token,
        "GET /pets",
    );
    assert_eq!(outcome(Kind::Http, &fresh, &admin), Outcome::Forbidden);
    let fresh = answer(
        &authz,
        "authorization",
        Kind::Http,
        &plain,
        &token,
        "GET /pets",
    );
    assert_eq!(outcome(Kind::Http, &fresh, &plain), Outcome::Allow);
}

/// Item 3: with `AUTHZ_CLIENT_ID`, a stage `authzAudience` of `,` or blanks used to turn the
/// audience check off (a token of the same client for `aud: billing-api` was allowed). It is a
/// configuration error (500, the variable named in the log), and refused at synth.
#[test]
fn regression_blank_stage_audience_is_a_configuration_error() {
    let (rt, issuer) = runtime_and_issuer();
    let vars = [
        ("AUTHZ_ISSUER", issuer.url()),
        ("AUTHZ_CLIENT_ID", "app".to_owned()),
    ];
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    let authz = Authorizer::new(config.clone()).unwrap();
    rt.block_on(authz.warm());
    let token = key().sign(
        &json!({"iss": issuer.url(), "aud": "billing-api", "client_id": "app",
        "sub": "alice", "exp": now() + 600, "scope": "read"}),
    );
    for blank in [",", " ", " , "] {
        let r = Req {
            audience: Some(blank.into()),
            ..req("GET", "pets")
        };
        for (kind, route_key) in [(Kind::Request, ""), (Kind::Http, "GET /pets")] {
            let fresh = answer(&authz, "authorization", kind, &r, &token, route_key);
            assert_eq!(
                outcome(kind, &fresh, &r),
                Outcome::Fault,
                "{blank:?} {kind:?}"
            );
            let e = fresh.unwrap_err();
            assert!(e.contains("authzAudience"), "{e}");
            assert!(
                config
                    .cache_key(kind.core(), &r.stage_vars(), true)
                    .is_err()
            );
        }
    }
    // The same client's token for its own audience is still allowed with a real stage audience.
    let r = Req {
        audience: Some("billing-api".into()),
        ..req("GET", "pets")
    };
    let fresh = answer(&authz, "authorization", Kind::Http, &r, &token, "GET /pets");
    assert_eq!(outcome(Kind::Http, &fresh, &r), Outcome::Allow);
}

/// Issue 22 item 7: `GET /repos/{repo}/contents/{path+}` denied `GET /repos/r/contents/contents/
/// x.md`, a path it matches (fresh and cached agreed: the deeper-path Deny `…/repos/*/*/
/// contents/*` was in every answer). No IAM resource states those deeper paths without the
/// rule's own, so the REST authorizers refuse the rule at cold start, naming the setting.
#[test]
fn regression_a_literal_recurring_in_a_greedy_tail_is_refused_not_denied() {
    let setup = setup_of(&[("GET /repos/{repo}/contents/{path+}", &["read"])]);
    let e = build(&setup).check_rest_caching().unwrap_err().to_string();
    assert!(
        e.contains("AUTHZ_ROUTES: rule `GET /repos/{repo}/contents/{path+}`")
            && e.contains("itself"),
        "{e}"
    );
    // Without the literal between `{param}` and the tail, the rule is cachable and its own
    // deeper paths (the tail repeating segments) are allowed, fresh and cached.
    let setup = setup_of(&[("GET /repos/{repo}/{path+}", &["read"])]);
    let reqs = [
        req("GET", "repos/r/contents/x.md"),
        req("GET", "repos/r/repos/r/x.md"),
        req("GET", "repos/contents/contents/contents/x.md"),
    ];
    let (authz, token) = rest_checked_for_reader(&setup, &reqs);
    for r in &reqs {
        let fresh = answer(&authz, "authorization", Kind::Token, r, &token, "");
        assert_eq!(outcome(Kind::Token, &fresh, r), Outcome::Allow, "{r:?}");
    }
}

/// Issue 22, item 8: README and SECURITY.md state what a cached answer cannot see, in the
/// shipped values: API Gateway's TTL as `infra/routes.json` ships it (what `infra/` deploys), the
/// introspection cache TTL and the leeway as the configuration's defaults are (the settings rows).
#[test]
fn the_docs_state_the_real_cache_bounds_with_the_shipped_values() {
    let read = |file: &str| {
        let path = format!("{}/../../{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let routes: Value = serde_json::from_str(&read("infra/routes.json")).unwrap();
    let shipped: std::collections::BTreeSet<u64> = routes["apis"]
        .as_object()
        .unwrap()
        .values()
        .map(|api| api["cacheTtlSeconds"].as_u64().expect("cacheTtlSeconds"))
        .collect();
    let [gateway] = shipped.into_iter().collect::<Vec<_>>()[..] else {
        panic!("the docs name one shipped TTL; routes.json now ships several")
    };
    // The defaults as the parser applies them: the settings table's rows (`authz_core::SETTINGS`).
    let default_of = |variable: &str| -> u64 {
        let row = authz_core::SETTINGS
            .iter()
            .find(|s| s.variable == variable)
            .unwrap_or_else(|| panic!("{variable} is a setting"));
        row.default
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("{variable} has a whole-second default"))
    };
    let introspection = default_of("AUTHZ_INTROSPECTION_CACHE_SECONDS");
    let leeway = default_of("AUTHZ_LEEWAY_SECONDS");
    let revoked = format!(
        "{introspection} s + {gateway} s = {} s",
        introspection + gateway
    );
    let past_exp = format!("{} s as shipped", gateway + leeway);
    for doc in ["README.md", "SECURITY.md"] {
        let text = read(doc).split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            text.contains(&revoked),
            "{doc}: a revoked opaque token works up to {revoked}"
        );
        assert!(
            text.contains(&past_exp),
            "{doc}: a token works up to {past_exp} past its exp"
        );
        assert!(
            text.contains(&format!("{gateway} s as shipped")),
            "{doc}: API Gateway's TTL"
        );
        assert!(
            !text.contains("stops working within the cache TTL"),
            "{doc}: the claim issue 22 found untrue"
        );
    }
}
