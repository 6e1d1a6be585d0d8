//! Configuration: the only module that knows about environment variables.
//!
//! One schema, two spellings. The structured form is a JSON document in `AUTHZ_CONFIG` (or a file
//! named by `AUTHZ_CONFIG_FILE`); every flat `AUTHZ_*` variable is a shorthand for one key of that
//! document. Setting a key both ways is an error, so there is never a question of which wins.
//! Every error names the variable (or the JSON key) at fault, and never quotes a value.
//!
//! - [`settings`]: the settings table ([`SETTINGS`]): variable, key, kind, default, bounds, doc;
//! - `env`: flat variables merged into the document, by the table; secret-safe serde errors;
//! - `build`: the document's schema and its validation into a [`Config`].

mod build;
mod env;
mod identity;
mod settings;

use std::{collections::HashMap, time::Duration};

use jsonwebtoken::Algorithm;

pub use crate::error::ConfigError;
use crate::{
    alg::SUPPORTED_ALGORITHMS,
    event::{Binding, split_list},
    http::{CaBundle, HttpSettings},
    introspect::{ClientAuth, IntrospectionConfig},
    keys::JwksSettings,
    policy::Rules,
    verifier::{IssuerConfig, TokenFormat},
};

pub use identity::{AuthorizerKind, CacheKey};
pub use settings::{Bounds, DOCUMENT_ONLY_SETTINGS, Kind, SETTINGS, Setting};

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

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
    /// Identity binding: a request header must equal a claim, else 403.
    pub binding: Option<Binding>,
    /// Claim whose value becomes `usageIdentifierKey` (REST usage plans, API key source AUTHORIZER).
    pub usage_identifier_claim: Option<String>,
}

impl CaBundle {
    /// Reads the PEM file at `path`; an error names `AUTHZ_CA_BUNDLE`.
    pub fn read(path: impl Into<String>) -> Result<CaBundle, ConfigError> {
        CaBundle::load(path.into(), settings::CA_BUNDLE.variable)
    }

    /// Reads the PEM file at `path`, which must hold at least one certificate; errors name `name`.
    fn load(path: String, name: &str) -> Result<CaBundle, ConfigError> {
        let pem = std::fs::read(&path)
            .map_err(|e| ConfigError(format!("{name}: cannot read `{path}`: {e}")))?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return err(format!("{name}: `{path}` holds no PEM certificate"));
        }
        Ok(CaBundle { path, pem })
    }
}

impl ClientAuth {
    /// Every client authentication, in the order documented.
    pub const ALL: [ClientAuth; 3] = [
        ClientAuth::ClientSecretBasic,
        ClientAuth::ClientSecretPost,
        ClientAuth::Bearer,
    ];

    /// Its name in the configuration (`client_secret_basic`, …).
    pub const fn name(self) -> &'static str {
        match self {
            ClientAuth::ClientSecretBasic => "client_secret_basic",
            ClientAuth::ClientSecretPost => "client_secret_post",
            ClientAuth::Bearer => "bearer",
        }
    }
}

impl Config {
    /// Reads the process environment. An `AUTHZ_*` variable that is not a setting fails, naming
    /// the closest one (a typo must not turn a setting off).
    pub fn from_env() -> Result<Config, ConfigError> {
        let names: Vec<String> = std::env::vars_os()
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        env::check_names(names.iter().map(String::as_str))?;
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment in production, a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        // Set but blank is refused, not read as unset: `AUTHZ_ROUTES=" "` would mean "no rules".
        if let Some(s) = SETTINGS
            .iter()
            .find(|s| lookup(s.variable).is_some_and(|v| v.trim().is_empty()))
        {
            return err(format!(
                "{} is set but empty; give it a value or unset it",
                s.variable
            ));
        }
        build::config(&env::merge(&lookup)?)
    }
}

