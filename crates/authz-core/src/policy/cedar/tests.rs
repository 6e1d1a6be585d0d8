#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use serde_json::{Value, json};

use super::{CedarPolicies, Source};
use crate::{claims::Claims, policy::Rule};

const SCHEMA: &str = r#"
namespace PetStore {
    entity UserGroup;
    entity User in [UserGroup] {
        sub: String,
        scopes: Set<String>,
        email?: String,
        level?: Long,
    };
    entity Application;
    action "get /pets", "post /pets", "get /pets/{petId}"
        appliesTo { principal: [User], resource: [Application] };
}
"#;

fn claims(sub: &str, extra: Value, scopes: &[&str]) -> Claims {
    let mut all = json!({"sub": sub, "iss": "https://idp.example"});
    for (k, v) in extra.as_object().unwrap() {
        all[k] = v.clone();
    }
    Claims {
        iss: "https://idp.example".into(),
        sub: Some(sub.into()),
        client_id: None,
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        all: all.as_object().unwrap().clone(),
    }
}

fn policies(text: &str, groups: Option<&str>, prefix: &str) -> Result<Arc<CedarPolicies>, String> {
    CedarPolicies::parse(
        Source {
            setting: "AUTHZ_CEDAR_POLICIES",
            path: "policies.cedar",
            text,
        },
        Source {
            setting: "AUTHZ_CEDAR_SCHEMA",
            path: "schema.cedarschema",
            text: SCHEMA,
        },
        "PetStore",
        groups.map(str::to_owned),
        prefix.to_owned(),
    )
    .map(Arc::new)
}

/// [`CedarPolicies::parse`] of a policy text `p.cedar` and a schema text `s.cedarschema` in
/// `namespace`, with no groups claim and no entity prefix.
fn parse_plain(policies: &str, schema: &str, namespace: &str) -> Result<CedarPolicies, String> {
    CedarPolicies::parse(
        Source {
            setting: "AUTHZ_CEDAR_POLICIES",
            path: "p.cedar",
            text: policies,
        },
        Source {
            setting: "AUTHZ_CEDAR_SCHEMA",
            path: "s.cedarschema",
            text: schema,
        },
        namespace,
        None,
        String::new(),
    )
}

