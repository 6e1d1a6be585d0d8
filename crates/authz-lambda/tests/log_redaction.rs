//! Log redaction over every code path that logs (issue 8): no token, no secret, no client secret.
//!
//! The three real authorizer binaries (`token-authorizer`, `request-authorizer`,
//! `http-authorizer`, found with `workspace_bin`) run through the Lambda Runtime API emulator at
//! the most verbose logging they accept: `AWS_LAMBDA_LOG_LEVEL=TRACE` and `RUST_LOG=trace`, in
//! JSON and in text, and `RUST_LOG` directives that ask by name for the TRACE of the targets
//! `authz-lambda` caps (lambda_runtime logs the raw event there, and the AWS SDK the Secrets
//! Manager answer when `LOG_SENSITIVE_BODIES=true`, also set then). They go through every path
//! that logs: allow, deny, expired, bad signature, unknown kid (JWKS refetch), key rotation,
//! malformed and missing tokens, other schemes, malformed events, the IdP down at cold start and
//! during a refresh; opaque tokens introspected at a real OpenID provider (npm oidc-provider) with
//! `client_secret_basic` and `client_secret_post` and at the testkit issuer in its Hydra-like
//! bearer mode, the client secret read from a real Secrets Manager API (moto_server): active,
//! inactive, a rotated secret read again after `invalid_client`, the IdP down, unreadable secrets;
//! and bad configurations failing the cold start.
//!
//! Every stdout and stderr line of every process, and every init error the emulator received, is
//! searched for every credential the test handed out: each JWT (whole, `header.payload`, and each
//! segment alone), each opaque token, each client secret (raw, form-encoded, and inside its HTTP
//! Basic value), each bearer access token the IdP issued, each Secrets Manager secret value and
//! the AWS credentials of the processes. So that the test cannot pass because nothing was
//! logged, each process must have written exactly the decision lines its invocations call for
//! (decision, reason, kid, iss), and each one reading the secret at least one DEBUG or TRACE line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{path::PathBuf, time::Duration};

use authz_core::evaluate;
use authz_testkit::{
    Issuer, LambdaProcess, Outcome, TestKey, b64url,
    external::{IdpClient, MotoServer, OidcProvider},
    fixtures::{
        AUDIENCE, STAGE_ARN, claims, introspection_secret, opaque_claims, rest_statements,
        sample_event, with, workspace_bin,
    },
    issuer::{basic_auth, form_encode},
    now, with_signature_of,
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Value, json};

/// `GET /pets` needs `read`, `GET /admin` needs `admin` (which no token has: the deny path).
const ROUTES: &str =
    r#"[{"route":"GET /pets","scopes":["read"]},{"route":"GET /admin","scopes":["admin"]}]"#;
/// Past the 0.3 s cool-down of JWKS refetches and secret re-reads.
const COOL_DOWN: Duration = Duration::from_millis(350);
/// What lambda_runtime logs the raw event (and so the token) under, at TRACE.
const RAW_EVENT_LOG: &str = "raw JSON event received from Lambda";

// Distinctive credentials (never a substring of anything else the processes could print).
const INTROSPECTOR: &str = "authz-introspector";
const READER: &str = "pet-reader";
const READER_SECRET: &str = "reader-Secret-7QmZp2Lx";
/// Secrets with characters form-encoding changes, so the encoded forms differ from the raw ones.
const BASIC_SECRETS: [&str; 2] = ["basic+Secret/One%Vq8K=", "basic Secret:Two&Wd3N"];
const POST_SECRETS: [&str; 2] = ["post+Secret/One%Hn5T=", "post Secret:Two&Jc6R"];
const BEARER_SECRETS: [&str; 2] = ["bearer+Secret/One%Ky4G=", "bearer Secret:Two&Ub9S"];
const AWS_SECRET_ACCESS_KEY: &str = "awsSecretKey-Lq2Vt8Zr5Nd1Xc7Bm4Hs";
const AWS_SESSION_TOKEN: &str = "awsSessionToken-Fp3Wk9Gy6Qj2Tn8Rv5Ac";

/// The three authorizer binaries.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Bin {
    Token,
    Request,
    Http,
}

const BINS: [Bin; 3] = [Bin::Token, Bin::Request, Bin::Http];

