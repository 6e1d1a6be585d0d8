//! All logic of the API Gateway Lambda authorizers: configuration, token extraction, key
//! fetching and caching, JWT verification, decisions and response rendering.
//!
//! This crate never reads the environment outside [`config`] and never depends on the Lambda
//! runtime: the binaries hand it events and render what it returns.

pub mod config;
pub mod error;
pub mod introspect;
pub mod jwks;
pub mod policy;
pub mod response;
pub mod token;
pub mod verify;

use std::{collections::HashMap, sync::Arc, time::Instant};

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayCustomAuthorizerResponse, ApiGatewayV2CustomAuthorizerSimpleResponse,
    ApiGatewayV2CustomAuthorizerV2Request,
};

pub use config::{Config, ConfigError};
pub use error::{AuthzError, Outcome};
use jwks::{Fetch, HttpFetch};
use policy::MethodArn;
use token::Credential;
use verify::{Trace, Verifier};

// TEMP stubs (integrator replaces): CONFIG's settings table, CORE's DECISIONS and root names.
pub use policy::{Rule, Rules};
pub use verify::Claims;

/// TEMP stub of one settings-table row (CONFIG provides the real table).
#[derive(Debug)]
pub struct Setting {
    /// The flat environment variable.
    pub variable: &'static str,
}

/// TEMP stub: every variable `config` reads today.
pub const SETTINGS: &[Setting] = &[
    Setting {
        variable: "AUTHZ_ISSUER",
    },
    Setting {
        variable: "AUTHZ_JWKS_URI",
    },
    Setting {
        variable: "AUTHZ_CONFIG",
    },
    Setting {
        variable: "AUTHZ_CONFIG_FILE",
    },
    Setting {
        variable: "AUTHZ_AUDIENCE",
    },
    Setting {
        variable: "AUTHZ_ALGORITHMS",
    },
    Setting {
        variable: "AUTHZ_LEEWAY_SECONDS",
    },
    Setting {
        variable: "AUTHZ_REQUIRED_TYP",
    },
    Setting {
        variable: "AUTHZ_CONTEXT_CLAIMS",
    },
    Setting {
        variable: "AUTHZ_ALLOWED_API_ARNS",
    },
    Setting {
        variable: "AUTHZ_ACCEPT_BARE_TOKEN",
    },
    Setting {
        variable: "AUTHZ_MAX_TOKEN_BYTES",
    },
    Setting {
        variable: "AUTHZ_JWKS_MIN_TTL_SECONDS",
    },
    Setting {
        variable: "AUTHZ_JWKS_MAX_TTL_SECONDS",
    },
    Setting {
        variable: "AUTHZ_JWKS_DEFAULT_TTL_SECONDS",
    },
    Setting {
        variable: "AUTHZ_JWKS_STALE_SECONDS",
    },
    Setting {
        variable: "AUTHZ_JWKS_COOLDOWN_SECONDS",
    },
    Setting {
        variable: "AUTHZ_JWKS_MAX_BYTES",
    },
    Setting {
        variable: "AUTHZ_HTTP_CONNECT_TIMEOUT_SECONDS",
    },
    Setting {
        variable: "AUTHZ_HTTP_TIMEOUT_SECONDS",
    },
    Setting {
        variable: "AUTHZ_CA_BUNDLE",
    },
    Setting {
        variable: "AUTHZ_ROUTES",
    },
    Setting {
        variable: "AUTHZ_ROUTE_SETS",
    },
    Setting {
        variable: "AUTHZ_TOKEN_HEADER",
    },
    Setting {
        variable: "AUTHZ_TOKEN_QUERY_PARAM",
    },
    Setting {
        variable: "AUTHZ_BIND_HEADER",
    },
    Setting {
        variable: "AUTHZ_BIND_CLAIM",
    },
    Setting {
        variable: "AUTHZ_USAGE_IDENTIFIER_CLAIM",
    },
    Setting {
        variable: "AUTHZ_TOKEN_FORMAT",
    },
    Setting {
        variable: "AUTHZ_INTROSPECTION_SECRET_ARN",
    },
    Setting {
        variable: "AUTHZ_INTROSPECTION_ENDPOINT",
    },
    Setting {
        variable: "AUTHZ_INTROSPECTION_AUTH",
    },
    Setting {
        variable: "AUTHZ_INTROSPECTION_TOKEN_ENDPOINT",
    },
    Setting {
        variable: "AUTHZ_INTROSPECTION_CACHE_SECONDS",
    },
    Setting {
        variable: "AUTHZ_INTROSPECTION_NEGATIVE_CACHE_SECONDS",
    },
];

