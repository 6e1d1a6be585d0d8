//! API Gateway REST API Lambda authorizer, REQUEST type.
//!
//! The token comes from the configured header (`Authorization` by default, `headers` and
//! `multiValueHeaders`) or query parameter; stage variables select the audience, rule set and
//! required scopes. The answer is an IAM policy right for every route of the stage, or the error
//! `Unauthorized` (401). All logic is in `authz-core`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    authz_lambda::run_rest(|authorizer, event| async move { authorizer.request(event.get()).await })
        .await
}
