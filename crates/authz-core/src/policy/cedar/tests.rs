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

/// [`policies`] with the groups claim `groups`, linked from `links` (`links.json`).
fn linked(text: &str, links: &str) -> Result<Arc<CedarPolicies>, String> {
    let mut p = Arc::try_unwrap(policies(text, Some("groups"), "")?).unwrap();
    p.link(Source {
        setting: "AUTHZ_CEDAR_TEMPLATE_LINKS",
        path: "links.json",
        text: links,
    })?;
    Ok(Arc::new(p))
}

const TEMPLATES: &str = r#"
    @id("everyone-reads")
    permit(principal, action == PetStore::Action::"get /pets", resource);

    @id("group-writes")
    permit(principal in ?principal, action == PetStore::Action::"post /pets", resource);

    @id("group-reads-one")
    permit(principal in ?principal, action == PetStore::Action::"get /pets/{petId}",
           resource == ?resource);

    @id("user-barred")
    forbid(principal == ?principal, action, resource);
"#;

fn member(sub: &str, groups: &[&str]) -> crate::claims::Claims {
    claims(sub, json!({ "groups": groups }), &[])
}

/// The output of `aws verifiedpermissions list-policies --filter policyType=TEMPLATE_LINKED`:
/// `PolicyItem`s, their scope repeated at the top (the template's fixed parts included).
#[test]
fn a_link_as_verified_permissions_lists_it_permits_its_group() {
    let links = json!({"policies": [
        {"policyStoreId": "PSEXAMPLEabcdefg111111", "policyId": "admins-write",
         "policyType": "TEMPLATE_LINKED", "effect": "Permit",
         "principal": {"entityType": "PetStore::UserGroup", "entityId": "admins"},
         "actions": [{"actionType": "PetStore::Action", "actionId": "post /pets"}],
         "definition": {"templateLinked": {"policyTemplateId": "group-writes",
            "principal": {"entityType": "PetStore::UserGroup", "entityId": "admins"}}},
         "createdDate": "2024-05-01T10:00:00Z", "lastUpdatedDate": "2024-05-01T10:00:00Z"},
        {"policyStoreId": "PSEXAMPLEabcdefg111111", "policyId": "bob-barred",
         "policyType": "TEMPLATE_LINKED", "effect": "Forbid",
         "principal": {"entityType": "PetStore::User", "entityId": "bob"},
         "definition": {"templateLinked": {"policyTemplateId": "user-barred",
            "principal": {"entityType": "PetStore::User", "entityId": "bob"}}},
         "createdDate": "2024-05-01T10:00:00Z", "lastUpdatedDate": "2024-05-01T10:00:00Z"}]})
    .to_string();
    let p = linked(TEMPLATES, &links).unwrap();
    assert_eq!(p.validate(), Vec::<String>::new());
    let post = p.route("POST /pets").unwrap();
    let answer = post.decide(&member("alice", &["admins"]));
    assert!(answer.allowed, "{answer:?}");
    // Named by the link's id, not the template's `@id`.
    assert_eq!(answer.reasons, ["admins-write"]);
    assert!(!post.decide(&member("carol", &["pets"])).allowed);
    // The forbid link: bob, an admin, is refused everything.
    let answer = post.decide(&member("bob", &["admins"]));
    assert!(!answer.allowed);
    assert_eq!(answer.reasons, ["bob-barred"]);
    let get = p.route("GET /pets").unwrap();
    assert!(get.decide(&member("carol", &[])).allowed);
    assert!(!get.decide(&member("bob", &[])).allowed);
    // Sliced per action: the write link is in the slice of `post /pets` only, the forbid (any
    // action) in every slice.
    let ids = |route: &str| -> Vec<String> {
        let mut ids: Vec<String> = p
            .route(route)
            .unwrap()
            .sliced
            .policies()
            .map(|p| p.id().to_string())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids("POST /pets"), ["admins-write", "bob-barred"]);
    assert_eq!(ids("GET /pets"), ["bob-barred", "policy0"]);
    assert_eq!(ids("GET /pets/{petId}"), ["bob-barred"]);
}

