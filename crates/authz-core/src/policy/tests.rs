#![allow(clippy::unwrap_used)]
use super::{iam::glob, rules::METHODS, *};
use crate::{claims::Claims, error::AuthzError};

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
        rest_statements(&default, &all, &arn, ARN).contains(&Statement::allow(format!("{base}/*")))
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

/// Issue 22 item 7: under `{param}` plus a greedy tail, the Deny on what the `{param}`'s `*`
/// matches deeper (`…/repos/*/*/contents/*`) also matched paths the rule matches itself, where
/// the literal after the `{param}` recurs in the tail (`repos/r/contents/contents/x.md`): a
/// false deny. IAM's `*` and `?` cannot state that deeper set without those paths, so such a
/// rule set is refused like the other uncachable ones, and no accepted rule set has a Deny on
/// a path one of its satisfied rules matches.
#[test]
fn a_deeper_deny_never_covers_the_rules_own_paths() {
    let repos = Rules(vec![rule("GET /repos/{repo}/contents/{path+}")]);
    assert!(
        repos
            .for_path("GET", "repos/r/contents/contents/x.md")
            .is_some()
    );
    let why = repos.rest_cache_conflict().unwrap_or_default();
    assert!(
        why.contains("`GET /repos/{repo}/contents/{path+}`") && why.contains("itself"),
        "{why}"
    );
    for routes in [
        vec!["GET /{x}/a/{y}/{rest+}"],
        vec!["ANY /b/{x}/c/{rest+}", "GET /health"],
    ] {
        let rules = Rules(routes.iter().map(|r| rule(r)).collect());
        assert!(rules.rest_cache_conflict().is_some(), "{routes:?}");
    }
    // Still cachable: no literal between the `{param}` and the greedy tail, or no greedy tail.
    for routes in [
        vec!["GET /a/{x}/{rest+}"],
        vec!["GET /a/{x}/{y}/{rest+}"],
        vec!["GET /{x}/a/{y}"],
        vec!["GET /a/{x}/{rest+}", "GET /a/b/c/d"],
    ] {
        let rules = Rules(routes.iter().map(|r| rule(r)).collect());
        assert_eq!(rules.rest_cache_conflict(), None, "{routes:?}");
    }
    // For every rule set accepted, a satisfied rule's own paths are allowed by its policy.
    let all = claims(&[], serde_json::json!({}));
    let base = "arn:aws:execute-api:us-east-1:1:api/prod";
    let rules = Rules(vec![rule("GET /a/{x}/{rest+}"), rule("GET /b/{x}/c")]);
    assert_eq!(rules.rest_cache_conflict(), None);
    let arn_text = format!("{base}/GET/a/a/a");
    let st = rest_statements(
        &rules,
        &all,
        &MethodArn::parse(&arn_text).unwrap(),
        &arn_text,
    );
    for path in ["a/a/a", "a/a/a/a", "a/b/a/a", "b/c/c"] {
        assert!(rules.for_path("GET", path).is_some(), "{path}");
        assert!(evaluate(&st, &format!("{base}/GET/{path}")), "{path}");
    }
}
