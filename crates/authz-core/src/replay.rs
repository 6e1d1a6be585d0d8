//! The shared DPoP replay store (RFC 9449 §11.1): each proof's `jti` is accepted once across every
//! execution environment of the function. The [`ReplayStore`] seam and its production
//! implementation, an Amazon DynamoDB table written with a conditional put
//! (`attribute_not_exists`), whose items expire (DynamoDB TTL) once the proof's `iat` has left the
//! window.
//!
//! The DynamoDB store is the only code behind the cargo feature `replay-store` (default on for the
//! REQUEST and HTTP authorizers), which links the AWS SDK's DynamoDB client; a build without it
//! refuses, at cold start, a configuration naming a table ([`not_built`]).

use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

use crate::error::ConfigError;

/// Boxed future returned by [`ReplayStore::first_use`]: `Ok(true)` the first time, `Ok(false)`
/// for a replay, `Err` when the store cannot say (then the proof is refused).
pub type ReplayFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, String>> + Send + 'a>>;

/// Where used proofs are recorded for every execution environment.
pub trait ReplayStore: Send + Sync + fmt::Debug {
    /// Records `key` (a proof's key thumbprint and `jti`) unless it is there already; it may be
    /// forgotten after `expires_at` (seconds since the epoch).
    fn first_use(&self, key: String, expires_at: i64) -> ReplayFuture<'_>;
}

/// The partition key of the table (a string): `{jkt} {jti}`.
pub const KEY_ATTRIBUTE: &str = "proof";
/// The table's TTL attribute (a number, seconds since the epoch).
pub const EXPIRES_ATTRIBUTE: &str = "expires_at";

/// The production [`ReplayStore`] for the DynamoDB table `table` (name or ARN).
#[cfg(feature = "replay-store")]
pub fn dynamodb(table: &str, timeout: Duration) -> Option<Arc<dyn ReplayStore>> {
    Some(Arc::new(aws::Table::new(table.to_owned(), timeout)))
}

/// None in a build without the cargo feature `replay-store`, which does not link the AWS SDK.
#[cfg(not(feature = "replay-store"))]
pub fn dynamodb(_table: &str, _timeout: Duration) -> Option<Arc<dyn ReplayStore>> {
    None
}

/// The cold-start error of a build without the `replay-store` feature whose configuration names a
/// replay table (parsing is the same in every build; only building the authorizer needs the SDK).
pub fn not_built() -> ConfigError {
    ConfigError(
        "AUTHZ_DPOP_REPLAY_TABLE (or `dpop_replay_table` in AUTHZ_CONFIG): a shared DPoP replay \
         table is configured, but this binary was built without the `replay-store` feature (no \
         AWS SDK DynamoDB client): build it with default features, or remove the setting"
            .to_owned(),
    )
}

/// Everything that needs the AWS SDK: the only code behind the `replay-store` feature.
#[cfg(feature = "replay-store")]
mod aws {
    use aws_sdk_dynamodb::{
        error::{DisplayErrorContext, SdkError},
        operation::put_item::PutItemError,
        types::AttributeValue,
    };

    use super::{Duration, EXPIRES_ATTRIBUTE, KEY_ATTRIBUTE, ReplayFuture, ReplayStore};

    /// The table, through the AWS SDK (region, credentials and `AWS_ENDPOINT_URL_DYNAMODB` from
    /// the standard AWS configuration chain).
    #[derive(Debug)]
    pub struct Table {
        table: String,
        timeout: Duration,
        client: tokio::sync::OnceCell<aws_sdk_dynamodb::Client>,
    }

    impl Table {
        /// The store for `table`; the SDK client is built on first use.
        pub fn new(table: String, timeout: Duration) -> Table {
            Table {
                table,
                timeout,
                client: tokio::sync::OnceCell::new(),
            }
        }
    }

    impl ReplayStore for Table {
        fn first_use(&self, key: String, expires_at: i64) -> ReplayFuture<'_> {
            Box::pin(async move {
                let client = self
                    .client
                    .get_or_init(|| async {
                        aws_sdk_dynamodb::Client::new(&crate::aws::sdk_config(self.timeout).await)
                    })
                    .await;
                let put = client
                    .put_item()
                    .table_name(&self.table)
                    .item(KEY_ATTRIBUTE, AttributeValue::S(key))
                    .item(EXPIRES_ATTRIBUTE, AttributeValue::N(expires_at.to_string()))
                    .condition_expression("attribute_not_exists(#k)")
                    .expression_attribute_names("#k", KEY_ATTRIBUTE)
                    .send()
                    .await;
                match put {
                    Ok(_) => Ok(true),
                    Err(SdkError::ServiceError(e))
                        if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
                    {
                        Ok(false)
                    }
                    Err(e) => Err(format!(
                        "PutItem {}: {}",
                        self.table,
                        DisplayErrorContext(e)
                    )),
                }
            })
        }
    }
}
