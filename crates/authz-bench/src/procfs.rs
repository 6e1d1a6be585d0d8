//! What the benchmarks read from `/proc` (Linux): CPU time, threads, memory and status fields
//! of a process, the machine's CPUs, model, busy ticks and load average. One home for both
//! the latency benchmark (`main.rs`) and the load generator (`load.rs`).

/// ns on CPU of every live thread of `pid` (first field of each task's schedstat).
pub fn cpu_ns(pid: u32) -> Result<u64, String> {
    let dir = format!("/proc/{pid}/task");
    let tasks = std::fs::read_dir(&dir).map_err(|e| format!("{dir}: {e}"))?;
    let mut total = 0;
    for task in tasks.flatten() {
        // A thread may exit between the listing and the read: skip it.
        let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        let first = text.split_whitespace().next().unwrap_or("0");
        total += first
            .parse::<u64>()
            .map_err(|e| format!("{dir}: schedstat `{text}`: {e}"))?;
    }
    Ok(total)
}

pub fn thread_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, Iterator::count)
}

/// A field of `/proc/<pid>/status` (e.g. `VmHWM`, `Cpus_allowed_list`), value trimmed.
pub fn status_field(pid: &str, field: &str) -> Result<String, String> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| format!("{path}: no {field}"))
}

pub fn peak_rss_mib(pid: u32) -> Result<f64, String> {
    let hwm = status_field(&pid.to_string(), "VmHWM")?;
    let kib = hwm.trim_end_matches("kB").trim();
    let kib: f64 = kib.parse().map_err(|e| format!("VmHWM `{hwm}`: {e}"))?;
    Ok(kib / 1024.0)
}

/// The 1, 5 and 15 minute load averages: other work on the machine skews every figure.
pub fn load_average() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// CPUs of the machine (not of this process's affinity mask).
pub fn machine_cpus() -> usize {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|t| t.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(0)
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, v)| v.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "?".to_owned())
}

/// utime + stime of a process in clock ticks (0 once it is gone).
pub fn cpu_ticks(pid: &str) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // After the command name's `)`: state is field 3, utime and stime fields 14 and 15.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    field(14).unwrap_or(0) + field(15).unwrap_or(0)
}

/// Non-idle clock ticks of the whole machine (user nice system irq softirq steal).
pub fn machine_busy_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return 0;
    };
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| v.get(i)).sum()
}

pub fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

pub fn rss_mb(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let kb = s.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
            let kb: f64 = kb.trim().trim_end_matches("kB").trim().parse().ok()?;
            Some(format!("{:.0}", kb / 1024.0))
        })
        .unwrap_or_else(|| "?".into())
}
