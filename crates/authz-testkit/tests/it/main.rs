//! The integration tests of the testkit itself, one test binary (one link instead of one per
//! file): a module per piece of machinery.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The real external components: npm oidc-provider and moto_server.
mod external;
/// The loopback OIDC issuer: documents, counters, headers, faults.
mod issuer;
/// Test keys and the forged-token helpers.
mod keys;
/// Test-started processes end with their starter; the leftover check of `scripts/test.sh`.
mod procs;
/// The Lambda Runtime API emulator and `LambdaProcess`.
mod runtime;

use std::time::Duration;

use authz_testkit::fixtures::status_and_body;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::Value;

/// A client for the loopback servers under test: no proxy, a 5 s timeout (a hang fails).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// `GET url`, which must answer 200 with a JSON body.
async fn get_json(url: &str) -> Value {
    let resp = client().get(url).send().await.unwrap();
    let status = resp.status();
    let body = resp.text().await.unwrap();
    assert_eq!(status, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// `POST url` with the form `form` (and `authorization` when given): the status and the body as
/// JSON (a string when it is not JSON).
async fn post(url: &str, authorization: Option<&str>, form: &[(&str, &str)]) -> (u16, Value) {
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        body.append_pair(k, v);
    }
    let mut req = client()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.finish());
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    status_and_body(req.send().await.unwrap()).await
}

/// Segment `index` (0 header, 1 claims) of a JWT, decoded as JSON.
fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}
