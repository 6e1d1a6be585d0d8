#!/usr/bin/env bash
# Load test of the local mode with wrk: a mix of valid, expired and forged tokens against the API
# Gateway emulator (authz-local, the real authorizer binaries), every answer checked against the
# status the route table predicts. It prints figures; it is not part of the test command.
#
# usage: scripts/load.sh [--duration 20s] [--connections 32] [--api pet-store|solar-system|both]
#                        [--cache-ttl 0[,300...]] [--pool N] [--no-opaque] [--no-build] [--show-wrk]
#   --duration     how long wrk runs (N, Ns, Nm; default 20s)
#   --connections  concurrent connections in all (default 32); with both APIs, half each, run at
#                  the same time
#   --api          which API of infra/routes.json to load (default both)
#   --cache-ttl    the authorizer cache TTL in seconds, for every API (default 0: every request
#                  reaches an authorizer); a comma list runs once per value, e.g. 0,300
#   --pool         authorizer processes per function (default 2)
#   --no-opaque    JWTs only (no moto_server, no introspection)
#   --no-build     use the release binaries already in target/release
#   --show-wrk     also print wrk's own report
#
# It installs wrk (Debian package, `apt-get`, sudo if not root) when missing, builds the release
# binaries, installs moto (scripts/test-tools.sh moto) unless --no-opaque, and per cache TTL:
#   1. starts target/release/authz-local on free loopback ports (stopped on exit, always);
#   2. takes tokens from its demo-token endpoint and writes, per API, a plan: each token on each
#      guarded route, with the status API Gateway must answer, derived from infra/routes.json
#      with the rules of authz_local::table::expected_status (valid token of a tier: 200 if the
#      tier has one of the route's scopes, else 403; a bad token: 401, but 403 on an HTTP API
#      Lambda route (isAuthorized false); no token: 401; an opaque token on a native `jwt`
#      route is a bad token). Per API (3 tiers; every token on each of the 3 guarded routes; the
#      shares are with opaque tokens, which --no-opaque leaves out):
#        valid           6 JWTs per tier                                               ~55 %
#        valid-opaque    1 opaque token per tier                                        ~9 %
#        expired         1 JWT per tier, expired 120 s ago                              ~9 %
#        expired-opaque  1 opaque token, expired                                        ~3 %
#        forged-sig      2 valid JWTs, each with the other's signature                  ~6 %
#        forged-claims   2 valid JWTs with the scopes raised to all of the API's        ~6 %
#        alg-none        raised scopes, header "alg":"none", no signature               ~3 %
#        wrong-aud       2 valid JWTs of the other API (its widest tier)                ~6 %
#        no-token        no Authorization header                                        ~3 %
#      then sends every plan line once, one at a time (the pre-check);
#   3. runs `wrk -t C -c C -d D --latency -s scripts/load.lua` per API (both at once), each wrk
#      thread cycling through the whole shuffled plan from its own offset;
#   4. prints, per API and overall: requests, throughput, latency p50/p90/p99/max, wrong
#      decisions, non-2xx/3xx and socket errors as wrk counts them, the mix by category, and the
#      CPU time taken by authz-local and the authorizer processes during the run.
# Exit status: non-zero if any answer differs from the plan (a wrong decision), in the pre-check
# or under load, or if requests were lost to socket errors.
#
# How each answer is matched to its request (the expectation check): wrk's response() callback is
# not told which connection it answers, and a wrk thread multiplexes its connections, so a
# per-thread FIFO of expected statuses would be wrong. Here each wrk thread has exactly one
# connection (-t = -c; hence no --threads option) and wrk does not pipeline: a thread has at most
# one request in flight, the one its latest request() returned, so response() knows exactly which
# plan line it answers (scripts/load.lua explains the details). The mix stays mixed: every thread
# cycles through all categories. Latency percentiles come from each answer's latency as
# scripts/load.lua timed it (request() to response(), what wrk times too), so per API and overall
# are computed alike, and they are the latencies measured, nothing added. wrk's own per-API
# figures are shown under them as a cross-check, with the mean latency Little's law implies
# (connections / throughput, for a closed loop like wrk's). They agree when latencies are
# uniform; when they are not (cache on: hits well under 1 ms, REST misses several ms), wrk's are
# higher because wrk 4.1 adds synthetic samples to its histogram before reporting (stats_correct,
# its coordinated-omission correction: for each latency of at least twice the mean interval
# between two requests of a connection, extra samples at that latency minus 1, 2, ... intervals).
#
# LOAD_KEEP=1 keeps the work directory (plans with tokens, per-answer logs, authz-local's output).
#
# Tokens never appear in the output. Loopback only. The figures are noisy on a shared machine:
# the load average is printed with them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }

