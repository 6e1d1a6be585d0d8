//! All logic of the API Gateway Lambda authorizers: configuration, token extraction, key
//! fetching and caching, JWT verification, decisions and response rendering.
//!
//! The modules follow the pipeline extract → verify → decide → render (see ARCHITECTURE.md for
//! the map and the allowed dependency direction, which the `layering` unit test enforces).
//! Every module is private; the public interface is the one block of `pub use` below. This
//! crate never reads the environment outside `config` and never depends on the Lambda runtime:
//! the binaries hand it events and render what it returns.

// `settings!` (config/declare.rs) takes a few expansion steps per declared setting.
#![recursion_limit = "512"]

// Top: configuration and the wiring of the pipeline.
mod authorizer;
mod config;

// Pure: no I/O, no clock, no configuration.
mod alg;
mod bearer;
mod claims;
mod decision_log;
mod dpop;
mod error;
mod event;
mod jwk;
mod jwt;
mod policy;
mod response;

// I/O: the one HTTP path and what goes through it.
#[cfg(any(feature = "introspection", feature = "replay-store"))]
mod aws;
mod discovery;
mod introspect;
mod keys;
mod outbound;
mod replay;
mod secrets;
mod verifier;

#[cfg(test)]
mod layering;

// The public interface.
pub use authorizer::Authorizer;
pub use claims::Claims;
pub use config::{AuthorizerKind, CacheKey, Config, Kind as SettingKind, SETTINGS};
pub use decision_log::{DECISIONS, Trace};
pub use dpop::{Proof, verify_token_request_proof};
pub use error::{AuthzError, ConfigError, Verdict};
pub use keys::JwksSettings;
pub use policy::{MethodArn, Rule, Rules, Statement, evaluate, policy_statements};
pub use response::MIN_API_KEY_LENGTH;
pub use secrets::{ClientCredentials, SecretFuture, SecretSource};
pub use verifier::COLD_START_FETCH_BOUND;

/// The pure parsers, for the fuzz targets, property tests and benches only: not a stable
/// interface (rustls does the same).
#[doc(hidden)]
pub mod internals {
    pub use crate::alg::{SUPPORTED_ALGORITHMS, alg_name};
    pub use crate::bearer::bearer;
    pub use crate::discovery::{Discovery, parse_discovery};
    pub use crate::dpop::{access_token_hash, certificate_thumbprint, thumbprint};
    pub use crate::event::parse_event;
    pub use crate::introspect::{
        Answer, CallError, answer_ttl, is_access_token, judge, read_answer,
    };
    pub use crate::jwt::{ParsedJwt, parse_jwt};
    pub use crate::keys::{cache_ttl, parse_jwks};
    pub use crate::outbound::{HttpResponse, check_url, redact_userinfo};
    pub use crate::policy::rest_statements;
    #[cfg(feature = "cedar")]
    pub use crate::policy::{CedarPolicies, CedarSource};
    pub use crate::replay::{
        EXPIRES_ATTRIBUTE as REPLAY_EXPIRES_ATTRIBUTE, KEY_ATTRIBUTE as REPLAY_KEY_ATTRIBUTE,
    };
}
