//! The Runtime API emulator, driven by hand and by real processes.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use authz_testkit::{LambdaProcess, Outcome, RuntimeApi};
use serde_json::json;

use super::client;

const ECHO: &str = env!("CARGO_BIN_EXE_authz-testkit-echo");
const SEC: Duration = Duration::from_secs(1);

fn url(api: &RuntimeApi, path: &str) -> String {
    format!("http://{}/2018-06-01/runtime/{path}", api.endpoint())
}

#[tokio::test(flavor = "multi_thread")]
async fn emulator_speaks_the_runtime_api() {
    let api = RuntimeApi::start().await;
    assert!(api.endpoint().starts_with("127.0.0.1:"));
    let c = client();

    let invoker = api.clone();
    let pending = tokio::spawn(async move { invoker.invoke(&json!({"a": 1})).await });
    let next = c.get(url(&api, "invocation/next")).send().await.unwrap();
    assert_eq!(next.status(), 200);
    let h = next.headers().clone();
    let id = h["lambda-runtime-aws-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let deadline: u128 = h["lambda-runtime-deadline-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(
        deadline > now_ms + 9_000 && deadline <= now_ms + 10_000,
        "{deadline} vs {now_ms}"
    );
    assert_eq!(
        h["lambda-runtime-invoked-function-arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:test-fn"
    );
    assert!(
        h["lambda-runtime-trace-id"]
            .to_str()
            .unwrap()
            .starts_with("Root=")
    );
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&next.bytes().await.unwrap()).unwrap(),
        json!({"a": 1})
    );
    let done = c
        .post(url(&api, &format!("invocation/{id}/response")))
        .body(r#"{"ok":true}"#);
    assert_eq!(done.send().await.unwrap().status(), 202);
    assert_eq!(
        pending.await.unwrap(),
        Outcome::Response(json!({"ok": true}))
    );

    // Raw (malformed) event bodies pass through; errors come back as Outcome::Error.
    api.set_deadline(Duration::from_secs(3));
    let invoker = api.clone();
    let pending = tokio::spawn(async move { invoker.invoke_raw(b"{nope".to_vec(), SEC * 5).await });
    let next = c.get(url(&api, "invocation/next")).send().await.unwrap();
    let id2 = next.headers()["lambda-runtime-aws-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let deadline: u128 = next.headers()["lambda-runtime-deadline-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(deadline <= now_ms + 4_000);
    assert_ne!(id, id2, "request ids must be fresh");
    assert_eq!(next.bytes().await.unwrap().as_ref(), b"{nope");
    let error = json!({"errorType": "Bad", "errorMessage": "boom"}).to_string();
    c.post(url(&api, &format!("invocation/{id2}/error")))
        .body(error)
        .send()
        .await
        .unwrap();
    let expected = Outcome::Error {
        error_type: "Bad".into(),
        error_message: "boom".into(),
    };
    assert_eq!(pending.await.unwrap().unwrap(), expected);
    assert_eq!(api.next_requests(), 2);
    let unknown = c
        .get(url(&api, "invocation/x/whatever"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn next_long_polls_survives_reconnects_and_skips_withdrawn_events() {
    let api = RuntimeApi::start().await;
    let c = client();
    // Nothing queued: /next blocks; the client gives up and drops the connection.
    let poll = c
        .get(url(&api, "invocation/next"))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(poll.unwrap_err().is_timeout());
    // An invocation nobody picks up times out with a clear message and is withdrawn.
    let err = api
        .invoke_raw(b"{\"stale\":true}".to_vec(), Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(err.contains("no answer from the function within"), "{err}");
    // A fresh connection gets the next live event, not the withdrawn one.
    let invoker = api.clone();
    let pending = tokio::spawn(async move { invoker.invoke(&json!({"fresh": true})).await });
    let next = c.get(url(&api, "invocation/next")).send().await.unwrap();
    let id = next.headers()["lambda-runtime-aws-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&next.bytes().await.unwrap()).unwrap(),
        json!({"fresh": true})
    );
    c.post(url(&api, &format!("invocation/{id}/response")))
        .body("plain text")
        .send()
        .await
        .unwrap();
    assert_eq!(
        pending.await.unwrap(),
        Outcome::Response(json!("plain text"))
    );
    assert_eq!(api.next_requests(), 2);
}

#[tokio::test]
async fn init_error_is_reported() {
    let api = RuntimeApi::start().await;
    assert_eq!(api.init_error(Duration::from_millis(50)).await, None);
    let body = json!({"errorType": "Runtime.InitError", "errorMessage": "bad config"}).to_string();
    let resp = client()
        .post(url(&api, "init/error"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let expected = Some(("Runtime.InitError".to_owned(), "bad config".to_owned()));
    assert_eq!(api.init_error(SEC).await, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn echo_process_end_to_end() {
    let env = [("GREETING", "hi"), ("AWS_REGION", "eu-west-1")];
    let f = LambdaProcess::spawn(Path::new(ECHO), &env).await;
    assert!(f.pid() > 0);
    assert!(
        f.wait_for_log("authz-testkit-echo ready", SEC * 10).await,
        "{:?}",
        f.logs()
    );
    assert_eq!(
        f.invoke(&json!({"hello": "world"})).await,
        Outcome::Response(json!({"hello": "world"}))
    );

    let bad = f.invoke_raw(b"{not json".to_vec(), SEC * 10).await.unwrap();
    assert!(matches!(bad, Outcome::Error { .. }), "{bad:?}");
    let Outcome::Error { error_message, .. } = f.invoke(&json!({"fail": "nope"})).await else {
        panic!()
    };
    assert_eq!(error_message, "nope");
    assert_eq!(
        f.invoke(&json!([1, 2])).await,
        Outcome::Response(json!([1, 2]))
    );

    for (name, value) in [
        ("GREETING", json!("hi")),
        ("AWS_REGION", json!("eu-west-1")), // `env` wins over the defaults
        ("AWS_LAMBDA_FUNCTION_NAME", json!("test-fn")),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", json!("128")),
        ("CARGO_MANIFEST_DIR", json!(null)), // the environment is cleared
    ] {
        assert_eq!(
            f.invoke(&json!({"env": name})).await,
            Outcome::Response(json!({"env": value})),
            "{name}"
        );
    }

    f.invoke(&json!({"log": "marker-42"})).await;
    assert!(f.wait_for_log("marker-42", SEC).await);
    assert!(f.logs().iter().any(|l| l == "marker-42"));
    assert!(
        !f.wait_for_log("never-printed", Duration::from_millis(50))
            .await
    );
    assert!(f.api().next_requests() >= 9);

    // Many invocations in a row on one process (speed is measured by the bench, not here).
    for i in 0..50 {
        assert_eq!(f.invoke(&json!(i)).await, Outcome::Response(json!(i)));
    }
}

#[tokio::test]
async fn process_exit_is_detected() {
    let mut f = LambdaProcess::spawn(Path::new(ECHO), &[]).await;
    let err = f
        .invoke_raw(br#"{"exit": 3}"#.to_vec(), SEC * 10)
        .await
        .unwrap_err();
    assert!(
        err.contains("exited") && err.contains("authz-testkit-echo ready"),
        "{err}"
    );
    assert_eq!(f.wait_exit(SEC).await.unwrap().code(), Some(3));
}

#[tokio::test]
async fn spawn_cmd_captures_both_streams() {
    let script = "echo out-line; echo err-line >&2; echo \"$AWS_LAMBDA_RUNTIME_API\"; exit 7";
    let mut f = LambdaProcess::spawn_cmd(Path::new("/bin/sh"), &["-c", script], &[]).await;
    assert_eq!(f.wait_exit(SEC * 5).await.unwrap().code(), Some(7));
    assert!(f.wait_for_log(&f.api().endpoint(), SEC).await);
    let logs = f.logs();
    assert!(
        logs.contains(&"out-line".to_owned()) && logs.contains(&"err-line".to_owned()),
        "{logs:?}"
    );
    // Killed on drop: a long-running child does not outlive its handle.
    let f = LambdaProcess::spawn_cmd(Path::new("/bin/sh"), &["-c", "exec sleep 30"], &[]).await;
    let pid = f.pid();
    drop(f);
    let gone = async {
        while Path::new(&format!("/proc/{pid}/stat")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z")
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(SEC * 5, gone)
        .await
        .expect("child still running after drop");
}
