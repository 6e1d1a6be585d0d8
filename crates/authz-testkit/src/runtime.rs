//! A Lambda Runtime API emulator on `127.0.0.1` and a runner for function processes.

use std::collections::HashMap;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{
    Arc, Mutex, OnceLock,
    atomic::{AtomicU64, AtomicUsize, Ordering},
};
use std::time::{Duration, Instant, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{Notify, mpsc, oneshot, watch};

use crate::server::{Reply, Server, lock, response, serve};

const PREFIX: &str = "/2018-06-01/runtime/";
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:test-fn";
const TRACE_ID: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";

/// How the function answered one invocation.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The body POSTed to `/invocation/{id}/response` (as a JSON string if it is not JSON).
    Response(Value),
    /// The body POSTed to `/invocation/{id}/error`. `error_type` falls back to the
    /// `Lambda-Runtime-Function-Error-Type` header and `error_message` to the raw body when the
    /// body is not the usual `{"errorType","errorMessage"}` JSON.
    Error {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        error_message: String,
    },
}

/// An emulator of the Lambda Runtime API (`/2018-06-01/runtime/...`) on `127.0.0.1`.
///
/// `/invocation/next` long-polls until [`RuntimeApi::invoke`] queues an event; several
/// invocations may be queued and any number of connections may poll. Cheap to clone; the
/// server stops when the last clone is dropped.
#[derive(Clone)]
pub struct RuntimeApi(Arc<ApiInner>);

struct ApiInner {
    state: Arc<State>,
    endpoint: String,
    _server: Server,
}

struct State {
    queue_tx: mpsc::UnboundedSender<Invocation>,
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    /// When each invocation in flight was handed out by `/invocation/next`.
    delivered: Mutex<HashMap<String, Instant>>,
    /// When the first `/invocation/next` poll came in: the end of the function's init.
    first_poll: OnceLock<Instant>,
    init_error: watch::Sender<Option<(String, String)>>,
    next_requests: AtomicUsize,
    deadline_ms: AtomicU64,
}

struct Invocation {
    id: String,
    body: Bytes,
}

/// An answer with its duration as Lambda bills it: from the event handed out by
/// `/invocation/next` to the answer received.
type Answer = (Outcome, Option<Duration>);

impl std::fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let endpoint = &self.0.endpoint;
        f.debug_struct("RuntimeApi")
            .field("endpoint", endpoint)
            .finish_non_exhaustive()
    }
}

