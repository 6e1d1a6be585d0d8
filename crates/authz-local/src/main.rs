//! `authz-local`: the local mode (what `scripts/dev.sh` runs).
//!
//! ```text
//! authz-local [--routes FILE] [--bin-dir DIR] [--rest-port N] [--http-port N]
//!             [--token-port N] [--pool N] [--cache-ttl N] [--no-opaque] [--quiet]
//!             [--ready-json] [--issuer URL [--introspection-client-id ID]]
//!             [--sender-constrained API=MODE ...]
//! authz-local demo <authorizer> <events-dir> [--routes FILE] [--tier T] [NAME=VALUE ...]
//! authz-local dpop-proof --key FILE --method METHOD --url URL [--token TOKEN]
//! ```
//!
//! Defaults: `--routes infra/routes.json`, `--bin-dir` the directory of this executable, ports
//! 3000 (first REST API), 3001 (first HTTP API), 3002 (token endpoint), 2 processes per
//! function. The ports can also be set with `AUTHZ_LOCAL_REST_PORT`, `AUTHZ_LOCAL_HTTP_PORT`,
//! `AUTHZ_LOCAL_TOKEN_PORT`. `--cache-ttl` overrides every API's authorizer cache TTL (0: off).
//! `--no-opaque` skips `moto_server` and opaque tokens. `--issuer` trusts an external OIDC
//! issuer instead of starting the dev issuer; with `--introspection-client-id` its opaque tokens
//! are introspected with that client, whose secret is read from
//! `AUTHZ_LOCAL_INTROSPECTION_CLIENT_SECRET` (never from the command line).
//! `--sender-constrained API=MODE` (repeatable) overrides that API's `senderConstrained`
//! (`off`, `accept`, `require`). `dpop-proof` prints a DPoP proof ([`authz_local::proof`]).
//! After the banner it prints each authorizer's log lines, compact and prefixed by API and
//! function (`--quiet`: none). With `--issuer` it checks at start that the issuer's discovery
//! and JWKS are usable, and warns when not (every call would be refused).
//! It watches the route table file and the Cedar files it names (once a second): an edited
//! table or policy file that loads replaces the
//! running local mode (everything restarts, the dev issuer's keys too); one that does not is
//! refused with its problems and the running one kept (not with `--ready-json`).
//! Stops on Ctrl-C / SIGTERM (the authorizer processes and moto are killed).
//!
//! `--ready-json` is for programs that drive the local mode (`authz-bench load`): instead of the
//! banner, it prints one line of JSON once every server is up ([`authz_local::Readiness`]: each
//! API's name, kind and URL, the issuer, the token endpoints, the authorizer pids, moto), and it
//! also stops when its standard input reaches end of file, so it never outlives the program that
//! started it (pass `</dev/null` only if you want it to stop at once).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod demo;

use std::io::Write as _;
use std::path::PathBuf;

use authz_local::table::{ApiKind, AuthorizerKind, sample_path};
use authz_local::{ExternalIssuer, LocalMode, Options};

const USAGE: &str = "usage: authz-local [--routes FILE] [--bin-dir DIR] [--rest-port N] \
[--http-port N] [--token-port N] [--pool N] [--cache-ttl N] [--no-opaque] [--quiet]\n                   \
[--ready-json] [--issuer URL [--introspection-client-id ID]]\n                   \
[--sender-constrained API=MODE ...]\n       \
authz-local demo <authorizer> <events-dir> [--routes FILE] [--tier T] [NAME=VALUE ...]\n       \
authz-local dpop-proof --key FILE --method METHOD --url URL [--token TOKEN]";

