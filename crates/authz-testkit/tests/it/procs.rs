use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use authz_testkit::procs::{RUN_VAR, tagged};

const LEFTOVERS: &str = env!("CARGO_BIN_EXE_authz-testkit-leftovers");
const MOTO: &str = env!("CARGO_BIN_EXE_authz-testkit-moto");

/// A run id no other test (or run) uses.
fn run_id(what: &str) -> String {
    format!("testkit-{what}-{}-{:?}", std::process::id(), Instant::now())
}

/// Waits up to `within` for no process to carry `run`; what is left otherwise.
fn gone_within(run: &str, within: Duration) -> Vec<authz_testkit::procs::Tagged> {
    let start = Instant::now();
    loop {
        let left = tagged(run);
        if left.is_empty() || start.elapsed() > within {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_check_names_and_kills_a_process_the_run_left_and_passes_when_none_is() {
    let run = run_id("check");
    let mut sleeper = Command::new("sleep")
        .arg("600")
        .env(RUN_VAR, &run)
        .spawn()
        .unwrap();
    let found = tagged(&run);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].pid, sleeper.id());
    assert_eq!(found[0].command, "sleep 600");

    let out = Command::new(LEFTOVERS).env(RUN_VAR, &run).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("pid {} in ", sleeper.id())) && stderr.contains("sleep 600"),
        "{stderr}"
    );
    // It killed the survivor.
    let status = sleeper.wait().unwrap();
    assert!(!status.success(), "{status}");
    assert_eq!(tagged(&run), Vec::new());

    // Nothing left: it passes, and another run's processes are not its business.
    let out = Command::new(LEFTOVERS)
        .env(RUN_VAR, run_id("none"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // Without a run id it refuses to guess.
    let out = Command::new(LEFTOVERS)
        .env_remove(RUN_VAR)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// The infra tests' launcher killed outright (no Drop runs): moto_server, which it started,
/// ends too, because its watchdog sees the launcher's end of its stdin close.
#[test]
fn moto_server_ends_when_the_process_that_started_it_is_killed() {
    let run = run_id("moto");
    let mut launcher = Command::new(MOTO)
        .env(RUN_VAR, &run)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(launcher.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint: serde_json::Value = serde_json::from_str(&line).unwrap();
    let port = endpoint["endpoint"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let moto: Vec<_> = tagged(&run)
        .into_iter()
        .filter(|t| t.pid != launcher.id())
        .collect();
    assert_eq!(moto.len(), 1, "{moto:?}");
    assert!(moto[0].command.contains("moto.server"), "{moto:?}");
    assert!(moto[0].command.ends_with(&format!("-p {port}")), "{moto:?}");

    launcher.kill().unwrap(); // SIGKILL: the launcher's MotoServer is never dropped
    launcher.wait().unwrap();
    let left = gone_within(&run, Duration::from_secs(10));
    assert_eq!(left, Vec::new(), "moto_server outlived its launcher");
    // The process itself ends (or is a zombie awaiting its reaper): its environment stops being
    // readable as its exit begins, so the tag goes a moment before the process does. Not checked
    // through its port: tests running beside this one may be handed the freed port at once.
    let start = Instant::now();
    let stat = loop {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", moto[0].pid)).unwrap_or_default();
        if stat.is_empty() || stat.contains(") Z") || start.elapsed() > Duration::from_secs(10) {
            break stat;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        stat.is_empty() || stat.contains(") Z"),
        "moto_server (pid {}) still runs: {stat}",
        moto[0].pid
    );
}

/// tests/idp/idp.mjs (the OidcProvider's program) ends when its stdin closes.
#[test]
fn the_openid_provider_ends_when_its_stdin_closes() {
    let run = run_id("idp");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/idp");
    let mut idp = Command::new("node")
        .arg("idp.mjs")
        .current_dir(&dir)
        .env(RUN_VAR, &run)
        .env("PORT", "0")
        .env("IDP_CONFIG", r#"{"clients":[]}"#)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(idp.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains(r#""ready":true"#), "{line}");
    assert_eq!(tagged(&run).len(), 1);

    drop(idp.stdin.take());
    let start = Instant::now();
    while idp.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "idp.mjs runs on with its stdin closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(tagged(&run), Vec::new());
}