#[test]
fn actions_are_named_as_verified_permissions_names_them() {
    assert_eq!(
        CedarPolicies::action_name("GET /pets/{petId}").as_deref(),
        Some("get /pets/{petId}")
    );
    assert_eq!(CedarPolicies::action_name("ANY /pets"), None);
    assert_eq!(CedarPolicies::action_name("$default"), None);
    let p = policies("", None, "").unwrap();
    assert!(p.route("ANY /pets").unwrap_err().contains("ANY"));
    assert!(
        p.route("DELETE /pets")
            .unwrap_err()
            .contains(r#"PetStore::Action::"delete /pets""#)
    );
}

#[test]
fn groups_from_a_json_pointer_become_parents_with_the_prefix() {
    let text = r#"
        @id("writers-post")
        permit(principal in PetStore::UserGroup::"pool|writers",
               action == PetStore::Action::"post /pets", resource);
    "#;
    let p = policies(text, Some("/realm_access/roles"), "pool|").unwrap();
    let post = p.route("POST /pets").unwrap();
    let writer = claims(
        "alice",
        json!({"realm_access": {"roles": ["writers"]}}),
        &[],
    );
    let answer = post.decide(&writer);
    assert!(answer.allowed);
    assert_eq!(answer.reasons, ["writers-post"]);
    // A group listed twice, and a groups claim holding one string.
    let twice = claims(
        "al",
        json!({"realm_access": {"roles": ["writers", "writers"]}}),
        &[],
    );
    assert!(post.decide(&twice).allowed);
    let one = claims("al", json!({"realm_access": {"roles": "writers"}}), &[]);
    assert!(post.decide(&one).allowed);
    let reader = claims("bob", json!({"realm_access": {"roles": ["readers"]}}), &[]);
    assert!(!post.decide(&reader).allowed);
    // The slice for another action holds no policy: denied.
    let get = p.route("GET /pets").unwrap();
    assert!(get.sliced.is_empty());
    assert!(!get.decide(&writer).allowed);
    // Without the prefix the group is another entity.
    let unprefixed = policies(text, Some("/realm_access/roles"), "").unwrap();
    assert!(
        !unprefixed
            .route("POST /pets")
            .unwrap()
            .decide(&writer)
            .allowed
    );
}

#[test]
fn principal_attributes_follow_the_schema_types() {
    let p = policies(
        r#"permit(principal, action, resource)
             when { principal.sub == "alice" && principal.scopes.contains("read")
                    && principal has level && principal.level >= 3 };"#,
        None,
        "",
    )
    .unwrap();
    let get = p.route("GET /pets").unwrap();
    assert!(
        get.decide(&claims("alice", json!({"level": 3}), &["read"]))
            .allowed
    );
    assert!(
        !get.decide(&claims("alice", json!({"level": 2}), &["read"]))
            .allowed
    );
    // A claim of another JSON type than declared is left out (the `has` guard is false).
    assert!(
        !get.decide(&claims("alice", json!({"level": "3"}), &["read"]))
            .allowed
    );
    assert!(
        !get.decide(&claims("alice", json!({"level": 3}), &[]))
            .allowed
    );
}

#[test]
fn an_erring_policy_denies_and_is_named() {
    let p = policies(
        r#"@id("everyone") permit(principal, action, resource);
           @id("no-example") forbid(principal, action, resource)
             when { principal.email like "*@example.com" };
           @id("reads-context") forbid(principal, action == PetStore::Action::"post /pets", resource)
             when { context.path == "/admin" };"#,
        None,
        "",
    )
    .unwrap();
    let get = p.route("GET /pets").unwrap();
    // `email` is absent: the forbid errs, so the answer is Deny though a permit applies.
    let answer = get.decide(&claims("alice", json!({}), &[]));
    assert!(!answer.allowed);
    assert_eq!(answer.errors, ["no-example"]);
    assert!(
        get.decide(&claims("a", json!({"email": "a@b.org"}), &[]))
            .allowed
    );
    assert!(
        !get.decide(&claims("a", json!({"email": "a@example.com"}), &[]))
            .allowed
    );
    // The context is empty: a policy reading it errs, and denies.
    let post = p.route("POST /pets").unwrap();
    let answer = post.decide(&claims("a", json!({"email": "a@b.org"}), &[]));
    assert!(!answer.allowed);
    assert_eq!(answer.errors, ["reads-context"]);
    // The schema declares no context: validation refuses the policy before deploy.
    let errors = p.validate();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("context") || e.contains("path")),
        "{errors:?}"
    );
}

#[test]
fn bad_policies_and_schemas_name_setting_file_and_line() {
    let e = policies(
        "permit(principal, action, resource);\n\npermit(principal, action resource);",
        None,
        "",
    )
    .unwrap_err();
    assert!(
        e.starts_with("AUTHZ_CEDAR_POLICIES: policies.cedar:3:"),
        "{e}"
    );
    let e = parse_plain(
        "",
        "namespace N {\n  entity User;\n  entity User2 in [Nope] \n",
        "N",
    )
    .unwrap_err();
    assert!(e.starts_with("AUTHZ_CEDAR_SCHEMA: s.cedarschema"), "{e}");
    let e = parse_plain("", SCHEMA, "Other").unwrap_err();
    assert!(e.contains("Other::User"), "{e}");
}

