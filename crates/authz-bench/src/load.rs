//! `authz-bench load`: load test of the local mode (`scripts/load.sh` wraps it).
//!
//! Per cache TTL of `--cache-ttl` it starts `authz-local --ready-json` (the real authorizer
//! binaries behind the API Gateway emulator, free loopback ports; stopped at the end, always:
//! its stdin is closed, which stops it, then SIGKILL if it has not stopped), and per API:
//!
//! 1. the plan: tokens from the demo-token endpoint, each on each guarded route, with the status
//!    API Gateway must answer from `authz_local::table::expected_status` (an opaque token on a
//!    native `jwt` route is a bad token). Per API (the shares are with opaque tokens, which
//!    `--no-opaque` leaves out):
//!    valid (6 JWTs per tier, ~55 %), valid-opaque (1 per tier, ~9 %), expired (1 JWT per tier,
//!    expired 120 s ago, ~9 %), expired-opaque (1, ~3 %), forged-sig (2 valid JWTs, each with the
//!    other's signature, ~6 %), forged-claims (2 valid JWTs with the scopes raised to all of the
//!    API's, ~6 %), alg-none (raised scopes, `"alg":"none"`, no signature, ~3 %), wrong-aud (2
//!    valid JWTs of another API, its widest tier, ~6 %), no-token (~3 %); shuffled;
//! 2. the pre-check: every plan line once, one at a time;
//! 3. the run, every API at once: a closed loop of C connections (shared out over the APIs),
//!    each sending its next request only after the previous answer, cycling through the whole
//!    plan from its own offset, and EVERY answer checked against the plan's status.
//!
//! It prints, per API and overall: requests, throughput, latency p50/p90/p99/max, wrong
//! decisions, socket errors and timeouts (requests lost), then the mix by category and the CPU
//! time of authz-local, the authorizer processes and this load generator during the run
//! (`/proc/<pid>/stat`). Exit status 1 on any wrong decision (pre-check or run) or lost
//! request, 2 on a usage or start-up error. Tokens never appear in the output. Loopback only.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authz_local::table::{ApiSpec, AuthorizerKind, Caller, expected_status, sample_path};
use authz_local::{Readiness, ReadyApi};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::procfs::{clock_ticks_per_second, cpu_ticks, load_average, machine_busy_ticks, rss_mb};

const DEFAULT_SECONDS: u64 = 20;
const MAX_SECONDS: u64 = 3000;
const DEFAULT_CONNECTIONS: usize = 32;
const MAX_CONNECTIONS: usize = 256;
const DEFAULT_POOL: usize = 2;
const MAX_POOL: usize = 16;
/// authz-local's bound of `--cache-ttl`.
const MAX_CACHE_TTL: u64 = 3600;
/// An answer later than this is a timeout (a lost request); the connection is replaced.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// authz-local's start (moto_server included).
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// From closing authz-local's stdin to SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// After authz-local has stopped, how long its last stderr lines may take to arrive.
const LOG_DRAIN_TIMEOUT: Duration = Duration::from_secs(1);
/// Pause after a failed connect before the next try.
const RECONNECT_PAUSE: Duration = Duration::from_millis(20);
/// How long ago the expired tokens expired.
const EXPIRED_AGO_SECONDS: i64 = 120;
/// Valid tokens outlive the run by this much.
const TOKEN_MARGIN_SECONDS: u64 = 3600;
/// Valid JWTs per tier in the plan.
const VALID_JWTS_PER_TIER: usize = 6;
/// The plan's shuffle is the same every run.
const SHUFFLE_SEED: u64 = 7;
/// authz-local's stderr lines kept to show when it fails.
const LOG_TAIL_LINES: usize = 60;
/// Wrong decisions listed at the end (each with its count).
const WRONG_EXAMPLES: usize = 10;
/// The body of POST, PUT and PATCH requests.
const REQUEST_BODY: &str = r#"{"type":"hamster","price":9.99}"#;

const USAGE: &str = "\
authz-bench load: load test of the local mode (authz-local with the real authorizer binaries),
a closed loop with every answer checked against the route table. Run it through scripts/load.sh.

Options:
  --duration D       how long each run lasts: N, Ns, Nm or Nh, 1 s to 50 min (default 20s)
  --connections C    concurrent connections in all, 1 to 256 (default 32); with several APIs,
                     shared out, all run at the same time
  --api NAME         which API of the route table to load (default all; `both` is all too)
  --cache-ttl LIST   the authorizer cache TTL in seconds for every API (default 0: every request
                     reaches an authorizer); a comma list runs once per value, e.g. 0,300
  --pool N           authorizer processes per function, 1 to 16 (default 2)
  --no-opaque        JWTs only (authz-local without moto_server, no introspection)
  --authz-local PATH the authz-local binary (default $CARGO_TARGET_DIR/release/authz-local or
                     target/release/authz-local)
  --bin-dir DIR      where the authorizer binaries are (default: authz-local's directory)
  --routes FILE      the route table (default infra/routes.json)
  -h, --help         this text
";

/// The options of `authz-bench load`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LoadOptions {
    seconds: u64,
    connections: usize,
    /// `None`: every API of the table.
    api: Option<String>,
    ttls: Vec<u64>,
    pool: usize,
    opaque: bool,
    authz_local: PathBuf,
    bin_dir: Option<PathBuf>,
    routes: PathBuf,
}

/// `N`, `Ns`, `Nm`, `Nh` → seconds, 1 s to [`MAX_SECONDS`].
fn parse_duration(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.char_indices().last() {
        Some((i, 's')) => (&text[..i], 1),
        Some((i, 'm')) => (&text[..i], 60),
        Some((i, 'h')) => (&text[..i], 3600),
        _ => (text, 1),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("--duration `{text}`: N, Ns, Nm or Nh"))?;
    let seconds = n.saturating_mul(unit);
    if !(1..=MAX_SECONDS).contains(&seconds) {
        return Err(format!(
            "--duration `{text}`: 1 s to {} min",
            MAX_SECONDS / 60
        ));
    }
    Ok(seconds)
}

fn parse_bounded(text: &str, what: &str, max: usize) -> Result<usize, String> {
    text.parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| format!("{what} `{text}`: 1 to {max}"))
}

fn parse_ttls(text: &str) -> Result<Vec<u64>, String> {
    text.split(',')
        .map(|t| {
            t.parse::<u64>()
                .ok()
                .filter(|n| *n <= MAX_CACHE_TTL)
                .ok_or_else(|| {
                    format!("--cache-ttl `{text}`: seconds (0 to {MAX_CACHE_TTL}), or a comma list")
                })
        })
        .collect()
}

