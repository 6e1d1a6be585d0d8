//! `authz-bench lambda`: the benchmark as Lambda sizes and bills a function.
//!
//! Lambda gives a function CPU in proportion to its memory (1,769 MB is one vCPU) and bills its
//! duration in 1 ms steps. For each memory size, every function process runs in a CPU cgroup of
//! its own whose CFS bandwidth limit is that share of one CPU (`cpu.cfs_quota_us` of a 100 ms
//! period on cgroup v1, `cpu.max` on v2); the benchmark creates the groups (as root) and removes
//! them. The issuer speaks HTTPS with a private CA, so a cold start pays the TLS handshakes and
//! certificate checks a real one pays. Reported per row and memory size: cold start (median,
//! max) split into process start, discovery + JWKS and the first invocation; caller-side
//! latency p50/p99; billed duration per invocation (Lambda's rounding up to the next 1 ms); the
//! cost per million authorizations at the arm64 price; and an SVG plot of cost and p99 against
//! memory size.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Cold, Defaults, Keys, Measured, Options as Common, Spec, label, run_rows};

/// The first argument of the launcher that puts a function process in its cgroup:
/// `authz-bench cgroup-exec PROCS_FILE PROGRAM [ARGS…]`.
pub(crate) const CGROUP_EXEC: &str = "cgroup-exec";

/// Memory at which Lambda gives a function one whole vCPU.
const MB_PER_VCPU: u64 = 1769;
/// The CFS period; the quota is the CPU share of it.
const PERIOD_US: u64 = 100_000;
/// Lambda's memory sizes measured by default.
const DEFAULT_MEMORY: [u64; 4] = [128, 256, 512, 1024];
/// Pause after each answer before the next invocation.
const DEFAULT_GAP_MS: u64 = 10;

/// AWS Lambda prices used for the cost columns: US East (N. Virginia), arm64, the first
/// 7.5 billion GB-seconds of a month; the request price is the same for both architectures.
pub(crate) const PRICE_PER_MILLION_REQUESTS_USD: f64 = 0.20;
pub(crate) const PRICE_PER_GB_SECOND_ARM64_USD: f64 = 0.000_013_333_4;
/// When the prices above were read (aws.amazon.com/lambda/pricing).
pub(crate) const PRICES_AS_OF: &str = "2026-12-02";

/// The defaults of this mode: fewer invocations than the CPU benchmark (each is followed by
/// the pause), interleaved in 5 rounds.
pub(crate) const DEFAULTS: Defaults = Defaults {
    n: 1_000,
    warmup: 100,
    rounds: 5,
};

const USAGE: &str = "\
authz-bench lambda: the benchmark as Lambda sizes and bills a function. Each function process
runs under a CPU limit equal to Lambda's share for a memory size (cgroup CFS bandwidth: memory /
1769 MB of one CPU; needs root: when no group can be made, every row runs without a limit and the
tables say so), against an issuer over
HTTPS (private CA). Per row and memory size: cold start (median, max; process start, discovery +
JWKS, first invocation), latency p50/p99, billed duration (1 ms rounding), cost per million
(arm64 price), and an SVG plot. Run it through scripts/bench.sh lambda.

Options (environment variable in brackets):
      --memory LIST     memory sizes in MB, 128 to 1769      [AUTHZ_BENCH_MEMORY, default 128,256,512,1024]
      --gap-ms G        pause after each answer, ms          [AUTHZ_BENCH_GAP_MS, default 10]
      --plot FILE       the SVG written (`-`: none)          [AUTHZ_BENCH_PLOT, default BENCHMARKS-lambda.svg]
  -n, --invocations N   measured invocations per function and size [AUTHZ_BENCH_N, default 1000]
      --warmup W        warm-up invocations                  [AUTHZ_BENCH_WARMUP, default 100]
      --pool P          distinct valid tokens cycled         [AUTHZ_BENCH_POOL, default 64]
      --cold-starts K   processes started per function and size [AUTHZ_BENCH_COLD_STARTS, default 5]
      --rounds R        interleaved chunks                   [AUTHZ_BENCH_ROUNDS, default 5]
      --only IDS, --bin-dir DIR, --no-introspection-bin-dir DIR, --cedar-bin-dir DIR,
      --node PATH, --ours-env LIST:
                        as `authz-bench --help`
  -h, --help            this text
