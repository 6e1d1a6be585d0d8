//! Tokens shaped like the ones real identity providers issue: header fields, claim names and
//! types, issuer forms, each to the IdP's documented layout (see README "Identity providers").
//! Shared by the authorizers' IdP-shape tests and the local mode's token endpoint (`--shape`).
//!
//! The issuer is built from a base URL (a loopback [`Issuer`](crate::Issuer) in tests): the IdP's
//! path form is kept (Auth0's trailing `/`, Entra ID's `/{tid}/v2.0` and `/{tid}/`, Keycloak's
//! `/realms/{realm}`, Okta's `/oauth2/{server}`), the host is the base's.

use serde_json::{Value, json};

use crate::{Issuer, TestKey, now};

/// An IdP's token layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Amazon Cognito user pool: access tokens have no `aud`; `client_id`, `token_use`,
    /// `cognito:groups`, scopes `resource-server/scope`.
    Cognito,
    /// Microsoft Entra ID v2.0: `iss` `…/{tid}/v2.0`, `scp` a space-separated string, `roles`,
    /// `azp`, `tid`, header `x5t`.
    Entra,
    /// Microsoft Entra ID v1.0: `iss` `https://sts.windows.net/{tid}/`, `appid`.
    EntraV1,
    /// Auth0: `iss` ends with `/`, `aud` an array, `azp`, RBAC `permissions`, namespaced claims.
    Auth0,
    /// Okta custom authorization server: `scp` an array, `cid`, `uid`.
    Okta,
    /// Keycloak: `typ` claim `Bearer`, `azp`, `realm_access.roles`, `resource_access.*.roles`.
    Keycloak,
    /// Ory Hydra JWT access tokens: `scp` an array, `client_id`, `ext`, `aud` often empty.
    Hydra,
}

/// What goes into a shaped token. Everything but the issuer base has a default (see
/// [`TokenSpec::new`]).
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// The IdP's base URL (`http://127.0.0.1:PORT`); the shape adds its path.
    pub base: String,
    /// The client the token is issued to.
    pub client_id: String,
    /// The API (resource) the token is for, where the shape has an `aud`.
    pub audience: String,
    /// The end user (`sub`); the client itself for Cognito/Hydra client-credentials forms.
    pub subject: String,
    /// Scopes, as the shape writes them (Auth0: in RBAC `permissions`; its `scope` holds the
    /// OIDC scopes).
    pub scopes: Vec<String>,
    /// Groups or roles, in the shape's claim (`cognito:groups`, `roles`, `realm_access.roles`
    /// and `resource_access.shop.roles`, `https://example.com/roles`, `groups`, `ext.roles`).
    pub roles: Vec<String>,
    /// Entra ID's tenant (`tid`).
    pub tenant: String,
    /// Lifetime left, seconds.
    pub lifetime: i64,
}

/// The namespace of Auth0's custom claims in these tokens.
pub const AUTH0_NAMESPACE: &str = "https://example.com/";

/// The Keycloak realm of these tokens and the client whose roles sit in `resource_access`.
pub const KEYCLOAK_REALM: &str = "shop";

impl TokenSpec {
    /// A token for `base` with client `demo-client`, audience `petstore`, user `alice`, tenant
    /// `00000000-0000-0000-0000-00000000aaaa`, five minutes left, no scopes or roles.
    pub fn new(base: &str) -> TokenSpec {
        TokenSpec {
            base: base.trim_end_matches('/').to_owned(),
            client_id: "demo-client".into(),
            audience: "petstore".into(),
            subject: "alice".into(),
            scopes: Vec::new(),
            roles: Vec::new(),
            tenant: "00000000-0000-0000-0000-00000000aaaa".into(),
            lifetime: 300,
        }
    }

