//! The top of the pipeline: an [`Authorizer`] built from the [`Config`], taking each event
//! through extract → verify → decide → render and writing the decision log line. The only
//! module besides `config` that knows the configuration, and the one that wires the I/O.

use std::{sync::Arc, time::Instant};

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayCustomAuthorizerResponse, ApiGatewayV2CustomAuthorizerSimpleResponse,
    ApiGatewayV2CustomAuthorizerV2Request,
};

use crate::{
    bearer::{self, Scheme},
    claims::Claims,
    config::{AuthorizerKind, Config},
    decision_log::{Trace, log_decision},
    discovery::Discoverer,
    dpop::{self, ProofCheck, ProofTarget, ReplaySet, SenderConstraint},
    error::{AuthzError, ConfigError, Verdict},
    event::{
        self, Binding, Credential, Input, STAGE_AUDIENCE, STAGE_ROUTE_SET, STAGE_SCOPES, Sources,
    },
    introspect::Introspector,
    keys::{IssuerKeys, JwksFetcher},
    outbound::{self, Fetch, HttpFetch},
    policy::{self, MethodArn, Rules, Statement},
    replay::{self, ReplayStore},
    response::{self, RenderSettings},
    secrets::{self, SecretSource},
    verifier::{self, Issuer, Verifier, VerifySettings},
};

/// A configured authorizer: one per process, shared by every invocation.
#[derive(Debug)]
pub struct Authorizer {
    config: Config,
    sources: Sources,
    binding: Option<Binding>,
    render: RenderSettings,
    verifier: Verifier,
    /// The DPoP proofs accepted by this execution environment (RFC 9449 §11.1).
    replay: ReplaySet,
    /// The store shared by every execution environment, when configured.
    replay_store: Option<Arc<dyn ReplayStore>>,
}

/// What a request offers besides its token to prove it holds the token's key.
#[derive(Debug)]
struct Possession<'a> {
    /// The `DPoP` header's one value.
    proof: Result<Option<&'a str>, AuthzError>,
    /// The request's method and URL, as a proof must name them.
    target: Option<ProofTarget>,
    /// The mutual-TLS client certificate (PEM).
    client_cert: Option<&'a str>,
}

impl Default for Possession<'_> {
    fn default() -> Self {
        Possession {
            proof: Ok(None),
            target: None,
            client_cert: None,
        }
    }
}

impl Authorizer {
    /// Builds the authorizer: one HTTP client (with the private CA bundle, if any) for
    /// discovery, JWKS and introspection, and the introspection client credentials from AWS
    /// Secrets Manager. No I/O yet: see [`warm`](Self::warm). Fails when the configuration asks
    /// for introspection and this build has no `introspection` feature.
    pub fn new(config: Config) -> Result<Authorizer, ConfigError> {
        Self::build(config, None)
    }

    /// As [`new`](Self::new), with the introspection client credentials from `secrets` instead
    /// of Secrets Manager (the issuer's `secret_arn` is then unused).
    pub fn with_secret_source(
        config: Config,
        secrets: Arc<dyn SecretSource>,
    ) -> Result<Authorizer, ConfigError> {
        Self::build(config, Some(secrets))
    }

