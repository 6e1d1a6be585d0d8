//! The integration tests of `token-authorizer`, one test binary (one link of the testkit and the
//! dependencies instead of one per file): a module per area. Each drives the real binary through
//! the testkit's Lambda Runtime API emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The IdP broken in one way at a time while keys must be refreshed.
mod fault_matrix;
/// Opaque tokens: RFC 7662 at npm oidc-provider, the client secret in moto_server.
mod introspection;
/// Allow/deny/401 through the Runtime API against the loopback issuer.
mod runtime_api;
/// HTTPS issuer behind a private CA; Hydra-like bearer introspection.
mod tls_and_bearer;