/// Typed construction, for tests and tools: every default is the named constant the environment
/// path applies (see [`settings`]), so `Config::new(vec![IssuerConfig::new(iss, ["api"])])`
/// equals what `AUTHZ_ISSUER=iss AUTHZ_AUDIENCE=api` gives. Unlike [`Config::from_lookup`],
/// nothing here is validated (URLs, bounds): use the environment path for untrusted input.
impl Config {
    /// A configuration accepting `issuers`, with every other setting at its default.
    pub fn new(issuers: Vec<IssuerConfig>) -> Config {
        Config {
            issuers,
            leeway: Duration::from_secs(settings::DEFAULT_LEEWAY_SECONDS),
            required_typ: None,
            context_claims: Vec::new(),
            allowed_api_arns: Vec::new(),
            accept_bare_token: settings::DEFAULT_ACCEPT_BARE_TOKEN,
            max_token_bytes: settings::DEFAULT_MAX_TOKEN_BYTES,
            jwks: JwksSettings::default(),
            http: HttpSettings::default(),
            routes: None,
            route_sets: HashMap::new(),
            token_header: settings::DEFAULT_TOKEN_HEADER.to_owned(),
            token_query_param: None,
            binding: None,
            usage_identifier_claim: None,
        }
    }

    /// Sets the clock-skew allowance (`AUTHZ_LEEWAY_SECONDS`).
    pub fn with_leeway(mut self, leeway: Duration) -> Config {
        self.leeway = leeway;
        self
    }

    /// Requires the header `typ` (`AUTHZ_REQUIRED_TYP`).
    pub fn with_required_typ(mut self, typ: impl Into<String>) -> Config {
        self.required_typ = Some(typ.into());
        self
    }

    /// Extra claims copied into the authorizer context (`AUTHZ_CONTEXT_CLAIMS`).
    pub fn with_context_claims(mut self, claims: impl IntoIterator<Item: Into<String>>) -> Config {
        self.context_claims = claims.into_iter().map(Into::into).collect();
        self
    }

    /// Only these APIs may be granted (`AUTHZ_ALLOWED_API_ARNS`).
    pub fn with_allowed_api_arns(mut self, arns: impl IntoIterator<Item: Into<String>>) -> Config {
        self.allowed_api_arns = arns.into_iter().map(Into::into).collect();
        self
    }

    /// Accepts a token without the `Bearer ` scheme (`AUTHZ_ACCEPT_BARE_TOKEN`).
    pub fn with_accept_bare_token(mut self, accept: bool) -> Config {
        self.accept_bare_token = accept;
        self
    }

    /// Sets the largest token accepted (`AUTHZ_MAX_TOKEN_BYTES`).
    pub fn with_max_token_bytes(mut self, max: usize) -> Config {
        self.max_token_bytes = max;
        self
    }

    /// Sets the JWKS cache bounds (`AUTHZ_JWKS_*`); start from [`JwksSettings::default`].
    pub fn with_jwks(mut self, jwks: JwksSettings) -> Config {
        self.jwks = jwks;
        self
    }

    /// Sets the outgoing HTTP settings (`AUTHZ_HTTP_*`, `AUTHZ_CA_BUNDLE`); start from
    /// [`HttpSettings::default`].
    pub fn with_http(mut self, http: HttpSettings) -> Config {
        self.http = http;
        self
    }

    /// Sets the route rules (`AUTHZ_ROUTES`).
    pub fn with_routes(mut self, routes: Rules) -> Config {
        self.routes = Some(routes);
        self
    }

    /// Adds a named rule set (`AUTHZ_ROUTE_SETS`).
    pub fn with_route_set(mut self, name: impl Into<String>, rules: Rules) -> Config {
        self.route_sets.insert(name.into(), rules);
        self
    }

    /// Sets the header carrying the token (`AUTHZ_TOKEN_HEADER`), lower-cased.
    pub fn with_token_header(mut self, header: &str) -> Config {
        self.token_header = header.to_ascii_lowercase();
        self
    }

    /// Also accepts the token in this query parameter (`AUTHZ_TOKEN_QUERY_PARAM`).
    pub fn with_token_query_param(mut self, param: impl Into<String>) -> Config {
        self.token_query_param = Some(param.into());
        self
    }

    /// Identity binding: `header` (lower-cased) must equal `claim` (`AUTHZ_BIND_*`).
    pub fn with_binding(mut self, header: &str, claim: impl Into<String>) -> Config {
        self.binding = Some(Binding {
            header: header.to_ascii_lowercase(),
            claim: claim.into(),
        });
        self
    }

    /// The claim whose value becomes `usageIdentifierKey` (`AUTHZ_USAGE_IDENTIFIER_CLAIM`).
    pub fn with_usage_identifier_claim(mut self, claim: impl Into<String>) -> Config {
        self.usage_identifier_claim = Some(claim.into());
        self
    }
}