/// TEMP stub: the `decision` values of the decision log line.
pub const DECISIONS: [&str; 4] = ["allow", "deny", "unauthorized", "error"];

/// A configured authorizer: one per process, shared by every invocation.
#[derive(Debug)]
pub struct Authorizer {
    config: Config,
    verifier: Verifier,
}

impl Authorizer {
    /// Builds the authorizer: one HTTP client (with the private CA bundle, if any) for
    /// discovery, JWKS and introspection. No I/O yet: see [`warm`](Self::warm). Fails when the
    /// configuration asks for introspection and this build has no `introspection` feature.
    pub fn new(config: Config) -> Result<Authorizer, ConfigError> {
        let client = jwks::http_client(&config.http).map_err(ConfigError)?;
        let fetch: Arc<dyn Fetch> = Arc::new(HttpFetch::new(client.clone()));
        let verifier = Verifier::new(&config, fetch, client)?;
        Ok(Authorizer { config, verifier })
    }

    /// Fetches every issuer's keys before the first request. Never fails: an unreachable IdP is
    /// logged and retried on demand (cool-down bounded).
    pub async fn warm(&self) -> usize {
        self.verifier.warm().await
    }

    /// Verifies a bearer `Authorization` value; the building block of every authorizer type.
    pub async fn verify_bearer(
        &self,
        value: Option<&str>,
        trace: &mut Trace,
    ) -> Result<Claims, AuthzError> {
        let credential = value.map(Credential::Header);
        self.verify_credential(credential, None, trace).await
    }

    async fn verify_credential(
        &self,
        credential: Option<Credential<'_>>,
        audiences: Option<&[String]>,
        trace: &mut Trace,
    ) -> Result<Claims, AuthzError> {
        let max = self.config.max_token_bytes;
        let token = match credential {
            None => return Err(AuthzError::MissingToken),
            Some(Credential::Header(v)) => {
                token::bearer(Some(v), self.config.accept_bare_token, max)?
            }
            Some(Credential::Query(v)) => token::bearer(Some(v), true, max)?,
        };
        self.verifier
            .verify(token, verify::unix_now(), audiences, trace)
            .await
    }

    /// REST API, TOKEN authorizer, from the raw event JSON. `Ok` is a policy (Allow, or without
    /// Allow for this route: 403); `Err` is reported to the runtime (`Unauthorized` → 401,
    /// anything else → 500).
    pub async fn token(
        &self,
        event: &str,
    ) -> Result<ApiGatewayCustomAuthorizerResponse, AuthzError> {
        let (started, mut trace) = (Instant::now(), Trace::default());
        let event: ApiGatewayCustomAuthorizerRequest = parse(event, &trace, started)?;
        let input = Input {
            credential: Ok(event.authorization_token.as_deref().map(Credential::Header)),
            stage_variables: None,
            bind_value: Ok(None),
        };
        self.rest(
            event.method_arn.as_deref().unwrap_or_default(),
            input,
            &mut trace,
            started,
        )
        .await
    }

