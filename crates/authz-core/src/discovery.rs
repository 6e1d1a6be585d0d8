//! OIDC discovery (`{issuer}/.well-known/openid-configuration`), fetched once per issuer through
//! the [`Fetch`] seam and shared by the key cache and introspection.

use std::sync::{Arc, Mutex};

use serde::Deserialize;

use crate::{
    http::{Fetch, check_url},
    log::truncate,
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

/// The discovery document of one issuer, fetched on first use and kept once valid.
#[derive(Debug)]
pub struct Discoverer {
    issuer: String,
    max_bytes: usize,
    fetch: Arc<dyn Fetch>,
    discovered: Mutex<Option<Arc<Discovery>>>,
}

impl Discoverer {
    /// No I/O until [`get`](Self::get). `max_bytes` bounds the document.
    pub fn new(issuer: String, max_bytes: usize, fetch: Arc<dyn Fetch>) -> Discoverer {
        Discoverer {
            issuer,
            max_bytes,
            fetch,
            discovered: Mutex::new(None),
        }
    }

    /// The issuer's discovery document, fetched once (a failed fetch is retried on next use).
    /// A document naming another issuer, or endpoints that are not `https://`, is refused.
    pub async fn get(&self) -> Result<Arc<Discovery>, String> {
        if let Some(doc) = self.discovered.lock().map_err(|_| "lock poisoned")?.clone() {
            return Ok(doc);
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let resp = self.fetch.get(&url, self.max_bytes).await?;
        if resp.status != 200 {
            return Err(format!("discovery answered HTTP {}", resp.status));
        }
        let doc: Discovery = serde_json::from_slice(&resp.body)
            .map_err(|e| format!("discovery document is invalid: {e}"))?;
        if doc.issuer != self.issuer {
            tracing::error!(
                iss = %self.issuer,
                discovered = %truncate(&doc.issuer),
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
        let doc = Arc::new(doc);
        if let Ok(mut slot) = self.discovered.lock() {
            *slot = Some(Arc::clone(&doc));
        }
        Ok(doc)
    }
}