/// `Ok(None)`: help was asked for.
fn parse_args(
    args: impl IntoIterator<Item = String>,
    root: &Path,
    target: &Path,
) -> Result<Option<LoadOptions>, String> {
    let mut opts = LoadOptions {
        seconds: DEFAULT_SECONDS,
        connections: DEFAULT_CONNECTIONS,
        api: None,
        ttls: vec![0],
        pool: DEFAULT_POOL,
        opaque: true,
        authz_local: target.join("release").join("authz-local"),
        bin_dir: None,
        routes: root.join("infra").join("routes.json"),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_owned(), Some(value.into())),
            _ => (arg.clone(), None),
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--no-opaque" => {
                opts.opaque = false;
                continue;
            }
            _ => {}
        }
        let value: String = match inline {
            Some(v) => v,
            None => args.next().ok_or_else(|| format!("{name} needs a value"))?,
        };
        match name.as_str() {
            "--duration" => opts.seconds = parse_duration(&value)?,
            "--connections" => {
                opts.connections = parse_bounded(&value, "--connections", MAX_CONNECTIONS)?;
            }
            "--api" => opts.api = Some(value).filter(|v| v != "all" && v != "both"),
            "--cache-ttl" => opts.ttls = parse_ttls(&value)?,
            "--pool" => opts.pool = parse_bounded(&value, "--pool", MAX_POOL)?,
            "--authz-local" => opts.authz_local = PathBuf::from(value),
            "--bin-dir" => opts.bin_dir = Some(PathBuf::from(value)),
            "--routes" => opts.routes = PathBuf::from(value),
            _ => return Err(format!("unknown argument `{arg}`\n\n{USAGE}")),
        }
    }
    Ok(Some(opts))
}

// ---- the plan ------------------------------------------------------------------------------

/// What kind of caller a plan line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Category {
    Valid,
    ValidOpaque,
    Expired,
    ExpiredOpaque,
    ForgedSig,
    ForgedClaims,
    AlgNone,
    WrongAud,
    NoToken,
}

const CATEGORIES: [Category; 9] = [
    Category::Valid,
    Category::ValidOpaque,
    Category::Expired,
    Category::ExpiredOpaque,
    Category::ForgedSig,
    Category::ForgedClaims,
    Category::AlgNone,
    Category::WrongAud,
    Category::NoToken,
];

impl Category {
    fn name(self) -> &'static str {
        match self {
            Category::Valid => "valid",
            Category::ValidOpaque => "valid-opaque",
            Category::Expired => "expired",
            Category::ExpiredOpaque => "expired-opaque",
            Category::ForgedSig => "forged-sig",
            Category::ForgedClaims => "forged-claims",
            Category::AlgNone => "alg-none",
            Category::WrongAud => "wrong-aud",
            Category::NoToken => "no-token",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A token asked of the demo-token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mint {
    api: String,
    tier: String,
    opaque: bool,
    /// Seconds until `exp`; negative: expired.
    lifetime: i64,
}

/// One request of the plan and the status it must get.
struct Line {
    category: Category,
    method: Method,
    path: String,
    expected: u16,
    /// `Bearer …` (marked sensitive: never printed), `None`: no `Authorization` header.
    authorization: Option<HeaderValue>,
}

impl std::fmt::Debug for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} → {}",
            self.category.name(),
            self.method,
            self.path,
            self.expected
        )
    }
}

/// The plan of one API.
#[derive(Debug)]
struct Plan {
    api: String,
    tokens: usize,
    routes: usize,
    lines: Vec<Line>,
}

/// A token with the caller it stands for.
struct PlanToken {
    category: Category,
    token: Option<String>,
    caller: Caller,
    opaque: bool,
}

fn jwt_parts(token: &str) -> Result<[&str; 3], String> {
    let mut it = token.split('.');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some(h), Some(p), Some(s), None) => Ok([h, p, s]),
        _ => Err("the demo-token endpoint's JWT does not have three parts".into()),
    }
}

/// The claims of `token` with `scope` set to `scopes`.
fn raised_claims(token: &str, scopes: &str) -> Result<Value, String> {
    let [_, payload, _] = jwt_parts(token)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| format!("the demo-token endpoint's JWT payload: {e}"))?;
    let mut claims: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("the demo-token endpoint's JWT payload: {e}"))?;
    let obj = claims
        .as_object_mut()
        .ok_or("the demo-token endpoint's JWT payload is not an object")?;
    obj.insert("scope".into(), json!(scopes));
    Ok(claims)
}

