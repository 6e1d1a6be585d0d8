//! Validation: the merged document, deserialized into its schema (the structs the settings
//! table declares), checked and turned into a [`Config`]. Defaults and bounds come from the
//! settings table; every error names the variable or the document key at fault.

use std::collections::HashMap;

use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::declare::Setting;
use super::env::Merged;
use super::settings::{self as s, RawConfig, RawIntrospection};
use super::{
    Binding, CaBundle, ClientAuth, Config, ConfigError, HttpSettings, IntrospectionConfig,
    IssuerConfig, JwksSettings, TokenFormat, err,
};
use crate::alg::{FAPI2_ALGORITHMS, SUPPORTED_ALGORITHMS};
use crate::claims::{DEFAULT_SCOPE_CLAIMS, check_claim_name};
use crate::dpop::SenderConstraint;
use crate::outbound::TlsRoots;
use crate::outbound::check_url;
use crate::policy::{Rule, Rules};

/// One route rule of `routes` or of a set of `route_sets` (their fields are no settings).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    route: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    claims: Map<String, Value>,
    /// Decided by the Cedar policies (`AUTHZ_CEDAR_POLICIES`) as well.
    #[serde(default)]
    cedar: bool,
}

/// Validates the merged document into a [`Config`].
pub(super) fn config(merged: &Merged) -> Result<Config, ConfigError> {
    merged.refuse_unset_looking()?;
    build(merged.parse()?, &|key| merged.source(key))
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
    let src_of = |setting: &Setting| src(setting.key);
    let cedar = cedar::policies(&raw, &src_of)?;
    let Some(raw_issuers) = raw.issuers.filter(|i| !i.is_empty()) else {
        return err(format!(
            "{} is required (or `issuers` in {})",
            s::ISSUER.variable,
            s::CONFIG.variable
        ));
    };
    let fapi2 = match raw.profile.as_deref() {
        None => false,
        Some(s::PROFILE_FAPI2) => true,
        Some(other) => {
            return err(format!(
                "{}: `{other}` is not {}",
                src_of(&s::PROFILE),
                s::PROFILE_FAPI2
            ));
        }
    };
    let default_algs = match &raw.algorithms {
        Some(names) => algorithms(names, &src_of(&s::ALGORITHMS))?,
        None if fapi2 => FAPI2_ALGORITHMS.to_vec(),
        None => SUPPORTED_ALGORITHMS.to_vec(),
    };
    let accept_id_tokens = raw.accept_id_tokens.unwrap_or(s::DEFAULT_ACCEPT_ID_TOKENS);
    let mut issuers = Vec::with_capacity(raw_issuers.len());
    let any_template = raw_issuers
        .iter()
        .any(|i| i.issuer.contains(TENANT_PLACEHOLDER));
    if raw.tenants.is_some() && !any_template {
        return err(format!(
            "{}: tenants apply to an issuer template with `{TENANT_PLACEHOLDER}`, and no issuer \
             has one",
            src_of(&s::TENANTS)
        ));
    }
    for (i, ri) in raw_issuers.into_iter().enumerate() {
        let at = format!("{} (issuer #{})", src("issuers"), i + 1);
        let audiences = match (ri.audiences, &raw.audiences) {
            (Some(a), _) => a,
            (None, Some(a)) => a.clone(),
            (None, None) => Vec::new(),
        };
        let client_ids = match (ri.client_ids, &raw.client_ids) {
            (Some(c), _) => c,
            (None, Some(c)) => c.clone(),
            (None, None) => Vec::new(),
        };
        if audiences.is_empty() && client_ids.is_empty() {
            return err(format!(
                "{} or {} is required (no audience or client for issuer `{}`)",
                s::AUDIENCE.variable,
                s::CLIENT_ID.variable,
                ri.issuer
            ));
        }
        if audiences.iter().any(|a| a.trim().is_empty()) {
            return err(format!(
                "{}: audiences must be non-empty strings",
                src_of(&s::AUDIENCE)
            ));
        }
        if client_ids.iter().any(|c| c.trim().is_empty()) {
            return err(format!(
                "{}: client ids must be non-empty strings",
                src_of(&s::CLIENT_ID)
            ));
        }
        let scope_claims = match (ri.scope_claims, &raw.scope_claims) {
            (Some(c), _) => c,
            (None, Some(c)) => c.clone(),
            (None, None) => DEFAULT_SCOPE_CLAIMS.map(str::to_owned).to_vec(),
        };
        if scope_claims.is_empty() {
            return err(format!(
                "{}: empty list (the default is `{}`)",
                src_of(&s::SCOPE_CLAIMS),
                s::DEFAULT_SCOPE_CLAIMS_TEXT
            ));
        }
        for c in &scope_claims {
            check_claim_name(c)
                .map_err(|e| ConfigError(format!("{}: {e}", src_of(&s::SCOPE_CLAIMS))))?;
        }
        let tenants = match (ri.tenants, &raw.tenants) {
            (Some(t), _) => Some(t),
            (None, Some(t)) => Some(t.clone()),
            (None, None) => None,
        };
        let tenants_name = match raw.tenants {
            Some(_) => src_of(&s::TENANTS),
            None => format!("{} (or `tenants`)", s::TENANTS.variable),
        };
        let expanded = expand_issuer(&ri.issuer, tenants, &at, &tenants_name)?;
        for (n, (issuer, _)) in expanded.iter().enumerate() {
            check_url(issuer, &at)?;
            if issuers.iter().any(|x: &IssuerConfig| &x.issuer == issuer)
                || expanded[..n].iter().any(|(x, _)| x == issuer)
            {
                return err(format!("{at}: issuer `{issuer}` listed twice"));
            }
        }
        if let Some(uri) = &ri.jwks_uri {
            check_url(uri, s::JWKS_URI.variable)?;
        }
        let algorithms = match ri.algorithms {
            Some(names) => algorithms(&names, &at)?,
            None => default_algs.clone(),
        };
        if fapi2 && let Some(a) = algorithms.iter().find(|a| !FAPI2_ALGORITHMS.contains(a)) {
            return err(format!(
                "{at}: {a:?} is not allowed by {} {} (PS256, ES256, EdDSA only)",
                src_of(&s::PROFILE),
                s::PROFILE_FAPI2
            ));
        }
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
                    "{at}: token format `{}` needs {}",
                    ri.token_format.unwrap_or_default(),
                    s::INTROSPECTION_SECRET_ARN.variable
                ));
            }
            (Some(other), _) => {
                return err(format!(
                    "{at}: token format `{other}` is not jwt, opaque or auto ({})",
                    s::TOKEN_FORMAT.variable
                ));
            }
        };
        for (issuer, tenant) in expanded {
            issuers.push(IssuerConfig {
                issuer,
                audiences: audiences.clone(),
                client_ids: client_ids.clone(),
                tenant,
                scope_claims: scope_claims.clone(),
                accept_id_tokens,
                jwks_uri: ri.jwks_uri.clone(),
                algorithms: algorithms.clone(),
                token_format,
                introspection: introspection.clone(),
            });
        }
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
    let max_token_bytes =
        s::MAX_TOKEN_BYTES.count(raw.max_token_bytes, &src_of(&s::MAX_TOKEN_BYTES))?;
    if raw
        .required_typ
        .as_ref()
        .is_some_and(|t| t.trim().is_empty())
    {
        return err(format!("{}: empty", src_of(&s::REQUIRED_TYP)));
    }
    let context_claims = raw.context_claims.unwrap_or_default();
    for c in &context_claims {
        check_claim_name(c)
            .map_err(|e| ConfigError(format!("{}: {e}", src_of(&s::CONTEXT_CLAIMS))))?;
    }
    if let Some(c) = context_claims
        .iter()
        .find(|c| matches!(c.as_str(), "sub" | "scope" | "client_id" | "iss"))
    {
        return err(format!(
            "{}: `{c}` is always in the context; remove it",
            src_of(&s::CONTEXT_CLAIMS)
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
                src_of(&s::ALLOWED_API_ARNS)
            ));
        }
    }
    let j = raw.jwks;
    let seconds = |setting: &Setting, value| setting.seconds(value, &src_of(setting));
    let jwks = JwksSettings {
        min_ttl: seconds(&s::JWKS_MIN_TTL_SECONDS, j.min_ttl_seconds)?,
        max_ttl: seconds(&s::JWKS_MAX_TTL_SECONDS, j.max_ttl_seconds)?,
        default_ttl: seconds(&s::JWKS_DEFAULT_TTL_SECONDS, j.default_ttl_seconds)?,
        stale: seconds(&s::JWKS_STALE_SECONDS, j.stale_seconds)?,
        cooldown: seconds(&s::JWKS_COOLDOWN_SECONDS, j.cooldown_seconds)?,
        max_bytes: s::JWKS_MAX_BYTES.count(j.max_bytes, &src_of(&s::JWKS_MAX_BYTES))?,
    };
    if jwks.min_ttl > jwks.max_ttl {
        return err(format!(
            "{} exceeds {}",
            src_of(&s::JWKS_MIN_TTL_SECONDS),
            src_of(&s::JWKS_MAX_TTL_SECONDS)
        ));
    }
    let ca_bundle = match raw.http.ca_bundle {
        Some(path) => Some(CaBundle::load(path, &src_of(&s::CA_BUNDLE))?),
        None => None,
    };
    let roots = match raw.http.tls_roots.as_deref() {
        None => s::DEFAULT_TLS_ROOTS,
        Some(value) => TlsRoots::parse(value).ok_or_else(|| {
            ConfigError(format!(
                "{}: `{value}` is not builtin or system",
                src_of(&s::TLS_ROOTS)
            ))
        })?,
    };
    let http = HttpSettings {
        ca_bundle,
        roots,
        connect_timeout: seconds(
            &s::HTTP_CONNECT_TIMEOUT_SECONDS,
            raw.http.connect_timeout_seconds,
        )?,
        timeout: seconds(&s::HTTP_TIMEOUT_SECONDS, raw.http.timeout_seconds)?,
    };
    if http.timeout.is_zero() || http.connect_timeout.is_zero() {
        return err(format!(
            "{}: timeouts must be above 0",
            src_of(&s::HTTP_TIMEOUT_SECONDS)
        ));
    }
    let routes = match raw.routes {
        Some(rules) => Some(rules_from(rules, &src_of(&s::ROUTES), cedar.as_ref())?),
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
                src_of(&s::ROUTE_SETS)
            ));
        }
        let at = format!("{} set `{name}`", src_of(&s::ROUTE_SETS));
        let rules = rules_from(rules, &at, cedar.as_ref())?;
        route_sets.insert(name, rules);
    }
    let header_name = |v: String, setting: &Setting| -> Result<String, ConfigError> {
        let v = v.trim().to_ascii_lowercase();
        if v.is_empty()
            || !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        {
            return err(format!("{}: `{v}` is not a header name", src_of(setting)));
        }
        Ok(v)
    };
    let token_header = header_name(
        raw.token_header
            .unwrap_or_else(|| s::DEFAULT_TOKEN_HEADER.into()),
        &s::TOKEN_HEADER,
    )?;
    let binding = match (raw.bind_header, raw.bind_claim) {
        (Some(h), Some(claim)) => Some(Binding {
            header: header_name(h, &s::BIND_HEADER)?,
            claim,
        }),
        (None, None) => None,
        _ => {
            return err(format!(
                "{} and {} go together: set both or neither",
                s::BIND_HEADER.variable,
                s::BIND_CLAIM.variable
            ));
        }
    };
    let sender_constrained = match raw.sender_constrained.as_deref() {
        None if fapi2 => SenderConstraint::Require,
        Some(value) if fapi2 && value != SenderConstraint::Require.name() => {
            return err(format!(
                "{} `{value}`: {} {} requires sender-constrained tokens (`require`, or unset)",
                src_of(&s::SENDER_CONSTRAINED),
                src_of(&s::PROFILE),
                s::PROFILE_FAPI2
            ));
        }
        None => s::DEFAULT_SENDER_CONSTRAINED,
        Some(value) => SenderConstraint::parse(value).ok_or_else(|| {
            ConfigError(format!(
                "{}: `{value}` is not off, accept or require",
                src_of(&s::SENDER_CONSTRAINED)
            ))
        })?,
    };
    let dpop_replay_table = raw.dpop_replay_table.filter(|t| !t.trim().is_empty());
    if dpop_replay_table.is_some() && sender_constrained == SenderConstraint::Off {
        return err(format!(
            "{} is set but {} is off: no DPoP proof is ever accepted; set {} to accept or \
             require, or remove the table",
            src_of(&s::DPOP_REPLAY_TABLE),
            s::SENDER_CONSTRAINED.variable,
            s::SENDER_CONSTRAINED.variable
        ));
    }
    if fapi2 && raw.token_query_param.is_some() {
        return err(format!(
            "{}: {} {} takes tokens from the header only",
            src_of(&s::TOKEN_QUERY_PARAM),
            src_of(&s::PROFILE),
            s::PROFILE_FAPI2
        ));
    }
    if fapi2 && accept_id_tokens {
        return err(format!(
            "{}: {} {} accepts access tokens only",
            src_of(&s::ACCEPT_ID_TOKENS),
            src_of(&s::PROFILE),
            s::PROFILE_FAPI2
        ));
    }
    Ok(Config {
        proof_algorithms: if fapi2 {
            FAPI2_ALGORITHMS.to_vec()
        } else {
            SUPPORTED_ALGORITHMS.to_vec()
        },
        dpop_replay_table,
        cedar: cedar.is_some(),
        sender_constrained,
        dpop_max_age: seconds(&s::DPOP_MAX_AGE_SECONDS, raw.dpop_max_age_seconds)?,
        routes,
        route_sets,
        token_header,
        token_query_param: raw.token_query_param.filter(|q| !q.trim().is_empty()),
        binding,
        usage_identifier_claim: raw.usage_identifier_claim,
        issuers,
        leeway: seconds(&s::LEEWAY_SECONDS, raw.leeway_seconds)?,
        required_typ: raw.required_typ,
        context_claims,
        allowed_api_arns,
        accept_bare_token: raw
            .accept_bare_token
            .unwrap_or(s::DEFAULT_ACCEPT_BARE_TOKEN),
        max_token_bytes,
        jwks,
        http,
    })
}