impl Bin {
    fn name(self) -> &'static str {
        match self {
            Bin::Token => "token-authorizer",
            Bin::Request => "request-authorizer",
            Bin::Http => "http-authorizer",
        }
    }

    fn path(self) -> PathBuf {
        workspace_bin(self.name())
    }

    /// This binary's event for `GET {path}` with `authorization` as its credential (none when
    /// `None`).
    fn event(self, authorization: Option<&str>, path: &str) -> Value {
        let arn = format!("{STAGE_ARN}/GET{path}");
        match self {
            Bin::Token => {
                let mut e = json!({"type": "TOKEN", "methodArn": arn});
                if let Some(a) = authorization {
                    e["authorizationToken"] = json!(a);
                }
                e
            }
            Bin::Request => {
                let mut e = sample_event("request/header.json", "unused");
                e["methodArn"] = json!(arn);
                e["path"] = json!(path);
                e["resource"] = json!(path);
                e["pathParameters"] = json!({});
                e["headers"] = json!({"Host": "abcdef1234.execute-api.us-east-1.amazonaws.com"});
                e["multiValueHeaders"] = json!({});
                if let Some(a) = authorization {
                    e["headers"]["Authorization"] = json!(a);
                    e["multiValueHeaders"]["Authorization"] = json!([a]);
                }
                e
            }
            Bin::Http => {
                let mut e = sample_event("http/planets.json", "unused");
                let route_key = format!("GET {path}");
                e["routeKey"] = json!(route_key);
                e["requestContext"]["routeKey"] = json!(route_key);
                e["routeArn"] = json!(arn);
                e["rawPath"] = json!(format!("/dev{path}"));
                e["requestContext"]["http"]["path"] = json!(format!("/dev{path}"));
                let headers = e["headers"].as_object_mut().unwrap();
                headers.remove("authorization");
                match authorization {
                    Some(a) => {
                        headers.insert("authorization".into(), json!(a));
                        e["identitySource"] = json!([a, route_key]);
                    }
                    None => e["identitySource"] = json!([route_key]),
                }
                e
            }
        }
    }

    /// Valid JSON this binary's handler cannot take as its event, with `authorization` inside.
    fn unparsable_event(self, authorization: &str) -> Vec<u8> {
        let arn = format!("{STAGE_ARN}/GET/pets");
        let event = match self {
            Bin::Token => {
                json!({"type": "TOKEN", "authorizationToken": [authorization], "methodArn": arn})
            }
            Bin::Request => {
                json!({"type": "REQUEST", "methodArn": arn, "headers": [authorization]})
            }
            Bin::Http => {
                json!({"version": "2.0", "routeKey": "GET /pets", "headers": [authorization]})
            }
        };
        serde_json::to_vec(&event).unwrap()
    }

    /// What an answer is: `allow`, `refuse` (a policy without Allow for the route, or
    /// `isAuthorized: false`), `unauthorized` (the REST 401) or `error`.
    fn answer_kind(self, out: &Outcome, path: &str) -> &'static str {
        match out {
            Outcome::Error {
                error_type,
                error_message,
            } if error_type == "Unauthorized" && error_message == "Unauthorized" => "unauthorized",
            Outcome::Error { .. } => "error",
            Outcome::Response(r) if self == Bin::Http => match r["isAuthorized"].as_bool() {
                Some(true) => "allow",
                Some(false) => "refuse",
                None => panic!("not a simple response: {r}"),
            },
            Outcome::Response(r) => {
                let statements =
                    rest_statements(out).unwrap_or_else(|| panic!("not a REST policy: {r}"));
                if evaluate(&statements, &format!("{STAGE_ARN}/GET{path}")) {
                    "allow"
                } else {
                    "refuse"
                }
            }
        }
    }

    /// The answer a decision must come with.
    fn expected_answer(self, decision: &str) -> &'static str {
        match (decision, self) {
            ("allow", _) => "allow",
            ("deny", _) | ("unauthorized", Bin::Http) => "refuse",
            ("unauthorized", _) => "unauthorized",
            ("error", _) => "error",
            (other, _) => panic!("unknown decision {other}"),
        }
    }
}

/// One way of asking the binaries for their most verbose logs.
#[derive(Clone, Copy, Debug)]
struct Logging {
    name: &'static str,
    env: &'static [(&'static str, &'static str)],
    text: bool,
}

/// `RUST_LOG` asking, by name, for TRACE from every target `authz-lambda` caps (with
/// `LOG_SENSITIVE_BODIES=true`, the AWS SDK logs the Secrets Manager answer at TRACE).
const LIFT_CAPS: &str = "trace,lambda_runtime=trace,lambda_runtime::layers=trace,\
    lambda_runtime::layers::api_response=trace,lambda_runtime_api_client=trace,\
    aws_smithy_runtime=trace,aws_smithy_runtime::client::orchestrator::http=trace,hyper=trace,\
    hyper_util=trace,reqwest=trace,rustls=trace,h2=trace";

const LOGGING: [Logging; 4] = [
    Logging {
        name: "AWS_LAMBDA_LOG_LEVEL=TRACE, JSON",
        env: &[
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ],
        text: false,
    },
    Logging {
        name: "AWS_LAMBDA_LOG_LEVEL=TRACE, Text",
        env: &[
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
            ("AWS_LAMBDA_LOG_FORMAT", "Text"),
        ],
        text: true,
    },
    Logging {
        name: "RUST_LOG=trace, JSON (default format)",
        env: &[("RUST_LOG", "trace")],
        text: false,
    },
    Logging {
        name: "RUST_LOG and LOG_SENSITIVE_BODIES lifting the caps, Text",
        env: &[
            ("RUST_LOG", LIFT_CAPS),
            ("LOG_SENSITIVE_BODIES", "true"),
            ("AWS_LAMBDA_LOG_FORMAT", "Text"),
        ],
        text: true,
    },
];

/// One decision line, as logged or as expected.
#[derive(Clone, Debug, PartialEq)]
struct Decision {
    decision: String,
    reason: String,
    kid: Option<String>,
    iss: Option<String>,
}

fn want(decision: &str, reason: &str, kid: Option<&str>, iss: Option<&str>) -> Decision {
    Decision {
        decision: decision.into(),
        reason: reason.into(),
        kid: kid.map(str::to_owned),
        iss: iss.map(str::to_owned),
    }
}

/// The value of `name` in a text-format line (`name="quoted"` or `name=bare`).
fn text_field(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!(" {name}="))? + name.len() + 2;
    let rest = &line[start..];
    let Some(quoted) = rest.strip_prefix('"') else {
        return Some(rest.split(' ').next().unwrap_or_default().to_owned());
    };
    let mut value = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.extend(chars.next()),
            '"' => return Some(value),
            c => value.push(c),
        }
    }
    None
}

