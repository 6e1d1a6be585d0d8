//! Access tokens shaped like each IdP's (authz_testkit::idp) through the real binary, configured
//! with the README recipe's variables: allow, scopes from the IdP's scope claim, role rules on
//! the IdP's (nested or namespaced) claim, wrong client, ID token refused, Entra ID's tenants.

use authz_testkit::{
    Issuer, LambdaProcess, Outcome, TestKey,
    fixtures::{last_reason, start_authorizer, unauthorized},
    idp::{Shape, TokenSpec},
};
use serde_json::json;

use super::{BIN, allows, bearer_event};

/// The route scope and the role rule's claim name for `shape`.
fn scope_and_role_claim(shape: Shape) -> (&'static str, &'static str) {
    match shape {
        Shape::Cognito => ("petstore/read", "cognito:groups"),
        Shape::Entra | Shape::EntraV1 => ("Pets.Read", "roles"),
        Shape::Auth0 => ("read:pets", "https://example.com/roles"),
        Shape::Okta => ("pets.read", "groups"),
        Shape::Keycloak => ("pets.read", "/resource_access/shop/roles"),
        Shape::Hydra => ("pets.read", "/ext/roles"),
    }
}

/// Starts the authorizer with `shape`'s recipe for `spec` plus `extra`; `AUTHZ_AUDIENCE` is
/// unset where the recipe has none (Cognito, Hydra: the client is checked instead).
async fn start(
    shape: Shape,
    issuer: &Issuer,
    spec: &TokenSpec,
    extra: &[(&str, &str)],
) -> LambdaProcess {
    let (scope, role_claim) = scope_and_role_claim(shape);
    let routes = json!([
        {"route": "GET /pets", "scopes": [scope]},
        {"route": "GET /admin", "claims": {role_claim: "admin"}},
    ])
    .to_string();
    let recipe = shape.recipe(spec, &issuer.jwks_uri());
    let mut env: Vec<(&str, &str)> = vec![("AUTHZ_AUDIENCE", ""), ("AUTHZ_ROUTES", &routes)];
    env.extend(recipe.iter().map(|(k, v)| (*k, v.as_str())));
    env.extend_from_slice(extra);
    start_authorizer(BIN, issuer, &env).await
}

fn spec(issuer: &Issuer, shape: Shape) -> TokenSpec {
    let (scope, _) = scope_and_role_claim(shape);
    TokenSpec::new(&issuer.url())
        .client("demo-client")
        .audience(if shape == Shape::Okta {
            "api://default"
        } else {
            "petstore"
        })
        .scopes(&[scope])
        .roles(&["admin", "user"])
}

/// The policy for `token` allows (`/pets`, `/admin`), or the process answered 401 and logged
/// this reason.
/// One shape's issuer (signing with `k1`), its token spec, and the authorizer trusting it with
/// its recipe (keep the issuer alive as long as the authorizer).
async fn started(shape: Shape) -> (TestKey, Issuer, TokenSpec, LambdaProcess) {
    let key = TestKey::rsa("k1");
    let issuer = shape.start_issuer(&key).await;
    let spec = spec(&issuer, shape);
    let p = start(shape, &issuer, &spec, &[]).await;
    (key, issuer, spec, p)
}

async fn outcome(p: &LambdaProcess, token: &str) -> Result<(bool, bool), String> {
    let pets = p.invoke(&bearer_event(token, "/pets")).await;
    if pets == unauthorized() {
        return Err(last_reason(p).await);
    }
    let admin = p.invoke(&bearer_event(token, "/admin")).await;
    Ok((
        allows(&pets, "/pets").expect("a policy"),
        allows(&admin, "/admin").expect("a policy"),
    ))
}

