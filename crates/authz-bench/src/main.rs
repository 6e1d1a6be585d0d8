//! `authz-bench`: per-invocation cost of Lambda authorizers through the Lambda Runtime API.
//!
//! A benchmark harness, never a test (CI does not run it): start it with `scripts/bench.sh`,
//! which builds the release binaries, installs the Node peers and pins everything to one CPU.
//!
//! For each function (our `token-authorizer` for RS256 and ES256 tokens, also built without the
//! `introspection` feature; `request-authorizer` and `http-authorizer` with REST REQUEST and HTTP
//! API payload 2.0 events; the Node peers aws-jwt-verify and jsonwebtoken + jwks-rsa doing the same
//! jobs; and no-op echo functions in Rust and Node as baselines) it starts a fresh loopback OIDC
//! issuer and a fresh function process attached to its own Runtime API emulator (all from
//! `authz-testkit`), then measures:
//!
//! * cold start: process spawn → the first invocation's answer received (that invocation is
//!   queued at once, so init work such as the JWKS fetch is included); median of K processes;
//! * CPU per invocation: the sum over all the process's threads of the first field of
//!   `/proc/<pid>/task/*/schedstat` (ns on CPU), before and after sequential invocations,
//!   divided by their number, after a warm-up. The `N` measured invocations of each function
//!   are run in R chunks ("rounds"), interleaved across the functions, so a change in the
//!   machine's load during the run weighs on every function alike;
//! * peak RSS: `VmHWM` from `/proc/<pid>/status` at the end.
//!
//! Tokens come from a pool of distinct valid tokens cycled in order, so no cache can answer
//! from a previous identical request. Every answer is checked (an Allow policy for the stage,
//! or `isAuthorized: true`, for the right principal; the echo of the event for the no-ops); wrong
//! answers are counted and reported, and must be 0. It also prints the file size of each
//! authorizer binary, with default features, without them and with `cedar`.
//!
//! Some rows of `request-authorizer` have a configuration of their own ([`Setup`], generated in
//! [`scenario`]): 20 or 200 routes decided by scope rules or by Cedar policies (50 or 500), and
//! DPoP required with a fresh proof per invocation, replays remembered in memory or in a DynamoDB
//! table (moto_server, whose request recording counts the calls). A table compares each of them
//! with its base row of the same run.
//!
//! `authz-bench load …` is another tool: the load test of the local mode ([`load`];
//! `scripts/load.sh` runs it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod lambda;
mod load;
mod procfs;
mod scenario;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::sync::OnceLock;

use authz_testkit::{Issuer, LambdaProcess, Outcome, TestKey, fixtures::sample_event, now};
use serde_json::{Value, json};

