//! The AWS SDK's shared configuration, as every AWS client of the authorizers builds it: the
//! standard credential and region chain, each call and connection bounded by `timeout`. Used by
//! the Secrets Manager source (`secrets`) and the DynamoDB replay store (`replay`), each of which
//! builds its client once, on first use.

use std::time::Duration;

/// The shared configuration, calls and connections bounded by `timeout`.
pub(crate) async fn sdk_config(timeout: Duration) -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_timeout(timeout)
        .connect_timeout(timeout)
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
}
