//! The authorizer cache key: the identity sources API Gateway must key a cached answer on, taken
//! from the parsed configuration (issue 22). API Gateway reuses an answer for every request with
//! the same identity-source values, so every request value the authorizer reads (the token header,
//! the identity-binding header, the `authz*` stage variables, and for HTTP APIs the route) must be
//! one of them. This is the one place that says which: the CDK app renders what
//! [`Config::cache_key`] returns (through the `authz-config` binary, with the authorizer's full
//! environment, so `AUTHZ_CONFIG` documents and flat variables are read by the same parser as
//! at cold start), and the cached == fresh property test keys its cache on the same answer.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Config, ConfigError, err, settings as s};
use crate::dpop::SenderConstraint;
use crate::event::{STAGE_AUDIENCE, STAGE_ROUTE_SET, STAGE_SCOPES, stage_list};
use crate::policy::Rules;

/// The three Lambda authorizer types: which event the authorizer answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthorizerKind {
    /// REST API, TOKEN authorizer: the event carries the token header's value alone.
    Token,
    /// REST API, REQUEST authorizer.
    Request,
    /// HTTP API, payload 2.0, simple responses.
    Http,
}

/// The stage variables a REQUEST or HTTP authorizer reads.
const STAGE_VARIABLES: [&str; 3] = [STAGE_AUDIENCE, STAGE_ROUTE_SET, STAGE_SCOPES];

/// The prefix of the stage variables meant for the authorizer (in any case: `AuthzScopes` is a
/// misspelt `authzScopes`, refused rather than ignored).
const STAGE_PREFIX: &str = "authz";

impl AuthorizerKind {
    /// Every kind.
    pub const ALL: [AuthorizerKind; 3] = [
        AuthorizerKind::Token,
        AuthorizerKind::Request,
        AuthorizerKind::Http,
    ];

    /// Its name (`token`, `request`, `http`): the route table's authorizer type.
    pub const fn name(self) -> &'static str {
        match self {
            AuthorizerKind::Token => "token",
            AuthorizerKind::Request => "request",
            AuthorizerKind::Http => "http",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<AuthorizerKind> {
        AuthorizerKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The stage variables this authorizer reads (a TOKEN event carries none).
    pub const fn stage_variables(self) -> &'static [&'static str] {
        match self {
            AuthorizerKind::Token => &[],
            AuthorizerKind::Request | AuthorizerKind::Http => &STAGE_VARIABLES,
        }
    }
}

/// What API Gateway must key one authorizer's cached answers on, and what the CDK app checks
/// with it. Field names in JSON are camelCase (the `authz-config` binary's output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CacheKey {
    /// The authorizer type (`token`, `request`, `http`).
    pub kind: &'static str,
    /// The identity sources, as API Gateway spells them (`method.request.header.Authorization`,
    /// `stageVariables.authzRouteSet`; `$request.header.…`, `$stageVariables.…`,
    /// `$context.routeKey`). Empty only for an uncached REQUEST or HTTP authorizer that also
    /// takes the token from a query parameter (every source would be required).
    pub identity_sources: Vec<String>,
    /// The header carrying the token, lower-case (`AUTHZ_TOKEN_HEADER`).
    pub token_header: String,
    /// The identity-binding header, lower-case (`AUTHZ_BIND_HEADER`).
    pub bind_header: Option<String>,
    /// The stage variables the authorizer reads that the stage sets: each is an identity source.
    pub stage_variables: Vec<String>,
    /// The named rule sets (`AUTHZ_ROUTE_SETS`): name → its routes.
    pub route_sets: BTreeMap<String, Vec<String>>,
    /// The optional cargo features the binary needs for this configuration, in this order:
    /// `introspection` (an issuer introspects opaque tokens), `replay-store`
    /// (`AUTHZ_DPOP_REPLAY_TABLE`), `cedar` (Cedar policies). A binary built without one refuses
    /// the configuration at cold start; the CDK app checks its build against this list.
    pub features: Vec<&'static str>,
}

