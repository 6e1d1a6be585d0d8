//! Processes a test run leaves behind.
//!
//! `scripts/test.sh` sets [`RUN_VAR`] to an id of its own for the whole run; every process the
//! tests start inherits it (the testkit passes it on where it clears a child's environment), and
//! keeps it even once orphaned. [`tagged`] finds the processes still carrying that id: the
//! `authz-testkit-leftovers` check at the end of `scripts/test.sh` fails when any is left.
//! Linux only (`/proc`).

use std::path::Path;

/// The environment variable naming the test run (`APIAUTHZ_TEST_RUN=<id>`). Not `AUTHZ_…`: the
/// authorizers refuse unknown variables with that prefix, and they carry this one too.
pub const RUN_VAR: &str = "APIAUTHZ_TEST_RUN";

/// A process found by [`tagged`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tagged {
    /// Its process id.
    pub pid: u32,
    /// Its command line, arguments separated by spaces.
    pub command: String,
    /// Its working directory (`… (deleted)` when that is gone, e.g. a removed clone).
    pub cwd: String,
}

impl std::fmt::Display for Tagged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} in {}: {}", self.pid, self.cwd, self.command)
    }
}

/// The processes (of this user: others' environments are unreadable) whose environment holds
/// `RUN_VAR=run`, except this process and its ancestors (the script running the check carries
/// the id itself). Exited processes not yet reaped have no environment and are not listed.
pub fn tagged(run: &str) -> Vec<Tagged> {
    let needle = format!("{RUN_VAR}={run}");
    let mine = ancestors();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<Tagged> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| !mine.contains(pid))
        .filter_map(|pid| {
            let dir = Path::new("/proc").join(pid.to_string());
            let environ = std::fs::read(dir.join("environ")).ok()?;
            environ
                .split(|b| *b == 0)
                .any(|var| var == needle.as_bytes())
                .then(|| Tagged {
                    pid,
                    command: std::fs::read(dir.join("cmdline"))
                        .map(|c| {
                            String::from_utf8_lossy(&c)
                                .trim_end_matches('\0')
                                .replace('\0', " ")
                        })
                        .unwrap_or_default(),
                    cwd: std::fs::read_link(dir.join("cwd"))
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|_| "?".to_owned()),
                })
        })
        .collect();
    found.sort_by_key(|t| t.pid);
    found
}

/// This process and its ancestors, by `/proc/<pid>/stat`'s parent field.
fn ancestors() -> Vec<u32> {
    let mut pids = vec![std::process::id()];
    while let Some(parent) = pids.last().and_then(|pid| parent(*pid))
        && parent > 0
        && !pids.contains(&parent)
    {
        pids.push(parent);
    }
    pids
}

fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