Row ids:";

pub(crate) fn usage() -> String {
    let ids: Vec<&str> = crate::SPECS.iter().map(|s| s.id).collect();
    format!("{USAGE} {}\n", ids.join(" "))
}

/// The options of this mode only.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) memory: Vec<u64>,
    pub(crate) gap: Duration,
    plot: Option<PathBuf>,
}

impl Options {
    pub(crate) fn parse(
        memory: Option<String>,
        gap: Option<String>,
        plot: Option<String>,
        root: &Path,
    ) -> Result<Options, String> {
        let memory = match memory {
            None => DEFAULT_MEMORY.to_vec(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|mb| match mb.parse::<u64>() {
                    // Lambda's smallest size up to one whole CPU: the functions are pinned to
                    // one CPU (taskset -c 0), so more than 1769 MB's share cannot be given.
                    Ok(n) if (128..=MB_PER_VCPU).contains(&n) => Ok(n),
                    _ => Err(format!(
                        "--memory: `{mb}` is not a memory size from 128 to {MB_PER_VCPU} MB (one \
                         CPU, the most a process pinned to one CPU gets)"
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        if memory.is_empty() {
            return Err("--memory: no memory size given".to_owned());
        }
        let gap = crate::number(gap, DEFAULT_GAP_MS as usize, "--gap-ms", 0)?;
        let plot = match plot.as_deref() {
            Some("-") => None,
            Some(path) => Some(PathBuf::from(path)),
            None => Some(root.join("BENCHMARKS-lambda.svg")),
        };
        Ok(Options {
            memory,
            gap: Duration::from_millis(gap as u64),
            plot,
        })
    }
}

/// Lambda's CPU share for `memory_mb`, as a CFS quota per [`PERIOD_US`].
fn quota_us(memory_mb: u64) -> u64 {
    (PERIOD_US * memory_mb / MB_PER_VCPU).max(1_000)
}

/// Which cgroup hierarchy holds the CPU controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hierarchy {
    /// cgroup v1: `/sys/fs/cgroup/cpu/<group>/cpu.cfs_quota_us`.
    V1,
    /// cgroup v2: `/sys/fs/cgroup/<group>/cpu.max`.
    V2,
}

const V1_ROOT: &str = "/sys/fs/cgroup/cpu";
const V2_ROOT: &str = "/sys/fs/cgroup";

impl Hierarchy {
    /// The folder the bench's groups are made in.
    fn root(self) -> &'static str {
        match self {
            Hierarchy::V1 => V1_ROOT,
            Hierarchy::V2 => V2_ROOT,
        }
    }
}

fn hierarchy() -> Result<Hierarchy, String> {
    if Path::new(V1_ROOT).join("cpu.cfs_quota_us").exists() {
        return Ok(Hierarchy::V1);
    }
    let controllers = std::fs::read_to_string(Path::new(V2_ROOT).join("cgroup.controllers"));
    match controllers {
        Ok(list) if list.split_whitespace().any(|c| c == "cpu") => {
            // Child groups get `cpu.max` only when the root hands the controller down.
            let subtree = Path::new(V2_ROOT).join("cgroup.subtree_control");
            let enabled = std::fs::read_to_string(&subtree).unwrap_or_default();
            if !enabled.split_whitespace().any(|c| c == "cpu") {
                std::fs::write(&subtree, "+cpu")
                    .map_err(|e| format!("cannot enable cpu in {}: {e}", subtree.display()))?;
            }
            Ok(Hierarchy::V2)
        }
        Ok(_) => Err("cgroup v2 without the cpu controller".to_owned()),
        Err(_) => Err(format!(
            "no CPU cgroup controller found ({V1_ROOT}/cpu.cfs_quota_us or {V2_ROOT}/cgroup.controllers)"
        )),
    }
}

/// Whether a CPU limit can be set here: removes the groups earlier runs left behind (killed
/// before their cleanup), then creates and removes one probe group with a limit.
fn can_limit() -> Result<(), String> {
    if let Ok(entries) = std::fs::read_dir(hierarchy()?.root()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix("authz-bench-")
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok());
            if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
                drop(Cgroup {
                    dir: entry.path(),
                    memory_mb: 0,
                });
            }
        }
    }
    Cgroup::create("probe", 128).map(drop)
}

