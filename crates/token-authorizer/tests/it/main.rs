//! The integration tests of `token-authorizer`, one test binary (one link of the testkit and the
//! dependencies instead of one per file): a module per area. Each drives the real binary through
//! the testkit's Lambda Runtime API emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// An IdP slower than the cold start's bound on fetching.
mod cold_start;
/// The IdP broken in one way at a time while keys must be refreshed.
mod fault_matrix;
/// Access tokens shaped like Cognito's, Entra ID's, Auth0's, Okta's, Keycloak's and Hydra's.
mod idp_shapes;
/// Opaque tokens: RFC 7662 at npm oidc-provider, the client secret in moto_server.
mod introspection;
/// Allow/deny/401 through the Runtime API against the loopback issuer.
mod runtime_api;
/// HTTPS issuer behind a private CA; Hydra-like bearer introspection.
mod tls_and_bearer;

use authz_testkit::{
    Outcome,
    fixtures::{STAGE_ARN, rest_statements},
};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_token-authorizer");

/// The method ARN of `GET {path}` on the sample events' stage.
fn arn(path: &str) -> String {
    format!("{STAGE_ARN}/GET{path}")
}

/// A TOKEN event for `GET {path}` with `authorization` as its `authorizationToken`.
fn event(authorization: &str, path: &str) -> Value {
    json!({"type": "TOKEN", "authorizationToken": authorization, "methodArn": arn(path)})
}

/// [`event`] with `Bearer {token}`.
fn bearer_event(token: &str, path: &str) -> Value {
    event(&format!("Bearer {token}"), path)
}

/// Whether the REST policy `outcome` allows `GET {path}` (IAM evaluation of its statements);
/// `None` for an error answer.
fn allows(outcome: &Outcome, path: &str) -> Option<bool> {
    rest_statements(outcome).map(|s| authz_core::evaluate(&s, &arn(path)))
}