/// The placeholder of an issuer template (Entra ID's multi-tenant discovery names the issuer
/// `https://login.microsoftonline.com/{tenantid}/v2.0`).
pub(super) const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// Tenant names that are not tenants: Entra ID's multi-tenant endpoints. A token's `tid` is
/// always one tenant's id, so listing these would accept nothing; they are refused to say so.
const NOT_TENANTS: [&str; 3] = ["common", "organizations", "consumers"];

/// An issuer, or an issuer template expanded into one issuer per allowed tenant (each with the
/// tenant its `tid` must equal). A template needs a non-empty tenant list: never any tenant.
fn expand_issuer(
    issuer: &str,
    tenants: Option<Vec<String>>,
    at: &str,
    tenants_name: &str,
) -> Result<Vec<(String, Option<String>)>, ConfigError> {
    let template = issuer.contains(TENANT_PLACEHOLDER);
    match tenants {
        None if !template => Ok(vec![(issuer.to_owned(), None)]),
        None | Some(_) if template && issuer.matches(TENANT_PLACEHOLDER).count() > 1 => err(
            format!("{at}: `{TENANT_PLACEHOLDER}` may appear once in an issuer template"),
        ),
        None => err(format!(
            "{at}: the issuer template `{issuer}` needs {tenants_name}: the tenant ids it \
             accepts (there is no any-tenant setting)"
        )),
        Some(_) if !template => err(format!(
            "{at}: tenants are set but the issuer `{issuer}` has no `{TENANT_PLACEHOLDER}`"
        )),
        Some(list) if list.is_empty() => err(format!(
            "{tenants_name}: empty tenant list for `{issuer}` (there is no any-tenant setting)"
        )),
        Some(list) => list
            .into_iter()
            .map(|t| {
                let t = t.trim().to_owned();
                if NOT_TENANTS.contains(&t.to_ascii_lowercase().as_str()) {
                    return err(format!(
                        "{tenants_name}: `{t}` is not a tenant; list tenant ids (`tid` values), \
                         there is no any-tenant setting"
                    ));
                }
                if t.is_empty() || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    return err(format!(
                        "{tenants_name}: `{t}` is not a tenant id (letters, digits and `-`)"
                    ));
                }
                Ok((issuer.replace(TENANT_PLACEHOLDER, &t), Some(t)))
            })
            .collect(),
    }
}

