//! Dev-only test machinery shared by the authorizer tests, the local mode and the benchmarks.
//!
//! * [`keys`]: fixed signing keys of every supported type with their public JWKs, and helpers
//!   to build valid, forged or malformed JWTs.
//! * [`issuer`]: a fault-injectable OIDC issuer (discovery + JWKS) on `127.0.0.1`, over HTTP or
//!   HTTPS, optionally with a Hydra-like token endpoint and bearer-authenticated introspection.
//! * [`idp`]: tokens shaped like real IdPs' (Cognito, Entra ID v1/v2, Auth0, Okta, Keycloak,
//!   Hydra): header fields, claim names and types, issuer forms.
//! * [`tls`]: a private CA generated per use, server certificates for `127.0.0.1`, PEM files.
//! * [`external`]: real external components started by the tests: an OpenID provider (npm
//!   `oidc-provider`, introspection and revocation) and `moto_server` (AWS Secrets Manager).
//! * [`sender`]: DPoP- and certificate-bound tokens from that OpenID provider through a real
//!   REQUEST or HTTP authorizer binary (the scenario both authorizers' tests run).
//! * [`runtime`]: a Lambda Runtime API emulator on `127.0.0.1` and a runner for real function
//!   processes attached to it.
//! * [`procs`]: the processes a test run left behind (`scripts/test.sh`'s last check).
//!
//! Everything binds `127.0.0.1` on an ephemeral port and runs in tasks spawned onto the
//! caller's tokio runtime (either flavor); servers stop when their handle is dropped.
//! Never link this crate into an authorizer: the keys in `keys/` are public test fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![warn(missing_docs)]

pub mod external;
pub mod fixtures;
pub mod idp;
pub mod issuer;
pub mod keys;
pub mod procs;
pub mod runtime;
pub mod sender;
pub mod server;
pub mod tls;

pub use external::{IdpClient, MotoServer, OidcProvider};
pub use issuer::{Fault, Issuer};
pub use keys::*;
pub use runtime::{LambdaProcess, Outcome, RuntimeApi};
pub use tls::{ClientCert, PemFile, TestCa};
