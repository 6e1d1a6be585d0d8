//! The route table (`infra/routes.json`) and what is derived from it, with the same semantics
//! as `infra/lib/route-table.ts`: each Lambda authorizer's `AUTHZ_ROUTES`, whether its rules
//! differ per route (then HTTP API identity sources add `$context.routeKey`), and the status
//! API Gateway answers for a caller.
//!
//! Loading refuses what `cdk synth` refuses: the JSON Schema `infra/routes.schema.json` (applied by
//! the `jsonschema` crate, [`schema`]; infra applies it with ajv), then the rules a schema cannot
//! say, then what synth checks beyond the table's own file: a REST Lambda authorizer's routes that
//! one cached policy cannot decide (authz-core's [`Rules::rest_cache_conflict`], the rule the
//! cold start applies). Whether a token satisfies a route is authz-core's own rule check
//! ([`authz_core::Rule`]). `tests/golden/` holds what both languages assert: invalid tables with
//! the JSON pointers of their problems, and the semantics generated here (`golden`).

mod json;
mod schema;

#[cfg(test)]
mod golden;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

// Everything this crate takes from authz-core for the route table.
use authz_core::{Claims, Config, Rule, Rules};
use serde_json::{Map, Value, json};

use json::Json;

/// API Gateway's default authorizer cache TTL.
pub const DEFAULT_CACHE_TTL_SECONDS: u64 = 300;

/// REST or HTTP API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKind {
    /// API Gateway REST API (authorizers none, token, request).
    Rest,
    /// API Gateway HTTP API (authorizers none, http, jwt).
    Http,
}

impl ApiKind {
    /// The name used in routes.json (`type`).
    pub fn name(self) -> &'static str {
        match self {
            ApiKind::Rest => "rest",
            ApiKind::Http => "http",
        }
    }

    /// The authorizer types this API type takes (route-table.ts `AUTHORIZERS_BY_API`).
    pub fn authorizers(self) -> &'static [&'static str] {
        match self {
            ApiKind::Rest => &["none", "token", "request"],
            ApiKind::Http => &["none", "http", "jwt"],
        }
    }
}

/// Every authorizer type (the route schema's enum).
pub(crate) const ALL_AUTHORIZERS: [&str; 5] = ["none", "token", "request", "http", "jwt"];

/// Which authorizer guards a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthorizerKind {
    /// Public.
    None,
    /// REST TOKEN Lambda authorizer (`token-authorizer`).
    Token,
    /// REST REQUEST Lambda authorizer (`request-authorizer`).
    Request,
    /// HTTP API Lambda authorizer, simple responses (`http-authorizer`).
    Http,
    /// HTTP API native JWT authorizer (emulated in-process).
    Jwt,
}

impl AuthorizerKind {
    /// The binary behind a Lambda authorizer type.
    pub fn binary(self) -> Option<&'static str> {
        match self {
            AuthorizerKind::Token => Some("token-authorizer"),
            AuthorizerKind::Request => Some("request-authorizer"),
            AuthorizerKind::Http => Some("http-authorizer"),
            AuthorizerKind::None | AuthorizerKind::Jwt => None,
        }
    }

    /// The type named so in routes.json.
    fn from_name(name: &str) -> Option<AuthorizerKind> {
        [
            AuthorizerKind::None,
            AuthorizerKind::Token,
            AuthorizerKind::Request,
            AuthorizerKind::Http,
            AuthorizerKind::Jwt,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }

    /// The name used in routes.json.
    pub fn name(self) -> &'static str {
        match self {
            AuthorizerKind::None => "none",
            AuthorizerKind::Token => "token",
            AuthorizerKind::Request => "request",
            AuthorizerKind::Http => "http",
            AuthorizerKind::Jwt => "jwt",
        }
    }
}

/// Sender-constrained tokens on an API (`senderConstrained` in routes.json, route-table.ts
/// `SenderConstrained`): the value its Lambda authorizers get as `AUTHZ_SENDER_CONSTRAINED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SenderConstrained {
    /// Bearer tokens only; bound tokens refused (the default).
    #[default]
    Off,
    /// Bound tokens need their DPoP proof or client certificate; bearer tokens still pass.
    Accept,
    /// Every token must be bound.
    Require,
}

impl SenderConstrained {
    /// The name used in routes.json, and the value of `AUTHZ_SENDER_CONSTRAINED`.
    pub fn name(self) -> &'static str {
        match self {
            SenderConstrained::Off => "off",
            SenderConstrained::Accept => "accept",
            SenderConstrained::Require => "require",
        }
    }

    /// The value named so in routes.json.
    pub fn from_name(name: &str) -> Option<SenderConstrained> {
        [
            SenderConstrained::Off,
            SenderConstrained::Accept,
            SenderConstrained::Require,
        ]
        .into_iter()
        .find(|v| v.name() == name)
    }
}

/// Native JWT authorizer quota: scopes per route (`JWT_MAX_SCOPES_PER_ROUTE` in route-table.ts).
pub const JWT_MAX_SCOPES_PER_ROUTE: usize = 10;

/// The name route-table.ts's `parseRouteTable` gives a table without a file.
const DEFAULT_SOURCE: &str = "routes.json";

/// One problem of a route table: where (a JSON pointer into the table) and what, in one line
/// that names the place.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// RFC 6901 pointer to the value at fault (`""`: the whole table).
    pub pointer: String,
    /// The line shown (`apis.shop.routes[0] ("GET /x"): …`).
    pub message: String,
}

