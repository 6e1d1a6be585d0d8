//! `authz-testkit-moto`: [`MotoServer`] for test programs that are not Rust (the infra tests,
//! TypeScript): starts `moto_server` on a free loopback port exactly as the Rust tests do, prints
//! one JSON line `{"endpoint": "http://127.0.0.1:PORT"}` on stdout once it answers, and stops it
//! when its standard input closes (the caller exits or closes the pipe). Killed outright, it still
//! takes moto with it: moto_server's own watchdog sees this process's pipe close. Exit status 1, with the
//! reason on stderr, when moto_server is missing or does not start.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use authz_testkit::external::MotoServer;
use tokio::io::AsyncReadExt as _;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let moto = match MotoServer::try_start().await {
        Ok(moto) => moto,
        Err(e) => {
            eprintln!("authz-testkit-moto: {e}");
            std::process::exit(1);
        }
    };
    println!("{}", serde_json::json!({ "endpoint": moto.endpoint() }));
    // Until the caller closes our stdin (or dies): then moto is killed with `moto` (kill_on_drop).
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    drop(moto);
}