/// The flat shape (`templateId` for `policyTemplateId`), a template named by Cedar's id, two
/// slots, two links of one template.
#[test]
fn flat_links_fill_both_slots_and_several_links_share_a_template() {
    let app = json!({"entityType": "PetStore::Application", "entityId": "PetStore"});
    let links = json!([
        {"policyId": "readers-one", "policyTemplateId": "group-reads-one",
         "principal": {"entityType": "PetStore::UserGroup", "entityId": "readers"},
         "resource": app},
        {"policyId": "auditors-one", "templateId": "policy2",
         "principal": {"entityType": "PetStore::UserGroup", "entityId": "auditors"},
         "resource": app},
        {"policyId": "writers-write", "templateId": "group-writes",
         "principal": {"entityType": "PetStore::UserGroup", "entityId": "writers"}}])
    .to_string();
    let p = linked(TEMPLATES, &links).unwrap();
    assert_eq!(p.validate(), Vec::<String>::new());
    let one = p.route("GET /pets/{petId}").unwrap();
    assert_eq!(
        one.decide(&member("a", &["readers"])).reasons,
        ["readers-one"]
    );
    assert_eq!(
        one.decide(&member("a", &["auditors"])).reasons,
        ["auditors-one"]
    );
    assert!(!one.decide(&member("a", &["writers"])).allowed);
    let post = p.route("POST /pets").unwrap();
    assert_eq!(
        post.decide(&member("w", &["writers"])).reasons,
        ["writers-write"]
    );
    assert!(!post.decide(&member("r", &["readers"])).allowed);
}

#[test]
fn a_template_without_links_permits_nobody() {
    let text = r#"@id("anyone-of") permit(principal in ?principal, action, resource);
                  @id("exactly") permit(principal == ?principal, action, resource);"#;
    for links in ["[]", r#"{"policies": []}"#] {
        let p = linked(text, links).unwrap();
        assert_eq!(p.templates(), ["anyone-of", "exactly"]);
        for route in ["GET /pets", "POST /pets", "GET /pets/{petId}"] {
            let r = p.route(route).unwrap();
            assert!(r.sliced.is_empty(), "{route}");
            let answer = r.decide(&member("alice", &["admins", "alice"]));
            assert!(!answer.allowed && answer.reasons.is_empty(), "{answer:?}");
        }
    }
    // Unlinked, as parsed: the templates are there, and decide nothing either.
    let p = policies(text, Some("groups"), "").unwrap();
    assert_eq!(p.templates().len(), 2);
    assert!(
        !p.route("GET /pets")
            .unwrap()
            .decide(&member("a", &["admins"]))
            .allowed
    );
}

