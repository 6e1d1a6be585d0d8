//! All logic of the API Gateway Lambda authorizers: configuration, token extraction, key
//! fetching and caching, JWT verification, decisions and response rendering.
//!
//! This crate never reads the environment outside [`config`] and never depends on the Lambda
//! runtime: the binaries hand it events and render what it returns.

pub mod config;
pub mod error;
pub mod jwks;
pub mod policy;
pub mod response;
pub mod token;
pub mod verify;

use std::{sync::Arc, time::Instant};

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerResponse,
};

pub use config::{Config, ConfigError};
pub use error::{AuthzError, Outcome};
use jwks::{Fetch, HttpFetch};
use policy::MethodArn;
use verify::{Claims, Trace, Verifier};

/// A configured authorizer: one per process, shared by every invocation.
#[derive(Debug)]
pub struct Authorizer {
    config: Config,
    verifier: Verifier,
}

impl Authorizer {
    /// Builds the authorizer with the production HTTP client.
    pub fn new(config: Config) -> Result<Authorizer, ConfigError> {
        let fetch = HttpFetch::new(&config.http).map_err(ConfigError)?;
        Ok(Authorizer::with_fetch(config, Arc::new(fetch)))
    }

    /// Builds the authorizer with any key fetcher (tests drive the cache through this).
    pub fn with_fetch(config: Config, fetch: Arc<dyn Fetch>) -> Authorizer {
        let verifier = Verifier::new(&config, fetch);
        Authorizer { config, verifier }
    }

    /// Fetches every issuer's keys before the first request. Never fails: an unreachable IdP is
    /// logged and retried on demand (cool-down bounded).
    pub async fn warm(&self) -> usize {
        self.verifier.warm().await
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Verifies a bearer `Authorization` value; the building block of every authorizer type.
    pub async fn verify_bearer(
        &self,
        value: Option<&str>,
        trace: &mut Trace,
    ) -> Result<Claims, AuthzError> {
        let token = token::bearer(
            value,
            self.config.accept_bare_token,
            self.config.max_token_bytes,
        )?;
        self.verifier.verify(token, verify::unix_now(), trace).await
    }

    /// REST API, TOKEN authorizer, from the raw event JSON. `Ok` is an Allow or Deny policy;
    /// `Err` is reported to the runtime (`Unauthorized` → 401, anything else → 500).
    pub async fn token(
        &self,
        event: &str,
    ) -> Result<ApiGatewayCustomAuthorizerResponse, AuthzError> {
        let started = Instant::now();
        let mut trace = Trace::default();
        let event: ApiGatewayCustomAuthorizerRequest = match token::parse_event(event) {
            Ok(event) => event,
            Err(e) => {
                log_decision(Some(&e), &trace, None, started);
                return Err(e);
            }
        };
        let arn_text = event.method_arn.as_deref().unwrap_or_default();
        let arn = match MethodArn::parse(arn_text) {
            Ok(arn) => arn,
            Err(e) => {
                log_decision(Some(&e), &trace, None, started);
                return Err(e);
            }
        };
        let decision = self
            .decide_rest(event.authorization_token.as_deref(), &arn, &mut trace)
            .await;
        log_decision(decision.as_ref().err(), &trace, Some(&arn.route()), started);
        match decision {
            Ok((claims, resources)) => {
                let ctx = response::context(&claims, &self.config.context_claims);
                Ok(response::rest_allow(claims.principal(), resources, ctx))
            }
            Err(e) if e.outcome() == Outcome::Forbidden => {
                let principal = trace.sub.as_deref().unwrap_or("anonymous");
                Ok(response::rest_deny(
                    principal,
                    arn_text,
                    serde_json::Map::new(),
                ))
            }
            Err(e) => Err(e),
        }
    }

    async fn decide_rest(
        &self,
        authorization: Option<&str>,
        arn: &MethodArn<'_>,
        trace: &mut Trace,
    ) -> Result<(Claims, Vec<String>), AuthzError> {
        if !policy::api_allowed(&self.config.allowed_api_arns, arn) {
            return Err(AuthzError::ApiNotAllowed);
        }
        let claims = self.verify_bearer(authorization, trace).await?;
        let resources = policy::rest_resources(&claims, arn)?;
        Ok((claims, resources))
    }
}

/// One log line per decision, with flat keys that metric filters rely on:
/// `decision`, `reason`, `kid`, `iss`, `sub`, `route`, `latency_us`. Never the token.
fn log_decision(error: Option<&AuthzError>, trace: &Trace, route: Option<&str>, started: Instant) {
    let latency_us = started.elapsed().as_micros() as u64;
    let (decision, reason) = match error {
        None => ("allow", "ok"),
        Some(e) => (
            match e.outcome() {
                Outcome::Unauthorized => "unauthorized",
                Outcome::Forbidden => "deny",
                Outcome::Internal => "error",
            },
            e.reason(),
        ),
    };
    let (kid, iss, sub) = (
        trace.kid.as_deref(),
        trace.iss.as_deref(),
        trace.sub.as_deref(),
    );
    if let Some(e @ (AuthzError::Internal(_) | AuthzError::InvalidEvent(_))) = error {
        tracing::error!(decision, reason, detail = %e, kid, iss, sub, route, latency_us, "authorization decision");
    } else {
        tracing::info!(
            decision,
            reason,
            kid,
            iss,
            sub,
            route,
            latency_us,
            "authorization decision"
        );
    }
}