    fn build(
        config: Config,
        secrets: Option<Arc<dyn SecretSource>>,
    ) -> Result<Authorizer, ConfigError> {
        let client = outbound::client(&config.http).map_err(ConfigError)?;
        let fetch: Arc<dyn Fetch> = Arc::new(HttpFetch::new(client));
        // One for every issuer: tenants sharing a JWKS URI fetch it once.
        let jwks = Arc::new(JwksFetcher::new(Arc::clone(&fetch), config.jwks.max_bytes));
        let mut issuers = Vec::with_capacity(config.issuers.len());
        for ic in &config.issuers {
            let discovery = Arc::new(Discoverer::new(
                ic.issuer.clone(),
                config.jwks.max_bytes,
                config.jwks.cooldown,
                Arc::clone(&fetch),
            ));
            let keys = IssuerKeys::new(
                ic.issuer.clone(),
                ic.jwks_uri.clone(),
                Arc::clone(&discovery),
                ic.algorithms.clone(),
                config.jwks.clone(),
                Arc::clone(&jwks),
            );
            let introspector = match &ic.introspection {
                None => None,
                Some(intro) => {
                    let secret = match &secrets {
                        Some(s) => Arc::clone(s),
                        None => secrets::secrets_manager(&intro.secret_arn, config.http.timeout)
                            .ok_or_else(|| secrets::not_built(&ic.issuer))?,
                    };
                    Some(Introspector::new(
                        ic.issuer.clone(),
                        intro.clone(),
                        Arc::clone(&fetch),
                        discovery,
                        secret,
                        config.jwks.cooldown,
                    ))
                }
            };
            issuers.push(Issuer {
                config: ic.clone(),
                keys,
                introspector,
            });
        }
        let verifier = Verifier::new(
            issuers,
            VerifySettings {
                leeway: config.leeway,
                required_typ: config.required_typ.clone(),
            },
        );
        let replay_store = match &config.dpop_replay_table {
            None => None,
            Some(table) => {
                Some(replay::dynamodb(table, config.http.timeout).ok_or_else(replay::not_built)?)
            }
        };
        let binding = config.binding.clone();
        let sources = Sources {
            token_header: config.token_header.clone(),
            token_query_param: config.token_query_param.clone(),
            bind_header: binding.as_ref().map(|b| b.header.clone()),
        };
        let render = RenderSettings {
            context_claims: config.context_claims.clone(),
            usage_identifier_claim: config.usage_identifier_claim.clone(),
        };
        Ok(Authorizer {
            config,
            sources,
            binding,
            render,
            verifier,
            replay: ReplaySet::default(),
            replay_store,
        })
    }

    /// The REST authorizers' (TOKEN, REQUEST) cold-start check: API Gateway reuses a cached
    /// policy for every method ARN of the stage, so every rule set must be one IAM can state
    /// exactly ([`Config::check_rest_caching`]). The error names the setting and the rules.
    pub fn check_rest_caching(&self) -> Result<(), ConfigError> {
        self.config.check_rest_caching()
    }

    /// The TOKEN authorizer's cold-start check ([`Config::check_for`]): a TOKEN event carries no
    /// stage variables and no other header, so a rule set of `AUTHZ_ROUTE_SETS` could never be
    /// selected and an identity binding never hold; refused, as `cdk synth` refuses it.
    pub fn check_token(&self) -> Result<(), ConfigError> {
        self.config.check_for(AuthorizerKind::Token)
    }