#[tokio::test]
async fn every_shape_allows_its_access_token_and_refuses_its_id_token() {
    for shape in Shape::ALL {
        let (key, _issuer, spec, p) = started(shape).await;
        let name = shape.name();
        let access = shape.access_token(&key, &spec);
        assert_eq!(
            outcome(&p, &access).await,
            Ok((true, true)),
            "{name}: allow"
        );
        let no_scope = shape.access_token(&key, &spec.clone().scopes(&["other"]));
        assert_eq!(
            outcome(&p, &no_scope).await,
            Ok((false, true)),
            "{name}: scope from its claim"
        );
        let no_role = shape.access_token(&key, &spec.clone().roles(&["user"]));
        assert_eq!(
            outcome(&p, &no_role).await,
            Ok((true, false)),
            "{name}: role rule"
        );
        let id = shape.id_token(&key, &spec);
        assert_eq!(
            outcome(&p, &id).await,
            Err("not_access_token".into()),
            "{name}: its ID token"
        );
        let other_client = shape.access_token(&key, &spec.clone().client("other-client"));
        let want = if shape == Shape::Auth0 {
            Ok((true, true))
        } else {
            Err("wrong_client".into())
        };
        assert_eq!(
            outcome(&p, &other_client).await,
            want,
            "{name}: another client"
        );
        let other_api = shape.access_token(&key, &spec.clone().audience("other-api"));
        let want = match shape {
            // No audience in the recipe: Cognito has no `aud`, Hydra's is empty.
            Shape::Cognito | Shape::Hydra => Ok((true, true)),
            _ => Err("wrong_audience".into()),
        };
        assert_eq!(outcome(&p, &other_api).await, want, "{name}: another API");
    }
}

#[tokio::test]
async fn cognito_id_tokens_only_with_accept_id_tokens_and_refresh_tokens_never() {
    let key = TestKey::rsa("k1");
    let shape = Shape::Cognito;
    let issuer = shape.start_issuer(&key).await;
    let spec = spec(&issuer, shape);
    let p = start(shape, &issuer, &spec, &[("AUTHZ_ACCEPT_ID_TOKENS", "true")]).await;
    let id = shape.id_token(&key, &spec);
    // An ID token has no scopes: the scoped route is denied, the group rule holds.
    assert_eq!(outcome(&p, &id).await, Ok((false, true)));
    let other = shape.id_token(&key, &spec.clone().client("other-client"));
    assert_eq!(outcome(&p, &other).await, Err("wrong_client".into()));
    let mut refresh = shape.access_claims(&spec);
    refresh["token_use"] = json!("refresh");
    let refresh = key.sign_with_header(&shape.header(&key), &refresh);
    assert_eq!(outcome(&p, &refresh).await, Err("not_access_token".into()));
    // Keycloak's refresh and logout tokens say so in `typ`; a header `typ` can say so too.
    let mut logout = shape.access_claims(&spec);
    logout["typ"] = json!("Logout");
    let logout = key.sign_with_header(&shape.header(&key), &logout);
    assert_eq!(outcome(&p, &logout).await, Err("not_access_token".into()));
    let header = json!({"alg": key.alg(), "kid": key.kid(), "typ": "logout+jwt"});
    let set = key.sign_with_header(&header, &shape.access_claims(&spec));
    assert_eq!(outcome(&p, &set).await, Err("not_access_token".into()));
    let header = json!({"alg": key.alg(), "kid": key.kid(), "typ": "at+jwt"});
    let rfc9068 = key.sign_with_header(&header, &shape.access_claims(&spec));
    assert_eq!(outcome(&p, &rfc9068).await, Ok((true, true)));
}

/// The claim `shape`'s IdP names the client in, and another client claim an attacker-chosen or
/// custom claim could add beside it.
fn client_claims(shape: Shape) -> Option<(&'static str, &'static str)> {
    match shape {
        Shape::Cognito | Shape::Hydra => Some(("client_id", "azp")),
        Shape::Entra | Shape::Keycloak => Some(("azp", "client_id")),
        Shape::EntraV1 => Some(("appid", "client_id")),
        Shape::Okta => Some(("cid", "client_id")),
        // The recipe checks the audience only.
        Shape::Auth0 => None,
    }
}