/// A deterministic shuffle (Fisher–Yates over splitmix64).
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// The plan of the API `name`: its tokens (from `mint`) on each of its guarded routes, with the
/// status [`expected_status`] gives, shuffled.
async fn build_plan(
    table: &[ApiSpec],
    name: &str,
    opaque: bool,
    lifetime: i64,
    mint: &mut impl AsyncFnMut(&Mint) -> Result<String, String>,
) -> Result<Plan, String> {
    let api = table
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| format!("no API `{name}` in the route table"))?;
    let tiers: Vec<&String> = api.tiers.keys().collect();
    let (Some(&first), Some(&last)) = (tiers.first(), tiers.last()) else {
        return Err(format!("API `{name}` has no tiers to take tokens for"));
    };
    let ask = |tier: &str, opaque: bool, lifetime: i64| Mint {
        api: name.to_owned(),
        tier: tier.to_owned(),
        opaque,
        lifetime,
    };
    let token = |category, token: String, caller: Caller, opaque| PlanToken {
        category,
        token: Some(token),
        caller,
        opaque,
    };
    let mut tokens = Vec::new();
    for &tier in &tiers {
        let me = Caller::Tier(tier.clone());
        for _ in 0..VALID_JWTS_PER_TIER {
            let t = mint(&ask(tier, false, lifetime)).await?;
            tokens.push(token(Category::Valid, t, me.clone(), false));
        }
        if opaque {
            let t = mint(&ask(tier, true, lifetime)).await?;
            tokens.push(token(Category::ValidOpaque, t, me.clone(), true));
        }
        let t = mint(&ask(tier, false, -EXPIRED_AGO_SECONDS)).await?;
        tokens.push(token(Category::Expired, t, Caller::Bad, false));
    }
    if opaque {
        let t = mint(&ask(first, true, -EXPIRED_AGO_SECONDS)).await?;
        tokens.push(token(Category::ExpiredOpaque, t, Caller::Bad, true));
    }
    // Forged: well-formed JWTs whose signature does not match.
    let a = mint(&ask(first, false, lifetime)).await?;
    let b = mint(&ask(last, false, lifetime)).await?;
    let ([ha, pa, sa], [hb, pb, sb]) = (jwt_parts(&a)?, jwt_parts(&b)?);
    for forged in [format!("{ha}.{pa}.{sb}"), format!("{hb}.{pb}.{sa}")] {
        tokens.push(token(Category::ForgedSig, forged, Caller::Bad, false));
    }
    let all_scopes: std::collections::BTreeSet<&String> =
        api.tiers.values().flat_map(|t| &t.scopes).collect();
    let all_scopes = all_scopes
        .into_iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    for tier in [first, tiers[1 % tiers.len()]] {
        let t = mint(&ask(tier, false, lifetime)).await?;
        let [h, _, s] = jwt_parts(&t)?;
        let claims = raised_claims(&t, &all_scopes)?;
        let payload = authz_testkit::b64url(claims.to_string().as_bytes());
        let forged = format!("{h}.{payload}.{s}");
        tokens.push(token(Category::ForgedClaims, forged, Caller::Bad, false));
    }
    let none = authz_testkit::raw_token(
        &json!({"alg": "none", "typ": "JWT"}),
        &raised_claims(&a, &all_scopes)?,
        b"",
    );
    tokens.push(token(Category::AlgNone, none, Caller::Bad, false));
    if let Some(other) = table
        .iter()
        .find(|o| o.name != api.name && o.audience != api.audience)
    {
        // Its widest tier (the first of the widest, in name order).
        let widest = other
            .tiers
            .iter()
            .rev()
            .max_by_key(|(_, t)| t.scopes.len())
            .map(|(n, _)| n.clone());
        if let Some(tier) = widest {
            for _ in 0..2 {
                let asked = Mint {
                    api: other.name.clone(),
                    ..ask(&tier, false, lifetime)
                };
                let t = mint(&asked).await?;
                tokens.push(token(Category::WrongAud, t, Caller::Bad, false));
            }
        }
    }
    tokens.push(PlanToken {
        category: Category::NoToken,
        token: None,
        caller: Caller::None,
        opaque: false,
    });

    let guarded: Vec<_> = api
        .routes
        .iter()
        .filter(|r| r.authorizer != AuthorizerKind::None)
        .collect();
    let mut lines = Vec::with_capacity(tokens.len() * guarded.len());
    for t in &tokens {
        let authorization = match &t.token {
            Some(tok) => {
                let mut v = HeaderValue::try_from(format!("Bearer {tok}"))
                    .map_err(|_| "a token is not a valid header value".to_owned())?;
                v.set_sensitive(true);
                Some(v)
            }
            None => None,
        };
        for route in &guarded {
            // A native JWT authorizer cannot introspect: an opaque token is a bad token there.
            let caller = if t.opaque && route.authorizer == AuthorizerKind::Jwt {
                Caller::Bad
            } else {
                t.caller.clone()
            };
            let method = match route.method() {
                "ANY" => Method::GET,
                m => Method::from_bytes(m.as_bytes())
                    .map_err(|_| format!("route `{}`: bad method", route.route))?,
            };
            lines.push(Line {
                category: t.category,
                method,
                path: sample_path(route),
                expected: expected_status(api, route, &caller)?,
                authorization: authorization.clone(),
            });
        }
    }
    shuffle(&mut lines, SHUFFLE_SEED);
    Ok(Plan {
        api: api.name.clone(),
        tokens: tokens.len(),
        routes: guarded.len(),
        lines,
    })
}

// ---- figures -------------------------------------------------------------------------------

/// Sub-buckets per power of two: values under `2 << SUB_BITS` µs are exact, above within 0.4 %.
const SUB_BITS: u32 = 8;
/// Latencies are clamped to 2^40 µs (12 days).
const MAX_EXPONENT: u32 = 40;
const BUCKETS: usize = ((MAX_EXPONENT - SUB_BITS + 2) as usize) << SUB_BITS;

/// A latency histogram in µs (log-linear buckets), shared by the connections of one API and
/// category (relaxed atomics: only totals are read, after the run).
#[derive(Debug)]
struct Histogram {
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    max: AtomicU64,
}

fn bucket_of(us: u64) -> usize {
    let us = us.min((1 << MAX_EXPONENT) - 1);
    if us < (2 << SUB_BITS) {
        return us as usize;
    }
    let shift = 63 - us.leading_zeros() - SUB_BITS;
    ((shift as usize) << SUB_BITS) + (us >> shift) as usize
}