fn introspection(r: RawIntrospection, at: &str) -> Result<IntrospectionConfig, ConfigError> {
    let secret_arn = r
        .secret_arn
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            ConfigError(format!(
                "{at}: introspection needs {}",
                s::INTROSPECTION_SECRET_ARN.variable
            ))
        })?;
    for url in [&r.endpoint, &r.token_endpoint].into_iter().flatten() {
        check_url(
            url,
            &format!(
                "{} / {}",
                s::INTROSPECTION_ENDPOINT.variable,
                s::INTROSPECTION_TOKEN_ENDPOINT.variable
            ),
        )?;
    }
    let auth = match r.auth.as_deref() {
        None => s::DEFAULT_INTROSPECTION_AUTH,
        Some(name) => ClientAuth::ALL
            .into_iter()
            .find(|a| a.name() == name)
            // Not quoted: the variable sits next to the secret's, a secret is easily set in it.
            .ok_or_else(|| {
                ConfigError(format!(
                    "{}: expected {}",
                    s::INTROSPECTION_AUTH.variable,
                    "client_secret_basic, client_secret_post or bearer"
                ))
            })?,
    };
    let max_entries = s::INTROSPECTION_MAX_ENTRIES
        .count(r.max_entries, &format!("{at}: introspection.max_entries"))?;
    let seconds = |setting: &Setting, value| setting.seconds(value, setting.variable);
    Ok(IntrospectionConfig {
        secret_arn,
        endpoint: r.endpoint,
        auth,
        token_endpoint: r.token_endpoint,
        scope: r.scope,
        cache_ttl: seconds(&s::INTROSPECTION_CACHE_SECONDS, r.cache_ttl_seconds)?,
        negative_ttl: seconds(
            &s::INTROSPECTION_NEGATIVE_CACHE_SECONDS,
            r.negative_ttl_seconds,
        )?,
        max_entries,
    })
}

