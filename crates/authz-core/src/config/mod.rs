//! Configuration: the only module that knows about environment variables.
//!
//! One schema, two spellings. The structured form is a JSON document in `AUTHZ_CONFIG` (or a file
//! named by `AUTHZ_CONFIG_FILE`); every flat `AUTHZ_*` variable is a shorthand for one key of that
//! document. Setting a key both ways is an error, so there is never a question of which wins.
//! Every error names the variable (or the JSON key) at fault.

use std::{collections::HashMap, fmt, time::Duration};

use jsonwebtoken::Algorithm;

use crate::policy::{Rule, Rules};
use serde::Deserialize;
use serde_json::{Map, Value};

/// A configuration error found at cold start. Its message names the variable at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {}", self.0)
    }
}
impl std::error::Error for ConfigError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// Every algorithm this build can verify: all asymmetric JWS algorithms of the crypto backend.
pub const SUPPORTED_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Accepted issuers (at least one), each with its own keys and audiences.
    pub issuers: Vec<IssuerConfig>,
    /// Clock-skew allowance for `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// When set, the header `typ` must equal it (RFC 9068: `at+jwt`).
    pub required_typ: Option<String>,
    /// Extra claims copied into the authorizer `context` (scalars; arrays of scalars joined by `,`).
    pub context_claims: Vec<String>,
    /// When non-empty, only these API ARNs (`arn:…:apiId` or `arn:…:apiId/stage`) may be granted.
    pub allowed_api_arns: Vec<String>,
    /// Accept a token without the `Bearer ` scheme (the API Gateway console's test sends one).
    pub accept_bare_token: bool,
    /// Tokens longer than this are refused before any decoding.
    pub max_token_bytes: usize,
    /// JWKS cache bounds.
    pub jwks: JwksSettings,
    /// Outgoing HTTP settings (discovery, JWKS).
    pub http: HttpSettings,
    /// Route rules; `None` means any valid token may use any route.
    pub routes: Option<Rules>,
    /// Named rule sets a stage selects with the stage variable `authzRouteSet`.
    pub route_sets: HashMap<String, Rules>,
    /// Header carrying the token (REQUEST and HTTP authorizers), lower-case.
    pub token_header: String,
    /// Query-string parameter that may carry the token instead (RFC 6750 §2.3 `access_token`).
    pub token_query_param: Option<String>,
    /// Identity binding: this request header (lower-case) must equal this claim, else 403.
    pub binding: Option<(String, String)>,
    /// Claim whose value becomes `usageIdentifierKey` (REST usage plans, API key source AUTHORIZER).
    pub usage_identifier_claim: Option<String>,
}

/// One trusted issuer.
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    /// Exact expected `iss`.
    pub issuer: String,
    /// The token's `aud` must contain one of these.
    pub audiences: Vec<String>,
    /// JWKS location; `None` means OIDC discovery at `{issuer}/.well-known/openid-configuration`.
    pub jwks_uri: Option<String>,
    /// Algorithms accepted for this issuer.
    pub algorithms: Vec<Algorithm>,
    /// Which tokens this issuer's are: JWTs, opaque, or either (by shape).
    pub token_format: TokenFormat,
    /// RFC 7662 introspection, for opaque tokens.
    pub introspection: Option<IntrospectionConfig>,
}

/// How an issuer's tokens are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormat {
    /// Local JWT verification only.
    Jwt,
    /// RFC 7662 introspection only.
    Opaque,
    /// JWT-shaped tokens locally, anything else by introspection.
    Auto,
}

/// How the introspection endpoint authenticates this authorizer (RFC 7662 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with the form-encoded client id and secret.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A bearer access token first obtained with the client-credentials grant.
    Bearer,
}

/// RFC 7662 introspection settings of one issuer.
#[derive(Debug, Clone)]
pub struct IntrospectionConfig {
    /// Secrets Manager secret (ARN or name) holding `{"client_id","client_secret"}`.
    pub secret_arn: String,
    /// Endpoint; `None`: `introspection_endpoint` from discovery.
    pub endpoint: Option<String>,
    /// Client authentication.
    pub auth: ClientAuth,
    /// Token endpoint for [`ClientAuth::Bearer`]; `None`: from discovery.
    pub token_endpoint: Option<String>,
    /// Scope requested with the client-credentials grant ([`ClientAuth::Bearer`]).
    pub scope: Option<String>,
    /// Upper bound on how long an active answer is reused (also bounded by the token's `exp`).
    pub cache_ttl: Duration,
    /// How long an inactive answer is reused.
    pub negative_ttl: Duration,
    /// Most answers kept in memory.
    pub max_entries: usize,
}

/// JWKS cache bounds.
#[derive(Debug, Clone)]
pub struct JwksSettings {
    /// Lower bound on the cache lifetime taken from Cache-Control / Expires.
    pub min_ttl: Duration,
    /// Upper bound on it: a removed key stops working at most this long after removal.
    pub max_ttl: Duration,
    /// Lifetime when the response carries no caching headers.
    pub default_ttl: Duration,
    /// How long past expiry cached keys keep serving while the IdP cannot be reached.
    pub stale: Duration,
    /// At most one fetch per issuer per this window (unknown-kid floods, retries while down).
    pub cooldown: Duration,
    /// Largest JWKS or discovery body accepted.
    pub max_bytes: usize,
}

