//! The decision log line, and what is known about a token for it (never the token). Pure: it
//! only emits `tracing` events.

use std::time::Instant;

use crate::error::{AuthzError, Verdict};

/// Every value of the `decision` key of the decision log line.
pub const DECISIONS: [&str; 4] = ["allow", "deny", "unauthorized", "error"];

/// What is known about a token so far, for the decision log (never the token itself).
#[derive(Debug, Default, Clone)]
pub struct Trace {
    /// Header `kid` (truncated).
    pub kid: Option<String>,
    /// Claim `iss` (truncated).
    pub iss: Option<String>,
    /// `sub` once verified.
    pub sub: Option<String>,
}

/// Shortens attacker-controlled strings before they reach a log line.
pub fn truncate(s: &str) -> &str {
    match s.char_indices().nth(128) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The `decision` value for an outcome: `allow` for none, else by the error's verdict.
pub fn decision(error: Option<&AuthzError>) -> &'static str {
    match error.map(AuthzError::verdict) {
        None => DECISIONS[0],
        Some(Verdict::Forbidden) => DECISIONS[1],
        Some(Verdict::Unauthorized) => DECISIONS[2],
        Some(Verdict::Internal) => DECISIONS[3],
    }
}

/// One log line per decision, with flat keys that metric filters rely on:
/// `decision`, `reason`, `kid`, `iss`, `sub`, `route`, `latency_us`. Never the token.
pub fn log_decision(
    error: Option<&AuthzError>,
    trace: &Trace,
    route: Option<&str>,
    started: Instant,
) {
    let latency_us = started.elapsed().as_micros() as u64;
    let decision = decision(error);
    let reason = error.map_or("ok", AuthzError::reason);
    let (kid, iss, sub) = (
        trace.kid.as_deref(),
        trace.iss.as_deref(),
        trace.sub.as_deref(),
    );
    if let Some(e @ (AuthzError::Internal(_) | AuthzError::InvalidEvent(_))) = error {
        tracing::error!(decision, reason, detail = %e, kid, iss, sub, route, latency_us, "authorization decision");
    } else {
        tracing::info!(
            decision,
            reason,
            kid,
            iss,
            sub,
            route,
            latency_us,
            "authorization decision"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_names() {
        assert_eq!(decision(None), "allow");
        assert_eq!(decision(Some(&AuthzError::RouteNotAllowed)), "deny");
        assert_eq!(decision(Some(&AuthzError::Expired)), "unauthorized");
        assert_eq!(decision(Some(&AuthzError::Internal("x".into()))), "error");
    }

    #[test]
    fn truncates_long_values_on_a_char_boundary() {
        let long = "é".repeat(200);
        assert_eq!(truncate(&long).chars().count(), 128);
        assert_eq!(truncate("short"), "short");
    }
}
