//! Request metrics: `zigquant_api_requests_total{method,path,status}` and
//! `zigquant_api_latency_seconds{method,path}`, labelled by route template, never the raw URL.
//!
//! One hand-written tower layer around the whole router. `Router::layer` wraps each route after
//! routing, so the route template (`MatchedPath`) is already in the request's extensions; a
//! request that matched nothing has none and is counted as [`UNMATCHED`]. Measured against the
//! two `axum::middleware::from_fn` layers this replaced, it costs a third as much per request
//! (docs/benchmarks.md §3): no boxed `Next`, no cloned inner router, no response extension.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use tower::{Layer, Service};
use zigquant_metrics::Catalogue;

/// The `path` label of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// Adds [`RecordRequests`] around a router.
#[derive(Clone)]
pub struct RequestMetricsLayer {
    catalogue: Arc<Catalogue>,
}

impl RequestMetricsLayer {
    /// Records into `catalogue`.
    pub fn new(catalogue: Arc<Catalogue>) -> Self {
        Self { catalogue }
    }
}

impl<S> Layer<S> for RequestMetricsLayer {
    type Service = RecordRequests<S>;

    fn layer(&self, inner: S) -> RecordRequests<S> {
        RecordRequests {
            inner,
            catalogue: self.catalogue.clone(),
        }
    }
}

/// Times every request and counts it once, matched or not.
#[derive(Clone)]
pub struct RecordRequests<S> {
    inner: S,
    catalogue: Arc<Catalogue>,
}

impl<S> Service<Request> for RecordRequests<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let method = request.method().clone();
        let route = request.extensions().get::<MatchedPath>().cloned();
        let catalogue = self.catalogue.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            let elapsed = started.elapsed().as_secs_f64();
            let path = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
            // The families map any method, path or status outside their closed domains to a
            // fallback, so hostile input cannot add series.
            catalogue
                .api_requests_total
                .get(&[method.as_str(), path, response.status().as_str()])
                .inc();
            catalogue
                .api_latency_seconds
                .get(&[method.as_str(), path])
                .observe(elapsed);
            Ok(response)
        })
    }
}