impl RuntimeApi {
    /// Binds `127.0.0.1:0` and serves in a background task on the current tokio runtime.
    pub async fn start() -> RuntimeApi {
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            pending: Mutex::default(),
            delivered: Mutex::default(),
            first_poll: OnceLock::new(),
            init_error: watch::Sender::new(None),
            next_requests: AtomicUsize::new(0),
            deadline_ms: AtomicU64::new(10_000),
        });
        let served = state.clone();
        let server = serve(move |req| handle(served.clone(), req)).await;
        let endpoint = server.addr.to_string();
        RuntimeApi(Arc::new(ApiInner {
            state,
            endpoint,
            _server: server,
        }))
    }

    /// `127.0.0.1:PORT`, the value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn endpoint(&self) -> String {
        self.0.endpoint.clone()
    }

    /// Sets the time budget announced in `Lambda-Runtime-Deadline-Ms` (now + `deadline`) for
    /// later invocations. Default 10 s.
    pub fn set_deadline(&self, deadline: Duration) {
        let ms = u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX);
        self.0.state.deadline_ms.store(ms, Ordering::Relaxed);
    }

    /// Queues one event (raw bytes, so malformed JSON can be sent) under a fresh request id and
    /// waits for the function's answer. Errors with a clear message after `timeout`; an event
    /// not yet picked up by then is withdrawn.
    pub async fn invoke_raw(&self, body: Vec<u8>, timeout: Duration) -> Result<Outcome, String> {
        self.invoke_timed(body, timeout)
            .await
            .map(|(outcome, _)| outcome)
    }

    /// [`RuntimeApi::invoke_raw`], with the invocation's duration as Lambda measures (and
    /// bills) it: from the event handed out by `/invocation/next` to the answer POSTed back
    /// (`None` only if the answer came for an event this emulator did not hand out).
    pub async fn invoke_timed(
        &self,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<(Outcome, Option<Duration>), String> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:08x}-0000-4000-8000-{n:012x}", std::process::id());
        let state = &self.0.state;
        let (tx, rx) = oneshot::channel();
        lock(&state.pending).insert(id.clone(), tx);
        let invocation = Invocation {
            id: id.clone(),
            body: body.into(),
        };
        state
            .queue_tx
            .send(invocation)
            .expect("the receiver lives in State");
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            _ => {
                lock(&state.pending).remove(&id);
                lock(&state.delivered).remove(&id);
                let polls = self.next_requests();
                Err(format!(
                    "no answer from the function within {timeout:?} for request {id} \
                     ({polls} /next polls received so far)"
                ))
            }
        }
    }

    /// [`RuntimeApi::invoke_raw`] of the serialized `event` with a 10 s timeout.
    ///
    /// # Panics
    /// On timeout, with a clear message.
    pub async fn invoke(&self, event: &Value) -> Outcome {
        let body = serde_json::to_vec(event).expect("event serializes");
        let result = self.invoke_raw(body, Duration::from_secs(10)).await;
        result.unwrap_or_else(|e| panic!("RuntimeApi::invoke: {e}"))
    }

    /// Waits up to `timeout` for a POST to `/runtime/init/error` (or returns the one already
    /// received) and returns its `(errorType, errorMessage)`.
    pub async fn init_error(&self, timeout: Duration) -> Option<(String, String)> {
        let mut rx = self.0.state.init_error.subscribe();
        let seen = tokio::time::timeout(timeout, rx.wait_for(Option::is_some)).await;
        seen.ok()?.ok()?.clone()
    }

    /// When the first `/invocation/next` poll came in: the end of the function's init phase.
    pub fn first_poll(&self) -> Option<Instant> {
        self.0.state.first_poll.get().copied()
    }

    /// How many `/invocation/next` polls were received (proves the function is polling).
    pub fn next_requests(&self) -> usize {
        self.0.state.next_requests.load(Ordering::SeqCst)
    }
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Reply {
    let route = req.uri().path().strip_prefix(PREFIX).unwrap_or_default();
    if req.method() == Method::GET && route == "invocation/next" {
        return Ok(next(&state).await);
    }
    let (action, id) = match route
        .strip_prefix("invocation/")
        .and_then(|r| r.rsplit_once('/'))
    {
        Some((id, "response")) => ("response", id.to_owned()),
        Some((id, "error")) => ("error", id.to_owned()),
        _ if route == "init/error" => ("init", String::new()),
        _ => {
            return Ok(response(
                StatusCode::NOT_FOUND,
                "text/plain",
                "no such route",
            ));
        }
    };
    let header = req.headers().get("lambda-runtime-function-error-type");
    let error_type = String::from_utf8_lossy(header.map_or(&b""[..], |v| v.as_bytes()));
    let error_type = error_type.into_owned();
    let body = req.into_body().collect().await.map(|b| b.to_bytes());
    let body = body.unwrap_or_default();
    let text = || String::from_utf8_lossy(&body).into_owned();
    let diagnostic = || {
        let diag: Value = serde_json::from_slice(&body).unwrap_or_default();
        let field = |name: &str| diag.get(name).and_then(Value::as_str).map(str::to_owned);
        let message = field("errorMessage").unwrap_or_else(text);
        (field("errorType").unwrap_or(error_type), message)
    };
    let outcome = match action {
        "init" => {
            state.init_error.send_replace(Some(diagnostic()));
            return Ok(accepted());
        }
        "response" => Outcome::Response(
            serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(text())),
        ),
        _ => {
            let (error_type, error_message) = diagnostic();
            Outcome::Error {
                error_type,
                error_message,
            }
        }
    };
    let duration = lock(&state.delivered).remove(&id).map(|at| at.elapsed());
    // An answer to a withdrawn (timed-out) invocation is accepted and dropped.
    if let Some(tx) = lock(&state.pending).remove(&id) {
        let _ = tx.send((outcome, duration));
    }
    Ok(accepted())
}

fn accepted() -> http::Response<http_body_util::Full<Bytes>> {
    response(StatusCode::ACCEPTED, "application/json", "{}")
}

/// Long-polls the queue for the next live invocation and hands it out with Lambda's headers.
async fn next(state: &State) -> http::Response<http_body_util::Full<Bytes>> {
    let _ = state.first_poll.set(Instant::now());
    state.next_requests.fetch_add(1, Ordering::SeqCst);
    // Cancel-safe: if the function's connection drops while waiting, no event is lost.
    let mut queue = state.queue_rx.lock().await;
    let invocation = loop {
        let invocation = queue.recv().await.expect("sender lives in State");
        if lock(&state.pending).contains_key(&invocation.id) {
            break invocation;
        }
    };
    drop(queue);
    let now_ms = u64::try_from(UNIX_EPOCH.elapsed().unwrap_or_default().as_millis());
    let now_ms = now_ms.unwrap_or(u64::MAX);
    let deadline = now_ms.saturating_add(state.deadline_ms.load(Ordering::Relaxed));
    let mut resp = response(StatusCode::OK, "application/json", invocation.body);
    let headers = resp.headers_mut();
    let id = HeaderValue::from_str(&invocation.id).expect("ascii id");
    headers.insert("lambda-runtime-aws-request-id", id);
    headers.insert("lambda-runtime-deadline-ms", HeaderValue::from(deadline));
    let arn = HeaderValue::from_static(FUNCTION_ARN);
    headers.insert("lambda-runtime-invoked-function-arn", arn);
    let trace = HeaderValue::from_static(TRACE_ID);
    headers.insert("lambda-runtime-trace-id", trace);
    lock(&state.delivered).insert(invocation.id, Instant::now());
    resp
}

