//! The integration tests of the testkit itself, one test binary (one link instead of one per
//! file): a module per piece of machinery.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The real external components: npm oidc-provider and moto_server.
mod external;
/// The loopback OIDC issuer: documents, counters, headers, faults.
mod issuer;
/// Test keys and the forged-token helpers.
mod keys;
/// The Lambda Runtime API emulator and `LambdaProcess`.
mod runtime;
