//! Pure decisions: what a verified caller may do. No I/O, no clock.

use std::collections::HashMap;

use serde_json::Value;

use crate::{claims::Claims, error::AuthzError};

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

/// The parts of a REST `methodArn`:
/// `arn:PARTITION:execute-api:REGION:ACCOUNT:API_ID/STAGE/VERB/RESOURCE...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodArn<'a> {
    /// `arn:PARTITION:execute-api:REGION:ACCOUNT`.
    pub prefix: &'a str,
    /// API id.
    pub api_id: &'a str,
    /// Stage name.
    pub stage: &'a str,
    /// HTTP verb.
    pub verb: &'a str,
    /// Resource path without the leading slash (may be empty for `/`).
    pub resource: &'a str,
}

impl<'a> MethodArn<'a> {
    /// Parses and checks the shape; anything else is an invalid event (API Gateway never sends it).
    pub fn parse(arn: &'a str) -> Result<MethodArn<'a>, AuthzError> {
        let bad = || AuthzError::InvalidEvent("methodArn is not an execute-api method ARN".into());
        if arn.len() > 1600 {
            return Err(bad());
        }
        let mut fields = arn.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some("execute-api"),
            Some(region),
            Some(account),
            Some(path),
        ) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        )
        else {
            return Err(bad());
        };
        let simple = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !simple(partition) || !simple(region) || !simple(account) {
            return Err(bad());
        }
        let prefix = &arn[..arn.len() - path.len() - 1];
        let mut segs = path.splitn(4, '/');
        let (Some(api_id), Some(stage), Some(verb)) = (segs.next(), segs.next(), segs.next())
        else {
            return Err(bad());
        };
        if !simple(api_id) || stage.is_empty() || stage.contains('*') || verb.is_empty() {
            return Err(bad());
        }
        Ok(MethodArn {
            prefix,
            api_id,
            stage,
            verb,
            resource: segs.next().unwrap_or(""),
        })
    }

    /// `…:API_ID/STAGE/*`: every method of every resource of this stage.
    pub fn stage_wildcard(&self) -> String {
        format!("{}:{}/{}/*", self.prefix, self.api_id, self.stage)
    }

    /// `VERB /resource`, for logs.
    pub fn route(&self) -> String {
        format!("{} /{}", self.verb, self.resource)
    }
}

/// The API ARN allow-list: empty allows any API; an entry `…:API_ID` allows every stage of that
/// API, `…:API_ID/STAGE` one stage.
pub fn api_allowed(allowed: &[String], arn: &MethodArn<'_>) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let api = format!("{}:{}", arn.prefix, arn.api_id);
    allowed.iter().any(|entry| {
        entry == &api
            || entry
                .strip_prefix(api.as_str())
                .and_then(|s| s.strip_prefix('/'))
                == Some(arn.stage)
    })
}