/// A real Lambda function process (any executable speaking the Runtime API) attached to its
/// own [`RuntimeApi`], with its stdout and stderr captured line by line.
///
/// The child is killed when this is dropped.
pub struct LambdaProcess {
    api: RuntimeApi,
    logs: Arc<Logs>,
    exit: watch::Receiver<Option<ExitStatus>>,
    pid: u32,
    /// Invocations answered by the function's own handler (not by the runtime's event
    /// deserialization): each one wrote its log lines before answering.
    handled: AtomicUsize,
    /// Owns the child (`kill_on_drop`); aborting it on drop kills the process.
    waiter: tokio::task::JoinHandle<()>,
}

/// Captured lines kept per process (about 250 bytes each for decision lines).
pub const MAX_LOG_LINES: usize = 50_000;

/// Receives every line any [`LambdaProcess`] of this program writes, with its pid, as it
/// arrives (the local mode prints them, prefixed by function).
pub type LogSink = Arc<dyn Fn(u32, &str) + Send + Sync>;

static LOG_SINK: std::sync::OnceLock<LogSink> = std::sync::OnceLock::new();

/// Installs the program's [`LogSink`] (once; `false` if one was installed already).
pub fn set_log_sink(sink: LogSink) -> bool {
    LOG_SINK.set(sink).is_ok()
}

#[derive(Default)]
struct Logs {
    lines: Mutex<Vec<String>>,
    added: Notify,
}

impl Logs {
    fn contains(&self, needle: &str) -> bool {
        lock(&self.lines).iter().any(|line| line.contains(needle))
    }
}

impl std::fmt::Debug for LambdaProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let endpoint = self.api.endpoint();
        f.debug_struct("LambdaProcess")
            .field("pid", &self.pid)
            .field("api", &endpoint)
            .finish()
    }
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        self.waiter.abort();
    }
}

impl LambdaProcess {
    /// Starts `program` attached to a fresh [`RuntimeApi`]. The environment is cleared except
    /// `PATH` and `HOME`, then gets `AWS_LAMBDA_RUNTIME_API`, `AWS_LAMBDA_FUNCTION_NAME=test-fn`,
    /// `AWS_LAMBDA_FUNCTION_VERSION=$LATEST`, `AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128`,
    /// `AWS_REGION=us-east-1`, then `env` (which wins). Output lines are echoed to stderr when
    /// `AUTHZ_TESTKIT_ECHO` is set.
    ///
    /// # Panics
    /// If the program cannot be started.
    pub async fn spawn(program: &Path, env: &[(&str, &str)]) -> LambdaProcess {
        Self::spawn_cmd(program, &[], env).await
    }

