//! Rendering decisions as API Gateway responses. Pure.

use aws_lambda_events::{
    apigw::{
        ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse,
        ApiGatewayV2CustomAuthorizerSimpleResponse,
    },
    iam::{IamPolicyEffect, IamPolicyStatement},
};
use serde_json::{Map, Value};

use crate::{claims::Claims, error::AuthzError, policy::Statement};

/// API Gateway's shortest API key value, in characters (`CreateApiKey` refuses shorter ones): a
/// `usageIdentifierKey` shorter than this matches no key, and API Gateway answers 403.
pub const MIN_API_KEY_LENGTH: usize = 20;

/// What the rendering of an allowed caller's answer adds from the claims.
#[derive(Debug, Clone, Default)]
pub struct RenderSettings {
    /// Extra claims copied into the authorizer `context` (scalars; arrays of scalars joined by `,`).
    pub context_claims: Vec<String>,
    /// Claim whose value becomes `usageIdentifierKey` (REST usage plans).
    pub usage_identifier_claim: Option<String>,
}

/// The authorizer `context`: `sub`, `scope`, `client_id`, `iss` and the configured claims.
/// Values are strings, numbers or booleans only (REST rejects objects and arrays): an array of
/// scalars is joined with `,`, anything else is left out. Absent claims are left out, never null.
pub fn context(claims: &Claims, extra: &[String]) -> Map<String, Value> {
    let mut ctx = Map::new();
    ctx.insert("iss".into(), Value::String(claims.iss.clone()));
    if let Some(sub) = &claims.sub {
        ctx.insert("sub".into(), Value::String(sub.clone()));
    }
    if let Some(client_id) = &claims.client_id {
        ctx.insert("client_id".into(), Value::String(client_id.clone()));
    }
    if !claims.scopes.is_empty() {
        ctx.insert("scope".into(), Value::String(claims.scopes.join(" ")));
    }
    for name in extra {
        if let Some(v) = claims.get(name).and_then(scalar) {
            ctx.insert(name.clone(), v);
        }
    }
    ctx
}

fn scalar(v: &Value) -> Option<Value> {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Some(v.clone()),
        Value::Array(items) if !items.is_empty() => {
            let parts: Option<Vec<String>> = items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Bool(b) => Some(b.to_string()),
                    _ => None,
                })
                .collect();
            parts.map(|p| Value::String(p.join(",")))
        }
        _ => None,
    }
}

fn statement(effect: IamPolicyEffect, resources: Vec<String>) -> IamPolicyStatement {
    let mut s = IamPolicyStatement::default();
    s.action = vec!["execute-api:Invoke".to_owned()];
    s.effect = effect;
    s.resource = resources;
    s
}

fn rest(
    principal: &str,
    statements: Vec<IamPolicyStatement>,
) -> ApiGatewayCustomAuthorizerResponse {
    let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
    policy.version = Some("2012-10-17".to_owned());
    policy.statement = statements;
    let mut r = ApiGatewayCustomAuthorizerResponse::default();
    r.principal_id = Some(principal.to_owned());
    r.policy_document = policy;
    r.context = Value::Object(Map::new());
    r
}

/// The `usageIdentifierKey` of a verified caller: `None` when no claim is configured, else the
/// claim's value, which must be a string of at least [`MIN_API_KEY_LENGTH`] characters (else
/// [`AuthzError::UsageIdentifierInvalid`]: no API key can have that value). A function of the
/// token alone, so a cached answer is right for every request with the same token.
pub fn usage_identifier_key(
    claims: &Claims,
    settings: &RenderSettings,
) -> Result<Option<String>, AuthzError> {
    let Some(name) = &settings.usage_identifier_claim else {
        return Ok(None);
    };
    match claims.all.get(name).and_then(Value::as_str) {
        Some(v) if v.chars().count() >= MIN_API_KEY_LENGTH => Ok(Some(v.to_owned())),
        _ => Err(AuthzError::UsageIdentifierInvalid),
    }
}

/// A REST policy for a verified caller from its statements: one IAM statement per effect, with
/// the `context` and the `usageIdentifierKey` (from [`usage_identifier_key`]).
pub fn rest_policy(
    claims: &Claims,
    statements: Vec<Statement>,
    settings: &RenderSettings,
    usage_identifier_key: Option<String>,
) -> ApiGatewayCustomAuthorizerResponse {
    let (allow, deny): (Vec<_>, Vec<_>) = statements.into_iter().partition(|s| s.allow);
    let mut out = Vec::with_capacity(2);
    for (effect, list) in [
        (IamPolicyEffect::Allow, allow),
        (IamPolicyEffect::Deny, deny),
    ] {
        if !list.is_empty() {
            out.push(statement(
                effect,
                list.into_iter().map(|s| s.resource).collect(),
            ));
        }
    }
    let mut r = rest(claims.principal(), out);
    r.context = Value::Object(context(claims, &settings.context_claims));
    r.usage_identifier_key = usage_identifier_key;
    r
}

