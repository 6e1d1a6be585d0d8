//! `authz-local demo`: runs a real authorizer binary, as Lambda would, on the sample events.
//!
//! `authz-local demo <authorizer-binary> <events-dir> [NAME=VALUE ...]` starts a loopback OIDC
//! issuer, mints a token, starts the binary (with the extra environment) against a Lambda
//! Runtime API emulator, substitutes the token into every `*.json` event of the directory,
//! invokes it and prints what API Gateway would answer.

use std::path::PathBuf;

use authz_core::evaluate;
use authz_testkit::{Issuer, LambdaProcess, Outcome, TestKey, fixtures::rest_statements, now};
use serde_json::{Value, json};

/// Runs the demo on the remaining command-line arguments.
pub async fn run(mut args: impl Iterator<Item = String>) {
    let (Some(binary), Some(events)) = (args.next(), args.next()) else {
        eprintln!("usage: authz-local demo <authorizer-binary> <events-dir> [NAME=VALUE ...]");
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
    let mut env = vec![
        ("AUTHZ_ISSUER".to_owned(), issuer.url()),
        ("AUTHZ_AUDIENCE".to_owned(), "petstore".into()),
    ];
    for arg in args {
        let (k, v) = arg
            .split_once('=')
            .unwrap_or_else(|| panic!("`{arg}` is not NAME=VALUE"));
        println!("env        {k}={v}");
        env.push((k.to_owned(), v.to_owned()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
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
        let outcome = function.invoke(&event).await;
        println!(
            "{:<30} -> {}",
            file.file_name().unwrap().to_string_lossy(),
            describe(&event, &outcome)
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

/// What API Gateway makes of an authorizer's answer: status and the gist.
fn describe(event: &Value, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Response(r) if r.get("isAuthorized").is_some() => {
            let ok = r["isAuthorized"] == true;
            format!(
                "{}  isAuthorized: {ok}, context {}",
                if ok { 200 } else { 403 },
                r["context"]
            )
        }
        Outcome::Response(r) => {
            let arn = event["methodArn"].as_str().unwrap_or_default();
            let allowed = rest_statements(outcome).is_some_and(|s| evaluate(&s, arn));
            let statements: Vec<String> = r["policyDocument"]["Statement"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|st| {
                    format!(
                        "{} {}",
                        st["Effect"].as_str().unwrap_or("?"),
                        st["Resource"]
                    )
                })
                .collect();
            format!(
                "{}  principal {}, {}",
                if allowed { 200 } else { 403 },
                r["principalId"],
                statements.join("; ")
            )
        }
        Outcome::Error { error_message, .. } if error_message == "Unauthorized" => {
            "401  error Unauthorized".into()
        }
        Outcome::Error {
            error_type,
            error_message,
        } => format!("500  error {error_type}: {error_message}"),
    }
}
