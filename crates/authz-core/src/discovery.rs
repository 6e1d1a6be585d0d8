//! OIDC discovery (`{issuer}/.well-known/openid-configuration`), fetched once per issuer through
//! the [`Fetch`] seam and shared by the key cache and introspection.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::Deserialize;
use tokio::time::Instant;

use crate::{
    decision_log::truncate,
    outbound::{Fetch, check_url, redact_userinfo},
};

/// The parts of an OIDC discovery document this crate uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    /// Must equal the configured issuer, or the document is refused.
    pub issuer: String,
    /// Where the signing keys are.
    pub jwks_uri: String,
    /// RFC 7662 endpoint, when the IdP has one.
    pub introspection_endpoint: Option<String>,
    /// OAuth 2.0 token endpoint.
    pub token_endpoint: Option<String>,
}

/// The discovery document of one issuer, fetched on first use and kept once valid. While it
/// cannot be had, one attempt per cool-down (single flight): every caller in between gets the
/// last failure at once, without a GET (20 opaque tokens while discovery fails: 1 GET).
#[derive(Debug)]
pub struct Discoverer {
    issuer: String,
    max_bytes: usize,
    cooldown: Duration,
    fetch: Arc<dyn Fetch>,
    discovered: Mutex<Option<Arc<Discovery>>>,
    /// Held during a fetch (single flight); the time and text of the last failure (cool-down).
    failed: tokio::sync::Mutex<Option<(Instant, String)>>,
}

impl Discoverer {
    /// No I/O until [`get`](Self::get). `max_bytes` bounds the document; after a failure, the
    /// next attempt waits `cooldown`.
    pub fn new(
        issuer: String,
        max_bytes: usize,
        cooldown: Duration,
        fetch: Arc<dyn Fetch>,
    ) -> Discoverer {
        Discoverer {
            issuer,
            max_bytes,
            cooldown,
            fetch,
            discovered: Mutex::new(None),
            failed: tokio::sync::Mutex::new(None),
        }
    }

    fn cached(&self) -> Result<Option<Arc<Discovery>>, String> {
        Ok(self.discovered.lock().map_err(|_| "lock poisoned")?.clone())
    }

    /// The issuer's discovery document, fetched once; a failed fetch is retried on a later use,
    /// at most once per cool-down. A document naming another issuer, or endpoints that are not
    /// `https://` (or loopback `http://`), is refused.
    pub async fn get(&self) -> Result<Arc<Discovery>, String> {
        if let Some(doc) = self.cached()? {
            return Ok(doc);
        }
        let mut failed = self.failed.lock().await;
        if let Some(doc) = self.cached()? {
            return Ok(doc);
        }
        if let Some((at, why)) = failed.as_ref()
            && Instant::now() < *at + self.cooldown
        {
            return Err(format!("{why} (not retried within the cool-down)"));
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let got = match self.fetch.get(&url, self.max_bytes).await {
            Ok(resp) => parse_discovery(&self.issuer, resp.status, &resp.body),
            Err(e) => Err(e),
        };
        match got {
            Ok(doc) => {
                let doc = Arc::new(doc);
                if let Ok(mut slot) = self.discovered.lock() {
                    *slot = Some(Arc::clone(&doc));
                }
                *failed = None;
                Ok(doc)
            }
            Err(why) => {
                *failed = Some((Instant::now(), why.clone()));
                Err(why)
            }
        }
    }
}

/// Reads a discovery answer for `issuer`: HTTP 200, a JSON document naming `issuer` itself, every
/// endpoint passing [`check_url`]. Pure but for the log line of a mismatch (fuzzed): any input
/// gives a document or an error, never a panic.
pub fn parse_discovery(issuer: &str, status: u16, body: &[u8]) -> Result<Discovery, String> {
    if status != 200 {
        return Err(format!("discovery answered HTTP {status}"));
    }
    let doc: Discovery =
        serde_json::from_slice(body).map_err(|e| format!("discovery document is invalid: {e}"))?;
    if doc.issuer != issuer {
        tracing::error!(
            iss = %issuer,
            discovered = %truncate(&redact_userinfo(&doc.issuer)),
            "discovery document names another issuer; refusing it"
        );
        return Err("discovery issuer mismatch".into());
    }
    let endpoints = [
        Some(&doc.jwks_uri),
        doc.introspection_endpoint.as_ref(),
        doc.token_endpoint.as_ref(),
    ];
    for url in endpoints.into_iter().flatten() {
        check_url(url, "discovery document").map_err(|e| e.0)?;
    }
    Ok(doc)
}
