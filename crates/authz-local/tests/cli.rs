//! `authz-local` as a newcomer runs it: the flags, the banner and the authorizers' log lines,
//! the start-time issuer check, a busy port, and `authz-local demo` on the sample events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_authz-local");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where cargo put the authorizer binaries (next to authz-local).
fn bin_dir() -> PathBuf {
    Path::new(BIN).parent().unwrap().to_path_buf()
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn authz_local(args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .current_dir(repo())
        .args(["--bin-dir", bin_dir().to_str().unwrap()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `authz-local --quiet --pool 1` on the route table `file`, every port chosen by the system,
/// stdout piped, killed when dropped.
fn quiet_on_table(file: &std::path::Path, extra: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.current_dir(repo())
        .args(["--bin-dir", bin_dir().to_str().unwrap(), "--quiet"])
        .args(["--pool", "1"])
        .args(extra)
        .args(["--routes", file.to_str().unwrap()])
        .args(["--rest-port", "0", "--http-port", "0", "--token-port", "0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

#[test]
fn an_unknown_flag_is_named_as_unknown() {
    let out = authz_local(&["--bogus"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("authz-local: unknown argument `--bogus`\nusage: authz-local"),
        "{stderr}"
    );
    let out = authz_local(&["--rest-port"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("authz-local: --rest-port needs a value"),
        "{stderr}"
    );
}

#[test]
fn dev_sh_help_comes_first_and_describes_every_option() {
    // No cargo on PATH: --help must not build anything.
    let out = std::process::Command::new("bash")
        .current_dir(repo())
        .arg("scripts/dev.sh")
        .arg("--help")
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(help.starts_with("usage: scripts/dev.sh"), "{help}");
    // Every option authz-local takes is described there, on its own line.
    let own = authz_local(&["--help"]);
    let own = String::from_utf8_lossy(&own.stdout);
    // `  --flag ARG   what it does` (or `-h, --help …`): the flag, and whether text follows.
    let option = |l: &str| -> Option<(String, bool)> {
        let l = l.trim_start();
        let l = l.strip_prefix("-h, ").unwrap_or(l);
        let flag = l.split_whitespace().next()?.strip_prefix("--")?;
        Some((format!("--{flag}"), l.split_whitespace().count() > 2))
    };
    let flags: Vec<String> = own.lines().filter_map(option).map(|(f, _)| f).collect();
    assert!(flags.len() >= 12, "{own}");
    for flag in flags {
        assert!(
            help.lines()
                .filter_map(option)
                .any(|(f, described)| f == flag && (described || f == "--introspection-client-id")),
            "scripts/dev.sh --help does not describe {flag}:\n{help}"
        );
    }
}

#[test]
fn a_busy_port_fails_the_start_before_any_authorizer_runs() {
    // Wrappers record every authorizer start, so the test sees one even if it outlived us.
    let dir = std::env::temp_dir().join(format!("authz-local-busy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let started = dir.join("started");
    for name in ["token-authorizer", "request-authorizer", "http-authorizer"] {
        let wrapper = dir.join(name);
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\necho $$ >> '{}'\nexec '{}' \"$@\"\n",
                started.display(),
                bin_dir().join(name).display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // The second API's port (the HTTP API) is the busy one: the first one's would be started.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = std::process::Command::new(BIN)
        .current_dir(repo())
        .args(["--bin-dir", dir.to_str().unwrap(), "--no-opaque"])
        .args([
            "--rest-port",
            "0",
            "--token-port",
            "0",
            "--http-port",
            &port,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let ran = std::fs::read_to_string(&started).unwrap_or_default();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("solar-system: cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert_eq!(ran, "", "authorizer processes were started: {ran}");
}

/// A fresh directory for an edited copy of the route table, holding a copy of the Cedar files
/// `infra/routes.json` names relative to itself (`cedar/…`).
fn table_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("authz-local-{name}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("cedar")).unwrap();
    for file in ["pet-store.cedar", "pet-store.cedarschema"] {
        std::fs::copy(
            repo().join("infra/cedar").join(file),
            dir.join("cedar").join(file),
        )
        .unwrap();
    }
    dir
}

/// Reads lines of `reader` until one satisfies `pred` (60 s at most); returns them all.
async fn read_until<R: tokio::io::AsyncBufRead + Unpin>(
    lines: &mut tokio::io::Lines<R>,
    pred: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = pred(&line);
            seen.push(line);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(found, Ok(true)),
        "not found; output so far:\n{}",
        seen.join("\n")
    );
    seen
}

fn url_after(banner: &[String], label: &str) -> String {
    banner
        .iter()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no `{label}` line in the banner:\n{}", banner.join("\n")))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_banner_says_what_the_table_says_of_the_native_jwt_route() {
    // The change: /moons moved from `jwt` to `http`. The banner's opaque-token and
    // IdP-shape notes must follow the table, not say the native JWT route refuses.
    let mut table: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("infra/routes.json")).unwrap())
            .unwrap();
    for r in table["apis"]["solar-system"]["routes"]
        .as_array_mut()
        .unwrap()
    {
        if r["authorizer"] == "jwt" {
            r["authorizer"] = "http".into();
        }
    }
    let dir = table_dir("banner");
    let file = dir.join("routes.json");
    std::fs::write(&file, table.to_string()).unwrap();
    let mut child = quiet_on_table(&file, &[]).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = read_until(&mut lines, |l| l.contains("--shape cognito")).await;
    child.kill().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let text = banner.join("\n");
    assert!(!text.contains("native JWT"), "{text}");
    assert!(
        text.contains("# an opaque token: the Lambda authorizers introspect it"),
        "{text}"
    );
    assert!(text.contains("# solar-system"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_route_table_is_reloaded_and_a_broken_edit_refused() {
    let table = std::fs::read_to_string(repo().join("infra/routes.json")).unwrap();
    let dir = table_dir("reload");
    let file = dir.join("routes.json");
    std::fs::write(&file, &table).unwrap();
    let mut child = quiet_on_table(&file, &["--no-opaque"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut errors = BufReader::new(child.stderr.take().unwrap()).lines();
    let banner = read_until(&mut lines, |l| l.contains("--shape cognito")).await;
    let solar = url_after(&banner, "solar-system");
    let status = |url: String| async move { reqwest::get(url).await.unwrap().status().as_u16() };
    assert_eq!(status(format!("{solar}/asteroids")).await, 401);

    // A broken edit: refused with synth's reason, the running table kept.
    std::fs::write(&file, table.replace("\"scopes\"", "\"scope\"")).unwrap();
    let refused = read_until(&mut errors, |l| {
        l.contains("still serving the previous table")
    })
    .await
    .join("\n");
    assert!(refused.contains("did you mean \"scopes\""), "{refused}");
    assert_eq!(status(format!("{solar}/asteroids")).await, 401);

    // `GET /asteroids` made public: the local mode restarts with it.
    let mut doc: serde_json::Value = serde_json::from_str(&table).unwrap();
    for r in doc["apis"]["solar-system"]["routes"]
        .as_array_mut()
        .unwrap()
    {
        if r["route"] == "GET /asteroids" {
            *r = serde_json::json!({"route": "GET /asteroids", "authorizer": "none"});
        }
    }
    std::fs::write(&file, doc.to_string()).unwrap();
    let again = read_until(&mut lines, |l| l.contains("--shape cognito")).await;
    assert!(
        again
            .iter()
            .any(|l| l.contains("changed: restarting with it")),
        "{}",
        again.join("\n")
    );
    let solar = url_after(&again, "solar-system");
    assert_eq!(status(format!("{solar}/asteroids")).await, 200);

    // An edited Cedar policy file the table names reloads too; a broken one is refused.
    let policies = dir.join("cedar/pet-store.cedar");
    std::fs::write(&policies, "permit (principal, action, resource) when {\n").unwrap();
    let refused = read_until(&mut errors, |l| {
        l.contains("still serving the previous table")
    })
    .await
    .join("\n");
    assert!(
        refused.contains("AUTHZ_CEDAR_POLICIES") && refused.contains("pet-store.cedar:1:"),
        "{refused}"
    );
    std::fs::copy(repo().join("infra/cedar/pet-store.cedar"), &policies).unwrap();
    let fixed = read_until(&mut lines, |l| l.contains("--shape cognito")).await;
    assert!(
        fixed
            .iter()
            .any(|l| l.contains("changed: restarting with it")),
        "{}",
        fixed.join("\n")
    );
    child.kill().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_banner_names_the_demo_page_and_every_decision_is_shown_by_function() {
    let mut child = tokio::process::Command::new(BIN)
        .current_dir(repo())
        .args(["--bin-dir", bin_dir().to_str().unwrap(), "--no-opaque"])
        .args(["--rest-port", "0", "--http-port", "0", "--token-port", "0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = read_until(&mut lines, |l| l.starts_with("Authorizer log lines")).await;
    let pets = url_after(&banner, "pet-store");
    let tokens = url_after(&banner, "demo tokens");
    assert!(
        banner
            .iter()
            .any(|l| l.contains(&format!("demo page {pets}/"))),
        "{}",
        banner.join("\n")
    );
    // Every IdP shape's issuer, and the recipe each API's Lambda authorizers trust it with.
    for shape in authz_testkit::idp::Shape::ALL {
        let at = banner
            .iter()
            .position(|l| l.trim_start().starts_with(&format!("{} ", shape.name())))
            .unwrap_or_else(|| panic!("no {} issuer:\n{}", shape.name(), banner.join("\n")));
        let recipe = &banner[at + 1];
        assert!(
            recipe.contains("recipe for pet-store: AUTHZ_ISSUER=http://127.0.0.1:"),
            "{recipe}"
        );
    }
    assert!(
        banner.iter().any(
            |l| l.contains("recipe for pet-store: AUTHZ_ISSUER=http://127.0.0.1:")
                && l.contains("AUTHZ_CLIENT_ID=pet-store-")
        ),
        "{}",
        banner.join("\n")
    );
    // Two callers (each token is its own cache key): a reader is let in, nobody is not.
    let client = reqwest::Client::new();
    let mut tokens_seen = Vec::new();
    for (tier, want) in [("reader", 200), ("nobody", 403)] {
        let token = reqwest::get(format!("{tokens}?api=pet-store&tier={tier}"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let status = client
            .get(format!("{pets}/pets"))
            .bearer_auth(token.trim())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), want, "{tier}");
        tokens_seen.push(token.trim().to_owned());
    }
    let logged = read_until(&mut lines, |l| {
        l.starts_with("pet-store/token") && l.contains(" deny ") && l.contains("GET /pets")
    })
    .await;
    assert!(
        logged.iter().any(|l| l.starts_with("pet-store/token")
            && l.contains(" allow ")
            && l.contains("GET /pets")),
        "{}",
        logged.join("\n")
    );
    assert!(
        logged
            .iter()
            .all(|l| tokens_seen.iter().all(|t| !l.contains(t.as_str()))),
        "a token in the output"
    );
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_that_cannot_serve_keys_is_reported_at_start() {
    let issuer = format!("http://127.0.0.1:{}", free_port());
    let mut child = tokio::process::Command::new(BIN)
        .current_dir(repo())
        .args(["--bin-dir", bin_dir().to_str().unwrap(), "--no-opaque"])
        .args(["--rest-port", "0", "--http-port", "0", "--token-port", "0"])
        .args(["--issuer", &issuer, "--ready-json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    read_until(&mut lines, |l| l.starts_with('{')).await;
    drop(child.stdin.take()); // stdin's end of file stops it
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "authz-local: warning: issuer {issuer}: cannot fetch its discovery"
        )) && stderr.contains("every call with a token will be refused"),
        "{stderr}"
    );
}

fn demo(authorizer: &str, events: &str) -> String {
    let out = std::process::Command::new(BIN)
        .current_dir(repo())
        .args(["demo", bin_dir().join(authorizer).to_str().unwrap(), events])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn answer<'a>(stdout: &'a str, file: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(file))
        .and_then(|l| l.split_once("-> "))
        .map(|(_, a)| a)
        .unwrap_or_else(|| panic!("no answer for {file}:\n{stdout}"))
}

#[test]
fn the_demo_configures_the_authorizer_from_the_route_table() {
    // solar-system's http routes, a bronze token: asteroids only; moons is a jwt route the
    // Lambda authorizer never guards, so its rules deny it.
    let http = demo("http-authorizer", "events/http");
    assert!(
        http.contains("rules      http of infra/routes.json, API solar-system"),
        "{http}"
    );
    assert!(answer(&http, "asteroids.json").starts_with("200"), "{http}");
    assert!(answer(&http, "planets.json").starts_with("403"), "{http}");
    assert!(answer(&http, "moons.json").starts_with("403"), "{http}");
    // pet-store's token routes, the first tier by name that some but not every token route
    // lets in (editor: scope read): GET /pets allowed.
    let token = demo("token-authorizer", "events/token");
    assert!(token.contains("tier editor"), "{token}");
    assert!(answer(&token, "allow.json").starts_with("200"), "{token}");
    assert!(
        answer(&token, "missing-token.json").starts_with("401"),
        "{token}"
    );
}