impl IssuerConfig {
    /// An issuer whose tokens must carry one of `audiences`: keys by OIDC discovery, every
    /// supported algorithm, JWTs only.
    pub fn new(
        issuer: impl Into<String>,
        audiences: impl IntoIterator<Item: Into<String>>,
    ) -> IssuerConfig {
        IssuerConfig {
            issuer: issuer.into(),
            audiences: audiences.into_iter().map(Into::into).collect(),
            client_ids: Vec::new(),
            tenant: None,
            scope_claims: crate::claims::DEFAULT_SCOPE_CLAIMS
                .map(str::to_owned)
                .to_vec(),
            accept_id_tokens: settings::DEFAULT_ACCEPT_ID_TOKENS,
            jwks_uri: None,
            algorithms: SUPPORTED_ALGORITHMS.to_vec(),
            token_format: TokenFormat::Jwt,
            introspection: None,
        }
    }

    /// Accepts only tokens issued to these clients (`AUTHZ_CLIENT_ID`); with no audiences,
    /// `aud` is then not checked.
    pub fn with_client_ids(mut self, ids: impl IntoIterator<Item: Into<String>>) -> IssuerConfig {
        self.client_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Requires `tid` to equal `tenant` (what `AUTHZ_TENANTS` does for each expanded issuer).
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> IssuerConfig {
        self.tenant = Some(tenant.into());
        self
    }

    /// Takes the scopes from these claims (`AUTHZ_SCOPE_CLAIMS`).
    pub fn with_scope_claims(
        mut self,
        claims: impl IntoIterator<Item: Into<String>>,
    ) -> IssuerConfig {
        self.scope_claims = claims.into_iter().map(Into::into).collect();
        self
    }

    /// Also accepts OIDC ID tokens (`AUTHZ_ACCEPT_ID_TOKENS`; a downgrade).
    pub fn with_accept_id_tokens(mut self, accept: bool) -> IssuerConfig {
        self.accept_id_tokens = accept;
        self
    }

    /// Takes the keys from this JWKS URI instead of discovery (`AUTHZ_JWKS_URI`).
    pub fn with_jwks_uri(mut self, uri: impl Into<String>) -> IssuerConfig {
        self.jwks_uri = Some(uri.into());
        self
    }

    /// Accepts only these algorithms (`AUTHZ_ALGORITHMS`).
    pub fn with_algorithms(mut self, algorithms: impl Into<Vec<Algorithm>>) -> IssuerConfig {
        self.algorithms = algorithms.into();
        self
    }

    /// Introspects opaque tokens; like the environment path, the token format becomes
    /// [`TokenFormat::Auto`] (call [`with_token_format`](Self::with_token_format) after to
    /// change it).
    pub fn with_introspection(mut self, introspection: IntrospectionConfig) -> IssuerConfig {
        self.introspection = Some(introspection);
        self.token_format = TokenFormat::Auto;
        self
    }

    /// Sets the token format (`AUTHZ_TOKEN_FORMAT`); `Opaque` and `Auto` need introspection.
    pub fn with_token_format(mut self, format: TokenFormat) -> IssuerConfig {
        self.token_format = format;
        self
    }
}

impl IntrospectionConfig {
    /// Introspection with the client credentials in `secret_arn`, everything else at its
    /// default (endpoints from discovery, `client_secret_basic`).
    pub fn new(secret_arn: impl Into<String>) -> IntrospectionConfig {
        IntrospectionConfig {
            secret_arn: secret_arn.into(),
            endpoint: None,
            auth: settings::DEFAULT_INTROSPECTION_AUTH,
            token_endpoint: None,
            scope: None,
            cache_ttl: Duration::from_secs(settings::DEFAULT_INTROSPECTION_CACHE_SECONDS),
            negative_ttl: Duration::from_secs(
                settings::DEFAULT_INTROSPECTION_NEGATIVE_CACHE_SECONDS,
            ),
            max_entries: settings::DEFAULT_INTROSPECTION_MAX_ENTRIES,
        }
    }
}

impl Default for JwksSettings {
    /// The defaults of `AUTHZ_JWKS_*`.
    fn default() -> JwksSettings {
        JwksSettings {
            min_ttl: Duration::from_secs(settings::DEFAULT_JWKS_MIN_TTL_SECONDS),
            max_ttl: Duration::from_secs(settings::DEFAULT_JWKS_MAX_TTL_SECONDS),
            default_ttl: Duration::from_secs(settings::DEFAULT_JWKS_DEFAULT_TTL_SECONDS),
            stale: Duration::from_secs(settings::DEFAULT_JWKS_STALE_SECONDS),
            cooldown: Duration::from_secs(settings::DEFAULT_JWKS_COOLDOWN_SECONDS),
            max_bytes: settings::DEFAULT_JWKS_MAX_BYTES,
        }
    }
}

impl Default for HttpSettings {
    /// The defaults of `AUTHZ_HTTP_*`; no extra CA.
    fn default() -> HttpSettings {
        HttpSettings {
            connect_timeout: Duration::from_secs(settings::DEFAULT_HTTP_CONNECT_TIMEOUT_SECONDS),
            timeout: Duration::from_secs(settings::DEFAULT_HTTP_TIMEOUT_SECONDS),
            ca_bundle: None,
            roots: settings::DEFAULT_TLS_ROOTS,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::env::without_value;
    use super::*;
    use crate::http::TlsRoots;
    use serde_json::Value;

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
    fn typed_constructors_give_what_the_environment_gives() {
        let from_env = load(&BASE).unwrap();
        let typed = Config::new(vec![IssuerConfig::new("https://idp.example.com", ["api"])]);
        assert_eq!(format!("{typed:?}"), format!("{from_env:?}"));
        let mut vars = BASE.to_vec();
        vars.extend([
            ("AUTHZ_INTROSPECTION_SECRET_ARN", "arn:x"),
            ("AUTHZ_JWKS_URI", "https://keys.example.com/k"),
            ("AUTHZ_ALGORITHMS", "ES256"),
            ("AUTHZ_LEEWAY_SECONDS", "0"),
            ("AUTHZ_JWKS_COOLDOWN_SECONDS", "0.3"),
            ("AUTHZ_HTTP_TIMEOUT_SECONDS", "0.5"),
            ("AUTHZ_REQUIRED_TYP", "at+jwt"),
            ("AUTHZ_CONTEXT_CLAIMS", "email"),
            ("AUTHZ_TOKEN_HEADER", "X-Token"),
            ("AUTHZ_BIND_HEADER", "X-Tenant"),
            ("AUTHZ_BIND_CLAIM", "tenant"),
            ("AUTHZ_USAGE_IDENTIFIER_CLAIM", "plan"),
        ]);
        let from_env = load(&vars).unwrap();
        let issuer = IssuerConfig::new("https://idp.example.com", ["api"])
            .with_introspection(IntrospectionConfig::new("arn:x"))
            .with_jwks_uri("https://keys.example.com/k")
            .with_algorithms([Algorithm::ES256]);
        let typed = Config::new(vec![issuer])
            .with_leeway(Duration::ZERO)
            .with_jwks(JwksSettings {
                cooldown: Duration::from_millis(300),
                ..JwksSettings::default()
            })
            .with_http(HttpSettings {
                timeout: Duration::from_millis(500),
                ..HttpSettings::default()
            })
            .with_required_typ("at+jwt")
            .with_context_claims(["email"])
            .with_token_header("X-Token")
            .with_binding("X-Tenant", "tenant")
            .with_usage_identifier_claim("plan");
        assert_eq!(format!("{typed:?}"), format!("{from_env:?}"));
    }

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
        assert!(crate::http::check_url("http://127.0.0.1.evil.com/x", "X").is_err());
        assert!(crate::http::check_url("http://localhost", "X").is_ok());
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
        assert_eq!(
            c.binding,
            Some(Binding {
                header: "x-tenant-id".into(),
                claim: "tenant".into()
            })
        );
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
    fn tls_roots_are_builtin_by_default_and_only_builtin_or_system() {
        assert_eq!(load(&BASE).unwrap().http.roots, TlsRoots::Builtin);
        for (value, roots) in [("builtin", TlsRoots::Builtin), ("system", TlsRoots::System)] {
            let mut vars = BASE.to_vec();
            vars.push(("AUTHZ_TLS_ROOTS", value));
            assert_eq!(load(&vars).unwrap().http.roots, roots);
        }
        for bad in ["System", "none", "webpki"] {
            let mut vars = BASE.to_vec();
            vars.push(("AUTHZ_TLS_ROOTS", bad));
            let e = load_err(&vars);
            assert!(e.contains("AUTHZ_TLS_ROOTS") && e.contains(bad), "{e}");
        }
        let e = load_err(&[(
            "AUTHZ_CONFIG",
            r#"{"issuers":[{"issuer":"https://idp.example.com","audiences":["a"]}],"http":{"tls_roots":"any"}}"#,
        )]);
        assert!(e.contains("http.tls_roots"), "{e}");
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
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        std::fs::write(&path, pem).unwrap();
        let c = load(&vars).unwrap();
        std::fs::remove_file(&path).unwrap();
        // Read once, at load: the bytes travel with the configuration.
        let bundle = c.http.ca_bundle.unwrap();
        assert_eq!(bundle.pem, pem.as_bytes());
        assert_eq!(bundle.path, path.to_str().unwrap());
        assert_eq!(format!("{bundle:?}").matches("MIIB").count(), 0);
        assert!(
            CaBundle::read("/nonexistent/ca.pem")
                .unwrap_err()
                .0
                .contains("AUTHZ_CA_BUNDLE")
        );
    }

    #[test]
    fn client_ids_replace_or_add_to_the_audience() {
        let iss = (
            "AUTHZ_ISSUER",
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ab",
        );
        let c = load(&[iss, ("AUTHZ_CLIENT_ID", "app1, app2")]).unwrap();
        assert_eq!(c.issuers[0].client_ids, vec!["app1", "app2"]);
        assert!(c.issuers[0].audiences.is_empty());
        let c = load(&[iss, ("AUTHZ_CLIENT_ID", "app1"), ("AUTHZ_AUDIENCE", "api")]).unwrap();
        assert_eq!(c.issuers[0].audiences, vec!["api"]);
        let e = load_err(&[iss]);
        assert!(e.contains("AUTHZ_AUDIENCE or AUTHZ_CLIENT_ID"), "{e}");
        let doc = r#"{"issuers":[{"issuer":"https://a.example.com","client_ids":["x"]},
                                 {"issuer":"https://b.example.com","audiences":["y"]}]}"#;
        let c = load(&[("AUTHZ_CONFIG", doc)]).unwrap();
        assert_eq!(c.issuers[0].client_ids, vec!["x"]);
        assert!(c.issuers[1].client_ids.is_empty());
        let typed = IssuerConfig::new(iss.1, Vec::<String>::new()).with_client_ids(["app1"]);
        let from_env = load(&[iss, ("AUTHZ_CLIENT_ID", "app1")]).unwrap();
        assert_eq!(format!("{:?}", from_env.issuers[0]), format!("{typed:?}"));
    }

