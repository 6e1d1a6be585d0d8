//! Pure decisions: what a verified caller may do. No I/O, no clock.
//!
//! * `iam`: `Statement`, `policy_statements`, IAM `evaluate`;
//! * `arn`: `MethodArn` and the API ARN allow-list;
//! * `rules`: `Rule`/`Rules`, matching a request as API Gateway routes it;
//! * `rest`: the cache-correct REST statements and the REST cache-conflict analysis.

mod arn;
mod iam;
mod rest;
mod rules;

pub use arn::{MethodArn, api_allowed};
pub use iam::{Statement, evaluate, policy_statements};
pub use rest::rest_statements;
pub use rules::{Rule, Rules};

#[cfg(test)]
mod tests;
