//! The doc-example test: the commands README.md and infra/README.md show in their ```sh blocks.
//! Every `scripts/…` they name exists, every flag given to a script is one that script (or the
//! program it runs) knows, every repository path exists; and the local-mode examples (the curls
//! with their documented statuses, the token.sh variants, the client-credentials grant) are run
//! against a real local mode and checked. The CDK commands (template-only synth, bootstrap) are
//! run by infra/test/cli-commands.test.ts. README's IdP recipes (`AUTHZ_ISSUER=…` as written, the
//! host standing for the local mode's shaped issuer) verify that shape's tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_authz-local");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The command lines of every ```sh block (`\` continuations joined), with the comment after
/// ` # ` split off: `(doc, command, comment)`.
fn commands(doc: &str) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(repo().join(doc)).unwrap();
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_sh = !in_sh && trimmed == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        if let Some(rest) = line.strip_suffix('\\') {
            pending.push_str(rest);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        let (cmd, comment) = match full.find(" # ") {
            Some(i) => (full[..i].trim().to_owned(), full[i + 3..].trim().to_owned()),
            None if full.trim_start().starts_with('#') => (String::new(), full.trim().to_owned()),
            None => (full.trim().to_owned(), String::new()),
        };
        if !cmd.is_empty() {
            out.push((doc.to_owned(), cmd, comment));
        }
    }
    out
}

fn all_commands() -> Vec<(String, String, String)> {
    let mut all = commands("README.md");
    all.extend(commands("infra/README.md"));
    assert!(all.len() > 15, "only {} commands found", all.len());
    all
}

/// What a script's flags are checked against: its own text, and the program it runs.
fn knows(script: &str) -> String {
    let root = repo();
    let mut text = std::fs::read_to_string(root.join(script))
        .unwrap_or_else(|e| panic!("{script} is documented but cannot be read: {e}"));
    match script {
        "scripts/dev.sh" => {
            let help = std::process::Command::new(BIN)
                .arg("--help")
                .output()
                .unwrap();
            text.push_str(&String::from_utf8_lossy(&help.stdout));
        }
        "scripts/smoke.sh" => {
            text.push_str(&std::fs::read_to_string(root.join("infra/bin/smoke.ts")).unwrap());
        }
        "scripts/load.sh" => {
            text.push_str(
                &std::fs::read_to_string(root.join("crates/authz-bench/src/load.rs"))
                    .unwrap_or_default(),
            );
        }
        _ => {}
    }
    text
}

