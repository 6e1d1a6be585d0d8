//! API Gateway REST API Lambda authorizer, TOKEN type.
//!
//! The event carries `authorizationToken` (`Bearer <jwt>`) and `methodArn`; the answer is an IAM
//! policy, or the error `Unauthorized` (API Gateway answers 401). All logic is in `authz-core`;
//! `authz_lambda::run` does the cold start (logging, configuration, JWKS) and the runtime loop.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    authz_lambda::run_token(|authorizer, event| async move { authorizer.token(event.get()).await })
        .await
}
