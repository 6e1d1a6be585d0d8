//! Glue between `authz-core` and `lambda_runtime`, shared by the three authorizer binaries:
//! logging set-up, cold-start error reporting and error → runtime diagnostic mapping.

use std::{fmt::Display, future::Future};

use authz_core::{Authorizer, AuthzError, Config, ConfigError, Verdict};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde_json::value::RawValue;
use tracing_subscriber::{
    EnvFilter, Layer,
    filter::{FilterExt, LevelFilter, Targets},
    layer::SubscriberExt,
    util::SubscriberInitExt,
};

/// The whole life of an authorizer process: logging, configuration (a bad one fails the cold
/// start through the Runtime API), the authorizer with its keys fetched before the first
/// request, then the invocation loop calling `handle` with the raw event.
///
/// The event is taken raw and parsed by `authz-core`, whose parse errors never echo the input
/// (the event carries the token).
pub async fn run<F, Fut, R>(handle: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(&'static Authorizer, Box<RawValue>) -> Fut,
    Fut: Future<Output = Result<R, AuthzError>>,
    R: Serialize,
{
    run_checked(|_| Ok(()), handle).await
}

/// [`run`] for a REST authorizer (TOKEN, REQUEST): the cold start also refuses route rules
/// that one cached IAM policy cannot state exactly (`Authorizer::check_rest_caching`).
pub async fn run_rest<F, Fut, R>(handle: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(&'static Authorizer, Box<RawValue>) -> Fut,
    Fut: Future<Output = Result<R, AuthzError>>,
    R: Serialize,
{
    run_checked(Authorizer::check_rest_caching, handle).await
}

/// [`run_rest`] for the TOKEN authorizer: its events carry no stage variables, so the cold
/// start also refuses what only a stage variable could select (`Authorizer::check_token`).
pub async fn run_token<F, Fut, R>(handle: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(&'static Authorizer, Box<RawValue>) -> Fut,
    Fut: Future<Output = Result<R, AuthzError>>,
    R: Serialize,
{
    run_checked(Authorizer::check_token, handle).await
}

async fn run_checked<F, Fut, R>(
    check: fn(&Authorizer) -> Result<(), ConfigError>,
    handle: F,
) -> Result<(), lambda_runtime::Error>
where
    F: Fn(&'static Authorizer, Box<RawValue>) -> Fut,
    Fut: Future<Output = Result<R, AuthzError>>,
    R: Serialize,
{
    init_tracing();
    let config = or_init_error(Config::from_env()).await?;
    let authorizer = or_init_error(Authorizer::new(config)).await?;
    or_init_error(check(&authorizer)).await?;
    authorizer.warm().await;
    // One authorizer for the life of the process, shared by every invocation.
    let authorizer: &'static Authorizer = Box::leak(Box::new(authorizer));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let answer = handle(authorizer, event.payload);
        async move { answer.await.map_err(diagnostic) }
    }))
    .await
}

/// The most verbose level of targets that must stay quieter than the rest whatever
/// `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` asks, even by naming them or one of their modules:
/// lambda_runtime logs the raw event (which carries the token) at TRACE, and so does the AWS
/// SDK with the Secrets Manager answer (the client secret) when `LOG_SENSITIVE_BODIES=true`;
/// the HTTP stack is noise. `lambda_runtime::layers::panic` logs every handler `Err` at ERROR,
/// so each ordinary 401 would add an ERROR line next to our decision line: off (a real panic
/// still reaches stderr through the panic hook).
const CAPS: [(&str, LevelFilter); 9] = [
    ("lambda_runtime", LevelFilter::DEBUG),
    ("lambda_runtime::layers::panic", LevelFilter::OFF),
    ("lambda_runtime_api_client", LevelFilter::DEBUG),
    ("aws_smithy_runtime", LevelFilter::DEBUG),
    ("hyper", LevelFilter::WARN),
    ("hyper_util", LevelFilter::WARN),
    ("reqwest", LevelFilter::WARN),
    ("rustls", LevelFilter::WARN),
    ("h2", LevelFilter::WARN),
];

/// JSON logs with flat top-level keys, honouring `AWS_LAMBDA_LOG_FORMAT` (`JSON` default, or
/// `Text`) and `AWS_LAMBDA_LOG_LEVEL` (`TRACE`…`FATAL`, default `INFO`; `RUST_LOG` also works,
/// with any directives, but never lifts `CAPS`).
pub fn init_tracing() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned())
        .to_ascii_lowercase()
        .replace("fatal", "error");
    // The caps are a second filter an event must also pass, not directives of the first: a
    // more specific directive (`lambda_runtime::layers=trace`) would win over those.
    let caps = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(CAPS);
    let filter = EnvFilter::try_new(level)
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .and(caps);
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .without_time();
    let registry = tracing_subscriber::registry();
    let _ = if text {
        registry.with(layer.with_filter(filter)).try_init()
    } else {
        let layer = layer
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false);
        registry.with(layer.with_filter(filter)).try_init()
    };
}

/// Passes a cold-start result through; on error, logs it, reports it to the Runtime API's
/// `/runtime/init/error` (so Lambda shows the message, naming the variable) and returns it so
/// `main` exits non-zero.
pub async fn or_init_error<T, E: Display>(
    result: Result<T, E>,
) -> Result<T, lambda_runtime::Error> {
    let error = match result {
        Ok(v) => return Ok(v),
        Err(e) => e.to_string(),
    };
    tracing::error!(error = %error, "cold start failed");
    if let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") {
        let url = format!("http://{api}/2018-06-01/runtime/init/error");
        let body = serde_json::json!({ "errorType": "Runtime.ConfigError", "errorMessage": error });
        let sent = reqwest::Client::new()
            .post(url)
            .header("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigError")
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        if let Err(e) = sent {
            tracing::error!(error = %e, "could not report the init error to the Runtime API");
        }
    }
    Err(error.into())
}

