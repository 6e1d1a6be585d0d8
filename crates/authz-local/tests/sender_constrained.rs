//! Sender-constrained tokens in the local mode, end to end: the dev issuer binds tokens to a DPoP
//! proof's key or to a client certificate, the local gateway hands the proof and the certificate
//! to the real authorizer binaries of a sender-constrained API, which spend each proof once in
//! the replay table in moto's DynamoDB (`AUTHZ_DPOP_REPLAY_TABLE`), as deployed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use authz_local::gateway::CLIENT_CERT_HEADER;
use authz_local::{LocalMode, Options, REPLAY_TABLE};
use authz_testkit::tls::TestCa;
use authz_testkit::{TestKey, now};
use serde_json::{Value, json};

fn options(table: PathBuf) -> Options {
    for bin in ["token-authorizer", "request-authorizer", "http-authorizer"] {
        authz_testkit::fixtures::workspace_bin(bin);
    }
    let mut opts = Options::new(table, authz_testkit::fixtures::bin_dir());
    (opts.rest_port, opts.http_port, opts.token_port) = (0, 0, 0);
    opts.opaque = false;
    opts
}

/// The local mode's sender-constrained demo table (README "Local mode").
fn routes_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dpop-routes.json")
}

/// `url?k=v&…`, form-encoded.
fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(pairs);
    format!("{url}?{}", query.finish())
}

fn claims(token: &str) -> Value {
    let parsed = authz_core::internals::parse_jwt(token, None, &mut authz_core::Trace::default());
    Value::Object(parsed.unwrap().claims)
}

/// `(status, reason header, body)` of one call.
async fn send(req: reqwest::RequestBuilder) -> (u16, String, String) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let reason = resp
        .headers()
        .get(authz_local::gateway::REASON_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, reason, resp.text().await.unwrap())
}