impl Problem {
    fn at(pointer: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A route table that does not fit: every problem, each naming its place; displayed as
/// route-table.ts's `RouteTableError` is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteTableError {
    /// The file (its name, or its path when it could not be read as JSON).
    pub source: String,
    /// One per problem.
    pub problems: Vec<Problem>,
}

impl RouteTableError {
    fn new(source: &str, problems: Vec<Problem>) -> RouteTableError {
        RouteTableError {
            source: source.to_owned(),
            problems,
        }
    }

    /// The problems' lines.
    pub fn lines(&self) -> Vec<&str> {
        self.problems.iter().map(|p| p.message.as_str()).collect()
    }
}

impl fmt::Display for RouteTableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not a valid route table:\n  - {}",
            self.source,
            self.lines().join("\n  - ")
        )
    }
}

impl std::error::Error for RouteTableError {}

impl From<RouteTableError> for String {
    fn from(e: RouteTableError) -> String {
        e.to_string()
    }
}

/// One route of an API.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// `METHOD /path` (API Gateway templates) or `$default`.
    pub route: String,
    /// Its authorizer.
    pub authorizer: AuthorizerKind,
    /// Any one of these is enough; empty: any valid token.
    pub scopes: Vec<String>,
    /// Every claim must match (in table order, as `AUTHZ_ROUTES` lists them).
    pub claims: Vec<(String, Value)>,
    /// Decided by the API's Cedar policies too (`"cedar": true`).
    pub cedar: bool,
    /// Free text.
    pub description: Option<String>,
    rule: Rule,
}

impl RouteSpec {
    /// The method (`$default` → `ANY`).
    pub fn method(&self) -> &str {
        if self.route == "$default" {
            "ANY"
        } else {
            self.route.split(' ').next().unwrap_or("ANY")
        }
    }

    /// The path template (`$default` → `/`).
    pub fn path(&self) -> &str {
        if self.route == "$default" {
            "/"
        } else {
            self.route.split_once(' ').map_or("/", |(_, p)| p)
        }
    }

    /// The route's rule as the authorizers enforce it (authz-core's own type).
    pub fn rule(&self) -> &Rule {
        &self.rule
    }
}

/// A test caller of an API: what its token carries.
#[derive(Debug, Clone, Default)]
pub struct TierSpec {
    /// `scope`.
    pub scopes: Vec<String>,
    /// Extra claims; with `groups`, also the API's `cedar.groupsClaim` holding them (what the
    /// tier's token carries).
    pub claims: Map<String, Value>,
    /// Groups its token carries in the API's `cedar.groupsClaim`.
    pub groups: Vec<String>,
    /// Free text.
    pub description: Option<String>,
}

impl TierSpec {
    /// The verified claims of this tier's token, as authz-core sees them.
    pub fn verified_claims(&self) -> Claims {
        Claims {
            iss: String::new(),
            sub: None,
            client_id: None,
            scopes: self.scopes.clone(),
            all: self.claims.clone(),
        }
    }
}

/// One API of the table.
#[derive(Debug, Clone)]
pub struct ApiSpec {
    /// The key in `apis`.
    pub name: String,
    /// REST or HTTP.
    pub kind: ApiKind,
    /// Free text.
    pub description: Option<String>,
    /// `aud` of its tokens.
    pub audience: String,
    /// Authorizer result cache TTL (0: off).
    pub cache_ttl_seconds: u64,
    /// `senderConstrained`: `AUTHZ_SENDER_CONSTRAINED` of its Lambda authorizers.
    pub sender_constrained: SenderConstrained,
    /// Test callers.
    pub tiers: BTreeMap<String, TierSpec>,
    /// Routes.
    pub routes: Vec<RouteSpec>,
    /// The Cedar policies of its `"cedar": true` routes.
    pub cedar: Option<CedarSpec>,
}

/// The files of an API's Cedar configuration: the key in routes.json's `cedar` object and the
/// setting naming the file (route-table.ts `CEDAR_FILES`; one more optional file is one line).
pub const CEDAR_FILES: [(&str, &str); 3] = [
    ("policies", "AUTHZ_CEDAR_POLICIES"),
    ("schema", "AUTHZ_CEDAR_SCHEMA"),
    ("templateLinks", "AUTHZ_CEDAR_TEMPLATE_LINKS"),
];

/// An API's Cedar configuration (routes.json `cedar`).
#[derive(Debug, Clone)]
pub struct CedarSpec {
    /// Each file given: its setting (from [`CEDAR_FILES`]) and its path, resolved against the
    /// table's directory.
    pub files: Vec<(&'static str, PathBuf)>,
    /// `AUTHZ_CEDAR_NAMESPACE`.
    pub namespace: String,
    /// `AUTHZ_CEDAR_GROUPS_CLAIM`.
    pub groups_claim: Option<String>,
    /// `AUTHZ_CEDAR_ENTITY_PREFIX` (empty: none).
    pub entity_prefix: String,
}

impl CedarSpec {
    /// The `AUTHZ_CEDAR_*` variables of an authorizer deciding with these policies, the files
    /// as local paths (infra gives the same settings, with the paths inside the function).
    pub fn environment(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .files
            .iter()
            .map(|(setting, file)| ((*setting).to_owned(), file.display().to_string()))
            .collect();
        env.push(("AUTHZ_CEDAR_NAMESPACE".into(), self.namespace.clone()));
        if let Some(claim) = &self.groups_claim {
            env.push(("AUTHZ_CEDAR_GROUPS_CLAIM".into(), claim.clone()));
        }
        if !self.entity_prefix.is_empty() {
            env.push((
                "AUTHZ_CEDAR_ENTITY_PREFIX".into(),
                self.entity_prefix.clone(),
            ));
        }
        env
    }
}

/// Where routes.json sits in this repository: the directory a table without a file
/// ([`parse`]) resolves its Cedar files against.
fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra")
}

