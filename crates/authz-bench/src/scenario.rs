//! The configurations some rows measure beyond issuer and audience: a REST route table decided
//! by scope rules or by Cedar policies (issue 25), and DPoP-bound tokens with a fresh proof per
//! invocation, with or without the DynamoDB replay table (issue 26, on moto_server).
//!
//! Everything is generated here, deterministically: the routes, the Cedar schema and policies,
//! the scope rules standing in for them, and which routes the bench's principals may call
//! ([`allowed`]), which is what the generated policies mean by construction.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use authz_testkit::{MotoServer, TestKey, fixtures::STAGE_ARN, fixtures::sample_event, now};
use serde_json::{Value, json};

/// The Cedar namespace of the generated schema.
pub(crate) const CEDAR_NAMESPACE: &str = "Bench";
/// The claim holding the principal's groups (`AUTHZ_CEDAR_GROUPS_CLAIM`).
pub(crate) const GROUPS_CLAIM: &str = "groups";
/// Groups `group-0` … `group-9` appear in the policies; every principal of the bench is in these.
const PRINCIPAL_GROUPS: [usize; 2] = [1, 4];
const GROUPS: usize = 10;
/// The scope every pool token carries that the generated policies test for.
const WRITE_SCOPE: &str = "pets:write";
const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];

/// Route `i` of a generated table: `METHOD /res<k>` or `METHOD /res<k>/{id}`, eight routes per
/// resource `k`, all distinct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) method: &'static str,
    /// The rule's path template.
    pub(crate) template: String,
    /// A path the template matches.
    pub(crate) path: String,
}

pub(crate) fn route(i: usize) -> Route {
    let (method, resource) = (METHODS[i % 4], i / 8);
    if (i / 4) % 2 == 1 {
        Route {
            method,
            template: format!("/res{resource}/{{id}}"),
            path: format!("/res{resource}/42"),
        }
    } else {
        let template = format!("/res{resource}");
        Route {
            method,
            path: template.clone(),
            template,
        }
    }
}