    /// REST API, REQUEST authorizer: the token from the configured header (`headers` and
    /// `multiValueHeaders`, case-insensitive) or query parameter; stage variables select the
    /// audience, rule set and required scopes.
    pub async fn request(
        &self,
        event: &str,
    ) -> Result<ApiGatewayCustomAuthorizerResponse, AuthzError> {
        let (started, mut trace) = (Instant::now(), Trace::default());
        let event: ApiGatewayCustomAuthorizerRequestTypeRequest = parse(event, &trace, started)?;
        let cfg = &self.config;
        // `multiValueHeaders` holds every value when present; `headers` only the last one.
        let header = |name: &str| {
            let multi = event.multi_value_headers.contains_key(name);
            token::header_values(
                if multi {
                    &event.multi_value_headers
                } else {
                    &event.headers
                },
                name,
            )
        };
        let query: Vec<&str> = match &cfg.token_query_param {
            Some(q) if !event.multi_value_query_string_parameters.is_empty() => event
                .multi_value_query_string_parameters
                .all(q)
                .unwrap_or_default(),
            Some(q) => event.query_string_parameters.all(q).unwrap_or_default(),
            None => Vec::new(),
        };
        let credential = token::pick(header(&cfg.token_header), query);
        let bind_value = match &cfg.binding {
            None => Ok(None),
            Some((h, _)) => match header(h).as_slice() {
                [] => Ok(None),
                [one] => Ok(Some(*one)),
                _ => Err(AuthzError::ClaimMismatch),
            },
        };
        let input = Input {
            credential,
            stage_variables: Some(&event.stage_variables),
            bind_value,
        };
        self.rest(
            event.method_arn.as_deref().unwrap_or_default(),
            input,
            &mut trace,
            started,
        )
        .await
    }

    /// HTTP API, payload 2.0, simple response. A bad token and a valid token without the right
    /// scope both answer `isAuthorized: false` (API Gateway: 403); only faults are errors (500).
    pub async fn http(
        &self,
        event: &str,
    ) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, AuthzError> {
        let (started, mut trace) = (Instant::now(), Trace::default());
        let event: ApiGatewayV2CustomAuthorizerV2Request = parse(event, &trace, started)?;
        let cfg = &self.config;
        let route_key = event.route_key.clone().unwrap_or_default();
        let query: Vec<&str> = cfg
            .token_query_param
            .as_ref()
            .and_then(|q| event.query_string_parameters.get(q))
            .map(|v| vec![v.as_str()])
            .unwrap_or_default();
        let decision = async {
            let credential = token::pick(
                token::header_values(&event.headers, &cfg.token_header),
                query,
            );
            let bind_value = match &cfg.binding {
                None => Ok(None),
                Some((h, _)) => Ok(event.headers.get(h).and_then(|v| v.to_str().ok())),
            };
            let input = Input {
                credential,
                stage_variables: Some(&event.stage_variables),
                bind_value,
            };
            let (claims, rules) = self.verified(input, &mut trace).await?;
            if let Some(rules) = rules {
                let rule = rules
                    .for_route_key(&route_key)
                    .ok_or(AuthzError::RouteNotAllowed)?;
                rule.check(&claims)?;
            }
            Ok::<_, AuthzError>(claims)
        }
        .await;
        log_decision(decision.as_ref().err(), &trace, Some(&route_key), started);
        match decision {
            Ok(claims) => Ok(response::simple(
                true,
                response::context(&claims, &cfg.context_claims),
            )),
            Err(e) if e.outcome() == Outcome::Internal => Err(e),
            Err(_) => Ok(response::simple(false, serde_json::Map::new())),
        }
    }

    /// Verification plus the checks every authorizer type shares: stage-variable audience,
    /// rule set and required scopes, and identity binding. Returns the rules in force.
    async fn verified(
        &self,
        input: Input<'_>,
        trace: &mut Trace,
    ) -> Result<(Claims, Option<&Rules>), AuthzError> {
        let stage = |name: &str| {
            input
                .stage_variables
                .and_then(|v| v.get(name))
                .filter(|v| !v.is_empty())
        };
        let rules = match stage(STAGE_ROUTE_SET) {
            Some(name) => Some(self.config.route_sets.get(name.as_str()).ok_or_else(|| {
                AuthzError::Internal(format!(
                    "stage variable {STAGE_ROUTE_SET} names unknown rule set `{name}`"
                ))
            })?),
            None => self.config.routes.as_ref(),
        };
        let audiences: Option<Vec<String>> = stage(STAGE_AUDIENCE).map(|a| config::split_list(a));
        let claims = self
            .verify_credential(input.credential?, audiences.as_deref(), trace)
            .await?;
        if let Some(required) = stage(STAGE_SCOPES)
            && !config::split_list(required)
                .iter()
                .any(|s| claims.scopes.contains(s))
        {
            return Err(AuthzError::InsufficientScope);
        }
        if let Some((_, claim)) = &self.config.binding {
            let want = input.bind_value?.ok_or(AuthzError::ClaimMismatch)?;
            if claims.all.get(claim).and_then(serde_json::Value::as_str) != Some(want) {
                return Err(AuthzError::ClaimMismatch);
            }
        }
        Ok((claims, rules))
    }