/// The middle of a bucket's range.
fn bucket_value(i: usize) -> u64 {
    if i < (2 << SUB_BITS) {
        return i as u64;
    }
    let shift = (i >> SUB_BITS) - 1;
    let m = (i - (shift << SUB_BITS)) as u64;
    let (low, high) = (m << shift, ((m + 1) << shift) - 1);
    low + (high - low) / 2
}

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }

    fn record(&self, us: u64) {
        self.buckets[bucket_of(us)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.max.fetch_max(us, Ordering::Relaxed);
    }

    fn add(&self, other: &Histogram) {
        for (a, b) in self.buckets.iter().zip(&other.buckets) {
            a.fetch_add(b.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.count
            .fetch_add(other.count.load(Ordering::Relaxed), Ordering::Relaxed);
        self.max
            .fetch_max(other.max.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn max(&self) -> u64 {
        self.max.load(Ordering::Relaxed)
    }

    /// Nearest rank: the smallest value with at least `p` % of the values at or below it, in µs
    /// (`None` when empty).
    fn percentile(&self, p: f64) -> Option<u64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((p / 100.0 * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= rank {
                return Some(bucket_value(i).min(self.max()));
            }
        }
        Some(self.max())
    }
}

/// What the connections of one API counted.
#[derive(Debug, Default)]
struct Tally {
    /// Per category: answers, wrong ones, statuses.
    answers: [u64; CATEGORIES.len()],
    wrong: [u64; CATEGORIES.len()],
    statuses: [BTreeMap<u16, u64>; CATEGORIES.len()],
    /// (plan line, status) of wrong answers.
    wrong_lines: BTreeMap<(usize, u16), u64>,
    socket_errors: u64,
    timeouts: u64,
    /// When the last connection's last answer came.
    finished: Option<tokio::time::Instant>,
}

impl Tally {
    fn answered(&mut self, line_index: usize, line: &Line, status: u16) {
        let c = line.category.index();
        self.answers[c] += 1;
        *self.statuses[c].entry(status).or_default() += 1;
        if status != line.expected {
            self.wrong[c] += 1;
            *self.wrong_lines.entry((line_index, status)).or_default() += 1;
        }
    }

    fn add(&mut self, other: Tally) {
        for c in 0..CATEGORIES.len() {
            self.answers[c] += other.answers[c];
            self.wrong[c] += other.wrong[c];
            for (s, n) in &other.statuses[c] {
                *self.statuses[c].entry(*s).or_default() += n;
            }
        }
        for (k, n) in other.wrong_lines {
            *self.wrong_lines.entry(k).or_default() += n;
        }
        self.socket_errors += other.socket_errors;
        self.timeouts += other.timeouts;
        self.finished = self.finished.max(other.finished);
    }

    fn total(&self) -> u64 {
        self.answers.iter().sum()
    }

    fn total_wrong(&self) -> u64 {
        self.wrong.iter().sum()
    }
}

/// The figures of one API's run.
#[derive(Debug)]
struct ApiRun {
    plan: Arc<Plan>,
    tally: Tally,
    /// Per category.
    latency: Vec<Histogram>,
    wall: Duration,
}

impl ApiRun {
    fn latency_all(&self) -> Histogram {
        let all = Histogram::new();
        for h in &self.latency {
            all.add(h);
        }
        all
    }
}

fn ms(us: Option<u64>) -> String {
    us.map_or_else(
        || format!("{:>8}", "-"),
        |v| format!("{:>8.2}", v as f64 / 1000.0),
    )
}

fn figure_row(
    out: &mut String,
    name: &str,
    n: u64,
    secs: f64,
    h: &Histogram,
    t: &Tally,
    wrong: u64,
) {
    let _ = writeln!(
        out,
        "{name:<14}{n:>9}{:>9.1} {} {} {} {}{wrong:>7}{:>15}{:>10}",
        n as f64 / secs.max(1e-9),
        ms(h.percentile(50.0)),
        ms(h.percentile(90.0)),
        ms(h.percentile(99.0)),
        ms((h.count() > 0).then(|| h.max())),
        t.socket_errors,
        t.timeouts,
    );
}

/// The figures table: per API, overall, then the mix by category.
fn render(runs: &[ApiRun]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>7}{:>15}{:>10}",
        "api",
        "requests",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "wrong",
        "socket errors",
        "timeouts"
    );
    let overall = Histogram::new();
    let mut overall_tally = Tally::default();
    let mut longest = 0f64;
    for run in runs {
        let all = run.latency_all();
        let secs = run.wall.as_secs_f64();
        longest = longest.max(secs);
        figure_row(
            &mut out,
            &run.plan.api,
            run.tally.total(),
            secs,
            &all,
            &run.tally,
            run.tally.total_wrong(),
        );
        overall.add(&all);
        overall_tally.socket_errors += run.tally.socket_errors;
        overall_tally.timeouts += run.tally.timeouts;
        for c in 0..CATEGORIES.len() {
            overall_tally.answers[c] += run.tally.answers[c];
            overall_tally.wrong[c] += run.tally.wrong[c];
        }
    }
    if runs.len() > 1 {
        let (n, wrong) = (overall_tally.total(), overall_tally.total_wrong());
        figure_row(
            &mut out,
            "overall",
            n,
            longest,
            &overall,
            &overall_tally,
            wrong,
        );
    }
    for run in runs {
        let n = run.tally.total();
        let _ = writeln!(
            out,
            "  {:<16}{:>9}{:>8}{:>7}{:>9}   statuses",
            run.plan.api, "requests", "share", "wrong", "p50 ms"
        );
        for cat in CATEGORIES {
            let c = cat.index();
            if run.tally.answers[c] == 0 && !run.plan.lines.iter().any(|l| l.category == cat) {
                continue;
            }
            let statuses: Vec<String> = run.tally.statuses[c]
                .iter()
                .map(|(s, k)| format!("{s}:{k}"))
                .collect();
            let _ = writeln!(
                out,
                "    {:<14}{:>9}{:>7.1}%{:>7} {}   {}",
                cat.name(),
                run.tally.answers[c],
                100.0 * run.tally.answers[c] as f64 / n.max(1) as f64,
                run.tally.wrong[c],
                ms(run.latency[c].percentile(50.0)),
                statuses.join(" ")
            );
        }
    }
    out
}

/// The processes whose CPU time is reported, by name, with their ticks at one moment.
#[derive(Debug, Clone)]
struct CpuSample {
    at: Instant,
    /// (name, ticks), one entry per process.
    procs: Vec<(String, u64)>,
    machine: u64,
}

fn cpu_sample(procs: &[(String, String)]) -> CpuSample {
    CpuSample {
        at: Instant::now(),
        procs: procs
            .iter()
            .map(|(name, pid)| (name.clone(), cpu_ticks(pid)))
            .collect(),
        machine: machine_busy_ticks(),
    }
}

fn render_cpu(before: &CpuSample, after: &CpuSample, rss: (&str, &str)) -> String {
    let tck = clock_ticks_per_second();
    let wall = after.at.duration_since(before.at).as_secs_f64().max(1e-9);
    let mut per_name: Vec<(String, f64)> = Vec::new();
    for ((name, b), (_, a)) in before.procs.iter().zip(&after.procs) {
        let secs = a.saturating_sub(*b) as f64 / tck;
        match per_name.iter_mut().find(|(n, _)| n == name) {
            Some((_, s)) => *s += secs,
            None => per_name.push((name.clone(), secs)),
        }
    }
    let busy = after.machine.saturating_sub(before.machine) as f64 / tck;
    let ours: f64 = per_name.iter().map(|(_, s)| s).sum();
    // (Processes that had nothing to do, e.g. another API's authorizers, are left out.)
    let parts: Vec<String> = per_name
        .iter()
        .filter(|(_, s)| *s >= 0.05)
        .map(|(n, s)| format!("{n} {s:.1} s ({:.0}% of a core)", 100.0 * s / wall))
        .collect();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let others = busy - ours;
    format!(
        "CPU during the run ({wall:.1} s): {}; whole machine busy {busy:.1} s of {:.1} s{}; \
         authz-local RSS {} MB before, {} MB after",
        parts.join(", "),
        wall * cpus as f64,
        if others >= 0.5 {
            format!(" (~{others:.0} s by other processes)")
        } else {
            String::new()
        },
        rss.0,
        rss.1
    )
}

// ---- HTTP ----------------------------------------------------------------------------------

type Sender = SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Result<Sender, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("{addr}: {e}"))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends `req` and reads the whole answer: its status and body.
async fn exchange(sender: &mut Sender, req: Request<Full<Bytes>>) -> Result<(u16, Bytes), String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

fn plan_request(line: &Line, host: &HeaderValue) -> Result<Request<Full<Bytes>>, String> {
    let mut req = Request::builder()
        .method(line.method.clone())
        .uri(line.path.as_str())
        .header(header::HOST, host)
        .header(header::ACCEPT, "application/json");
    if let Some(auth) = &line.authorization {
        req = req.header(header::AUTHORIZATION, auth);
    }
    let body = if matches!(line.method, Method::POST | Method::PUT | Method::PATCH) {
        req = req.header(header::CONTENT_TYPE, "application/json");
        Bytes::from_static(REQUEST_BODY.as_bytes())
    } else {
        Bytes::new()
    };
    req.body(Full::new(body)).map_err(|e| e.to_string())
}

fn url_addr(url: &str) -> Result<(SocketAddr, String), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("URL `{url}`: {e}"))?;
    let authority = uri
        .authority()
        .ok_or_else(|| format!("URL `{url}` has no host"))?;
    let addr: SocketAddr = authority
        .as_str()
        .parse()
        .map_err(|_| format!("URL `{url}`: not a loopback IP:port"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("URL `{url}`: loopback only"));
    }
    Ok((addr, authority.as_str().to_owned()))
}

