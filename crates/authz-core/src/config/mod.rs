//! Configuration: the only module that knows about environment variables.
//!
//! One schema, two spellings. The structured form is a JSON document in `AUTHZ_CONFIG` (or a file
//! named by `AUTHZ_CONFIG_FILE`); every flat `AUTHZ_*` variable is a shorthand for one key of that
//! document. Setting a key both ways is an error, so there is never a question of which wins.
//! Every error names the variable (or the JSON key) at fault, and never quotes a value.
//!
//! - [`settings`]: the settings table ([`SETTINGS`]), one declaration per setting: variable,
//!   key, schema field, kind, default, bounds, doc (and so the README's table);
//! - `declare`: the row type and the `settings!` macro that turns a declaration into its row;
//! - `env`: flat variables merged into the document, by the table; secret-safe serde errors;
//! - `build`: the document's validation into a [`Config`].

mod build;
mod declare;
mod env;
mod identity;
mod settings;

use std::{collections::HashMap, time::Duration};

use jsonwebtoken::Algorithm;

pub use crate::error::ConfigError;
use crate::{
    dpop::SenderConstraint,
    event::{Binding, split_list},
    introspect::{ClientAuth, IntrospectionConfig},
    keys::JwksSettings,
    outbound::{CaBundle, HttpSettings},
    policy::Rules,
    verifier::{IssuerConfig, TokenFormat},
};

pub use declare::Kind;
pub use identity::{AuthorizerKind, CacheKey};
pub use settings::SETTINGS;

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Accepted issuers (at least one), each with its own keys and audiences.
    pub(crate) issuers: Vec<IssuerConfig>,
    /// Clock-skew allowance for `exp`, `nbf` and `iat`.
    pub(crate) leeway: Duration,
    /// When set, the header `typ` must equal it (RFC 9068: `at+jwt`).
    pub(crate) required_typ: Option<String>,
    /// Extra claims copied into the authorizer `context` (scalars; arrays of scalars joined by `,`).
    pub(crate) context_claims: Vec<String>,
    /// When non-empty, only these API ARNs (`arn:…:apiId` or `arn:…:apiId/stage`) may be granted.
    pub(crate) allowed_api_arns: Vec<String>,
    /// Accept a token without the `Bearer ` scheme (the API Gateway console's test sends one).
    pub(crate) accept_bare_token: bool,
    /// Tokens longer than this are refused before any decoding.
    pub(crate) max_token_bytes: usize,
    /// JWKS cache bounds.
    pub(crate) jwks: JwksSettings,
    /// Outgoing HTTP settings (discovery, JWKS).
    pub(crate) http: HttpSettings,
    /// Route rules; `None` means any valid token may use any route.
    pub(crate) routes: Option<Rules>,
    /// Named rule sets a stage selects with the stage variable `authzRouteSet`.
    pub(crate) route_sets: HashMap<String, Rules>,
    /// Header carrying the token (REQUEST and HTTP authorizers), lower-case.
    pub(crate) token_header: String,
    /// Query-string parameter that may carry the token instead (RFC 6750 §2.3 `access_token`).
    pub(crate) token_query_param: Option<String>,
    /// Identity binding: a request header must equal a claim, else 403.
    pub(crate) binding: Option<Binding>,
    /// Claim whose value becomes `usageIdentifierKey` (REST usage plans, API key source AUTHORIZER).
    pub(crate) usage_identifier_claim: Option<String>,
    /// Whether DPoP-bound and certificate-bound tokens are checked, and required.
    pub(crate) sender_constrained: SenderConstraint,
    /// Oldest DPoP proof accepted (`iat` in the past).
    pub(crate) dpop_max_age: Duration,
    /// Algorithms a DPoP proof may be signed with.
    pub(crate) proof_algorithms: Vec<Algorithm>,
    /// The DynamoDB table shared by every execution environment for DPoP replay detection.
    pub(crate) dpop_replay_table: Option<String>,
    /// Cedar policies are configured (`AUTHZ_CEDAR_POLICIES`).
    pub(crate) cedar: bool,
}

impl CaBundle {
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

    /// The route rules (`AUTHZ_ROUTES`), as the authorizer enforces them (Cedar-decided ones
    /// with their policies): the local mode predicts answers with them.
    pub fn routes(&self) -> Option<&Rules> {
        self.routes.as_ref()
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
mod tests;
