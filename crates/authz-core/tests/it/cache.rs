//! Cached == fresh (issue 13): for any configuration the authorizers accept and any two requests
//! API Gateway answers from the same cache entry, the outcome the second request gets from the
//! first one's cached answer (IAM evaluation of the cached policy against its own method ARN, or
//! the cached `isAuthorized`) is the outcome a fresh call for it gives.
//!
//! Everything runs through the real `Authorizer` (`token`, `request`, `http` on raw event JSON)
//! with real signed tokens from a loopback issuer. The cache keys are the identity sources the
//! CDK app renders (`infra/lib/rest-api.ts`, `infra/lib/http-api.ts`): TOKEN the token header
//! alone; REQUEST the token header, the binding header and the `authz*` stage variables; HTTP
//! the token header, the binding header and `$context.routeKey`. REST caches are per stage.
//! The observed cases of the issue are fixed regressions at the end.

use std::sync::OnceLock;

use authz_core::{Authorizer, Config, evaluate, policy_statements};
use authz_testkit::{Issuer, TestKey, now};
use proptest::prelude::*;
use serde_json::{Value, json};

const PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012";
const API: &str = "api1";
const BIND_HEADER: &str = "x-tenant";

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
}

fn rules_json(rules: &[GenRule]) -> String {
    let list: Vec<Value> = rules
        .iter()
        .map(|(route, scopes, tenant)| {
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
    try_build(setup).expect("the configuration parses")
}

/// The authorizer of `setup`, or `None` when the configuration is refused while parsing.
fn try_build(setup: &Setup) -> Option<Authorizer> {
    let (rt, issuer) = runtime_and_issuer();
    let mut vars: Vec<(String, String)> = vec![
        ("AUTHZ_ISSUER".into(), issuer.url()),
        ("AUTHZ_AUDIENCE".into(), "api".into()),
        ("AUTHZ_ROUTES".into(), rules_json(&setup.routes)),
    ];
    if let Some(set) = &setup.route_set {
        vars.push((
            "AUTHZ_ROUTE_SETS".into(),
            format!(r#"{{"other": {}}}"#, rules_json(set)),
        ));
    }
    if setup.bind {
        vars.push(("AUTHZ_BIND_HEADER".into(), BIND_HEADER.into()));
        vars.push(("AUTHZ_BIND_CLAIM".into(), "tenant".into()));
    }
    if setup.allowed_stage {
        vars.push((
            "AUTHZ_ALLOWED_API_ARNS".into(),
            format!("{PREFIX}:{API}/prod"),
        ));
    }
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())).ok()?;
    let authz = Authorizer::new(config).unwrap();
    assert_eq!(rt.block_on(authz.warm()), 1);
    Some(authz)
}

/// A generated token: scopes and a tenant claim.
#[derive(Debug, Clone)]
struct Caller {
    scopes: Vec<String>,
    tenant: Option<String>,
}

fn sign(caller: &Caller) -> String {
    let (_, issuer) = runtime_and_issuer();
    let mut claims = json!({"iss": issuer.url(), "aud": "api", "sub": "alice", "exp": now() + 600,
        "scope": caller.scopes.join(" ")});
    if let Some(t) = &caller.tenant {
        claims["tenant"] = json!(t);
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
    token: usize,
}

impl Req {
    fn arn(&self) -> String {
        format!("{PREFIX}:{API}/{}/{}/{}", self.stage, self.verb, self.path)
    }

    fn stage_vars(&self) -> Value {
        if self.route_set {
            json!({"authzRouteSet": "other"})
        } else {
            json!({})
        }
    }

    fn headers(&self, token: &str) -> Value {
        let mut h = json!({"authorization": format!("Bearer {token}")});
        if let Some(t) = &self.tenant {
            h[BIND_HEADER] = json!(t);
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

/// The answer API Gateway caches for `req`, as JSON (`Err` = the error message).
fn answer(
    authz: &Authorizer,
    kind: Kind,
    req: &Req,
    token: &str,
    route_key: &str,
) -> Result<Value, String> {
    let (rt, _) = runtime_and_issuer();
    let arn = req.arn();
    match kind {
        Kind::Token => {
            let event = json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": arn});
            rt.block_on(authz.token(&event.to_string()))
                .map(|r| serde_json::to_value(r).unwrap())
                .map_err(|e| e.to_string())
        }
        Kind::Request => {
            let mut event = authz_testkit::fixtures::sample_event("request/header.json", token);
            let headers = req.headers(token);
            let multi: serde_json::Map<String, Value> = headers
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), json!([v])))
                .collect();
            event["methodArn"] = json!(arn);
            event["headers"] = headers;
            event["multiValueHeaders"] = Value::Object(multi);
            event["stageVariables"] = req.stage_vars();
            rt.block_on(authz.request(&event.to_string()))
                .map(|r| serde_json::to_value(r).unwrap())
                .map_err(|e| e.to_string())
        }
        Kind::Http => {
            let route_arn = if route_key == "$default" {
                format!("{PREFIX}:{API}/{}/$default", req.stage)
            } else {
                arn
            };
            let event = json!({"version": "2.0", "type": "REQUEST", "routeArn": route_arn,
                "identitySource": [format!("Bearer {token}"), route_key], "routeKey": route_key,
                "rawPath": format!("/{}/{}", req.stage, req.path), "headers": req.headers(token),
                "requestContext": {"accountId": "123456789012", "apiId": API, "routeKey": route_key,
                    "stage": req.stage, "http": {"method": req.verb, "path": format!("/{}", req.path)}},
                "stageVariables": req.stage_vars()});
            rt.block_on(authz.http(&event.to_string()))
                .map(|r| serde_json::to_value(r).unwrap())
                .map_err(|e| e.to_string())
        }
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

/// The cache key of `req` as the CDK app renders the identity sources (REST per stage).
fn cache_key(kind: Kind, req: &Req, route_key: &str) -> String {
    match kind {
        Kind::Token => format!("{}|{}", req.stage, req.token),
        Kind::Request => format!(
            "{}|{}|{:?}|{}",
            req.stage, req.token, req.tenant, req.route_set
        ),
        Kind::Http => format!(
            "{}|{}|{:?}|{}|{route_key}",
            req.stage, req.token, req.tenant, req.route_set
        ),
    }
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
    let Some(authz) = try_build(setup) else {
        return Ok(());
    };
    if kind != Kind::Http && authz.check_rest_caching().is_err() {
        // Refused at cold start: nothing to cache.
        return Ok(());
    }
    let tokens: Vec<String> = callers.iter().map(sign).collect();
    let mut seen = Vec::new();
    for req in reqs {
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
        let a = answer(&authz, kind, &req, token, &route_key);
        seen.push((cache_key(kind, &req, &route_key), req, a));
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
                "{:?}: {} {} cached from {} {} (setup {:?}, answer {:?})",
                kind,
                req_b.verb,
                req_b.path,
                req_a.verb,
                req_a.path,
                setup,
                answer_a
            );
        }
    }
    Ok(())
}

const SEGMENTS: [&str; 5] = ["pets", "orders", "mine", "admin", "7"];

fn route() -> impl Strategy<Value = String> {
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
    )
        .prop_map(|(routes, route_set, bind, allowed_stage)| Setup {
            routes,
            route_set,
            bind,
            allowed_stage,
        })
}

fn caller() -> impl Strategy<Value = Caller> {
    (
        scopes(),
        prop::option::of(prop::sample::select(vec!["a", "b"]).prop_map(str::to_owned)),
    )
        .prop_map(|(scopes, tenant)| Caller { scopes, tenant })
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
        0..3usize,
    )
        .prop_map(|(verb, path, stage, tenant, route_set, token)| Req {
            verb: verb.to_owned(),
            path,
            stage: stage.to_owned(),
            tenant,
            route_set,
            token,
        })
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
    }
}