/// The replay table's keys (`{jkt} {jti}`), read from moto's DynamoDB.
async fn spent(mode: &LocalMode) -> Vec<String> {
    let (status, body) = mode
        .moto
        .as_ref()
        .unwrap()
        .dynamodb("Scan", &json!({"TableName": REPLAY_TABLE}))
        .await;
    assert_eq!(status, 200, "{body}");
    body["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["proof"]["S"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_bound_tokens_from_the_dev_issuer_are_checked_and_each_proof_spent_once() {
    let mode = LocalMode::start(&options(routes_file())).await.unwrap();
    let gw = mode.gateway("solar-system").unwrap();
    assert_eq!(gw.api.cache_ttl_seconds, 0, "sender-constrained: no cache");
    assert!(mode.moto.is_some(), "the replay table's DynamoDB");
    let client = reqwest::Client::new();
    let key = TestKey::ec_p256("client");

    // The demo-token endpoint: a proof for its own method and URL binds the token to its key.
    let demo = format!("http://{}/token", mode.token_addr);
    let proof = key.dpop_token_request_proof("GET", &demo, now(), "token-1");
    let (status, _, token) = send(
        client
            .get(format!("{demo}?api=solar-system&tier=bronze"))
            .header("DPoP", &proof),
    )
    .await;
    assert_eq!(status, 200, "{token}");
    let token = token.trim().to_owned();
    assert_eq!(claims(&token)["cnf"], json!({"jkt": key.jkt()}));
    // The same token request proof again (RFC 9449 §11.1).
    let again = client.get(format!("{demo}?api=solar-system&tier=bronze"));
    let (status, _, body) = send(again.header("DPoP", &proof)).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("invalid_dpop_proof") && body.contains("dpop_replay"),
        "{body}"
    );
    // A proof for another URL (or method) is refused (RFC 9449 §5 `invalid_dpop_proof`).
    let wrong = key.dpop_token_request_proof("POST", &demo, now(), "token-2");
    let (status, _, body) = send(client.get(&demo).header("DPoP", wrong)).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("invalid_dpop_proof") && body.contains("dpop_htm_mismatch"),
        "{body}"
    );

    // The client-credentials grant at the issuer: `token_type` DPoP.
    let issuer_token = format!("{}/token", mode.issuer_url);
    let proof = key.dpop_token_request_proof("POST", &issuer_token, now(), "token-3");
    let (status, _, body) = send(
        client
            .post(&issuer_token)
            .basic_auth("solar-system-gold", Some("solar-system-gold-secret"))
            .header("DPoP", proof)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["token_type"], "DPoP");
    let gold = answer["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&gold)["cnf"]["jkt"], key.jkt());

    // Through the local gateway: the `htu` is the URL the authorizer rebuilds from the event.
    let url = format!("{}/asteroids", gw.url());
    let htu = format!("https://{}/local/asteroids", gw.addr);
    let call = |token: &str, scheme: &str, proof: Option<&str>| {
        let mut req = client
            .get(&url)
            .header("Authorization", format!("{scheme} {token}"));
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        send(req)
    };
    let proof = key.dpop_proof("GET", &htu, &token, now(), "call-1");
    let (status, _, body) = call(&token, "DPoP", Some(&proof)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        spent(&mode)
            .await
            .contains(&format!("{} call-1", key.jkt())),
        "the accepted proof is recorded in the replay table"
    );
    assert_eq!(call(&token, "DPoP", Some(&proof)).await.1, "dpop_replay");
    // A proof another execution environment accepted (only the table knows it) is refused too.
    let other = key.dpop_proof("GET", &htu, &token, now(), "call-2");
    let (status, body) = mode
        .moto
        .as_ref()
        .unwrap()
        .dynamodb(
            "PutItem",
            &json!({"TableName": REPLAY_TABLE, "Item": {
                "proof": {"S": format!("{} call-2", key.jkt())},
                "expires_at": {"N": (now() + 120).to_string()}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(call(&token, "DPoP", Some(&other)).await.1, "dpop_replay");
    // The bound token as a bearer token, without its proof, with another key's proof.
    assert_eq!(call(&token, "Bearer", None).await.1, "dpop_downgrade");
    assert_eq!(call(&token, "DPoP", None).await.1, "dpop_proof_missing");
    let thief = TestKey::ec_p384("thief").dpop_proof("GET", &htu, &token, now(), "call-3");
    assert_eq!(
        call(&token, "DPoP", Some(&thief)).await.1,
        "dpop_jkt_mismatch"
    );
    let elsewhere = key.dpop_proof(
        "GET",
        &format!("{}/asteroids", gw.url()),
        &token,
        now(),
        "c4",
    );
    assert_eq!(
        call(&token, "DPoP", Some(&elsewhere)).await.1,
        "dpop_htu_mismatch"
    );
    // `accept`: an unbound token is still a bearer token.
    let (status, _, token) = send(client.get(format!("{demo}?api=solar-system&tier=bronze"))).await;
    assert_eq!(status, 200);
    assert_eq!(call(token.trim(), "Bearer", None).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_bound_tokens_need_their_certificate_through_the_local_gateway() {
    // The demo table, its REST API requiring sender-constrained tokens.
    let mut table: Value =
        serde_json::from_str(&std::fs::read_to_string(routes_file()).unwrap()).unwrap();
    table["apis"]["pet-store"]["routes"] = json!([
        {"route": "GET /pets", "authorizer": "request", "scopes": ["read"]},
    ]);
    table["apis"]["pet-store"]["senderConstrained"] = json!("require");
    table["apis"]["pet-store"]["cacheTtlSeconds"] = json!(0);
    let dir = std::env::temp_dir().join(format!("authz-local-mtls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("routes.json");
    std::fs::write(&file, table.to_string()).unwrap();
    let mode = LocalMode::start(&options(file)).await;
    std::fs::remove_dir_all(&dir).unwrap();
    let mode = mode.unwrap();
    let client = reqwest::Client::new();
    let ca = TestCa::new();
    let (mine, another) = (ca.client_cert("mine").pem, ca.client_cert("another").pem);
    let demo = format!("http://{}/token", mode.token_addr);
    for (api, tier, path, refused) in [
        ("solar-system", "bronze", "/asteroids", 403),
        ("pet-store", "reader", "/pets", 401),
    ] {
        let (status, _, token) = send(client.get(with_query(
            &demo,
            &[("api", api), ("tier", tier), ("client_cert", mine.as_str())],
        )))
        .await;
        assert_eq!(status, 200, "{token}");
        let token = token.trim().to_owned();
        let x5t = authz_core::internals::certificate_thumbprint(&mine).unwrap();
        assert_eq!(claims(&token)["cnf"], json!({"x5t#S256": x5t}));
        let url = format!("{}{path}", mode.gateway(api).unwrap().url());
        let call = |cert: Option<String>| {
            let mut req = client.get(&url).bearer_auth(&token);
            if let Some(c) = cert {
                req = req.header(CLIENT_CERT_HEADER, c);
            }
            send(req)
        };
        let one_line = |pem: &str| pem.replace('\n', " ");
        let (status, _, body) = call(Some(one_line(&mine))).await;
        assert_eq!(status, 200, "{api}: {body}");
        // The backend does not see the dev-only header.
        assert!(!body.contains("BEGIN CERTIFICATE"), "{body}");
        let (status, reason, _) = call(Some(one_line(&another))).await;
        assert_eq!(
            (status, reason.as_str()),
            (refused, "mtls_cert_mismatch"),
            "{api}"
        );
        let (status, reason, _) = call(None).await;
        assert_eq!(
            (status, reason.as_str()),
            (refused, "mtls_cert_missing"),
            "{api}"
        );
    }
    // `require` on the REST API: a token bound to nothing is refused.
    let plain = with_query(&demo, &[("api", "pet-store"), ("tier", "reader")]);
    let (_, _, plain) = send(client.get(plain)).await;
    let url = format!("{}/pets", mode.gateway("pet-store").unwrap().url());
    let (status, reason, _) = send(client.get(&url).bearer_auth(plain.trim())).await;
    assert_eq!(
        (status, reason.as_str()),
        (401, "sender_constraint_required")
    );
    // A DPoP-bound token on the REST API: the `htu` is rebuilt from the `Host` header and
    // `requestContext.path` (the stage first).
    let key = TestKey::ed25519("client");
    let proof = key.dpop_token_request_proof("GET", &demo, now(), "rest-token");
    let bound = with_query(&demo, &[("api", "pet-store"), ("tier", "reader")]);
    let (_, _, token) = send(client.get(bound).header("DPoP", proof)).await;
    let token = token.trim();
    let gw = mode.gateway("pet-store").unwrap();
    let htu = format!("https://{}/local/pets", gw.addr);
    let dpop = |proof: String| {
        client
            .get(&url)
            .header("Authorization", format!("DPoP {token}"))
            .header("DPoP", proof)
    };
    let (status, _, body) = send(dpop(key.dpop_proof("GET", &htu, token, now(), "r1"))).await;
    assert_eq!(status, 200, "{body}");
    let wrong = format!("https://{}/pets", gw.addr);
    let (status, reason, _) = send(dpop(key.dpop_proof("GET", &wrong, token, now(), "r2"))).await;
    assert_eq!((status, reason.as_str()), (401, "dpop_htu_mismatch"));
}

/// The payload of a JWS (a DPoP proof, which the token parser refuses for its `jwk` header).
fn payload(jws: &str) -> Value {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (mut bits, mut n, mut out) = (0u32, 0, Vec::new());
    for c in jws.split('.').nth(1).unwrap().bytes() {
        let v = alphabet.iter().position(|a| *a == c).unwrap();
        bits = (bits << 6) | u32::try_from(v).unwrap();
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push(u8::try_from((bits >> n) & 0xff).unwrap());
        }
    }
    serde_json::from_slice(&out).unwrap()
}

fn authz_local(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_authz-local"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn the_dpop_proof_command_and_the_sender_constrained_flag() {
    let dir = std::env::temp_dir().join(format!("authz-local-dpop-cli-{}", std::process::id()));
    let key = dir.join("key.pem");
    let key = key.to_str().unwrap();
    let url = "https://127.0.0.1:3001/local/asteroids";
    let out = authz_local(&[
        "dpop-proof",
        "--key",
        key,
        "--method",
        "GET",
        "--url",
        url,
        "--token",
        "a.b.c",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let proof = String::from_utf8(out.stdout).unwrap();
    let claims = payload(proof.trim());
    assert_eq!(claims["htm"], "GET");
    assert_eq!(claims["htu"], url);
    assert_eq!(
        claims["ath"],
        authz_core::internals::access_token_hash("a.b.c")
    );
    // Without --token: a token request's proof, which the dev issuer's check accepts.
    let out = authz_local(&["dpop-proof", "--key", key, "--method", "POST", "--url", url]);
    let proof = String::from_utf8(out.stdout).unwrap();
    #[allow(clippy::cast_precision_loss)]
    let verified =
        authz_core::verify_token_request_proof(proof.trim(), "POST", url, now() as f64, 60.0, 5.0);
    assert!(verified.is_ok(), "{verified:?}");
    std::fs::remove_dir_all(&dir).unwrap();
    let out = authz_local(&["dpop-proof", "--key", key, "--method", "GET"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--url is required"));

    let out = authz_local(&["--sender-constrained", "solar-system=maybe"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("API=MODE, MODE off, accept or require"));
    let out = authz_local(&[
        "--sender-constrained",
        "nowhere=accept",
        "--no-opaque",
        "--rest-port",
        "0",
        "--http-port",
        "0",
        "--token-port",
        "0",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the route table has no API \"nowhere\""),
        "{stderr}"
    );
    // The flag sets the table's key, and the table is then checked as synth checks it: the
    // shipped solar-system API has a native JWT route (it sees no proof) and a cache.
    let ports = ["--rest-port", "0", "--http-port", "0", "--token-port", "0"];
    let out = authz_local(
        &[
            &["--sender-constrained", "solar-system=accept", "--no-opaque"][..],
            &ports,
        ]
        .concat(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("the native JWT authorizer cannot check DPoP proofs"),
        "{stderr}"
    );
    let demo = routes_file();
    let out = authz_local(
        &[
            &[
                "--routes",
                demo.to_str().unwrap(),
                "--cache-ttl",
                "300",
                "--no-opaque",
            ][..],
            &ports,
        ]
        .concat(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("AUTHZ_SENDER_CONSTRAINED `accept`")
            && stderr.contains("cacheTtlSeconds to 0"),
        "{stderr}"
    );
}
