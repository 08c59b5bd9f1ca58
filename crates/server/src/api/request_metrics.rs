//! Request metrics: `zigquant_api_requests_total{method,path,status}` and
//! `zigquant_api_latency_seconds{method,path}`, labelled by route template, never the raw URL.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use zigquant_metrics::Catalogue;

/// The `path` label of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// The route template a request matched, carried from the inner route layer to the outer
/// metrics layer on the response (the outer layer runs before routing, so it cannot see it).
#[derive(Clone)]
struct RouteTemplate(Arc<str>);

/// Inner layer (`route_layer`): tags the response with the matched route template.
pub async fn tag_route(matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        response
            .extensions_mut()
            .insert(RouteTemplate(Arc::from(matched.as_str())));
    }
    response
}

/// Outer layer: times every request and counts it once, matched or not.
pub async fn record(
    State(catalogue): State<Arc<Catalogue>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    let path = response
        .extensions()
        .get::<RouteTemplate>()
        .map(|t| t.0.clone());
    let path: &str = path.as_deref().unwrap_or(UNMATCHED);
    let status = response.status();
    // The families map any method, path or status outside their closed domains to a fallback,
    // so hostile input cannot add series.
    catalogue
        .api_requests_total
        .get(&[method.as_str(), path, status.as_str()])
        .inc();
    catalogue
        .api_latency_seconds
        .get(&[method.as_str(), path])
        .observe(elapsed);
    response
}
