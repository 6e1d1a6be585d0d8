//! Pure decisions: what a verified caller may do. No I/O, no clock.
//!
//! * `iam`: `Statement`, `policy_statements`, IAM `evaluate`;
//! * `arn`: `MethodArn` and the API ARN allow-list;
//! * `rules`: `Rule`/`Rules`, matching a request as API Gateway routes it;
//! * `rest`: the cache-correct REST statements and the REST cache-conflict analysis;
//! * `cedar` (feature `cedar`): Cedar decisions in Verified Permissions' API Gateway shape,
//!   one decider per Cedar-decided rule, consulted by [`Rule::check`] (so the REST rendering
//!   evaluates Cedar for every route).

mod arn;
#[cfg(feature = "cedar")]
mod cedar;
mod iam;
mod rest;
mod rules;

pub use arn::{MethodArn, api_allowed};
#[cfg(feature = "cedar")]
pub use cedar::{CedarPolicies, Source as CedarSource};
pub use iam::{Statement, evaluate, policy_statements};
pub use rest::rest_statements;
pub use rules::{Rule, Rules};

#[cfg(test)]
mod tests;