/// A token from the demo-token endpoint.
async fn mint_from(endpoint: &str, m: &Mint) -> Result<String, String> {
    let (addr, host) = url_addr(endpoint)?;
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("api", &m.api)
        .append_pair("tier", &m.tier)
        .append_pair("lifetime", &m.lifetime.to_string());
    if m.opaque {
        query.append_pair("format", "opaque");
    }
    let path = http::Uri::try_from(endpoint)
        .map(|u| u.path().to_owned())
        .map_err(|e| e.to_string())?;
    let req = Request::builder()
        .uri(format!("{path}?{}", query.finish()))
        .header(header::HOST, host)
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let mut sender = connect(addr).await?;
    let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, exchange(&mut sender, req))
        .await
        .map_err(|_| "the demo-token endpoint did not answer".to_owned())??;
    let text = String::from_utf8_lossy(&body).trim().to_owned();
    if status != 200 {
        return Err(format!("demo-token endpoint: {status} {text}"));
    }
    Ok(text)
}

// ---- authz-local ---------------------------------------------------------------------------

/// A running `authz-local --ready-json`.
#[derive(Debug)]
struct Local {
    child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    /// The last lines of its stderr.
    log: Arc<Mutex<std::collections::VecDeque<String>>>,
    /// The task reading them.
    log_task: Option<tokio::task::JoinHandle<()>>,
}

fn log_tail(log: &Mutex<std::collections::VecDeque<String>>) -> String {
    let lines = log
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    lines.iter().map(|l| format!("  | {l}\n")).collect()
}

impl Local {
    /// Starts it and reads its readiness line.
    async fn start(opts: &LoadOptions, ttl: u64) -> Result<(Local, Readiness), String> {
        if !opts.authz_local.is_file() {
            return Err(format!(
                "{} not found: build it (cargo build --release -p authz-local) or pass --authz-local",
                opts.authz_local.display()
            ));
        }
        let mut cmd = tokio::process::Command::new(&opts.authz_local);
        cmd.arg("--routes").arg(&opts.routes);
        if let Some(dir) = &opts.bin_dir {
            cmd.arg("--bin-dir").arg(dir);
        }
        cmd.args(["--rest-port", "0", "--http-port", "0", "--token-port", "0"])
            .args([
                "--pool",
                &opts.pool.to_string(),
                "--cache-ttl",
                &ttl.to_string(),
            ])
            .arg("--ready-json");
        if !opts.opaque {
            cmd.arg("--no-opaque");
        }
        let flags: Vec<String> = cmd
            .as_std()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        eprintln!("==> {} {}", opts.authz_local.display(), flags.join(" "));
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("{}: {e}", opts.authz_local.display()))?;
        let log = Arc::new(Mutex::new(std::collections::VecDeque::new()));
        let log_task = child.stderr.take().map(|stderr| {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut l = log
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if l.len() == LOG_TAIL_LINES {
                        l.pop_front();
                    }
                    l.push_back(line);
                }
            })
        });
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("authz-local: no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(READY_TIMEOUT, lines.next_line()).await;
        let mut local = Local {
            child,
            stdin,
            log,
            log_task,
        };
        let parsed = match first {
            Err(_) => Err(format!(
                "authz-local did not start within {READY_TIMEOUT:?}"
            )),
            Ok(Err(e)) => Err(format!("authz-local's stdout: {e}")),
            Ok(Ok(None)) => Err("authz-local exited before it was ready".to_owned()),
            Ok(Ok(Some(line))) => serde_json::from_str::<Readiness>(&line)
                .map_err(|e| format!("authz-local's readiness line: {e}")),
        };
        match parsed {
            Ok(ready) => {
                // Its stdout stays drained (nothing more is expected there).
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                Ok((local, ready))
            }
            Err(e) => {
                local.stop().await;
                Err(format!("{e}\n{}", log_tail(&local.log)))
            }
        }
    }

    /// Closes its stdin (it stops, with its authorizer processes and moto), SIGKILL if it has
    /// not within [`STOP_TIMEOUT`].
    async fn stop(&mut self) {
        drop(self.stdin.take());
        if tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .is_err()
        {
            eprintln!("authz-local did not stop within {STOP_TIMEOUT:?}: killing it");
            let _ = self.child.kill().await;
        }
        // Its last stderr lines, for an error message.
        if let Some(task) = self.log_task.take() {
            let _ = tokio::time::timeout(LOG_DRAIN_TIMEOUT, task).await;
        }
    }
}

// ---- the run -------------------------------------------------------------------------------

/// The pre-check: every line once, one at a time. Returns the wrong ones, described.
async fn precheck(plan: &Plan, url: &str) -> Result<Vec<String>, String> {
    let (addr, host) = url_addr(url)?;
    let host = HeaderValue::try_from(host).map_err(|e| e.to_string())?;
    let mut sender = connect(addr).await?;
    let mut wrong = Vec::new();
    for line in &plan.lines {
        let req = plan_request(line, &host)?;
        let got = match tokio::time::timeout(REQUEST_TIMEOUT, exchange(&mut sender, req)).await {
            Ok(Ok((status, _))) => status.to_string(),
            Ok(Err(e)) => {
                sender = connect(addr).await?;
                format!("an error ({e})")
            }
            Err(_) => {
                sender = connect(addr).await?;
                "no answer".to_owned()
            }
        };
        if got != line.expected.to_string() {
            wrong.push(format!(
                "    {} {} {}: expected {}, got {got}",
                line.category.name(),
                line.method,
                line.path,
                line.expected
            ));
        }
    }
    Ok(wrong)
}

/// One connection of the closed loop: the next request only after the previous answer.
async fn connection(
    addr: SocketAddr,
    host: HeaderValue,
    plan: Arc<Plan>,
    mut pos: usize,
    deadline: tokio::time::Instant,
    latency: Arc<Vec<Histogram>>,
) -> Tally {
    let mut tally = Tally::default();
    let mut sender: Option<Sender> = None;
    while tokio::time::Instant::now() < deadline {
        let Some(s) = sender.as_mut() else {
            match connect(addr).await {
                Ok(s) => sender = Some(s),
                Err(_) => {
                    tally.socket_errors += 1;
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                }
            }
            continue;
        };
        let index = pos;
        pos = (pos + 1) % plan.lines.len();
        let line = &plan.lines[index];
        let Ok(req) = plan_request(line, &host) else {
            // The pre-check built it already; were it to fail, it counts as lost.
            tally.socket_errors += 1;
            continue;
        };
        let t0 = Instant::now();
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange(s, req)).await {
            Ok(Ok((status, _))) => {
                let us = t0.elapsed().as_micros() as u64;
                latency[line.category.index()].record(us);
                tally.answered(index, line, status);
            }
            Ok(Err(_)) => {
                tally.socket_errors += 1;
                sender = None;
            }
            Err(_) => {
                tally.timeouts += 1;
                sender = None;
            }
        }
    }
    tally.finished = Some(tokio::time::Instant::now());
    tally
}

