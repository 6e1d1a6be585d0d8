//! The route table (`infra/routes.json`) and what is derived from it, with the same semantics
//! as `infra/lib/route-table.ts`: each Lambda authorizer's `AUTHZ_ROUTES`, whether its rules
//! differ per route (then HTTP API identity sources add `$context.routeKey`), and the status
//! API Gateway answers for a caller.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// API Gateway's default authorizer cache TTL.
pub const DEFAULT_CACHE_TTL_SECONDS: u64 = 300;

/// REST or HTTP API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKind {
    /// API Gateway REST API (authorizers none, token, request).
    Rest,
    /// API Gateway HTTP API (authorizers none, http, jwt).
    Http,
}

/// Which authorizer guards a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
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

/// One route of an API.
#[derive(Debug, Clone, Deserialize)]
pub struct RouteSpec {
    /// `METHOD /path` (API Gateway templates) or `$default`.
    pub route: String,
    /// Its authorizer.
    pub authorizer: AuthorizerKind,
    /// Any one of these is enough; empty: any valid token.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Every claim must match.
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
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
}

/// A test caller of an API: what its token carries.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TierSpec {
    /// `scope`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Extra claims.
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// One API of the table.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiSpec {
    /// The key in `apis`.
    #[serde(skip)]
    pub name: String,
    /// REST or HTTP.
    #[serde(rename = "type")]
    pub kind: ApiKind,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// `aud` of its tokens.
    pub audience: String,
    /// Authorizer result cache TTL (0: off).
    #[serde(default = "default_ttl")]
    pub cache_ttl_seconds: u64,
    /// Test callers.
    #[serde(default)]
    pub tiers: BTreeMap<String, TierSpec>,
    /// Routes.
    pub routes: Vec<RouteSpec>,
}

fn default_ttl() -> u64 {
    DEFAULT_CACHE_TTL_SECONDS
}

#[derive(Deserialize)]
struct Doc {
    apis: BTreeMap<String, Value>,
}

/// Reads a route table file. The JSON Schema is infra's job; this checks what the local mode
/// relies on (authorizer types fit the API type, routes parse as authz-core rules).
pub fn load(file: &Path) -> Result<Vec<ApiSpec>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read the route table {}: {e}", file.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", file.display()))
}

/// Parses a route table document.
pub fn parse(text: &str) -> Result<Vec<ApiSpec>, String> {
    let doc: Doc = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut apis = Vec::new();
    for (name, value) in doc.apis {
        let mut api: ApiSpec =
            serde_json::from_value(value).map_err(|e| format!("apis.{name}: {e}"))?;
        api.name = name;
        for r in &api.routes {
            let fits = match api.kind {
                ApiKind::Rest => matches!(
                    r.authorizer,
                    AuthorizerKind::None | AuthorizerKind::Token | AuthorizerKind::Request
                ),
                ApiKind::Http => matches!(
                    r.authorizer,
                    AuthorizerKind::None | AuthorizerKind::Http | AuthorizerKind::Jwt
                ),
            };
            if !fits {
                return Err(format!(
                    "apis.{}: route \"{}\": authorizer \"{}\" does not fit this API type",
                    api.name,
                    r.route,
                    r.authorizer.name()
                ));
            }
            authz_core::Rule::new(&r.route, Vec::new(), Vec::new())
                .map_err(|e| format!("apis.{}: route \"{}\": {e}", api.name, r.route))?;
        }
        apis.push(api);
    }
    if apis.is_empty() {
        return Err("no APIs".into());
    }
    Ok(apis)
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

    /// `AUTHZ_ROUTES` for the Lambda authorizer of `kind`: exactly the routes it guards
    /// (`infra/lib/route-table.ts` `authzRoutesFor`).
    pub fn authz_routes_for(&self, kind: AuthorizerKind) -> String {
        let rules: Vec<Value> = self
            .routes_guarded_by(kind)
            .map(|r| {
                let mut rule = Map::new();
                rule.insert("route".into(), json!(r.route));
                if !r.scopes.is_empty() {
                    rule.insert("scopes".into(), json!(r.scopes));
                }
                if !r.claims.is_empty() {
                    rule.insert("claims".into(), Value::Object(r.claims.clone()));
                }
                Value::Object(rule)
            })
            .collect();
        Value::Array(rules).to_string()
    }

    /// Whether the routes guarded by `kind` carry different rules (`rulesDifferPerRoute`).
    pub fn rules_differ_per_route(&self, kind: AuthorizerKind) -> bool {
        let keys: std::collections::BTreeSet<String> = self
            .routes_guarded_by(kind)
            .map(|r| {
                let mut scopes = r.scopes.clone();
                scopes.sort();
                json!([scopes, r.claims]).to_string()
            })
            .collect();
        keys.len() > 1
    }

    /// Whether the HTTP Lambda authorizer's identity sources include `$context.routeKey`
    /// (`infra/lib/http-api.ts` `httpIdentitySources`).
    pub fn http_route_key_in_identity(&self) -> bool {
        self.cache_ttl_seconds > 0 && self.rules_differ_per_route(AuthorizerKind::Http)
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

/// Whether a tier's token satisfies a route (scopes any-of, claims all-of).
pub fn tier_satisfies(tier: &TierSpec, route: &RouteSpec) -> bool {
    if !route.scopes.is_empty() && !route.scopes.iter().any(|s| tier.scopes.contains(s)) {
        return false;
    }
    route
        .claims
        .iter()
        .all(|(name, want)| match tier.claims.get(name) {
            Some(Value::Array(items)) => items.contains(want),
            Some(v) => v == want,
            None => false,
        })
}

/// The status API Gateway answers (`infra/lib/route-table.ts` `expectedStatus`).
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
            Ok(if tier_satisfies(tier, route) {
                200
            } else {
                403
            })
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
        assert!(!pets.rules_differ_per_route(AuthorizerKind::Request));
        assert_eq!(
            path_params("/pets/{petId}", "/pets/42"),
            json!({"petId": "42"}).as_object().unwrap().clone()
        );
    }
}
