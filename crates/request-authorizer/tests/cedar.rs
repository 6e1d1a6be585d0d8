//! The real `request-authorizer` built with `--features cedar`: Cedar-decided route rules from a
//! policy file and a schema file, the REST policy exact for every route of the table (one cached
//! answer), the decision log naming the determining policies, and bad policies failing the cold
//! start with the setting, the file and the line.
#![cfg(feature = "cedar")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use authz_core::evaluate;
use authz_testkit::{
    Issuer, LambdaProcess, TestKey,
    fixtures::{STAGE_ARN, claims, last_reason, rest_statements, sample_event, start_authorizer},
};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_request-authorizer");

const SCHEMA: &str = r#"namespace PetStore {
    entity UserGroup;
    entity User in [UserGroup] { sub: String, scopes: Set<String>, email?: String };
    entity Application;
    action "get /pets", "post /pets", "get /pets/{petId}"
        appliesTo { principal: [User], resource: [Application] };
}
"#;

const POLICIES: &str = r#"@id("everyone-reads")
permit(principal, action in [PetStore::Action::"get /pets", PetStore::Action::"get /pets/{petId}"], resource);

@id("admins-write")
permit(principal in PetStore::UserGroup::"admins", action == PetStore::Action::"post /pets", resource);
"#;

const ROUTES: &str = r#"[{"route": "GET /pets", "cedar": true},
  {"route": "POST /pets", "cedar": true},
  {"route": "GET /pets/{petId}", "cedar": true},
  {"route": "DELETE /pets/{petId}", "scopes": ["admin"]}]"#;

/// A file of this test under the system's temporary directory.
fn file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("authz-cedar-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn event(verb: &str, path: &str, token: &str) -> Value {
    let mut e = sample_event("request/header.json", token);
    e["methodArn"] = json!(format!("{STAGE_ARN}/{verb}{path}"));
    e["httpMethod"] = json!(verb);
    e["path"] = json!(path);
    e
}