/// Outgoing HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// TCP+TLS connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout (connect, headers and body).
    pub timeout: Duration,
    /// PEM file of extra trusted CA certificates (a private CA), used by every outgoing call.
    pub ca_bundle: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    issuers: Option<Vec<RawIssuer>>,
    audiences: Option<Vec<String>>,
    algorithms: Option<Vec<String>>,
    leeway_seconds: Option<f64>,
    required_typ: Option<String>,
    context_claims: Option<Vec<String>>,
    allowed_api_arns: Option<Vec<String>>,
    accept_bare_token: Option<bool>,
    max_token_bytes: Option<usize>,
    #[serde(default)]
    jwks: RawJwks,
    #[serde(default)]
    http: RawHttp,
    routes: Option<Vec<RawRule>>,
    route_sets: Option<HashMap<String, Vec<RawRule>>>,
    token_header: Option<String>,
    token_query_param: Option<String>,
    bind_header: Option<String>,
    bind_claim: Option<String>,
    usage_identifier_claim: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    route: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    claims: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIssuer {
    issuer: String,
    audiences: Option<Vec<String>>,
    jwks_uri: Option<String>,
    algorithms: Option<Vec<String>>,
    token_format: Option<String>,
    introspection: Option<RawIntrospection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntrospection {
    secret_arn: Option<String>,
    endpoint: Option<String>,
    auth: Option<String>,
    token_endpoint: Option<String>,
    scope: Option<String>,
    cache_ttl_seconds: Option<f64>,
    negative_ttl_seconds: Option<f64>,
    max_entries: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawJwks {
    min_ttl_seconds: Option<f64>,
    max_ttl_seconds: Option<f64>,
    default_ttl_seconds: Option<f64>,
    stale_seconds: Option<f64>,
    cooldown_seconds: Option<f64>,
    max_bytes: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    connect_timeout_seconds: Option<f64>,
    timeout_seconds: Option<f64>,
    ca_bundle: Option<String>,
}

#[derive(Clone, Copy)]
enum Kind {
    Json,
    List,
    Number,
    Bool,
    Text,
}

/// Flat variables and the JSON key each one stands for. `AUTHZ_ISSUER` and `AUTHZ_JWKS_URI` are
/// handled apart because they build the `issuers` list.
const FLAT: &[(&str, &[&str], Kind)] = &[
    ("AUTHZ_AUDIENCE", &["audiences"], Kind::List),
    ("AUTHZ_ALGORITHMS", &["algorithms"], Kind::List),
    ("AUTHZ_LEEWAY_SECONDS", &["leeway_seconds"], Kind::Number),
    ("AUTHZ_REQUIRED_TYP", &["required_typ"], Kind::Text),
    ("AUTHZ_CONTEXT_CLAIMS", &["context_claims"], Kind::List),
    ("AUTHZ_ALLOWED_API_ARNS", &["allowed_api_arns"], Kind::List),
    (
        "AUTHZ_ACCEPT_BARE_TOKEN",
        &["accept_bare_token"],
        Kind::Bool,
    ),
    ("AUTHZ_MAX_TOKEN_BYTES", &["max_token_bytes"], Kind::Number),
    (
        "AUTHZ_JWKS_MIN_TTL_SECONDS",
        &["jwks", "min_ttl_seconds"],
        Kind::Number,
    ),
    (
        "AUTHZ_JWKS_MAX_TTL_SECONDS",
        &["jwks", "max_ttl_seconds"],
        Kind::Number,
    ),
    (
        "AUTHZ_JWKS_DEFAULT_TTL_SECONDS",
        &["jwks", "default_ttl_seconds"],
        Kind::Number,
    ),
    (
        "AUTHZ_JWKS_STALE_SECONDS",
        &["jwks", "stale_seconds"],
        Kind::Number,
    ),
    (
        "AUTHZ_JWKS_COOLDOWN_SECONDS",
        &["jwks", "cooldown_seconds"],
        Kind::Number,
    ),
    ("AUTHZ_JWKS_MAX_BYTES", &["jwks", "max_bytes"], Kind::Number),
    (
        "AUTHZ_HTTP_CONNECT_TIMEOUT_SECONDS",
        &["http", "connect_timeout_seconds"],
        Kind::Number,
    ),
    (
        "AUTHZ_HTTP_TIMEOUT_SECONDS",
        &["http", "timeout_seconds"],
        Kind::Number,
    ),
    ("AUTHZ_CA_BUNDLE", &["http", "ca_bundle"], Kind::Text),
    ("AUTHZ_ROUTES", &["routes"], Kind::Json),
    ("AUTHZ_ROUTE_SETS", &["route_sets"], Kind::Json),
    ("AUTHZ_TOKEN_HEADER", &["token_header"], Kind::Text),
    (
        "AUTHZ_TOKEN_QUERY_PARAM",
        &["token_query_param"],
        Kind::Text,
    ),
    ("AUTHZ_BIND_HEADER", &["bind_header"], Kind::Text),
    ("AUTHZ_BIND_CLAIM", &["bind_claim"], Kind::Text),
    (
        "AUTHZ_USAGE_IDENTIFIER_CLAIM",
        &["usage_identifier_claim"],
        Kind::Text,
    ),
];

/// Flat variables that set a key of the one configured issuer.
const ISSUER_FLAT: &[(&str, &[&str], Kind)] = &[
    ("AUTHZ_TOKEN_FORMAT", &["token_format"], Kind::Text),
    (
        "AUTHZ_INTROSPECTION_SECRET_ARN",
        &["introspection", "secret_arn"],
        Kind::Text,
    ),
    (
        "AUTHZ_INTROSPECTION_ENDPOINT",
        &["introspection", "endpoint"],
        Kind::Text,
    ),
    (
        "AUTHZ_INTROSPECTION_AUTH",
        &["introspection", "auth"],
        Kind::Text,
    ),
    (
        "AUTHZ_INTROSPECTION_TOKEN_ENDPOINT",
        &["introspection", "token_endpoint"],
        Kind::Text,
    ),
    (
        "AUTHZ_INTROSPECTION_CACHE_SECONDS",
        &["introspection", "cache_ttl_seconds"],
        Kind::Number,
    ),
    (
        "AUTHZ_INTROSPECTION_NEGATIVE_CACHE_SECONDS",
        &["introspection", "negative_ttl_seconds"],
        Kind::Number,
    ),
];

/// Sets `path` in the single issuer's entry; with several issuers the structured form is needed.
fn apply_issuer_var(
    doc: &mut Map<String, Value>,
    name: &str,
    path: &[&str],
    value: Value,
) -> Result<(), ConfigError> {
    let Some(Value::Array(issuers)) = doc.get_mut("issuers") else {
        return err(format!(
            "{name} is set but no issuer is configured (set AUTHZ_ISSUER)"
        ));
    };
    let [Value::Object(issuer)] = issuers.as_mut_slice() else {
        return err(format!(
            "{name} applies to a single issuer; with several, set it per issuer in AUTHZ_CONFIG"
        ));
    };
    insert_path(issuer, path, value, name, "AUTHZ_CONFIG issuer")
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment in production, a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        // `sources` remembers where each JSON key came from, so later errors name it.
        let mut sources: HashMap<String, String> = HashMap::new();
        let (mut doc, doc_name) = match (get("AUTHZ_CONFIG"), get("AUTHZ_CONFIG_FILE")) {
            (Some(_), Some(_)) => return err("set AUTHZ_CONFIG or AUTHZ_CONFIG_FILE, not both"),
            (Some(text), None) => (parse_doc(&text, "AUTHZ_CONFIG")?, "AUTHZ_CONFIG".to_owned()),
            (None, Some(path)) => {
                let name = format!("AUTHZ_CONFIG_FILE ({path})");
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| ConfigError(format!("{name}: cannot read: {e}")))?;
                (parse_doc(&text, &name)?, name)
            }
            (None, None) => (Map::new(), "AUTHZ_CONFIG".to_owned()),
        };
        for key in doc.keys() {
            sources.insert(key.clone(), format!("{doc_name} key `{key}`"));
        }
        for (name, path, kind) in FLAT {
            let Some(raw) = get(name) else { continue };
            let value = flat_value(name, &raw, *kind)?;
            insert_path(&mut doc, path, value, name, &doc_name)?;
            sources.insert(path.join("."), (*name).to_owned());
            sources.insert(path[0].to_owned(), (*name).to_owned());
        }
        if let Some(raw) = get("AUTHZ_ISSUER") {
            if doc.contains_key("issuers") {
                return err(format!(
                    "AUTHZ_ISSUER and {doc_name} key `issuers` are both set; use one"
                ));
            }
            let issuers: Vec<Value> = split_list(&raw)
                .into_iter()
                .map(|i| serde_json::json!({ "issuer": i }))
                .collect();
            doc.insert("issuers".into(), Value::Array(issuers));
            sources.insert("issuers".into(), "AUTHZ_ISSUER".into());
        }
        if let Some(raw) = get("AUTHZ_JWKS_URI") {
            apply_jwks_uri_var(&mut doc, &raw)?;
        }
        for (name, path, kind) in ISSUER_FLAT {
            if let Some(raw) = get(name) {
                let value = flat_value(name, &raw, *kind)?;
                apply_issuer_var(&mut doc, name, path, value)?;
            }
        }
        let raw: RawConfig = serde_path_to_error::deserialize(Value::Object(doc)).map_err(|e| {
            // Name the variable the faulty key came from (a flat variable or the document).
            let path = e.path().to_string();
            let top = path.split(['.', '[']).next().unwrap_or_default();
            let from = sources
                .get(top)
                .cloned()
                .unwrap_or_else(|| doc_name.clone());
            let why = without_value(&e.inner().to_string());
            ConfigError(format!("{from}: at `{path}`: {why}"))
        })?;
        let src = |key: &str| {
            sources
                .get(key)
                .cloned()
                .unwrap_or_else(|| format!("{doc_name} key `{key}`"))
        };
        build(raw, &src)
    }
}