/// A header name as identity sources spell it: `x-api-token` → `X-Api-Token` (API Gateway
/// matches header names case-insensitively; this is the spelling documentation uses).
fn header_spelling(lower: &str) -> String {
    lower
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_ascii_uppercase().to_string() + c.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}

impl Config {
    /// The cache key of the `kind` authorizer on a stage with `stage_variables` (name → value,
    /// every variable of the stage), with results cached (`cached`, TTL above 0) or not.
    ///
    /// Refuses, naming the setting or the stage variable: what the cold start of `kind` refuses
    /// ([`Config::check_for`]); `authz*` stage variables a TOKEN authorizer would never see, or
    /// that no authorizer reads (a misspelt one would be ignored); `authzRouteSet` naming no rule
    /// set; `authzAudience` / `authzScopes` reading as an empty list; a token query parameter
    /// with caching on (every identity source is required, so a request carrying the token in
    /// one place only would get 401 without the authorizer being called).
    pub fn cache_key(
        &self,
        kind: AuthorizerKind,
        stage_variables: &BTreeMap<String, String>,
        cached: bool,
    ) -> Result<CacheKey, ConfigError> {
        self.check_for(kind)?;
        if cached && self.sender_constrained != SenderConstraint::Off {
            return err(format!(
                "{} `{}`: a DPoP proof differs on every request and the client certificate is \
                 not an identity source, so a cached answer would skip exactly these checks; \
                 set cacheTtlSeconds to 0 for the {} authorizer, or {} to `{}`",
                s::SENDER_CONSTRAINED.variable,
                self.sender_constrained.name(),
                kind.name(),
                s::SENDER_CONSTRAINED.variable,
                SenderConstraint::Off.name()
            ));
        }
        let meant: Vec<&str> = stage_variables
            .keys()
            .map(String::as_str)
            .filter(|k| {
                k.get(..STAGE_PREFIX.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(STAGE_PREFIX))
            })
            .collect();
        if kind == AuthorizerKind::Token && !meant.is_empty() {
            return err(format!(
                "stage variable {} would not apply to the token authorizer's routes (a TOKEN \
                 event carries no stage variables); use authorizer \"request\" for them",
                meant.join(", ")
            ));
        }
        let read = kind.stage_variables();
        if let Some(unknown) = meant.iter().find(|k| !read.contains(k)) {
            return err(format!(
                "stage variable {unknown} is not one the authorizer reads ({}): a misspelt one \
                 would be ignored",
                read.join(", ")
            ));
        }
        for (name, value) in stage_variables {
            match name.as_str() {
                STAGE_ROUTE_SET if !self.route_sets.contains_key(value.as_str()) => {
                    return err(format!(
                        "stage variable {STAGE_ROUTE_SET} names rule set `{value}`, which {} \
                         does not define",
                        s::ROUTE_SETS.variable
                    ));
                }
                STAGE_AUDIENCE | STAGE_SCOPES => {
                    stage_list(name, value).map_err(ConfigError)?;
                }
                _ => {}
            }
        }
        let set: Vec<String> = meant.iter().map(|k| (*k).to_owned()).collect();
        let identity_sources = match kind {
            AuthorizerKind::Token => {
                vec![format!(
                    "method.request.header.{}",
                    header_spelling(&self.token_header)
                )]
            }
            AuthorizerKind::Request | AuthorizerKind::Http => {
                let http = kind == AuthorizerKind::Http;
                let (header, stage) = if http {
                    ("$request.header.", "$stageVariables.")
                } else {
                    ("method.request.header.", "stageVariables.")
                };
                match (&self.token_query_param, cached) {
                    (Some(q), true) => {
                        return err(format!(
                            "{}: the {} authorizer reads the token from the header or the query \
                             parameter `{q}`; with caching on, every identity source is required \
                             (a request with only one would get 401 without the authorizer being \
                             called). Set cacheTtlSeconds to 0 for this API, or drop the query \
                             parameter",
                            s::TOKEN_QUERY_PARAM.variable,
                            kind.name()
                        ));
                    }
                    // Caching off: API Gateway calls the authorizer whatever is present.
                    (Some(_), false) => Vec::new(),
                    (None, _) => {
                        let mut sources =
                            vec![format!("{header}{}", header_spelling(&self.token_header))];
                        if let Some(b) = &self.binding {
                            sources.push(format!("{header}{}", header_spelling(&b.header)));
                        }
                        sources.extend(set.iter().map(|v| format!("{stage}{v}")));
                        if http && cached {
                            sources.push("$context.routeKey".to_owned());
                        }
                        sources
                    }
                }
            }
        };
        let mut route_sets = BTreeMap::new();
        for (name, rules) in &self.route_sets {
            route_sets.insert(
                name.clone(),
                rules.0.iter().map(|r| r.route.clone()).collect(),
            );
        }
        Ok(CacheKey {
            kind: kind.name(),
            identity_sources,
            token_header: self.token_header.clone(),
            bind_header: self.binding.as_ref().map(|b| b.header.clone()),
            stage_variables: set,
            route_sets,
            features: self.features(),
        })
    }

