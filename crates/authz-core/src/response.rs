//! Rendering decisions as API Gateway responses. Pure.

use aws_lambda_events::{
    apigw::{
        ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse,
        ApiGatewayV2CustomAuthorizerSimpleResponse,
    },
    iam::{IamPolicyEffect, IamPolicyStatement},
};
use serde_json::{Map, Value};

use crate::{claims::Claims, policy::Statement};

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

/// A REST policy for a verified caller from its statements: one IAM statement per effect, with
/// the `context` and, when configured, the `usageIdentifierKey` from a claim.
pub fn rest_policy(
    claims: &Claims,
    statements: Vec<Statement>,
    settings: &RenderSettings,
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
    r.usage_identifier_key = settings
        .usage_identifier_claim
        .as_ref()
        .and_then(|c| claims.all.get(c))
        .and_then(Value::as_str)
        .map(str::to_owned);
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
        let c = claims(json!({"plan_key": "key-123"}));
        let r = rest_policy(
            &c,
            vec![
                Statement::allow("arn:x/prod/*"),
                Statement::deny("arn:x/prod/GET/admin"),
            ],
            &settings,
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
        assert_eq!(v["usageIdentifierKey"], "key-123");
        assert_eq!(v["context"]["sub"], "alice");
        let d = serde_json::to_value(rest_deny("alice", "arn:x/prod/GET/")).unwrap_or_default();
        assert_eq!(d["policyDocument"]["Statement"][0]["Effect"], "Deny");
    }
}