    /// Sets the scopes.
    pub fn scopes(mut self, scopes: &[&str]) -> TokenSpec {
        self.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Sets the groups / roles.
    pub fn roles(mut self, roles: &[&str]) -> TokenSpec {
        self.roles = roles.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Sets the client.
    pub fn client(mut self, client_id: &str) -> TokenSpec {
        self.client_id = client_id.into();
        self
    }

    /// Sets the audience.
    pub fn audience(mut self, audience: &str) -> TokenSpec {
        self.audience = audience.into();
        self
    }

    /// Sets the Entra ID tenant.
    pub fn tenant(mut self, tenant: &str) -> TokenSpec {
        self.tenant = tenant.into();
        self
    }
}

impl Shape {
    /// Every shape, in the README's order.
    pub const ALL: [Shape; 7] = [
        Shape::Cognito,
        Shape::Entra,
        Shape::EntraV1,
        Shape::Auth0,
        Shape::Okta,
        Shape::Keycloak,
        Shape::Hydra,
    ];

    /// Its name (`cognito`, `entra`, `entra-v1`, `auth0`, `okta`, `keycloak`, `hydra`).
    pub const fn name(self) -> &'static str {
        match self {
            Shape::Cognito => "cognito",
            Shape::Entra => "entra",
            Shape::EntraV1 => "entra-v1",
            Shape::Auth0 => "auth0",
            Shape::Okta => "okta",
            Shape::Keycloak => "keycloak",
            Shape::Hydra => "hydra",
        }
    }

    /// The shape named `name` (see [`name`](Self::name)).
    pub fn parse(name: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The `iss` of this shape's tokens for `spec`: the base with the IdP's path form.
    pub fn issuer(self, spec: &TokenSpec) -> String {
        let base = &spec.base;
        match self {
            Shape::Cognito | Shape::Hydra => base.clone(),
            Shape::Entra => format!("{base}/{}/v2.0", spec.tenant),
            Shape::EntraV1 => format!("{base}/{}/", spec.tenant),
            Shape::Auth0 => format!("{base}/"),
            Shape::Okta => format!("{base}/oauth2/default"),
            Shape::Keycloak => format!("{base}/realms/{KEYCLOAK_REALM}"),
        }
    }

    /// The issuer as configured: Entra ID's issuers as the `{tenantid}` template.
    pub fn issuer_setting(self, spec: &TokenSpec) -> String {
        match self {
            Shape::Entra => format!("{}/{{tenantid}}/v2.0", spec.base),
            Shape::EntraV1 => format!("{}/{{tenantid}}/", spec.base),
            _ => self.issuer(spec),
        }
    }

    /// Whether the keys must be given with `AUTHZ_JWKS_URI` in front of a loopback issuer that
    /// serves discovery only at its base (the shape's issuer has a path).
    pub fn needs_jwks_uri(self) -> bool {
        !matches!(self, Shape::Cognito | Shape::Hydra | Shape::Auth0)
    }

    /// A loopback issuer serving `key` for this shape's tokens: discovery and JWKS at its base
    /// (Auth0's discovery names the issuer with its trailing `/`, as Auth0's does). Tokens for
    /// it use `TokenSpec::new(&issuer.url())`; [`recipe`](Self::recipe) with
    /// `issuer.jwks_uri()` configures an authorizer for them.
    pub async fn start_issuer(self, key: &TestKey) -> Issuer {
        let issuer = Issuer::start().await;
        issuer.set_keys(vec![key.jwk()]);
        if self == Shape::Auth0 {
            issuer.set_discovery_issuer(Some(&format!("{}/", issuer.url())));
        }
        issuer
    }

    /// The JWT header the IdP writes for `key`.
    pub fn header(self, key: &TestKey) -> Value {
        let (alg, kid) = (key.alg(), key.kid());
        match self {
            // Cognito and Okta: `kid` and `alg` only.
            Shape::Cognito | Shape::Okta => json!({"kid": kid, "alg": alg}),
            // Entra ID: `x5t` (the certificate thumbprint, also the `kid`).
            Shape::Entra | Shape::EntraV1 => {
                json!({"typ": "JWT", "alg": alg, "x5t": kid, "kid": kid})
            }
            Shape::Auth0 | Shape::Keycloak | Shape::Hydra => {
                json!({"alg": alg, "typ": "JWT", "kid": kid})
            }
        }
    }

    /// The claims of an access token, to the IdP's documented layout.
    pub fn access_claims(self, spec: &TokenSpec) -> Value {
        let iss = self.issuer(spec);
        let (iat, exp) = (now(), now() + spec.lifetime);
        let scopes = spec.scopes.join(" ");
        let TokenSpec {
            client_id,
            audience,
            subject,
            roles,
            tenant,
            ..
        } = spec;
        match self {
            Shape::Cognito => json!({
                "sub": subject, "cognito:groups": roles, "iss": iss, "version": 2,
                "client_id": client_id, "origin_jti": "4a3f…", "event_id": "e-1",
                "token_use": "access", "scope": scopes, "auth_time": iat, "exp": exp,
                "iat": iat, "jti": "j-1", "username": subject,
            }),
            Shape::Entra => json!({
                "aud": audience, "iss": iss, "iat": iat, "nbf": iat, "exp": exp, "aio": "AX…",
                "azp": client_id, "azpacr": "1", "name": "Alice", "oid": "0000-oid",
                "preferred_username": "alice@contoso.example", "rh": "0.A…", "roles": roles,
                "scp": scopes, "sub": subject, "tid": tenant, "uti": "u-1", "ver": "2.0",
            }),
            Shape::EntraV1 => json!({
                "aud": audience, "iss": iss, "iat": iat, "nbf": iat, "exp": exp, "acr": "1",
                "aio": "AX…", "amr": ["pwd"], "appid": client_id, "appidacr": "1",
                "name": "Alice", "oid": "0000-oid", "roles": roles, "scp": scopes,
                "sub": subject, "tid": tenant, "unique_name": "alice@contoso.example",
                "upn": "alice@contoso.example", "uti": "u-1", "ver": "1.0",
            }),
            Shape::Auth0 => json!({
                "iss": iss, "sub": format!("auth0|{subject}"),
                "aud": [audience, format!("{iss}userinfo")], "iat": iat, "exp": exp,
                "azp": client_id, "scope": "openid profile email", "permissions": spec.scopes,
                format!("{AUTH0_NAMESPACE}roles"): roles,
            }),
            Shape::Okta => json!({
                "ver": 1, "jti": "AT.x", "iss": iss, "aud": audience, "iat": iat, "exp": exp,
                "cid": client_id, "uid": "00u1", "scp": spec.scopes, "auth_time": iat,
                "sub": format!("{subject}@example.com"), "groups": roles,
            }),
            Shape::Keycloak => json!({
                "exp": exp, "iat": iat, "auth_time": iat, "jti": "k-1", "iss": iss,
                "aud": [audience, "account"], "sub": subject, "typ": "Bearer",
                "azp": client_id, "session_state": "s-1", "acr": "1",
                "realm_access": {"roles": roles},
                "resource_access": {KEYCLOAK_REALM: {"roles": roles}, "account": {"roles": ["view-profile"]}},
                "scope": scopes, "sid": "s-1", "email_verified": true,
                "preferred_username": subject,
            }),
            Shape::Hydra => json!({
                "aud": [], "client_id": client_id, "exp": exp, "ext": {"roles": roles},
                "iat": iat, "iss": iss, "jti": "h-1", "nbf": iat, "scp": spec.scopes,
                "sub": subject,
            }),
        }
    }

    /// The claims of the same IdP's OIDC ID token for the same user and client.
    pub fn id_claims(self, spec: &TokenSpec) -> Value {
        let iss = self.issuer(spec);
        let (iat, exp) = (now(), now() + spec.lifetime);
        let TokenSpec {
            client_id,
            subject,
            tenant,
            roles,
            ..
        } = spec;
        match self {
            Shape::Cognito => json!({
                "sub": subject, "cognito:groups": roles, "email_verified": true, "iss": iss,
                "cognito:username": subject, "origin_jti": "4a3f…", "aud": client_id,
                "event_id": "e-1", "token_use": "id", "auth_time": iat, "exp": exp, "iat": iat,
                "jti": "j-2", "email": "alice@example.com",
            }),
            Shape::Entra | Shape::EntraV1 => json!({
                "aud": client_id, "iss": iss, "iat": iat, "nbf": iat, "exp": exp, "aio": "AX…",
                "name": "Alice", "nonce": "n-1", "oid": "0000-oid",
                "preferred_username": "alice@contoso.example", "rh": "0.A…", "sub": subject,
                "tid": tenant, "uti": "u-2", "ver": "2.0",
            }),
            Shape::Auth0 => json!({
                "iss": iss, "sub": format!("auth0|{subject}"), "aud": client_id, "iat": iat,
                "exp": exp, "nonce": "n-1", "sid": "s-1", "email": "alice@example.com",
            }),
            Shape::Okta => json!({
                "ver": 1, "sub": format!("{subject}@example.com"), "iss": iss, "aud": client_id,
                "iat": iat, "exp": exp, "jti": "ID.x", "amr": ["pwd"], "idp": "00o1",
                "nonce": "n-1", "auth_time": iat, "at_hash": "h-1",
            }),
            Shape::Keycloak => json!({
                "exp": exp, "iat": iat, "auth_time": iat, "jti": "k-2", "iss": iss,
                "aud": client_id, "sub": subject, "typ": "ID", "azp": client_id,
                "nonce": "n-1", "session_state": "s-1", "at_hash": "h-1", "acr": "1",
                "sid": "s-1", "email_verified": true, "preferred_username": subject,
            }),
            Shape::Hydra => json!({
                "aud": [client_id], "iss": iss, "iat": iat, "exp": exp, "sub": subject,
                "at_hash": "h-1", "nonce": "n-1", "auth_time": iat, "rat": iat, "sid": "s-1",
            }),
        }
    }

    /// An access token of this shape signed by `key`.
    pub fn access_token(self, key: &TestKey, spec: &TokenSpec) -> String {
        key.sign_with_header(&self.header(key), &self.access_claims(spec))
    }

    /// An ID token of this shape signed by `key`.
    pub fn id_token(self, key: &TestKey, spec: &TokenSpec) -> String {
        key.sign_with_header(&self.header(key), &self.id_claims(spec))
    }

    /// The authorizer variables of this shape's README recipe for `spec` (issuer, audience or
    /// client, scope claims); `jwks_uri` is added where [`needs_jwks_uri`](Self::needs_jwks_uri).
    pub fn recipe(self, spec: &TokenSpec, jwks_uri: &str) -> Vec<(&'static str, String)> {
        let mut env = vec![("AUTHZ_ISSUER", self.issuer_setting(spec))];
        match self {
            Shape::Cognito | Shape::Hydra => env.push(("AUTHZ_CLIENT_ID", spec.client_id.clone())),
            Shape::Entra | Shape::EntraV1 => {
                env.push(("AUTHZ_TENANTS", spec.tenant.clone()));
                env.push(("AUTHZ_AUDIENCE", spec.audience.clone()));
                env.push(("AUTHZ_CLIENT_ID", spec.client_id.clone()));
                env.push(("AUTHZ_SCOPE_CLAIMS", "scp,roles".into()));
            }
            Shape::Auth0 => {
                env.push(("AUTHZ_AUDIENCE", spec.audience.clone()));
                env.push(("AUTHZ_SCOPE_CLAIMS", "scope,permissions".into()));
            }
            Shape::Okta => {
                env.push(("AUTHZ_AUDIENCE", spec.audience.clone()));
                env.push(("AUTHZ_CLIENT_ID", spec.client_id.clone()));
            }
            Shape::Keycloak => {
                env.push(("AUTHZ_AUDIENCE", spec.audience.clone()));
                env.push(("AUTHZ_CLIENT_ID", spec.client_id.clone()));
                env.push(("AUTHZ_SCOPE_CLAIMS", "scope,/realm_access/roles".into()));
            }
        }
        if self.needs_jwks_uri() {
            env.push(("AUTHZ_JWKS_URI", jwks_uri.to_owned()));
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_issuers_keep_their_form() {
        for s in Shape::ALL {
            assert_eq!(Shape::parse(s.name()), Some(s));
        }
        let spec = TokenSpec::new("http://127.0.0.1:1/").tenant("t1");
        assert_eq!(Shape::Auth0.issuer(&spec), "http://127.0.0.1:1/");
        assert_eq!(Shape::Entra.issuer(&spec), "http://127.0.0.1:1/t1/v2.0");
        assert_eq!(Shape::EntraV1.issuer(&spec), "http://127.0.0.1:1/t1/");
        assert_eq!(
            Shape::Entra.issuer_setting(&spec),
            "http://127.0.0.1:1/{tenantid}/v2.0"
        );
        let cognito = Shape::Cognito.access_claims(&spec.clone().scopes(&["petstore/read"]));
        assert!(cognito.get("aud").is_none());
        assert_eq!(cognito["token_use"], "access");
        assert_eq!(cognito["scope"], "petstore/read");
        let entra = Shape::Entra.access_claims(&spec.clone().scopes(&["a", "b"]));
        assert_eq!(entra["scp"], "a b", "a space-separated string");
        let okta = Shape::Okta.access_claims(&spec.scopes(&["a", "b"]));
        assert_eq!(okta["scp"], json!(["a", "b"]), "an array");
    }
}