fn rules_from(
    raw: Vec<RawRule>,
    at: &str,
    cedar: Option<&cedar::Policies>,
) -> Result<Rules, ConfigError> {
    let mut rules: Vec<Rule> = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        let name = format!("{at}: rule #{} (`{}`)", i + 1, r.route);
        for claim in r.claims.keys() {
            check_claim_name(claim).map_err(|e| ConfigError(format!("{name}: {e}")))?;
        }
        let rule = Rule::new(&r.route, r.scopes, r.claims.into_iter().collect())
            .map_err(|e| ConfigError(format!("{name}: {e}")))?;
        let rule = match r.cedar {
            true => cedar::rule(rule, cedar, &name)?,
            false => rule,
        };
        if rules.iter().any(|x| x.route == rule.route) {
            return err(format!("{name}: route listed twice"));
        }
        rules.push(rule);
    }
    Ok(Rules(rules))
}

/// The Cedar settings: the files read here (the only reader), parsed by `policy::CedarPolicies`.
#[cfg(feature = "cedar")]
mod cedar {
    use std::sync::Arc;

    use super::{ConfigError, RawConfig, Rule, Setting, err, s};
    use crate::claims::check_claim_name;
    use crate::policy::{CedarPolicies, CedarSource};

    pub(super) type Policies = Arc<CedarPolicies>;