#[test]
fn a_bad_link_fails_naming_the_file_the_link_and_why() {
    let group = json!({"entityType": "PetStore::UserGroup", "entityId": "admins"});
    let cases = [
        (
            json!([{"policyId": "l", "policyTemplateId": "nope", "principal": group}]),
            "link #1 (`l`): the policy file has no template `nope`",
        ),
        (
            json!([{"policyId": "l", "policyTemplateId": "everyone-reads", "principal": group}]),
            "`everyone-reads` is a static policy, not a template",
        ),
        // `group-writes` has `?principal` only.
        (
            json!([{"policyId": "l", "policyTemplateId": "group-writes", "principal": group,
                    "resource": {"entityType": "PetStore::Application", "entityId": "PetStore"}}]),
            "link #1 (`l`): unable to link template: the following slots were provided as \
             arguments, but did not exist in the template: ?resource",
        ),
        (
            json!([{"policyId": "l", "policyTemplateId": "group-reads-one", "principal": group}]),
            "not provided as arguments: ?resource",
        ),
        (
            json!([{"policyId": "ok", "policyTemplateId": "group-writes", "principal": group},
                   {"policyId": "l", "policyTemplateId": "group-writes",
                    "principal": {"entityType": "PetStore::Group", "entityId": "admins"}}]),
            "link #2 (`l`): the schema declares no entity type `PetStore::Group`",
        ),
        (
            json!([{"policyId": "l", "policyTemplateId": "group-writes",
                    "principal": {"entityType": "Pet Store", "entityId": "admins"}}]),
            "`Pet Store` is not a Cedar entity type",
        ),
        (
            json!([{"policyId": "l", "policyTemplateId": "group-writes",
                    "principal": {"type": "PetStore::UserGroup", "id": "admins"}}]),
            "link #1 (`l`): `principal`: unknown field `type`",
        ),
        (
            json!([{"policyId": "l", "policyTemplateId": "group-writes", "principal": group},
                   {"policyId": "l", "policyTemplateId": "group-writes", "principal": group}]),
            "link #2 (`l`): `l` already names a policy or a link",
        ),
        (
            json!([{"policyId": "everyone-reads", "policyTemplateId": "group-writes",
                    "principal": group}]),
            "`everyone-reads` already names a policy",
        ),
        (
            json!([{"policyId": "policy0", "policyTemplateId": "group-writes",
                    "principal": group}]),
            "link #1 (`policy0`): unable to link template: template-linked policy id \
             `policy0` conflicts with an existing policy id",
        ),
        (
            json!([{"policyTemplateId": "group-writes", "principal": group}]),
            "link #1: missing field `policyId`",
        ),
        (
            json!([{"policyId": "l", "principal": group}]),
            "no `policyTemplateId`",
        ),
        (
            json!({"policies": [{"policyId": "s", "policyType": "STATIC",
                   "definition": {"static": {"description": "d"}}}]}),
            "link #1 (`s`): a static policy: its statement belongs in the policy file",
        ),
        (
            json!({"policies": [], "nextToken": "abc"}),
            "`nextToken` is set",
        ),
        (json!({"links": []}), "expected a JSON list of links"),
    ];
    for (links, needle) in cases {
        let e = linked(TEMPLATES, &links.to_string()).unwrap_err();
        assert!(
            e.starts_with("AUTHZ_CEDAR_TEMPLATE_LINKS: links.json") && e.contains(needle),
            "{needle}: {e}"
        );
    }
    let e = linked(TEMPLATES, "[\n  {\"policyId\": }\n]").unwrap_err();
    assert!(
        e.starts_with("AUTHZ_CEDAR_TEMPLATE_LINKS: links.json:2:"),
        "{e}"
    );
}

/// A log line sink for [`tracing_subscriber`] (the production JSON format).
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// SECURITY.md: an erring policy is logged by its name (a linked one by its link id), and the
/// log holds no claim value (neither the principal's `sub` nor its groups).
#[test]
fn an_erring_linked_policy_is_logged_by_its_link_id_and_no_claim_value() {
    let text = r#"@id("everyone") permit(principal, action, resource);
        @id("domain-barred")
        forbid(principal in ?principal, action, resource)
          when { principal.email like "*@blocked.example" };"#;
    let links = json!([{"policyId": "ops-barred", "policyTemplateId": "domain-barred",
        "principal": {"entityType": "PetStore::UserGroup", "entityId": "ops-7f3a"}}]);
    let p = linked(text, &links.to_string()).unwrap();
    let rule = Rule::new("GET /pets", Vec::new(), Vec::new())
        .unwrap()
        .with_cedar(p.route("GET /pets").unwrap());
    // No `email` claim: the forbid errs, and denies.
    let caller = claims(
        "sub-5d1e9c",
        json!({"groups": ["ops-7f3a"], "nickname": "secret-name"}),
        &[],
    );
    let sink = Captured::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let result = tracing::subscriber::with_default(subscriber, || rule.check(&caller));
    assert!(matches!(
        result,
        Err(crate::error::AuthzError::PolicyDenied)
    ));
    let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    let line: Value = serde_json::from_str(logs.lines().next().unwrap()).unwrap();
    assert_eq!(line["level"], "WARN", "{logs}");
    assert_eq!(line["fields"]["errors"], "ops-barred", "{logs}");
    assert_eq!(line["fields"]["decision"], "deny", "{logs}");
    for value in ["sub-5d1e9c", "ops-7f3a", "secret-name"] {
        assert!(!logs.contains(value), "{value}: {logs}");
    }
    // With an email outside the domain: allowed, no warning, the link not determining.
    let fine = claims(
        "sub-5d1e9c",
        json!({"groups": ["ops-7f3a"], "email": "a@b.example"}),
        &[],
    );
    assert!(rule.check(&fine).is_ok());
}