/// Reads and validates a route table file (route-table.ts `loadRouteTable`).
pub fn load(file: &Path) -> Result<Vec<ApiSpec>, RouteTableError> {
    load_with(file, &[])
}

/// [`load`] with these APIs' `senderConstrained` set in the document first (`authz-local
/// --sender-constrained API=MODE`), so the table with them is validated as synth would.
pub fn load_with(
    file: &Path,
    sender_constrained: &[(String, SenderConstrained)],
) -> Result<Vec<ApiSpec>, RouteTableError> {
    let unreadable = |e: String| {
        RouteTableError::new(
            &file.display().to_string(),
            vec![Problem::at("", format!("cannot read it as JSON: {e}"))],
        )
    };
    let text = std::fs::read_to_string(file).map_err(|e| unreadable(e.to_string()))?;
    let mut doc = Json::parse(&text).map_err(|e| unreadable(e.to_string()))?;
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    for (api, mode) in sender_constrained {
        let entries = match &mut doc {
            Json::Object(top) => top
                .iter_mut()
                .find(|(k, _)| k == "apis")
                .and_then(|(_, apis)| match apis {
                    Json::Object(apis) => apis.iter_mut().find(|(k, _)| k == api),
                    _ => None,
                })
                .and_then(|(_, entry)| match entry {
                    Json::Object(entries) => Some(entries),
                    _ => None,
                }),
            _ => None,
        };
        let Some(entries) = entries else {
            return Err(RouteTableError::new(
                &name,
                vec![Problem::at(
                    "/apis",
                    format!("--sender-constrained: the route table has no API \"{api}\""),
                )],
            ));
        };
        let value = Json::String(mode.name().to_owned());
        match entries.iter_mut().find(|(k, _)| k == "senderConstrained") {
            Some(entry) => entry.1 = value,
            None => entries.push(("senderConstrained".to_owned(), value)),
        }
    }
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    validate(&doc, &name, dir)
}

/// Parses and validates a route table document (route-table.ts `parseRouteTable`).
pub fn parse(text: &str) -> Result<Vec<ApiSpec>, RouteTableError> {
    let doc = Json::parse(text).map_err(|e| {
        RouteTableError::new(
            DEFAULT_SOURCE,
            vec![Problem::at("", format!("cannot read it as JSON: {e}"))],
        )
    })?;
    validate(&doc, DEFAULT_SOURCE, &default_dir())
}

/// The JSON Schema first, then the rules a schema cannot say (route-table.ts's order), then the
/// REST cache rule synth applies (rest-api.ts).
fn validate(doc: &Json, source: &str, dir: &Path) -> Result<Vec<ApiSpec>, RouteTableError> {
    let problems = schema::problems(&doc.to_value())
        .map_err(|e| RouteTableError::new(source, vec![Problem::at("", e)]))?;
    if !problems.is_empty() {
        return Err(RouteTableError::new(source, problems));
    }
    let mut apis = build(doc, source, dir)?;
    let cedar: Vec<Problem> = apis.iter_mut().flat_map(with_cedar_rules).collect();
    if !cedar.is_empty() {
        return Err(RouteTableError::new(source, cedar));
    }
    let conflicts: Vec<Problem> = apis.iter().flat_map(rest_cache_problems).collect();
    if !conflicts.is_empty() {
        return Err(RouteTableError::new(source, conflicts));
    }
    Ok(apis)
}

/// What `cdk synth` refuses in a REST API beyond route-table.ts (infra/lib/rest-api.ts, with its
/// words): routes of one TOKEN / REQUEST authorizer that one cached policy cannot decide. The
/// authorizer's cold start refuses them too, with the same reason.
fn rest_cache_problems(api: &ApiSpec) -> Vec<Problem> {
    if api.kind != ApiKind::Rest {
        return Vec::new();
    }
    [AuthorizerKind::Token, AuthorizerKind::Request]
        .into_iter()
        .filter_map(|kind| {
            let why = api.rules_for(kind).rest_cache_conflict()?;
            Some(Problem::at(
                format!("/apis/{}/routes", schema::escape_pointer(&api.name)),
                format!(
                    "{}: the {} authorizer's AUTHZ_ROUTES (from routes.json): {why}",
                    api.name,
                    kind.name()
                ),
            ))
        })
        .collect()
}

/// A table that skips the JSON Schema, for tests of what a hostile value would do downstream
/// (the demo page's escaping).
#[cfg(test)]
pub(crate) fn parse_unvalidated(text: &str) -> Result<Vec<ApiSpec>, RouteTableError> {
    let doc = Json::parse(text)
        .map_err(|e| RouteTableError::new(DEFAULT_SOURCE, vec![Problem::at("", e.to_string())]))?;
    build(&doc, DEFAULT_SOURCE, &default_dir())
}