    pub(super) fn policies(
        raw: &RawConfig,
        src_of: &dyn Fn(&Setting) -> String,
    ) -> Result<Option<Policies>, ConfigError> {
        let Some(policies_path) = &raw.cedar_policies else {
            if let Some(setting) = [&s::CEDAR_SCHEMA, &s::CEDAR_NAMESPACE]
                .into_iter()
                .chain([&s::CEDAR_GROUPS_CLAIM, &s::CEDAR_ENTITY_PREFIX])
                .chain([&s::CEDAR_TEMPLATE_LINKS])
                .find(|setting| is_set(raw, setting))
            {
                return err(format!(
                    "{}: set without {}",
                    src_of(setting),
                    s::CEDAR_POLICIES.variable
                ));
            }
            return Ok(None);
        };
        let required = |value: &Option<String>, setting: &Setting| {
            value
                .clone()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| {
                    ConfigError(format!(
                        "{} is required with {}",
                        setting.variable,
                        s::CEDAR_POLICIES.variable
                    ))
                })
        };
        let schema_path = required(&raw.cedar_schema, &s::CEDAR_SCHEMA)?;
        let namespace = required(&raw.cedar_namespace, &s::CEDAR_NAMESPACE)?;
        if let Some(claim) = &raw.cedar_groups_claim {
            check_claim_name(claim)
                .map_err(|e| ConfigError(format!("{}: {e}", src_of(&s::CEDAR_GROUPS_CLAIM))))?;
        }
        let read = |path: &str, setting: &Setting| {
            std::fs::read_to_string(path)
                .map_err(|e| ConfigError(format!("{}: cannot read `{path}`: {e}", src_of(setting))))
        };
        let policies_text = read(policies_path, &s::CEDAR_POLICIES)?;
        let schema_text = read(&schema_path, &s::CEDAR_SCHEMA)?;
        let policies_setting = src_of(&s::CEDAR_POLICIES);
        let schema_setting = src_of(&s::CEDAR_SCHEMA);
        let mut parsed = CedarPolicies::parse(
            CedarSource {
                setting: &policies_setting,
                path: policies_path,
                text: &policies_text,
            },
            CedarSource {
                setting: &schema_setting,
                path: &schema_path,
                text: &schema_text,
            },
            &namespace,
            raw.cedar_groups_claim.clone(),
            raw.cedar_entity_prefix.clone().unwrap_or_default(),
        )
        .map_err(ConfigError)?;
        match &raw.cedar_template_links {
            Some(links_path) => {
                let links_text = read(links_path, &s::CEDAR_TEMPLATE_LINKS)?;
                parsed
                    .link(CedarSource {
                        setting: &src_of(&s::CEDAR_TEMPLATE_LINKS),
                        path: links_path,
                        text: &links_text,
                    })
                    .map_err(ConfigError)?;
            }
            // Templates grant nothing unlinked: a file of them without links is a mistake.
            None => match parsed.templates().as_slice() {
                [] => {}
                names => {
                    return err(format!(
                        "{policies_setting}: `{policies_path}` holds policy templates (`{}`), \
                         which grant nothing unlinked: set {} to their links (`[]` for none)",
                        names.join("`, `"),
                        s::CEDAR_TEMPLATE_LINKS.variable
                    ));
                }
            },
        }
        Ok(Some(Arc::new(parsed)))
    }

    fn is_set(raw: &RawConfig, setting: &Setting) -> bool {
        match setting.key {
            "cedar_schema" => raw.cedar_schema.is_some(),
            "cedar_namespace" => raw.cedar_namespace.is_some(),
            "cedar_groups_claim" => raw.cedar_groups_claim.is_some(),
            "cedar_template_links" => raw.cedar_template_links.is_some(),
            _ => raw.cedar_entity_prefix.is_some(),
        }
    }

    pub(super) fn rule(
        rule: Rule,
        cedar: Option<&Policies>,
        name: &str,
    ) -> Result<Rule, ConfigError> {
        let Some(policies) = cedar else {
            return err(format!(
                "{name}: `\"cedar\": true` needs {}",
                s::CEDAR_POLICIES.variable
            ));
        };
        let route = policies
            .route(&rule.route)
            .map_err(|e| ConfigError(format!("{name}: {e}")))?;
        Ok(rule.with_cedar(route))
    }
}