    /// The optional cargo features this configuration needs ([`CacheKey::features`]).
    fn features(&self) -> Vec<&'static str> {
        [
            (
                "introspection",
                self.issuers.iter().any(|i| i.introspection.is_some()),
            ),
            ("replay-store", self.dpop_replay_table.is_some()),
            ("cedar", self.cedar),
        ]
        .into_iter()
        .filter_map(|(name, needed)| needed.then_some(name))
        .collect()
    }

    /// What the cold start of the `kind` authorizer refuses beyond parsing: for the REST
    /// authorizers, rule sets one cached IAM policy cannot state exactly
    /// ([`Config::check_rest_caching`]); for TOKEN also what only a REQUEST authorizer can do
    /// (select a rule set by stage variable, bind a header to a claim).
    pub fn check_for(&self, kind: AuthorizerKind) -> Result<(), ConfigError> {
        if kind == AuthorizerKind::Http {
            return Ok(());
        }
        self.check_rest_caching()?;
        if kind != AuthorizerKind::Token {
            return Ok(());
        }
        if !self.route_sets.is_empty() {
            return err(format!(
                "{}: a TOKEN authorizer gets no stage variables, so no rule set could ever be \
                 selected; use {}, or the REQUEST authorizer",
                s::ROUTE_SETS.variable,
                s::ROUTES.variable
            ));
        }
        if self.sender_constrained != SenderConstraint::Off {
            return err(format!(
                "{} `{}`: a TOKEN authorizer sees only the token header (no `DPoP` proof, no \
                 client certificate) and is cached on it; use the REQUEST authorizer, uncached",
                s::SENDER_CONSTRAINED.variable,
                self.sender_constrained.name()
            ));
        }
        if let Some(b) = &self.binding {
            return err(format!(
                "{} `{}`: a TOKEN authorizer sees no other header than the token, and its cache \
                 is keyed on the token alone; use the REQUEST authorizer",
                s::BIND_HEADER.variable,
                b.header
            ));
        }
        Ok(())
    }

    /// The REST authorizers' (TOKEN, REQUEST) check: API Gateway reuses a cached policy for every
    /// method ARN of the stage, so every rule set must be one IAM can state exactly
    /// ([`Rules::rest_cache_conflict`]). The error names the setting and the rules.
    pub fn check_rest_caching(&self) -> Result<(), ConfigError> {
        if let Some(why) = self.routes.as_ref().and_then(Rules::rest_cache_conflict) {
            return err(format!("{}: {why}", s::ROUTES.variable));
        }
        let mut sets: Vec<_> = self.route_sets.iter().collect();
        sets.sort_by_key(|(name, _)| *name);
        for (name, rules) in sets {
            if let Some(why) = rules.rest_cache_conflict() {
                return err(format!(
                    "{}: rule set `{name}`: {why}",
                    s::ROUTE_SETS.variable
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