/// What `--help` prints: the usage, then each option.
const HELP: &str = "Options:
  --routes FILE        the route table (default infra/routes.json)
  --bin-dir DIR        where token-authorizer, request-authorizer, http-authorizer are
                       (default: this executable's directory)
  --rest-port N        port of the first REST API (default 3000; AUTHZ_LOCAL_REST_PORT)
  --http-port N        port of the first HTTP API (default 3001; AUTHZ_LOCAL_HTTP_PORT)
  --token-port N       port of the demo-token endpoint (default 3002; AUTHZ_LOCAL_TOKEN_PORT)
  --pool N             processes per Lambda function, 1 to 16 (default 2)
  --cache-ttl N        overrides every API's authorizer cache TTL, 0 to 3600 s (0: off)
  --no-opaque          no moto_server and no opaque tokens (JWTs only)
  --quiet              print no authorizer log lines after the banner
  --ready-json         print one line of JSON once up instead of the banner; stop when
                       standard input closes (for programs driving the local mode)
  --issuer URL         trust this external OIDC issuer instead of starting the dev issuer
  --introspection-client-id ID
                       with --issuer: introspect its opaque tokens with this client (secret
                       in AUTHZ_LOCAL_INTROSPECTION_CLIENT_SECRET)
  --sender-constrained API=MODE  that API's senderConstrained instead of the table's: off,
                       accept or require (DPoP and certificate-bound tokens; the API needs
                       cacheTtlSeconds 0 and no token or jwt route, as synth does)
  -h, --help           this help
demo <authorizer> <events-dir>: run one authorizer on a directory of sample events, configured
  from the route table (--routes FILE, --tier T, NAME=VALUE settings).
dpop-proof --key FILE --method METHOD --url URL [--token TOKEN]: print a DPoP proof (the DPoP
  header value) for that request, signed with the EC P-256 key in FILE (created if missing),
  bound to TOKEN (ath); without --token, a token request's proof.";

/// The flags that take a value.
const VALUE_FLAGS: &[&str] = &[
    "--routes",
    "--bin-dir",
    "--rest-port",
    "--http-port",
    "--token-port",
    "--pool",
    "--cache-ttl",
    "--issuer",
    "--introspection-client-id",
    "--sender-constrained",
];

/// Where `--introspection-client-id`'s secret comes from.
const CLIENT_SECRET_VAR: &str = "AUTHZ_LOCAL_INTROSPECTION_CLIENT_SECRET";

fn fail(msg: &str) -> ! {
    eprintln!("authz-local: {msg}");
    std::process::exit(2);
}

fn port(value: &str, what: &str) -> u16 {
    value
        .parse()
        .unwrap_or_else(|_| fail(&format!("{what}: `{value}` is not a port number")))
}

fn env_port(name: &str, default: u16) -> u16 {
    std::env::var(name).map_or(default, |v| port(&v, name))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let bin_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("target/debug"));
    if args.peek().map(String::as_str) == Some("demo") {
        args.next();
        demo::run(args, &bin_dir).await;
        return;
    }
    if args.peek().map(String::as_str) == Some("dpop-proof") {
        args.next();
        let proof = authz_local::proof::parse_args(args)
            .and_then(|a| authz_local::proof::sign(&a))
            .unwrap_or_else(|e| fail(&e));
        println!("{proof}");
        return;
    }
    let mut opts = Options::new(PathBuf::from("infra/routes.json"), bin_dir);
    opts.rest_port = env_port("AUTHZ_LOCAL_REST_PORT", 3000);
    opts.http_port = env_port("AUTHZ_LOCAL_HTTP_PORT", 3001);
    opts.token_port = env_port("AUTHZ_LOCAL_TOKEN_PORT", 3002);
    let mut introspection_client_id = None;
    let mut ready_json = false;
    let mut quiet = false;
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}\n\n{HELP}");
                return;
            }
            "--no-opaque" => {
                opts.opaque = false;
                continue;
            }
            "--ready-json" => {
                ready_json = true;
                continue;
            }
            "--quiet" => {
                quiet = true;
                continue;
            }
            f if !VALUE_FLAGS.contains(&f) => fail(&format!("unknown argument `{flag}`\n{USAGE}")),
            _ => {}
        }
        let value = args
            .next()
            .unwrap_or_else(|| fail(&format!("{flag} needs a value\n{USAGE}")));
        match flag.as_str() {
            "--routes" => opts.routes_file = PathBuf::from(value),
            "--bin-dir" => opts.bin_dir = PathBuf::from(value),
            "--rest-port" => opts.rest_port = port(&value, &flag),
            "--http-port" => opts.http_port = port(&value, &flag),
            "--token-port" => opts.token_port = port(&value, &flag),
            "--pool" => {
                opts.pool_size = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=16).contains(n))
                    .unwrap_or_else(|| fail("--pool: 1 to 16"));
            }
            "--cache-ttl" => {
                opts.cache_ttl = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|n| *n <= 3600)
                        .unwrap_or_else(|| fail("--cache-ttl: 0 to 3600 seconds")),
                );
            }
            "--issuer" => {
                opts.issuer = Some(ExternalIssuer {
                    url: value,
                    introspection_client: None,
                });
            }
            "--introspection-client-id" => introspection_client_id = Some(value),
            "--sender-constrained" => {
                let parsed = value.split_once('=').and_then(|(api, mode)| {
                    Some((
                        api.to_owned(),
                        authz_local::SenderConstrained::from_name(mode)?,
                    ))
                });
                opts.sender_constrained.push(parsed.unwrap_or_else(|| {
                    fail(&format!(
                        "--sender-constrained `{value}`: API=MODE, MODE off, accept or require"
                    ))
                }));
            }
            _ => fail(&format!("unknown argument `{flag}`\n{USAGE}")),
        }
    }
    if let Some(id) = introspection_client_id {
        let Some(external) = opts.issuer.as_mut() else {
            fail("--introspection-client-id needs --issuer");
        };
        let secret = std::env::var(CLIENT_SECRET_VAR)
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                fail(&format!(
                    "--introspection-client-id needs {CLIENT_SECRET_VAR}"
                ))
            });
        external.introspection_client = Some((id, secret));
    }
    // Before the start: a parent that is gone during it stops us right after.
    let stdin_closed = ready_json.then(stdin_closed);
    // The authorizers' lines wait in this channel until the banner is out.
    // (A line the local mode writes itself, the native JWT route's, comes with its label.)
    let log_lines = (!ready_json && !quiet).then(|| {
        let (tx, rx) = std::sync::mpsc::channel::<(Result<u32, String>, String)>();
        let own = std::sync::Mutex::new(tx.clone());
        let tx = std::sync::Mutex::new(tx);
        authz_testkit::runtime::set_log_sink(std::sync::Arc::new(move |pid, line| {
            if let Ok(tx) = tx.lock() {
                let _ = tx.send((Ok(pid), line.to_owned()));
            }
        }));
        authz_local::logs::set_sink(std::sync::Arc::new(move |label, line| {
            if let Ok(tx) = own.lock() {
                let _ = tx.send((Err(label.to_owned()), line.to_owned()));
            }
        }));
        rx
    });
    let mut stamp = table_stamp(&opts.routes_file);
    let mut mode = LocalMode::start(&opts).await.unwrap_or_else(|e| fail(&e));
    print_warnings(&mode);
    // An external issuer that cannot serve keys makes every call fail: say so now.
    let issuer_problem = match &opts.issuer {
        Some(external) => authz_local::probe::issuer(&external.url).await.err(),
        None => None,
    };
    if let Some(problem) = issuer_problem.as_ref().filter(|_| ready_json) {
        eprintln!(
            "authz-local: warning: issuer {}: {problem}; every call with a token will be refused \
             (401/403) until it serves its keys",
            mode.issuer_url
        );
    }
    // The authorizer processes' labels, renewed when the table is reloaded.
    let labels = std::sync::Arc::new(std::sync::Mutex::new(function_labels(&mode)));
    if ready_json {
        let line = serde_json::to_string(&mode.readiness())
            .unwrap_or_else(|e| fail(&format!("readiness JSON: {e}")));
        let mut out = std::io::stdout().lock();
        // A parent that stopped reading is gone: stdin's end of file stops us then.
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    } else {
        print_banner(&mode);
        if let Some(problem) = &issuer_problem {
            println!(
                "\n  WARNING: issuer {}: {problem}; every call with a token will be refused \
                 (401/403) until it serves its keys",
                mode.issuer_url
            );
        }
        if let Some(rx) = log_lines {
            println!(
                "\nAuthorizer log lines (API/function, decision or level, reason, route; --quiet hides them):"
            );
            let labels = labels.clone();
            std::thread::spawn(move || {
                let mut out = std::io::stdout();
                for (source, line) in rx {
                    let label = match source {
                        Ok(pid) => labels
                            .lock()
                            .ok()
                            .and_then(|l| l.iter().find(|(p, _)| *p == pid).map(|(_, l)| l.clone()))
                            .unwrap_or_else(|| format!("pid {pid}")),
                        Err(label) => label,
                    };
                    if let Some(text) = authz_local::logs::compact(&label, &line) {
                        let _ = writeln!(out, "{text}");
                    }
                }
            });
        }
    }
    let shutdown = wait_for_shutdown(stdin_closed);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(std::time::Duration::from_secs(1)), if !ready_json => {}
        }
        // The banner mode reloads an edited table: a valid one replaces everything (the issuer
        // and its keys too: get new tokens); an invalid one is refused and the old one kept.
        let now = table_stamp(&opts.routes_file);
        if now == stamp {
            continue;
        }
        stamp = now;
        if let Err(e) = authz_local::table::load(&opts.routes_file) {
            eprintln!("authz-local: {e}\nauthz-local: still serving the previous table");
            continue;
        }
        println!(
            "\nauthz-local: {} changed: restarting with it (new issuer keys: get new tokens)\n",
            opts.routes_file.display()
        );
        drop(mode);
        mode = restart(&opts).await;
        print_warnings(&mode);
        if let Ok(mut l) = labels.lock() {
            *l = function_labels(&mode);
        }
        print_banner(&mode);
    }
    if !ready_json {
        println!("\nstopping: killing the authorizer processes");
    }
    drop(mode);
}

