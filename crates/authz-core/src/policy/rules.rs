//! Route rules and their matching as API Gateway routes a request (most specific wins).

use crate::{claims::Claims, error::AuthzError};

/// One route rule: which tokens may use a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The route as written: `METHOD /path` or `$default`.
    pub route: String,
    pub(super) method: Method,
    pub(super) segments: Vec<Segment>,
    /// Any one of these scopes is enough (API Gateway `authorizationScopes` semantics).
    pub scopes: Vec<String>,
    /// Every claim must equal the value, or contain it when the claim is an array.
    pub claims: Vec<(String, serde_json::Value)>,
    /// The route's Cedar decider, when its decisions come from Cedar (after `scopes` and
    /// `claims`, which still must hold).
    #[cfg(feature = "cedar")]
    pub(crate) cedar: Option<super::cedar::CedarRoute>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Method {
    Any,
    Verb(String),
    /// HTTP APIs' `$default` route: whatever no other route matched.
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    Literal(String),
    /// `{name}`: exactly one segment.
    Param,
    /// `{name+}`: one or more remaining segments.
    Greedy,
}

const VERBS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

/// The HTTP methods `ANY` stands for (API Gateway's methods; a method ARN has one of them).
pub const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl Rule {
    /// Parses `METHOD /path` (API Gateway templates `{param}`, `{proxy+}`, method `ANY`) or
    /// `$default`. The error says what is wrong, for a message naming the rule.
    pub fn new(
        route: &str,
        scopes: Vec<String>,
        claims: Vec<(String, serde_json::Value)>,
    ) -> Result<Rule, String> {
        if scopes.iter().any(|s| s.is_empty() || s.contains(' ')) {
            return Err("scopes must be non-empty words".into());
        }
        for (name, value) in &claims {
            if name.is_empty() || !(value.is_string() || value.is_number() || value.is_boolean()) {
                return Err(format!(
                    "claim `{name}` must map to a string, number or boolean"
                ));
            }
        }
        let (method, segments) = if route == "$default" {
            (Method::Default, Vec::new())
        } else {
            let (verb, path) = route
                .split_once(' ')
                .ok_or("expected `METHOD /path` or `$default`")?;
            if !VERBS.contains(&verb) {
                return Err(format!(
                    "unknown method `{verb}` (one of {})",
                    VERBS.join(", ")
                ));
            }
            let method = if verb == "ANY" {
                Method::Any
            } else {
                Method::Verb(verb.to_owned())
            };
            (method, parse_path(path)?)
        };
        Ok(Rule {
            route: route.to_owned(),
            method,
            segments,
            scopes,
            claims,
            #[cfg(feature = "cedar")]
            cedar: None,
        })
    }

    /// This rule, decided by Cedar as well.
    #[cfg(feature = "cedar")]
    pub(crate) fn with_cedar(self, cedar: super::cedar::CedarRoute) -> Rule {
        Rule {
            cedar: Some(cedar),
            ..self
        }
    }

    /// Whether the verified `claims` satisfy this rule; for a Cedar-decided rule, logs the
    /// policies that determined the answer (their ids, never a claim value) and those that erred.
    pub fn check(&self, claims: &Claims) -> Result<(), AuthzError> {
        self.decide(claims, true)
    }

    /// Logs the Cedar decision for `claims` when this rule is Cedar-decided (as
    /// [`check`](Self::check) does); nothing otherwise.
    pub fn log_cedar(&self, claims: &Claims) {
        #[cfg(feature = "cedar")]
        if self.cedar.is_some() {
            let _ = self.decide(claims, true);
        }
        #[cfg(not(feature = "cedar"))]
        let _ = claims;
    }

    /// [`check`](Self::check), logging nothing when `log` is false (the REST policy evaluates
    /// every rule; only the requested route's answer is logged).
    pub(super) fn decide(&self, claims: &Claims, log: bool) -> Result<(), AuthzError> {
        self.check_claims(claims)?;
        #[cfg(feature = "cedar")]
        if let Some(cedar) = &self.cedar {
            let answer = cedar.decide(claims);
            if log || !answer.errors.is_empty() {
                let decision = if answer.allowed { "allow" } else { "deny" };
                let (policies, errors) = (answer.reasons.join(","), answer.errors.join(","));
                if answer.errors.is_empty() {
                    tracing::info!(route = %self.route, action = %cedar.action(), decision, policies, "cedar decision");
                } else {
                    tracing::warn!(route = %self.route, action = %cedar.action(), decision, policies, errors, "cedar policy evaluation failed: denied");
                }
            }
            if !answer.allowed {
                return Err(AuthzError::PolicyDenied);
            }
        }
        #[cfg(not(feature = "cedar"))]
        let _ = log;
        Ok(())
    }

    fn check_claims(&self, claims: &Claims) -> Result<(), AuthzError> {
        if !self.scopes.is_empty() && !self.scopes.iter().any(|s| claims.scopes.contains(s)) {
            return Err(AuthzError::InsufficientScope);
        }
        for (name, want) in &self.claims {
            let ok = match claims.get(name) {
                Some(serde_json::Value::Array(items)) => items.contains(want),
                Some(v) => v == want,
                None => false,
            };
            if !ok {
                return Err(AuthzError::ClaimMismatch);
            }
        }
        Ok(())
    }

    /// Specificity of a match of this rule against an actual `path`, or `None`. Compared
    /// lexicographically, higher wins: per segment a literal beats `{param}` beats `{proxy+}`
    /// (API Gateway picks the most specific resource), then a verb beats `ANY`; `$default` loses
    /// to everything.
    fn match_path(&self, verb: &str, path: &[&str]) -> Option<Vec<u8>> {
        let verb_rank = match &self.method {
            Method::Verb(v) if v == verb => 1,
            Method::Any if METHODS.contains(&verb) => 0,
            Method::Any => return None,
            Method::Default => return Some(Vec::new()),
            Method::Verb(_) => return None,
        };
        let mut key = Vec::with_capacity(self.segments.len() + 1);
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Greedy if path.len() > i => {
                    key.extend([1, verb_rank]);
                    return Some(key);
                }
                Segment::Literal(l) if path.get(i) == Some(&l.as_str()) => key.push(3),
                Segment::Param if path.get(i).is_some() => key.push(2),
                _ => return None,
            }
        }
        (path.len() == self.segments.len()).then(|| {
            key.push(verb_rank);
            key
        })
    }
}

fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err("the path must start with `/`".into());
    };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let seg = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if name.ends_with('+') && name.len() > 1 => {
                if i + 1 != parts.len() {
                    return Err("a greedy `{name+}` segment must be last".into());
                }
                Segment::Greedy
            }
            Some(name)
                if !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                Segment::Param
            }
            Some(_) => return Err(format!("bad template segment `{part}`")),
            None if part.is_empty() => return Err("empty path segment".into()),
            None if part.contains(['{', '}', '*', '?', ' ']) => {
                return Err(format!("bad path segment `{part}`"));
            }
            None => Segment::Literal((*part).to_owned()),
        };
        out.push(seg);
    }
    Ok(out)
}

/// The rules in force for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules(pub Vec<Rule>);

impl Rules {
    /// The rule API Gateway would route `verb` + actual `path` (`/pets/42`) to, if any.
    ///
    /// Paths are taken as they are, never normalised: an empty segment (`/pets//mine`, a
    /// trailing `/pets/mine/`) matches no rule, so no spelling of a path can reach a rule that
    /// its canonical spelling is denied by (and IAM can deny every such spelling at once, see
    /// [`rest_statements`](super::rest_statements)). Only the root `/` is the empty path.
    pub fn for_path(&self, verb: &str, path: &str) -> Option<&Rule> {
        let path = path.strip_prefix('/').unwrap_or(path);
        let segs: Vec<&str> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('/').collect()
        };
        if segs.iter().any(|s| s.is_empty()) {
            return None;
        }
        self.0
            .iter()
            .filter_map(|r| r.match_path(verb, &segs).map(|key| (key, r)))
            .max_by(|(a, _), (b, _)| a.cmp(b))
            .map(|(_, r)| r)
    }

    /// The rule for a route key as API Gateway names it (`GET /pets/{petId}`, `$default`):
    /// exact route first, then `ANY` with the same path.
    pub fn for_route_key(&self, route_key: &str) -> Option<&Rule> {
        if let Some(rule) = self.0.iter().find(|r| r.route == route_key) {
            return Some(rule);
        }
        let (_, path) = route_key.split_once(' ')?;
        self.0.iter().find(|r| {
            r.method == Method::Any && r.route.split_once(' ').map(|(_, p)| p) == Some(path)
        })
    }
}