const AUDIENCE: &str = "bench-api";
const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/GET/pets";
const STAGE_WILDCARD: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/*";
const INVOKE_TIMEOUT: Duration = Duration::from_secs(10);
const COLD_TIMEOUT: Duration = Duration::from_secs(30);
/// Give up on a function after this many invocations in a row without an answer.
const MAX_CONSECUTIVE_FAILURES: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Alg {
    Rs256,
    Es256,
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }
}

/// Which API Gateway authorizer job a function does: the event it gets and the answer it owes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    /// REST TOKEN event → IAM policy.
    Token,
    /// REST REQUEST event (`events/request/header.json`) → IAM policy.
    Request,
    /// HTTP API payload 2.0 (`events/http/planets.json`) → simple response.
    Http,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Token => "TOKEN",
            Api::Request => "REQUEST",
            Api::Http => "HTTP 2.0",
        }
    }

    /// `AUTHORIZER_TYPE` of the Node peers (bench/node/authorizer-common.js).
    fn node_type(self) -> &'static str {
        match self {
            Api::Token => "TOKEN",
            Api::Request => "REQUEST",
            Api::Http => "HTTP",
        }
    }

    /// The event carrying the bearer `token`.
    fn event(self, token: &str) -> Value {
        match self {
            Api::Token => json!({
                "type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": METHOD_ARN,
            }),
            Api::Request => sample_event("request/header.json", token),
            Api::Http => sample_event("http/planets.json", token),
        }
    }

    /// What a right answer for a valid token of `sub` is.
    fn allow(self, sub: String) -> Expect {
        match self {
            Api::Token | Api::Request => Expect::Allow(sub),
            Api::Http => Expect::Authorized(sub),
        }
    }
}

const AJV: &str = "aws-jwt-verify-handler.js";

/// Which build of our binaries a row runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Build {
    /// Default features, from `--bin-dir`.
    Default,
    /// `--no-default-features` (no `introspection`, no `replay-store`: no AWS SDK), from
    /// `--no-introspection-bin-dir`.
    NoIntrospection,
    /// Default features and `cedar`, from `--cedar-bin-dir`.
    Cedar,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Program {
    /// `authz-testkit-echo`: lambda_runtime, answers the event unchanged.
    RustEcho,
    /// One of our authorizer binaries, of the given build.
    Ours { bin: &'static str, build: Build },
    /// `node bench/node/bootstrap.js` with `HANDLER=<module>`.
    Node(&'static str),
}

/// What our authorizer is configured with beyond `AUTHZ_ISSUER` and `AUTHZ_AUDIENCE`, and so
/// which events it gets and what it must answer ([`scenario`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setup {
    /// Nothing more: no route rules, an Allow for the whole stage.
    Plain,
    /// `AUTHZ_ROUTES` of `routes` generated routes (REST: the policy states every route), decided
    /// by scope rules or, with `cedar`, by 2.5 generated Cedar policies per route; the events ask
    /// route 0.
    Routes { routes: usize, cedar: bool },
    /// `AUTHZ_SENDER_CONSTRAINED=require`, DPoP-bound tokens and a fresh ES256 proof per
    /// invocation; with `table`, the DynamoDB replay table (`AUTHZ_DPOP_REPLAY_TABLE`, moto).
    Dpop { table: bool },
}

#[derive(Debug)]
struct Spec {
    id: &'static str,
    label: &'static str,
    program: Program,
    api: Api,
    alg: Alg,
    setup: Setup,
    /// The row of ours doing the same job without what this row adds (scope rules for Cedar, a
    /// bearer token for DPoP): the "against its peer" table compares them.
    base: Option<&'static str>,
}

impl Spec {
    fn is_echo(&self) -> bool {
        matches!(
            self.program,
            Program::RustEcho | Program::Node("noop-handler.js")
        )
    }

    fn is_node(&self) -> bool {
        matches!(self.program, Program::Node(_))
    }

    /// The aws-jwt-verify row doing the same job (event type and algorithm): ratios are against
    /// it (the no-op rows, fed TOKEN RS256 events, against aws-jwt-verify TOKEN RS256).
    fn peer(&self) -> Option<&'static str> {
        SPECS
            .iter()
            .find(|s| s.program == Program::Node(AJV) && s.api == self.api && s.alg == self.alg)
            .map(|s| s.id)
    }

    /// The executable: the binary itself, or `node` for the Node peers.
    fn program_path(&self, opts: &Options) -> PathBuf {
        match self.program {
            Program::RustEcho => opts.bin_dir.join("authz-testkit-echo"),
            Program::Ours { bin, build } => opts.build_dir(build).join(bin),
            Program::Node(_) => PathBuf::from(&opts.node),
        }
    }
}

const fn ours(
    id: &'static str,
    label: &'static str,
    bin: &'static str,
    api: Api,
    alg: Alg,
) -> Spec {
    Spec {
        id,
        label,
        program: Program::Ours {
            bin,
            build: Build::Default,
        },
        api,
        alg,
        setup: Setup::Plain,
        base: None,
    }
}

/// A REQUEST row of `request-authorizer` with a [`Setup`] beyond the plain one.
const fn request(
    id: &'static str,
    label: &'static str,
    build: Build,
    setup: Setup,
    base: &'static str,
) -> Spec {
    Spec {
        id,
        label,
        program: Program::Ours {
            bin: "request-authorizer",
            build,
        },
        api: Api::Request,
        alg: Alg::Rs256,
        setup,
        base: Some(base),
    }
}

const fn node(
    id: &'static str,
    label: &'static str,
    handler: &'static str,
    api: Api,
    alg: Alg,
) -> Spec {
    Spec {
        id,
        label,
        program: Program::Node(handler),
        api,
        alg,
        setup: Setup::Plain,
        base: None,
    }
}

/// In run order. The echo rows get TOKEN RS256 bearer events (their content does not matter).
const SPECS: &[Spec] = &[
    Spec {
        id: "rust-noop",
        label: "no-op echo, Rust lambda_runtime (baseline)",
        program: Program::RustEcho,
        api: Api::Token,
        alg: Alg::Rs256,
        setup: Setup::Plain,
        base: None,
    },
    ours(
        "ours-rs256",
        "token-authorizer (Rust)",
        "token-authorizer",
        Api::Token,
        Alg::Rs256,
    ),
    ours(
        "ours-es256",
        "token-authorizer (Rust)",
        "token-authorizer",
        Api::Token,
        Alg::Es256,
    ),
    Spec {
        id: "ours-nosdk-rs256",
        label: "token-authorizer without `introspection` (Rust, no AWS SDK)",
        program: Program::Ours {
            bin: "token-authorizer",
            build: Build::NoIntrospection,
        },
        api: Api::Token,
        alg: Alg::Rs256,
        setup: Setup::Plain,
        base: None,
    },
    ours(
        "ours-request-rs256",
        "request-authorizer (Rust)",
        "request-authorizer",
        Api::Request,
        Alg::Rs256,
    ),
    ours(
        "ours-http-rs256",
        "http-authorizer (Rust)",
        "http-authorizer",
        Api::Http,
        Alg::Rs256,
    ),
    request(
        "ours-scopes-20",
        "request-authorizer (Rust), 20 routes, scope rules",
        Build::Default,
        Setup::Routes {
            routes: 20,
            cedar: false,
        },
        "ours-request-rs256",
    ),
    request(
        "ours-cedar-20",
        "request-authorizer `--features cedar` (Rust), 20 routes, Cedar rules, 50 policies",
        Build::Cedar,
        Setup::Routes {
            routes: 20,
            cedar: true,
        },
        "ours-scopes-20",
    ),
    request(
        "ours-scopes-200",
        "request-authorizer (Rust), 200 routes, scope rules",
        Build::Default,
        Setup::Routes {
            routes: 200,
            cedar: false,
        },
        "ours-request-rs256",
    ),
    request(
        "ours-cedar-200",
        "request-authorizer `--features cedar` (Rust), 200 routes, Cedar rules, 500 policies",
        Build::Cedar,
        Setup::Routes {
            routes: 200,
            cedar: true,
        },
        "ours-scopes-200",
    ),
    request(
        "ours-dpop-rs256",
        "request-authorizer (Rust), DPoP required (ES256 proofs), replays remembered in memory",
        Build::Default,
        Setup::Dpop { table: false },
        "ours-request-rs256",
    ),
    request(
        "ours-dpop-table-rs256",
        "request-authorizer (Rust), DPoP required (ES256 proofs), replay table in DynamoDB (moto)",
        Build::Default,
        Setup::Dpop { table: true },
        "ours-request-rs256",
    ),
    node(
        "ajv-rs256",
        "aws-jwt-verify (Node)",
        AJV,
        Api::Token,
        Alg::Rs256,
    ),
    node(
        "ajv-es256",
        "aws-jwt-verify (Node)",
        AJV,
        Api::Token,
        Alg::Es256,
    ),
    node(
        "ajv-request-rs256",
        "aws-jwt-verify (Node)",
        AJV,
        Api::Request,
        Alg::Rs256,
    ),
    node(
        "ajv-http-rs256",
        "aws-jwt-verify (Node)",
        AJV,
        Api::Http,
        Alg::Rs256,
    ),
    node(
        "jwks-rsa-rs256",
        "jsonwebtoken + jwks-rsa (Node)",
        "jsonwebtoken-jwks-rsa-handler.js",
        Api::Token,
        Alg::Rs256,
    ),
    node(
        "jwks-rsa-es256",
        "jsonwebtoken + jwks-rsa (Node)",
        "jsonwebtoken-jwks-rsa-handler.js",
        Api::Token,
        Alg::Es256,
    ),
    node(
        "node-noop",
        "no-op echo, Node bootstrap.js",
        "noop-handler.js",
        Api::Token,
        Alg::Rs256,
    ),
];

/// Our binaries whose file size is reported, with and without `introspection`.
const OUR_BINARIES: [&str; 3] = ["token-authorizer", "request-authorizer", "http-authorizer"];

#[derive(Debug)]
struct Options {
    n: usize,
    warmup: usize,
    pool: usize,
    cold_starts: usize,
    rounds: usize,
    only: Option<Vec<String>>,
    root: PathBuf,
    bin_dir: PathBuf,
    no_introspection_bin_dir: PathBuf,
    cedar_bin_dir: PathBuf,
    node: String,
    /// Extra environment of our authorizer processes (`--ours-env`), e.g. `AUTHZ_TLS_ROOTS=system`.
    ours_env: Vec<(String, String)>,
    /// `Some` in the Lambda-sized mode (`authz-bench lambda`).
    lambda: Option<lambda::Options>,
}

impl Options {
    /// Where the binaries of `build` are.
    fn build_dir(&self, build: Build) -> &Path {
        match build {
            Build::Default => &self.bin_dir,
            Build::NoIntrospection => &self.no_introspection_bin_dir,
            Build::Cedar => &self.cedar_bin_dir,
        }
    }
}

const USAGE: &str = "\
authz-bench: CPU per invocation, cold start and peak RSS of Lambda authorizers through the
Lambda Runtime API emulator. Run it through scripts/bench.sh (builds, installs, pins to CPU 0).
`authz-bench load --help`: the load test of the local mode instead (scripts/load.sh).

Options (environment variable in brackets):
  -n, --invocations N   measured invocations per function   [AUTHZ_BENCH_N, default 20000]
      --warmup W        warm-up invocations before measuring [AUTHZ_BENCH_WARMUP, default 1000]
      --pool P          distinct valid tokens cycled         [AUTHZ_BENCH_POOL, default 64]
      --cold-starts K   processes started per function; the cold start reported is the
                        median of K (the last one is then measured) [AUTHZ_BENCH_COLD_STARTS, default 5]
      --rounds R        the N invocations of each function are run in R chunks,
                        interleaved across functions     [AUTHZ_BENCH_ROUNDS, default 10]
      --only IDS        comma-separated row ids to run       [AUTHZ_BENCH_ONLY, default all]
      --bin-dir DIR     where our authorizer binaries and authz-testkit-echo are
                        [AUTHZ_BENCH_BIN_DIR, default $CARGO_TARGET_DIR/release or target/release]
      --no-introspection-bin-dir DIR
                        where the authorizer binaries built with --no-default-features
                        (no `introspection`, no AWS SDK) are
                        [AUTHZ_BENCH_NO_INTROSPECTION_BIN_DIR, default
                        $CARGO_TARGET_DIR/no-introspection/release or target/no-introspection/release]
      --cedar-bin-dir DIR
                        where request-authorizer built with --features cedar is
                        [AUTHZ_BENCH_CEDAR_BIN_DIR, default $CARGO_TARGET_DIR/cedar/release
                        or target/cedar/release]
      --node PATH       node executable                      [AUTHZ_BENCH_NODE, default node]
      --ours-env LIST   extra environment of our authorizers, `;`-separated AUTHZ_NAME=VALUE
                        (e.g. AUTHZ_TLS_ROOTS=system)        [AUTHZ_BENCH_OURS_ENV, default none]
  -h, --help            this text
Row ids:";

fn usage() -> String {
    let ids: Vec<&str> = SPECS.iter().map(|s| s.id).collect();
    format!("{USAGE} {}\n", ids.join(" "))
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The workspace root (`AUTHZ_BENCH_ROOT`, else this crate's `../..`) and the target dir
/// (`CARGO_TARGET_DIR`, else `<root>/target`).
fn root_and_target() -> Result<(PathBuf, PathBuf), String> {
    let root = match env("AUTHZ_BENCH_ROOT") {
        Some(root) => PathBuf::from(root),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    };
    let root = root
        .canonicalize()
        .map_err(|e| format!("workspace root {}: {e}", root.display()))?;
    let target = env("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok((root, target))
}

/// Parses the options of the CPU benchmark (`lambda` false) or of the Lambda-sized mode.
fn parse_options(lambda: bool, mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let (root, target) = root_and_target()?;
    let usage = || if lambda { lambda::usage() } else { usage() };
    let mut n = env("AUTHZ_BENCH_N");
    let mut warmup = env("AUTHZ_BENCH_WARMUP");
    let mut pool = env("AUTHZ_BENCH_POOL");
    let mut cold_starts = env("AUTHZ_BENCH_COLD_STARTS");
    let mut rounds = env("AUTHZ_BENCH_ROUNDS");
    let mut only = env("AUTHZ_BENCH_ONLY");
    let mut bin_dir = env("AUTHZ_BENCH_BIN_DIR");
    let mut no_introspection_bin_dir = env("AUTHZ_BENCH_NO_INTROSPECTION_BIN_DIR");
    let mut cedar_bin_dir = env("AUTHZ_BENCH_CEDAR_BIN_DIR");
    let mut node = env("AUTHZ_BENCH_NODE");
    let mut ours_env = env("AUTHZ_BENCH_OURS_ENV");
    let mut memory = env("AUTHZ_BENCH_MEMORY");
    let mut gap = env("AUTHZ_BENCH_GAP_MS");
    let mut plot = env("AUTHZ_BENCH_PLOT");
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let slot = match name.as_str() {
            "-h" | "--help" => {
                print!("{}", usage());
                std::process::exit(0);
            }
            "-n" | "--invocations" => &mut n,
            "--warmup" => &mut warmup,
            "--pool" => &mut pool,
            "--cold-starts" => &mut cold_starts,
            "--rounds" => &mut rounds,
            "--only" => &mut only,
            "--bin-dir" => &mut bin_dir,
            "--node" => &mut node,
            "--ours-env" => &mut ours_env,
            "--no-introspection-bin-dir" => &mut no_introspection_bin_dir,
            "--cedar-bin-dir" => &mut cedar_bin_dir,
            "--memory" if lambda => &mut memory,
            "--gap-ms" if lambda => &mut gap,
            "--plot" if lambda => &mut plot,
            _ => return Err(format!("unknown argument `{arg}`\n\n{}", usage())),
        };
        let value = match inline {
            Some(value) => value,
            None => args.next().ok_or_else(|| format!("{name} needs a value"))?,
        };
        *slot = Some(value);
    }
    let only = only.map(|list| {
        list.split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
    });
    if let Some(ids) = &only {
        for id in ids {
            if !SPECS.iter().any(|s| s.id == id) {
                return Err(format!("--only: unknown row id `{id}`\n\n{}", usage()));
            }
        }
    }
    let defaults = if lambda {
        lambda::DEFAULTS
    } else {
        Defaults {
            n: 20_000,
            warmup: 1_000,
            rounds: 10,
        }
    };
    let ours_env = match ours_env {
        None => Vec::new(),
        Some(list) => list
            .split(';')
            .filter(|pair| !pair.trim().is_empty())
            .map(|pair| match pair.trim().split_once('=') {
                Some((name, value)) if name.starts_with("AUTHZ_") => {
                    Ok((name.to_owned(), value.to_owned()))
                }
                _ => Err(format!("--ours-env: `{pair}` is not AUTHZ_NAME=VALUE")),
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let n = number(n, defaults.n, "--invocations", 1)?;
    let bin_dir = bin_dir.map_or_else(|| target.join("release"), PathBuf::from);
    let lambda = if lambda {
        Some(lambda::Options::parse(memory, gap, plot, &root)?)
    } else {
        None
    };
    Ok(Options {
        n,
        rounds: number(rounds, defaults.rounds, "--rounds", 1)?.min(n),
        warmup: number(warmup, defaults.warmup, "--warmup", 0)?,
        pool: number(pool, 64, "--pool", 1)?,
        cold_starts: number(cold_starts, 5, "--cold-starts", 1)?,
        only,
        root,
        no_introspection_bin_dir: no_introspection_bin_dir.map_or_else(
            || target.join("no-introspection").join("release"),
            PathBuf::from,
        ),
        cedar_bin_dir: cedar_bin_dir
            .map_or_else(|| target.join("cedar").join("release"), PathBuf::from),
        bin_dir,
        node: node.unwrap_or_else(|| "node".to_owned()),
        ours_env,
        lambda,
    })
}

/// The defaults that differ between the CPU benchmark and the Lambda-sized mode.
#[derive(Debug, Clone, Copy)]
struct Defaults {
    n: usize,
    warmup: usize,
    rounds: usize,
}

/// A whole number option (`_` allowed as a separator), at least `min`.
fn number(value: Option<String>, default: usize, what: &str, min: usize) -> Result<usize, String> {
    let parsed = value.map_or(Ok(default), |v| {
        v.replace('_', "")
            .parse::<usize>()
            .map_err(|e| format!("{what} `{v}`: {e}"))
    })?;
    if parsed < min {
        return Err(format!("{what} must be at least {min}"));
    }
    Ok(parsed)
}

/// What a correct answer to one event is.
#[derive(Debug)]
enum Expect {
    /// The event itself (echo functions).
    Echo(Value),
    /// An Allow policy for [`STAGE_WILDCARD`] with this principal.
    Allow(String),
    /// An HTTP API simple response `isAuthorized: true` with this `sub` in the context.
    Authorized(String),
    /// A REST policy for a generated route table ([`Setup::Routes`]) with this principal, whose
    /// statements allow exactly the method ARNs marked `true` of `arns` (replayed with
    /// `authz_core::evaluate`). The first right answer is kept in `verified`: a later answer
    /// equal to it is right without replaying every ARN again (the harness shares the CPU).
    Routes {
        sub: String,
        arns: std::sync::Arc<Vec<(String, bool)>>,
        verified: OnceLock<Value>,
    },
}

impl Expect {
    fn accepts(&self, outcome: &Outcome) -> bool {
        let Outcome::Response(r) = outcome else {
            return false;
        };
        match self {
            Expect::Echo(event) => r == event,
            Expect::Allow(sub) => {
                let statements = &r["policyDocument"]["Statement"];
                r["principalId"] == sub.as_str()
                    && r["policyDocument"]["Version"] == "2012-10-17"
                    && statements.as_array().is_some_and(|s| s.len() == 1)
                    && statements[0]["Effect"] == "Allow"
                    && statements[0]["Action"] == json!(["execute-api:Invoke"])
                    && statements[0]["Resource"] == json!([STAGE_WILDCARD])
                    && r["context"]["sub"] == sub.as_str()
            }
            Expect::Authorized(sub) => {
                r["isAuthorized"] == true
                    && r["context"]["sub"] == sub.as_str()
                    && r["context"]["scope"] == "pets:read pets:write"
            }
            Expect::Routes {
                sub,
                arns,
                verified,
            } => {
                if verified.get() == Some(r) {
                    return true;
                }
                let Some(statements) = authz_testkit::fixtures::rest_statements(outcome) else {
                    return false;
                };
                let right = r["principalId"] == sub.as_str()
                    && r["context"]["sub"] == sub.as_str()
                    && arns
                        .iter()
                        .all(|(arn, allowed)| authz_core::evaluate(&statements, arn) == *allowed);
                if right {
                    let _ = verified.set(r.clone());
                }
                right
            }
        }
    }
}

/// One event of a row's pool.
#[derive(Debug)]
struct Event {
    /// The event as sent; for [`Setup::Dpop`] rows, as sent but for the proof.
    body: Vec<u8>,
    /// [`Setup::Dpop`] rows: the event and its token, to which every invocation adds a fresh
    /// proof ([`scenario::Dpop::body`]).
    dpop: Option<(Value, String)>,
    expect: Expect,
}

/// The body of invocation `i` of a pool.
fn event_body(events: &[Event], dpop: Option<&scenario::Dpop>, i: usize) -> Vec<u8> {
    let event = &events[i % events.len()];
    match (&event.dpop, dpop) {
        (Some((template, token)), Some(dpop)) => dpop.body(template, token),
        _ => event.body.clone(),
    }
}

#[derive(Debug)]
struct Measured {
    cpu_us: f64,
    /// Lowest and highest CPU µs per invocation among the rounds' chunks.
    chunk_cpu_min_us: f64,
    chunk_cpu_max_us: f64,
    /// Median over the processes started.
    cold_ms: f64,
    cold_min_ms: f64,
    cold_max_ms: f64,
    rss_mib: f64,
    wrong: usize,
    invocations: usize,
    wall_mean_us: f64,
    wall_p50_us: f64,
    wall_p99_us: f64,
    threads: usize,
    jwks_fetches: usize,
    decision_lines: usize,
    cpus: String,
    /// Every cold start, by total time.
    colds: Vec<Cold>,
    /// Every measured invocation's billed duration (unrounded), sorted.
    billed: Vec<Duration>,
    /// Throttled CFS periods and periods counted while measuring (Lambda-sized mode).
    throttled: (u64, u64),
    /// Calls to the DPoP replay table during the measured invocations (moto's recording).
    store_calls: Option<scenario::StoreCalls>,
    /// The measured invocations (after cold starts and warm-up).
    measured: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1e6
}

struct Keys {
    rsa: TestKey,
    ec: TestKey,
}

/// Counts wrong answers; gives up after [`MAX_CONSECUTIVE_FAILURES`] unanswered in a row.
#[derive(Debug, Default)]
struct Tally {
    wrong: usize,
    failures_in_a_row: usize,
}

impl Tally {
    fn check(&mut self, outcome: Result<Outcome, String>, expect: &Expect) -> Result<(), String> {
        match outcome {
            Ok(outcome) => {
                self.failures_in_a_row = 0;
                if !expect.accepts(&outcome) {
                    if self.wrong == 0 {
                        eprintln!("  first wrong answer: {outcome:?}");
                    }
                    self.wrong += 1;
                }
                Ok(())
            }
            Err(e) => {
                self.wrong += 1;
                self.failures_in_a_row += 1;
                if self.failures_in_a_row >= MAX_CONSECUTIVE_FAILURES {
                    return Err(e);
                }
                Ok(())
            }
        }
    }
}

/// One cold start: process spawn → the first invocation's answer, and its phases.
#[derive(Debug, Clone, Copy)]
struct Cold {
    /// Spawn → first answer received.
    total: Duration,
    /// Spawn → first `/invocation/next` poll: Lambda's Init Duration.
    init: Option<Duration>,
    /// Spawn → first connection to the issuer (process start, runtime, configuration).
    to_idp: Option<Duration>,
    /// First connection to the issuer → last JWKS answer handed out: discovery and JWKS, TLS
    /// handshakes included.
    fetch: Option<Duration>,
    /// The first invocation's duration as Lambda bills it (event handed out → answer).
    first_invoke: Option<Duration>,
    /// Connections the process opened to the issuer (TLS handshakes over HTTPS).
    connections: usize,
}

/// One function, started and warmed up, waiting for its measured chunks.
struct Running {
    issuer: Issuer,
    events: Vec<Event>,
    /// [`Setup::Dpop`] rows: the client making the proofs.
    dpop: Option<scenario::Dpop>,
    /// The replay table of `Setup::Dpop { table: true }` rows; dropped after the process.
    replay: Option<scenario::ReplayTable>,
    /// Files written for the row (Cedar policies and schema), removed at the end.
    files: Vec<PathBuf>,
    process: LambdaProcess,
    /// The CPU limit the process runs under (Lambda-sized mode); dropped after the process.
    cgroup: Option<lambda::Cgroup>,
    /// Pause after each answer (Lambda-sized mode): an execution environment serving a steady
    /// trickle of requests rather than a flood that would exhaust its CPU quota.
    gap: Duration,
    tally: Tally,
    next: usize,
    colds: Vec<Cold>,
    fetches_before: usize,
    measured: usize,
    cpu_ns: u64,
    wall: Duration,
    latencies: Vec<Duration>,
    /// Each measured invocation's duration as Lambda bills it.
    billed: Vec<Duration>,
    /// CPU µs per invocation of each chunk (spread = noise indicator).
    chunk_cpu_us: Vec<f64>,
    /// Periods in which the CPU quota ran out while measuring, and periods counted.
    throttled: (u64, u64),
}

impl Running {
    /// Starts the issuer, `opts.cold_starts` processes in a row (cold start each: spawn, and
    /// queue the first invocation at once; the last process stays), then warms the last one up.
    /// In the Lambda-sized mode (`opts.lambda`) the issuer speaks HTTPS (private CA) and each
    /// process runs in `cgroup`.
    async fn start(
        spec: &Spec,
        opts: &Options,
        keys: &Keys,
        cgroup: Option<lambda::Cgroup>,
    ) -> Result<Running, String> {
        let issuer = if opts.lambda.is_some() {
            Issuer::start_tls().await
        } else {
            Issuer::start().await
        };
        // The same two-key JWKS for every row; each function picks the key by `kid`.
        issuer.set_keys(vec![keys.rsa.jwk(), keys.ec.jwk()]);
        let key = match spec.alg {
            Alg::Rs256 => &keys.rsa,
            Alg::Es256 => &keys.ec,
        };
        let iat = now();
        let dpop = matches!(spec.setup, Setup::Dpop { .. }).then(scenario::Dpop::new);
        let route_arns = match spec.setup {
            Setup::Routes { routes, .. } => {
                Some(std::sync::Arc::new(scenario::route_expectations(routes)))
            }
            _ => None,
        };
        let events: Vec<Event> = (0..opts.pool)
            .map(|i| {
                let sub = format!("user-{i:04}");
                let mut claims = json!({
                    "iss": issuer.url(), "aud": AUDIENCE, "sub": sub, "iat": iat, "exp": iat + 3600,
                    "scope": "pets:read pets:write", "jti": format!("bench-{i}"),
                });
                match (spec.setup, &dpop) {
                    (Setup::Routes { .. }, _) => {
                        claims[scenario::GROUPS_CLAIM] = scenario::principal_groups();
                    }
                    (Setup::Dpop { .. }, Some(dpop)) => claims["cnf"] = dpop.cnf(),
                    _ => {}
                }
                let token = key.sign(&claims);
                let event = match spec.setup {
                    Setup::Plain => spec.api.event(&token),
                    Setup::Routes { .. } => scenario::route_event(&token),
                    Setup::Dpop { .. } => scenario::Dpop::event(&token),
                };
                let body = serde_json::to_vec(&event).expect("event serializes");
                let expect = match &route_arns {
                    _ if spec.is_echo() => Expect::Echo(event.clone()),
                    Some(arns) => Expect::Routes {
                        sub,
                        arns: arns.clone(),
                        verified: OnceLock::new(),
                    },
                    None => spec.api.allow(sub),
                };
                let dpop = dpop.is_some().then_some((event, token));
                Event { body, dpop, expect }
            })
            .collect();
        // What the setup adds to our authorizer's environment.
        let mut setup_env: Vec<(String, String)> = Vec::new();
        let mut files = Vec::new();
        let mut replay = None;
        match spec.setup {
            Setup::Plain => {}
            Setup::Routes { routes, cedar } => {
                if cedar {
                    let (policies, schema, _) = scenario::write_cedar_files(spec.id, routes)?;
                    for (name, path) in [
                        ("AUTHZ_CEDAR_POLICIES", &policies),
                        ("AUTHZ_CEDAR_SCHEMA", &schema),
                    ] {
                        setup_env.push((name.to_owned(), path.to_string_lossy().into_owned()));
                    }
                    setup_env.push((
                        "AUTHZ_CEDAR_NAMESPACE".to_owned(),
                        scenario::CEDAR_NAMESPACE.to_owned(),
                    ));
                    setup_env.push((
                        "AUTHZ_CEDAR_GROUPS_CLAIM".to_owned(),
                        scenario::GROUPS_CLAIM.to_owned(),
                    ));
                    setup_env.push(("AUTHZ_ROUTES".to_owned(), scenario::cedar_rules(routes)));
                    files.extend([policies, schema]);
                } else {
                    setup_env.push(("AUTHZ_ROUTES".to_owned(), scenario::scope_rules(routes)));
                }
            }
            Setup::Dpop { table } => {
                setup_env.push(("AUTHZ_SENDER_CONSTRAINED".to_owned(), "require".to_owned()));
                if table {
                    let store = scenario::ReplayTable::start().await?;
                    setup_env.extend(store.env());
                    replay = Some(store);
                }
            }
        }

        let (issuer_url, jwks_uri) = (issuer.url(), issuer.jwks_uri());
        let ca = issuer
            .ca_pem_path()
            .map(|p| p.to_string_lossy().into_owned());
        let memory = opts
            .lambda
            .as_ref()
            .and(cgroup.as_ref())
            .map(|c| c.memory_mb().to_string());
        let bootstrap = opts.root.join("bench/node/bootstrap.js");
        let bootstrap = bootstrap.to_string_lossy().into_owned();
        let program = spec.program_path(opts);
        let (mut args, mut env): (Vec<&str>, Vec<(&str, &str)>) = match spec.program {
            Program::RustEcho => (vec![], vec![]),
            // Default INFO logging on purpose: production logs one decision line per request.
            Program::Ours { .. } => (
                vec![],
                vec![
                    ("AUTHZ_ISSUER", issuer_url.as_str()),
                    ("AUTHZ_AUDIENCE", AUDIENCE),
                ],
            ),
            Program::Node(handler) => (
                vec![bootstrap.as_str()],
                vec![
                    ("HANDLER", handler),
                    ("AUTHORIZER_TYPE", spec.api.node_type()),
                    ("ISSUER", issuer_url.as_str()),
                    ("AUDIENCE", AUDIENCE),
                    ("JWKS_URI", jwks_uri.as_str()),
                ],
            ),
        };
        if matches!(spec.program, Program::Ours { .. }) {
            env.extend(setup_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            env.extend(opts.ours_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        // The private CA, the way each one is told to trust it.
        match (&ca, spec.program) {
            (Some(ca), Program::Ours { .. }) => env.push(("AUTHZ_CA_BUNDLE", ca)),
            (Some(ca), Program::Node(_)) => env.push(("NODE_EXTRA_CA_CERTS", ca)),
            _ => {}
        }
        if let Some(memory) = &memory {
            env.push(("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory));
        }
        // Under a CPU limit the process starts through `authz-bench cgroup-exec PROCS PROGRAM …`,
        // which joins the cgroup and then execs the program (same pid).
        let launcher = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let procs = cgroup
            .as_ref()
            .map(|c| c.procs_path().to_string_lossy().into_owned());
        let program_text = program.to_string_lossy().into_owned();
        let program = match &procs {
            Some(procs) => {
                let mut wrapped = vec![lambda::CGROUP_EXEC, procs.as_str(), program_text.as_str()];
                wrapped.append(&mut args);
                args = wrapped;
                launcher
            }
            None => program,
        };

        let mut tally = Tally::default();
        let mut colds = Vec::with_capacity(opts.cold_starts);
        let (process, fetches_before) = loop {
            let fetches_before = issuer.jwks_fetches();
            let connections_before = issuer.connections();
            issuer.reset_timing();
            let started = Instant::now();
            let process = LambdaProcess::spawn_cmd(&program, &args, &env).await;
            let first = process
                .invoke_timed(event_body(&events, dpop.as_ref(), 0), COLD_TIMEOUT)
                .await;
            let total = started.elapsed();
            let (first, first_invoke) =
                first.map_err(|e| format!("first invocation failed: {e}"))?;
            let window = issuer.fetch_window();
            colds.push(Cold {
                total,
                init: process.api().first_poll().map(|at| at - started),
                to_idp: window.map(|(first, _)| first - started),
                fetch: window.map(|(first, served)| served.saturating_duration_since(first)),
                first_invoke,
                connections: issuer.connections() - connections_before,
            });
            if colds.len() == 1 {
                eprintln!("  first answer: {first:?}");
            }
            tally.check(Ok(first), &events[0].expect)?;
            if colds.len() == opts.cold_starts {
                break (process, fetches_before);
            }
            let mut process = process;
            process.kill().await;
            drop(process);
            // Longer than one CFS period: the next process starts with a full CPU quota, as a
            // fresh execution environment would.
            tokio::time::sleep(Duration::from_millis(150)).await;
        };
        let mut running = Running {
            issuer,
            events,
            dpop,
            replay,
            files,
            process,
            cgroup,
            gap: opts.lambda.as_ref().map_or(Duration::ZERO, |l| l.gap),
            tally,
            next: 1,
            colds,
            fetches_before,
            measured: 0,
            cpu_ns: 0,
            wall: Duration::ZERO,
            latencies: Vec::with_capacity(opts.n),
            billed: Vec::with_capacity(opts.n),
            chunk_cpu_us: Vec::new(),
            throttled: (0, 0),
        };
        for _ in 0..opts.warmup {
            running.invoke().await?;
        }
        // From here on, only the measured invocations reach the table.
        if let Some(replay) = &running.replay {
            replay.start_recording().await?;
        }
        Ok(running)
    }

    /// One invocation with the next event of the pool (then the pause, if any); its round-trip
    /// time and billed duration.
    async fn invoke(&mut self) -> Result<(Duration, Option<Duration>), String> {
        // Made before the clock starts (a DPoP proof is signed here, by the harness).
        let body = event_body(&self.events, self.dpop.as_ref(), self.next);
        let expect = &self.events[self.next % self.events.len()].expect;
        self.next += 1;
        let started = Instant::now();
        let outcome = self.process.invoke_timed(body, INVOKE_TIMEOUT).await;
        let elapsed = started.elapsed();
        let billed = outcome.as_ref().ok().and_then(|(_, d)| *d);
        self.tally.check(outcome.map(|(o, _)| o), expect)?;
        if !self.gap.is_zero() {
            tokio::time::sleep(self.gap).await;
        }
        Ok((elapsed, billed))
    }

    /// `n` measured invocations in a row, CPU counted from the process's schedstat around them.
    async fn chunk(&mut self, n: usize) -> Result<(), String> {
        let pid = self.process.pid();
        let cpu_before = procfs::cpu_ns(pid)?;
        let throttled_before = self.cgroup.as_ref().map(lambda::Cgroup::throttling);
        let started = Instant::now();
        for _ in 0..n {
            let (latency, billed) = self.invoke().await?;
            self.latencies.push(latency);
            self.billed.extend(billed);
        }
        self.wall += started.elapsed();
        let cpu = procfs::cpu_ns(pid)?.saturating_sub(cpu_before);
        if let (Some(before), Some(cgroup)) = (throttled_before, &self.cgroup) {
            let after = cgroup.throttling();
            self.throttled.0 += after.0.saturating_sub(before.0);
            self.throttled.1 += after.1.saturating_sub(before.1);
        }
        // The pauses are not the function's time.
        self.wall = self
            .wall
            .saturating_sub(self.gap * u32::try_from(n).unwrap_or(u32::MAX));
        self.cpu_ns += cpu;
        self.measured += n;
        self.chunk_cpu_us.push(cpu as f64 / n.max(1) as f64 / 1e3);
        Ok(())
    }

    /// The figures; the process is killed before its cgroup (if any) is removed.
    async fn finish(mut self) -> Result<Measured, String> {
        let pid = self.process.pid();
        let rss_mib = procfs::peak_rss_mib(pid)?;
        let threads = procfs::thread_count(pid);
        let cpus = procfs::status_field(&pid.to_string(), "Cpus_allowed_list").unwrap_or_default();
        let logs = self.process.logs();
        let store_calls = match &self.replay {
            Some(replay) => Some(replay.stop_recording().await?),
            None => None,
        };
        self.process.kill().await;
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
        let decision_lines = logs.iter().filter(|l| l.contains("\"decision\"")).count();
        self.latencies.sort_unstable();
        self.billed.sort_unstable();
        self.colds.sort_unstable_by_key(|c| c.total);
        self.chunk_cpu_us.sort_by(f64::total_cmp);
        let totals: Vec<Duration> = self.colds.iter().map(|c| c.total).collect();
        let ms = |d: &Duration| d.as_secs_f64() * 1e3;
        let n = self.measured.max(1) as f64;
        Ok(Measured {
            cpu_us: self.cpu_ns as f64 / n / 1e3,
            chunk_cpu_min_us: self.chunk_cpu_us.first().copied().unwrap_or(f64::NAN),
            chunk_cpu_max_us: self.chunk_cpu_us.last().copied().unwrap_or(f64::NAN),
            cold_ms: percentile(&totals, 50.0) / 1e3,
            cold_min_ms: totals.first().map_or(f64::NAN, ms),
            cold_max_ms: totals.last().map_or(f64::NAN, ms),
            rss_mib,
            wrong: self.tally.wrong,
            invocations: self.next,
            wall_mean_us: self.wall.as_secs_f64() * 1e6 / n,
            wall_p50_us: percentile(&self.latencies, 50.0),
            wall_p99_us: percentile(&self.latencies, 99.0),
            threads,
            jwks_fetches: self.issuer.jwks_fetches() - self.fetches_before,
            decision_lines,
            cpus,
            colds: self.colds,
            billed: self.billed,
            throttled: self.throttled,
            store_calls,
            measured: self.measured,
        })
    }
}

/// `version` of an installed npm package in bench/node, for the labels.
fn npm_version(root: &Path, package: &str) -> String {
    let path = root
        .join("bench/node/node_modules")
        .join(package)
        .join("package.json");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|out| !out.is_empty())
        .unwrap_or_else(|| "?".to_owned())
}

fn label(spec: &Spec, root: &Path) -> String {
    match spec.program {
        Program::Node(AJV) => {
            format!(
                "aws-jwt-verify {} (Node)",
                npm_version(root, "aws-jwt-verify")
            )
        }
        Program::Node("jsonwebtoken-jwks-rsa-handler.js") => format!(
            "jsonwebtoken {} + jwks-rsa {} (Node)",
            npm_version(root, "jsonwebtoken"),
            npm_version(root, "jwks-rsa")
        ),
        _ => spec.label.to_owned(),
    }
}

fn render(results: &[(&Spec, Result<Measured, String>)], opts: &Options) -> String {
    let get = |id: &str| {
        results
            .iter()
            .find(|(s, _)| s.id == id)
            .and_then(|(_, r)| r.as_ref().ok())
    };
    let rust_noop = get("rust-noop").map(|m| m.cpu_us);
    let node_noop = get("node-noop").map(|m| m.cpu_us);
    let ratio = |value: f64, base: Option<f64>| match base {
        Some(base) if base > 0.0 => format!("{:.2}×", value / base),
        _ => "n/a".to_owned(),
    };
    let minus = |value: f64, base: Option<f64>| match base {
        Some(base) => format!("{:.1}", value - base),
        None => "n/a".to_owned(),
    };
    let mut out = String::new();
    out.push_str(
        "| function | event | tokens | CPU µs/inv | − Rust no-op µs | − same-runtime no-op µs \
         | CPU vs ajv | cold start ms | cold vs ajv | peak RSS MiB | RSS vs ajv | wrong |\n",
    );
    out.push_str("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (spec, result) in results {
        let tokens = if spec.is_echo() {
            format!("({} events, echoed)", spec.alg.name())
        } else {
            spec.alg.name().to_owned()
        };
        let (name, event) = (label(spec, &opts.root), spec.api.name());
        let m = match result {
            Ok(m) => m,
            Err(e) => {
                let e = e.lines().next().unwrap_or_default();
                let _ = writeln!(
                    out,
                    "| {name} | {event} | {tokens} | FAILED: {e} | | | | | | | | |"
                );
                continue;
            }
        };
        let ajv = spec.peer().and_then(get);
        let own_noop = if spec.is_node() { node_noop } else { rust_noop };
        let (beyond_rust, beyond_own) = if spec.is_echo() {
            let beyond_rust = if spec.is_node() {
                minus(m.cpu_us, rust_noop)
            } else {
                "—".to_owned()
            };
            (beyond_rust, "—".to_owned())
        } else {
            (minus(m.cpu_us, rust_noop), minus(m.cpu_us, own_noop))
        };
        let _ = writeln!(
            out,
            "| {name} | {event} | {tokens} | {:.1} | {beyond_rust} | {beyond_own} | {} | {:.1} | {} | {:.1} | {} | {} |",
            m.cpu_us,
            ratio(m.cpu_us, ajv.map(|a| a.cpu_us)),
            m.cold_ms,
            ratio(m.cold_ms, ajv.map(|a| a.cold_ms)),
            m.rss_mib,
            ratio(m.rss_mib, ajv.map(|a| a.rss_mib)),
            m.wrong,
        );
    }
    out.push_str(
        "\n| function | event | tokens | CPU µs/inv, min–max over rounds | round trip mean µs | p50 µs \
         | p99 µs | threads | CPUs allowed | cold start min–max ms | JWKS fetches | decision log lines | invocations of the measured process |\n",
    );
    out.push_str("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (spec, result) in results {
        let Ok(m) = result else { continue };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1}–{:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {:.1}–{:.1} | {} | {} | {} |",
            label(spec, &opts.root),
            spec.api.name(),
            spec.alg.name(),
            m.chunk_cpu_min_us,
            m.chunk_cpu_max_us,
            m.wall_mean_us,
            m.wall_p50_us,
            m.wall_p99_us,
            m.threads,
            m.cpus,
            m.cold_min_ms,
            m.cold_max_ms,
            m.jwks_fetches,
            m.decision_lines,
            m.invocations,
        );
    }
    out.push_str(&render_peers(results, opts));
    out.push_str(&render_sizes(opts));
    out
}

/// The rows that have a [`Spec::base`] against that row of the same run: what Cedar adds to
/// scope rules, what DPoP adds to a bearer token; and the replay table's calls per request.
fn render_peers(results: &[(&Spec, Result<Measured, String>)], opts: &Options) -> String {
    let get = |id: &str| {
        results
            .iter()
            .find(|(s, _)| s.id == id)
            .and_then(|(s, r)| Some((*s, r.as_ref().ok()?)))
    };
    let mut out = String::new();
    for (spec, result) in results {
        let (Some(base_id), Ok(m)) = (spec.base, result) else {
            continue;
        };
        if out.is_empty() {
            out.push_str(
                "\n| function | against | CPU µs/inv | its CPU µs/inv | difference µs | ratio \
                 | cold start ms | its cold start ms | peak RSS MiB | its peak RSS MiB \
                 | replay-store calls per invocation |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n",
            );
        }
        let calls = m.store_calls.map_or_else(
            || "—".to_owned(),
            |c| {
                format!(
                    "{:.3} PutItem ({} PutItem, {} calls in all, for {} invocations; moto's recording)",
                    c.put_item as f64 / m.measured as f64,
                    c.put_item,
                    c.all,
                    m.measured
                )
            },
        );
        let name = label(spec, &opts.root);
        match get(base_id) {
            Some((base, b)) => {
                let _ = writeln!(
                    out,
                    "| {name} | {} | {:.1} | {:.1} | {:+.1} | {:.2}× | {:.1} | {:.1} | {:.1} | {:.1} | {calls} |",
                    label(base, &opts.root),
                    m.cpu_us,
                    b.cpu_us,
                    m.cpu_us - b.cpu_us,
                    m.cpu_us / b.cpu_us,
                    m.cold_ms,
                    b.cold_ms,
                    m.rss_mib,
                    b.rss_mib,
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "| {name} | `{base_id}` (not run) | {:.1} | — | — | — | {:.1} | — | {:.1} | — | {calls} |",
                    m.cpu_us, m.cold_ms, m.rss_mib,
                );
            }
        }
    }
    out
}

/// File size of each of our authorizer binaries as built (release profile, symbols stripped):
/// default features, without them (`--no-default-features`: no `introspection`, no
/// `replay-store`, no AWS SDK) and with `--features cedar` (built for `request-authorizer` only).
/// Missing files are shown as `—`.
fn render_sizes(opts: &Options) -> String {
    let size = |dir: &Path, bin: &str| std::fs::metadata(dir.join(bin)).ok().map(|m| m.len());
    let cell = |bytes: Option<u64>| {
        bytes.map_or_else(
            || "— | —".to_owned(),
            |b| format!("{b} | {:.2}", b as f64 / (1024.0 * 1024.0)),
        )
    };
    let ratio = |of: Option<u64>, to: Option<u64>| match (of, to) {
        (Some(of), Some(to)) if to > 0 => format!("{:.2}×", of as f64 / to as f64),
        _ => "n/a".to_owned(),
    };
    let mut out = String::from(
        "\n| binary | default features bytes | MiB | `--no-default-features` bytes | MiB \
         | without / with | `--features cedar` bytes | MiB | cedar / default |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for bin in OUR_BINARIES {
        let with = size(&opts.bin_dir, bin);
        let without = size(&opts.no_introspection_bin_dir, bin);
        let cedar = size(&opts.cedar_bin_dir, bin);
        let _ = writeln!(
            out,
            "| {bin} | {} | {} | {} | {} | {} |",
            cell(with),
            cell(without),
            ratio(without, with),
            cell(cedar),
            ratio(cedar, with),
        );
    }
    let _ = writeln!(
        out,
        "\nbinaries: {} (default), {} (without), {} (cedar)",
        opts.bin_dir.display(),
        opts.no_introspection_bin_dir.display(),
        opts.cedar_bin_dir.display()
    );
    out
}

fn preflight(specs: &[&Spec], opts: &Options) -> Result<(), String> {
    let hint = "run scripts/bench.sh, which builds and installs everything first";
    for spec in specs {
        let missing = match spec.program {
            Program::RustEcho | Program::Ours { .. } => Some(spec.program_path(opts)),
            Program::Node(handler) => {
                let modules = opts.root.join("bench/node/node_modules");
                [opts.root.join("bench/node").join(handler), modules]
                    .into_iter()
                    .find(|p| !p.exists())
            }
        };
        if let Some(path) = missing.filter(|p| !p.exists()) {
            return Err(format!(
                "{} needs {}, which is missing; {hint}",
                spec.id,
                path.display()
            ));
        }
    }
    Ok(())
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    match args.peek().map(String::as_str) {
        Some("load") => {
            args.next();
            let status = match root_and_target() {
                Ok((root, target)) => load::main(args, &root, &target),
                Err(e) => {
                    eprintln!("authz-bench load: {e}");
                    2
                }
            };
            std::process::exit(status);
        }
        Some(lambda::CGROUP_EXEC) => {
            args.next();
            std::process::exit(lambda::cgroup_exec(args));
        }
        Some("lambda") => {
            args.next();
            bench(true, args.collect());
        }
        _ => bench(false, args.collect()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn bench(lambda_sized: bool, args: Vec<String>) {
    let opts = match parse_options(lambda_sized, args.into_iter()) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("authz-bench: {e}");
            std::process::exit(2);
        }
    };
    let specs: Vec<&Spec> = SPECS
        .iter()
        .filter(|s| {
            opts.only
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|id| id == s.id))
        })
        .collect();
    if let Err(e) = preflight(&specs, &opts) {
        eprintln!("authz-bench: {e}");
        std::process::exit(2);
    }
    let affinity = procfs::status_field("self", "Cpus_allowed_list").unwrap_or_default();
    if affinity.contains(',') || affinity.contains('-') {
        eprintln!(
            "authz-bench: warning: not pinned to one CPU (allowed: {affinity}); \
             run under `taskset -c 0` (scripts/bench.sh does) for stable figures"
        );
    }
    let node_version = if specs.iter().any(|s| s.is_node()) {
        command_output(&opts.node, &["--version"])
    } else {
        "-".to_owned()
    };
    let mode = match &opts.lambda {
        Some(l) => format!(
            "Lambda-sized: memory sizes {:?} MB, one invocation every answer + {} ms, issuer over HTTPS (private CA); ",
            l.memory,
            l.gap.as_millis()
        ),
        None => String::new(),
    };
    let ours_env = if opts.ours_env.is_empty() {
        String::new()
    } else {
        let pairs: Vec<String> = opts
            .ours_env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("our authorizers also get {}; ", pairs.join(" "))
    };
    println!(
        "authz-bench: {mode}{ours_env}N = {} measured invocations per function after {} warm-up, pool of {} distinct \
         tokens, in {} interleaved rounds; cold start = median of {} fresh processes (wrong answers counted over all of them); harness and functions on CPU(s) {affinity}; machine: {} × {}, kernel {}, \
         load average {}; Node {node_version}; source {}",
        opts.n,
        opts.warmup,
        opts.pool,
        opts.rounds,
        opts.cold_starts,
        procfs::machine_cpus(),
        procfs::cpu_model(),
        command_output("uname", &["-r"]),
        procfs::load_average().unwrap_or_default(),
        command_output(
            "git",
            &[
                "-C",
                &opts.root.to_string_lossy(),
                "describe",
                "--always",
                "--dirty"
            ]
        ),
    );
    println!();

    let keys = Keys {
        rsa: TestKey::rsa("bench-rsa"),
        ec: TestKey::ec_p256("bench-ec"),
    };
    let failed = match &opts.lambda {
        Some(l) => lambda::run(&specs, &opts, l, &keys).await,
        None => {
            let results = run_rows(&specs, &opts, &keys, |_| Ok(None)).await;
            print!("{}", render(&results, &opts));
            results
                .iter()
                .any(|(_, r)| r.as_ref().map_or(true, |m| m.wrong > 0))
        }
    };
    println!(
        "\nload average at the end: {}",
        procfs::load_average().unwrap_or_default()
    );
    if failed {
        eprintln!(
            "authz-bench: some functions failed or gave wrong answers: these figures are not valid"
        );
        std::process::exit(1);
    }
}

/// Starts every row (cold starts, then warm-up; each process then stays up, idle), then runs
/// the N measured invocations of every row, interleaved in `rounds` chunks so that a change in
/// the machine's load during the run weighs on every row alike. `cgroup` gives the CPU limit of
/// a row's processes, if any.
async fn run_rows<'s>(
    specs: &[&'s Spec],
    opts: &Options,
    keys: &Keys,
    mut cgroup: impl FnMut(&Spec) -> Result<Option<lambda::Cgroup>, String>,
) -> Vec<(&'s Spec, Result<Measured, String>)> {
    let mut running: Vec<(&Spec, Result<Running, String>)> = Vec::new();
    for &spec in specs {
        let name = label(spec, &opts.root);
        eprintln!(
            "starting {} ({name}, {} {})…",
            spec.id,
            spec.api.name(),
            spec.alg.name()
        );
        let result = match cgroup(spec) {
            Ok(cgroup) => Running::start(spec, opts, keys, cgroup).await,
            Err(e) => Err(e),
        };
        match &result {
            Ok(r) => eprintln!(
                "  cold starts {:?} ms, warmed up",
                r.colds
                    .iter()
                    .map(|c| (c.total.as_secs_f64() * 1e4).round() / 10.0)
                    .collect::<Vec<_>>()
            ),
            Err(e) => eprintln!("  FAILED: {e}"),
        }
        running.push((spec, result));
    }
    for round in 0..opts.rounds {
        let chunk = opts.n / opts.rounds + usize::from(round < opts.n % opts.rounds);
        let t = Instant::now();
        for (spec, slot) in &mut running {
            let Ok(r) = slot else { continue };
            if let Err(e) = r.chunk(chunk).await {
                eprintln!("  {} FAILED: {e}", spec.id);
                *slot = Err(e);
            }
        }
        eprintln!(
            "round {}/{}: {chunk} invocations per function ({:.1} s)",
            round + 1,
            opts.rounds,
            t.elapsed().as_secs_f64()
        );
    }
    let mut results = Vec::new();
    for (spec, slot) in running {
        let result = match slot {
            Ok(r) => r.finish().await,
            Err(e) => Err(e),
        };
        results.push((spec, result));
    }
    results
}