/// The decision lines among `logs`, in either format.
fn parse_decisions(logs: &[String], text: bool) -> Vec<Decision> {
    logs.iter()
        .filter_map(|line| {
            if text {
                if !line.contains("authorization decision") {
                    return None;
                }
                Some(Decision {
                    decision: text_field(line, "decision")?,
                    reason: text_field(line, "reason")?,
                    kid: text_field(line, "kid"),
                    iss: text_field(line, "iss"),
                })
            } else {
                let v: Value = serde_json::from_str(line).ok()?;
                let field = |name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
                Some(Decision {
                    decision: field("decision")?,
                    reason: field("reason")?,
                    kid: field("kid"),
                    iss: field("iss"),
                })
            }
        })
        .collect()
}

/// One authorizer process and the decision lines its invocations must produce.
struct Run {
    label: String,
    bin: Bin,
    logging: Logging,
    process: LambdaProcess,
    want: Vec<Decision>,
}

impl Run {
    /// Starts `bin` with `logging` and `env` (plus the audience, the routes and the short time
    /// windows of the other tests).
    async fn start(bin: Bin, logging: Logging, label: &str, env: &[(String, String)]) -> Run {
        let mut vars: Vec<(&str, &str)> = vec![
            ("AUTHZ_AUDIENCE", AUDIENCE),
            ("AUTHZ_ROUTES", ROUTES),
            ("AUTHZ_JWKS_COOLDOWN_SECONDS", "0.3"),
            ("AUTHZ_HTTP_TIMEOUT_SECONDS", "0.5"),
        ];
        vars.extend(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        vars.extend_from_slice(logging.env);
        let process = LambdaProcess::spawn(&bin.path(), &vars).await;
        Run {
            label: format!("{} [{}] {label}", bin.name(), logging.name),
            bin,
            logging,
            process,
            want: Vec::new(),
        }
    }

    /// Invokes with this binary's event for `GET {path}` and checks the answer fits `decision`.
    async fn call(&mut self, authorization: Option<&str>, path: &str, decision: &Decision) {
        let out = self
            .process
            .invoke(&self.bin.event(authorization, path))
            .await;
        let (got, expected) = (
            self.bin.answer_kind(&out, path),
            self.bin.expected_answer(&decision.decision),
        );
        assert_eq!(
            got,
            expected,
            "{}: {decision:?}: answer {out:?}\nlogs: {:#?}",
            self.label,
            self.process.logs()
        );
        self.want.push(decision.clone());
    }

    /// Invokes with raw bytes; `decision` is `None` when the runtime itself must refuse them
    /// (not JSON: the handler is never called, no decision line).
    async fn call_raw(&mut self, body: Vec<u8>, decision: Option<&Decision>) {
        let out = self
            .process
            .invoke_raw(body, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.label));
        let Outcome::Error { error_type, .. } = &out else {
            panic!("{}: a malformed event answered {out:?}", self.label);
        };
        match decision {
            Some(d) => {
                assert_eq!(self.bin.expected_answer(&d.decision), "error");
                assert!(!error_type.contains("DeserializeError"), "{error_type}");
                self.want.push(d.clone());
            }
            None => assert!(error_type.contains("DeserializeError"), "{error_type}"),
        }
    }