fn req(verb: &str, path: &str) -> Req {
    Req {
        verb: verb.into(),
        path: path.into(),
        stage: "prod".into(),
        tenant: None,
        route_set: false,
        token: 0,
    }
}

fn reader() -> Caller {
    Caller {
        scopes: vec!["read".into()],
        tenant: None,
    }
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
    for kind in [Kind::Token, Kind::Request] {
        check(&setup, kind, &[reader()], &reqs).unwrap();
    }
    let authz = build(&setup);
    let token = sign(&reader());
    let cached = answer(&authz, Kind::Token, &reqs[0], &token, "");
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
    let a = Caller {
        scopes: vec![],
        tenant: Some("a".into()),
    };
    let reqs = [
        Req {
            tenant: Some("a".into()),
            ..req("GET", "pets")
        },
        Req {
            tenant: Some("b".into()),
            ..req("GET", "pets")
        },
    ];
    for kind in [Kind::Request, Kind::Http] {
        check(&setup, kind, std::slice::from_ref(&a), &reqs).unwrap();
        let authz = build(&setup);
        let token = sign(&a);
        let route_key = if kind == Kind::Http { "GET /pets" } else { "" };
        let fresh_b = answer(&authz, kind, &reqs[1], &token, route_key);
        assert_eq!(outcome(kind, &fresh_b, &reqs[1]), Outcome::Forbidden);
        assert_ne!(
            cache_key(kind, &reqs[0], route_key),
            cache_key(kind, &reqs[1], route_key)
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
    for kind in [Kind::Token, Kind::Request] {
        check(&setup, kind, &[reader()], &reqs).unwrap();
        let authz = build(&setup);
        let token = sign(&reader());
        for r in &reqs[..3] {
            let fresh = answer(&authz, kind, r, &token, "");
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
    let ok = answer(&authz, Kind::Http, &req("GET", "pets"), &token, "GET /pets");
    assert_eq!(
        outcome(Kind::Http, &ok, &req("GET", "pets")),
        Outcome::Allow
    );
    let dev = Req {
        stage: "dev".into(),
        ..req("GET", "pets")
    };
    let other = answer(&authz, Kind::Http, &dev, &token, "GET /pets");
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

/// Issue 22, item 8: README and SECURITY.md state what a cached answer cannot see, in the
/// shipped values: API Gateway's TTL as `infra/routes.json` ships it (what `infra/` deploys), the
/// introspection cache TTL and the leeway as the configuration's defaults are (from `Config`).
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
    let config = Config::from_lookup(|k| {
        match k {
            "AUTHZ_ISSUER" => Some("https://idp.example.com"),
            "AUTHZ_AUDIENCE" => Some("api"),
            "AUTHZ_INTROSPECTION_SECRET_ARN" => Some("authz/introspection"),
            _ => None,
        }
        .map(str::to_owned)
    })
    .unwrap();
    let introspection = config.issuers[0]
        .introspection
        .as_ref()
        .unwrap()
        .cache_ttl
        .as_secs();
    let leeway = config.leeway.as_secs();
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