/// A serde message without the value it quotes (`invalid type: string "…", expected f64` becomes
/// `invalid type: string, expected f64`): a secret put under the wrong key must not reach the
/// cold-start error, which is logged. The key path and the expected type say what is wrong.
fn without_value(message: &str) -> String {
    let quoting = ["invalid type: ", "invalid value: ", "unknown variant "]
        .into_iter()
        .find_map(|prefix| Some((prefix, message.strip_prefix(prefix)?)));
    let Some((prefix, rest)) = quoting else {
        return message.to_owned();
    };
    // The expected part comes last and quotes no input; the value before it may hold anything.
    let (found, expected) = rest
        .rfind(", expected ")
        .map_or((rest, ""), |i| rest.split_at(i));
    // `string "…"`, `integer `5``, `floating point `1.5``, `map`: keep the kind only.
    let kind = found.split(['"', '`']).next().unwrap_or_default().trim();
    if kind.is_empty() {
        format!("{}{expected}", prefix.trim_end())
    } else {
        format!("{prefix}{kind}{expected}")
    }
}

fn parse_doc(text: &str, name: &str) -> Result<Map<String, Value>, ConfigError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => err(format!("{name}: must be a JSON object")),
        Err(e) => err(format!("{name}: invalid JSON: {e}")),
    }
}

/// Splits a comma-separated list, trimming items and dropping empty ones.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn flat_value(name: &str, raw: &str, kind: Kind) -> Result<Value, ConfigError> {
    let raw = raw.trim();
    Ok(match kind {
        Kind::Json => serde_json::from_str(raw)
            .map_err(|e| ConfigError(format!("{name}: invalid JSON: {e}")))?,
        Kind::List => Value::Array(split_list(raw).into_iter().map(Value::String).collect()),
        Kind::Text => Value::String(raw.to_owned()),
        Kind::Bool => match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Value::Bool(true),
            "false" | "0" | "no" => Value::Bool(false),
            // The value itself is never quoted: it could be a secret set in the wrong variable.
            _ => return err(format!("{name}: expected true or false")),
        },
        Kind::Number => {
            let n: f64 = raw
                .parse()
                .ok()
                .filter(|n: &f64| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| ConfigError(format!("{name}: expected a non-negative number")))?;
            if n.fract() == 0.0 && n < 9.0e15 {
                Value::from(n as u64)
            } else {
                Value::from(n)
            }
        }
    })
}