duration=20s connections=32 api=both ttls=0 pool=2 opaque=true build=true show_wrk=false
while [ $# -gt 0 ]; do
    case "$1" in
        --duration|--connections|--api|--cache-ttl|--pool)
            [ $# -ge 2 ] || usage
            case "$1" in
                --duration) duration=$2 ;;
                --connections) connections=$2 ;;
                --api) api=$2 ;;
                --cache-ttl) ttls=$2 ;;
                --pool) pool=$2 ;;
            esac
            shift 2 ;;
        --no-opaque) opaque=false; shift ;;
        --no-build) build=false; shift ;;
        --show-wrk) show_wrk=true; shift ;;
        -h|--help) usage 0 ;;
        *) echo "error: unknown argument '$1'" >&2; usage ;;
    esac
done

fail() { echo "error: $*" >&2; exit 2; }
case "$duration" in
    *[!0-9smh]*|'') fail "--duration: N, Ns, Nm or Nh" ;;
    *h) seconds=$(( ${duration%h} * 3600 )) ;;
    *m) seconds=$(( ${duration%m} * 60 )) ;;
    *s) seconds=${duration%s} ;;
    *) seconds=$duration ;;
esac
[[ $seconds =~ ^[0-9]+$ ]] && (( seconds >= 1 && seconds <= 3000 )) || fail "--duration: 1 s to 50 min"
[[ $connections =~ ^[0-9]+$ ]] && (( connections >= 1 && connections <= 256 )) || fail "--connections: 1 to 256"
[[ $pool =~ ^[0-9]+$ ]] && (( pool >= 1 && pool <= 16 )) || fail "--pool: 1 to 16"
[[ $ttls =~ ^[0-9]+(,[0-9]+)*$ ]] || fail "--cache-ttl: seconds, or a comma list of them"
case "$api" in
    both) apis=(pet-store solar-system) ;;
    pet-store|solar-system) apis=("$api") ;;
    *) fail "--api: pet-store, solar-system or both" ;;
