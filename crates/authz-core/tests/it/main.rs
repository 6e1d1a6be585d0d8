//! The one integration-test binary of authz-core (one link instead of one per file).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attacks;
mod cache;
mod cold_start;
mod idp_answers;
mod introspection;
mod jwks_cache;
mod properties;
