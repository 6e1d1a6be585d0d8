//! The IdP-shaped issuers of the local mode: besides the dev issuer, one loopback issuer per
//! [`Shape`] (its own port: discovery and JWKS, the dev issuer's key), whose tokens
//! (`scripts/token.sh --shape IDP`) are laid out like that IdP's. Every Lambda authorizer trusts
//! each of them with THAT shape's README recipe ([`Shape::recipe`], the one source of the recipes),
//! turned into one per-issuer entry of the `AUTHZ_CONFIG` document ([`issuer_entry`]), so a
//! shaped token gets the answers the recipe gives in production, and the demo page can switch
//! shapes with no restart.

use std::sync::Arc;

use authz_core::{SETTINGS, SettingKind};
use authz_testkit::idp::{KEYCLOAK_REALM, Shape, TokenSpec};
use authz_testkit::server::response;
use authz_testkit::{Issuer, TestKey};
use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::table::ApiSpec;
use crate::token::client_id;

/// One issuer per shape, all signing with the dev issuer's key.
#[derive(Debug)]
pub struct ShapeIssuers {
    issuers: Vec<(Shape, Issuer)>,
}

impl ShapeIssuers {
    /// Starts one loopback issuer per shape of [`Shape::ALL`] serving `key`.
    pub async fn start(key: &TestKey) -> ShapeIssuers {
        let mut issuers = Vec::new();
        for shape in Shape::ALL {
            let issuer = shape.start_issuer(key).await;
            issuer.set_fallback(discovery_at_issuer_path(
                shape,
                issuer.url(),
                issuer.jwks_uri(),
            ));
            issuers.push((shape, issuer));
        }
        ShapeIssuers { issuers }
    }

    /// The shapes, in [`Shape::ALL`]'s order.
    pub fn shapes(&self) -> impl Iterator<Item = Shape> + '_ {
        self.issuers.iter().map(|(s, _)| *s)
    }

    fn issuer(&self, shape: Shape) -> Option<&Issuer> {
        self.issuers
            .iter()
            .find(|(s, _)| *s == shape)
            .map(|(_, i)| i)
    }

    /// The base URL of `shape`'s issuer (its tokens' `iss` is this with the IdP's path form).
    pub fn base(&self, shape: Shape) -> Option<String> {
        self.issuer(shape).map(Issuer::url)
    }

    /// The recipe variables an authorizer of `api` gets for `shape`: [`Shape::recipe`] for a
    /// token of `api` (its audience; its demo clients, one per tier and the tier-less one, as
    /// the accepted clients).
    pub fn recipe(&self, shape: Shape, api: &ApiSpec) -> Option<Vec<(&'static str, String)>> {
        let issuer = self.issuer(shape)?;
        let clients: Vec<String> = api
            .tiers
            .keys()
            .map(|t| client_id(&api.name, Some(t)))
            .chain([client_id(&api.name, None)])
            .collect();
        let spec = TokenSpec::new(&issuer.url())
            .audience(&api.audience)
            .client(&clients.join(","));
        Some(shape.recipe(&spec, &issuer.jwks_uri()))
    }

    /// The lines the banner prints: per shape, its issuer and, per API, the recipe its Lambda
    /// authorizers trust it with.
    pub fn describe(&self, apis: &[&ApiSpec]) -> Vec<String> {
        let mut lines = Vec::new();
        for shape in self.shapes() {
            let base = self.base(shape).unwrap_or_default();
            lines.push(format!("{:<12} {base}", shape.name()));
            for api in apis {
                let recipe = self.recipe(shape, api).unwrap_or_default();
                let vars: Vec<String> = recipe.iter().map(|(k, v)| format!("{k}={v}")).collect();
                lines.push(format!("  recipe for {}: {}", api.name, vars.join(" ")));
            }
        }
        lines
    }

    /// Every shape's `issuers[]` entry for the authorizers of `api`.
    pub fn issuer_entries(&self, api: &ApiSpec) -> Result<Vec<Value>, String> {
        self.shapes()
            .filter_map(|shape| self.recipe(shape, api).map(|r| (shape, r)))
            .map(|(shape, recipe)| {
                issuer_entry(&recipe).map_err(|e| format!("{} recipe: {e}", shape.name()))
            })
            .collect()
    }
}

