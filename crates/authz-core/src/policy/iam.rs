//! IAM as API Gateway applies it to an authorizer's policy: `Statement`, the statements of a
//! policy document, and evaluation with IAM's wildcards.

use serde_json::Value;

/// One IAM policy statement as far as API Gateway's evaluation goes: an effect and one
/// resource pattern (IAM wildcards `*` and `?`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `Allow` (true) or `Deny` (false).
    pub allow: bool,
    /// The resource pattern.
    pub resource: String,
}

impl Statement {
    /// An Allow on `resource`.
    pub fn allow(resource: impl Into<String>) -> Statement {
        Statement {
            allow: true,
            resource: resource.into(),
        }
    }

    /// A Deny on `resource`.
    pub fn deny(resource: impl Into<String>) -> Statement {
        Statement {
            allow: false,
            resource: resource.into(),
        }
    }
}

/// The statements of an IAM policy document (the `policyDocument` of a REST authorizer
/// answer), as API Gateway reads them: each statement whose `Action` (string or array) covers
/// `execute-api:Invoke` (`execute-api:Invoke`, `execute-api:*` or `*`) gives one [`Statement`]
/// per `Resource` (string or array of strings). `None` when there is no `Statement` array.
pub fn policy_statements(document: &Value) -> Option<Vec<Statement>> {
    let invoke = |a: &Value| a == "execute-api:Invoke" || a == "*" || a == "execute-api:*";
    let mut out = Vec::new();
    for st in document["Statement"].as_array()? {
        let allow = st["Effect"] == "Allow";
        let action_ok = match &st["Action"] {
            Value::String(_) => invoke(&st["Action"]),
            Value::Array(list) => list.iter().any(invoke),
            _ => false,
        };
        if !action_ok {
            continue;
        }
        match &st["Resource"] {
            Value::String(r) => out.push(Statement {
                allow,
                resource: r.clone(),
            }),
            Value::Array(list) => {
                out.extend(list.iter().filter_map(Value::as_str).map(|r| Statement {
                    allow,
                    resource: r.to_owned(),
                }))
            }
            _ => {}
        }
    }
    Some(out)
}

/// IAM evaluation of `statements` for `arn`: allowed when an Allow matches and no Deny does.
/// Patterns use IAM wildcards: `*` any run (including `/`), `?` one character.
pub fn evaluate(statements: &[Statement], arn: &str) -> bool {
    let matching = |allow: bool| {
        statements
            .iter()
            .any(|s| s.allow == allow && glob(s.resource.as_bytes(), arn.as_bytes()))
    };
    matching(true) && !matching(false)
}

pub(super) fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|b| *b == b'*')
}
