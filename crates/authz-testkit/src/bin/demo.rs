//! `authz-demo`: runs a real authorizer binary, as Lambda would, on the sample events.
//!
//! `authz-demo <authorizer-binary> <events-dir>` starts a loopback OIDC issuer, mints a token,
//! starts the binary against a Lambda Runtime API emulator, substitutes the token into every
//! `*.json` event of the directory, invokes it and prints what API Gateway would answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use authz_testkit::{Issuer, LambdaProcess, Outcome, TestKey, now};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(binary), Some(events)) = (args.next(), args.next()) else {
        eprintln!("usage: authz-demo <authorizer-binary> <events-dir>");
        std::process::exit(2);
    };
    let issuer = Issuer::start().await;
    let key = TestKey::rsa("demo-key");
    issuer.set_keys(vec![key.jwk()]);
    let token = key.sign(&json!({
        "iss": issuer.url(), "aud": "petstore", "sub": "alice", "client_id": "demo-client",
        "scope": "read write", "iat": now(), "exp": now() + 3600,
    }));
    println!("issuer     {} (discovery + JWKS on loopback)", issuer.url());
    println!("token      sub=alice aud=petstore scope=\"read write\" kid=demo-key alg=RS256");
    let env = [
        ("AUTHZ_ISSUER", issuer.url()),
        ("AUTHZ_AUDIENCE", "petstore".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let function = LambdaProcess::spawn(&PathBuf::from(&binary), &env).await;
    println!(
        "function   {binary} (pid {}) on the Lambda Runtime API at {}\n",
        function.pid(),
        function.api().endpoint()
    );

    let mut files: Vec<PathBuf> = std::fs::read_dir(&events)
        .unwrap_or_else(|e| panic!("cannot read {events}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("REPLACE_WITH_A_JWT", &token);
        let event: Value = serde_json::from_str(&text).unwrap();
        let answer = match function.invoke(&event).await {
            Outcome::Response(r) => {
                let st = &r["policyDocument"]["Statement"][0];
                let status = if st["Effect"] == "Allow" {
                    "200"
                } else {
                    "403"
                };
                format!(
                    "{status}  {} {} for principal {}",
                    st["Effect"], st["Resource"], r["principalId"]
                )
            }
            Outcome::Error {
                error_type,
                error_message,
            } if error_message == "Unauthorized" => {
                format!("401  error {error_type}")
            }
            Outcome::Error {
                error_type,
                error_message,
            } => format!("500  error {error_type}: {error_message}"),
        };
        println!(
            "{:<28} -> {answer}",
            file.file_name().unwrap().to_string_lossy()
        );
    }
    println!("\ndecision log lines written by the function:");
    for line in function
        .logs()
        .iter()
        .filter(|l| l.contains("\"decision\""))
    {
        println!("  {line}");
    }
}
