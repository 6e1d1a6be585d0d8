//! API Gateway HTTP API Lambda authorizer, payload format 2.0, simple responses.
//!
//! Answers `{"isAuthorized": bool, "context": {...}}`: a bad token and a valid token without the
//! route's scope both answer `false` (API Gateway: 403; 401 only when the identity source is
//! missing, before any invocation). Only faults are errors (500). All logic is in `authz-core`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    authz_lambda::run(|authorizer, event| async move { authorizer.http(event.get()).await }).await
}