/// The typed table from a document the schema admits, with the rules a schema cannot say.
fn build(doc: &Json, source: &str, dir: &Path) -> Result<Vec<ApiSpec>, RouteTableError> {
    let mut problems = Vec::new();
    let mut apis = Vec::new();
    let no_entries: &[(String, Json)] = &[];
    for (name, api) in doc
        .get("apis")
        .and_then(Json::as_object)
        .unwrap_or(no_entries)
    {
        let kind = match api.get("type").and_then(Json::as_str) {
            Some("http") => ApiKind::Http,
            _ => ApiKind::Rest,
        };
        let text = |v: Option<&Json>| v.and_then(Json::as_str).map(str::to_owned);
        let strings = |v: Option<&Json>| -> Vec<String> {
            v.and_then(Json::as_array)
                .unwrap_or_default()
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        };
        let sender_constrained = text(api.get("senderConstrained"))
            .and_then(|v| SenderConstrained::from_name(&v))
            .unwrap_or_default();
        let mut seen = HashSet::new();
        let mut routes = Vec::new();
        for (i, r) in api
            .get("routes")
            .and_then(Json::as_array)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let route = text(r.get("route")).unwrap_or_default();
            let authorizer = text(r.get("authorizer"))
                .and_then(|a| AuthorizerKind::from_name(&a))
                .unwrap_or(AuthorizerKind::None);
            let scopes = strings(r.get("scopes"));
            let claims: Vec<(String, Value)> = r
                .get("claims")
                .and_then(Json::as_object)
                .unwrap_or(no_entries)
                .iter()
                .map(|(k, v)| (k.clone(), v.to_value()))
                .collect();
            let cedar = matches!(r.get("cedar"), Some(Json::Bool(true)));
            let at = format!("apis.{name}.routes[{i}] (\"{route}\")");
            let pointer = format!("/apis/{}/routes/{i}", schema::escape_pointer(name));
            let known_problems = problems.len();
            if !seen.insert(route.clone()) {
                problems.push(Problem::at(&pointer, format!("{at}: route listed twice")));
            }
            let mut found = route_problems(kind, &route, authorizer, &scopes, &claims);
            if cedar {
                found.extend(cedar_route_problems(
                    &route,
                    authorizer,
                    api.get("cedar").is_some(),
                ));
            }
            problems.extend(
                found
                    .into_iter()
                    .chain(sender_constraint_problems(authorizer, sender_constrained))
                    .map(|p| Problem::at(&pointer, format!("{at}: {p}"))),
            );
            // What the checks above admit, authz-core must accept (it parses AUTHZ_ROUTES).
            match Rule::new(&route, scopes.clone(), claims.clone()) {
                Ok(rule) => routes.push(RouteSpec {
                    route,
                    authorizer,
                    scopes,
                    claims,
                    cedar,
                    description: text(r.get("description")),
                    rule,
                }),
                // Said above in route-table.ts's words (a greedy segment not last).
                Err(_) if problems.len() > known_problems => {}
                Err(e) => problems.push(Problem::at(
                    &pointer,
                    format!("{at}: authz-core refuses this route: {e}"),
                )),
            }
        }
        if kind == ApiKind::Rest {
            problems.extend(rest_resource_problems(name, &routes));
        }
        let cedar = api.get("cedar").map(|c| CedarSpec {
            files: CEDAR_FILES
                .iter()
                .filter_map(|(key, setting)| Some((*setting, dir.join(text(c.get(key))?))))
                .collect(),
            namespace: text(c.get("namespace")).unwrap_or_default(),
            groups_claim: text(c.get("groupsClaim")),
            entity_prefix: text(c.get("entityPrefix")).unwrap_or_default(),
        });
        let groups_claim = cedar.as_ref().and_then(|c| c.groups_claim.clone());
        let tiers = api
            .get("tiers")
            .and_then(Json::as_object)
            .unwrap_or(no_entries)
            .iter()
            .map(|(tier, t)| {
                let mut claims = match t.get("claims").map(Json::to_value) {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                let groups = strings(t.get("groups"));
                if !groups.is_empty() {
                    match &groups_claim {
                        Some(claim) => {
                            claims.insert(claim.clone(), json!(groups));
                        }
                        None => problems.push(Problem::at(
                            format!(
                                "/apis/{}/tiers/{}/groups",
                                schema::escape_pointer(name),
                                schema::escape_pointer(tier)
                            ),
                            format!(
                                "apis.{name}.tiers.{tier}: groups need the API's \
                                 cedar.groupsClaim (the claim that carries them)"
                            ),
                        )),
                    }
                }
                let spec = TierSpec {
                    scopes: strings(t.get("scopes")),
                    claims,
                    groups,
                    description: text(t.get("description")),
                };
                (tier.clone(), spec)
            })
            .collect();
        let cache_ttl_seconds = match api.get("cacheTtlSeconds") {
            // The schema admits integers 0..=3600 only.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Some(Json::Number(n)) => *n as u64,
            _ => DEFAULT_CACHE_TTL_SECONDS,
        };
        apis.push(ApiSpec {
            name: name.clone(),
            kind,
            description: text(api.get("description")),
            audience: text(api.get("audience")).unwrap_or_default(),
            cache_ttl_seconds,
            sender_constrained,
            tiers,
            routes,
            cedar,
        });
    }
    if !problems.is_empty() {
        return Err(RouteTableError::new(source, problems));
    }
    Ok(apis)
}

/// What is wrong with a route marked `"cedar": true` beyond the schema (route-table.ts
/// `cedarRouteProblems`, the same words).
fn cedar_route_problems(
    route: &str,
    authorizer: AuthorizerKind,
    api_has_cedar: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    if !api_has_cedar {
        out.push(
            "\"cedar\": true needs the API's \"cedar\" (its policies, schema and namespace)"
                .to_owned(),
        );
    }
    if matches!(authorizer, AuthorizerKind::None | AuthorizerKind::Jwt) {
        out.push(format!(
            "\"cedar\": true needs a Lambda authorizer (token, request or http), not \"{}\"",
            authorizer.name()
        ));
    }
    if route == "$default" || route.starts_with("ANY ") {
        out.push(
            "a Cedar-decided route names one method and path (not ANY or $default: its Cedar \
             action is \"<method> <path>\")"
                .to_owned(),
        );
    }
    out
}

