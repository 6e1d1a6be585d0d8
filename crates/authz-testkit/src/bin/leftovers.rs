//! `authz-testkit-leftovers`: the check at the end of `scripts/test.sh` that no process the tests
//! started outlives them. Reads the run's id from `APIAUTHZ_TEST_RUN` (`procs::RUN_VAR`), gives
//! processes that are ending a few seconds, then lists every process still carrying the id (its
//! pid, working directory and command line), kills it, and exits 1; exits 0 when none is left.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use authz_testkit::procs::{RUN_VAR, tagged};

/// How long processes that are already ending (a closed stdin pipe, a gone Runtime API) get.
const GRACE: Duration = Duration::from_secs(10);

fn main() {
    let Some(run) = std::env::var(RUN_VAR).ok().filter(|r| !r.is_empty()) else {
        eprintln!("usage: {RUN_VAR}=<the test run's id> authz-testkit-leftovers");
        std::process::exit(2);
    };
    let start = Instant::now();
    let mut left = tagged(&run);
    while !left.is_empty() && start.elapsed() < GRACE {
        std::thread::sleep(Duration::from_millis(100));
        left = tagged(&run);
    }
    if left.is_empty() {
        println!("no process of test run {run} is left");
        return;
    }
    eprintln!(
        "error: {} process(es) started by test run {run} outlived it by {} s (killed now):",
        left.len(),
        GRACE.as_secs()
    );
    for process in &left {
        eprintln!("  {process}");
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &process.pid.to_string()])
            .status();
    }
    std::process::exit(1);
}