impl Route {
    /// `METHOD /path`, as a rule names it.
    fn rule(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    /// The Cedar action, `"<method> <template>"` with the method in lower case.
    fn action(&self) -> String {
        format!(
            "{CEDAR_NAMESPACE}::Action::\"{} {}\"",
            self.method.to_lowercase(),
            self.template
        )
    }

    /// The method ARN of a request to this route.
    pub(crate) fn arn(&self) -> String {
        format!("{STAGE_ARN}/{}{}", self.method, self.path)
    }
}

/// Whether the generated policies let the bench's principals (groups [`PRINCIPAL_GROUPS`], scope
/// [`WRITE_SCOPE`], `sub` `user-00…`) call route `i`: a group permit (route `i` permits
/// `group-(i mod 10)`) or the scope permit (every third route permits [`WRITE_SCOPE`]), unless
/// the forbid of an even route (`group-(i/2 + 2 mod 10)`) applies.
pub(crate) fn allowed(i: usize) -> bool {
    let member = |g: usize| PRINCIPAL_GROUPS.contains(&(g % GROUPS));
    let permitted = member(i) || i.is_multiple_of(3);
    let forbidden = i.is_multiple_of(2) && member(forbidden_group(i));
    permitted && !forbidden
}

/// The group the `forbid` of an even route `i` names.
fn forbidden_group(i: usize) -> usize {
    (i / 2 + 2) % GROUPS
}

/// The groups claim of the bench's tokens.
pub(crate) fn principal_groups() -> Value {
    json!(
        PRINCIPAL_GROUPS
            .iter()
            .map(|g| format!("group-{g}"))
            .collect::<Vec<_>>()
    )
}

/// `AUTHZ_ROUTES` of `n` routes, each decided by Cedar.
pub(crate) fn cedar_rules(n: usize) -> String {
    let rules: Vec<Value> = (0..n)
        .map(|i| json!({"route": route(i).rule(), "cedar": true}))
        .collect();
    Value::Array(rules).to_string()
}

/// `AUTHZ_ROUTES` of the same `n` routes as scope rules with the same outcome for the bench's
/// principals: `pets:read` (which they have) where [`allowed`], `admin` (which they lack) elsewhere.
pub(crate) fn scope_rules(n: usize) -> String {
    let rules: Vec<Value> = (0..n)
        .map(|i| {
            let scope = if allowed(i) { "pets:read" } else { "admin" };
            json!({"route": route(i).rule(), "scopes": [scope]})
        })
        .collect();
    Value::Array(rules).to_string()
}

/// The Cedar schema: users in groups, with `sub` and `scopes`, and one action per route.
pub(crate) fn cedar_schema(n: usize) -> String {
    let actions: Vec<String> = (0..n)
        .map(|i| {
            let r = route(i);
            format!("\"{} {}\"", r.method.to_lowercase(), r.template)
        })
        .collect();
    format!(
        "namespace {CEDAR_NAMESPACE} {{\n    entity UserGroup;\n    entity User in [UserGroup] \
         {{ sub: String, scopes: Set<String> }};\n    entity Application;\n    action {}\n        \
         appliesTo {{ principal: [User], resource: [Application] }};\n}}\n",
        actions.join(", ")
    )
}

/// 2.5 policies per route (50 for 20 routes, 500 for 200): per route a group `permit`, a
/// `permit` reading the principal's scopes, and for every even route a `forbid` of a group with
/// a `like` condition on `sub`. Returns the policy text and the number of policies.
pub(crate) fn cedar_policies(n: usize) -> (String, usize) {
    let ns = CEDAR_NAMESPACE;
    let mut out = String::new();
    let mut count = 0;
    for i in 0..n {
        let action = route(i).action();
        let scope = if i.is_multiple_of(3) {
            WRITE_SCOPE.to_owned()
        } else {
            format!("admin:{i}")
        };
        out.push_str(&format!(
            "@id(\"group-permit-{i}\")\npermit(principal in {ns}::UserGroup::\"group-{}\", \
             action == {action}, resource);\n\n",
            i % GROUPS
        ));
        out.push_str(&format!(
            "@id(\"scope-permit-{i}\")\npermit(principal, action == {action}, resource)\n    \
             when {{ principal.scopes.contains(\"{scope}\") }};\n\n"
        ));
        count += 2;
        if i.is_multiple_of(2) {
            out.push_str(&format!(
                "@id(\"group-forbid-{i}\")\nforbid(principal in {ns}::UserGroup::\"group-{}\", \
                 action == {action}, resource)\n    when {{ principal.sub like \"user-00*\" }};\n\n",
                forbidden_group(i)
            ));
            count += 1;
        }
    }
    (out, count)
}

/// The REQUEST event of `events/request/header.json` sent to route 0 of a generated table.
pub(crate) fn route_event(token: &str) -> Value {
    let r = route(0);
    let mut e = sample_event("request/header.json", token);
    e["methodArn"] = json!(r.arn());
    e["httpMethod"] = json!(r.method);
    e["path"] = json!(r.path);
    e["resource"] = json!(r.template);
    e["pathParameters"] = json!({});
    e["requestContext"]["path"] = json!(format!("/dev{}", r.path));
    e["requestContext"]["resourcePath"] = json!(r.template);
    e["requestContext"]["httpMethod"] = json!(r.method);
    e
}

/// Every route's method ARN with whether the bench's principals may call it, and one method ARN
/// no rule lists (denied): what a right REST policy for a generated table states.
pub(crate) fn route_expectations(n: usize) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = (0..n).map(|i| (route(i).arn(), allowed(i))).collect();
    out.push((format!("{STAGE_ARN}/GET/unlisted"), false));
    out
}