/// The Cedar-decided rules of an API as its authorizers hold them: each Lambda authorizer's
/// configuration (its `AUTHZ_ROUTES` and the API's `AUTHZ_CEDAR_*`, the files on this machine)
/// read by authz-core's own parser, the cold start's, whose rules then decide every prediction.
/// A configuration it refuses (a file that does not parse, an action the schema does not
/// declare) is a problem at the API's `cedar`, in the cold start's words.
fn with_cedar_rules(api: &mut ApiSpec) -> Vec<Problem> {
    let mut problems = Vec::new();
    for kind in api.lambda_authorizers() {
        let cedar = api.cedar_environment_for(kind);
        if cedar.is_empty() {
            continue;
        }
        let mut env: HashMap<String, String> = cedar.into_iter().collect();
        env.insert("AUTHZ_ISSUER".into(), "https://issuer.invalid".into());
        env.insert("AUTHZ_AUDIENCE".into(), api.audience.clone());
        env.insert("AUTHZ_ROUTES".into(), api.authz_routes_for(kind));
        let rules = match Config::from_lookup(|name| env.get(name).cloned()) {
            Ok(config) => config.routes().cloned().unwrap_or_default(),
            Err(e) => {
                problems.push(Problem::at(
                    format!("/apis/{}/cedar", schema::escape_pointer(&api.name)),
                    format!(
                        "{}: the {} authorizer's configuration, as its cold start reads it: {}",
                        api.name,
                        kind.name(),
                        e.0
                    ),
                ));
                continue;
            }
        };
        for route in api
            .routes
            .iter_mut()
            .filter(|r| r.authorizer == kind && r.cedar)
        {
            if let Some(rule) = rules.for_route_key(&route.route) {
                route.rule = rule.clone();
            }
        }
    }
    problems
}