/// Issue 22, items 4 and 5, on every shape through the real binary: a second client claim
/// naming an allowed client does not override the IdP's own one naming another (`cid:
/// other-client` beside `client_id: demo-client`); a token with an `events` claim (OIDC
/// back-channel logout, a RISC security event) is refused whatever its header `typ` (`JWT` or
/// none) and claims.
#[tokio::test]
async fn every_client_claim_must_be_allowed_and_security_events_are_refused() {
    for shape in Shape::ALL {
        let (key, _issuer, spec, p) = started(shape).await;
        let name = shape.name();
        let sign = |claims: &serde_json::Value| key.sign_with_header(&shape.header(&key), claims);
        if let Some((own, other)) = client_claims(shape) {
            let mut claims = shape.access_claims(&spec.clone().client("other-client"));
            assert_eq!(claims[own], "other-client", "{name}: its own client claim");
            claims[other] = json!("demo-client");
            assert_eq!(
                outcome(&p, &sign(&claims)).await,
                Err("wrong_client".into()),
                "{name}: {own} other-client beside {other} demo-client"
            );
            let mut agreeing = shape.access_claims(&spec);
            agreeing[other] = json!("demo-client");
            assert_eq!(
                outcome(&p, &sign(&agreeing)).await,
                Ok((true, true)),
                "{name}: both claims name the allowed client"
            );
        }
        let mut logout = shape.access_claims(&spec);
        logout["sid"] = json!("s-1");
        logout["events"] = json!({"http://schemas.openid.net/event/backchannel-logout": {}});
        let mut risc = shape.access_claims(&spec);
        risc["events"] = json!({
            "https://schemas.openid.net/secevent/risc/event-type/account-disabled":
                {"subject": {"subject_type": "iss-sub", "iss": risc["iss"], "sub": risc["sub"]}}
        });
        let no_typ = json!({"alg": key.alg(), "kid": key.kid()});
        for (what, claims) in [("logout token", &logout), ("RISC event", &risc)] {
            for header in [shape.header(&key), no_typ.clone()] {
                let token = key.sign_with_header(&header, claims);
                assert_eq!(
                    outcome(&p, &token).await,
                    Err("not_access_token".into()),
                    "{name}: a {what} with header {header}"
                );
            }
        }
    }
}

#[tokio::test]
async fn entra_tenants_are_an_allow_list() {
    for shape in [Shape::Entra, Shape::EntraV1] {
        let key = TestKey::rsa("k1");
        let issuer = shape.start_issuer(&key).await;
        let spec = spec(&issuer, shape);
        let second = "00000000-0000-0000-0000-00000000bbbb";
        let tenants = format!("{},{second}", spec.tenant);
        let p = start(shape, &issuer, &spec, &[("AUTHZ_TENANTS", &tenants)]).await;
        let name = shape.name();
        for tenant in [spec.tenant.as_str(), second] {
            let token = shape.access_token(&key, &spec.clone().tenant(tenant));
            assert_eq!(
                outcome(&p, &token).await,
                Ok((true, true)),
                "{name}: {tenant}"
            );
        }
        let stranger = spec.clone().tenant("00000000-0000-0000-0000-00000000cccc");
        let token = shape.access_token(&key, &stranger);
        assert_eq!(
            outcome(&p, &token).await,
            Err("unknown_issuer".into()),
            "{name}"
        );
        // An allowed tenant's issuer with another tenant's `tid`.
        let mut claims = shape.access_claims(&spec);
        claims["tid"] = json!(second);
        let mixed = key.sign_with_header(&shape.header(&key), &claims);
        assert_eq!(
            outcome(&p, &mixed).await,
            Err("invalid_claim".into()),
            "{name}"
        );
    }
    // Without the allow-list the template does not start: never any tenant by accident.
    let key = TestKey::rsa("k1");
    let issuer = Shape::Entra.start_issuer(&key).await;
    let spec = spec(&issuer, Shape::Entra);
    let mut p = start(Shape::Entra, &issuer, &spec, &[("AUTHZ_TENANTS", "")]).await;
    let e = p
        .config_error("a tenant template without AUTHZ_TENANTS")
        .await;
    assert!(e.contains("AUTHZ_TENANTS"), "{e}");
}

#[tokio::test]
async fn nested_and_namespaced_claims_reach_rules_and_context() {
    let key = TestKey::rsa("k1");
    let shape = Shape::Keycloak;
    let issuer = shape.start_issuer(&key).await;
    let spec = spec(&issuer, shape).roles(&["admin"]);
    let p = start(
        shape,
        &issuer,
        &spec,
        &[(
            "AUTHZ_CONTEXT_CLAIMS",
            "/realm_access/roles,preferred_username",
        )],
    )
    .await;
    let Outcome::Response(r) = p
        .invoke(&bearer_event(&shape.access_token(&key, &spec), "/pets"))
        .await
    else {
        panic!("a policy")
    };
    assert_eq!(r["context"]["/realm_access/roles"], "admin");
    assert_eq!(r["context"]["preferred_username"], "alice");
    assert_eq!(
        r["context"]["client_id"], "demo-client",
        "the client is `azp`"
    );
    // `/realm_access/roles` is also a scope claim in the recipe: a realm role serves as a scope.
    let role_as_scope = spec.clone().scopes(&[]).roles(&["pets.read", "admin"]);
    let token = shape.access_token(&key, &role_as_scope);
    assert_eq!(outcome(&p, &token).await, Ok((true, true)));
}