/// Discovery where that IdP serves it: at the issuer's path form
/// (`{issuer}/.well-known/openid-configuration`: Keycloak's `/realms/shop`, Okta's
/// `/oauth2/default`, Entra ID's `/{tid}/v2.0` for any tenant), so README's recipes work as
/// written, without `AUTHZ_JWKS_URI`. (The root serves the base's own document.)
fn discovery_at_issuer_path(
    shape: Shape,
    base: String,
    jwks_uri: String,
) -> authz_testkit::issuer::Fallback {
    Arc::new(move |req| {
        let doc = req
            .uri()
            .path()
            .strip_suffix("/.well-known/openid-configuration")
            .and_then(|path| issuer_path(shape, path))
            .map(|path| {
                json!({
                    "issuer": format!("{base}{path}"), "jwks_uri": jwks_uri,
                    "response_types_supported": ["code"], "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                })
            });
        Box::pin(async move {
            Ok(match doc {
                Some(doc) => response(StatusCode::OK, "application/json", doc.to_string()),
                None => response(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
            })
        })
    })
}

/// The issuer path a discovery request names, when that IdP serves one there.
fn issuer_path(shape: Shape, path: &str) -> Option<String> {
    let ok = match shape {
        Shape::Keycloak => path == format!("/realms/{KEYCLOAK_REALM}"),
        Shape::Okta => path == "/oauth2/default",
        Shape::Entra => path
            .strip_prefix('/')
            .and_then(|p| p.strip_suffix("/v2.0"))
            .is_some_and(|tid| !tid.is_empty() && !tid.contains('/')),
        _ => false,
    };
    ok.then(|| path.to_owned())
}

/// One `issuers[]` entry of the `AUTHZ_CONFIG` document holding the flat variables of a
/// single-issuer recipe: each variable's key as the settings table ([`SETTINGS`]) names it; a
/// variable that cannot be set per issuer is an error (the recipe would not mean the same with
/// several issuers).
pub fn issuer_entry(recipe: &[(&str, String)]) -> Result<Value, String> {
    let mut entry = Map::new();
    for (name, value) in recipe {
        let setting = SETTINGS
            .iter()
            .find(|s| s.variable == *name)
            .ok_or_else(|| format!("{name} is not a setting"))?;
        let key = match setting.kind {
            SettingKind::Issuers => "issuer",
            _ => match setting.key.strip_prefix("issuers[].") {
                Some(key) => key,
                None if setting.also_per_issuer => setting.key,
                None => return Err(format!("{name} cannot be set per issuer")),
            },
        };
        if key.contains('.') {
            return Err(format!("{name}: nested key `{key}` is not supported here"));
        }
        let value = match setting.kind {
            SettingKind::List => Value::Array(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| Value::String(v.to_owned()))
                    .collect(),
            ),
            SettingKind::Issuers | SettingKind::JwksUris | SettingKind::Text => {
                Value::String(value.clone())
            }
            other => return Err(format!("{name}: a {other:?} value is not supported here")),
        };
        if entry.insert(key.to_owned(), value).is_some() {
            return Err(format!("{name} given twice"));
        }
    }
    if !entry.contains_key("issuer") {
        return Err("no AUTHZ_ISSUER".to_owned());
    }
    Ok(Value::Object(entry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_recipe_becomes_one_issuer_entry() {
        let recipe = [
            (
                "AUTHZ_ISSUER",
                "http://127.0.0.1:1/{tenantid}/v2.0".to_owned(),
            ),
            ("AUTHZ_TENANTS", "t1".to_owned()),
            ("AUTHZ_AUDIENCE", "petstore".to_owned()),
            ("AUTHZ_CLIENT_ID", "a, b".to_owned()),
            ("AUTHZ_SCOPE_CLAIMS", "scp,roles".to_owned()),
            ("AUTHZ_JWKS_URI", "http://127.0.0.1:1/jwks".to_owned()),
        ];
        assert_eq!(
            issuer_entry(&recipe).unwrap(),
            json!({
                "issuer": "http://127.0.0.1:1/{tenantid}/v2.0", "tenants": ["t1"],
                "audiences": ["petstore"], "client_ids": ["a", "b"],
                "scope_claims": ["scp", "roles"], "jwks_uri": "http://127.0.0.1:1/jwks",
            })
        );
    }

    #[test]
    fn what_is_not_per_issuer_is_refused() {
        let iss = ("AUTHZ_ISSUER", "http://127.0.0.1:1".to_owned());
        let leeway = ("AUTHZ_LEEWAY_SECONDS", "5".to_owned());
        let err = issuer_entry(&[iss.clone(), leeway]).unwrap_err();
        assert!(err.contains("AUTHZ_LEEWAY_SECONDS"), "{err}");
        let unknown = ("AUTHZ_NOPE", "x".to_owned());
        assert!(issuer_entry(&[iss, unknown]).is_err());
        let no_issuer = ("AUTHZ_AUDIENCE", "a".to_owned());
        assert!(issuer_entry(&[no_issuer]).is_err());
    }
}