#[tokio::test]
async fn cedar_decides_every_route_of_one_cached_rest_policy() {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k1");
    issuer.set_keys(vec![key.jwk()]);
    let policies = file("ok.cedar", POLICIES);
    let schema = file("ok.cedarschema", SCHEMA);
    let p = start_authorizer(
        BIN,
        &issuer,
        &[
            ("AUTHZ_ROUTES", ROUTES),
            ("AUTHZ_CEDAR_POLICIES", policies.to_str().unwrap()),
            ("AUTHZ_CEDAR_SCHEMA", schema.to_str().unwrap()),
            ("AUTHZ_CEDAR_NAMESPACE", "PetStore"),
            ("AUTHZ_CEDAR_GROUPS_CLAIM", "groups"),
        ],
    )
    .await;
    let admin = key.sign(&claims(&issuer));
    let mut member = claims(&issuer);
    member["groups"] = json!(["pets"]);
    let member = key.sign(&member);
    let arns = [
        ("GET", "/pets"),
        ("POST", "/pets"),
        ("GET", "/pets/42"),
        ("DELETE", "/pets/42"),
    ];
    for (token, expected) in [
        (&admin, [true, true, true, false]),
        (&member, [true, false, true, false]),
    ] {
        // Whatever route the first request asks, its policy answers every route as Cedar does.
        for (verb, path) in arns {
            let statements = rest_statements(&p.invoke(&event(verb, path, token)).await).unwrap();
            let got: Vec<bool> = arns
                .iter()
                .map(|(v, pa)| evaluate(&statements, &format!("{STAGE_ARN}/{v}{pa}")))
                .collect();
            assert_eq!(got, expected, "first request {verb} {path}");
        }
    }
    // The member asking POST: denied by Cedar, the decision log says so; the Cedar line names
    // the policies, never a claim value.
    p.invoke(&event("POST", "/pets", &member)).await;
    assert_eq!(last_reason(&p).await, "policy_denied");
    p.invoke(&event("POST", "/pets", &admin)).await;
    assert_eq!(last_reason(&p).await, "ok");
    let logs = p.logs();
    let cedar: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("cedar decision"))
        .collect();
    assert!(
        cedar
            .iter()
            .any(|l| l.contains(r#""policies":"admins-write""#) && l.contains("allow")),
        "{cedar:#?}"
    );
    assert!(
        logs.iter()
            .all(|l| !l.contains("alice@example.com") && !l.contains("\"admins\"")),
        "{logs:#?}"
    );
    for f in [policies, schema] {
        std::fs::remove_file(f).unwrap();
    }
}

#[tokio::test]
async fn a_bad_policy_or_a_missing_action_fails_the_cold_start_naming_setting_file_and_line() {
    let issuer = Issuer::start().await;
    let schema = file("bad.cedarschema", SCHEMA);
    let broken = file(
        "bad.cedar",
        "permit(principal, action, resource);\npermit(principal, action resource);\n",
    );
    let url = issuer.url();
    let base = [
        ("AUTHZ_ISSUER", url.as_str()),
        ("AUTHZ_AUDIENCE", "api"),
        ("AUTHZ_ROUTES", ROUTES),
        ("AUTHZ_CEDAR_SCHEMA", schema.to_str().unwrap()),
        ("AUTHZ_CEDAR_NAMESPACE", "PetStore"),
    ];
    let env = [
        &base[..],
        &[("AUTHZ_CEDAR_POLICIES", broken.to_str().unwrap())],
    ]
    .concat();
    let mut p = LambdaProcess::spawn(Path::new(BIN), &env).await;
    let message = p.config_error("a policy with a syntax error").await;
    let at = format!("AUTHZ_CEDAR_POLICIES: {}:2:", broken.display());
    assert!(message.contains(&at), "{message}");
    // A Cedar rule whose action the schema does not declare.
    let policies = file("fine.cedar", POLICIES);
    let routes = r#"[{"route": "PUT /pets", "cedar": true}]"#;
    let env = [
        &base[..],
        &[
            ("AUTHZ_CEDAR_POLICIES", policies.to_str().unwrap()),
            ("AUTHZ_ROUTES", routes),
        ],
    ]
    .concat();
    let env: Vec<(&str, &str)> = env
        .iter()
        .enumerate()
        .filter(|(i, (k, _))| *k != "AUTHZ_ROUTES" || *i == env.len() - 1)
        .map(|(_, kv)| *kv)
        .collect();
    let mut p = LambdaProcess::spawn(Path::new(BIN), &env).await;
    let message = p.config_error("an undeclared action").await;
    assert!(
        message.contains("AUTHZ_ROUTES: rule #1 (`PUT /pets`)")
            && message.contains(r#"PetStore::Action::"put /pets""#),
        "{message}"
    );
    for f in [schema, broken, policies] {
        std::fs::remove_file(f).unwrap();
    }
}

/// Template-linked policies as Verified Permissions lists them (`AUTHZ_CEDAR_TEMPLATE_LINKS`):
/// the linked group may write, the decision log names the link's `policyId`; a template without
/// the setting fails the cold start naming both settings.
#[tokio::test]
async fn template_links_decide_and_the_log_names_the_link() {
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("k1");
    issuer.set_keys(vec![key.jwk()]);
    let templates = file(
        "templates.cedar",
        r#"@id("everyone-reads")
permit(principal, action == PetStore::Action::"get /pets", resource);

@id("group-writes")
permit(principal in ?principal, action == PetStore::Action::"post /pets", resource);
"#,
    );
    let schema = file("templates.cedarschema", SCHEMA);
    let links = file(
        "links.json",
        &json!({"policies": [{"policyStoreId": "PSEXAMPLEabcdefg111111",
            "policyId": "pets-write", "policyType": "TEMPLATE_LINKED",
            "definition": {"templateLinked": {"policyTemplateId": "group-writes",
                "principal": {"entityType": "PetStore::UserGroup", "entityId": "pets"}}}}]})
        .to_string(),
    );
    let cedar = [
        ("AUTHZ_ROUTES", ROUTES),
        ("AUTHZ_CEDAR_POLICIES", templates.to_str().unwrap()),
        ("AUTHZ_CEDAR_SCHEMA", schema.to_str().unwrap()),
        ("AUTHZ_CEDAR_NAMESPACE", "PetStore"),
        ("AUTHZ_CEDAR_GROUPS_CLAIM", "groups"),
    ];
    let env = [
        &cedar[..],
        &[("AUTHZ_CEDAR_TEMPLATE_LINKS", links.to_str().unwrap())],
    ]
    .concat();
    let p = start_authorizer(BIN, &issuer, &env).await;
    // `claims` is in the groups `pets` and `admins`.
    let member = key.sign(&claims(&issuer));
    let mut other = claims(&issuer);
    other["groups"] = json!(["visitors"]);
    let other = key.sign(&other);
    p.invoke(&event("POST", "/pets", &member)).await;
    assert_eq!(last_reason(&p).await, "ok");
    p.invoke(&event("POST", "/pets", &other)).await;
    assert_eq!(last_reason(&p).await, "policy_denied");
    let logs = p.logs();
    assert!(
        logs.iter().any(|l| l.contains("cedar decision")
            && l.contains(r#""policies":"pets-write""#)
            && l.contains("allow")),
        "{logs:#?}"
    );
    // The policy file holds a template: without the links setting, the cold start fails.
    let url = issuer.url();
    let env = [
        &[("AUTHZ_ISSUER", url.as_str()), ("AUTHZ_AUDIENCE", "api")],
        &cedar[..],
    ]
    .concat();
    let mut p = LambdaProcess::spawn(Path::new(BIN), &env).await;
    let message = p.config_error("templates without links").await;
    assert!(
        message.contains("AUTHZ_CEDAR_POLICIES")
            && message.contains("(`group-writes`)")
            && message.contains("AUTHZ_CEDAR_TEMPLATE_LINKS"),
        "{message}"
    );
    for f in [templates, schema, links] {
        std::fs::remove_file(f).unwrap();
    }
}