/// The demo table's scope rules (`infra/routes.json`) translated into Cedar decide as the scope
/// rules do, for every tier × route of every API (routes with one method: `ANY` and `$default`
/// name no single Verified Permissions action).
#[test]
fn demo_scope_rules_translated_into_cedar_decide_the_same() {
    let table: Value =
        serde_json::from_str(include_str!("../../../../../infra/routes.json")).unwrap();
    let mut compared = 0;
    for (api, spec) in table["apis"].as_object().unwrap() {
        let namespace: String = api
            .split('-')
            .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
            .collect();
        let mut rules = Vec::new();
        for r in spec["routes"].as_array().unwrap() {
            let route = r["route"].as_str().unwrap();
            if r["authorizer"] == "none" || CedarPolicies::action_name(route).is_none() {
                continue;
            }
            let scopes: Vec<String> = r["scopes"]
                .as_array()
                .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            rules.push(Rule::new(route, scopes, Vec::new()).unwrap());
        }
        if rules.is_empty() {
            continue;
        }
        let actions: Vec<String> = rules
            .iter()
            .map(|r| format!("{:?}", CedarPolicies::action_name(&r.route).unwrap()))
            .collect();
        let schema = format!(
            "namespace {namespace} {{ entity UserGroup; entity User in [UserGroup] {{ scopes: \
             Set<String> }}; entity Application; action {} appliesTo {{ principal: [User], \
             resource: [Application] }}; }}",
            actions.join(", ")
        );
        let text: String = rules
            .iter()
            .map(|r| {
                let action = format!(
                    "{namespace}::Action::{:?}",
                    CedarPolicies::action_name(&r.route).unwrap()
                );
                let when = if r.scopes.is_empty() {
                    String::new()
                } else {
                    format!(" when {{ principal.scopes.containsAny({:?}) }}", r.scopes)
                };
                format!("permit(principal, action == {action}, resource){when};\n")
            })
            .collect();
        let p = Arc::new(
            CedarPolicies::parse(
                Source {
                    setting: "P",
                    path: "p.cedar",
                    text: &text,
                },
                Source {
                    setting: "S",
                    path: "s.cedarschema",
                    text: &schema,
                },
                &namespace,
                None,
                String::new(),
            )
            .unwrap(),
        );
        assert_eq!(p.validate(), Vec::<String>::new(), "{text}");
        for (tier, t) in spec["tiers"].as_object().unwrap() {
            let scopes: Vec<&str> = t["scopes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            let caller = claims("u", json!({}), &scopes);
            for rule in &rules {
                let by_cedar = Rule::new(&rule.route, Vec::new(), Vec::new())
                    .unwrap()
                    .with_cedar(p.route(&rule.route).unwrap());
                assert_eq!(
                    by_cedar.check(&caller).is_ok(),
                    rule.check(&caller).is_ok(),
                    "{api} {tier} {}",
                    rule.route
                );
                compared += 1;
            }
        }
    }
    assert!(compared >= 10, "{compared}");
}

/// A schema in JSON, the form Verified Permissions exports, with the shapes its API Gateway
/// integration generates (a `User` in `UserGroup`s, an `Application`, `"<method> <path>"` actions).
#[test]
fn a_json_schema_as_verified_permissions_exports_it() {
    let schema = json!({"PetStore": {
        "entityTypes": {
            "UserGroup": {"shape": {"type": "Record", "attributes": {}}},
            "User": {"memberOfTypes": ["UserGroup"], "shape": {"type": "Record", "attributes": {
                "email": {"type": "String", "required": false},
                "groups": {"type": "Set", "element": {"type": "String"}, "required": false}}}},
            "Application": {"shape": {"type": "Record", "attributes": {}}}},
        "actions": {
            "get /pets": {"appliesTo": {"principalTypes": ["User"], "resourceTypes": ["Application"],
                "context": {"type": "Record", "attributes": {}}}}}}})
    .to_string();
    let source = |text| Source {
        setting: "AUTHZ_CEDAR_SCHEMA",
        path: "schema.json",
        text,
    };
    let text = r#"permit(principal in PetStore::UserGroup::"us-east-1_AbCd|readers",
        action == PetStore::Action::"get /pets", resource == PetStore::Application::"PetStore")
        when { principal has email && principal.email like "*@example.com"
               && principal has groups && principal.groups.contains("readers") };"#;
    let p = Arc::new(
        CedarPolicies::parse(
            Source {
                setting: "AUTHZ_CEDAR_POLICIES",
                path: "p.cedar",
                text,
            },
            source(&schema),
            "PetStore",
            Some("cognito:groups".into()),
            "us-east-1_AbCd|".into(),
        )
        .unwrap(),
    );
    assert_eq!(p.validate(), Vec::<String>::new());
    let get = p.route("GET /pets").unwrap();
    let reader = claims(
        "alice",
        json!({"cognito:groups": ["readers"], "groups": ["readers"], "email": "a@example.com"}),
        &[],
    );
    assert!(get.decide(&reader).allowed);
    let other = claims(
        "bob",
        json!({"cognito:groups": ["readers"], "groups": ["readers"], "email": "b@example.org"}),
        &[],
    );
    assert!(!get.decide(&other).allowed);
    // Not JSON: the setting and the file are named.
    let e = CedarPolicies::parse(
        Source {
            setting: "AUTHZ_CEDAR_POLICIES",
            path: "p.cedar",
            text: "",
        },
        source("{\"PetStore\": "),
        "PetStore",
        None,
        String::new(),
    )
    .unwrap_err();
    assert!(e.starts_with("AUTHZ_CEDAR_SCHEMA: schema.json"), "{e}");
}