/// Writes the Cedar files of an `n`-route table into the temporary directory; returns the policy
/// file, the schema file and the number of policies.
pub(crate) fn write_cedar_files(id: &str, n: usize) -> Result<(PathBuf, PathBuf, usize), String> {
    let dir = std::env::temp_dir();
    let stem = format!("authz-bench-{}-{id}", std::process::id());
    let (policies, count) = cedar_policies(n);
    let policy_file = dir.join(format!("{stem}.cedar"));
    let schema_file = dir.join(format!("{stem}.cedarschema"));
    for (path, text) in [(&policy_file, policies), (&schema_file, cedar_schema(n))] {
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok((policy_file, schema_file, count))
}

/// The DPoP client of a row: its key (P-256, ES256 proofs) and a counter making every proof's
/// `jti` new, across the row's processes too (they may share a replay table).
#[derive(Debug)]
pub(crate) struct Dpop {
    client: TestKey,
    issued: AtomicUsize,
}

impl Dpop {
    pub(crate) fn new() -> Dpop {
        Dpop {
            client: TestKey::ec_p256("dpop-client"),
            issued: AtomicUsize::new(0),
        }
    }

    /// The `cnf` claim binding a token to this client's key.
    pub(crate) fn cnf(&self) -> Value {
        json!({"jkt": self.client.jkt()})
    }

    /// The REQUEST event presenting `token` with the `DPoP` scheme (the proof is added per
    /// invocation by [`Dpop::body`]).
    pub(crate) fn event(token: &str) -> Value {
        let mut e = sample_event("request/header.json", token);
        let auth = format!("DPoP {token}");
        e["headers"]["Authorization"] = json!(auth);
        e["multiValueHeaders"]["Authorization"] = json!([auth]);
        e
    }

    /// `event` with a fresh proof of this client for the URL and method it was sent to (`htu`:
    /// `https://` + `Host` + `requestContext.path`), issued now, with a `jti` never used before.
    pub(crate) fn body(&self, event: &Value, token: &str) -> Vec<u8> {
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        let host = event["headers"]["Host"].as_str().unwrap_or_default();
        let path = event["requestContext"]["path"].as_str().unwrap_or_default();
        let method = event["httpMethod"].as_str().unwrap_or_default();
        let jti = format!("bench-{}-{n}", std::process::id());
        let proof =
            self.client
                .dpop_proof(method, &format!("https://{host}{path}"), token, now(), &jti);
        let mut e = event.clone();
        e["headers"]["DPoP"] = json!(proof);
        e["multiValueHeaders"]["DPoP"] = json!([proof]);
        serde_json::to_vec(&e).expect("event serializes")
    }
}

/// The DynamoDB table of the DPoP replay store, on a moto_server of its own; moto's request
/// recorder counts the calls the authorizer makes to it.
pub(crate) struct ReplayTable {
    moto: MotoServer,
    /// moto writes its recording to `moto_recording` in its working directory, which is ours.
    recording: PathBuf,
}

impl std::fmt::Debug for ReplayTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayTable")
            .field("moto", &self.moto)
            .finish_non_exhaustive()
    }
}

/// The replay table's name.
pub(crate) const REPLAY_TABLE: &str = "authz-bench-dpop-replay";

/// Calls the store made while recording: PutItem calls, and all calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StoreCalls {
    pub(crate) put_item: usize,
    pub(crate) all: usize,
}

impl ReplayTable {
    pub(crate) async fn start() -> Result<ReplayTable, String> {
        let moto = MotoServer::try_start().await?;
        moto.create_replay_table(REPLAY_TABLE).await;
        let recording = std::env::current_dir()
            .map_err(|e| format!("current_dir: {e}"))?
            .join("moto_recording");
        Ok(ReplayTable { moto, recording })
    }

    /// The environment of an authorizer using the table: the SDK's endpoint and dummy
    /// credentials, and `AUTHZ_DPOP_REPLAY_TABLE`.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let mut env = self.moto.sdk_env();
        env.push((
            "AUTHZ_DPOP_REPLAY_TABLE".to_owned(),
            REPLAY_TABLE.to_owned(),
        ));
        env
    }

    /// Empties moto's recording and starts recording every request.
    pub(crate) async fn start_recording(&self) -> Result<(), String> {
        self.moto_api("reset-recording").await?;
        self.moto_api("start-recording").await
    }

    /// Stops recording; counts the recorded requests, by `X-Amz-Target`; removes the recording.
    pub(crate) async fn stop_recording(&self) -> Result<StoreCalls, String> {
        self.moto_api("stop-recording").await?;
        let text = std::fs::read_to_string(&self.recording)
            .map_err(|e| format!("{}: {e}", self.recording.display()))?;
        let _ = std::fs::remove_file(&self.recording);
        Ok(count_calls(&text))
    }

    /// `POST /moto-api/recorder/<action>` over a fresh loopback connection.
    async fn moto_api(&self, action: &str) -> Result<(), String> {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let endpoint = self.moto.endpoint();
        let host = endpoint.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(host)
            .await
            .map_err(|e| format!("moto {host}: {e}"))?;
        let request = format!(
            "POST /moto-api/recorder/{action} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("moto {action}: {e}"))?;
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .await
            .map_err(|e| format!("moto {action}: {e}"))?;
        let answer = String::from_utf8_lossy(&answer);
        if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
            Ok(())
        } else {
            Err(format!(
                "moto {action}: {}",
                answer.lines().next().unwrap_or_default()
            ))
        }
    }
}