/// What a table may mean by mistake, though synth accepts it (route-table.ts `routeTableWarnings`,
/// the same lines): a route scope that no tier of its API carries (a typo such as `silvr` would
/// lock every caller out), with the scopes the tiers carry. APIs without tiers say nothing.
pub fn warnings(apis: &[ApiSpec]) -> Vec<String> {
    let mut out = Vec::new();
    for api in apis {
        let known: BTreeSet<&str> = api
            .tiers
            .values()
            .flat_map(|t| t.scopes.iter().map(String::as_str))
            .collect();
        if api.tiers.is_empty() {
            continue;
        }
        for (i, r) in api.routes.iter().enumerate() {
            for scope in r.scopes.iter().filter(|s| !known.contains(s.as_str())) {
                out.push(format!(
                    "apis.{}.routes[{i}] (\"{}\"): scope \"{scope}\" is carried by no tier of the \
                     API (they carry {})",
                    api.name,
                    r.route,
                    known.iter().copied().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    out
}

/// What is wrong with one route beyond the schema (route-table.ts's wording).
fn route_problems(
    kind: ApiKind,
    route: &str,
    authorizer: AuthorizerKind,
    scopes: &[String],
    claims: &[(String, Value)],
) -> Vec<String> {
    let mut out = Vec::new();
    if route == "$default" && kind == ApiKind::Rest {
        out.push("$default exists only on HTTP APIs; a REST API uses ANY /{proxy+}".to_owned());
    }
    if route.find("+}").is_some_and(|g| g + 2 != route.len()) {
        out.push("a greedy {param+} must be the last path segment".to_owned());
    }
    let params = template_names(route);
    if params.iter().collect::<HashSet<_>>().len() != params.len() {
        out.push("a path parameter name is used twice".to_owned());
    }
    if authorizer == AuthorizerKind::None && (!scopes.is_empty() || !claims.is_empty()) {
        out.push(
            "authorizer \"none\" cannot have scopes or claims (nothing would check them)"
                .to_owned(),
        );
    }
    if authorizer == AuthorizerKind::Jwt && !claims.is_empty() {
        out.push(
            "the native JWT authorizer checks scopes only, not claims; use authorizer \"http\" \
             for claim rules"
                .to_owned(),
        );
    }
    if authorizer == AuthorizerKind::Jwt && scopes.len() > JWT_MAX_SCOPES_PER_ROUTE {
        out.push(format!(
            "the native JWT authorizer allows at most {JWT_MAX_SCOPES_PER_ROUTE} scopes per route"
        ));
    }
    out
}

/// What a route cannot do on an API with sender-constrained tokens (route-table.ts's wording):
/// the native JWT authorizer sees no `DPoP` proof and no client certificate. (A TOKEN authorizer
/// and caching are refused by the authorizers' own configuration reader, `Config::cache_key`,
/// at synth and at cold start.)
fn sender_constraint_problems(
    authorizer: AuthorizerKind,
    sender_constrained: SenderConstrained,
) -> Option<String> {
    (authorizer == AuthorizerKind::Jwt && sender_constrained != SenderConstrained::Off).then(|| {
        format!(
            "the native JWT authorizer cannot check DPoP proofs or client certificates \
             (senderConstrained \"{}\" on the API); use authorizer \"http\"",
            sender_constrained.name()
        )
    })
}

/// API Gateway REST resources: one template name per position among siblings.
fn rest_resource_problems(api: &str, routes: &[RouteSpec]) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut by_parent: HashMap<String, String> = HashMap::new();
    for r in routes {
        let segs: Vec<&str> = r.path().split('/').filter(|s| !s.is_empty()).collect();
        for (i, seg) in segs.iter().enumerate() {
            if !seg.starts_with('{') {
                continue;
            }
            let parent = format!("/{}", segs[..i].join("/"));
            if let Some(other) = by_parent.get(&parent)
                && other != seg
            {
                out.push(Problem::at(
                    format!("/apis/{}/routes", schema::escape_pointer(api)),
                    format!(
                        "apis.{api}: REST resources under \"{parent}\" use two different path \
                         parameters ({other}, {seg}); API Gateway allows one"
                    ),
                ));
            }
            by_parent.insert(parent, (*seg).to_owned());
        }
    }
    out
}

/// The names of a route's `{name}` / `{name+}` templates, in order.
fn template_names(route: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = route;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let name_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        let after = &rest[name_len..];
        let close = after.strip_prefix('+').unwrap_or(after);
        if name_len > 0 && close.starts_with('}') {
            out.push(&rest[..name_len]);
        }
    }
    out
}

impl ApiSpec {
    /// The routes one authorizer type guards.
    pub fn routes_guarded_by(&self, kind: AuthorizerKind) -> impl Iterator<Item = &RouteSpec> {
        self.routes.iter().filter(move |r| r.authorizer == kind)
    }

    /// Lambda authorizer types the API uses, in a stable order.
    pub fn lambda_authorizers(&self) -> Vec<AuthorizerKind> {
        [
            AuthorizerKind::Token,
            AuthorizerKind::Request,
            AuthorizerKind::Http,
        ]
        .into_iter()
        .filter(|k| self.routes.iter().any(|r| r.authorizer == *k))
        .collect()
    }

    /// `AUTHZ_ROUTES` for the Lambda authorizer of `kind`: exactly the routes it guards, byte for
    /// byte what `infra/lib/route-table.ts` `authzRoutesFor` writes (`JSON.stringify`: keys
    /// `route`, `scopes`, `claims` in this order, empty ones left out, claims in table order).
    pub fn authz_routes_for(&self, kind: AuthorizerKind) -> String {
        let text = |s: &str| Value::from(s).to_string();
        let rules: Vec<String> = self
            .routes_guarded_by(kind)
            .map(|r| {
                let mut rule = format!("{{\"route\":{}", text(&r.route));
                if !r.scopes.is_empty() {
                    rule.push_str(&format!(",\"scopes\":{}", json!(r.scopes)));
                }
                if !r.claims.is_empty() {
                    let claims: Vec<String> = r
                        .claims
                        .iter()
                        .map(|(k, v)| format!("{}:{v}", text(k)))
                        .collect();
                    rule.push_str(&format!(",\"claims\":{{{}}}", claims.join(",")));
                }
                if r.cedar {
                    rule.push_str(",\"cedar\":true");
                }
                rule.push('}');
                rule
            })
            .collect();
        format!("[{}]", rules.join(","))
    }

    /// The `AUTHZ_CEDAR_*` variables of the Lambda authorizer of `kind` (infra/lib/cedar.ts
    /// `cedarEnvironment`, the files on this machine): empty unless it decides a route with Cedar.
    pub fn cedar_environment_for(&self, kind: AuthorizerKind) -> Vec<(String, String)> {
        match &self.cedar {
            Some(cedar) if self.routes_guarded_by(kind).any(|r| r.cedar) => cedar.environment(),
            _ => Vec::new(),
        }
    }

    /// The rules of the Lambda authorizer of `kind`, as authz-core holds them.
    pub fn rules_for(&self, kind: AuthorizerKind) -> Rules {
        Rules(
            self.routes_guarded_by(kind)
                .map(|r| r.rule.clone())
                .collect(),
        )
    }

    /// Whether the routes guarded by `kind` carry different rules (`rulesDifferPerRoute`).
    pub fn rules_differ_per_route(&self, kind: AuthorizerKind) -> bool {
        let keys: BTreeSet<String> = self
            .routes_guarded_by(kind)
            .map(|r| {
                let mut scopes = r.scopes.clone();
                scopes.sort();
                let mut claims = r.claims.clone();
                claims.sort_by(|a, b| a.0.cmp(&b.0));
                // A Cedar-decided rule decides its own action: it differs from every other route's.
                json!([scopes, claims, r.cedar.then_some(&r.route)]).to_string()
            })
            .collect();
        keys.len() > 1
    }

    /// Whether the HTTP Lambda authorizer's identity sources include `$context.routeKey`
    /// (`infra/lib/http-api.ts` `httpIdentitySources`): whenever its results are cached, since
    /// it decides per route (a rule of its own, or denied when no rule lists the route).
    pub fn http_route_key_in_identity(&self) -> bool {
        self.cache_ttl_seconds > 0 && self.lambda_authorizers().contains(&AuthorizerKind::Http)
    }

    /// The route with this route key.
    pub fn route(&self, key: &str) -> Option<&RouteSpec> {
        self.routes.iter().find(|r| r.route == key)
    }
}

/// A caller in the expectation table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No `Authorization` header.
    None,
    /// A token that does not verify.
    Bad,
    /// A valid token of this tier.
    Tier(String),
}

/// Whether a tier's token satisfies a route: authz-core's own rule check (scopes any-of,
/// claims all-of).
pub fn tier_satisfies(tier: &TierSpec, route: &RouteSpec) -> bool {
    route.rule.check(&tier.verified_claims()).is_ok()
}

/// The status API Gateway answers (`infra/lib/route-table.ts` `expectedStatus`): public routes
/// 200; no token 401; a bad token 401, but 403 from the HTTP Lambda authorizer (simple
/// responses); a tier's valid token 200 when the rule authz-core picks for the route (among
/// those of the route's authorizer) accepts it, else 403. A tier's token is a bearer token: on an
/// API with `senderConstrained` `require` it is refused like a bad one (401, 403 from the HTTP
/// Lambda authorizer: `sender_constraint_required`).
pub fn expected_status(api: &ApiSpec, route: &RouteSpec, caller: &Caller) -> Result<u16, String> {
    if route.authorizer == AuthorizerKind::None {
        return Ok(200);
    }
    match caller {
        Caller::None => Ok(401),
        Caller::Bad if route.authorizer == AuthorizerKind::Http => Ok(403),
        Caller::Bad => Ok(401),
        Caller::Tier(t) => {
            let tier = api
                .tiers
                .get(t)
                .ok_or_else(|| format!("no tier \"{t}\" in API \"{}\"", api.name))?;
            if api.sender_constrained == SenderConstrained::Require {
                return Ok(if route.authorizer == AuthorizerKind::Http {
                    403
                } else {
                    401
                });
            }
            let rules = api.rules_for(route.authorizer);
            let allowed = rules
                .for_route_key(&route.route)
                .is_some_and(|rule| rule.check(&tier.verified_claims()).is_ok());
            Ok(if allowed { 200 } else { 403 })
        }
    }
}

/// A concrete request path for a route: templates filled with sample values.
pub fn sample_path(route: &RouteSpec) -> String {
    if route.route == "$default" {
        return "/local/default-route".into();
    }
    let segs: Vec<String> = route
        .path()
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with("+}") {
                "a/b".to_owned()
            } else if s.starts_with('{') {
                "1".to_owned()
            } else {
                s.to_owned()
            }
        })
        .collect();
    segs.join("/")
}