/// The modification time and length of the route table file and of the Cedar files it names
/// (what a reload watches: an edited policy reloads as an edited table does).
fn table_stamp(file: &std::path::Path) -> Vec<Option<(std::time::SystemTime, u64)>> {
    let mut files = vec![file.to_path_buf()];
    if let Ok(apis) = authz_local::table::load(file) {
        files.extend(
            apis.into_iter()
                .filter_map(|a| a.cedar)
                .flat_map(|c| c.files.into_iter().map(|(_, f)| f)),
        );
    }
    files
        .iter()
        .map(|f| {
            let meta = std::fs::metadata(f).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        })
        .collect()
}

/// What the table may mean by mistake (synth warns with the same lines).
fn print_warnings(mode: &LocalMode) {
    let apis: Vec<authz_local::ApiSpec> = mode.gateways.iter().map(|g| g.api.clone()).collect();
    for w in authz_local::table::warnings(&apis) {
        eprintln!("authz-local: warning: {w}");
    }
}

/// Starts the local mode again on the same ports, once the stopped one has let them go.
async fn restart(opts: &Options) -> LocalMode {
    let mut last = String::new();
    for _ in 0..50 {
        match LocalMode::start(opts).await {
            Ok(mode) => return mode,
            Err(e) if e.contains("cannot listen") => last = e,
            Err(e) => fail(&e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    fail(&last)
}

/// Whether the API serves the demo page (an unprotected `GET /`).
fn has_demo_page(api: &authz_local::ApiSpec) -> bool {
    api.routes
        .iter()
        .any(|r| r.route == "GET /" && r.authorizer == AuthorizerKind::None)
}

/// `(pid, "api/type")` of every authorizer process.
fn function_labels(mode: &LocalMode) -> Vec<(u32, String)> {
    let mut labels = Vec::new();
    for gw in &mode.gateways {
        for kind in gw.api.lambda_authorizers() {
            if let Some(pool) = gw.pool(kind) {
                for pid in pool.pids() {
                    labels.push((pid, format!("{}/{}", gw.api.name, kind.name())));
                }
            }
        }
    }
    labels
}

/// Resolves when standard input reaches end of file (or fails).
fn stdin_closed() -> tokio::sync::oneshot::Receiver<()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = tx.send(());
    });
    rx
}

