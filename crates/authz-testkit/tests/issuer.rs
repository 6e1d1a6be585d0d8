//! The loopback OIDC issuer: documents, counters, headers and every fault.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use authz_testkit::{Fault, Issuer, TestKey};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn get(url: &str) -> Result<(u16, reqwest::header::HeaderMap, String), reqwest::Error> {
    let resp = client().get(url).send().await?;
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    Ok((status, headers, resp.text().await?))
}

async fn get_json(url: &str) -> Value {
    let (status, _, body) = get(url).await.unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_discovery_and_jwks_and_counts_fetches() {
    let issuer = Issuer::start().await;
    let url = issuer.url();
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with('/'),
        "{url}"
    );
    assert_eq!(issuer.jwks_uri(), format!("{url}/jwks"));
    assert_eq!(
        issuer.discovery_url(),
        format!("{url}/.well-known/openid-configuration")
    );

    let doc = get_json(&issuer.discovery_url()).await;
    assert_eq!(doc["issuer"], url);
    assert_eq!(doc["jwks_uri"], issuer.jwks_uri());
    assert_eq!(doc["token_endpoint"], format!("{url}/token"));
    assert!(
        doc["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("RS256"))
    );
    assert_eq!(get_json(&issuer.jwks_uri()).await, json!({"keys": []}));

    let keys = vec![TestKey::rsa("a").jwk(), TestKey::ec_p256("b").jwk()];
    issuer.set_keys(keys.clone());
    assert_eq!(get_json(&issuer.jwks_uri()).await["keys"], json!(keys));
    assert_eq!((issuer.discovery_fetches(), issuer.jwks_fetches()), (1, 2));

    let (status, _, _) = get(&format!("{url}/token")).await.unwrap();
    assert_eq!(status, 404);
    assert_eq!((issuer.discovery_fetches(), issuer.jwks_fetches()), (1, 2));

    // Keep-alive: one client, many requests; clones share state.
    let clone = issuer.clone();
    let c = client();
    for _ in 0..5 {
        assert_eq!(c.get(clone.jwks_uri()).send().await.unwrap().status(), 200);
    }
    assert_eq!(issuer.jwks_fetches(), 7);
}

#[tokio::test]
async fn jwks_headers_and_discovery_issuer_override() {
    let issuer = Issuer::start().await;
    let (_, headers, _) = get(&issuer.jwks_uri()).await.unwrap();
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers.get("cache-control").is_none() && headers.get("expires").is_none());

    issuer.set_jwks_cache_control(Some("max-age=600"));
    issuer.set_jwks_expires(Some("Wed, 21 Oct 2037 07:28:00 GMT"));
    let (_, headers, _) = get(&issuer.jwks_uri()).await.unwrap();
    assert_eq!(headers["cache-control"], "max-age=600");
    assert_eq!(headers["expires"], "Wed, 21 Oct 2037 07:28:00 GMT");
    issuer.set_jwks_cache_control(None);
    let (_, headers, _) = get(&issuer.jwks_uri()).await.unwrap();
    assert!(headers.get("cache-control").is_none());

    issuer.set_discovery_issuer(Some("https://evil.example"));
    assert_eq!(
        get_json(&issuer.discovery_url()).await["issuer"],
        "https://evil.example"
    );
    issuer.set_discovery_issuer(None);
    assert_eq!(
        get_json(&issuer.discovery_url()).await["issuer"],
        issuer.url()
    );
}

#[tokio::test]
async fn each_fault_behaves_as_documented() {
    let issuer = Issuer::start().await;
    issuer.set_keys(vec![TestKey::rsa("a").jwk()]);
    let jwks = issuer.jwks_uri();

    issuer.set_jwks_fault(Fault::Status(503));
    let (status, _, body) = get(&jwks).await.unwrap();
    assert_eq!((status, body.len() < 100), (503, true));
    // Faults are per endpoint.
    assert_eq!(
        get_json(&issuer.discovery_url()).await["issuer"],
        issuer.url()
    );

    issuer.set_jwks_fault(Fault::Garbage);
    let (status, _, body) = get(&jwks).await.unwrap();
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");

    issuer.set_jwks_fault(Fault::Oversize(200_000));
    let (status, headers, body) = get(&jwks).await.unwrap();
    assert_eq!((status, body.len()), (200, 200_000));
    assert_eq!(headers["content-length"], "200000");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"keys": []})
    );

    issuer.set_jwks_fault(Fault::Delay(Duration::from_millis(300)));
    let start = Instant::now();
    assert_eq!(get_json(&jwks).await["keys"][0]["kid"], "a");
    assert!(start.elapsed() >= Duration::from_millis(300));

    issuer.set_jwks_fault(Fault::Close);
    let err = get(&jwks).await.unwrap_err();
    assert!(!err.is_timeout() && !err.is_status(), "{err:?}");

    issuer.set_jwks_fault(Fault::None);
    assert_eq!(get_json(&jwks).await["keys"][0]["kid"], "a");

    issuer.set_discovery_fault(Fault::Status(500));
    assert_eq!(get(&issuer.discovery_url()).await.unwrap().0, 500);
    issuer.set_discovery_fault(Fault::None);
    assert_eq!((issuer.jwks_fetches(), issuer.discovery_fetches()), (6, 2));
}

#[tokio::test]
async fn down_closes_every_path_until_back_up() {
    let issuer = Issuer::start().await;
    issuer.set_down(true);
    for url in [
        issuer.jwks_uri(),
        issuer.discovery_url(),
        format!("{}/other", issuer.url()),
    ] {
        assert!(get(&url).await.is_err(), "{url} answered while down");
    }
    assert_eq!((issuer.jwks_fetches(), issuer.discovery_fetches()), (1, 1));
    issuer.set_down(false);
    assert_eq!(get_json(&issuer.jwks_uri()).await, json!({"keys": []}));
}

#[tokio::test]
async fn dropping_the_issuer_stops_the_server() {
    let issuer = Issuer::start().await;
    let url = issuer.jwks_uri();
    assert!(get(&url).await.is_ok());
    drop(issuer);
    tokio::task::yield_now().await;
    assert!(get(&url).await.is_err());
}