    /// Shared REST answer (TOKEN and REQUEST): a policy right for every route of the stage.
    async fn rest(
        &self,
        arn_text: &str,
        input: Input<'_>,
        trace: &mut Trace,
        started: Instant,
    ) -> Result<ApiGatewayCustomAuthorizerResponse, AuthzError> {
        let arn = match MethodArn::parse(arn_text) {
            Ok(arn) => arn,
            Err(e) => {
                log_decision(Some(&e), trace, None, started);
                return Err(e);
            }
        };
        // Err carries the policy when the token was valid: not permitted on this route, but
        // the full policy is still what the cache must hold for the caller's other routes.
        type Denied = (AuthzError, Option<(Claims, Vec<(bool, String)>)>);
        let decision: Result<(Claims, Vec<(bool, String)>), Denied> = async {
            if !policy::api_allowed(&self.config.allowed_api_arns, &arn) {
                return Err((AuthzError::ApiNotAllowed, None));
            }
            let (claims, rules) = self.verified(input, trace).await.map_err(|e| (e, None))?;
            let statements = match rules {
                None => vec![(true, arn.stage_wildcard())],
                Some(rules) => policy::rest_statements(rules, &claims, &arn, arn_text),
            };
            if policy::evaluate(&statements, arn_text) {
                return Ok((claims, statements));
            }
            let rule = rules.and_then(|r| r.for_path(arn.verb, arn.resource));
            let why = rule
                .and_then(|r| r.check(&claims).err())
                .unwrap_or(AuthzError::RouteNotAllowed);
            Err((why, Some((claims, statements))))
        }
        .await;
        log_decision(
            decision.as_ref().err().map(|(e, _)| e),
            trace,
            Some(&arn.route()),
            started,
        );
        let cfg = &self.config;
        match decision {
            Ok((claims, statements)) | Err((_, Some((claims, statements)))) => {
                Ok(response::rest_policy(&claims, statements, cfg))
            }
            Err((e, None)) if e.outcome() == Outcome::Forbidden => Ok(response::rest_deny(
                trace.sub.as_deref().unwrap_or("anonymous"),
                arn_text,
            )),
            Err((e, None)) => Err(e),
        }
    }
}

/// Stage variable naming the rule set for the stage (REQUEST and HTTP authorizers).
pub const STAGE_ROUTE_SET: &str = "authzRouteSet";
/// Stage variable overriding the accepted audiences (comma-separated).
pub const STAGE_AUDIENCE: &str = "authzAudience";
/// Stage variable listing scopes of which the token needs one, on every route of the stage.
pub const STAGE_SCOPES: &str = "authzScopes";

/// What a request offers, once extracted from its event.
struct Input<'a> {
    /// The one credential, or why there is none usable (several at once).
    credential: Result<Option<Credential<'a>>, AuthzError>,
    stage_variables: Option<&'a HashMap<String, String>>,
    bind_value: Result<Option<&'a str>, AuthzError>,
}

/// Parses an event; a bad one is logged as a decision (`error`, `invalid_event`) and returned.
fn parse<T: serde::de::DeserializeOwned>(
    event: &str,
    trace: &Trace,
    started: Instant,
) -> Result<T, AuthzError> {
    token::parse_event(event).inspect_err(|e| log_decision(Some(e), trace, None, started))
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
