//! The cache-correct REST policy and the analysis of which rule sets one cached IAM policy can
//! state exactly (API Gateway reuses a REST authorizer's policy for every method ARN of a stage).

use std::collections::HashMap;

use super::{
    MethodArn,
    iam::{Statement, evaluate},
    rules::{METHODS, Method, Rule, Rules, Segment},
};
use crate::claims::Claims;

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
        let satisfied = rule.decide(claims, false).is_ok();
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
            .is_some_and(|rule| rule.decide(claims, false).is_ok());
        if !allowed && evaluate(&out, &root) {
            push(&mut out, Statement::deny(root));
        }
    }
    let fresh = rules
        .for_path(arn.verb, arn.resource)
        .is_some_and(|rule| rule.decide(claims, false).is_ok());
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
    /// `GET /pets/{petId}`): their resource is exact. Also refused: a route listed twice, and a
    /// rule whose deeper-path Deny would hold paths of the rule itself (a literal between a
    /// `{param}` and a greedy tail, as in `GET /repos/{repo}/contents/{path+}`).
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
            // The Deny on deeper paths must not cover a path the rule matches itself, which it
            // does when a literal after the `{param}` can recur in a greedy tail
            // (`repos/*/*/contents/*` holds `repos/r/contents/contents/x`): IAM's `*` and `?`
            // cannot state the deeper paths without those.
            let own = rule.structure();
            if deeper.iter().any(|d| intersects(d, &own)) {
                return Some(format!(
                    "rule `{}` cannot be cached as one REST policy: IAM's `*` for its `{{param}}` \
                     also matches deeper paths, and a Deny on those would also match paths of \
                     `{}` itself (a literal after the `{{param}}` can recur in the greedy tail), \
                     so the cached policy would deny requests the rule allows; use an HTTP API \
                     (its cache is per route) or spell the `{{param}}` out as literal routes",
                    rule.route, rule.route
                ));
            }
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
