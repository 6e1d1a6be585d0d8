//! Minimal loopback HTTP/1.1 (or HTTPS) server shared by the issuer, the Runtime API emulator
//! and the local mode's gateway.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};
use std::{future::Future, net::Ipv4Addr, net::SocketAddr, time::Duration, time::Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, task::JoinSet};
use tokio_rustls::{TlsAcceptor, rustls::ServerConfig};

/// How long a TLS client may take to finish its handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a handler returns: a response, or `Err(Hangup)` to drop the connection unanswered.
pub type Reply = Result<Response<Full<Bytes>>, Hangup>;

/// Returned by a handler to close the connection without writing any response.
#[derive(Debug)]
pub struct Hangup;

impl std::fmt::Display for Hangup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed by fault injection")
    }
}

impl std::error::Error for Hangup {}

/// A running server; dropping it stops the accept loop and every open connection.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `127.0.0.1:0` and serves HTTP/1.1 (keep-alive, TCP_NODELAY) with `handler` in a task
/// spawned onto the current tokio runtime.
pub(crate) async fn serve<H, F>(handler: H) -> Server
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    serve_on(None, Arc::default(), handler).await
}

/// [`serve`], over TLS when `tls` is given: each handshake completes in the connection's own
/// task (bounded by [`HANDSHAKE_TIMEOUT`]); a failed one (e.g. the client does not trust the CA)
/// just closes that connection.
pub(crate) async fn serve_on<H, F>(
    tls: Option<Arc<ServerConfig>>,
    accepts: Arc<Accepts>,
    handler: H,
) -> Server
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("authz-testkit: cannot bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("authz-testkit: local_addr");
    let task = tokio::spawn(serve_counted(listener, tls, accepts, handler));
    Server { addr, task }
}

/// What a server's accept loop saw: connections accepted (each one TLS handshake on an HTTPS
/// server) and when the first one since the last [`Accepts::reset`] came in.
#[derive(Debug, Default)]
pub(crate) struct Accepts {
    count: AtomicUsize,
    first: Mutex<Option<Instant>>,
}

impl Accepts {
    fn record(&self) {
        let now = Instant::now();
        self.count.fetch_add(1, Ordering::SeqCst);
        lock(&self.first).get_or_insert(now);
    }

    /// Connections accepted since the server started.
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// When the first connection since the last [`Accepts::reset`] was accepted.
    pub(crate) fn first(&self) -> Option<Instant> {
        *lock(&self.first)
    }

    /// Forgets [`Accepts::first`] (the count keeps going).
    pub(crate) fn reset(&self) {
        *lock(&self.first) = None;
    }
}

/// Serves HTTP/1.1 (keep-alive, TCP_NODELAY; over TLS when `tls` is given) on `listener` with
/// `handler` until the future is dropped; dropping it drops every open connection too.
pub async fn serve_listener<H, F>(listener: TcpListener, tls: Option<Arc<ServerConfig>>, handler: H)
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    serve_counted(listener, tls, Arc::default(), handler).await;
}

/// [`serve_listener`], recording every accepted connection in `accepts`.
async fn serve_counted<H, F>(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    accepts: Arc<Accepts>,
    handler: H,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    let acceptor = tls.map(TlsAcceptor::from);
    // Connection tasks live in this set, so dropping the accept loop drops them all.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                accepts.record();
                // Nagle + delayed ACK would add ~40 ms stalls on loopback.
                let _ = stream.set_nodelay(true);
                let (handler, acceptor) = (handler.clone(), acceptor.clone());
                connections.spawn(async move {
                    let http = http1::Builder::new().keep_alive(true).clone();
                    match acceptor {
                        None => {
                            let _ = http.serve_connection(TokioIo::new(stream), service_fn(handler)).await;
                        }
                        Some(acceptor) => {
                            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                            let Ok(Ok(tls)) = handshake.await else { return };
                            let _ = http.serve_connection(TokioIo::new(tls), service_fn(handler)).await;
                        }
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Locks `mutex`, ignoring poisoning (the guarded data stays consistent: every critical section
/// of the testkit and the local mode is a plain read or insert).
pub fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A response with `status`, a content type and `body`.
pub fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    resp
}