/// One route rule: which tokens may use a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The route as written: `METHOD /path` or `$default`.
    pub route: String,
    method: Method,
    segments: Vec<Segment>,
    /// Any one of these scopes is enough (API Gateway `authorizationScopes` semantics).
    pub scopes: Vec<String>,
    /// Every claim must equal the value, or contain it when the claim is an array.
    pub claims: Vec<(String, serde_json::Value)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Method {
    Any,
    Verb(String),
    /// HTTP APIs' `$default` route: whatever no other route matched.
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
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
        })
    }

    /// Whether the verified `claims` satisfy this rule.
    pub fn check(&self, claims: &Claims) -> Result<(), AuthzError> {
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
    /// [`rest_statements`]). Only the root `/` is the empty path.
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

/// A REST policy that is right for every route of the stage, because API Gateway caches it per
/// identity source (the token alone for a TOKEN authorizer) and reuses it for every method ARN:
/// for every method ARN `B` of the stage, [`evaluate`] of these statements against `B` is the
/// decision a fresh call for `B` makes (`for_path` + [`Rule::check`]), provided the rules
/// passed [`Rules::rest_cache_conflict`] (the cold start refuses them otherwise).
///
/// * Allow each rule `claims` satisfy, one resource per method (`ANY` is listed method by
///   method: a `*` in the method position would also match across `/`, into other paths);
/// * Deny every deeper path a satisfied rule's `*` also matches (IAM's `*` matches across
///   `/`, a `{param}` is one segment): `…/GET/pets/*/*` beside `…/GET/pets/*`;
/// * Deny each unsatisfied literal rule (an exact resource);
/// * Deny every path with an empty segment (`…//…`, a trailing `/`), which no rule matches,
///   and the root `…/VERB/` when a `*` matches it but no satisfied rule does;
/// * Deny `arn` itself when a fresh decision denies it.
pub fn rest_statements(
    rules: &Rules,
    claims: &Claims,
    arn: &MethodArn<'_>,
    arn_text: &str,
) -> Vec<Statement> {
    let base = format!("{}:{}/{}", arn.prefix, arn.api_id, arn.stage);
    let mut out: Vec<Statement> = Vec::with_capacity(rules.0.len() + 4);
    fn push(out: &mut Vec<Statement>, statement: Statement) {
        if !out.contains(&statement) {
            out.push(statement);
        }
    }
    for rule in &rules.0 {
        let satisfied = rule.check(claims).is_ok();
        for verb in rules.methods_of(rule) {
            let pattern = rule.pattern();
            if satisfied {
                push(&mut out, Statement::allow(glob_text(&base, verb, &pattern)));
                for deeper in rule.deeper() {
                    push(&mut out, Statement::deny(glob_text(&base, verb, &deeper)));
                }
            } else if rule.literal_only() {
                push(&mut out, Statement::deny(glob_text(&base, verb, &pattern)));
            }
        }
    }
    if !rules.0.is_empty() {
        push(&mut out, Statement::deny(format!("{base}/*//*")));
        push(&mut out, Statement::deny(format!("{base}/*/*/")));
    }
    // A `*` right after the method also matches the empty path: the root `…/VERB/` is decided
    // exactly, like a literal route.
    for verb in METHODS {
        let root = format!("{base}/{verb}/");
        let allowed = rules
            .for_path(verb, "")
            .is_some_and(|rule| rule.check(claims).is_ok());
        if !allowed && evaluate(&out, &root) {
            push(&mut out, Statement::deny(root));
        }
    }
    let fresh = rules
        .for_path(arn.verb, arn.resource)
        .is_some_and(|rule| rule.check(claims).is_ok());
    if !fresh {
        push(&mut out, Statement::deny(arn_text));
    }
    out
}

/// One segment of a path language: what [`Rules::rest_cache_conflict`] reasons about. A glob
/// `*` between two `/` matches one or more whole segments of a path without empty segments
/// (`One` then `Many`), since every literal part of a pattern is a whole segment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok<'a> {
    /// Exactly this segment.
    Lit(&'a str),
    /// Exactly one segment.
    One,
    /// Zero or more segments.
    Many,
}

impl Rule {
    fn literal_only(&self) -> bool {
        self.method != Method::Default
            && self
                .segments
                .iter()
                .all(|s| matches!(s, Segment::Literal(_)))
    }

    /// The IAM glob of this rule (per method) as a path language: every template is `*`.
    fn pattern(&self) -> Vec<Tok<'_>> {
        self.language(&[Tok::One, Tok::Many])
    }

    /// The paths the rule matches (as `for_path` does), as a path language.
    fn structure(&self) -> Vec<Tok<'_>> {
        self.language(&[Tok::One])
    }

    /// The rule's segments as a path language, a `{param}` standing for `param`; a greedy
    /// `{proxy+}` is one segment or more either way, and the default rule any path.
    fn language(&self, param: &[Tok<'static>]) -> Vec<Tok<'_>> {
        if self.method == Method::Default {
            return vec![Tok::Many];
        }
        self.segments
            .iter()
            .flat_map(|s| match s {
                Segment::Literal(l) => vec![Tok::Lit(l.as_str())],
                Segment::Param => param.to_vec(),
                Segment::Greedy => vec![Tok::One, Tok::Many],
            })
            .collect()
    }
}

impl Rule {
    /// For each `{param}` (not a greedy `{name+}`, whose `*` is meant to span segments): the
    /// rule's pattern with that `*` matching two segments or more. Their union is exactly what
    /// the pattern matches beyond one segment per `{param}`.
    fn deeper(&self) -> Vec<Vec<Tok<'_>>> {
        let mut out = Vec::new();
        if self.method == Method::Default {
            return out;
        }
        for (k, seg) in self.segments.iter().enumerate() {
            if *seg != Segment::Param {
                continue;
            }
            // Only `{param}`s and a final `{name+}` after it: whatever extra segments its `*`
            // takes, the greedy one takes them in the rule's own matching, so the rule matches
            // every path the pattern does there and no Deny is wanted (it would deny the rule).
            let rest = &self.segments[k + 1..];
            if rest.last() == Some(&Segment::Greedy)
                && rest
                    .iter()
                    .all(|s| matches!(s, Segment::Param | Segment::Greedy))
            {
                continue;
            }
            let mut deeper = Vec::new();
            for (i, s) in self.segments.iter().enumerate() {
                match s {
                    Segment::Literal(l) => deeper.push(Tok::Lit(l.as_str())),
                    _ if i == k => deeper.extend([Tok::One, Tok::One, Tok::Many]),
                    Segment::Param | Segment::Greedy => deeper.extend([Tok::One, Tok::Many]),
                }
            }
            out.push(deeper);
        }
        out
    }
}

