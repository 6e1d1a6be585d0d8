//! `authz-testkit-echo`: a tiny lambda_runtime function used to test `LambdaProcess`.
//!
//! It answers its event unchanged, except for these test commands:
//! `{"fail": "msg"}` returns an error with message `msg`; `{"env": "NAME"}` answers
//! `{"env": <value of NAME or null>}`; `{"log": "line"}` prints `line` to stderr and echoes;
//! `{"exit": code}` exits the process with `code` without answering.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let payload = event.payload;
    if let Some(code) = payload.get("exit").and_then(Value::as_i64) {
        std::process::exit(i32::try_from(code).unwrap_or(1));
    }
    if let Some(message) = payload.get("fail").and_then(Value::as_str) {
        return Err(message.into());
    }
    if let Some(name) = payload.get("env").and_then(Value::as_str) {
        return Ok(json!({ "env": std::env::var(name).ok() }));
    }
    if let Some(line) = payload.get("log").and_then(Value::as_str) {
        eprintln!("{line}");
    }
    Ok(payload)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    println!("authz-testkit-echo ready");
    lambda_runtime::run(service_fn(handler)).await
}