/// Counts the requests of a moto recording (one JSON object a line, with the request headers).
fn count_calls(recording: &str) -> StoreCalls {
    let mut calls = StoreCalls::default();
    for line in recording.lines().filter(|l| !l.trim().is_empty()) {
        calls.all += 1;
        let entry: Value = serde_json::from_str(line).unwrap_or_default();
        let target = entry["headers"]
            .as_object()
            .and_then(|h| {
                h.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
                    .and_then(|(_, v)| v.as_str())
            })
            .unwrap_or_default();
        if target == "DynamoDB_20120810.PutItem" {
            calls.put_item += 1;
        }
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_of_20_and_200_routes_have_50_and_500_policies_and_distinct_routes() {
        for (n, policies) in [(20, 50), (200, 500)] {
            let (text, count) = cedar_policies(n);
            assert_eq!(count, policies);
            assert_eq!(text.matches("@id(").count(), policies);
            let rules: std::collections::HashSet<String> =
                (0..n).map(|i| route(i).rule()).collect();
            assert_eq!(rules.len(), n);
            let schema = cedar_schema(n);
            for i in 0..n {
                let r = route(i);
                assert!(schema.contains(&format!(
                    "\"{} {}\"",
                    r.method.to_lowercase(),
                    r.template
                )));
            }
        }
    }

    #[test]
    fn the_principals_may_call_some_routes_and_not_others_route_0_included() {
        let allowed: Vec<bool> = (0..20).map(allowed).collect();
        assert!(allowed[0], "the events go to route 0");
        // Route 1: group-1 permits. Route 2: nothing permits. Route 14: group-4 permits, the
        // forbid (group-9) does not apply. Routes 4 and 18: permitted (group-4; the scope) and
        // forbidden (group-4; group-1): forbid wins.
        assert!(allowed[1] && !allowed[2] && allowed[14]);
        assert!(!allowed[4] && !allowed[18]);
        let (yes, no) = (
            allowed.iter().filter(|a| **a).count(),
            allowed.iter().filter(|a| !**a).count(),
        );
        assert_eq!((yes, no), (9, 11), "{allowed:?}");
    }

    #[test]
    fn scope_rules_and_cedar_rules_name_the_same_routes() {
        let cedar: Vec<Value> = serde_json::from_str(&cedar_rules(20)).unwrap();
        let scopes: Vec<Value> = serde_json::from_str(&scope_rules(20)).unwrap();
        assert_eq!(cedar.len(), 20);
        for (i, (c, s)) in cedar.iter().zip(&scopes).enumerate() {
            assert_eq!(c["route"], s["route"]);
            assert_eq!(c["cedar"], true);
            let scope = if allowed(i) { "pets:read" } else { "admin" };
            assert_eq!(s["scopes"], json!([scope]));
        }
        assert_eq!(route(5).rule(), "POST /res0/{id}");
        assert_eq!(route(5).arn(), format!("{STAGE_ARN}/POST/res0/42"));
    }

    #[test]
    fn the_route_event_asks_route_0() {
        let e = route_event("t");
        assert_eq!(e["methodArn"], json!(route(0).arn()));
        assert_eq!(e["requestContext"]["path"], "/dev/res0");
    }

    #[test]
    fn dpop_bodies_carry_a_new_proof_each_for_the_url_the_event_was_sent_to() {
        let dpop = Dpop::new();
        let event = Dpop::event("tok");
        assert_eq!(event["headers"]["Authorization"], "DPoP tok");
        let a: Value = serde_json::from_slice(&dpop.body(&event, "tok")).unwrap();
        let b: Value = serde_json::from_slice(&dpop.body(&event, "tok")).unwrap();
        let claims = |v: &Value| {
            use base64::Engine as _;
            let proof = v["headers"]["DPoP"].as_str().unwrap().to_owned();
            assert_eq!(v["multiValueHeaders"]["DPoP"], json!([proof]));
            let payload = proof.split('.').nth(1).unwrap();
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap();
            serde_json::from_slice::<Value>(&bytes).unwrap()
        };
        let (ca, cb) = (claims(&a), claims(&b));
        assert_ne!(ca["jti"], cb["jti"]);
        assert_eq!(
            ca["htu"],
            "https://abcdef1234.execute-api.us-east-1.amazonaws.com/dev/pets/42"
        );
        assert_eq!(ca["htm"], "GET");
    }

    #[test]
    fn a_recording_is_counted_by_target() {
        let rec = concat!(
            r#"{"headers": {"X-Amz-Target": "DynamoDB_20120810.PutItem"}, "method": "POST"}"#,
            "\n",
            r#"{"headers": {"x-amz-target": "DynamoDB_20120810.PutItem"}, "method": "POST"}"#,
            "\n",
            r#"{"headers": {"X-Amz-Target": "DynamoDB_20120810.GetItem"}, "method": "POST"}"#,
            "\n"
        );
        assert_eq!(
            count_calls(rec),
            StoreCalls {
                put_item: 2,
                all: 3
            }
        );
    }
}
