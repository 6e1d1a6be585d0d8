//! Where the introspection client credentials come from: the [`SecretSource`] seam and its
//! production implementation, AWS Secrets Manager.
//!
//! The Secrets Manager source is the only code behind the cargo feature `introspection` (default
//! on), which links the AWS SDK; a build without it refuses, at cold start, any configuration that
//! asks for introspection ([`not_built`]).

use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

use serde::Deserialize;

use crate::error::ConfigError;

/// OAuth client credentials. `Debug` never shows the secret.
#[derive(Clone, Deserialize)]
pub struct ClientCredentials {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: String,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Boxed future returned by [`SecretSource::fetch`].
pub type SecretFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ClientCredentials, String>> + Send + 'a>>;

/// Where the client credentials come from. Error texts must never contain the secret.
pub trait SecretSource: Send + Sync + fmt::Debug {
    /// Fetches the current credentials.
    fn fetch(&self) -> SecretFuture<'_>;
}

/// The production [`SecretSource`] for `secret_id` (ARN or name): AWS Secrets Manager.
#[cfg(feature = "introspection")]
pub fn secrets_manager(secret_id: &str, timeout: Duration) -> Option<Arc<dyn SecretSource>> {
    Some(Arc::new(aws::SecretsManager::new(
        secret_id.to_owned(),
        timeout,
    )))
}

/// None in a build without the cargo feature `introspection`, which does not link the AWS SDK.
#[cfg(not(feature = "introspection"))]
pub fn secrets_manager(_secret_id: &str, _timeout: Duration) -> Option<Arc<dyn SecretSource>> {
    None
}

/// The cold-start error of a build without the `introspection` feature whose configuration asks
/// for introspection (the issuer's secret, or its token format `opaque` / `auto`).
pub fn not_built(issuer: &str) -> ConfigError {
    ConfigError(format!(
        "issuer `{issuer}`: opaque-token introspection is configured \
         (AUTHZ_INTROSPECTION_SECRET_ARN / AUTHZ_TOKEN_FORMAT, or the issuer's `introspection` and \
         `token_format` in AUTHZ_CONFIG), but this binary was built without the `introspection` \
         feature (no AWS SDK to read the client secret): build it with default features, or \
         remove those settings"
    ))
}

/// Everything that needs the AWS SDK: the only code behind the `introspection` feature.
#[cfg(feature = "introspection")]
mod aws {
    use super::{ClientCredentials, Duration, SecretFuture, SecretSource};

    /// The production [`SecretSource`]: AWS Secrets Manager through the AWS SDK (region, credentials
    /// and `AWS_ENDPOINT_URL_SECRETS_MANAGER` from the standard AWS configuration chain).
    #[derive(Debug)]
    pub struct SecretsManager {
        secret_id: String,
        timeout: Duration,
        client: tokio::sync::OnceCell<aws_sdk_secretsmanager::Client>,
    }

    impl SecretsManager {
        /// A source for `secret_id` (ARN or name); the SDK client is built on first use.
        pub fn new(secret_id: String, timeout: Duration) -> SecretsManager {
            SecretsManager {
                secret_id,
                timeout,
                client: tokio::sync::OnceCell::new(),
            }
        }
    }

    impl SecretSource for SecretsManager {
        fn fetch(&self) -> SecretFuture<'_> {
            Box::pin(async move {
                let client = self
                    .client
                    .get_or_init(|| async {
                        aws_sdk_secretsmanager::Client::new(
                            &crate::aws::sdk_config(self.timeout).await,
                        )
                    })
                    .await;
                let out = client
                    .get_secret_value()
                    .secret_id(&self.secret_id)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "GetSecretValue {}: {}",
                            self.secret_id,
                            aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                        )
                    })?;
                let text = out
                    .secret_string()
                    .ok_or("the secret has no string value")?;
                // The serde message could quote a value: keep only the category.
                serde_json::from_str::<ClientCredentials>(text).map_err(|e| {
                    format!(
                        "the secret is not JSON {{\"client_id\",\"client_secret\"}} ({:?} error)",
                        e.classify()
                    )
                })
            })
        }
    }
}