    #[test]
    fn token_kind_and_scope_claims() {
        let c = load(&BASE).unwrap();
        assert!(!c.issuers[0].accept_id_tokens);
        assert_eq!(c.issuers[0].scope_claims, vec!["scope", "scp"]);
        let mut vars = BASE.to_vec();
        vars.extend([
            ("AUTHZ_ACCEPT_ID_TOKENS", "true"),
            (
                "AUTHZ_SCOPE_CLAIMS",
                "scope,permissions,/realm_access/roles",
            ),
        ]);
        let c = load(&vars).unwrap();
        assert!(c.issuers[0].accept_id_tokens);
        assert_eq!(
            c.issuers[0].scope_claims,
            vec!["scope", "permissions", "/realm_access/roles"]
        );
        for (name, value) in [
            ("AUTHZ_SCOPE_CLAIMS", "/a~2"),
            ("AUTHZ_CONTEXT_CLAIMS", "/realm_access/roles~"),
            (
                "AUTHZ_ROUTES",
                r#"[{"route":"GET /a","claims":{"/x~9":"y"}}]"#,
            ),
        ] {
            let mut vars = BASE.to_vec();
            vars.push((name, value));
            let e = load_err(&vars);
            assert!(e.contains(name) && e.contains("RFC 6901"), "{e}");
        }
        let mut vars = BASE.to_vec();
        vars.push(("AUTHZ_CONTEXT_CLAIMS", "/realm_access/roles,cognito:groups"));
        assert!(load(&vars).is_ok());
    }