#[test]
fn every_documented_script_flag_and_path_exists() {
    let root = repo();
    let mut problems = Vec::new();
    for (doc, cmd, _) in all_commands() {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        // A command run in infra/ (`cd infra && …`) names paths relative to it.
        let base = if cmd.starts_with("cd infra") || doc == "infra/README.md" {
            root.join("infra")
        } else {
            root.clone()
        };
        let mut script: Option<String> = None;
        for w in &words {
            let w = w.trim_matches(|c| c == '"' || c == '\'' || c == '(' || c == ')' || c == ';');
            if let Some(s) = w.find("scripts/").map(|i| &w[i..])
                && s.ends_with(".sh")
            {
                if !root.join(s).is_file() {
                    problems.push(format!("{doc}: `{cmd}`: {s} does not exist"));
                }
                script = Some(s.to_owned());
                continue;
            }
            if w.starts_with("--") && w.len() > 2 {
                let flag = w.split('=').next().unwrap();
                if let Some(s) = &script
                    && !knows(s).contains(flag)
                {
                    problems.push(format!("{doc}: `{cmd}`: {s} knows no {flag}"));
                }
                continue;
            }
            let looks_like_path = ["events/", "infra/", "crates/", "tests/", "bin/", "lib/"]
                .iter()
                .any(|p| w.starts_with(p))
                && !w.contains(['<', '*', '$', '…'])
                && !w.contains("cdk.out");
            if looks_like_path && !root.join(w).exists() && !base.join(w).exists() {
                problems.push(format!("{doc}: `{cmd}`: {w} does not exist"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// How README's DPoP examples start the local mode (the demo APIs sender-constrained).
const SENDER_CONSTRAINED: [&str; 2] = ["--routes", "crates/authz-local/dpop-routes.json"];

/// Whether a README command is one of the DPoP examples (run against the local mode started
/// with [`SENDER_CONSTRAINED`]).
fn is_dpop_example(cmd: &str) -> bool {
    cmd.contains("--dpop") || cmd.contains("--client-cert") || cmd.contains("Client-Cert")
}

/// `(rest, http, token)` base URLs of a local mode started on free ports.
async fn start_local_mode() -> (tokio::process::Child, String, String, u16) {
    start_local_mode_with(&[]).await
}

/// [`start_local_mode`] with these arguments.
async fn start_local_mode_with(args: &[&str]) -> (tokio::process::Child, String, String, u16) {
    let mut child = tokio::process::Command::new(BIN)
        .current_dir(repo())
        .args(["--rest-port", "0", "--http-port", "0", "--token-port", "0"])
        .args(args)
        .args(["--ready-json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
        .await
        .expect("authz-local did not start in 120 s")
        .unwrap()
        .expect("authz-local stopped");
    let ready: serde_json::Value = serde_json::from_str(&ready).unwrap();
    let url = |name: &str| {
        ready["apis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap()["url"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let token: u16 = ready["demoTokenEndpoint"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/token")
        .parse()
        .unwrap();
    (child, url("pet-store"), url("solar-system"), token)
}

/// Runs `cmd` with bash from the repository root, the documented ports replaced by the test's.
fn sh(cmd: &str, rest: &str, http: &str, token_port: u16) -> (bool, String, String) {
    // A DPoP proof's URL is the https:// one the authorizer rebuilds, on the same port.
    let cmd = cmd
        .replace(
            "https://127.0.0.1:3000",
            &rest.replacen("http:", "https:", 1),
        )
        .replace(
            "https://127.0.0.1:3001",
            &http.replacen("http:", "https:", 1),
        )
        .replace("http://127.0.0.1:3000", rest)
        .replace("http://127.0.0.1:3001", http)
        .replace("127.0.0.1:3002", &format!("127.0.0.1:{token_port}"));
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{cmd}"))
        .current_dir(repo())
        .env("AUTHZ_LOCAL_TOKEN_PORT", token_port.to_string())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_mode_examples_answer_as_documented() {
    let (child, rest, http, token_port) = start_local_mode().await;
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("scripts/dev.sh {}", SENDER_CONSTRAINED.join(" "))),
        "README no longer starts the DPoP examples' local mode with {SENDER_CONSTRAINED:?}"
    );
    let (dpop_child, dpop_rest, dpop_http, dpop_port) =
        start_local_mode_with(&SENDER_CONSTRAINED).await;
    let mut checked = 0;
    let mut problems = Vec::new();
    for (doc, cmd, comment) in commands("README.md") {
        let local = cmd.contains("127.0.0.1:300");
        if !local {
            continue;
        }
        let (rest, http, token_port) = if is_dpop_example(&cmd) {
            (&dpop_rest, &dpop_http, dpop_port)
        } else {
            (&rest, &http, token_port)
        };
        // `curl … URL   # 200` / `# 403: needs write`: the status the docs promise.
        let promised: Option<u16> = comment
            .split(|c: char| !c.is_ascii_digit())
            .find(|n| n.len() == 3)
            .and_then(|n| n.parse().ok());
        // `# 403: dpop_replay`: a refusal's reason (a snake_case word) is the one the local
        // mode's `x-authz-local-reason` header gives.
        let reason = comment
            .split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .find(|w| w.contains('_') && !w.starts_with('_') && !w.ends_with('_'));
        let run = match (promised, reason) {
            (Some(_), Some(_)) => cmd.replacen(
                "curl ",
                "curl -s -o /dev/null -w '%{http_code} %header{x-authz-local-reason}' ",
                1,
            ),
            (Some(_), None) => cmd.replacen("curl ", "curl -s -o /dev/null -w '%{http_code}' ", 1),
            (None, _) => cmd.clone(),
        };
        let (ok, stdout, stderr) = sh(&run, rest, http, token_port);
        checked += 1;
        let answered = stdout.trim();
        let documented = match (promised, reason) {
            (Some(code), Some(reason)) => format!("{code} {reason}"),
            (Some(code), None) => code.to_string(),
            (None, _) => String::new(),
        };
        match promised {
            Some(_) if answered != documented => problems.push(format!(
                "{doc}: `{cmd}` answered {answered} (documented {documented}) {stderr}"
            )),
            None if cmd.contains("grant_type=client_credentials")
                && (!ok || !stdout.contains("access_token")) =>
            {
                problems.push(format!(
                    "{doc}: `{cmd}` failed or gave no access_token: {stdout}{stderr}"
                ))
            }
            None if !ok => problems.push(format!("{doc}: `{cmd}` failed: {stdout}{stderr}")),
            _ => {}
        }
    }
    assert!(checked >= 5, "only {checked} local-mode examples found");

    // The token.sh variants the local-mode section documents.
    for args in [
        "",
        "--tier gold",
        "--api solar-system --tier bronze",
        "--scope read --scope write",
        "--opaque",
        "--tier gold --opaque",
        "--lifetime -60",
    ] {
        let (ok, stdout, stderr) = sh(
            &format!("scripts/token.sh {args}"),
            &rest,
            &http,
            token_port,
        );
        if !ok || stdout.trim().is_empty() || stdout.trim().contains(' ') {
            problems.push(format!("scripts/token.sh {args}: {stdout}{stderr}"));
        }
    }
    // An expired token is refused; --tier and --scope are alternatives; --help is the usage.
    let (_, code, _) = sh(
        "curl -s -o /dev/null -w '%{http_code}' -H \"Authorization: Bearer $(scripts/token.sh --lifetime -60)\" http://127.0.0.1:3000/pets",
        &rest,
        &http,
        token_port,
    );
    if code.trim() != "401" {
        problems.push(format!("an expired token answered {code}"));
    }
    let (ok, _, stderr) = sh(
        "scripts/token.sh --tier gold --scope read",
        &rest,
        &http,
        token_port,
    );
    if ok || !stderr.contains("--tier and --scope are alternatives") {
        problems.push(format!("token.sh --tier with --scope: {stderr}"));
    }
    let (ok, stdout, _) = sh("scripts/token.sh --help", &rest, &http, token_port);
    if !ok || !stdout.starts_with("Prints an access token") || stdout.contains("set -euo") {
        problems.push(format!("token.sh --help: {stdout}"));
    }
    let (ok, stdout, stderr) = sh(
        "scripts/token.sh --api solar-system --dpop",
        &dpop_rest,
        &dpop_http,
        dpop_port,
    );
    if !ok || stdout.trim().is_empty() {
        problems.push(format!("scripts/token.sh --dpop: {stdout}{stderr}"));
    }
    drop(dpop_child);
    drop(child);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A child leading its own process group, killed with the whole group when dropped, also when
/// the test fails first (cargo lambda watch runs the function as its own child).
struct Group(std::process::Child);

impl Drop for Group {
    fn drop(&mut self) {
        kill_group(self.0.id());
        let _ = self.0.wait();
    }
}

/// Kills a process group.
fn kill_group(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", "--", &format!("-{pid}")])
        .status();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cargo_lambda_example_works_against_the_local_mode() {
    let venv = repo().join(".venv/bin");
    assert!(
        venv.join("cargo-lambda").is_file(),
        "cargo-lambda is not in .venv: run scripts/test-tools.sh cargo-lambda"
    );
    let (child, _, _, token_port) = start_local_mode().await;
    // README's sequence, on free ports: the issuer and a token from the running local mode.
    let invoke_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let path = format!(
        "{}:{}",
        venv.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (ok, issuer, stderr) = sh(
        "curl -s http://127.0.0.1:3002/ | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"issuer\"])'",
        "",
        "",
        token_port,
    );
    assert!(ok, "{stderr}");
    let watch = std::process::Command::new("cargo")
        .args(["lambda", "watch", "--invoke-address", "127.0.0.1"])
        .args(["--invoke-port", &invoke_port.to_string()])
        .current_dir(repo())
        .env("PATH", &path)
        .env("AUTHZ_ISSUER", issuer.trim())
        .env("AUTHZ_AUDIENCE", "petstore")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map(Group)
        .unwrap();
    let event = std::env::temp_dir().join(format!("allow-{}.json", std::process::id()));
    let (ok, _, stderr) = sh(
        &format!(
            "sed \"s/REPLACE_WITH_A_JWT/$(scripts/token.sh)/\" events/token/allow.json > {}",
            event.display()
        ),
        "",
        "",
        token_port,
    );
    assert!(ok, "{stderr}");
    // The first invocation waits for cargo lambda watch to build the function.
    let mut answer = String::new();
    for _ in 0..60 {
        let out = std::process::Command::new("cargo")
            .args([
                "lambda",
                "invoke",
                "token-authorizer",
                "--invoke-address",
                "127.0.0.1",
            ])
            .args(["--invoke-port", &invoke_port.to_string(), "--data-file"])
            .arg(&event)
            .current_dir(repo())
            .env("PATH", &path)
            .output()
            .unwrap();
        answer = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    drop(watch);
    let _ = std::fs::remove_file(&event);
    drop(child);
    assert!(
        answer.contains("\"Effect\":\"Allow\"") && answer.contains("\"principalId\":\"dev-user\""),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_idp_recipes_work_as_written_against_the_shaped_issuers() {
    use authz_core::{Authorizer, Config, Trace};
    use authz_local::shapes::ShapeIssuers;
    use authz_local::token::{Minter, TokenRequest};
    use authz_testkit::TestKey;
    use authz_testkit::idp::{Shape, TokenSpec};

    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let apis = authz_local::table::load(&repo().join("infra/routes.json")).unwrap();
    let api = apis.iter().find(|a| a.name == "pet-store").unwrap().clone();
    let key = TestKey::rsa("authz-local-dev");
    let shapes = ShapeIssuers::start(&key).await;
    let bases = shapes
        .shapes()
        .filter_map(|s| Some((s, shapes.base(s)?)))
        .collect();
    let minter =
        Minter::new("http://127.0.0.1:9".into(), key, apis.clone(), false).with_shape_bases(bases);
    // The IdPs whose issuer has a path form (README's host stands for the shaped issuer's).
    for (shape, host) in [
        (Shape::Keycloak, "https://HOST"),
        (Shape::Okta, "https://ORG.okta.com"),
        (Shape::Entra, "https://login.microsoftonline.com"),
        (Shape::Auth0, "https://TENANT.auth0.com"),
    ] {
        let prefix = format!("AUTHZ_ISSUER={host}");
        let written = readme
            .split('`')
            .find(|w| w.starts_with(&prefix))
            .unwrap_or_else(|| panic!("README has no `{prefix}…` recipe"));
        let base = shapes.base(shape).unwrap();
        let issuer = written["AUTHZ_ISSUER=".len()..]
            .replacen(host, &base, 1)
            .replace("TENANT_ID", &TokenSpec::new("").tenant);
        // The recipe's other variables as the local mode's (audience, clients, scope claims),
        // the issuer as README writes it, and no AUTHZ_JWKS_URI: discovery must be where that
        // IdP serves it.
        let mut vars: std::collections::HashMap<String, String> = shapes
            .recipe(shape, &api)
            .unwrap()
            .into_iter()
            .filter(|(k, _)| !["AUTHZ_ISSUER", "AUTHZ_JWKS_URI", "AUTHZ_TENANTS"].contains(k))
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        vars.insert("AUTHZ_ISSUER".into(), issuer.clone());
        let config = Config::from_lookup(|n| vars.get(n).cloned())
            .unwrap_or_else(|e| panic!("{}: {issuer}: {e}", shape.name()));
        let authorizer = Authorizer::new(config).unwrap();
        let token = minter
            .mint(&TokenRequest {
                api: Some("pet-store".into()),
                tier: Some("reader".into()),
                shape: Some(shape),
                ..TokenRequest::default()
            })
            .unwrap()
            .token;
        let verified = authorizer
            .verify_bearer(Some(&format!("Bearer {token}")), &mut Trace::default())
            .await;
        assert!(
            verified.is_ok(),
            "{}: README's AUTHZ_ISSUER={issuer}: {:?}",
            shape.name(),
            verified.err()
        );
    }
}
