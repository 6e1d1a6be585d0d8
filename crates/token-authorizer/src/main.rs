//! API Gateway REST API Lambda authorizer, TOKEN type.
//!
//! The event carries `authorizationToken` (`Bearer <jwt>`) and `methodArn`; the answer is an IAM
//! policy, or the error `Unauthorized` (API Gateway answers 401). All logic is in `authz-core`.

use authz_core::{Authorizer, Config};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::value::RawValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    authz_lambda::init_tracing();
    let config = authz_lambda::or_init_error(Config::from_env()).await?;
    let authorizer = authz_lambda::or_init_error(Authorizer::new(config)).await?;
    authorizer.warm().await;
    let authorizer: &'static Authorizer = Box::leak(Box::new(authorizer));

    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            authorizer
                .token(event.payload.get())
                .await
                .map_err(authz_lambda::diagnostic)
        },
    ))
    .await
}
