//! The accept loop and what every connection goes through before the router sees a request:
//! the per-address connection limit (503), TLS when the web config turns it on, the per-address
//! and server-wide request rates (429), the client address for the API's own checks, and the
//! web config's response headers.
//!
//! Refusals here are cheap on purpose: a flood is answered without touching the router, the
//! engine or `/metrics`, and counted in `zigquant_api_limited_total{limit}`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use zigquant_metrics::labels::{Limit, LimitLabels};
use zigquant_metrics::Catalogue;

use crate::api::ApiError;
use crate::limits::{ClientLimits, RetryAfter};
use crate::web_config::LiveWebConfig;

/// How long a client may take to send a whole request head (request line and headers), and how
/// long a keep-alive connection may sit idle before its next request head starts to arrive.
/// Without it a client that never finishes its headers (slowloris) or never sends any keeps its
/// connection, task and file descriptor forever: `axum::serve` (0.8) gives hyper no timer, so
/// hyper's own 30 s default never applies. Scrapers and API clients send a head in one write.
/// The TLS handshake gets the same time.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait for in-flight requests at shutdown before their connections are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The peer address of the connection a request came on (a request extension).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

/// What the production server checks per connection and request; benchmarks run without it.
pub struct Guard {
    /// Per-address limits (shared with the API's auth-failure limit).
    pub limits: Arc<ClientLimits>,
    /// The web config (TLS, headers, server-wide rate), when one is given.
    pub web: Option<Arc<LiveWebConfig>>,
    /// For `zigquant_api_limited_total`.
    pub catalogue: Arc<Catalogue>,
    /// The web config's server-wide `rate_limit` bucket: (tokens, last refill).
    server_rate: Mutex<(f64, Instant)>,
}

impl Guard {
    /// A guard over these limits and web config.
    pub fn new(
        limits: Arc<ClientLimits>,
        web: Option<Arc<LiveWebConfig>>,
        catalogue: Arc<Catalogue>,
    ) -> Self {
        Self {
            limits,
            web,
            catalogue,
            server_rate: Mutex::new((f64::MAX, Instant::now())),
        }
    }

    fn limited(&self, limit: Limit) {
        self.catalogue
            .api_limited_total
            .get(&LimitLabels { limit })
            .inc();
    }

    /// The toolkit's `rate_limit`: one bucket for the whole server.
    fn server_rate_allows(&self, burst: u32, every: Duration) -> Result<(), RetryAfter> {
        let mut bucket = self.server_rate.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let capacity = f64::from(burst.max(1));
        let refill = now.duration_since(bucket.1).as_secs_f64() / every.as_secs_f64();
        bucket.0 = (bucket.0.min(capacity) + refill).min(capacity);
        bucket.1 = now;
        if bucket.0 >= 1.0 {
            bucket.0 -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.0) * every.as_secs_f64();
            Err(RetryAfter(wait.ceil().max(1.0) as u64))
        }
    }
}

/// 429 with `Retry-After` and the API's JSON error body.
pub fn too_many_requests(message: &str, retry: RetryAfter) -> Response {
    let mut response =
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry.0));
    response
}

/// A refusal answered without reading the request: when the request has a body, hyper closes
/// the connection afterwards (the unread body is in the way), so the response says so.
fn closing(request: &Request<Incoming>, mut response: Response) -> Response {
    let has_body = request.headers().contains_key(header::TRANSFER_ENCODING)
        || request
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|len| len.as_bytes() != b"0");
    if has_body {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// The HTTP/1 accept loop without limits, TLS or web config (benchmarks and tests).
pub async fn serve_http<L, A>(listener: L, app: A, shutdown: impl Future<Output = ()>)
where
    L: axum::serve::Listener<Addr = SocketAddr>,
    A: tower::Service<Request<Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    A::Future: Send + 'static,
{
    serve_guarded(listener, app, shutdown, None).await
}

/// The HTTP/1 accept loop: what `axum::serve(..).with_graceful_shutdown(..)` does, plus
/// [`HEADER_READ_TIMEOUT`] and, with a [`Guard`], limits, TLS and headers. Returns after
/// `shutdown` completes once the open connections have finished (or after [`SHUTDOWN_GRACE`]).
pub async fn serve_guarded<L, A>(
    mut listener: L,
    app: A,
    shutdown: impl Future<Output = ()>,
    guard: Option<Arc<Guard>>,
) where
    L: axum::serve::Listener<Addr = SocketAddr>,
    A: tower::Service<Request<Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    A::Future: Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            (io, peer) = listener.accept() => {
                let service = Guarded { inner: app.clone(), guard: guard.clone(), peer };
                tokio::spawn(connection(io, peer, service, guard.clone(), graceful.watcher()));
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("connections still open {SHUTDOWN_GRACE:?} after shutdown began; dropping them");
        }
    }
}