/// A CPU cgroup with a CFS bandwidth limit, removed when dropped (its remaining processes are
/// moved back to the root group first).
#[derive(Debug)]
pub(crate) struct Cgroup {
    dir: PathBuf,
    memory_mb: u64,
}

impl Cgroup {
    /// Creates `authz-bench-<pid>-<name>` limited to Lambda's share for `memory_mb`, and reads
    /// the limit back.
    fn create(name: &str, memory_mb: u64) -> Result<Cgroup, String> {
        let hierarchy = hierarchy()?;
        let dir =
            Path::new(hierarchy.root()).join(format!("authz-bench-{}-{name}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let cgroup = Cgroup { dir, memory_mb };
        let quota = quota_us(memory_mb);
        let (file, value) = match hierarchy {
            Hierarchy::V1 => ("cpu.cfs_quota_us", quota.to_string()),
            Hierarchy::V2 => ("cpu.max", format!("{quota} {PERIOD_US}")),
        };
        if hierarchy == Hierarchy::V1 {
            cgroup.write("cpu.cfs_period_us", &PERIOD_US.to_string())?;
        }
        cgroup.write(file, &value)?;
        let read = cgroup.read(file)?;
        if read.split_whitespace().next() != Some(quota.to_string().as_str()) {
            return Err(format!("{file}: wrote {value}, read back {read}"));
        }
        Ok(cgroup)
    }

    fn write(&self, file: &str, value: &str) -> Result<(), String> {
        let path = self.dir.join(file);
        std::fs::write(&path, value).map_err(|e| format!("write {}: {e}", path.display()))
    }

    fn read(&self, file: &str) -> Result<String, String> {
        let path = self.dir.join(file);
        std::fs::read_to_string(&path)
            .map(|s| s.trim().to_owned())
            .map_err(|e| format!("read {}: {e}", path.display()))
    }

    pub(crate) fn memory_mb(&self) -> u64 {
        self.memory_mb
    }

    /// The file a process writes its pid to in order to join.
    pub(crate) fn procs_path(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// `(nr_throttled, nr_periods)` from `cpu.stat`: periods in which the group used up its
    /// quota and had to wait, of the periods in which it ran.
    pub(crate) fn throttling(&self) -> (u64, u64) {
        let stat = self.read("cpu.stat").unwrap_or_default();
        let field = |name: &str| {
            stat.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
                .unwrap_or(0)
        };
        (field("nr_throttled "), field("nr_periods "))
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let root = self.dir.parent().map(|p| p.join("cgroup.procs"));
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            // Processes still in the group (killed, not yet reaped): back to the root group.
            if let (Ok(pids), Some(root)) = (self.read("cgroup.procs"), &root) {
                for pid in pids.lines() {
                    let _ = std::fs::write(root, pid);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!(
            "authz-bench: warning: could not remove {}",
            self.dir.display()
        );
    }
}

/// `authz-bench cgroup-exec PROCS_FILE PROGRAM [ARGS…]`: joins the cgroup whose `cgroup.procs`
/// is PROCS_FILE, then replaces itself with PROGRAM (same pid, same environment), so that
/// nothing of the function runs outside its CPU limit. Returns only on failure.
pub(crate) fn cgroup_exec(mut args: impl Iterator<Item = String>) -> i32 {
    use std::os::unix::process::CommandExt as _;
    let (Some(procs), Some(program)) = (args.next(), args.next()) else {
        eprintln!("usage: authz-bench {CGROUP_EXEC} PROCS_FILE PROGRAM [ARGS…]");
        return 2;
    };
    if let Err(e) = std::fs::write(&procs, std::process::id().to_string()) {
        eprintln!("authz-bench {CGROUP_EXEC}: cannot join {procs}: {e}");
        return 1;
    }
    let e = std::process::Command::new(&program).args(args).exec();
    eprintln!("authz-bench {CGROUP_EXEC}: cannot run {program}: {e}");
    127
}

/// A row's figures at one memory size.
#[derive(Debug)]
struct Point {
    memory_mb: u64,
    /// False when no CPU limit could be set (no writable CPU controller): the row ran unlimited.
    limited: bool,
    m: Measured,
}

impl Point {
    fn cold_ms(&self, pick: impl Fn(&Cold) -> Option<Duration>) -> Vec<f64> {
        let mut v: Vec<f64> = self
            .m
            .colds
            .iter()
            .filter_map(|c| pick(c).map(|d| d.as_secs_f64() * 1e3))
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }

    /// Billed milliseconds of each measured invocation: rounded up to the next 1 ms.
    fn billed_ms(&self) -> Vec<u64> {
        self.m.billed.iter().map(|d| billed_ms(*d)).collect()
    }

    fn mean_billed_ms(&self) -> f64 {
        let billed = self.billed_ms();
        billed.iter().sum::<u64>() as f64 / billed.len().max(1) as f64
    }

    /// Request price plus duration at the arm64 price, for a million warm invocations.
    fn cost_per_million(&self) -> f64 {
        cost_per_million(self.memory_mb, self.mean_billed_ms())
    }

    /// What one cold start adds: Lambda bills the init phase and the first invocation, each
    /// rounded up to 1 ms (beyond the request price, which every invocation pays).
    fn cold_cost_micro_usd(&self) -> Option<f64> {
        let c = self.median_cold()?;
        let ms = billed_ms(c.init?) + billed_ms(c.first_invoke?);
        Some(gb(self.memory_mb) * ms as f64 / 1e3 * PRICE_PER_GB_SECOND_ARM64_USD * 1e6)
    }

    fn median_cold(&self) -> Option<&Cold> {
        self.m.colds.get(self.m.colds.len() / 2)
    }
}

/// Lambda's rounding: up to the next whole millisecond (at least 1 ms).
fn billed_ms(d: Duration) -> u64 {
    let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    micros.div_ceil(1_000).max(1)
}

/// Memory in GB as Lambda bills it (MB / 1024).
fn gb(memory_mb: u64) -> f64 {
    memory_mb as f64 / 1024.0
}

fn cost_per_million(memory_mb: u64, mean_billed_ms: f64) -> f64 {
    PRICE_PER_MILLION_REQUESTS_USD
        + 1e6 * gb(memory_mb) * mean_billed_ms / 1e3 * PRICE_PER_GB_SECOND_ARM64_USD
}

fn median(sorted: &[f64]) -> f64 {
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs every row at every memory size (sizes in turn; within a size, the rows' measured
/// chunks are interleaved), prints the tables and writes the plot. True if anything failed.
pub(crate) async fn run(specs: &[&Spec], common: &Common, opts: &Options, keys: &Keys) -> bool {
    let limit = can_limit();
    if let Err(e) = &limit {
        eprintln!(
            "authz-bench lambda: WARNING: cannot limit CPU ({e}); every row runs WITHOUT a CPU \
             limit and the tables say so"
        );
    }
    let mut failed = false;
    let mut points: Vec<(&Spec, Point)> = Vec::new();
    for &memory_mb in &opts.memory {
        eprintln!(
            "== {memory_mb} MB: {:.1} % of one CPU ({} µs per {PERIOD_US} µs)",
            quota_us(memory_mb) as f64 / PERIOD_US as f64 * 100.0,
            quota_us(memory_mb)
        );
        let mut limited = true;
        let results = run_rows(specs, common, keys, |spec| {
            if limit.is_err() {
                limited = false;
                return Ok(None);
            }
            match Cgroup::create(&format!("{memory_mb}-{}", spec.id), memory_mb) {
                Ok(cgroup) => Ok(Some(cgroup)),
                Err(e) => Err(format!("cannot set the CPU limit: {e}")),
            }
        })
        .await;
        for (spec, result) in results {
            match result {
                Ok(m) => {
                    failed |= m.wrong > 0;
                    points.push((
                        spec,
                        Point {
                            memory_mb,
                            limited,
                            m,
                        },
                    ));
                }
                Err(e) => {
                    failed = true;
                    eprintln!("  {} at {memory_mb} MB FAILED: {e}", spec.id);
                }
            }
        }
    }
    print!("{}", render(&points, common, opts));
    if let Some(path) = &opts.plot {
        let svg = plot(&points, common);
        match std::fs::write(path, svg) {
            Ok(()) => println!("\nplot: {}", path.display()),
            Err(e) => {
                eprintln!("authz-bench lambda: cannot write {}: {e}", path.display());
                failed = true;
            }
        }
    }
    failed
}

fn render(points: &[(&Spec, Point)], common: &Common, opts: &Options) -> String {
    let mut out = format!(
        "Prices: ${PRICE_PER_MILLION_REQUESTS_USD:.2} per million requests + \
         ${PRICE_PER_GB_SECOND_ARM64_USD} per GB-second (arm64, US East (N. Virginia), first 7.5 \
         billion GB-s a month), as of {PRICES_AS_OF}. Billed duration = the Runtime API's event \
         handed out → answer received, rounded up to the next 1 ms. Latency = the caller's round \
         trip through the Runtime API emulator. {} ms pause after each answer.\n\n",
        opts.gap.as_millis()
    );
    out.push_str(
        "| function | event | MB | CPU limit | cold start median ms | max ms | init ms | process start ms \
         | discovery + JWKS ms | TLS handshakes | first invocation ms | p50 ms | p99 ms \
         | billed ms/inv (mean) | billed 1 ms | $ per million | µ$ per cold start \
         | CPU µs/inv | throttled periods | wrong |\n",
    );
    out.push_str(
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for (spec, p) in points {
        let m = &p.m;
        let totals = p.cold_ms(|c| Some(c.total));
        let init = p.cold_ms(|c| c.init);
        let to_idp = p.cold_ms(|c| c.to_idp);
        let fetch = p.cold_ms(|c| c.fetch);
        let first = p.cold_ms(|c| c.first_invoke);
        let handshakes = p.median_cold().map_or(0, |c| c.connections);
        let dash = |v: &[f64]| {
            if v.is_empty() {
                "—".to_owned()
            } else {
                format!("{:.1}", median(v))
            }
        };
        let billed = p.billed_ms();
        let one_ms = billed.iter().filter(|&&b| b == 1).count() as f64 / billed.len().max(1) as f64;
        let limit = if p.limited {
            format!(
                "{:.1} %",
                quota_us(p.memory_mb) as f64 / PERIOD_US as f64 * 100.0
            )
        } else {
            "none (not set)".to_owned()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {limit} | {:.1} | {:.1} | {} | {} | {} | {handshakes} | {} | {:.2} | {:.2} | {:.2} | {:.1} % | {:.4} | {} | {:.1} | {} of {} | {} |",
            label(spec, &common.root),
            spec.api.name(),
            p.memory_mb,
            median(&totals),
            totals.last().copied().unwrap_or(f64::NAN),
            dash(&init),
            dash(&to_idp),
            dash(&fetch),
            dash(&first),
            m.wall_p50_us / 1e3,
            m.wall_p99_us / 1e3,
            p.mean_billed_ms(),
            one_ms * 100.0,
            p.cost_per_million(),
            p.cold_cost_micro_usd()
                .map_or_else(|| "—".to_owned(), |c| format!("{c:.2}")),
            m.cpu_us,
            m.throttled.0,
            m.throttled.1,
            m.wrong,
        );
    }
    out.push_str(
        "\nCold starts, every process: total ms (init ms: process start / discovery + JWKS / first invocation; init = spawn → first `/next` poll; process start = \
         spawn → first connection to the issuer; discovery + JWKS = that connection → last JWKS \
         served; first invocation = its billed duration; the rest of the total is init after the \
         JWKS and the harness's own share):\n\n",
    );
    for (spec, p) in points {
        let each: Vec<String> =
            p.m.colds
                .iter()
                .map(|c| {
                    let part = |d: Option<Duration>| {
                        d.map_or_else(|| "—".to_owned(), |d| format!("{:.1}", ms(d)))
                    };
                    format!(
                        "{:.1} (init {}: {} / {} / first {})",
                        ms(c.total),
                        part(c.init),
                        part(c.to_idp),
                        part(c.fetch),
                        part(c.first_invoke)
                    )
                })
                .collect();
        let _ = writeln!(out, "- {} {} MB: {}", spec.id, p.memory_mb, each.join(", "));
    }
    out
}

/// The series drawn: one line per row.
fn series_style(spec: &Spec) -> (&'static str, &'static str) {
    use crate::Program;
    let dash = match spec.api {
        crate::Api::Token => "",
        crate::Api::Request => "6,3",
        crate::Api::Http => "2,3",
    };
    let color = match spec.program {
        Program::RustEcho => "#999999",
        Program::Ours {
            build: crate::Build::NoIntrospection,
            ..
        } => "#2ca02c",
        Program::Ours {
            build: crate::Build::Cedar,
            ..
        } => "#d62728",
        Program::Ours { .. } => "#1f77b4",
        Program::Node("noop-handler.js") => "#bbbbbb",
        Program::Node(crate::AJV) => "#ff7f0e",
        Program::Node(_) => "#9467bd",
    };
    (color, dash)
}

/// An SVG of three panels against memory size: cold start median (log scale), p99 latency (log
/// scale) and cost per million authorizations (linear), one line per row.
fn plot(points: &[(&Spec, Point)], common: &Common) -> String {
    let mut sizes: Vec<u64> = points.iter().map(|(_, p)| p.memory_mb).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut rows: Vec<&Spec> = Vec::new();
    for (spec, _) in points {
        if !rows.iter().any(|r| r.id == spec.id) {
            rows.push(spec);
        }
    }
    type Metric = fn(&Point) -> f64;
    let panels: [(&str, bool, Metric); 3] = [
        ("cold start, median (ms, log scale)", true, |p| {
            median(&p.cold_ms(|c| Some(c.total)))
        }),
        ("invocation latency p99 (ms, log scale)", true, |p| {
            p.m.wall_p99_us / 1e3
        }),
        (
            "USD per million authorizations (arm64)",
            false,
            Point::cost_per_million,
        ),
    ];
    let (pw, ph, left, top, gap) = (330.0, 260.0, 60.0, 40.0, 70.0);
    let legend_h = 18.0 * rows.len() as f64 + 20.0;
    let width = left + 3.0 * pw + 2.0 * gap + 20.0;
    let height = top + ph + 50.0 + legend_h;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let xs = |i: usize| {
        if sizes.len() < 2 {
            pw / 2.0
        } else {
            i as f64 / (sizes.len() - 1) as f64 * pw
        }
    };
    for (k, (title, log, metric)) in panels.iter().enumerate() {
        let x0 = left + k as f64 * (pw + gap);
        let values: Vec<f64> = points
            .iter()
            .map(|(_, p)| metric(p))
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let (mut lo, mut hi) = values
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        if values.is_empty() {
            (lo, hi) = (1.0, 10.0);
        }
        let (lo, hi) = if *log {
            (
                10f64.powf(lo.log10().floor()),
                10f64.powf(hi.log10().ceil()),
            )
        } else {
            // The request price is most of the cost: the axis starts there, not at 0.
            let lo = PRICE_PER_MILLION_REQUESTS_USD.min(lo);
            (lo, hi + (hi - lo) * 0.1 + 1e-9)
        };
        let y = |v: f64| {
            let f = if *log {
                (v.log10() - lo.log10()) / (hi.log10() - lo.log10())
            } else {
                (v - lo) / (hi - lo)
            };
            top + ph - f * ph
        };
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">{title}</text>",
            x0 + pw / 2.0,
            top - 12.0
        );
        let _ = writeln!(
            svg,
            "<rect x=\"{x0}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#333\"/>"
        );
        // Y ticks: decades on log axes, five steps on the linear one.
        let ticks: Vec<f64> = if *log {
            let mut t = Vec::new();
            let mut v = lo;
            while v <= hi * 1.0001 {
                t.push(v);
                v *= 10.0;
            }
            t
        } else {
            (0..=5)
                .map(|i| lo + (hi - lo) * f64::from(i) / 5.0)
                .collect()
        };
        for t in ticks {
            let ty = y(t);
            let text = if *log {
                format!("{t}")
            } else {
                format!("{t:.4}")
            };
            let _ = writeln!(
                svg,
                "<line x1=\"{x0}\" y1=\"{ty:.1}\" x2=\"{}\" y2=\"{ty:.1}\" stroke=\"#ddd\"/>\
                 <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{text}</text>",
                x0 + pw,
                x0 - 4.0,
                ty + 4.0
            );
        }
        for (i, mb) in sizes.iter().enumerate() {
            let _ = writeln!(
                svg,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{mb} MB</text>",
                x0 + xs(i),
                top + ph + 16.0
            );
        }
        for spec in &rows {
            let (color, dash) = series_style(spec);
            let pts: Vec<String> = sizes
                .iter()
                .enumerate()
                .filter_map(|(i, mb)| {
                    let (_, p) = points
                        .iter()
                        .find(|(s, p)| s.id == spec.id && p.memory_mb == *mb)?;
                    let v = metric(p);
                    (v.is_finite() && v > 0.0).then(|| format!("{:.1},{:.1}", x0 + xs(i), y(v)))
                })
                .collect();
            let _ = writeln!(
                svg,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/>",
                pts.join(" ")
            );
            for pt in &pts {
                let (cx, cy) = pt.split_once(',').unwrap_or_default();
                let _ = writeln!(
                    svg,
                    "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"2.5\" fill=\"{color}\"/>"
                );
            }
        }
    }
    let ly = top + ph + 40.0;
    for (i, spec) in rows.iter().enumerate() {
        let (color, dash) = series_style(spec);
        let y = ly + 18.0 * i as f64;
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{color}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/>\
             <text x=\"{}\" y=\"{}\">{} — {} {}</text>",
            left + 30.0,
            left + 36.0,
            y + 4.0,
            xml_escape(&label(spec, &common.root)),
            spec.api.name(),
            spec.alg.name()
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_rounds_up_to_the_next_millisecond_and_bills_at_least_one() {
        assert_eq!(billed_ms(Duration::from_micros(1)), 1);
        assert_eq!(billed_ms(Duration::from_micros(999)), 1);
        assert_eq!(billed_ms(Duration::from_micros(1_000)), 1);
        assert_eq!(billed_ms(Duration::from_micros(1_001)), 2);
        assert_eq!(billed_ms(Duration::ZERO), 1);
    }

    #[test]
    fn the_cpu_share_is_memory_over_1769_mb_of_one_period() {
        assert_eq!(quota_us(128), 7_235);
        assert_eq!(quota_us(1769), PERIOD_US);
        assert_eq!(quota_us(1024), 57_885);
    }

    #[test]
    fn cost_per_million_is_the_request_price_plus_gb_seconds() {
        // 128 MB for 1 ms, a million times: 0.125 GB × 0.001 s × 1e6 = 125 GB-s.
        let cost = cost_per_million(128, 1.0);
        let expected = 0.20 + 125.0 * PRICE_PER_GB_SECOND_ARM64_USD;
        assert!((cost - expected).abs() < 1e-12, "{cost} vs {expected}");
    }

    #[test]
    fn memory_sizes_outside_lambdas_range_are_refused() {
        let root = Path::new("/");
        let parse = |m: &str| Options::parse(Some(m.to_owned()), None, None, root);
        assert!(parse("64").is_err());
        assert!(parse("1770").is_err());
        assert!(parse("128,abc").is_err());
        assert!(parse(",").is_err());
        assert_eq!(parse("128, 1024").map(|o| o.memory), Ok(vec![128, 1024]));
    }
}