/// Without the `cedar` feature: any Cedar setting or rule fails the cold start, saying so.
#[cfg(not(feature = "cedar"))]
mod cedar {
    use super::{ConfigError, RawConfig, Rule, Setting, err, s};

    pub(super) enum Policies {}

    const MISSING: &str = "this authorizer was built without the `cedar` feature; build it with \
                           `--features cedar` (the CDK app does for authorizers with Cedar rules)";

    pub(super) fn policies(
        raw: &RawConfig,
        src_of: &dyn Fn(&Setting) -> String,
    ) -> Result<Option<Policies>, ConfigError> {
        let set = [
            (&s::CEDAR_POLICIES, raw.cedar_policies.is_some()),
            (&s::CEDAR_SCHEMA, raw.cedar_schema.is_some()),
            (&s::CEDAR_NAMESPACE, raw.cedar_namespace.is_some()),
            (&s::CEDAR_GROUPS_CLAIM, raw.cedar_groups_claim.is_some()),
            (&s::CEDAR_ENTITY_PREFIX, raw.cedar_entity_prefix.is_some()),
            (&s::CEDAR_TEMPLATE_LINKS, raw.cedar_template_links.is_some()),
        ];
        match set.into_iter().find(|(_, is)| *is) {
            Some((setting, _)) => err(format!("{}: {MISSING}", src_of(setting))),
            None => Ok(None),
        }
    }