    #[test]
    fn tenant_templates_expand_to_one_issuer_per_tenant_and_never_any() {
        let v2 = (
            "AUTHZ_ISSUER",
            "https://login.microsoftonline.com/{tenantid}/v2.0",
        );
        let aud = ("AUTHZ_AUDIENCE", "api://petstore");
        let c = load(&[v2, aud, ("AUTHZ_TENANTS", "t-1,t-2")]).unwrap();
        let issuers: Vec<(&str, Option<&str>)> = c
            .issuers
            .iter()
            .map(|i| (i.issuer.as_str(), i.tenant.as_deref()))
            .collect();
        assert_eq!(
            issuers,
            vec![
                ("https://login.microsoftonline.com/t-1/v2.0", Some("t-1")),
                ("https://login.microsoftonline.com/t-2/v2.0", Some("t-2")),
            ]
        );
        for (vars, want) in [
            (vec![v2, aud], "needs AUTHZ_TENANTS"),
            (vec![v2, aud, ("AUTHZ_TENANTS", "common")], "not a tenant"),
            (
                vec![v2, aud, ("AUTHZ_TENANTS", "Organizations")],
                "not a tenant",
            ),
            (vec![v2, aud, ("AUTHZ_TENANTS", "*")], "not a tenant id"),
            (vec![v2, aud, ("AUTHZ_TENANTS", "a/b")], "not a tenant id"),
            (
                vec![BASE[0], aud, ("AUTHZ_TENANTS", "t-1")],
                "no issuer has one",
            ),
            (vec![v2, aud, ("AUTHZ_TENANTS", "t-1,t-1")], "listed twice"),
        ] {
            let e = load_err(&vars);
            assert!(e.contains(want), "{vars:?}: {e}");
        }
        let doc = r#"{"audiences":["api"],"issuers":[
            {"issuer":"https://sts.windows.net/{tenantid}/","tenants":["t-1"],
             "jwks_uri":"https://login.microsoftonline.com/common/discovery/keys"},
            {"issuer":"https://login.microsoftonline.com/{tenantid}/v2.0","tenants":[]}]}"#;
        let e = load_err(&[("AUTHZ_CONFIG", doc)]);
        assert!(e.contains("`tenants` is an empty list"), "{e}");
        let doc = r#"{"audiences":["api"],"issuers":[
            {"issuer":"https://a.example.com","tenants":["t-1"]}]}"#;
        assert!(load_err(&[("AUTHZ_CONFIG", doc)]).contains("has no `{tenantid}`"));
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

    /// Review finding: what reads as "unset" though it was set would widen access (no rules,
    /// any API, no client check, no `typ` requirement); each is refused, naming the setting.
    #[test]
    fn set_but_blank_null_or_empty_is_refused() {
        let with = |k: &'static str, v: &'static str| {
            let mut vars = BASE.to_vec();
            vars.push((k, v));
            load_err(&vars)
        };
        for (k, v, want) in [
            (
                "AUTHZ_ROUTES",
                "null",
                "AUTHZ_ROUTES: at `routes`: null is not a value",
            ),
            ("AUTHZ_ROUTES", " ", "AUTHZ_ROUTES is set but empty"),
            (
                "AUTHZ_REQUIRED_TYP",
                " ",
                "AUTHZ_REQUIRED_TYP is set but empty",
            ),
            (
                "AUTHZ_ALLOWED_API_ARNS",
                ",",
                "`allowed_api_arns` is an empty list",
            ),
            ("AUTHZ_CLIENT_ID", ",", "`client_ids` is an empty list"),
        ] {
            let e = with(k, v);
            assert!(e.contains(want), "{k}={v:?}: {e}");
        }
        for (doc, want) in [
            (
                r#"{"issuers":[{"issuer":"https://a.example.com"}],"audiences":["x"],"routes":null}"#,
                "AUTHZ_CONFIG key `routes`: at `routes`: null is not a value",
            ),
            (
                r#"{"issuers":[{"issuer":"https://a.example.com"}],"audiences":["x"],"allowed_api_arns":[]}"#,
                "`allowed_api_arns` is an empty list",
            ),
            (
                r#"{"issuers":[{"issuer":"https://a.example.com","client_ids":[]}],"audiences":["x"]}"#,
                "`client_ids` is an empty list",
            ),
        ] {
            let e = load_err(&[("AUTHZ_CONFIG", doc)]);
            assert!(e.contains(want), "{doc}: {e}");
        }
    }
}