    /// The decision lines written so far, waiting (up to 10 s) until there are as many as
    /// expected: the test reads stdout in another task.
    async fn decisions(&self) -> Vec<Decision> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let got = parse_decisions(&self.process.logs(), self.logging.text);
            if got.len() >= self.want.len() || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Starts every binary with every [`LOGGING`], all with `env`.
async fn start_all(label: &str, env: &[(String, String)]) -> Vec<Run> {
    let mut runs = Vec::new();
    for logging in LOGGING {
        for bin in BINS {
            runs.push(Run::start(bin, logging, label, env).await);
        }
    }
    runs
}

/// Each run logged at least `times` lines containing `needle` (waiting up to 5 s for them: the
/// test reads stdout in another task).
async fn assert_logged(runs: &[Run], needle: &str, times: usize) {
    for run in runs {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let count = loop {
            let count = run
                .process
                .logs()
                .iter()
                .filter(|l| l.contains(needle))
                .count();
            if count >= times || tokio::time::Instant::now() >= deadline {
                break count;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert!(
            count >= times,
            "{}: {count} line(s) with {needle:?}, expected {times}: {:#?}",
            run.label,
            run.process.logs()
        );
    }
}

/// [`Run::call`] on every run.
async fn call_all(runs: &mut [Run], authorization: Option<&str>, path: &str, decision: &Decision) {
    for run in runs {
        run.call(authorization, path, decision).await;
    }
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// What must never reach a log, each with what it is.
#[derive(Default)]
struct Needles(Vec<(String, String)>);

impl Needles {
    fn add(&mut self, what: &str, needle: &str) {
        // Short strings could match by chance; every credential of this test is longer.
        assert!(needle.len() >= 12, "{what}: needle {needle:?} too short");
        self.0.push((what.to_owned(), needle.to_owned()));
    }

    /// A JWT (or something shaped like one): the whole token, its signing input
    /// `header.payload`, and each segment on its own (the raw base64url of the header or the
    /// payload is as much a leak as the signature).
    fn jwt(&mut self, what: &str, token: &str) {
        self.add(what, token);
        let (input, signature) = token.rsplit_once('.').unwrap();
        let (header, payload) = input.split_once('.').unwrap();
        self.add(&format!("{what}: header.payload"), input);
        self.add(&format!("{what}: header"), header);
        self.add(&format!("{what}: payload"), payload);
        self.add(&format!("{what}: signature"), signature);
    }

    /// A client secret: raw, form-encoded (RFC 6749 §2.3.1, the `client_secret_post` body) and
    /// inside the HTTP Basic value.
    fn client_secret(&mut self, what: &str, client_id: &str, secret: &str) {
        self.add(what, secret);
        let encoded = form_encode(secret);
        if encoded != secret {
            self.add(&format!("{what}, form-encoded"), &encoded);
        }
        let basic = basic_auth(client_id, secret);
        let basic = basic.strip_prefix("Basic ").unwrap();
        self.add(&format!("{what}, HTTP Basic value"), basic);
    }

    /// The successive client secrets of the introspector (`mode` names them): each as a
    /// [`client_secret`](Self::client_secret) and as the Secrets Manager value holding it.
    fn introspection_secrets(&mut self, mode: &str, secrets: &[&str]) {
        for (i, secret) in secrets.iter().enumerate() {
            let what = format!("{mode} client secret #{}", i + 1);
            self.client_secret(&what, INTROSPECTOR, secret);
            self.add(
                &format!("{what}: secret value"),
                &introspection_secret(INTROSPECTOR, secret),
            );
        }
    }
}

/// Every line of every run (and every `extra` text, e.g. an init error) is free of every needle,
/// and no run logged lambda_runtime's raw event.
fn assert_no_leak(runs: &[Run], extra: &[(String, String)], needles: &Needles) {
    let mut texts: Vec<(String, String)> = extra.to_vec();
    for run in runs {
        let logs = run.process.logs();
        texts.extend(logs.into_iter().map(|l| (run.label.clone(), l)));
    }
    let mut leaks = Vec::new();
    for (origin, text) in &texts {
        if text.contains(RAW_EVENT_LOG) {
            leaks.push(format!("{origin}: lambda_runtime's raw event: {text}"));
        }
        for (what, needle) in &needles.0 {
            if text.contains(needle.as_str()) {
                let shown: String = text.chars().take(400).collect();
                leaks.push(format!("{origin}: {what}: {shown}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leak(s) in {} lines:\n{}",
        leaks.len(),
        texts.len(),
        leaks.join("\n")
    );
}

/// Each run logged below INFO at least once: the verbose setting took effect (the AWS SDK logs at
/// DEBUG and TRACE when the secret is read).
fn assert_verbose(runs: &[Run]) {
    for run in runs {
        let logs = run.process.logs();
        let level = |l: &String| {
            let v: Option<Value> = serde_json::from_str(l).ok();
            match v {
                Some(v) => matches!(v["level"].as_str(), Some("DEBUG" | "TRACE")),
                None => l.starts_with("DEBUG ") || l.starts_with("TRACE "),
            }
        };
        assert!(
            logs.iter().any(level),
            "{}: no DEBUG or TRACE line:\n{logs:#?}",
            run.label
        );
    }
}

/// Each run wrote exactly the decision lines its invocations call for, in order.
async fn assert_decisions(runs: &[Run]) {
    for run in runs {
        let got = run.decisions().await;
        assert_eq!(
            got,
            run.want,
            "{}: decision lines\nlogs: {:#?}",
            run.label,
            run.process.logs()
        );
    }
}

/// Settings of a process reading its client secret from moto: the AWS SDK's (with distinctive
/// credentials, which must not be logged either), and the default 2 s HTTP timeout, which also
/// bounds the secret read: moto, one Python process serving every run of the test, may take
/// more than 0.5 s under load. No path here waits for a timeout (a "down" IdP refuses or hangs
/// up at once).
fn aws_env(moto: &MotoServer) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = moto
        .sdk_env()
        .into_iter()
        .filter(|(k, _)| k != "AWS_SECRET_ACCESS_KEY")
        .collect();
    env.extend(owned(&[
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET_ACCESS_KEY),
        ("AWS_SESSION_TOKEN", AWS_SESSION_TOKEN),
        ("AUTHZ_HTTP_TIMEOUT_SECONDS", "2"),
    ]));
    env
}

fn aws_needles(needles: &mut Needles) {
    needles.add("AWS secret access key", AWS_SECRET_ACCESS_KEY);
    needles.add("AWS session token", AWS_SESSION_TOKEN);
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// JWT paths: allow, deny, expired, bad signature, malformed, missing, another scheme, malformed
/// events, unknown kid (refetch), key rotation, the IdP down during a refresh; and, with another
/// issuer, the IdP down at cold start, then back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_paths_never_log_a_token() {
    let ((mut runs, mut needles), (cold, more)) =
        tokio::join!(jwt_paths(), jwt_idp_down_at_cold_start());
    runs.extend(cold);
    needles.0.extend(more.0);
    assert_decisions(&runs).await;
    assert_no_leak(&runs, &[], &needles);
}

async fn jwt_paths() -> (Vec<Run>, Needles) {
    let issuer = Issuer::start().await;
    let (k1, k2) = (TestKey::rsa("k1"), TestKey::ec_p256("k2"));
    issuer.set_keys(vec![k1.jwk()]);
    let url = issuer.url();
    let iss = Some(url.as_str());
    let mut runs = start_all("JWT", &owned(&[("AUTHZ_ISSUER", &url)])).await;

    let c = claims(&issuer);
    let good = k1.sign(&c);
    let expired = k1.sign(&with(c.clone(), json!({"exp": now() - 600})));
    let other = k1.sign(&with(c.clone(), json!({"sub": "mallory"})));
    // `other`'s header and payload under `good`'s signature.
    let forged = with_signature_of(&other, &good);
    let unknown_kid = TestKey::rsa("kid-not-in-jwks").sign(&c);
    let unknown_kid_while_down = TestKey::rsa("kid-while-down").sign(&c);
    let rotated = k2.sign(&c);
    // Three base64url segments, the header truncated JSON.
    let malformed = format!(
        "{}.{}.{}",
        b64url(br#"{"alg":"RS256","kid":"k1""#),
        b64url(
            json!({"sub": "alice", "jti": "malformed-Mx4Qw8"})
                .to_string()
                .as_bytes()
        ),
        b64url(b"not a signature, Zr5Tp1Yv")
    );
    let basic = format!("Basic {}", STANDARD.encode("alice:basic-Password-9TzQw2"));
    let mut needles = Needles::default();
    for (what, token) in [
        ("valid JWT", &good),
        ("expired JWT", &expired),
        ("JWT whose signature was moved", &other),
        ("JWT with a foreign signature", &forged),
        ("JWT with an unknown kid", &unknown_kid),
        (
            "JWT with an unknown kid (IdP down)",
            &unknown_kid_while_down,
        ),
        ("JWT signed with the rotated key", &rotated),
        ("malformed JWT", &malformed),
    ] {
        needles.jwt(what, token);
    }
    needles.add("Basic credentials", &basic["Basic ".len()..]);
    needles.add("Basic password", "basic-Password-9TzQw2");

    let cases = [
        (Some(&good), "/pets", want("allow", "ok", Some("k1"), iss)),
        (
            Some(&good),
            "/admin",
            want("deny", "insufficient_scope", Some("k1"), iss),
        ),
        (
            Some(&expired),
            "/pets",
            want("unauthorized", "expired", Some("k1"), iss),
        ),
        (
            Some(&forged),
            "/pets",
            want("unauthorized", "bad_signature", Some("k1"), iss),
        ),
        (
            Some(&malformed),
            "/pets",
            want("unauthorized", "malformed", None, None),
        ),
        (
            None,
            "/pets",
            want("unauthorized", "missing_token", None, None),
        ),
    ];
    for (token, path, decision) in &cases {
        let authorization = token.map(|t| bearer(t));
        call_all(&mut runs, authorization.as_deref(), path, decision).await;
    }
    let bad_scheme = want("unauthorized", "bad_scheme", None, None);
    call_all(&mut runs, Some(&basic), "/pets", &bad_scheme).await;
    // Events carrying the token: one the handler cannot parse (a decision line), one that is not
    // JSON at all (refused by lambda_runtime before the handler; it logs the raw event at TRACE).
    let invalid = want("error", "invalid_event", None, None);
    let truncated = format!(r#"{{"authorizationToken": "Bearer {good}", "methodArn": "#);
    for run in &mut runs {
        let event = run.bin.unparsable_event(&bearer(&good));
        run.call_raw(event, Some(&invalid)).await;
        run.call_raw(truncated.clone().into_bytes(), None).await;
    }

    // Unknown kid: one JWKS refetch per process (past the cool-down of the cold-start fetch).
    tokio::time::sleep(COOL_DOWN).await;
    let fetches = issuer.jwks_fetches();
    let decision = want("unauthorized", "unknown_kid", Some("kid-not-in-jwks"), iss);
    call_all(&mut runs, Some(&bearer(&unknown_kid)), "/pets", &decision).await;
    assert_eq!(
        issuer.jwks_fetches(),
        fetches + runs.len(),
        "one refetch each"
    );
    // Rotation: the new key is found by the refetch its kid triggers.
    issuer.set_keys(vec![k1.jwk(), k2.jwk()]);
    tokio::time::sleep(COOL_DOWN).await;
    let decision = want("allow", "ok", Some("k2"), iss);
    call_all(&mut runs, Some(&bearer(&rotated)), "/pets", &decision).await;
    // The IdP down during a refresh: the refetch fails (logged), cached keys keep serving.
    issuer.set_down(true);
    tokio::time::sleep(COOL_DOWN).await;
    let decision = want("unauthorized", "unknown_kid", Some("kid-while-down"), iss);
    call_all(
        &mut runs,
        Some(&bearer(&unknown_kid_while_down)),
        "/pets",
        &decision,
    )
    .await;
    let decision = want("allow", "ok", Some("k1"), iss);
    call_all(&mut runs, Some(&bearer(&good)), "/pets", &decision).await;
    issuer.set_down(false);
    // Each logged the refresh at cold start, the refetches that found nothing new and the one
    // that found k2, then the failed one.
    assert_logged(&runs, "jwks refreshed", 3).await;
    assert_logged(&runs, "jwks refresh failed", 1).await;
    (runs, needles)
}

async fn jwt_idp_down_at_cold_start() -> (Vec<Run>, Needles) {
    let issuer = Issuer::start().await;
    let key = TestKey::ec_p384("cold");
    issuer.set_keys(vec![key.jwk()]);
    issuer.set_down(true);
    let url = issuer.url();
    let iss = Some(url.as_str());
    let env = owned(&[("AUTHZ_ISSUER", &url)]);
    let mut runs = start_all("JWT, IdP down at cold start", &env).await;
    let token = key.sign(&claims(&issuer));
    let mut needles = Needles::default();
    needles.jwt("JWT (IdP down at cold start)", &token);
    let decision = want("unauthorized", "jwks_unavailable", Some("cold"), iss);
    call_all(&mut runs, Some(&bearer(&token)), "/pets", &decision).await;
    issuer.set_down(false);
    tokio::time::sleep(COOL_DOWN).await;
    let decision = want("allow", "ok", Some("cold"), iss);
    call_all(&mut runs, Some(&bearer(&token)), "/pets", &decision).await;
    (runs, needles)
}

/// Opaque tokens: a real OpenID provider with `client_secret_basic` and with
/// `client_secret_post`, the testkit issuer in its bearer mode, and unreadable secrets; the
/// client secret always from moto.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_paths_never_log_a_token_or_a_secret() {
    let moto = MotoServer::start().await;
    let (basic, post, bearer_mode, unreadable) = tokio::join!(
        oidc_paths(&moto, "client_secret_basic", BASIC_SECRETS, 0),
        oidc_paths(&moto, "client_secret_post", POST_SECRETS, 1),
        bearer_paths(&moto),
        unreadable_secrets(&moto),
    );
    let mut runs = Vec::new();
    let mut needles = Needles::default();
    aws_needles(&mut needles);
    for (more_runs, more_needles) in [basic, post, bearer_mode, unreadable] {
        runs.extend(more_runs);
        needles.0.extend(more_needles.0);
    }
    assert_decisions(&runs).await;
    assert_verbose(&runs);
    assert_no_leak(&runs, &[], &needles);
}

/// Client id and secret of the authorizer, and a client that gets tokens, at the OpenID provider.
fn idp_clients(auth: &str, secret: &str) -> [IdpClient; 2] {
    [
        IdpClient::new(INTROSPECTOR, secret, auth, ""),
        IdpClient::basic(READER, READER_SECRET, "read write"),
    ]
}

/// Active (allow, deny), inactive, rotated secret (`invalid_client`, read again), the IdP down
/// while warm and at cold start, then back. `offset` picks the logging of the cold-start runs.
async fn oidc_paths(
    moto: &MotoServer,
    auth: &str,
    secrets: [&str; 2],
    offset: usize,
) -> (Vec<Run>, Needles) {
    let name = format!("authz/{auth}");
    let arn = moto
        .put_secret(&name, &introspection_secret(INTROSPECTOR, secrets[0]))
        .await;
    let mut idp =
        OidcProvider::start(&idp_clients(auth, secrets[0]), "opaque", Some(AUDIENCE)).await;
    let url = idp.issuer();
    let iss = Some(url.as_str());
    let mut env = aws_env(moto);
    env.extend(owned(&[
        ("AUTHZ_ISSUER", &url),
        ("AUTHZ_INTROSPECTION_SECRET_ARN", &arn),
        ("AUTHZ_INTROSPECTION_AUTH", auth),
    ]));
    let label = format!("opaque, {auth}");
    let mut runs = start_all(&label, &env).await;
    let mut needles = Needles::default();
    needles.introspection_secrets(auth, &secrets);
    needles.client_secret("token client's secret", READER, READER_SECRET);
    let token = async |idp: &OidcProvider, needles: &mut Needles| {
        let token = idp.token(READER, READER_SECRET, "read").await;
        needles.add(&format!("opaque token ({auth})"), &token);
        token
    };

    let first = token(&idp, &mut needles).await;
    let allow = want("allow", "ok", None, iss);
    call_all(&mut runs, Some(&bearer(&first)), "/pets", &allow).await;
    let deny = want("deny", "insufficient_scope", None, iss);
    call_all(&mut runs, Some(&bearer(&first)), "/admin", &deny).await;
    let unknown = format!("unknown-opaque-{auth}-Vb7Nq2Xw9Lk4");
    needles.add("unknown opaque token", &unknown);
    let inactive = want("unauthorized", "inactive_token", None, iss);
    call_all(&mut runs, Some(&bearer(&unknown)), "/pets", &inactive).await;

    // Rotation at the IdP and in Secrets Manager: `invalid_client`, the secret read again.
    idp.restart(&idp_clients(auth, secrets[1])).await;
    moto.put_secret(&name, &introspection_secret(INTROSPECTOR, secrets[1]))
        .await;
    tokio::time::sleep(COOL_DOWN).await;
    let second = token(&idp, &mut needles).await;
    call_all(&mut runs, Some(&bearer(&second)), "/pets", &allow).await;
    assert_logged(&runs, "invalid_client", 1).await;
    // Read at cold start, then again after `invalid_client`.
    assert_logged(&runs, "introspection client credentials loaded", 2).await;

    // The IdP down, for warm processes and at cold start; then back.
    let third = token(&idp, &mut needles).await;
    idp.stop().await;
    let unavailable = want("unauthorized", "introspection_unavailable", None, iss);
    call_all(&mut runs, Some(&bearer(&third)), "/pets", &unavailable).await;
    let mut cold = Vec::new();
    for (i, bin) in BINS.into_iter().enumerate() {
        let logging = LOGGING[(i + offset * BINS.len()) % LOGGING.len()];
        let label = format!("{label}, IdP down at cold start");
        cold.push(Run::start(bin, logging, &label, &env).await);
    }
    call_all(&mut cold, Some(&bearer(&third)), "/pets", &unavailable).await;
    idp.resume().await;
    runs.extend(cold);
    let fourth = token(&idp, &mut needles).await;
    call_all(&mut runs, Some(&bearer(&fourth)), "/pets", &allow).await;
    (runs, needles)
}

/// The Hydra-like bearer mode: the access tokens it gets must not be logged either.
async fn bearer_paths(moto: &MotoServer) -> (Vec<Run>, Needles) {
    let issuer = Issuer::start().await;
    issuer.enable_bearer_introspection(INTROSPECTOR, BEARER_SECRETS[0]);
    let name = "authz/bearer";
    let arn = moto
        .put_secret(name, &introspection_secret(INTROSPECTOR, BEARER_SECRETS[0]))
        .await;
    let url = issuer.url();
    let iss = Some(url.as_str());
    let mut env = aws_env(moto);
    env.extend(owned(&[
        ("AUTHZ_ISSUER", &url),
        ("AUTHZ_TOKEN_FORMAT", "opaque"),
        ("AUTHZ_INTROSPECTION_AUTH", "bearer"),
        ("AUTHZ_INTROSPECTION_SECRET_ARN", &arn),
    ]));
    let label = "opaque, bearer";
    let mut runs = start_all(label, &env).await;
    let mut needles = Needles::default();
    needles.introspection_secrets("bearer-mode", &BEARER_SECRETS);
    let opaque = |who: &str, needles: &mut Needles| {
        let token = format!("opaque-{who}-Tz8Kq3Lm6Wp1");
        issuer.add_opaque_token(&token, opaque_claims(who));
        needles.add("opaque token (bearer mode)", &token);
        token
    };
    let mut access_tokens = Vec::new();

    let alice = opaque("alice", &mut needles);
    let allow = want("allow", "ok", None, iss);
    call_all(&mut runs, Some(&bearer(&alice)), "/pets", &allow).await;
    let deny = want("deny", "insufficient_scope", None, iss);
    call_all(&mut runs, Some(&bearer(&alice)), "/admin", &deny).await;
    let unknown = "unknown-opaque-bearer-Gd6Jw1Rc8";
    needles.add("unknown opaque token (bearer mode)", unknown);
    let inactive = want("unauthorized", "inactive_token", None, iss);
    call_all(&mut runs, Some(&bearer(unknown)), "/pets", &inactive).await;
    assert!(!issuer.access_tokens().is_empty());
    access_tokens.extend(issuer.access_tokens());

    // Rotation (the IdP drops the access tokens it issued): `invalid_client`, secret read again.
    issuer.set_client_secret(BEARER_SECRETS[1]);
    moto.put_secret(name, &introspection_secret(INTROSPECTOR, BEARER_SECRETS[1]))
        .await;
    tokio::time::sleep(COOL_DOWN).await;
    let bob = opaque("bob", &mut needles);
    call_all(&mut runs, Some(&bearer(&bob)), "/pets", &allow).await;
    assert_logged(&runs, "invalid_client", 1).await;
    // Read at cold start, then again after `invalid_client`.
    assert_logged(&runs, "introspection client credentials loaded", 2).await;
    access_tokens.extend(issuer.access_tokens());

    // The IdP down, for warm processes and at cold start (no access token then); then back.
    issuer.set_down(true);
    let carol = opaque("carol", &mut needles);
    let unavailable = want("unauthorized", "introspection_unavailable", None, iss);
    call_all(&mut runs, Some(&bearer(&carol)), "/pets", &unavailable).await;
    let mut cold = Vec::new();
    for (i, bin) in BINS.into_iter().enumerate() {
        let logging = LOGGING[(i + 2 * BINS.len()) % LOGGING.len()];
        let label = format!("{label}, IdP down at cold start");
        cold.push(Run::start(bin, logging, &label, &env).await);
    }
    call_all(&mut cold, Some(&bearer(&carol)), "/pets", &unavailable).await;
    issuer.set_down(false);
    // The cold processes' failed discovery is retried after the cool-down (issue 13, item 8).
    tokio::time::sleep(COOL_DOWN).await;
    runs.extend(cold);
    let dave = opaque("dave", &mut needles);
    call_all(&mut runs, Some(&bearer(&dave)), "/pets", &allow).await;
    access_tokens.extend(issuer.access_tokens());
    for token in &access_tokens {
        needles.add("bearer access token", token);
    }
    (runs, needles)
}

/// A secret that does not exist, one that is not JSON, one of the wrong shape: fail closed, and
/// the error logged names no secret value.
async fn unreadable_secrets(moto: &MotoServer) -> (Vec<Run>, Needles) {
    let issuer = Issuer::start().await;
    let url = issuer.url();
    let iss = Some(url.as_str());
    let not_json = "plain-Secret-Value-Hq4Zt7";
    let wrong_shape =
        json!({"client_id": INTROSPECTOR, "client_secret": ["shape-Secret-Rw2Kx9"]}).to_string();
    let mut needles = Needles::default();
    needles.add("secret value that is not JSON", not_json);
    needles.add("secret value of the wrong shape", &wrong_shape);
    needles.add("client secret of the wrong shape", "shape-Secret-Rw2Kx9");
    let secrets = [
        (
            "missing secret",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:authz/missing-AbCdEf".to_owned(),
        ),
        (
            "secret not JSON",
            moto.put_secret("authz/not-json", not_json).await,
        ),
        (
            "secret of the wrong shape",
            moto.put_secret("authz/wrong-shape", &wrong_shape).await,
        ),
    ];
    let token = "opaque-unreadable-Nc3Vb8Xs1";
    needles.add("opaque token (unreadable secret)", token);
    let unavailable = want("unauthorized", "introspection_unavailable", None, iss);
    let mut runs = Vec::new();
    for (i, (label, arn)) in secrets.iter().enumerate() {
        let mut env = aws_env(moto);
        env.extend(owned(&[
            ("AUTHZ_ISSUER", &url),
            ("AUTHZ_TOKEN_FORMAT", "opaque"),
            ("AUTHZ_INTROSPECTION_SECRET_ARN", arn),
        ]));
        for (j, bin) in BINS.into_iter().enumerate() {
            let logging = LOGGING[(i * BINS.len() + j) % LOGGING.len()];
            let mut run = Run::start(bin, logging, label, &env).await;
            run.call(Some(&bearer(token)), "/pets", &unavailable).await;
            runs.push(run);
        }
    }
    assert_logged(&runs, "cannot read the introspection client secret", 1).await;
    (runs, needles)
}

/// Bad configurations, some holding a secret-looking value where it does not belong: the cold
/// start fails through `/runtime/init/error` with a message naming the variable, and neither
/// that message nor any log line echoes the value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_configuration_fails_the_cold_start_without_echoing_values() {
    const ISSUER: &str = "https://idp.example.com";
    const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:x";
    fn config(doc: &Value) -> Vec<(String, String)> {
        owned(&[("AUTHZ_CONFIG", &doc.to_string())])
    }
    fn flat(name: &str, value: &str) -> Vec<(String, String)> {
        owned(&[
            ("AUTHZ_ISSUER", ISSUER),
            ("AUTHZ_AUDIENCE", AUDIENCE),
            (name, value),
        ])
    }
    type Env = fn(&str) -> Vec<(String, String)>;
    // (the variable the error must name, a secret-looking value, where the value goes)
    let cases: [(&str, &str, Env); 8] = [
        ("AUTHZ_CONFIG", "config-Secret-Unknown-Key-Ka7Wq2", |s| {
            config(
                &json!({"issuers": [{"issuer": ISSUER, "audiences": [AUDIENCE],
                "introspection": {"secret_arn": SECRET_ARN, "client_secret": s}}]}),
            )
        }),
        ("AUTHZ_CONFIG", "config-Secret-Number-Zm4Rt8", |s| {
            config(
                &json!({"issuers": [{"issuer": ISSUER}], "audiences": [AUDIENCE],
                           "leeway_seconds": s}),
            )
        }),
        ("AUTHZ_CONFIG", "config-Secret-List-Pw9Lx3", |s| {
            config(&json!({"issuers": [{"issuer": ISSUER}], "audiences": s}))
        }),
        ("AUTHZ_CONFIG", "config-Secret-Syntax-Hy5Qd1", |s| {
            let doc = format!(r#"{{"issuers": [{{"issuer": "{ISSUER}", "secret": {s}}}]}}"#);
            owned(&[("AUTHZ_CONFIG", &doc)])
        }),
        ("AUTHZ_ROUTES", "config-Secret-Routes-Vn2Bc6", |s| {
            flat("AUTHZ_ROUTES", &introspection_secret(INTROSPECTOR, s))
        }),
        ("AUTHZ_LEEWAY_SECONDS", "flat-Secret-Number-Tg8Ks4", |s| {
            flat("AUTHZ_LEEWAY_SECONDS", s)
        }),
        ("AUTHZ_ACCEPT_BARE_TOKEN", "flat-Secret-Bool-Jd3Mw7", |s| {
            flat("AUTHZ_ACCEPT_BARE_TOKEN", s)
        }),
        ("AUTHZ_INTROSPECTION_AUTH", "flat-Secret-Auth-Rb1Xz5", |s| {
            let arn = owned(&[("AUTHZ_INTROSPECTION_SECRET_ARN", SECRET_ARN)]);
            [flat("AUTHZ_INTROSPECTION_AUTH", s), arn].concat()
        }),
    ];
    let mut needles = Needles::default();
    for (_, value, _) in &cases {
        needles.add("configuration value", value);
    }
    // Start them all, then check each.
    let mut processes = Vec::new();
    for (variable, value, env) in &cases {
        let env = env(value);
        for logging in [LOGGING[0], LOGGING[3]] {
            for bin in BINS {
                let mut vars: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                vars.extend_from_slice(logging.env);
                let p = LambdaProcess::spawn(&bin.path(), &vars).await;
                let label = format!("{} [{}] bad {variable}", bin.name(), logging.name);
                processes.push((label, *variable, p));
            }
        }
    }
    let mut texts = Vec::new();
    for (label, variable, mut p) in processes {
        let message = p.config_error(&label).await;
        assert!(message.contains(variable), "{label}: {message}");
        assert!(
            p.wait_for_log("cold start failed", Duration::from_secs(5))
                .await,
            "{label}: logged"
        );
        assert!(
            p.logs()
                .iter()
                .any(|l| l.contains("cold start failed") && l.contains(variable)),
            "{label}: the log line names {variable}: {:#?}",
            p.logs()
        );
        texts.push((format!("{label}: init error"), message));
        texts.extend(p.logs().into_iter().map(|l| (label.clone(), l)));
    }
    assert_no_leak(&[], &texts, &needles);
}
