//! The start-time check of an issuer the local mode trusts: is its discovery document there,
//! for this issuer, and does its JWKS hold signing keys? The authorizers would refuse every
//! token otherwise, and say why only in their logs; the banner says it at once.

use std::time::Duration;

use serde_json::Value;

/// How long each of the two requests may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// `Ok(n)`: discovery names this issuer and its JWKS holds `n` keys with a `kid`; `Err`: what
/// is wrong, in one sentence.
pub async fn issuer(url: &str) -> Result<usize, String> {
    let client = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))?;
    let issuer = url.trim_end_matches('/');
    let discovery_url = format!("{issuer}/.well-known/openid-configuration");
    let discovery = get_json(&client, &discovery_url, "discovery").await?;
    let named = discovery.get("issuer").and_then(Value::as_str);
    if named.map(|n| n.trim_end_matches('/')) != Some(issuer) {
        return Err(format!(
            "its discovery document ({discovery_url}) names issuer {}, not {url}: the authorizers refuse it",
            named.map_or("(none)".to_owned(), |n| format!("`{n}`"))
        ));
    }
    let Some(jwks_uri) = discovery.get("jwks_uri").and_then(Value::as_str) else {
        return Err(format!(
            "its discovery document ({discovery_url}) has no jwks_uri"
        ));
    };
    let jwks = get_json(&client, jwks_uri, "JWKS").await?;
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .map_or(0, |keys| {
            keys.iter().filter(|k| k.get("kid").is_some()).count()
        });
    if keys == 0 {
        return Err(format!("its JWKS ({jwks_uri}) holds no key with a `kid`"));
    }
    Ok(keys)
}

async fn get_json(client: &reqwest::Client, url: &str, what: &str) -> Result<Value, String> {
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot fetch its {what} ({url}): {}", source_chain(&e)))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!(
            "its {what} ({url}) answered HTTP {}",
            status.as_u16()
        ));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("cannot read its {what} ({url}): {e}"))?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(format!("its {what} ({url}) is not a JSON object")),
    }
}

/// The innermost cause of an error (reqwest's own message is only "error sending request").
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut innermost = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        innermost = c.to_string();
        cause = c.source();
    }
    innermost
}

#[cfg(test)]
mod tests {
    use authz_testkit::{Issuer, TestKey};

    #[tokio::test]
    async fn a_working_issuer_passes_and_each_fault_is_named() {
        let idp = Issuer::start().await;
        idp.set_keys(vec![TestKey::rsa("k1").jwk()]);
        assert_eq!(super::issuer(&idp.url()).await, Ok(1));

        idp.set_keys(vec![]);
        let err = super::issuer(&idp.url()).await.unwrap_err();
        assert!(err.contains("holds no key"), "{err}");

        // Not an issuer at all: a port nothing listens on.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = super::issuer(&format!("http://127.0.0.1:{closed}"))
            .await
            .unwrap_err();
        assert!(err.starts_with("cannot fetch its discovery"), "{err}");

        // Another issuer's URL: discovery names a different issuer.
        let err = super::issuer(&format!("{}/other", idp.url()))
            .await
            .unwrap_err();
        assert!(
            err.contains("HTTP 404") || err.contains("names issuer"),
            "{err}"
        );
    }
}