/// Every API at once, its connections in a closed loop, for `seconds`.
async fn run_all(
    plans: &[(Arc<Plan>, String, usize)],
    seconds: u64,
) -> Result<Vec<ApiRun>, String> {
    let start = tokio::time::Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut per_api = Vec::new();
    for (plan, url, connections) in plans {
        let (addr, host) = url_addr(url)?;
        let host = HeaderValue::try_from(host).map_err(|e| e.to_string())?;
        let latency: Arc<Vec<Histogram>> =
            Arc::new(CATEGORIES.iter().map(|_| Histogram::new()).collect());
        let tasks: Vec<_> = (0..*connections)
            .map(|i| {
                let offset = i * plan.lines.len() / connections;
                tokio::spawn(connection(
                    addr,
                    host.clone(),
                    plan.clone(),
                    offset,
                    deadline,
                    latency.clone(),
                ))
            })
            .collect();
        per_api.push((plan.clone(), latency, tasks));
    }
    let mut runs = Vec::new();
    for (plan, latency, tasks) in per_api {
        let mut tally = Tally::default();
        for t in tasks {
            tally.add(
                t.await
                    .map_err(|e| format!("a connection task failed: {e}"))?,
            );
        }
        let wall = tally.finished.map_or(Duration::ZERO, |t| t - start);
        let latency = Arc::try_unwrap(latency).unwrap_or_else(|shared| {
            shared
                .iter()
                .map(|h| {
                    let c = Histogram::new();
                    c.add(h);
                    c
                })
                .collect()
        });
        runs.push(ApiRun {
            plan,
            tally,
            latency,
            wall,
        });
    }
    Ok(runs)
}

/// One run (one cache TTL): start authz-local, plan, pre-check, load, report, stop. `Ok(true)`
/// when every answer was right and none was lost.
async fn one_run(
    opts: &LoadOptions,
    table: &[ApiSpec],
    names: &[String],
    ttl: u64,
) -> Result<bool, String> {
    let (mut local, ready) = Local::start(opts, ttl).await?;
    let result = with_local(opts, table, names, ttl, &ready).await;
    local.stop().await;
    result.map_err(|e| format!("{e}\n{}", log_tail(&local.log)))
}

async fn with_local(
    opts: &LoadOptions,
    table: &[ApiSpec],
    names: &[String],
    ttl: u64,
    ready: &Readiness,
) -> Result<bool, String> {
    let demo = ready
        .demo_token_endpoint
        .clone()
        .ok_or("authz-local has no demo-token endpoint")?;
    let lifetime = i64::try_from(opts.seconds + TOKEN_MARGIN_SECONDS).unwrap_or(i64::MAX);
    let mut mint = async |m: &Mint| mint_from(&demo, m).await;
    let mut ok = true;
    let mut plans = Vec::new();
    let mut left = opts.connections;
    for (i, name) in names.iter().enumerate() {
        let api: &ReadyApi = ready
            .apis
            .iter()
            .find(|a| &a.name == name)
            .ok_or_else(|| format!("authz-local serves no API `{name}`"))?;
        let plan = build_plan(table, name, opts.opaque, lifetime, &mut mint).await?;
        let wrong = precheck(&plan, &api.url).await?;
        eprintln!(
            "pre-check {name}: {} plan lines ({} tokens x {} routes), {} answered as expected{}",
            plan.lines.len(),
            plan.tokens,
            plan.routes,
            plan.lines.len() - wrong.len(),
            if wrong.is_empty() {
                String::new()
            } else {
                format!(", {} WRONG:", wrong.len())
            }
        );
        for w in &wrong {
            eprintln!("{w}");
        }
        ok &= wrong.is_empty();
        let c = left / (names.len() - i);
        left -= c;
        plans.push((Arc::new(plan), api.url.clone(), c));
    }
    let mut procs = vec![("authz-local".to_owned(), ready.pid.to_string())];
    for api in &ready.apis {
        for a in &api.authorizers {
            procs.extend(a.pids.iter().map(|p| (a.binary.clone(), p.to_string())));
        }
    }
    procs.push(("authz-bench load".to_owned(), "self".to_owned()));
    let split: Vec<String> = plans
        .iter()
        .map(|(p, _, c)| format!("{} {c}", p.api))
        .collect();
    eprintln!(
        "==> {} s, cache TTL {ttl} s: {}",
        opts.seconds,
        split.join(", ")
    );
    let load_before = load_average().unwrap_or_else(|| "?".into());
    let rss_before = rss_mb(ready.pid);
    let before = cpu_sample(&procs);
    let runs = run_all(&plans, opts.seconds).await?;
    let after = cpu_sample(&procs);
    let rss_after = rss_mb(ready.pid);
    let load_after = load_average().unwrap_or_else(|| "?".into());

    let mut out = String::new();
    let conns = if plans.len() > 1 {
        format!(
            "{} connections ({}, at the same time)",
            opts.connections,
            split.join(", ")
        )
    } else {
        format!("{} connections", opts.connections)
    };
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let _ = writeln!(
        out,
        "== cache TTL {ttl} s, pool {}, {conns}, {} s, {}, closed loop\n   load average before \
         {load_before}, after {load_after} ({cpus} CPUs, shared: figures are noisy)",
        opts.pool,
        opts.seconds,
        if opts.opaque {
            "JWT and opaque tokens"
        } else {
            "JWTs only"
        },
    );
    out.push_str(&render(&runs));
    let _ = writeln!(
        out,
        "{}",
        render_cpu(&before, &after, (&rss_before, &rss_after))
    );
    let mut failures = Vec::new();
    let mut examples = Vec::new();
    for run in &runs {
        let (n, wrong) = (run.tally.total(), run.tally.total_wrong());
        let lost = run.tally.socket_errors + run.tally.timeouts;
        if n == 0 {
            failures.push(format!("{}: no answers", run.plan.api));
        }
        if wrong > 0 {
            failures.push(format!("{}: {wrong} wrong decisions", run.plan.api));
        }
        if lost > 0 {
            failures.push(format!(
                "{}: {} socket errors, {} timeouts (requests lost)",
                run.plan.api, run.tally.socket_errors, run.tally.timeouts
            ));
        }
        for ((index, got), k) in &run.tally.wrong_lines {
            let l = &run.plan.lines[*index];
            examples.push(format!(
                "WRONG: {} {} {} {}: expected {}, got {got} ({k}x)",
                run.plan.api,
                l.category.name(),
                l.method,
                l.path,
                l.expected
            ));
        }
    }
    for e in examples.iter().take(WRONG_EXAMPLES) {
        let _ = writeln!(out, "{e}");
    }
    if !ok {
        failures.push("wrong decisions in the pre-check".to_owned());
    }
    if !failures.is_empty() {
        let _ = writeln!(out, "FAILED: {}", failures.join("; "));
    }
    // (A closed stdout is no reason to stop before authz-local is stopped.)
    let _ = writeln!(std::io::stdout().lock(), "{out}");
    Ok(failures.is_empty())
}