    /// Fetches every issuer's keys before the first request, all at once, within
    /// `COLD_START_FETCH_BOUND`. Never fails: an unreachable or
    /// slow IdP is logged and retried on demand (cool-down bounded).
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
        self.verify_credential(credential, None, Possession::default(), trace)
            .await
    }

    async fn verify_credential(
        &self,
        credential: Option<Credential<'_>>,
        audiences: Option<&[String]>,
        possession: Possession<'_>,
        trace: &mut Trace,
    ) -> Result<Claims, AuthzError> {
        let max = self.config.max_token_bytes;
        let dpop = self.config.sender_constrained != SenderConstraint::Off;
        let (scheme, token) = match credential {
            None => return Err(AuthzError::MissingToken),
            Some(Credential::Header(v)) => {
                bearer::credential(Some(v), self.config.accept_bare_token, dpop, max)?
            }
            Some(Credential::Query(v)) => bearer::credential(Some(v), true, false, max)?,
        };
        let now = verifier::unix_now();
        let claims = self.verifier.verify(token, now, audiences, trace).await?;
        self.check_possession(scheme, token, &claims, possession, now)
            .await?;
        Ok(claims)
    }

    /// RFC 9449 §7.1 and RFC 8705 §3: a DPoP-bound token needs its proof (checked, then its
    /// `jti` spent), a certificate-bound one its certificate; unbound tokens as configured.
    async fn check_possession(
        &self,
        scheme: Scheme,
        token: &str,
        claims: &Claims,
        possession: Possession<'_>,
        now: f64,
    ) -> Result<(), AuthzError> {
        let proof = match scheme {
            Scheme::Bearer => None,
            Scheme::Dpop => {
                let proof = possession.proof?.ok_or(AuthzError::DpopProofMissing)?;
                if proof.len() > self.config.max_token_bytes {
                    return Err(AuthzError::DpopProofInvalid("longer than a token may be"));
                }
                let target = possession.target.ok_or(AuthzError::DpopUrlMismatch)?;
                let check = ProofCheck {
                    now,
                    max_age: self.config.dpop_max_age.as_secs_f64(),
                    leeway: self.config.leeway.as_secs_f64(),
                    algorithms: &self.config.proof_algorithms,
                };
                Some(dpop::verify_proof(proof, token, &target, &check)?)
            }
        };
        // A certificate that does not parse matches no `x5t#S256`.
        let cert = possession
            .client_cert
            .map(|pem| dpop::certificate_thumbprint(pem).unwrap_or_default());
        dpop::check_binding(
            self.config.sender_constrained,
            &claims.all,
            scheme,
            proof.as_ref(),
            cert.as_deref(),
        )?;
        if let Some(proof) = proof {
            let forget_after = proof.iat
                + self.config.dpop_max_age.as_secs_f64()
                + 2.0 * self.config.leeway.as_secs_f64();
            // The fast path first: a replay to this environment costs no store call.
            if !self.replay.first_use(&proof, forget_after, now) {
                return Err(AuthzError::DpopReplay);
            }
            if let Some(store) = &self.replay_store {
                let key = format!("{} {}", proof.jkt, proof.jti);
                match store.first_use(key, forget_after.ceil() as i64).await {
                    Ok(true) => {}
                    Ok(false) => return Err(AuthzError::DpopReplay),
                    Err(e) => {
                        tracing::warn!(error = %e, "DPoP replay store unavailable");
                        return Err(AuthzError::DpopReplayStoreUnavailable);
                    }
                }
            }
        }
        Ok(())
    }

    /// REST API, TOKEN authorizer, from the raw event JSON. `Ok` is a policy (Allow, or without
    /// Allow for this route: 403); `Err` is reported to the runtime (`Unauthorized` → 401,
    /// anything else → 500).
    pub async fn token(
        &self,
        event: &str,
    ) -> Result<ApiGatewayCustomAuthorizerResponse, AuthzError> {
        let (started, mut trace) = (Instant::now(), Trace::default());
        let event: ApiGatewayCustomAuthorizerRequest = parse_logged(event, &trace, started)?;
        let input = event::token_input(&event);
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
        let event: ApiGatewayCustomAuthorizerRequestTypeRequest =
            parse_logged(event, &trace, started)?;
        let input = event::request_input(&event, &self.sources);
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
        let event: ApiGatewayV2CustomAuthorizerV2Request = parse_logged(event, &trace, started)?;
        let route_key = event.route_key.clone().unwrap_or_default();
        let decision = async {
            // The API allow-list applies to the route ARN as to a REST method ARN; a route ARN
            // that does not parse cannot be on the list.
            if !self.config.allowed_api_arns.is_empty() {
                let arn = event.route_arn.as_deref().unwrap_or_default();
                if !route_arn_allowed(&self.config.allowed_api_arns, arn) {
                    return Err(AuthzError::ApiNotAllowed);
                }
            }
            let input = event::http_input(&event, &self.sources);
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
                response::context(&claims, &self.render.context_claims),
            )),
            Err(e) if e.verdict() == Verdict::Internal => Err(e),
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
        let rules = match input.stage(STAGE_ROUTE_SET) {
            Some(name) => Some(self.config.route_sets.get(name.as_str()).ok_or_else(|| {
                AuthzError::Internal(format!(
                    "stage variable {STAGE_ROUTE_SET} names unknown rule set `{name}`"
                ))
            })?),
            None => self.config.routes.as_ref(),
        };
        let audiences = input.stage_list(STAGE_AUDIENCE)?;
        let required_scopes = input.stage_list(STAGE_SCOPES)?;
        let possession = Possession {
            proof: input.dpop_proof,
            target: input.method.map(|method| ProofTarget {
                method: method.to_owned(),
                url: input.url,
            }),
            client_cert: input.client_cert,
        };
        let claims = self
            .verify_credential(input.credential?, audiences.as_deref(), possession, trace)
            .await?;
        if let Some(required) = required_scopes
            && !required.iter().any(|s| claims.scopes.contains(s))
        {
            return Err(AuthzError::InsufficientScope);
        }
        if let Some(Binding { claim, .. }) = &self.binding {
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
        type Granted = (Claims, Vec<Statement>, Option<String>);
        type Denied = (AuthzError, Option<Granted>);
        let decision: Result<Granted, Denied> = async {
            if !policy::api_allowed(&self.config.allowed_api_arns, &arn) {
                return Err((AuthzError::ApiNotAllowed, None));
            }
            let (claims, rules) = self.verified(input, trace).await.map_err(|e| (e, None))?;
            // A usage identifier no API key can have is refused for every route: it depends
            // on the token alone, as the cache key does.
            let key =
                response::usage_identifier_key(&claims, &self.render).map_err(|e| (e, None))?;
            let statements = match rules {
                None => vec![Statement::allow(arn.stage_wildcard())],
                Some(rules) => policy::rest_statements(rules, &claims, &arn, arn_text),
            };
            if policy::evaluate(&statements, arn_text) {
                // The policy evaluated every rule quietly; the requested route's Cedar
                // decision (its determining policies) is logged once.
                if let Some(rule) = rules.and_then(|r| r.for_path(arn.verb, arn.resource)) {
                    rule.log_cedar(&claims);
                }
                return Ok((claims, statements, key));
            }
            let rule = rules.and_then(|r| r.for_path(arn.verb, arn.resource));
            let why = rule
                .and_then(|r| r.check(&claims).err())
                .unwrap_or(AuthzError::RouteNotAllowed);
            Err((why, Some((claims, statements, key))))
        }
        .await;
        log_decision(
            decision.as_ref().err().map(|(e, _)| e),
            trace,
            Some(&arn.route()),
            started,
        );
        match decision {
            Ok((claims, statements, key)) | Err((_, Some((claims, statements, key)))) => Ok(
                response::rest_policy(&claims, statements, &self.render, key),
            ),
            Err((e, None)) if e.verdict() == Verdict::Forbidden => Ok(response::rest_deny(
                trace.sub.as_deref().unwrap_or("anonymous"),
                arn_text,
            )),
            Err((e, None)) => Err(e),
        }
    }
}