/// The runtime diagnostic for an error (a function, not `impl From<AuthzError> for
/// Diagnostic`: both types are foreign here). API Gateway answers 401 only when the message is
/// exactly `Unauthorized`; every other error becomes a 500. Forbidden errors never get here:
/// they are answered with a policy (REST) or `isAuthorized: false` (HTTP API).
pub fn diagnostic(error: AuthzError) -> Diagnostic {
    Diagnostic {
        error_type: error_type(&error).to_owned(),
        error_message: runtime_message(&error),
    }
}

/// The `errorType` reported to the Lambda runtime.
fn error_type(error: &AuthzError) -> &'static str {
    match error {
        AuthzError::InvalidEvent(_) => "InvalidEvent",
        e if e.verdict() == Verdict::Unauthorized => "Unauthorized",
        _ => "InternalError",
    }
}

/// The `errorMessage` reported to the Lambda runtime: exactly `Unauthorized` for a 401.
fn runtime_message(error: &AuthzError) -> String {
    match error.verdict() {
        Verdict::Unauthorized => "Unauthorized".to_owned(),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_message_is_exact() {
        for e in [
            AuthzError::Expired,
            AuthzError::MissingToken,
            AuthzError::BadSignature,
        ] {
            assert_eq!(e.verdict(), Verdict::Unauthorized);
            let d = diagnostic(e);
            assert_eq!(d.error_message, "Unauthorized");
            assert_eq!(d.error_type, "Unauthorized");
        }
    }

    #[test]
    fn forbidden_and_internal_are_not_401() {
        assert_eq!(AuthzError::InsufficientScope.verdict(), Verdict::Forbidden);
        let e = AuthzError::InvalidEvent("no methodArn".into());
        assert_eq!(e.verdict(), Verdict::Internal);
        let d = diagnostic(e);
        assert_ne!(d.error_message, "Unauthorized");
        assert_eq!(d.error_type, "InvalidEvent");
        let d = diagnostic(AuthzError::Internal("x".into()));
        assert_eq!(d.error_type, "InternalError");
        assert_eq!(d.error_message, "internal error: x");
    }
}
