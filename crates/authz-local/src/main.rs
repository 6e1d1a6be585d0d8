//! `authz-local`: the local mode (what `scripts/dev.sh` runs).
//!
//! ```text
//! authz-local [--routes FILE] [--bin-dir DIR] [--rest-port N] [--http-port N]
//!             [--token-port N] [--pool N]
//! authz-local demo <authorizer-binary> <events-dir> [NAME=VALUE ...]
//! ```
//!
//! Defaults: `--routes infra/routes.json`, `--bin-dir` the directory of this executable, ports
//! 3000 (first REST API), 3001 (first HTTP API), 3002 (token endpoint), 2 processes per
//! function. The ports can also be set with `AUTHZ_LOCAL_REST_PORT`, `AUTHZ_LOCAL_HTTP_PORT`,
//! `AUTHZ_LOCAL_TOKEN_PORT`. Stops on Ctrl-C / SIGTERM (the authorizer processes are killed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod demo;

use std::path::PathBuf;

use authz_local::table::{ApiKind, AuthorizerKind, sample_path};
use authz_local::{LocalMode, Options};

const USAGE: &str = "usage: authz-local [--routes FILE] [--bin-dir DIR] [--rest-port N] \
[--http-port N] [--token-port N] [--pool N]\n       authz-local demo <authorizer-binary> <events-dir> [NAME=VALUE ...]";

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
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            return;
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
            _ => fail(&format!("unknown argument `{flag}`\n{USAGE}")),
        }
    }
    let mode = LocalMode::start(&opts).await.unwrap_or_else(|e| fail(&e));
    print_banner(&mode);
    wait_for_shutdown().await;
    println!("\nstopping: killing the authorizer processes");
    drop(mode);
}

fn print_banner(mode: &LocalMode) {
    let token_url = format!("http://{}", mode.token_addr);
    println!("authz-local: the local mode is up (loopback only; Ctrl-C stops everything)\n");
    println!(
        "  dev OIDC issuer   {} (discovery, JWKS)",
        mode.issuer_url()
    );
    println!("  token endpoint    {token_url}/token  (scripts/token.sh)");
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
    println!(
        "  scripts/token.sh [--api A] [--tier T | --scope S ...]   prints a token (default: PetStore, scope read)"
    );
}

async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