fn insert_path(
    doc: &mut Map<String, Value>,
    path: &[&str],
    value: Value,
    name: &str,
    doc_name: &str,
) -> Result<(), ConfigError> {
    let mut node = doc;
    for key in &path[..path.len() - 1] {
        let entry = node
            .entry((*key).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        node = match entry {
            Value::Object(m) => m,
            _ => return err(format!("{doc_name} key `{key}` must be an object")),
        };
    }
    let last = path[path.len() - 1];
    if node.contains_key(last) {
        return err(format!(
            "{name} and {doc_name} key `{}` are both set; use one",
            path.join(".")
        ));
    }
    node.insert(last.to_owned(), value);
    Ok(())
}

/// `AUTHZ_JWKS_URI` is either one URI (single issuer) or `issuer=uri` pairs, comma-separated.
fn apply_jwks_uri_var(doc: &mut Map<String, Value>, raw: &str) -> Result<(), ConfigError> {
    let Some(Value::Array(issuers)) = doc.get_mut("issuers") else {
        return err("AUTHZ_JWKS_URI is set but no issuer is configured (set AUTHZ_ISSUER)");
    };
    let names: Vec<String> = issuers
        .iter()
        .filter_map(|i| i.get("issuer").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let items = split_list(raw);
    for item in &items {
        let (issuer, uri) = match item.split_once('=') {
            Some((iss, uri)) if names.iter().any(|n| n == iss) => (iss.to_owned(), uri.to_owned()),
            _ if items.len() == 1 && names.len() == 1 => (names[0].clone(), item.clone()),
            _ => {
                return err(format!(
                    "AUTHZ_JWKS_URI: `{item}` is not `issuer=uri` for a configured issuer; \
                     a bare URI is only allowed with a single issuer"
                ));
            }
        };
        for entry in issuers.iter_mut() {
            if entry.get("issuer").and_then(Value::as_str) == Some(issuer.as_str())
                && let Some(obj) = entry.as_object_mut()
            {
                if obj.contains_key("jwks_uri") {
                    return err(format!("AUTHZ_JWKS_URI: two URIs for issuer {issuer}"));
                }
                obj.insert("jwks_uri".into(), Value::String(uri.clone()));
            }
        }
    }
    Ok(())
}

fn seconds(
    value: Option<f64>,
    default: f64,
    max: f64,
    name: &str,
) -> Result<Duration, ConfigError> {
    let v = value.unwrap_or(default);
    if !v.is_finite() || v < 0.0 || v > max {
        return err(format!(
            "{name}: must be between 0 and {max} seconds, got {v}"
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

/// `https://`, or `http://` to a loopback host (local development and tests only).
pub fn check_url(url: &str, name: &str) -> Result<(), ConfigError> {
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return err(format!(
                "{name}: `{url}` must use https:// (http:// is allowed only for loopback hosts)"
            ));
        }
        rest
    } else {
        return err(format!("{name}: `{url}` is not an https:// URL"));
    };
    if rest.is_empty() || rest.starts_with('/') || url.chars().any(char::is_whitespace) {
        return err(format!("{name}: `{url}` has no host"));
    }
    Ok(())
}

fn algorithms(names: &[String], name: &str) -> Result<Vec<Algorithm>, ConfigError> {
    if names.is_empty() {
        return err(format!("{name}: empty algorithm list"));
    }
    names
        .iter()
        .map(|n| {
            SUPPORTED_ALGORITHMS
                .iter()
                .copied()
                .find(|a| format!("{a:?}") == *n)
                .ok_or_else(|| {
                    ConfigError(format!(
                        "{name}: `{n}` is not allowed; choose among {} (never `none` or HMAC)",
                        SUPPORTED_ALGORITHMS.map(|a| format!("{a:?}")).join(", ")
                    ))
                })
        })
        .collect()
}

fn build(raw: RawConfig, src: &dyn Fn(&str) -> String) -> Result<Config, ConfigError> {
    let Some(raw_issuers) = raw.issuers.filter(|i| !i.is_empty()) else {
        return err("AUTHZ_ISSUER is required (or `issuers` in AUTHZ_CONFIG)");
    };
    let default_algs = match &raw.algorithms {
        Some(names) => algorithms(names, &src("algorithms"))?,
        None => SUPPORTED_ALGORITHMS.to_vec(),
    };
    let mut issuers = Vec::with_capacity(raw_issuers.len());
    for (i, ri) in raw_issuers.into_iter().enumerate() {
        let at = format!("{} (issuer #{})", src("issuers"), i + 1);
        check_url(&ri.issuer, &at)?;
        if issuers.iter().any(|x: &IssuerConfig| x.issuer == ri.issuer) {
            return err(format!("{at}: issuer `{}` listed twice", ri.issuer));
        }
        let audiences = match (ri.audiences, &raw.audiences) {
            (Some(a), _) => a,
            (None, Some(a)) => a.clone(),
            (None, None) => {
                return err(format!(
                    "AUTHZ_AUDIENCE is required (no audience for issuer `{}`)",
                    ri.issuer
                ));
            }
        };
        if audiences.is_empty() || audiences.iter().any(|a| a.trim().is_empty()) {
            return err(format!(
                "{}: audiences must be non-empty strings",
                src("audiences")
            ));
        }
        if let Some(uri) = &ri.jwks_uri {
            check_url(uri, "AUTHZ_JWKS_URI")?;
        }
        let algorithms = match ri.algorithms {
            Some(names) => algorithms(&names, &at)?,
            None => default_algs.clone(),
        };
        let introspection = match ri.introspection {
            Some(r) => Some(introspection(r, &at)?),
            None => None,
        };
        let token_format = match (ri.token_format.as_deref(), &introspection) {
            (None, None) | (Some("jwt"), _) => TokenFormat::Jwt,
            (None, Some(_)) | (Some("auto"), Some(_)) => TokenFormat::Auto,
            (Some("opaque"), Some(_)) => TokenFormat::Opaque,
            (Some("auto" | "opaque"), None) => {
                return err(format!(
                    "{at}: token format `{}` needs AUTHZ_INTROSPECTION_SECRET_ARN",
                    ri.token_format.unwrap_or_default()
                ));
            }
            (Some(other), _) => {
                return err(format!(
                    "{at}: token format `{other}` is not jwt, opaque or auto (AUTHZ_TOKEN_FORMAT)"
                ));
            }
        };
        issuers.push(IssuerConfig {
            issuer: ri.issuer,
            audiences,
            jwks_uri: ri.jwks_uri,
            algorithms,
            token_format,
            introspection,
        });
    }
    if issuers
        .iter()
        .filter(|i| i.token_format != TokenFormat::Jwt)
        .count()
        > 1
    {
        return err(format!(
            "{}: at most one issuer may take opaque tokens (an opaque token names no issuer)",
            src("issuers")
        ));
    }
    let max_token_bytes = raw.max_token_bytes.unwrap_or(8192);
    if !(256..=65_536).contains(&max_token_bytes) {
        return err(format!(
            "{}: must be between 256 and 65536",
            src("max_token_bytes")
        ));
    }
    if raw
        .required_typ
        .as_ref()
        .is_some_and(|t| t.trim().is_empty())
    {
        return err(format!("{}: empty", src("required_typ")));
    }
    let context_claims = raw.context_claims.unwrap_or_default();
    if let Some(c) = context_claims
        .iter()
        .find(|c| matches!(c.as_str(), "sub" | "scope" | "client_id" | "iss"))
    {
        return err(format!(
            "{}: `{c}` is always in the context; remove it",
            src("context_claims")
        ));
    }
    let allowed_api_arns = raw.allowed_api_arns.unwrap_or_default();
    for arn in &allowed_api_arns {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6
            || parts[0] != "arn"
            || parts[2] != "execute-api"
            || parts[5].is_empty()
            || arn.contains('*')
        {
            return err(format!(
                "{}: `{arn}` is not `arn:PARTITION:execute-api:REGION:ACCOUNT:API_ID[/STAGE]`",
                src("allowed_api_arns")
            ));
        }
    }
    let j = raw.jwks;
    let jwks = JwksSettings {
        min_ttl: seconds(
            j.min_ttl_seconds,
            60.0,
            86_400.0,
            &src("jwks.min_ttl_seconds"),
        )?,
        max_ttl: seconds(
            j.max_ttl_seconds,
            3_600.0,
            86_400.0,
            &src("jwks.max_ttl_seconds"),
        )?,
        default_ttl: seconds(
            j.default_ttl_seconds,
            600.0,
            86_400.0,
            &src("jwks.default_ttl_seconds"),
        )?,
        stale: seconds(
            j.stale_seconds,
            3_600.0,
            7.0 * 86_400.0,
            &src("jwks.stale_seconds"),
        )?,
        cooldown: seconds(
            j.cooldown_seconds,
            10.0,
            3_600.0,
            &src("jwks.cooldown_seconds"),
        )?,
        max_bytes: j.max_bytes.unwrap_or(150_000),
    };
    if jwks.min_ttl > jwks.max_ttl {
        return err(format!(
            "{} exceeds {}",
            src("jwks.min_ttl_seconds"),
            src("jwks.max_ttl_seconds")
        ));
    }
    if jwks.max_bytes < 1024 {
        return err(format!("{}: at least 1024", src("jwks.max_bytes")));
    }
    if let Some(path) = &raw.http.ca_bundle {
        let pem = std::fs::read(path).map_err(|e| {
            ConfigError(format!(
                "{}: cannot read `{path}`: {e}",
                src("http.ca_bundle")
            ))
        })?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return err(format!(
                "{}: `{path}` holds no PEM certificate",
                src("http.ca_bundle")
            ));
        }
    }
    let http = HttpSettings {
        ca_bundle: raw.http.ca_bundle.clone(),
        connect_timeout: seconds(
            raw.http.connect_timeout_seconds,
            1.0,
            9.0,
            &src("http.connect_timeout_seconds"),
        )?,
        timeout: seconds(
            raw.http.timeout_seconds,
            2.0,
            9.0,
            &src("http.timeout_seconds"),
        )?,
    };
    if http.timeout.is_zero() || http.connect_timeout.is_zero() {
        return err(format!(
            "{}: timeouts must be above 0",
            src("http.timeout_seconds")
        ));
    }
    let routes = match raw.routes {
        Some(rules) => Some(rules_from(rules, &src("routes"))?),
        None => None,
    };
    let mut route_sets = HashMap::new();
    for (name, rules) in raw.route_sets.unwrap_or_default() {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        {
            return err(format!(
                "{}: set name `{name}` must be usable as a stage variable value",
                src("route_sets")
            ));
        }
        let rules = rules_from(rules, &format!("{} set `{name}`", src("route_sets")))?;
        route_sets.insert(name, rules);
    }
    let header_name = |v: String, key: &str| -> Result<String, ConfigError> {
        let v = v.trim().to_ascii_lowercase();
        if v.is_empty()
            || !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        {
            return err(format!("{}: `{v}` is not a header name", src(key)));
        }
        Ok(v)
    };
    let token_header = header_name(
        raw.token_header.unwrap_or_else(|| "authorization".into()),
        "token_header",
    )?;
    let binding = match (raw.bind_header, raw.bind_claim) {
        (Some(h), Some(c)) => Some((header_name(h, "bind_header")?, c)),
        (None, None) => None,
        _ => return err("AUTHZ_BIND_HEADER and AUTHZ_BIND_CLAIM go together: set both or neither"),
    };
    Ok(Config {
        routes,
        route_sets,
        token_header,
        token_query_param: raw.token_query_param.filter(|q| !q.trim().is_empty()),
        binding,
        usage_identifier_claim: raw.usage_identifier_claim,
        issuers,
        leeway: seconds(raw.leeway_seconds, 5.0, 300.0, &src("leeway_seconds"))?,
        required_typ: raw.required_typ,
        context_claims,
        allowed_api_arns,
        accept_bare_token: raw.accept_bare_token.unwrap_or(false),
        max_token_bytes,
        jwks,
        http,
    })
}

fn introspection(r: RawIntrospection, at: &str) -> Result<IntrospectionConfig, ConfigError> {
    let secret_arn = r
        .secret_arn
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            ConfigError(format!(
                "{at}: introspection needs AUTHZ_INTROSPECTION_SECRET_ARN"
            ))
        })?;
    for url in [&r.endpoint, &r.token_endpoint].into_iter().flatten() {
        check_url(
            url,
            "AUTHZ_INTROSPECTION_ENDPOINT / AUTHZ_INTROSPECTION_TOKEN_ENDPOINT",
        )?;
    }
    let auth = match r.auth.as_deref().unwrap_or("client_secret_basic") {
        "client_secret_basic" => ClientAuth::ClientSecretBasic,
        "client_secret_post" => ClientAuth::ClientSecretPost,
        "bearer" => ClientAuth::Bearer,
        // Not quoted: the variable sits next to the secret's, a secret is easily set in it.
        _ => {
            return err(
                "AUTHZ_INTROSPECTION_AUTH: expected client_secret_basic, client_secret_post or bearer",
            );
        }
    };
    let max_entries = r.max_entries.unwrap_or(10_000);
    if !(1..=1_000_000).contains(&max_entries) {
        return err(format!(
            "{at}: introspection.max_entries must be between 1 and 1000000"
        ));
    }
    Ok(IntrospectionConfig {
        secret_arn,
        endpoint: r.endpoint,
        auth,
        token_endpoint: r.token_endpoint,
        scope: r.scope,
        cache_ttl: seconds(
            r.cache_ttl_seconds,
            300.0,
            3_600.0,
            "AUTHZ_INTROSPECTION_CACHE_SECONDS",
        )?,
        negative_ttl: seconds(
            r.negative_ttl_seconds,
            10.0,
            3_600.0,
            "AUTHZ_INTROSPECTION_NEGATIVE_CACHE_SECONDS",
        )?,
        max_entries,
    })
}

fn rules_from(raw: Vec<RawRule>, at: &str) -> Result<Rules, ConfigError> {
    let mut rules: Vec<Rule> = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        let name = format!("{at}: rule #{} (`{}`)", i + 1, r.route);
        let rule = Rule::new(&r.route, r.scopes, r.claims.into_iter().collect())
            .map_err(|e| ConfigError(format!("{name}: {e}")))?;
        if rules.iter().any(|x| x.route == rule.route) {
            return err(format!("{name}: route listed twice"));
        }
        rules.push(rule);
    }
    Ok(Rules(rules))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    fn load_err(vars: &[(&str, &str)]) -> String {
        load(vars).unwrap_err().0
    }

    const BASE: [(&str, &str); 2] = [
        ("AUTHZ_ISSUER", "https://idp.example.com"),
        ("AUTHZ_AUDIENCE", "api"),
    ];

    #[test]
    fn flat_minimal_has_safe_defaults() {
        let c = load(&BASE).unwrap();
        assert_eq!(c.issuers.len(), 1);
        assert_eq!(c.issuers[0].audiences, vec!["api"]);
        assert_eq!(c.issuers[0].algorithms, SUPPORTED_ALGORITHMS.to_vec());
        assert_eq!(c.leeway, Duration::from_secs(5));
        assert!(!c.accept_bare_token);
        assert_eq!(c.jwks.cooldown, Duration::from_secs(10));
        assert_eq!(c.http.timeout, Duration::from_secs(2));
        assert!(c.issuers[0].jwks_uri.is_none());
    }

    #[test]
    fn missing_required_values_name_the_variable() {
        assert!(load_err(&[]).contains("AUTHZ_ISSUER"));
        assert!(
            load_err(&[("AUTHZ_ISSUER", "https://idp.example.com")]).contains("AUTHZ_AUDIENCE")
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let with = |k: &'static str, v: &'static str| {
            let mut vars = BASE.to_vec();
            vars.push((k, v));
            load_err(&vars)
        };
        assert!(with("AUTHZ_ALGORITHMS", "HS256").contains("AUTHZ_ALGORITHMS"));
        assert!(with("AUTHZ_ALGORITHMS", "none").contains("never `none`"));
        assert!(with("AUTHZ_LEEWAY_SECONDS", "abc").contains("AUTHZ_LEEWAY_SECONDS"));
        assert!(with("AUTHZ_LEEWAY_SECONDS", "100000").contains("AUTHZ_LEEWAY_SECONDS"));
        assert!(with("AUTHZ_ACCEPT_BARE_TOKEN", "maybe").contains("AUTHZ_ACCEPT_BARE_TOKEN"));
        assert!(with("AUTHZ_HTTP_TIMEOUT_SECONDS", "30").contains("AUTHZ_HTTP_TIMEOUT_SECONDS"));
        assert!(
            with("AUTHZ_ALLOWED_API_ARNS", "arn:aws:s3:::bucket")
                .contains("AUTHZ_ALLOWED_API_ARNS")
        );
        assert!(with("AUTHZ_CONTEXT_CLAIMS", "sub").contains("AUTHZ_CONTEXT_CLAIMS"));
        assert!(with("AUTHZ_JWKS_URI", "http://keys.example.com/jwks").contains("AUTHZ_JWKS_URI"));
        assert!(
            load_err(&[
                ("AUTHZ_ISSUER", "http://idp.example.com"),
                ("AUTHZ_AUDIENCE", "a")
            ])
            .contains("https")
        );
    }

    #[test]
    fn http_allowed_only_on_loopback() {
        let c = load(&[
            ("AUTHZ_ISSUER", "http://127.0.0.1:8080"),
            ("AUTHZ_AUDIENCE", "a"),
        ])
        .unwrap();
        assert_eq!(c.issuers[0].issuer, "http://127.0.0.1:8080");
        assert!(check_url("http://127.0.0.1.evil.com/x", "X").is_err());
        assert!(check_url("http://localhost", "X").is_ok());
    }

    #[test]
    fn multi_issuer_and_jwks_pairs() {
        let c = load(&[
            (
                "AUTHZ_ISSUER",
                "https://a.example.com, https://b.example.com",
            ),
            ("AUTHZ_AUDIENCE", "api1,api2"),
            (
                "AUTHZ_JWKS_URI",
                "https://b.example.com=https://keys.example.com/b.json",
            ),
            ("AUTHZ_ALGORITHMS", "RS256,ES256"),
        ])
        .unwrap();
        assert_eq!(c.issuers.len(), 2);
        assert_eq!(c.issuers[0].jwks_uri, None);
        assert_eq!(
            c.issuers[1].jwks_uri.as_deref(),
            Some("https://keys.example.com/b.json")
        );
        assert_eq!(
            c.issuers[1].algorithms,
            vec![Algorithm::RS256, Algorithm::ES256]
        );
        assert_eq!(c.issuers[1].audiences, vec!["api1", "api2"]);
    }

    #[test]
    fn bare_jwks_uri_with_query_for_single_issuer() {
        let mut vars = BASE.to_vec();
        vars.push(("AUTHZ_JWKS_URI", "https://keys.example.com/k?appid=1"));
        let c = load(&vars).unwrap();
        assert_eq!(
            c.issuers[0].jwks_uri.as_deref(),
            Some("https://keys.example.com/k?appid=1")
        );
        let e = load_err(&[
            (
                "AUTHZ_ISSUER",
                "https://a.example.com,https://b.example.com",
            ),
            ("AUTHZ_AUDIENCE", "x"),
            ("AUTHZ_JWKS_URI", "https://keys.example.com/k"),
        ]);
        assert!(e.contains("AUTHZ_JWKS_URI"), "{e}");
    }

    #[test]
    fn structured_form_with_per_issuer_settings() {
        let doc = r#"{"issuers":[{"issuer":"https://a.example.com","audiences":["x"],"algorithms":["ES256"]},
                                 {"issuer":"https://b.example.com"}],
                      "audiences":["default"], "jwks":{"cooldown_seconds":0.5}, "context_claims":["email"]}"#;
        let c = load(&[("AUTHZ_CONFIG", doc)]).unwrap();
        assert_eq!(c.issuers[0].audiences, vec!["x"]);
        assert_eq!(c.issuers[0].algorithms, vec![Algorithm::ES256]);
        assert_eq!(c.issuers[1].audiences, vec!["default"]);
        assert_eq!(c.jwks.cooldown, Duration::from_millis(500));
        assert_eq!(c.context_claims, vec!["email"]);
    }

    #[test]
    fn structured_errors_name_the_key() {
        let e = load_err(&[(
            "AUTHZ_CONFIG",
            r#"{"issuers":[{"issuer":"https://a.example.com","audience":["x"]}]}"#,
        )]);
        assert!(e.contains("AUTHZ_CONFIG") && e.contains("audience"), "{e}");
        let e = load_err(&[(
            "AUTHZ_CONFIG",
            r#"{"issuers":[],"jwks":{"max_bytes":"big"}}"#,
        )]);
        assert!(e.contains("jwks.max_bytes"), "{e}");
        assert!(load_err(&[("AUTHZ_CONFIG", "[1]")]).contains("JSON object"));
        assert!(load_err(&[("AUTHZ_CONFIG", "{")]).contains("invalid JSON"));
    }

    #[test]
    fn errors_name_the_place_but_never_quote_the_value() {
        let secret = r#"s3cret, expected "x" `y`"#;
        let doc = |key: &str| {
            let mut doc = serde_json::json!({"issuers": [{"issuer": "https://a.example.com"}],
                                             "audiences": ["x"]});
            doc[key] = Value::from(secret);
            doc.to_string()
        };
        let with = |name: &str, value: &str| {
            let mut vars = BASE.to_vec();
            vars.push((name, value));
            load_err(&vars)
        };
        for (e, place, expected) in [
            (
                load_err(&[("AUTHZ_CONFIG", &doc("leeway_seconds"))]),
                "AUTHZ_CONFIG key `leeway_seconds`",
                "invalid type: string, expected f64",
            ),
            (
                load_err(&[("AUTHZ_CONFIG", &doc("audiences"))]),
                "`audiences`",
                "invalid type: string, expected a sequence",
            ),
            (
                with("AUTHZ_LEEWAY_SECONDS", secret),
                "AUTHZ_LEEWAY_SECONDS",
                "non-negative number",
            ),
            (
                with("AUTHZ_ACCEPT_BARE_TOKEN", secret),
                "AUTHZ_ACCEPT_BARE_TOKEN",
                "true or false",
            ),
            (
                with(
                    "AUTHZ_ROUTES",
                    &format!("[{{\"route\": 5, \"x\": {:?}}}]", secret),
                ),
                "AUTHZ_ROUTES",
                "routes[0]",
            ),
        ] {
            assert!(e.contains(place) && e.contains(expected), "{e}");
            assert!(!e.contains("s3cret"), "{e}");
        }
        assert_eq!(
            without_value("invalid value: integer `-1`, expected usize"),
            "invalid value: integer, expected usize"
        );
        assert_eq!(
            without_value("unknown variant `s3cret`, expected one of `a`, `b`"),
            "unknown variant, expected one of `a`, `b`"
        );
        assert_eq!(
            without_value("missing field `issuer`"),
            "missing field `issuer`"
        );
    }

    #[test]
    fn setting_a_key_twice_is_an_error() {
        let e = load_err(&[
            (
                "AUTHZ_CONFIG",
                r#"{"issuers":[{"issuer":"https://a.example.com"}],"audiences":["x"]}"#,
            ),
            ("AUTHZ_AUDIENCE", "y"),
        ]);
        assert!(
            e.contains("AUTHZ_AUDIENCE") && e.contains("both set"),
            "{e}"
        );
        let e = load_err(&[
            (
                "AUTHZ_CONFIG",
                r#"{"issuers":[{"issuer":"https://a.example.com"}],"audiences":["x"]}"#,
            ),
            ("AUTHZ_ISSUER", "https://b.example.com"),
        ]);
        assert!(e.contains("AUTHZ_ISSUER"), "{e}");
    }

    #[test]
    fn route_rules_are_validated_naming_the_rule() {
        let mut vars = BASE.to_vec();
        vars.push(("AUTHZ_ROUTES", r#"[{"route":"GET /planets","scopes":["silver","gold"]},{"route":"ANY /pets/{petId}","claims":{"groups":"admins"}}]"#));
        let c = load(&vars).unwrap();
        assert_eq!(c.routes.as_ref().unwrap().0.len(), 2);
        for (bad, want) in [
            (r#"[{"route":"GET planets"}]"#, "rule #1 (`GET planets`)"),
            (
                r#"[{"route":"GET /a"},{"route":"FETCH /b"}]"#,
                "rule #2 (`FETCH /b`)",
            ),
            (r#"[{"route":"GET /{proxy+}/x"}]"#, "greedy"),
            (r#"[{"route":"GET /a"},{"route":"GET /a"}]"#, "twice"),
            (r#"[{"route":"GET /a","scope":["x"]}]"#, "unknown field"),
            (
                r#"[{"route":"GET /a","claims":{"groups":["a"]}}]"#,
                "string, number or boolean",
            ),
            (r#"{"route":"GET /a"}"#, "AUTHZ_ROUTES: at `routes`"),
            ("[", "AUTHZ_ROUTES: invalid JSON"),
        ] {
            let mut vars = BASE.to_vec();
            vars.push(("AUTHZ_ROUTES", bad));
            let e = load_err(&vars);
            assert!(e.contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn request_options() {
        let mut vars = BASE.to_vec();
        vars.extend([
            ("AUTHZ_TOKEN_HEADER", "X-Api-Token"),
            ("AUTHZ_TOKEN_QUERY_PARAM", "access_token"),
            ("AUTHZ_BIND_HEADER", "X-Tenant-Id"),
            ("AUTHZ_BIND_CLAIM", "tenant"),
            (
                "AUTHZ_ROUTE_SETS",
                r#"{"strict":[{"route":"GET /a","scopes":["admin"]}]}"#,
            ),
        ]);
        let c = load(&vars).unwrap();
        assert_eq!(c.token_header, "x-api-token");
        assert_eq!(c.token_query_param.as_deref(), Some("access_token"));
        assert_eq!(c.binding, Some(("x-tenant-id".into(), "tenant".into())));
        assert!(c.route_sets.contains_key("strict"));
        let mut vars = BASE.to_vec();
        vars.push(("AUTHZ_BIND_HEADER", "x-tenant-id"));
        assert!(load_err(&vars).contains("AUTHZ_BIND_CLAIM"));
        let mut vars = BASE.to_vec();
        vars.push(("AUTHZ_ROUTE_SETS", r#"{"bad name":[]}"#));
        assert!(load_err(&vars).contains("AUTHZ_ROUTE_SETS"));
    }

    #[test]
    fn introspection_settings() {
        let mut vars = BASE.to_vec();
        vars.push((
            "AUTHZ_INTROSPECTION_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:1:secret:intro",
        ));
        let c = load(&vars).unwrap();
        assert_eq!(
            c.issuers[0].token_format,
            TokenFormat::Auto,
            "auto by default with a secret"
        );
        let i = c.issuers[0].introspection.as_ref().unwrap();
        assert_eq!(i.auth, ClientAuth::ClientSecretBasic);
        assert_eq!(i.cache_ttl, Duration::from_secs(300));
        vars.extend([
            ("AUTHZ_TOKEN_FORMAT", "opaque"),
            ("AUTHZ_INTROSPECTION_AUTH", "bearer"),
        ]);
        let c = load(&vars).unwrap();
        assert_eq!(c.issuers[0].token_format, TokenFormat::Opaque);
        assert_eq!(
            c.issuers[0].introspection.as_ref().unwrap().auth,
            ClientAuth::Bearer
        );
        let mut vars = BASE.to_vec();
        vars.push(("AUTHZ_TOKEN_FORMAT", "opaque"));
        assert!(load_err(&vars).contains("AUTHZ_INTROSPECTION_SECRET_ARN"));
        let mut vars = BASE.to_vec();
        vars.extend([
            ("AUTHZ_INTROSPECTION_SECRET_ARN", "s"),
            ("AUTHZ_INTROSPECTION_AUTH", "mtls"),
        ]);
        assert!(load_err(&vars).contains("AUTHZ_INTROSPECTION_AUTH"));
        let e = load_err(&[
            (
                "AUTHZ_ISSUER",
                "https://a.example.com,https://b.example.com",
            ),
            ("AUTHZ_AUDIENCE", "x"),
            ("AUTHZ_INTROSPECTION_SECRET_ARN", "s"),
        ]);
        assert!(
            e.contains("AUTHZ_INTROSPECTION_SECRET_ARN") && e.contains("single issuer"),
            "{e}"
        );
        let two = r#"{"audiences":["x"],"issuers":[
            {"issuer":"https://a.example.com","introspection":{"secret_arn":"s"}},
            {"issuer":"https://b.example.com","token_format":"opaque","introspection":{"secret_arn":"t"}}]}"#;
        assert!(load_err(&[("AUTHZ_CONFIG", two)]).contains("at most one issuer"));
    }

    #[test]
    fn ca_bundle_must_be_a_readable_pem() {
        let mut vars = BASE.to_vec();
        vars.push(("AUTHZ_CA_BUNDLE", "/nonexistent/ca.pem"));
        assert!(load_err(&vars).contains("AUTHZ_CA_BUNDLE"));
        let path = std::env::temp_dir().join(format!("authz-ca-{}", std::process::id()));
        std::fs::write(&path, "not a certificate").unwrap();
        let mut vars = BASE.to_vec();
        vars.push(("AUTHZ_CA_BUNDLE", path.to_str().unwrap()));
        assert!(load_err(&vars).contains("no PEM certificate"));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn config_file_is_read() {
        let dir = std::env::temp_dir().join(format!("authz-config-{}", std::process::id()));
        std::fs::write(
            &dir,
            r#"{"issuers":[{"issuer":"https://a.example.com","audiences":["x"]}]}"#,
        )
        .unwrap();
        let c = load(&[("AUTHZ_CONFIG_FILE", dir.to_str().unwrap())]).unwrap();
        assert_eq!(c.issuers[0].issuer, "https://a.example.com");
        std::fs::remove_file(&dir).unwrap();
        assert!(
            load_err(&[("AUTHZ_CONFIG_FILE", "/nonexistent/x.json")]).contains("AUTHZ_CONFIG_FILE")
        );
    }
}