/// One connection, from the limit check to its last response.
async fn connection<I, A>(
    io: I,
    peer: SocketAddr,
    service: Guarded<A>,
    guard: Option<Arc<Guard>>,
    watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: tower::Service<Request<Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    A::Future: Send + 'static,
{
    let slot = match &guard {
        Some(g) => match g.limits.open_connection(peer.ip()) {
            Some(slot) => Some(slot),
            None => {
                g.limited(Limit::Connections);
                // Answered before reading anything; over TLS after the handshake.
                let tls = g.web.as_ref().and_then(|w| w.current().tls.clone());
                match tls {
                    Some(tls) => {
                        if let Ok(Ok(mut stream)) = tokio::time::timeout(
                            HEADER_READ_TIMEOUT,
                            tokio_rustls::TlsAcceptor::from(tls).accept(io),
                        )
                        .await
                        {
                            let _ = refuse_connection(&mut stream).await;
                        }
                    }
                    None => {
                        let mut io = io;
                        let _ = refuse_connection(&mut io).await;
                    }
                }
                return;
            }
        },
        None => None,
    };
    let tls = guard
        .as_ref()
        .and_then(|g| g.web.as_ref())
        .and_then(|w| w.current().tls.clone());
    match tls {
        Some(tls) => {
            let accept = tokio_rustls::TlsAcceptor::from(tls).accept(io);
            match tokio::time::timeout(HEADER_READ_TIMEOUT, accept).await {
                Ok(Ok(stream)) => serve_one(stream, service, watcher).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
        None => serve_one(io, service, watcher).await,
    }
    drop(slot);
}

async fn serve_one<I, A>(io: I, service: Guarded<A>, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: tower::Service<Request<Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    A::Future: Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let conn = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
    // Timeouts, resets and malformed requests end up here; hyper has already answered what
    // could be answered.
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "connection closed with an error");
    }
}

/// Writes a complete 503 with a JSON body and `Connection: close`, without reading the request.
async fn refuse_connection<W: AsyncWrite + Unpin>(io: &mut W) -> std::io::Result<()> {
    let body = r#"{"error":{"code":"too_many_connections","message":"too many open connections from your address"}}"#;
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    );
    io.write_all(head.as_bytes()).await?;
    io.write_all(body.as_bytes()).await?;
    io.shutdown().await
}

/// The app behind the per-request checks of a [`Guard`].
#[derive(Clone)]
struct Guarded<A> {
    inner: A,
    guard: Option<Arc<Guard>>,
    peer: SocketAddr,
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<A> tower::Service<Request<Incoming>> for Guarded<A>
where
    A: tower::Service<Request<Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    A::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Incoming>) -> BoxFuture {
        request.extensions_mut().insert(ClientAddr(self.peer));
        let Some(guard) = self.guard.clone() else {
            return Box::pin(self.inner.call(request));
        };
        if let Err(retry) = guard.limits.request_allowed(self.peer.ip()) {
            guard.limited(Limit::RequestRate);
            let response = closing(
                &request,
                too_many_requests("too many requests from your address", retry),
            );
            return Box::pin(std::future::ready(Ok(response)));
        }
        let web = guard.web.as_ref().map(|w| w.current());
        if let Some((burst, every)) = web.as_ref().and_then(|w| w.rate_limit) {
            if let Err(retry) = guard.server_rate_allows(burst, every) {
                guard.limited(Limit::ServerRate);
                let response = closing(
                    &request,
                    too_many_requests("the server's request rate limit is reached", retry),
                );
                return Box::pin(std::future::ready(Ok(response)));
            }
        }
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            if let Some(web) = web {
                for (name, value) in &web.headers {
                    response.headers_mut().insert(name.clone(), value.clone());
                }
            }
            Ok(response)
        })
    }
}