    pub(super) fn rule(
        _rule: Rule,
        _cedar: Option<&Policies>,
        name: &str,
    ) -> Result<Rule, ConfigError> {
        err(format!("{name}: `\"cedar\": true`: {MISSING}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde::de::DeserializeOwned;

    use super::*;
    use crate::config::settings::{DOCUMENT_ONLY_SETTINGS, RawHttp, RawIssuer, RawJwks, SETTINGS};

    /// The field names of a schema struct, from serde's answer to an unknown field.
    fn fields<T: DeserializeOwned>(prefix: &str) -> Vec<String> {
        let e = serde_json::from_str::<T>(r#"{"\u0000": 0}"#).err().unwrap();
        let message = e.to_string();
        let expected = message.split(", expected ").nth(1).unwrap();
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(|f| format!("{prefix}{f}"))
            .collect()
    }

    #[test]
    fn every_key_of_the_schema_has_a_row_and_every_row_a_key() {
        let containers = ["issuers", "jwks", "http", "issuers[].introspection"];
        let mut schema: Vec<String> = [
            fields::<RawConfig>(""),
            fields::<RawJwks>("jwks."),
            fields::<RawHttp>("http."),
            fields::<RawIssuer>("issuers[]."),
            fields::<RawIntrospection>("issuers[].introspection."),
        ]
        .concat()
        .into_iter()
        .filter(|f| !containers.contains(&f.as_str()))
        .collect();
        schema.sort();
        let mut rows: Vec<String> = SETTINGS
            .iter()
            .chain(DOCUMENT_ONLY_SETTINGS)
            .filter(|s| !s.key.is_empty())
            .flat_map(|s| {
                let per_issuer = s.also_per_issuer.then(|| format!("issuers[].{}", s.key));
                [Some(s.key.to_owned()), per_issuer].into_iter().flatten()
            })
            .collect();
        rows.sort();
        assert_eq!(rows, schema);
        assert!(schema.len() > 30, "{schema:?}");
    }
}