/// `authz-bench load …`: the exit status.
pub(crate) fn main(args: impl IntoIterator<Item = String>, root: &Path, target: &Path) -> i32 {
    let opts = match parse_args(args, root, target) {
        Ok(Some(opts)) => opts,
        Ok(None) => {
            print!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("authz-bench load: {e}");
            return 2;
        }
    };
    let table = match authz_local::table::load(&opts.routes) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("authz-bench load: {e}");
            return 2;
        }
    };
    let names: Vec<String> = match &opts.api {
        Some(name) if table.iter().any(|a| &a.name == name) => vec![name.clone()],
        Some(name) => {
            let known: Vec<&str> = table.iter().map(|a| a.name.as_str()).collect();
            eprintln!(
                "authz-bench load: --api `{name}`: one of {}, or all",
                known.join(", ")
            );
            return 2;
        }
        None => table.iter().map(|a| a.name.clone()).collect(),
    };
    if opts.connections < names.len() {
        eprintln!(
            "authz-bench load: --connections: at least one per API ({})",
            names.len()
        );
        return 2;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("authz-bench load: tokio runtime: {e}");
            return 2;
        }
    };
    runtime.block_on(async {
        let mut status = 0;
        for ttl in &opts.ttls {
            match one_run(&opts, &table, &names, *ttl).await {
                Ok(true) => {}
                Ok(false) => status = 1,
                Err(e) => {
                    eprintln!("authz-bench load: {e}");
                    return 2;
                }
            }
        }
        status
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<ApiSpec> {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/routes.json");
        authz_local::table::load(&file).unwrap()
    }

    #[test]
    fn options_parse_and_bound() {
        let (root, target) = (Path::new("/r"), Path::new("/t"));
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let o = parse_args(args(&[]), root, target).unwrap().unwrap();
        assert_eq!(
            (o.seconds, o.connections, o.pool, o.opaque),
            (20, 32, 2, true)
        );
        assert_eq!(o.ttls, [0]);
        assert_eq!(o.authz_local, Path::new("/t/release/authz-local"));
        assert_eq!(o.routes, Path::new("/r/infra/routes.json"));
        let o = parse_args(
            args(&[
                "--duration",
                "2m",
                "--cache-ttl=0,300",
                "--api",
                "both",
                "--no-opaque",
            ]),
            root,
            target,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (o.seconds, o.ttls.clone(), o.api.clone(), o.opaque),
            (120, vec![0, 300], None, false)
        );
        assert_eq!(parse_duration("10s"), Ok(10));
        assert_eq!(parse_duration("1h").ok(), None, "over 50 min");
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_args(args(&["--connections", "0"]), root, target).is_err());
        assert!(parse_args(args(&["--pool", "17"]), root, target).is_err());
        assert!(parse_args(args(&["--cache-ttl", "0,,3"]), root, target).is_err());
        assert!(parse_args(args(&["--cache-ttl", "3601"]), root, target).is_err());
        assert!(parse_args(args(&["--wat"]), root, target).is_err());
        assert_eq!(parse_args(args(&["-h"]), root, target), Ok(None));
    }

    #[test]
    fn histogram_buckets_and_percentiles() {
        // Exact below 512 µs; above, every value falls in a bucket whose middle is within 0.4 %.
        for us in [0, 1, 511, 512, 513, 767, 768, 1000, 4821, 65_535, 1 << 30] {
            let v = bucket_value(bucket_of(us));
            let err = (v as f64 - us as f64).abs() / (us.max(1) as f64);
            assert!(err <= 0.004, "{us} → {v}");
            if us < 512 {
                assert_eq!(v, us);
            }
        }
        // Buckets are monotonic and contiguous.
        let mut last = 0;
        for us in 0..200_000u64 {
            let b = bucket_of(us);
            assert!(b == last || b == last + 1, "{us}");
            last = b;
        }
        assert!(bucket_of(u64::MAX) < BUCKETS);

        let h = Histogram::new();
        assert_eq!(h.percentile(50.0), None);
        for us in 1..=100 {
            h.record(us);
        }
        assert_eq!(h.percentile(50.0), Some(50));
        assert_eq!(h.percentile(90.0), Some(90));
        assert_eq!(h.percentile(99.0), Some(99));
        assert_eq!(h.percentile(100.0), Some(100));
        let g = Histogram::new();
        g.record(5_000_000);
        g.add(&h);
        assert_eq!((g.count(), g.max()), (101, 5_000_000));
        assert_eq!(g.percentile(100.0), Some(5_000_000));
    }

    /// A stand-in for the demo-token endpoint: JWTs signed by a test key, with the tier's
    /// scopes and the API's audience; opaque tokens are random-looking strings.
    fn fake_minter(table: &[ApiSpec]) -> impl AsyncFnMut(&Mint) -> Result<String, String> {
        let key = authz_testkit::TestKey::rsa("load-test");
        let table = table.to_vec();
        let mut n = 0;
        async move |m: &Mint| {
            n += 1;
            let api = table.iter().find(|a| a.name == m.api).ok_or("no api")?;
            let tier = api.tiers.get(&m.tier).ok_or("no tier")?;
            if m.opaque {
                return Ok(format!("opaque-{n}"));
            }
            Ok(key.sign(&json!({
                "aud": api.audience, "scope": tier.scopes.join(" "), "jti": n,
                "exp": authz_testkit::now() + m.lifetime,
            })))
        }
    }

    fn plan_of(table: &[ApiSpec], name: &str, opaque: bool) -> Plan {
        let mut mint = fake_minter(table);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(build_plan(table, name, opaque, 3600, &mut mint))
            .unwrap()
    }

    #[test]
    fn the_plan_mixes_every_category_with_the_route_table_s_statuses() {
        let table = table();
        let plan = plan_of(&table, "solar-system", true);
        // 3 tiers × (6 valid + 1 opaque + 1 expired) + 1 expired opaque + 2 + 2 + 1 + 2 + 1.
        assert_eq!((plan.tokens, plan.routes), (33, 3));
        assert_eq!(plan.lines.len(), 99);
        let count = |c: Category| plan.lines.iter().filter(|l| l.category == c).count();
        assert_eq!(count(Category::Valid), 54);
        assert_eq!(count(Category::ValidOpaque), 9);
        assert_eq!(count(Category::NoToken), 3);
        for l in &plan.lines {
            let route_kind = if l.path == "/moons" { "jwt" } else { "http" };
            let bad = if route_kind == "http" { 403 } else { 401 };
            match l.category {
                Category::NoToken => {
                    assert_eq!(l.expected, 401);
                    assert!(l.authorization.is_none());
                }
                Category::Valid => assert!([200, 403].contains(&l.expected), "{l:?}"),
                // An opaque token on the native JWT route is a bad token.
                Category::ValidOpaque if route_kind == "jwt" => assert_eq!(l.expected, 401),
                Category::ValidOpaque => assert!([200, 403].contains(&l.expected), "{l:?}"),
                _ => assert_eq!(l.expected, bad, "{l:?}"),
            }
        }
        // The gold tier passes /moons, bronze does not: both statuses occur for valid tokens.
        let moons: std::collections::BTreeSet<u16> = plan
            .lines
            .iter()
            .filter(|l| l.category == Category::Valid && l.path == "/moons")
            .map(|l| l.expected)
            .collect();
        assert_eq!(moons.into_iter().collect::<Vec<_>>(), [200, 403]);
        // Shuffled, and the same way every time; tokens never in Debug output.
        let again = plan_of(&table, "solar-system", true);
        let order = |p: &Plan| p.lines.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>();
        assert_eq!(order(&plan), order(&again));
        // In token order, the first 18 lines would be the first tier's 6 valid JWTs.
        assert!(
            plan.lines
                .iter()
                .take(18)
                .any(|l| l.category != Category::Valid),
            "shuffled"
        );
        assert!(plan.lines.iter().all(|l| !format!("{l:?}").contains("ey")));

        let jwts = plan_of(&table, "pet-store", false);
        // Seven per tier: reader, writer, nobody and editor (PetStore's Cedar tier).
        assert_eq!(jwts.tokens, 4 * 7 + 2 + 2 + 1 + 2 + 1);
        assert!(
            jwts.lines
                .iter()
                .all(|l| !matches!(l.category, Category::ValidOpaque | Category::ExpiredOpaque))
        );
        let post: Vec<_> = jwts
            .lines
            .iter()
            .filter(|l| l.method == Method::POST)
            .collect();
        assert!(post.iter().any(|l| l.expected == 200) && post.iter().any(|l| l.expected == 403));
    }

    #[test]
    fn forged_tokens_keep_a_signature_that_no_longer_matches() {
        let table = table();
        let plan = plan_of(&table, "pet-store", false);
        let tokens: Vec<(Category, String)> = plan
            .lines
            .iter()
            .filter_map(|l| {
                let v = l.authorization.as_ref()?.to_str().ok()?;
                Some((l.category, v.strip_prefix("Bearer ")?.to_owned()))
            })
            .collect();
        let of = |c: Category| tokens.iter().filter(move |(k, _)| *k == c).map(|(_, t)| t);
        for t in of(Category::AlgNone) {
            let [h, _, s] = jwt_parts(t).unwrap();
            assert_eq!(s, "");
            let header: Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
            assert_eq!(header["alg"], "none");
        }
        for t in of(Category::ForgedClaims) {
            let claims = raised_claims(t, "x").unwrap();
            assert_eq!(claims["aud"], "petstore");
            let [_, p, _] = jwt_parts(t).unwrap();
            let raw: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
            assert_eq!(raw["scope"], "profile read write");
        }
        // Another API's tokens: its widest tier, the first of equals in name order (bronze).
        let aud: std::collections::BTreeSet<String> = of(Category::WrongAud)
            .map(|t| {
                let [_, p, _] = jwt_parts(t).unwrap();
                let raw: Value =
                    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
                format!("{} {}", raw["aud"], raw["scope"])
            })
            .collect();
        assert_eq!(
            aud.into_iter().collect::<Vec<_>>(),
            [r#""solar-system" "bronze""#]
        );
        // Two valid JWTs, each with the other's signature: same parts, signatures swapped.
        let sigs: std::collections::BTreeSet<&String> = of(Category::ForgedSig).collect();
        assert_eq!(sigs.len(), 2);
        let [s0, s1]: [&String; 2] = sigs.into_iter().collect::<Vec<_>>().try_into().unwrap();
        let ([h0, p0, g0], [h1, p1, g1]) = (jwt_parts(s0).unwrap(), jwt_parts(s1).unwrap());
        assert_ne!((h0, p0), (h1, p1));
        assert_ne!(g0, g1);
    }

    #[test]
    fn the_figures_count_every_answer_and_each_wrong_one() {
        let table = table();
        let plan = Arc::new(plan_of(&table, "pet-store", false));
        let latency: Vec<Histogram> = CATEGORIES.iter().map(|_| Histogram::new()).collect();
        let mut tally = Tally::default();
        for (i, line) in plan.lines.iter().enumerate().take(40) {
            // Every fifth answer is a 500 where the plan expects another status.
            let status = if i % 5 == 0 { 500 } else { line.expected };
            tally.answered(i, line, status);
            latency[line.category.index()].record(1000 + i as u64);
        }
        let mut other = Tally {
            socket_errors: 1,
            ..Tally::default()
        };
        other.answered(0, &plan.lines[0], 500);
        tally.add(other);
        assert_eq!((tally.total(), tally.total_wrong()), (41, 9));
        assert_eq!(tally.wrong_lines.get(&(0, 500)), Some(&2));
        let run = ApiRun {
            plan: plan.clone(),
            tally,
            latency,
            wall: Duration::from_secs(2),
        };
        let text = render(std::slice::from_ref(&run));
        let row = text.lines().nth(1).unwrap();
        let cols: Vec<&str> = row.split_whitespace().collect();
        // api, requests, req/s, p50, p90, p99, max (ms), wrong, socket errors, timeouts.
        assert_eq!(cols[..3], ["pet-store", "41", "20.5"], "{text}");
        assert_eq!(cols[6..], ["1.04", "9", "1", "0"], "{text}");
        // The 20th of 1000..=1039 µs is 1019, in the 2 µs bucket 1018..=1019.
        assert_eq!(run.latency_all().percentile(50.0), Some(1018));
        assert!(text.contains("no-token"), "{text}");
    }

    #[test]
    fn proc_stat_of_this_process_counts_cpu() {
        let spin = Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(120) {
            x = x.wrapping_add(1);
        }
        assert!(x > 0);
        assert!(cpu_ticks("self") > 0);
        assert_eq!(cpu_ticks("999999999"), 0);
        assert!(machine_busy_ticks() > 0);
    }
}