esac
(( connections >= ${#apis[@]} )) || fail "--connections: at least one per API"
command -v python3 >/dev/null 2>&1 || fail "python3 not found"

# --- tools and binaries ---------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || fail "wrk not found (and no apt-get): install wrk"
    sudo=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || fail "wrk not found: apt-get install wrk as root"
        sudo=(sudo)
    fi
    apt_install() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk >&2; }
    echo "==> apt-get install wrk" >&2
    if ! apt_install; then
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >&2
        apt_install
    fi
fi
if [[ $build == true ]]; then
    echo "==> cargo build --release (authz-local and the authorizers)" >&2
    cargo build --release --locked -p authz-local -p token-authorizer -p request-authorizer -p http-authorizer >&2
fi
for b in authz-local token-authorizer request-authorizer http-authorizer; do
    [ -x "target/release/$b" ] || fail "target/release/$b missing (run without --no-build)"
done
if [[ $opaque == true ]]; then
    scripts/test-tools.sh moto || fail "moto_server could not be installed; try --no-opaque"
fi

# --- helpers ----------------------------------------------------------------------------------
tmp=$(mktemp -d)
chmod 700 "$tmp"
local_pid='' wrk_pids=()
stop_local() {
    [ -n "$local_pid" ] || return 0
    kill -TERM "$local_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$local_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$local_pid" 2>/dev/null || true
    wait "$local_pid" 2>/dev/null || true
    local_pid=''
}
cleanup() {
    for p in "${wrk_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for f in "$tmp"/run-*/wrk-*/pid; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    done
    stop_local
    [ -n "${LOAD_KEEP:-}" ] && echo "kept $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# utime + stime of a process, in clock ticks (0 if gone).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Non-idle time of the whole machine (user nice system irq softirq steal), in clock ticks.
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
rss_mb() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo '?'; }

# The plan, the pre-check and the report (python3, standard library only).
py() {
    python3 - "$@" <<'PY'
import http.client, json, math, os, random, sys, base64, urllib.parse, glob, re

def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def get(port, path, headers=None, method="GET", body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        conn.close()

def sample_path(route):
    if route["route"] == "$default":
        return "/local/default-route"
    path = route["route"].split(" ", 1)[1]
    segs = []
    for s in path.split("/"):
        if s.startswith("{") and s.endswith("+}"):
            segs.append("a/b")
        elif s.startswith("{"):
            segs.append("1")
        else:
            segs.append(s)
    return "/".join(segs)

def method_of(route):
    m = "ANY" if route["route"] == "$default" else route["route"].split(" ")[0]
    return "GET" if m == "ANY" else m

def tier_satisfies(tier, route):
    scopes = route.get("scopes", [])
    if scopes and not any(s in tier.get("scopes", []) for s in scopes):
        return False
    for name, want in route.get("claims", {}).items():
        have = tier.get("claims", {}).get(name)
        if isinstance(have, list):
            if want not in have:
                return False
        elif have != want:
            return False
    return True

def expected_status(api, route, caller):
    """authz_local::table::expected_status: caller is None (no token), "bad" or ("tier", t)."""
    kind = route["authorizer"]
    if kind == "none":
        return 200
    if caller is None:
        return 401
    if caller == "bad":
        return 403 if kind == "http" else 401
    return 200 if tier_satisfies(api["tiers"][caller[1]], route) else 403

def plan(routes_file, token_port, outdir, apis_csv, opaque, lifetime, ports_json):
    table = json.load(open(routes_file))["apis"]
    ports = json.loads(ports_json)
    token_port = int(token_port)
    opaque = opaque == "true"

    def mint(api, tier, fmt=None, life=lifetime):
        q = {"api": api, "tier": tier, "lifetime": str(life)}
        if fmt:
            q["format"] = fmt
        status, body = get(token_port, "/token?" + urllib.parse.urlencode(q))
        if status != 200:
            sys.exit(f"error: token endpoint: {status} {body.strip()}")
        return body.strip()

    rng = random.Random(7)
    for name in apis_csv.split(","):
        api = table[name]
        tiers = sorted(api["tiers"])
        guarded = [r for r in api["routes"] if r["authorizer"] != "none"]
        all_scopes = sorted({s for t in api["tiers"].values() for s in t.get("scopes", [])})
        tokens = []  # (category, token or None, caller, is_opaque)
        for t in tiers:
            for _ in range(6):
                tokens.append(("valid", mint(name, t), ("tier", t), False))
            if opaque:
                tokens.append(("valid-opaque", mint(name, t, "opaque"), ("tier", t), True))
            tokens.append(("expired", mint(name, t, life=-120), "bad", False))
        if opaque:
            tokens.append(("expired-opaque", mint(name, tiers[0], "opaque", life=-120), "bad", True))
        # Forged: well-formed JWTs whose signature does not match.
        a, b = mint(name, tiers[0]), mint(name, tiers[-1])
        ha, pa, sa = a.split(".")
        hb, pb, sb = b.split(".")
        tokens.append(("forged-sig", f"{ha}.{pa}.{sb}", "bad", False))
        tokens.append(("forged-sig", f"{hb}.{pb}.{sa}", "bad", False))
        for t in (tiers[0], tiers[1 % len(tiers)]):
            h, p, s = mint(name, t).split(".")
            claims = json.loads(b64d(p))
            claims["scope"] = " ".join(all_scopes)
            tokens.append(("forged-claims", f"{h}.{b64e(json.dumps(claims, separators=(',', ':')).encode())}.{s}", "bad", False))
        claims = json.loads(b64d(pa))
        claims["scope"] = " ".join(all_scopes)
        none_header = b64e(b'{"alg":"none","typ":"JWT"}')
        tokens.append(("alg-none", f"{none_header}.{b64e(json.dumps(claims).encode())}.", "bad", False))
        others = [o for o in table if o != name and table[o]["audience"] != api["audience"]]
        if others:
            other = table[others[0]]
            best = max(sorted(other["tiers"]), key=lambda t: len(other["tiers"][t].get("scopes", [])))
            for _ in range(2):
                tokens.append(("wrong-aud", mint(others[0], best), "bad", False))
        tokens.append(("no-token", None, None, False))

        lines = []
        for cat, token, caller, is_opaque in tokens:
            for r in guarded:
                c = "bad" if (is_opaque and r["authorizer"] == "jwt") else caller
                lines.append((cat, method_of(r), sample_path(r), expected_status(api, r, c), token or ""))
        rng.shuffle(lines)
        with open(os.path.join(outdir, f"plan-{name}.tsv"), "w") as f:
            for line in lines:
                f.write("\t".join(str(x) for x in line) + "\n")

        # The pre-check: each plan line once, one at a time.
        port = ports[name]
        bad = []
        for cat, method, path, want, token in lines:
            headers = {"Accept": "application/json"}
            body = None
            if token:
                headers["Authorization"] = "Bearer " + token
            if method in ("POST", "PUT", "PATCH"):
                headers["Content-Type"] = "application/json"
                body = '{"type":"hamster","price":9.99}'
            got, _ = get(port, path, headers, method, body)
            if got != want:
                bad.append(f"    {cat} {method} {path}: expected {want}, got {got}")
        counts = {}
        for line in lines:
            counts[line[0]] = counts.get(line[0], 0) + 1
        print(f"pre-check {name}: {len(lines)} plan lines ({len(tokens)} tokens x {len(guarded)} routes), "
              f"{len(lines) - len(bad)} answered as expected" + ("" if not bad else f", {len(bad)} WRONG:"),
              file=sys.stderr)
        for b in bad:
            print(b, file=sys.stderr)
        if bad:
            open(os.path.join(outdir, "precheck-failed"), "a").write(f"{name} {len(bad)}\n")

def pct(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = max(0, math.ceil(p / 100 * len(sorted_values)) - 1)
    return sorted_values[k]

def report(outdir, apis_csv, header, cpu_json, rss_before, rss_after):
    names = apis_csv.split(",")
    failures = []
    rows, cats, all_lat, total_n, durations, examples = [], {}, [], 0, [], {}
    wrk_rows = []
    for name in names:
        plan = [l.rstrip("\n").split("\t") for l in open(os.path.join(outdir, f"plan-{name}.tsv"))]
        d = os.path.join(outdir, f"wrk-{name}")
        summ = {}
        for l in open(os.path.join(d, "summary")):
            k, v = l.split()
            summ[k] = float(v)
        lat, wrong, n = [], 0, 0
        percat = {}
        for f in sorted(glob.glob(os.path.join(d, "thread-*.log"))):
            for l in open(f):
                i, status, us = l.split()
                cat, method, path, want, _ = plan[int(i) - 1]
                status, us = int(status), int(us)
                n += 1
                lat.append(us)
                c = percat.setdefault(cat, {"n": 0, "wrong": 0, "statuses": {}, "lat": []})
                c["n"] += 1
                c["lat"].append(us)
                c["statuses"][status] = c["statuses"].get(status, 0) + 1
                if status != int(want):
                    wrong += 1
                    c["wrong"] += 1
                    key = (name, cat, method, path, want, status)
                    examples[key] = examples.get(key, 0) + 1
        lat.sort()
        secs = summ["duration_us"] / 1e6
        durations.append(secs)
        sock = int(summ["err_connect"] + summ["err_read"] + summ["err_write"])
        rows.append((name, n, n / secs, lat, wrong, int(summ["err_status"]), sock, int(summ["err_timeout"])))
        wrk_rows.append(f"{name} p50 {summ['wrk_p50']/1000:.2f} p90 {summ['wrk_p90']/1000:.2f} "
                        f"p99 {summ['wrk_p99']/1000:.2f} max {summ['wrk_max']/1000:.2f} "
                        f"mean {summ['wrk_mean']/1000:.2f} ms, here mean {sum(lat) / max(n, 1) / 1000:.2f} ms, "
                        f"Little's law connections/throughput {1000 * summ['threads'] * secs / max(n, 1):.2f} ms")
        cats[name] = percat
        all_lat.extend(lat)
        total_n += n
        if n == 0:
            failures.append(f"{name}: no answers")
        if int(summ["lua_checked"]) != n:
            failures.append(f"{name}: {int(summ['lua_checked'])} answers checked but {n} logged")
        if int(summ["requests"]) != n + int(summ["lua_stray"]):
            print(f"note: {name}: wrk counted {int(summ['requests'])} answers, the script {n}", file=sys.stderr)
        if int(summ["lua_stray"]):
            failures.append(f"{name}: {int(summ['lua_stray'])} answers not matched to a request")
        if int(summ["lua_wrong"]) != wrong:
            failures.append(f"{name}: {int(summ['lua_wrong'])} wrong decisions counted by wrk's threads, {wrong} logged")
        if sock or int(summ["lua_unanswered"]):
            failures.append(f"{name}: {sock} socket errors, {int(summ['lua_unanswered'])} requests lost")
        if wrong:
            failures.append(f"{name}: {wrong} wrong decisions")
    all_lat.sort()
    ms = lambda us: f"{us / 1000:8.2f}"
    print(header)
    print(f"{'api':<14}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'wrong':>7}{'non-2xx/3xx':>13}{'socket errors':>15}{'timeouts':>10}")
    def line(name, n, rps, lat, wrong, status, sock, tmo):
        print(f"{name:<14}{n:>9}{rps:>9.1f} {ms(pct(lat, 50))} {ms(pct(lat, 90))} {ms(pct(lat, 99))} "
              f"{ms(lat[-1] if lat else float('nan'))}{wrong:>7}{status:>13}{sock:>15}{tmo:>10}")
    for r in rows:
        line(*r)
    if len(rows) > 1:
        line("overall", total_n, total_n / max(durations), all_lat, sum(r[4] for r in rows),
             sum(r[5] for r in rows), sum(r[6] for r in rows), sum(r[7] for r in rows))
    print("cross-check, wrk's own latency figures (with its coordinated-omission samples):")
    for r in wrk_rows:
        print("  " + r)
    order = ["valid", "valid-opaque", "expired", "expired-opaque", "forged-sig", "forged-claims",
             "alg-none", "wrong-aud", "no-token"]
    for name in names:
        percat = cats[name]
        n = sum(c["n"] for c in percat.values())
        print(f"  {name:<16}{'requests':>9}{'share':>8}{'wrong':>7}{'p50 ms':>9}   statuses")
        for cat in sorted(percat, key=lambda c: order.index(c) if c in order else 99):
            c = percat[cat]
            c["lat"].sort()
            st = " ".join(f"{k}:{v}" for k, v in sorted(c["statuses"].items()))
            print(f"    {cat:<14}{c['n']:>9}{100 * c['n'] / max(n, 1):>7.1f}%{c['wrong']:>7} {ms(pct(c['lat'], 50))}   {st}")
    cpu = json.loads(cpu_json)
    if cpu:
        wall = cpu.pop("wall")
        busy = cpu.pop("machine busy", 0)
        others = busy - sum(cpu.values())
        parts = ", ".join(f"{k} {v:.1f} s ({100 * v / wall:.0f}% of a core)" for k, v in cpu.items()
                          if v >= 0.05)
        print(f"CPU during the run ({wall:.1f} s): {parts}; "
              f"whole machine busy {busy:.1f} s of {wall * os.cpu_count():.1f} s"
              + (f" (~{others:.0f} s by other processes)" if others >= 0.5 else "")
              + f"; authz-local RSS {rss_before} MB before, {rss_after} MB after")
    for (name, cat, method, path, want, status), k in sorted(examples.items())[:10]:
        print(f"WRONG: {name} {cat} {method} {path}: expected {want}, got {status} ({k}x)")
    if failures:
        print("FAILED: " + "; ".join(failures))
        sys.exit(1)

cmd = sys.argv[1]
if cmd == "plan":
    plan(*sys.argv[2:])
elif cmd == "report":
    report(*sys.argv[2:])
PY
}

# --- the runs ---------------------------------------------------------------------------------
IFS=, read -r -a ttl_list <<<"$ttls"
apis_csv=$(IFS=,; echo "${apis[*]}")
lifetime=$(( seconds + 3600 ))
status=0
run=0
for ttl in "${ttl_list[@]}"; do
    run=$((run + 1))
    dir="$tmp/run-$run"
    mkdir -p "$dir"
    rest=$(free_port) http=$(free_port) tok=$(free_port)
    flags=(--bin-dir target/release --rest-port "$rest" --http-port "$http" --token-port "$tok"
           --pool "$pool" --cache-ttl "$ttl")
    [[ $opaque == true ]] || flags+=(--no-opaque)
    echo "==> authz-local ${flags[*]}" >&2
    target/release/authz-local "${flags[@]}" >"$dir/authz-local.log" 2>&1 &
    local_pid=$!
    for _ in $(seq 1 600); do
        grep -q '^Try (from the repository root)' "$dir/authz-local.log" 2>/dev/null && break
        kill -0 "$local_pid" 2>/dev/null || { cat "$dir/authz-local.log" >&2; fail "authz-local exited"; }
        sleep 0.1
    done
    grep -q '^Try (from the repository root)' "$dir/authz-local.log" || { cat "$dir/authz-local.log" >&2; fail "authz-local did not start"; }
    # Ports and authorizer pids from its banner.
    declare -A port_of=()
    authorizer_pids=()
    while read -r name url; do port_of[$name]=${url##*:}; done < <(
        sed -nE 's#^  ([a-z0-9-]+) +http://127\.0\.0\.1:([0-9]+) .*#\1 \2#p' "$dir/authz-local.log")
    while read -r bin pids; do
        for p in ${pids//,/ }; do authorizer_pids+=("$bin:$p"); done
    done < <(sed -nE 's#^ +([a-z-]+-authorizer) +pids \[([0-9, ]+)\]#\1 \2#p' "$dir/authz-local.log")
    for a in "${apis[@]}"; do
        [ -n "${port_of[$a]:-}" ] || fail "authz-local serves no API $a"
    done
    ports_json=$(for a in "${apis[@]}"; do printf '"%s":%s\n' "$a" "${port_of[$a]}"; done |
        paste -sd, | sed 's/^/{/; s/$/}/')

    py plan infra/routes.json "$tok" "$dir" "$apis_csv" "$opaque" "$lifetime" "$ports_json"

    # wrk per API, at the same time, the connections shared out.
    cpu_before=$(for p in "$local_pid" "${authorizer_pids[@]#*:}"; do cpu_ticks "$p"; done | paste -sd' ')
    machine_before=$(busy_ticks)
    rss_before=$(rss_mb "$local_pid")
    t0=$(date +%s.%N)
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    wrk_pids=()
    left=$connections
    split=()
    for i in "${!apis[@]}"; do
        a=${apis[$i]}
        c=$(( left / (${#apis[@]} - i) ))
        left=$((left - c))
        split+=("$a $c")
        mkdir -p "$dir/wrk-$a"
        # (in a subshell whose `times` gives wrk's CPU time)
        (
            rc=0
            LOAD_PLAN="$dir/plan-$a.tsv" LOAD_OUT="$dir/wrk-$a" LOAD_THREADS=$c \
                wrk -t "$c" -c "$c" -d "${seconds}s" --timeout 10s --latency -s scripts/load.lua \
                "http://127.0.0.1:${port_of[$a]}/" >"$dir/wrk-$a/stdout" 2>"$dir/wrk-$a/stderr" &
            echo $! >"$dir/wrk-$a/pid"
            wait $! || rc=$?
            rm -f "$dir/wrk-$a/pid"
            times >"$dir/wrk-$a/times"
            exit "$rc"
        ) &
        wrk_pids+=($!)
        echo "==> wrk -t $c -c $c -d ${seconds}s $a (cache TTL $ttl s)" >&2
    done
    wrk_failed=false
    for p in "${wrk_pids[@]}"; do wait "$p" || wrk_failed=true; done
    wrk_pids=()
    t1=$(date +%s.%N)
    machine_after=$(busy_ticks)
    rss_after=$(rss_mb "$local_pid")
    cpu_after=$(for p in "$local_pid" "${authorizer_pids[@]#*:}"; do cpu_ticks "$p"; done | paste -sd' ')
    load_after=$(cut -d' ' -f1-3 /proc/loadavg)
    if [[ $wrk_failed == true ]]; then
        for a in "${apis[@]}"; do cat "$dir/wrk-$a/stderr" >&2; done
        fail "wrk failed"
    fi
    # CPU seconds per process kind during the run.
    cpu_json=$(python3 - "$(getconf CLK_TCK)" "$t0" "$t1" "$cpu_before" "$cpu_after" \
        "$((machine_after - machine_before))" "$dir" authz-local "${authorizer_pids[@]%%:*}" <<'PY'
import glob, json, re, sys
tck, t0, t1, before, after, busy = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4].split(), sys.argv[5].split(), int(sys.argv[6])
names = sys.argv[8:]
out = {"wall": t1 - t0}
for name, b, a in zip(names, before, after):
    out[name] = out.get(name, 0) + (int(a) - int(b)) / tck
for f in glob.glob(sys.argv[7] + "/wrk-*/times"):
    # bash `times`: the shell's user and system time, then its children's (wrk).
    child = open(f).read().splitlines()[1]
    for m, s in re.findall(r"(\d+)m([\d.]+)s", child):
        out["wrk"] = out.get("wrk", 0) + int(m) * 60 + float(s)
out["machine busy"] = busy / tck
print(json.dumps(out))
PY
)
    opaque_text=$([[ $opaque == true ]] && echo "JWT and opaque tokens" || echo "JWTs only")
    conn_text="$connections connections"
    (( ${#apis[@]} == 1 )) || conn_text+=" ($(IFS=,; echo "${split[*]}" | sed 's/,/, /g'), at the same time)"
    header="== cache TTL $ttl s, pool $pool, $conn_text, ${seconds} s, $opaque_text
   load average before $load_before, after $load_after ($(nproc) CPUs, shared: figures are noisy)"
    py report "$dir" "$apis_csv" "$header" "$cpu_json" "$rss_before" "$rss_after" || status=1
    [ ! -f "$dir/precheck-failed" ] || { echo "FAILED: wrong decisions in the pre-check" ; status=1; }
    if [[ $show_wrk == true ]]; then
        for a in "${apis[@]}"; do echo "--- wrk, $a"; cat "$dir/wrk-$a/stdout"; done
    fi
    echo
    stop_local
done
exit "$status"