/// A REST policy explicitly denying `resource` (API Gateway answers 403).
pub fn rest_deny(principal: &str, resource: &str) -> ApiGatewayCustomAuthorizerResponse {
    rest(
        principal,
        vec![statement(IamPolicyEffect::Deny, vec![resource.to_owned()])],
    )
}

/// An HTTP API simple response; `context` only travels with an authorized answer.
pub fn simple(
    authorized: bool,
    ctx: Map<String, Value>,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let mut r = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    r.is_authorized = authorized;
    r.context = Value::Object(ctx);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(all: Value) -> Claims {
        Claims {
            iss: "https://idp".into(),
            sub: Some("alice".into()),
            client_id: None,
            scopes: vec!["read".into(), "write".into()],
            all: all.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn context_is_scalar_only() {
        let c = claims(
            json!({"email": "a@x", "groups": ["a", "b"], "n": 3, "obj": {"x": 1}, "mixed": [1, {}]}),
        );
        let extra = ["email", "groups", "n", "obj", "mixed", "absent"].map(String::from);
        let ctx = context(&c, &extra);
        assert_eq!(
            Value::Object(ctx),
            json!({"iss": "https://idp", "sub": "alice", "scope": "read write", "email": "a@x", "groups": "a,b", "n": 3})
        );
    }

    #[test]
    fn allow_policy_shape() {
        let settings = RenderSettings {
            context_claims: Vec::new(),
            usage_identifier_claim: Some("plan_key".into()),
        };
        let c = claims(json!({"plan_key": "key-123-4567890123456"}));
        let key = usage_identifier_key(&c, &settings).unwrap_or_default();
        let r = rest_policy(
            &c,
            vec![
                Statement::allow("arn:x/prod/*"),
                Statement::deny("arn:x/prod/GET/admin"),
            ],
            &settings,
            key,
        );
        let v = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(v["principalId"], "alice");
        assert_eq!(v["policyDocument"]["Version"], "2012-10-17");
        assert_eq!(v["policyDocument"]["Statement"][0]["Effect"], "Allow");
        assert_eq!(
            v["policyDocument"]["Statement"][0]["Action"],
            json!(["execute-api:Invoke"])
        );
        assert_eq!(
            v["policyDocument"]["Statement"][0]["Resource"],
            json!(["arn:x/prod/*"])
        );
        assert_eq!(v["policyDocument"]["Statement"][1]["Effect"], "Deny");
        assert_eq!(
            v["policyDocument"]["Statement"][1]["Resource"],
            json!(["arn:x/prod/GET/admin"])
        );
        assert_eq!(v["usageIdentifierKey"], "key-123-4567890123456");
        assert_eq!(v["context"]["sub"], "alice");
        let d = serde_json::to_value(rest_deny("alice", "arn:x/prod/GET/")).unwrap_or_default();
        assert_eq!(d["policyDocument"]["Statement"][0]["Effect"], "Deny");
    }

    /// API Gateway has no API key shorter than 20 characters: a claim value that could never
    /// match one is refused (403 with its own reason), never passed on to fail without a trace.
    #[test]
    fn usage_identifier_must_be_a_possible_api_key_value() {
        let settings = RenderSettings {
            context_claims: Vec::new(),
            usage_identifier_claim: Some("plan_key".into()),
        };
        let shortest = "k".repeat(MIN_API_KEY_LENGTH);
        let short = "k".repeat(MIN_API_KEY_LENGTH - 1);
        assert_eq!(
            usage_identifier_key(&claims(json!({"plan_key": shortest})), &settings),
            Ok(Some(shortest.clone()))
        );
        // Characters, not bytes: 19 two-byte characters are still too short.
        let wide = "é".repeat(MIN_API_KEY_LENGTH - 1);
        for all in [
            json!({"plan_key": short}),
            json!({"plan_key": wide}),
            json!({"plan_key": ""}),
            json!({}),
            json!({"plan_key": 12_345_678_901_234_567_890_u64}),
            json!({"plan_key": [shortest]}),
        ] {
            assert_eq!(
                usage_identifier_key(&claims(all.clone()), &settings),
                Err(AuthzError::UsageIdentifierInvalid),
                "{all}"
            );
        }
        // No claim configured: no key, whatever the token carries.
        let none = RenderSettings::default();
        assert_eq!(
            usage_identifier_key(&claims(json!({"plan_key": "x"})), &none),
            Ok(None)
        );
    }
}