/// The IAM resource of a pattern under `base` (`…:API/STAGE`) for `verb` (`*` for all).
fn glob_text(base: &str, verb: &str, pattern: &[Tok<'_>]) -> String {
    let mut path = String::new();
    let mut first = true;
    let mut i = 0;
    while i < pattern.len() {
        if !first {
            path.push('/');
        }
        first = false;
        match pattern[i] {
            Tok::Lit(l) => path.push_str(l),
            Tok::One if pattern.get(i + 1) == Some(&Tok::Many) => {
                path.push('*');
                i += 1;
            }
            // A `One` before `One Many` (a deeper pattern): `*/*`.
            Tok::One | Tok::Many => path.push('*'),
        }
        i += 1;
    }
    if pattern == [Tok::Many] {
        return format!("{base}/*");
    }
    format!("{base}/{verb}/{path}")
}

/// Whether some path without empty segments is in both languages.
fn intersects(a: &[Tok<'_>], b: &[Tok<'_>]) -> bool {
    fn go(
        a: &[Tok<'_>],
        b: &[Tok<'_>],
        i: usize,
        j: usize,
        memo: &mut HashMap<(usize, usize), bool>,
    ) -> bool {
        if let Some(v) = memo.get(&(i, j)) {
            return *v;
        }
        let v = match (a.get(i), b.get(j)) {
            (None, None) => true,
            // A `Many` matches nothing more, or takes the next segment of the other side
            // (whatever token makes it) and stays.
            (Some(Tok::Many), _) => {
                go(a, b, i + 1, j, memo) || (j < b.len() && go(a, b, i, j + 1, memo))
            }
            (_, Some(Tok::Many)) => {
                go(a, b, i, j + 1, memo) || (i < a.len() && go(a, b, i + 1, j, memo))
            }
            (None, _) | (_, None) => false,
            (Some(x), Some(y)) => {
                let fits = match (x, y) {
                    (Tok::Lit(p), Tok::Lit(q)) => p == q,
                    _ => true,
                };
                fits && go(a, b, i + 1, j + 1, memo)
            }
        };
        memo.insert((i, j), v);
        v
    }
    go(a, b, 0, 0, &mut HashMap::new())
}

impl Rules {
    /// The methods a rule decides (the method position of its IAM resources): its verb; for
    /// `ANY` every method no rule with the same path names (that rule wins there); `*` for
    /// `$default`.
    fn methods_of<'r>(&'r self, rule: &'r Rule) -> Vec<&'r str> {
        match &rule.method {
            Method::Verb(v) => vec![v.as_str()],
            Method::Default => vec!["*"],
            Method::Any => METHODS
                .iter()
                .copied()
                .filter(|m| {
                    !self.0.iter().any(|r| {
                        r.segments == rule.segments && r.method == Method::Verb((*m).to_owned())
                    })
                })
                .collect(),
        }
    }

    /// Why these rules cannot be cached as one REST policy, if they cannot: API Gateway reuses
    /// a TOKEN authorizer's policy for every method ARN of the stage, and IAM's `*` (which
    /// matches across `/`) cannot say "one segment". [`rest_statements`] is exact for every
    /// token unless two rules overlap so that a `*` of one would have to be narrowed around
    /// the other: a `{param}`/`{proxy+}`/`$default` rule whose resource also matches paths of
    /// another templated rule, or whose deeper paths (denied) hold another rule's paths.
    /// Literal rules never conflict with the rule they refine (`GET /pets/mine` beside
    /// `GET /pets/{petId}`): their resource is exact. Also refused: a route listed twice.
    pub fn rest_cache_conflict(&self) -> Option<String> {
        for (i, rule) in self.0.iter().enumerate() {
            if self.0[..i].iter().any(|r| r.route == rule.route) {
                return Some(format!("route `{}` is listed twice", rule.route));
            }
        }
        for rule in &self.0 {
            if rule.literal_only() {
                continue;
            }
            let mine = self.methods_of(rule);
            let pattern = rule.pattern();
            let deeper = rule.deeper();
            for other in self.0.iter().filter(|o| o.route != rule.route) {
                let theirs = self.methods_of(other);
                let shared = mine
                    .iter()
                    .any(|m| *m == "*" || theirs.iter().any(|t| t == m || *t == "*"));
                if !shared {
                    continue;
                }
                let structure = other.structure();
                let overlaps = !other.literal_only() && intersects(&pattern, &structure);
                let deeper_overlaps = deeper.iter().any(|d| intersects(d, &structure));
                if overlaps || deeper_overlaps {
                    return Some(format!(
                        "rules `{}` and `{}` cannot share one cached REST policy: IAM's `*` in \
                         the resource of `{}` also matches paths of `{}` (a `*` matches across \
                         `/`), so a policy cached for one route would decide the other one \
                         differently; give them separate authorizers, turn caching off, or \
                         spell the templated routes out as literal ones",
                        rule.route, other.route, rule.route, other.route
                    ));
                }
            }
        }
        None
    }
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

fn glob(pattern: &[u8], text: &[u8]) -> bool {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/pets/42";

    #[test]
    fn parses_method_arn() {
        let a = MethodArn::parse(ARN).unwrap();
        assert_eq!(a.prefix, "arn:aws:execute-api:us-east-1:123456789012");
        assert_eq!(
            (a.api_id, a.stage, a.verb, a.resource),
            ("abcdef123", "prod", "GET", "pets/42")
        );
        assert_eq!(
            a.stage_wildcard(),
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/*"
        );
        assert_eq!(a.route(), "GET /pets/42");
        let root = MethodArn::parse("arn:aws-cn:execute-api:cn-north-1:1:api/dev/GET/").unwrap();
        assert_eq!(root.route(), "GET /");
    }

    #[test]
    fn rejects_other_arns() {
        for bad in [
            "",
            "arn:aws:lambda:us-east-1:1:function:x",
            "arn:aws:execute-api:us-east-1:1:api",
            "arn:aws:execute-api:us-east-1:1:api/*/GET/x",
            "arn:aws:execute-api:us-east-1::api/prod/GET/x",
            "arn:aws:execute-api:us-east-1:1:a*b/prod/GET/x",
        ] {
            assert!(MethodArn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn api_allow_list() {
        let a = MethodArn::parse(ARN).unwrap();
        let p = "arn:aws:execute-api:us-east-1:123456789012";
        assert!(api_allowed(&[], &a));
        assert!(api_allowed(&[format!("{p}:abcdef123")], &a));
        assert!(api_allowed(&[format!("{p}:abcdef123/prod")], &a));
        assert!(!api_allowed(&[format!("{p}:abcdef123/dev")], &a));
        assert!(!api_allowed(&[format!("{p}:abcdef12")], &a));
        assert!(!api_allowed(&[format!("{p}:abcdef1234")], &a));
        assert!(!api_allowed(
            &["arn:aws:execute-api:eu-west-1:123456789012:abcdef123".into()],
            &a
        ));
    }

    fn rule(route: &str) -> Rule {
        Rule::new(route, vec![], vec![]).unwrap()
    }

    #[test]
    fn rule_syntax() {
        for good in [
            "GET /",
            "ANY /pets/{petId}",
            "POST /a/{proxy+}",
            "$default",
            "DELETE /a/b_c/{x_1}",
        ] {
            assert!(Rule::new(good, vec![], vec![]).is_ok(), "{good}");
        }
        for bad in [
            "GET",
            "get /a",
            "GET a",
            "GET /a//b",
            "GET /{a+}/b",
            "GET /{}",
            "GET /a*",
            "GET /{a-b}",
            "$DEFAULT",
        ] {
            assert!(Rule::new(bad, vec![], vec![]).is_err(), "{bad}");
        }
        assert!(Rule::new("GET /a", vec!["".into()], vec![]).is_err());
        assert!(
            Rule::new(
                "GET /a",
                vec![],
                vec![("g".into(), serde_json::json!({"x": 1}))]
            )
            .is_err()
        );
    }

    #[test]
    fn most_specific_rule_wins() {
        let rules = Rules(
            [
                "GET /pets",
                "GET /pets/{petId}",
                "GET /pets/mine",
                "ANY /pets/{petId}",
                "ANY /pets/{proxy+}",
                "GET /",
                "$default",
            ]
            .map(rule)
            .to_vec(),
        );
        let pick = |verb: &str, path: &str| rules.for_path(verb, path).map(|r| r.route.as_str());
        assert_eq!(pick("GET", "/pets"), Some("GET /pets"));
        assert_eq!(pick("GET", "pets/42"), Some("GET /pets/{petId}"));
        assert_eq!(pick("GET", "/pets/mine"), Some("GET /pets/mine"));
        assert_eq!(pick("DELETE", "/pets/42"), Some("ANY /pets/{petId}"));
        assert_eq!(pick("GET", "/pets/42/photo"), Some("ANY /pets/{proxy+}"));
        assert_eq!(pick("GET", "/"), Some("GET /"));
        assert_eq!(pick("POST", "/moons"), Some("$default"));
        let no_default = Rules(["GET /pets", "ANY /pets/{proxy+}"].map(rule).to_vec());
        assert_eq!(
            no_default
                .for_path("POST", "/pets")
                .map(|r| r.route.as_str()),
            None
        );
        assert_eq!(no_default.for_path("GET", "/planets"), None);
    }

    #[test]
    fn route_keys_match_exactly_then_any() {
        let rules = Rules(
            ["GET /planets", "ANY /moons", "$default"]
                .map(rule)
                .to_vec(),
        );
        assert_eq!(
            rules
                .for_route_key("GET /planets")
                .map(|r| r.route.as_str()),
            Some("GET /planets")
        );
        assert_eq!(
            rules.for_route_key("POST /moons").map(|r| r.route.as_str()),
            Some("ANY /moons")
        );
        assert_eq!(
            rules.for_route_key("$default").map(|r| r.route.as_str()),
            Some("$default")
        );
        assert_eq!(rules.for_route_key("POST /planets"), None);
    }

    #[test]
    fn resources_list_methods_and_deny_deeper_paths() {
        let arn = MethodArn::parse(ARN).unwrap();
        let base = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod";
        let all = claims(&[], serde_json::json!({}));
        let rules = Rules(
            ["GET /pets/{petId}", "ANY /orders", "GET /"]
                .map(rule)
                .to_vec(),
        );
        let st = rest_statements(&rules, &all, &arn, ARN);
        let allows: Vec<&str> = st
            .iter()
            .filter(|s| s.allow)
            .map(|s| s.resource.as_str())
            .collect();
        let denies: Vec<&str> = st
            .iter()
            .filter(|s| !s.allow)
            .map(|s| s.resource.as_str())
            .collect();
        let mut want = vec![format!("{base}/GET/pets/*")];
        want.extend(METHODS.map(|m| format!("{base}/{m}/orders")));
        want.push(format!("{base}/GET/"));
        assert_eq!(allows, want);
        assert_eq!(
            denies,
            [
                format!("{base}/GET/pets/*/*"),
                format!("{base}/*//*"),
                format!("{base}/*/*/")
            ]
        );
        let proxy = Rules(vec![rule("ANY /{proxy+}")]);
        let st = rest_statements(&proxy, &all, &arn, ARN);
        assert!(st.contains(&Statement::allow(format!("{base}/DELETE/*"))));
        assert!(
            !st.iter().any(|s| s.resource.ends_with("/*/*") && !s.allow),
            "{st:?}"
        );
        let default = Rules(vec![rule("$default")]);
        assert!(
            rest_statements(&default, &all, &arn, ARN)
                .contains(&Statement::allow(format!("{base}/*")))
        );
    }

    #[test]
    fn overlapping_templates_are_refused_for_rest() {
        let ok =
            |routes: &[&str]| Rules(routes.iter().map(|r| rule(r)).collect()).rest_cache_conflict();
        assert_eq!(
            ok(&[
                "GET /pets",
                "GET /pets/{petId}",
                "GET /pets/mine",
                "ANY /orders/{orderId}"
            ]),
            None
        );
        assert_eq!(ok(&["GET /pets/{petId}", "ANY /pets/{petId}"]), None);
        assert_eq!(ok(&["ANY /{proxy+}", "GET /health"]), None);
        assert_eq!(
            ok(&["GET /a/{x}", "POST /a/{x}/b"]),
            None,
            "other methods never meet"
        );
        for bad in [
            ["GET /pets/{petId}", "GET /pets/{petId}/photos"],
            ["ANY /{proxy+}", "GET /pets/{petId}"],
            ["$default", "GET /pets/{petId}"],
            ["GET /{a}", "GET /pets/{petId}"],
            ["GET /pets", "GET /pets"],
        ] {
            let why = ok(&bad).unwrap_or_default();
            assert!(
                why.contains(bad[0]) || why.contains("twice"),
                "{bad:?}: {why}"
            );
        }
    }

    #[test]
    fn iam_evaluation() {
        assert!(glob(b"a*c", b"abbbc"));
        assert!(glob(b"a/*", b"a/b/c"));
        assert!(glob(b"a?c", b"abc"));
        assert!(!glob(b"a?c", b"ac"));
        assert!(!glob(b"a/b", b"a/b/c"));
        assert!(glob(b"*", b""));
        let s = vec![Statement::allow("x/GET/*"), Statement::deny("x/GET/admin")];
        assert!(evaluate(&s, "x/GET/pets"));
        assert!(!evaluate(&s, "x/GET/admin"), "explicit deny wins");
        assert!(!evaluate(&s, "x/POST/pets"), "no allow, no access");
        assert!(!evaluate(&[], "x"));
    }

    fn claims(scopes: &[&str], all: serde_json::Value) -> Claims {
        Claims {
            iss: "i".into(),
            sub: Some("s".into()),
            client_id: None,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            all: all.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn scopes_any_of_and_claims_all_of() {
        let r = Rule::new("GET /planets", vec!["silver".into(), "gold".into()], vec![]).unwrap();
        assert!(r.check(&claims(&["gold"], serde_json::json!({}))).is_ok());
        assert_eq!(
            r.check(&claims(&["bronze"], serde_json::json!({}))),
            Err(AuthzError::InsufficientScope)
        );
        let r = Rule::new(
            "GET /a",
            vec![],
            vec![
                ("groups".into(), serde_json::json!("admins")),
                ("amr".into(), serde_json::json!("mfa")),
            ],
        )
        .unwrap();
        assert!(
            r.check(&claims(
                &[],
                serde_json::json!({"groups": ["x", "admins"], "amr": ["pwd", "mfa"]})
            ))
            .is_ok()
        );
        assert_eq!(
            r.check(&claims(
                &[],
                serde_json::json!({"groups": "admins", "amr": ["pwd"]})
            )),
            Err(AuthzError::ClaimMismatch)
        );
        assert_eq!(
            r.check(&claims(&[], serde_json::json!({"amr": "mfa"}))),
            Err(AuthzError::ClaimMismatch)
        );
    }

    #[test]
    fn rest_statements_deny_unlisted_routes_and_unsatisfied_rules() {
        let rules = Rules(vec![
            Rule::new("GET /pets", vec!["read".into()], vec![]).unwrap(),
            Rule::new("GET /pets/{petId}", vec!["read".into()], vec![]).unwrap(),
            Rule::new("ANY /pets/{petId}/admin", vec!["admin".into()], vec![]).unwrap(),
        ]);
        let arn_text = "arn:aws:execute-api:us-east-1:1:api/prod/GET/pets/7";
        let arn = MethodArn::parse(arn_text).unwrap();
        let st = rest_statements(
            &rules,
            &claims(&["read"], serde_json::json!({})),
            &arn,
            arn_text,
        );
        let base = "arn:aws:execute-api:us-east-1:1:api/prod";
        assert!(evaluate(&st, &format!("{base}/GET/pets")));
        assert!(evaluate(&st, &format!("{base}/GET/pets/7")));
        assert!(
            !evaluate(&st, &format!("{base}/GET/pets/7/admin")),
            "a deeper listed route stays denied"
        );
        assert!(!evaluate(&st, &format!("{base}/POST/pets")));
        // A request to an unlisted route also denies that exact ARN.
        let other = "arn:aws:execute-api:us-east-1:1:api/prod/GET/pets/7/secret";
        let st = rest_statements(
            &rules,
            &claims(&["read"], serde_json::json!({})),
            &MethodArn::parse(other).unwrap(),
            other,
        );
        assert!(!evaluate(&st, other));
        assert!(st.contains(&Statement::deny(other)));
    }

    /// Review finding: a `{param}` before a final `{proxy+}` got a Deny on deeper paths, which
    /// the rule itself matches (`x` = one segment, `rest` = the others): its own paths were 403.
    #[test]
    fn a_param_before_a_greedy_is_not_denied_its_own_deeper_paths() {
        let rules = Rules(vec![
            Rule::new("GET /a/{x}/{rest+}", vec!["read".into()], vec![]).unwrap(),
            Rule::new("GET /b/{x}/c/{rest+}", vec!["read".into()], vec![]).unwrap(),
        ]);
        let base = "arn:aws:execute-api:us-east-1:1:api/prod";
        let arn_text = format!("{base}/GET/a/1/2/3");
        let arn = MethodArn::parse(&arn_text).unwrap();
        let read = claims(&["read"], serde_json::json!({}));
        let st = rest_statements(&rules, &read, &arn, &arn_text);
        for path in ["a/1/2", "a/1/2/3", "a/1/2/3/4", "b/1/c/2", "b/1/c/2/3"] {
            let fresh = rules.for_path("GET", path).is_some();
            assert!(fresh, "{path} is the rule's own");
            assert!(evaluate(&st, &format!("{base}/GET/{path}")), "{path}");
        }
        // A literal after the `{param}` still bounds it: `x` = `1/2` is not the rule's.
        assert!(rules.for_path("GET", "b/1/2/c/3").is_none());
        assert!(!evaluate(&st, &format!("{base}/GET/b/1/2/c/3")));
    }

    #[test]
    fn policy_documents_parse_as_api_gateway_reads_them() {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "a/*"},
            {"Effect": "Deny", "Action": ["s3:GetObject", "execute-api:*"], "Resource": ["a/GET/x", 7]},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "b/*"},
            {"Effect": "Allow", "Action": "*", "Resource": 3}
        ]});
        assert_eq!(
            policy_statements(&doc),
            Some(vec![Statement::allow("a/*"), Statement::deny("a/GET/x")])
        );
        assert_eq!(policy_statements(&serde_json::json!({})), None);
        assert_eq!(
            policy_statements(&serde_json::json!({"Statement": []})),
            Some(vec![])
        );
    }
}