/// Path parameters of `path` under `template` (`/pets/{petId}` + `/pets/42` → petId=42).
pub fn path_params(template: &str, path: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let t: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    let p: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for (i, seg) in t.iter().enumerate() {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if let Some(name) = name.strip_suffix('+') {
                out.insert(name.into(), json!(p.get(i..).unwrap_or_default().join("/")));
            } else if let Some(v) = p.get(i) {
                out.insert(name.into(), json!(v));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = include_str!("../../../infra/routes.json");

    #[test]
    fn the_default_ttl_is_the_schema_s() {
        let schema = Json::parse(include_str!("../../../infra/routes.schema.json")).unwrap();
        let ttl = [
            "definitions",
            "api",
            "properties",
            "cacheTtlSeconds",
            "default",
        ]
        .iter()
        .try_fold(&schema, |node, key| node.get(key))
        .unwrap();
        assert_eq!(ttl.to_value(), json!(DEFAULT_CACHE_TTL_SECONDS));
    }

    #[test]
    fn sender_constrained_defaults_to_the_schema_s_default() {
        let schema = Json::parse(include_str!("../../../infra/routes.schema.json")).unwrap();
        let default = [
            "definitions",
            "api",
            "properties",
            "senderConstrained",
            "default",
        ]
        .iter()
        .try_fold(&schema, |node, key| node.get(key))
        .unwrap();
        assert_eq!(default.as_str(), Some(SenderConstrained::Off.name()));
    }

    #[test]
    fn a_table_synth_refuses_for_its_rest_cache_is_refused_with_synth_s_reason() {
        // The issue's table: both routes on the request authorizer, one cached policy for both.
        let mut doc: Value = serde_json::from_str(TABLE).unwrap();
        let routes = doc["apis"]["pet-store"]["routes"].as_array_mut().unwrap();
        routes.push(json!({"route": "GET /pets/{petId}/photos", "authorizer": "request", "scopes": ["read"]}));
        let err = parse(&doc.to_string()).unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert_eq!(err.problems[0].pointer, "/apis/pet-store/routes");
        // authz-core's own reason (what the cold start says), as rest-api.ts words it at synth.
        let rules = Rules(
            ["GET /pets/{petId}", "GET /pets/{petId}/photos"]
                .iter()
                .map(|r| Rule::new(r, vec!["read".into()], Vec::new()).unwrap())
                .collect(),
        );
        let why = rules.rest_cache_conflict().unwrap();
        assert_eq!(
            err.problems[0].message,
            format!("pet-store: the request authorizer's AUTHZ_ROUTES (from routes.json): {why}")
        );
        // The table as committed passes.
        assert!(parse(TABLE).is_ok());
    }

    #[test]
    fn sender_constrained_is_a_field_of_the_api_off_unless_the_table_says() {
        let apis = parse(TABLE).unwrap();
        assert!(
            apis.iter()
                .all(|a| a.sender_constrained == SenderConstrained::Off)
        );
        let mut doc: Value = serde_json::from_str(TABLE).unwrap();
        let solar = &mut doc["apis"]["solar-system"];
        solar["senderConstrained"] = json!("require");
        solar["cacheTtlSeconds"] = json!(0);
        // GET /moons is on the native JWT authorizer, which sees no proof.
        let err = parse(&doc.to_string()).unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert_eq!(err.problems[0].pointer, "/apis/solar-system/routes/3");
        doc["apis"]["solar-system"]["routes"][3]["authorizer"] = json!("http");
        let apis = parse(&doc.to_string()).unwrap();
        let solar = apis.iter().find(|a| a.name == "solar-system").unwrap();
        assert_eq!(solar.sender_constrained, SenderConstrained::Require);
        assert_eq!(solar.sender_constrained.name(), "require");
    }

    #[test]
    fn authz_routes_like_infra() {
        let apis = parse(TABLE).unwrap();
        let solar = apis.iter().find(|a| a.name == "solar-system").unwrap();
        let routes: Value =
            serde_json::from_str(&solar.authz_routes_for(AuthorizerKind::Http)).unwrap();
        assert_eq!(
            routes,
            json!([{"route": "GET /asteroids"}, {"route": "GET /planets", "scopes": ["silver", "gold"]}])
        );
        assert!(solar.http_route_key_in_identity());
        let pets = apis.iter().find(|a| a.name == "pet-store").unwrap();
        assert!(pets.rules_differ_per_route(AuthorizerKind::Token));
        // GET /pets/{petId} by scope, PUT and DELETE by Cedar: each its own decision.
        assert!(pets.rules_differ_per_route(AuthorizerKind::Request));
        let request: Value =
            serde_json::from_str(&pets.authz_routes_for(AuthorizerKind::Request)).unwrap();
        assert_eq!(
            request,
            json!([{"route": "GET /pets/{petId}", "scopes": ["read"]},
                   {"route": "PUT /pets/{petId}", "cedar": true},
                   {"route": "DELETE /pets/{petId}", "cedar": true}])
        );
        assert_eq!(
            path_params("/pets/{petId}", "/pets/42"),
            json!({"petId": "42"}).as_object().unwrap().clone()
        );
    }

    /// The shipped table with PetStore's Cedar files replaced by these texts (in a fresh
    /// directory, named relative to the table as routes.json names them).
    fn with_cedar_files(
        name: &str,
        policies: &str,
        schema: &str,
    ) -> Result<Vec<ApiSpec>, RouteTableError> {
        let dir =
            std::env::temp_dir().join(format!("authz-local-cedar-{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("cedar")).unwrap();
        std::fs::write(dir.join("cedar/pet-store.cedar"), policies).unwrap();
        std::fs::write(dir.join("cedar/pet-store.cedarschema"), schema).unwrap();
        std::fs::write(dir.join("routes.json"), TABLE).unwrap();
        load(&dir.join("routes.json"))
    }

    const SCHEMA: &str = include_str!("../../../infra/cedar/pet-store.cedarschema");
    const POLICIES: &str = include_str!("../../../infra/cedar/pet-store.cedar");

    #[test]
    fn cedar_routes_are_predicted_by_the_core_s_evaluation_of_the_files() {
        let apis = parse(TABLE).unwrap();
        let pets = apis.iter().find(|a| a.name == "pet-store").unwrap();
        let cedar = pets.cedar.as_ref().unwrap();
        assert_eq!(cedar.namespace, "PetStore");
        assert_eq!(cedar.groups_claim.as_deref(), Some("groups"));
        // The editor tier's token carries its groups in the groups claim.
        assert_eq!(pets.tiers["editor"].claims["groups"], json!(["editors"]));
        assert!(pets.cedar_environment_for(AuthorizerKind::Token).is_empty());
        let env = pets.cedar_environment_for(AuthorizerKind::Request);
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "AUTHZ_CEDAR_POLICIES",
                "AUTHZ_CEDAR_SCHEMA",
                "AUTHZ_CEDAR_NAMESPACE",
                "AUTHZ_CEDAR_GROUPS_CLAIM"
            ]
        );
        assert!(
            Path::new(&env[0].1).ends_with("infra/cedar/pet-store.cedar"),
            "{env:?}"
        );
        let status = |route: &str, tier: &str| {
            expected_status(pets, pets.route(route).unwrap(), &Caller::Tier(tier.into())).unwrap()
        };
        let got: Vec<(&str, u16, u16)> = ["reader", "writer", "nobody", "editor"]
            .into_iter()
            .map(|t| {
                (
                    t,
                    status("PUT /pets/{petId}", t),
                    status("DELETE /pets/{petId}", t),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("reader", 403, 403),
                ("writer", 200, 403),
                ("nobody", 403, 403),
                ("editor", 200, 200)
            ]
        );
        // Fix the policies (editors may no longer delete), and the prediction follows the files.
        let fixed = POLICIES.replace(
            r#"action in [PetStore::Action::"put /pets/{petId}", PetStore::Action::"delete /pets/{petId}"]"#,
            r#"action == PetStore::Action::"put /pets/{petId}""#,
        );
        assert_ne!(fixed, POLICIES);
        let apis = with_cedar_files("fixed", &fixed, SCHEMA).unwrap();
        let pets = apis.iter().find(|a| a.name == "pet-store").unwrap();
        let delete = pets.route("DELETE /pets/{petId}").unwrap();
        assert_eq!(
            expected_status(pets, delete, &Caller::Tier("editor".into())),
            Ok(403)
        );
    }

    #[test]
    fn bad_cedar_files_are_refused_at_the_api_s_cedar_in_the_cold_start_s_words() {
        let err = with_cedar_files(
            "parse",
            "permit(principal, action, resource) when {",
            SCHEMA,
        )
        .unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert_eq!(err.problems[0].pointer, "/apis/pet-store/cedar");
        let line = &err.problems[0].message;
        assert!(
            line.starts_with(
                "pet-store: the request authorizer's configuration, as its cold start reads it: \
                 AUTHZ_CEDAR_POLICIES: "
            ) && line.contains("cedar/pet-store.cedar:1:"),
            "{line}"
        );
        let schema = SCHEMA.replace(r#", "delete /pets/{petId}""#, "");
        let err = with_cedar_files(
            "action",
            POLICIES
                .split("@id(\"writers-update\")")
                .next()
                .unwrap()
                .replace(r#", PetStore::Action::"delete /pets/{petId}""#, "")
                .as_str(),
            &schema,
        )
        .unwrap_err();
        assert!(
            err.problems[0].message.ends_with(
                "AUTHZ_ROUTES: rule #3 (`DELETE /pets/{petId}`): the Cedar schema declares no \
                 action `PetStore::Action::\"delete /pets/{petId}\"` for this route"
            ),
            "{err}"
        );
    }
}