fn print_banner(mode: &LocalMode) {
    let token_url = format!("http://{}", mode.token_addr);
    println!("authz-local: the local mode is up (loopback only; Ctrl-C stops everything)\n");
    match &mode.tokens {
        Some(_) => println!(
            "  dev OIDC issuer   {} (discovery, JWKS, /token, /introspect)",
            mode.issuer_url
        ),
        None => println!("  external issuer   {}", mode.issuer_url),
    }
    if mode.tokens.is_some() {
        println!("  demo tokens       {token_url}/token  (scripts/token.sh)");
    }
    if let Some(shapes) = &mode.shapes {
        let jwt = mode.gateways.iter().any(|g| {
            g.api
                .routes_guarded_by(AuthorizerKind::Jwt)
                .next()
                .is_some()
        });
        println!(
            "  IdP-shaped issuers (scripts/token.sh --shape IDP; every Lambda authorizer also \
             trusts each, with that IdP's README recipe{}):",
            if jwt {
                "; the native JWT routes do not"
            } else {
                ""
            }
        );
        let apis: Vec<&authz_local::ApiSpec> = mode.gateways.iter().map(|g| &g.api).collect();
        for line in shapes.describe(&apis) {
            println!("      {line}");
        }
    }
    match &mode.moto {
        Some(moto) if mode.introspection => println!(
            "  Secrets Manager   {} (moto; secret {})",
            moto.endpoint(),
            authz_local::INTROSPECTION_SECRET_NAME
        ),
        _ => println!("  opaque tokens     off"),
    }
    if let (Some(moto), Some(table)) = (&mode.moto, &mode.replay_table) {
        println!(
            "  DynamoDB          {} (moto; DPoP replay table {table})",
            moto.endpoint()
        );
    }
    for gw in &mode.gateways {
        let kind = match gw.api.kind {
            ApiKind::Rest => "REST API",
            ApiKind::Http => "HTTP API",
        };
        let page = if has_demo_page(&gw.api) {
            format!("; demo page {}/", gw.url())
        } else {
            String::new()
        };
        let constrained = match gw.api.sender_constrained {
            authz_local::SenderConstrained::Off => String::new(),
            mode => format!(", sender-constrained ({})", mode.name()),
        };
        println!(
            "  {:<17} {}  {kind}, cache TTL {} s{constrained}{page}",
            gw.api.name,
            gw.url(),
            gw.api.cache_ttl_seconds,
        );
        for kind in gw.api.lambda_authorizers() {
            if let Some(pool) = gw.pool(kind) {
                println!(
                    "      {:<19} pids {:?}",
                    kind.binary().unwrap_or_default(),
                    pool.pids()
                );
            }
        }
    }
    println!("\nTry (from the repository root):\n");
    if let Some(gw) = mode.gateways.iter().rev().find(|g| has_demo_page(&g.api)) {
        println!(
            "  # the demo page (get a tier's token, call every route): open {}/ in a browser\n",
            gw.url()
        );
    }
    let port_env = if mode.token_addr.port() == 3002 {
        String::new()
    } else {
        format!("AUTHZ_LOCAL_TOKEN_PORT={} ", mode.token_addr.port())
    };
    for gw in &mode.gateways {
        let api = &gw.api;
        println!(
            "  # {} ({})",
            api.name,
            api.description.as_deref().unwrap_or("")
        );
        for r in &api.routes {
            let path = sample_path(r);
            let method = r.method();
            let x = if method == "GET" || method == "ANY" {
                String::new()
            } else {
                format!("-X {method} ")
            };
            let data = if method == "POST" {
                "-d '{\"type\":\"hamster\"}' "
            } else {
                ""
            };
            if r.authorizer == AuthorizerKind::None {
                println!("  curl -i {x}{data}{}{path}", gw.url());
                continue;
            }
            let tier = api
                .tiers
                .iter()
                .find(|(_, t)| authz_local::table::tier_satisfies(t, r))
                .map(|(n, _)| n.clone());
            let scopes = if r.scopes.is_empty() {
                "any valid token".to_owned()
            } else {
                r.scopes.join(" or ")
            };
            let token = match &tier {
                Some(t) => format!(
                    "$({port_env}scripts/token.sh --api {} --tier {t})",
                    api.name
                ),
                None => format!("$({port_env}scripts/token.sh --api {})", api.name),
            };
            println!(
                "  curl -i {x}{data}-H \"Authorization: Bearer {token}\" {}{path}   # {}: {scopes}",
                gw.url(),
                r.authorizer.name()
            );
        }
        println!();
    }
    let Some(minter) = &mode.tokens else {
        println!(
            "  (replace the $(scripts/token.sh …) parts with tokens from {})",
            mode.issuer_url
        );
        return;
    };
    println!(
        "  scripts/token.sh [--api A] [--tier T | --scope S ...] [--opaque]   prints a token (default: PetStore, scope read)"
    );
    let clients = minter.clients();
    if let Some(client) = clients
        .iter()
        .find(|c| c.tier == "gold")
        .or(clients.first())
    {
        println!(
            "\n  # the client-credentials grant at the dev issuer (a demo client per tier: {token_url}/ lists them)"
        );
        println!(
            "  curl -s -u {}:{} -d grant_type=client_credentials {}/token",
            client.client_id, client.client_secret, mode.issuer_url
        );
    }
    // The opaque and IdP-shaped examples: a route of the table and a tier it lets in, as the
    // table says (no route or API named here).
    let example_in = |gw: &'_ std::sync::Arc<authz_local::Gateway>| {
        gw.api.routes.iter().find_map(|r| {
            r.authorizer.binary()?;
            let (tier, _) = gw
                .api
                .tiers
                .iter()
                .find(|(_, t)| authz_local::table::tier_satisfies(t, r))?;
            Some((gw.clone(), r.clone(), tier.clone()))
        })
    };
    let has_jwt = |gw: &&std::sync::Arc<authz_local::Gateway>| {
        gw.api
            .routes_guarded_by(AuthorizerKind::Jwt)
            .next()
            .is_some()
    };
    let lambda_example = mode.gateways.iter().find_map(example_in);
    // For the opaque token, an API with native JWT routes first (they refuse it).
    let opaque_example = mode
        .gateways
        .iter()
        .filter(has_jwt)
        .find_map(example_in)
        .or_else(|| lambda_example.clone());
    if let Some((gw, r, tier)) = opaque_example.as_ref().filter(|_| mode.introspection) {
        let jwt_routes: Vec<&authz_local::table::RouteSpec> =
            gw.api.routes_guarded_by(AuthorizerKind::Jwt).collect();
        let jwt_note = if jwt_routes.is_empty() {
            String::new()
        } else {
            let keys: Vec<&str> = jwt_routes.iter().map(|r| r.route.as_str()).collect();
            format!(
                "; the native JWT authorizer ({}) refuses it (401)",
                keys.join(", ")
            )
        };
        println!(
            "\n  # an opaque token: the Lambda authorizers introspect it ({} {}){jwt_note}",
            r.authorizer.name(),
            r.route
        );
        println!(
            "  t=$({port_env}scripts/token.sh --api {} --tier {tier} --opaque)\n  \
             curl -i {}-H \"Authorization: Bearer $t\" {}{}",
            gw.api.name,
            method_flag(r.method()),
            gw.url(),
            sample_path(r)
        );
        for j in &jwt_routes {
            println!(
                "  curl -i {}-H \"Authorization: Bearer $t\" {}{}",
                method_flag(j.method()),
                gw.url(),
                sample_path(j)
            );
        }
    }
    if let Some((gw, r, tier)) = lambda_example.as_ref().filter(|_| mode.shapes.is_some()) {
        println!(
            "\n  # an IdP-shaped token (Cognito's layout, from its issuer above): the Lambda authorizers apply the Cognito recipe"
        );
        println!(
            "  curl -i {}-H \"Authorization: Bearer $({port_env}scripts/token.sh --api {} --shape cognito --tier {tier})\" {}{}",
            method_flag(r.method()),
            gw.api.name,
            gw.url(),
            sample_path(r)
        );
    }
    // A sender-constrained API: a DPoP-bound token and a proof of the URL the authorizer
    // rebuilds (https, the stage), README "Local mode".
    let constrained = mode
        .gateways
        .iter()
        .filter(|g| g.api.sender_constrained != authz_local::SenderConstrained::Off)
        .find_map(example_in);
    if let Some((gw, r, tier)) = constrained.filter(|_| mode.tokens.is_some()) {
        let path = sample_path(&r);
        println!(
            "\n  # DPoP ({} is sender-constrained): a DPoP-bound token, a proof per request for the URL the authorizer sees",
            gw.api.name
        );
        println!(
            "  t=$({port_env}scripts/token.sh --api {} --tier {tier} --dpop)\n  \
             curl -i {}-H \"Authorization: DPoP $t\" -H \"DPoP: $(scripts/dpop-proof.sh {} https://{}/{}{path} \"$t\")\" {}{path}",
            gw.api.name,
            method_flag(r.method()),
            if r.method() == "ANY" {
                "GET"
            } else {
                r.method()
            },
            gw.addr,
            authz_local::gateway::STAGE,
            gw.url(),
        );
    }
}

/// `-X METHOD ` for curl, nothing for GET (and ANY, called with GET).
fn method_flag(method: &str) -> String {
    if method == "GET" || method == "ANY" {
        String::new()
    } else {
        format!("-X {method} ")
    }
}

/// Ctrl-C, SIGTERM, or (with `--ready-json`) the end of standard input.
async fn wait_for_shutdown(stdin_closed: Option<tokio::sync::oneshot::Receiver<()>>) {
    let stdin_closed = async {
        match stdin_closed {
            Some(rx) => {
                let _ = rx.await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            () = stdin_closed => {}
        }
    }
    #[cfg(not(unix))]
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = stdin_closed => {}
        }
    }
}