    /// [`LambdaProcess::spawn`] with command-line arguments (e.g. `node bootstrap.js`).
    pub async fn spawn_cmd(program: &Path, args: &[&str], env: &[(&str, &str)]) -> LambdaProcess {
        let api = RuntimeApi::start().await;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args).env_clear();
        // No stdin watchdog here (the binaries are the shipped ones): a function exits when its
        // Runtime API, served by this process, is gone.
        for name in ["PATH", "HOME", crate::procs::RUN_VAR] {
            if let Some(value) = std::env::var_os(name) {
                cmd.env(name, value);
            }
        }
        cmd.env("AWS_LAMBDA_RUNTIME_API", api.endpoint())
            .env("AWS_LAMBDA_FUNCTION_NAME", "test-fn")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_REGION", "us-east-1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("LambdaProcess: cannot start {}: {e}", program.display()));
        let pid = child.id().expect("running child has a pid");
        let logs = Arc::new(Logs::default());
        let echo = std::env::var_os("AUTHZ_TESTKIT_ECHO").is_some();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        tokio::spawn(capture(stdout, logs.clone(), echo, pid));
        tokio::spawn(capture(stderr, logs.clone(), echo, pid));
        let (exit_tx, exit) = watch::channel(None);
        let waiter = tokio::spawn(async move {
            let status = child.wait().await.ok();
            exit_tx.send_replace(status);
        });
        LambdaProcess {
            api,
            logs,
            exit,
            pid,
            handled: AtomicUsize::new(0),
            waiter,
        }
    }

    /// Sends the process SIGKILL now and returns once it is sent, where dropping only schedules
    /// that (on a single-threaded runtime, for the next time the runtime gets control).
    pub async fn kill(&mut self) {
        self.waiter.abort();
        let _ = (&mut self.waiter).await;
    }

    /// The emulator this process is attached to.
    pub fn api(&self) -> &RuntimeApi {
        &self.api
    }

    /// Invokes with `event` (10 s timeout).
    ///
    /// # Panics
    /// If no answer comes in time or the process exits first; the message includes its logs.
    pub async fn invoke(&self, event: &Value) -> Outcome {
        let body = serde_json::to_vec(event).expect("event serializes");
        let result = self.invoke_raw(body, Duration::from_secs(10)).await;
        result.unwrap_or_else(|e| panic!("LambdaProcess::invoke: {e}"))
    }

    /// [`RuntimeApi::invoke_raw`], failing early if the process exits before answering. Error
    /// messages end with the last captured log lines.
    pub async fn invoke_raw(&self, body: Vec<u8>, timeout: Duration) -> Result<Outcome, String> {
        self.invoke_timed(body, timeout)
            .await
            .map(|(outcome, _)| outcome)
    }

    /// [`LambdaProcess::invoke_raw`] with the billed-duration measure of
    /// [`RuntimeApi::invoke_timed`].
    pub async fn invoke_timed(
        &self,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<(Outcome, Option<Duration>), String> {
        let mut exit = self.exit.clone();
        let result = tokio::select! {
            biased;
            result = self.api.invoke_timed(body, timeout) => result,
            Ok(status) = exit.wait_for(Option::is_some) => {
                Err(format!("function process exited ({:?}) before answering", *status))
            }
        };
        if let Ok((outcome, _)) = &result
            && !matches!(outcome, Outcome::Error { error_type, .. } if error_type.contains("DeserializeError"))
        {
            self.handled.fetch_add(1, Ordering::SeqCst);
        }
        result.map_err(|e| {
            let logs = self.logs();
            let tail = logs[logs.len().saturating_sub(20)..].join("\n  ");
            format!("{e}; last log lines of pid {}:\n  {tail}", self.pid)
        })
    }

    /// How many invocations the function's own handler answered so far (an event the runtime
    /// could not deserialize is answered without reaching the handler).
    pub fn handled(&self) -> usize {
        self.handled.load(Ordering::SeqCst)
    }

    /// The stdout and stderr lines captured so far (interleaved in arrival order): all of them
    /// up to [`MAX_LOG_LINES`]; past that the oldest half is dropped.
    pub fn logs(&self) -> Vec<String> {
        lock(&self.logs.lines).clone()
    }

    /// Waits up to `timeout` for a captured line containing `needle`.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let added = self.logs.added.notified();
            tokio::pin!(added);
            added.as_mut().enable();
            if self.logs.contains(needle) {
                return true;
            }
            if tokio::time::timeout_at(deadline, added).await.is_err() {
                return self.logs.contains(needle);
            }
        }
    }

    /// Waits up to `timeout` for the process to exit and returns its status.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let exited = tokio::time::timeout(timeout, self.exit.wait_for(Option::is_some)).await;
        *exited.ok()?.ok()?
    }

    /// Waits (up to 10 s each) for the cold start to fail as a bad configuration must: a
    /// `Runtime.ConfigError` reported to `/runtime/init/error`, then an exit with a failure
    /// status. Returns the reported message.
    ///
    /// # Panics
    /// If either does not happen, with `what` and the captured logs.
    pub async fn config_error(&mut self, what: &str) -> String {
        const WAIT: Duration = Duration::from_secs(10);
        let Some((error_type, message)) = self.api.init_error(WAIT).await else {
            panic!("{what}: no init error; logs {:#?}", self.logs());
        };
        assert_eq!(error_type, "Runtime.ConfigError", "{what}: {message}");
        let status = self.wait_exit(WAIT).await;
        assert!(
            status.is_some_and(|s| !s.success()),
            "{what}: exit status {status:?}"
        );
        message
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

/// Copies `stream` line by line into `logs` until EOF.
async fn capture(stream: impl AsyncRead + Unpin, logs: Arc<Logs>, echo: bool, pid: u32) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line).await.unwrap_or(0) > 0 {
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']).to_owned();
        if echo {
            eprintln!("[fn] {text}");
        }
        if let Some(sink) = LOG_SINK.get() {
            sink(pid, &text);
        }
        {
            let mut lines = lock(&logs.lines);
            if lines.len() >= MAX_LOG_LINES {
                // A long-running local mode must not grow without bound: drop the oldest half.
                lines.drain(..MAX_LOG_LINES / 2);
            }
            lines.push(text);
        }
        logs.added.notify_waiters();
        line.clear();
    }
}