/// Whether an HTTP API `routeArn` (`…:API_ID/STAGE/VERB/PATH`, or `…:API_ID/STAGE/$default`)
/// is on the allow-list.
fn route_arn_allowed(allowed: &[String], route_arn: &str) -> bool {
    // `$default` has no path part; the method ARN parser wants one.
    let with_path = if route_arn.ends_with("/$default") {
        format!("{route_arn}/")
    } else {
        route_arn.to_owned()
    };
    MethodArn::parse(&with_path).is_ok_and(|arn| policy::api_allowed(allowed, &arn))
}

/// Parses an event; a bad one is logged as a decision (`error`, `invalid_event`) and returned.
fn parse_logged<T: serde::de::DeserializeOwned>(
    event: &str,
    trace: &Trace,
    started: Instant,
) -> Result<T, AuthzError> {
    event::parse_event(event).inspect_err(|e| log_decision(Some(e), trace, None, started))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn route_arns_are_checked_against_the_api_allow_list() {
        let p = "arn:aws:execute-api:us-east-1:123456789012";
        let allowed = [format!("{p}:api1/prod")];
        assert!(route_arn_allowed(
            &allowed,
            &format!("{p}:api1/prod/GET/planets")
        ));
        assert!(route_arn_allowed(
            &allowed,
            &format!("{p}:api1/prod/$default")
        ));
        assert!(!route_arn_allowed(
            &allowed,
            &format!("{p}:api2/prod/GET/planets")
        ));
        assert!(!route_arn_allowed(
            &allowed,
            &format!("{p}:api1/dev/GET/planets")
        ));
        assert!(!route_arn_allowed(&allowed, ""));
        assert!(!route_arn_allowed(&allowed, "not an arn"));
    }

    #[test]
    fn rest_caching_check_names_the_setting() {
        let lookup = |vars: Vec<(&'static str, &'static str)>| {
            Config::from_lookup(move |name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            })
            .unwrap()
        };
        let base = vec![
            ("AUTHZ_ISSUER", "https://idp.example.com"),
            ("AUTHZ_AUDIENCE", "api"),
        ];
        let mut vars = base.clone();
        vars.push((
            "AUTHZ_ROUTES",
            r#"[{"route":"GET /pets/{petId}"},{"route":"GET /pets/{petId}/photos"}]"#,
        ));
        let e = Authorizer::new(lookup(vars))
            .unwrap()
            .check_rest_caching()
            .unwrap_err()
            .to_string();
        for needle in [
            "AUTHZ_ROUTES",
            "GET /pets/{petId}/photos",
            "cached REST policy",
        ] {
            assert!(e.contains(needle), "{needle}: {e}");
        }
        let mut vars = base.clone();
        vars.push((
            "AUTHZ_ROUTES",
            r#"[{"route":"GET /pets/{petId}"},{"route":"GET /pets/mine"}]"#,
        ));
        assert!(
            Authorizer::new(lookup(vars))
                .unwrap()
                .check_rest_caching()
                .is_ok()
        );
    }

    #[test]
    fn a_replay_table_needs_sender_constraints_and_the_feature() {
        let load = |vars: &'static [(&'static str, &'static str)]| {
            Config::from_lookup(move |name| {
                [
                    ("AUTHZ_ISSUER", "https://idp.example.com"),
                    ("AUTHZ_AUDIENCE", "api"),
                ]
                .iter()
                .chain(vars)
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
            })
        };
        let off = load(&[("AUTHZ_DPOP_REPLAY_TABLE", "replay")]).unwrap_err();
        assert!(off.0.contains("AUTHZ_DPOP_REPLAY_TABLE"), "{off}");
        assert!(off.0.contains("AUTHZ_SENDER_CONSTRAINED"), "{off}");
        let config = load(&[
            ("AUTHZ_DPOP_REPLAY_TABLE", "replay"),
            ("AUTHZ_SENDER_CONSTRAINED", "accept"),
        ])
        .unwrap();
        let built = Authorizer::new(config);
        if cfg!(feature = "replay-store") {
            assert!(built.is_ok(), "{built:?}");
        } else {
            assert_eq!(built.unwrap_err(), replay::not_built());
        }
        let message = replay::not_built().to_string();
        for needle in [
            "AUTHZ_DPOP_REPLAY_TABLE",
            "without the `replay-store` feature",
        ] {
            assert!(message.contains(needle), "{needle}: {message}");
        }
    }

    #[test]
    fn introspection_without_the_feature_fails_the_cold_start_naming_it() {
        let issuer = "https://idp.example.com";
        let vars = [
            ("AUTHZ_ISSUER", issuer),
            ("AUTHZ_AUDIENCE", "api"),
            ("AUTHZ_TOKEN_FORMAT", "opaque"),
            (
                "AUTHZ_INTROSPECTION_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:1:secret:x",
            ),
        ];
        // Parsing is the same in every build; only building the authorizer needs the SDK.
        let config = Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        let built = Authorizer::new(config);
        if cfg!(feature = "introspection") {
            assert!(built.is_ok(), "{built:?}");
        } else {
            assert_eq!(built.unwrap_err(), secrets::not_built(issuer));
        }
        let message = secrets::not_built(issuer).to_string();
        for needle in [
            "configuration error",
            issuer,
            "AUTHZ_INTROSPECTION_SECRET_ARN",
            "AUTHZ_TOKEN_FORMAT",
            "without the `introspection` feature",
        ] {
            assert!(message.contains(needle), "{needle}: {message}");
        }
    }
}
