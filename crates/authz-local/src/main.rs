//! `authz-local`: the local mode (what `scripts/dev.sh` runs).
//!
//! ```text
//! authz-local [--routes FILE] [--bin-dir DIR] [--rest-port N] [--http-port N]
//!             [--token-port N] [--pool N] [--cache-ttl N] [--no-opaque] [--ready-json]
//!             [--issuer URL [--introspection-client-id ID]]
//! authz-local demo <authorizer-binary> <events-dir> [NAME=VALUE ...]
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
[--http-port N] [--token-port N] [--pool N] [--cache-ttl N] [--no-opaque] [--ready-json]\n                   \
[--issuer URL [--introspection-client-id ID]]\n       \
authz-local demo <authorizer-binary> <events-dir> [NAME=VALUE ...]";

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
    if args.peek().map(String::as_str) == Some("demo") {
        args.next();
        demo::run(args).await;
        return;
    }
    let bin_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("target/release"));
    let mut opts = Options::new(PathBuf::from("infra/routes.json"), bin_dir);
    opts.rest_port = env_port("AUTHZ_LOCAL_REST_PORT", 3000);
    opts.http_port = env_port("AUTHZ_LOCAL_HTTP_PORT", 3001);
    opts.token_port = env_port("AUTHZ_LOCAL_TOKEN_PORT", 3002);
    let mut introspection_client_id = None;
    let mut ready_json = false;
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
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
    let mode = LocalMode::start(&opts).await.unwrap_or_else(|e| fail(&e));
    if ready_json {
        let line = serde_json::to_string(&mode.readiness())
            .unwrap_or_else(|e| fail(&format!("readiness JSON: {e}")));
        let mut out = std::io::stdout().lock();
        // A parent that stopped reading is gone: stdin's end of file stops us then.
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    } else {
        print_banner(&mode);
    }
    wait_for_shutdown(stdin_closed).await;
    if !ready_json {
        println!("\nstopping: killing the authorizer processes");
    }
    drop(mode);
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
    match &mode.moto {
        Some(moto) => println!(
            "  Secrets Manager   {} (moto; secret {})",
            moto.endpoint(),
            authz_local::INTROSPECTION_SECRET_NAME
        ),
        None => println!("  opaque tokens     off"),
    }
    for gw in &mode.gateways {
        let kind = match gw.api.kind {
            ApiKind::Rest => "REST API",
            ApiKind::Http => "HTTP API",
        };
        println!(
            "  {:<17} {}  {kind}, cache TTL {} s",
            gw.api.name,
            gw.url(),
            gw.api.cache_ttl_seconds
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
    if let Some(gw) = mode
        .gateways
        .iter()
        .find(|g| g.api.name == "solar-system")
        .filter(|_| mode.moto.is_some())
    {
        println!(
            "\n  # an opaque token: the Lambda authorizers introspect it; the native JWT route refuses it (401)"
        );
        println!(
            "  t=$({port_env}scripts/token.sh --api solar-system --tier gold --opaque)\n  \
             curl -i -H \"Authorization: Bearer $t\" {}/planets\n  \
             curl -i -H \"Authorization: Bearer $t\" {}/moons",
            gw.url(),
            gw.url()
        );
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
