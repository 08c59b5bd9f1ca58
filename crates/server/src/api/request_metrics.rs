//! Request metrics: `zigquant_api_requests_total{method,path,status}` and
//! `zigquant_api_latency_seconds{method,path}`, labelled by route template, never the raw URL.
//!
//! One tower service around the whole router, not `Router::layer`: that wraps every route in a
//! further boxed service, cloned and boxed again on each request. Outside the router axum's
//! `MatchedPath` is not visible, so the template is found with the matcher axum itself routes
//! with (`matchit`), built from the `path` label domain of the catalogue (which holds the route
//! table's templates, [`super::route_templates`]). Series handles are
//! resolved once per method, route and status and kept, so a request costs two clock reads (of
//! the time-stamp counter where the kernel trusts it: `zigquant_metrics::clock`), one route
//! match, one counter increment and one histogram observation: no allocation, no label lookup
//! (docs/benchmarks.md §3).
//!
//! Each request also has one [`RequestId`]: the auth guard's when it set one (an authenticated
//! call: the audit trail keeps it and `x-request-id` returns it), else the client's sane
//! `X-Request-Id`, else a new one. It is the latency bucket's `request_id` exemplar and is written
//! in a debug-level access log line (`ZQ_LOG=zigquant::access=debug`), so an exemplar in Grafana
//! leads to the request's log line (and audit entry). Only the guard echoes it: a request
//! nobody authenticated gets no id back (nothing was done on anybody's behalf).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::http::{HeaderName, Method, Request, StatusCode, Uri};
use axum::response::Response;
use tower::{Layer, Service};
use zigquant_metrics::clock::{clock, TickClock, Ticks};
use zigquant_metrics::labels as label;
use zigquant_metrics::{Catalogue, Counter, ExemplarSlot, Histogram, LabelDomain};

use super::request_id::RequestId;

/// The response header that carries the request id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Distinct statuses per method and route whose counters are kept; a route answering more
/// kinds than this records the rest through a label lookup (still correct, a little slower).
const STATUSES_PER_ROUTE: usize = 6;

/// Adds [`RecordRequests`] around a service (in production, the whole router).
#[derive(Clone)]
pub struct RequestMetricsLayer {
    series: &'static RequestSeries,
}

impl RequestMetricsLayer {
    /// Records into `catalogue`, labelling requests with the route templates of its `path` label
    /// domain.
    ///
    /// The handle table is allocated once and never freed (~20 KiB per app; a process builds
    /// one): every request future refers to it, and a `'static` reference, unlike an `Arc`,
    /// costs no reference-count update that two request threads would bounce between cores.
    pub fn new(catalogue: Arc<Catalogue>) -> Self {
        Self {
            series: Box::leak(Box::new(RequestSeries::new(catalogue))),
        }
    }
}

impl<S> Layer<S> for RequestMetricsLayer {
    type Service = RecordRequests<S>;

    fn layer(&self, inner: S) -> RecordRequests<S> {
        RecordRequests {
            inner,
            series: self.series,
        }
    }
}

/// Times every request and counts it once, matched or not.
#[derive(Clone)]
pub struct RecordRequests<S> {
    inner: S,
    series: &'static RequestSeries,
}

impl<S, B> Service<Request<B>> for RecordRequests<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Recorded<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let started = self.series.clock.now();
        let slot = self.series.slot(request.method(), request.uri().path());
        // The raw URI is only kept when the access log will be written.
        let uri = tracing::enabled!(target: ACCESS_LOG, tracing::Level::DEBUG)
            .then(|| Box::new(request.uri().clone()));
        let client_id = request
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| RequestId::from_client(v.as_bytes()))
            .map(Box::new);
        Recorded {
            response: self.inner.call(request),
            started,
            slot,
            uri,
            client_id,
            series: self.series,
        }
    }
}

/// The inner response future; records the request when the response is ready. A request whose
/// connection goes away before that has no status and is not counted.
pub struct Recorded<F> {
    response: F,
    started: Ticks,
    slot: usize,
    /// The request's URI, when the access log is enabled.
    /// Boxed (like the id below): the future is moved on every poll path, and the usual
    /// request has neither.
    uri: Option<Box<Uri>>,
    /// The client's `X-Request-Id`, when it sent a sane one.
    client_id: Option<Box<RequestId>>,
    series: &'static RequestSeries,
}

/// How often a latency bucket's `request_id` exemplar is refreshed at most. A request costs a
/// clock comparison when its bucket's exemplar is fresh, and an id, a wall-clock read and a
/// string copy when it is due; a scrape every 15 s sees an exemplar at most this much older
/// than the bucket's last request, and a rarely hit bucket (a slow request) always takes its
/// request (docs/exemplars.md).
pub const EXEMPLAR_EVERY: Duration = Duration::from_secs(1);

/// Target of the access log lines.
const ACCESS_LOG: &str = "zigquant::access";

impl<F> Future for Recorded<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let response = ready!(Pin::new(&mut this.response).poll(cx))?;
        let now = this.series.clock.now();
        let elapsed = this.series.clock.seconds_between(this.started, now);
        let exemplar = this
            .series
            .record(this.slot, response.status(), elapsed, now);
        if exemplar.is_none() && this.uri.is_none() {
            // Neither an exemplar nor a log line wants this request's id: do not make one.
            return Poll::Ready(Ok(response));
        }
        // The guard's id (echoed by it) for an authenticated call, else the client's, else ours.
        let echoed = response
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| RequestId::from_client(v.as_bytes()));
        let id = echoed
            .or(this.client_id.as_deref().copied())
            .unwrap_or_else(RequestId::next);
        if let Some(slot) = exemplar {
            slot.record(&[("request_id", id.as_str())]);
        }
        if let Some(uri) = this.uri.take() {
            let (method, route) = this.series.labels(this.slot);
            tracing::debug!(
                target: ACCESS_LOG,
                request_id = id.as_str(),
                method,
                route,
                uri = ?uri.to_string(),
                status = response.status().as_u16(),
                content_type = ?response.headers().get(axum::http::header::CONTENT_TYPE),
                latency_seconds = elapsed,
                "request"
            );
        }
        Poll::Ready(Ok(response))
    }
}

/// The catalogue's request families with their handles, one slot per method × route.
struct RequestSeries {
    catalogue: Arc<Catalogue>,
    /// Times requests; calibrated when the first layer is built, not on a request.
    clock: &'static TickClock,
    /// `method` label values, the domain's fallback (`OTHER`) last.
    method_labels: Vec<String>,
    /// The same but the fallback, as methods: comparing two standard `Method`s is an integer
    /// compare.
    methods: Vec<Method>,
    /// `path` label values: the route templates, the domain's fallback (`unmatched`) last.
    paths: Vec<String>,
    /// Route template → index into `paths`.
    matcher: matchit::Router<usize>,
    /// Indexed by `method index * paths.len() + path index`.
    slots: Box<[Slot]>,
}

/// A domain's values with its fallback moved last, so "none of these" is the last index.
fn fallback_last(domain: &LabelDomain) -> Vec<String> {
    let mut values: Vec<String> = domain
        .values()
        .filter(|v| *v != domain.fallback())
        .map(str::to_owned)
        .collect();
    values.push(domain.fallback().to_owned());
    values
}

/// The handles of one method and route, each resolved on first use so that only series that
/// occur are exported.
#[derive(Default)]
struct Slot {
    latency: OnceLock<Arc<Histogram>>,
    requests: [OnceLock<(StatusCode, Arc<Counter>)>; STATUSES_PER_ROUTE],
}

impl RequestSeries {
    fn new(catalogue: Arc<Catalogue>) -> Self {
        let [method_domain, path_domain] = catalogue.api_latency_seconds.domains() else {
            panic!("zigquant_api_latency_seconds must be labelled by method and path");
        };
        let method_labels = fallback_last(method_domain);
        let paths = fallback_last(path_domain);
        let methods = method_labels[..method_labels.len() - 1]
            .iter()
            .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
            .collect();
        let mut matcher = matchit::Router::new();
        for (i, path) in paths[..paths.len() - 1].iter().enumerate() {
            // The templates are the route table's constants, which axum has accepted already.
            if let Err(e) = matcher.insert(path.as_str(), i) {
                panic!("route template {path} is not a valid route: {e}");
            }
        }
        let slots = (0..method_labels.len() * paths.len())
            .map(|_| Slot::default())
            .collect();
        Self {
            catalogue,
            clock: clock(),
            method_labels,
            methods,
            paths,
            matcher,
            slots,
        }
    }

    /// The slot of a request: its method's label (or the fallback) and its route template (or
    /// the fallback).
    fn slot(&self, method: &Method, path: &str) -> usize {
        let method = self
            .methods
            .iter()
            .position(|m| m == method)
            .unwrap_or(self.method_labels.len() - 1);
        let path = self
            .matcher
            .at(path)
            .map_or(self.paths.len() - 1, |m| *m.value);
        method * self.paths.len() + path
    }

    /// The label values of a slot.
    fn labels(&self, slot: usize) -> (&str, &str) {
        (
            &self.method_labels[slot / self.paths.len()],
            &self.paths[slot % self.paths.len()],
        )
    }

    /// Counts the request and observes its latency; the latency bucket's exemplar slot when it
    /// is due for a refresh ([`EXEMPLAR_EVERY`]).
    fn record(
        &self,
        slot: usize,
        status: StatusCode,
        elapsed_seconds: f64,
        now: Ticks,
    ) -> Option<ExemplarSlot<'_>> {
        let handles = &self.slots[slot];
        // Label values are only needed to resolve a handle, once per slot and status.
        let resolve = || {
            let (method, path) = self.labels(slot);
            let family = &self.catalogue.api_requests_total;
            let labels = label::RequestLabels {
                method: label::Method(method),
                path: label::Path(path),
                status: label::HttpStatus(status.as_str()),
            };
            (status, family.get(&labels))
        };
        match handles
            .requests
            .iter()
            .map(|cell| cell.get_or_init(resolve))
            .find(|(cached, _)| *cached == status)
        {
            Some((_, counter)) => counter.inc(),
            None => resolve().1.inc(),
        }
        handles
            .latency
            .get_or_init(|| {
                let (method, path) = self.labels(slot);
                let labels = label::RouteLabels {
                    method: label::Method(method),
                    path: label::Path(path),
                };
                self.catalogue.api_latency_seconds.get(&labels)
            })
            .observe_sampled(elapsed_seconds, now, EXEMPLAR_EVERY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zigquant_metrics::{CatalogueConfig, Format};

    fn series() -> RequestSeries {
        let routes = ["/health", "/api/v1/orders", "/api/v1/orders/{id}"];
        let catalogue = Catalogue::new(CatalogueConfig {
            routes: routes.iter().map(|r| r.to_string()).collect(),
            ..CatalogueConfig::default()
        });
        RequestSeries::new(Arc::new(catalogue))
    }

    fn exposition(series: &RequestSeries) -> String {
        let mut out = Vec::new();
        series.catalogue.encode(Format::Text, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn slots_carry_the_method_and_route_template() {
        let s = series();
        let cases = [
            (
                Method::GET,
                "/api/v1/orders/42",
                ("GET", "/api/v1/orders/{id}"),
            ),
            (
                Method::DELETE,
                "/api/v1/orders/x",
                ("DELETE", "/api/v1/orders/{id}"),
            ),
            (Method::POST, "/api/v1/orders", ("POST", "/api/v1/orders")),
            (Method::GET, "/api/v1/orders/42/x", ("GET", "unmatched")),
            (Method::GET, "/", ("GET", "unmatched")),
            (Method::TRACE, "/health", ("OTHER", "/health")),
            (
                Method::from_bytes(b"BREW").expect("valid token"),
                "/nope",
                ("OTHER", "unmatched"),
            ),
        ];
        for (method, path, expected) in cases {
            assert_eq!(s.labels(s.slot(&method, path)), expected, "{method} {path}");
        }
    }

    #[test]
    fn statuses_beyond_the_kept_handles_are_still_counted() {
        let s = series();
        let slot = s.slot(&Method::GET, "/health");
        let statuses: Vec<u16> = (0..STATUSES_PER_ROUTE as u16 + 3)
            .map(|i| 400 + i)
            .collect();
        for (i, code) in statuses.iter().enumerate() {
            let status = StatusCode::from_u16(*code).expect("valid status");
            for _ in 0..=i {
                let _ = s.record(slot, status, 0.001, s.clock.now());
            }
        }
        let text = exposition(&s);
        for (i, code) in statuses.iter().enumerate() {
            let line = format!(
                "zigquant_api_requests_total{{method=\"GET\",path=\"/health\",status=\"{code}\"}} {}",
                i + 1
            );
            assert!(text.contains(&line), "missing {line} in\n{text}");
        }
        let total: usize = (1..=statuses.len()).sum();
        let count = format!(
            "zigquant_api_latency_seconds_count{{method=\"GET\",path=\"/health\"}} {total}"
        );
        assert!(text.contains(&count), "missing {count} in\n{text}");
    }

    #[test]
    fn only_series_that_occur_are_exported() {
        let s = series();
        let _ = s.record(
            s.slot(&Method::GET, "/health"),
            StatusCode::OK,
            0.001,
            s.clock.now(),
        );
        let text = exposition(&s);
        assert_eq!(
            text.matches("zigquant_api_requests_total{").count(),
            1,
            "{text}"
        );
        assert!(!text.contains("/api/v1/orders"), "{text}");
    }

    /// The matcher must pick the template axum's router picks, for every request: tricky paths
    /// against the real route table, compared with the `MatchedPath` axum hands a handler.
    #[tokio::test]
    async fn templates_agree_with_axum_routing() {
        use axum::body::Body;
        use axum::extract::MatchedPath;
        use axum::routing::any;
        use tower::ServiceExt;

        let templates = crate::api::route_templates();
        let mut router = axum::Router::new();
        for t in &templates {
            router = router.route(
                t,
                any(|p: MatchedPath| async move { p.as_str().to_owned() }),
            );
        }
        let router = router.fallback(|| async { "unmatched" });
        let catalogue = Catalogue::new(CatalogueConfig {
            routes: templates.clone(),
            ..CatalogueConfig::default()
        });
        let s = RequestSeries::new(Arc::new(catalogue));
        let mut paths: Vec<String> = [
            "/",
            "",
            "//",
            "/health/",
            "//health",
            "/HEALTH",
            "/health?x=1",
            "/api/v1/orders/",
            "/api/v1/orders//",
            "/api/v1/orders/%7Bid%7D",
            "/api/v1/orders/{id}",
            "/api/v1/orders/1/2",
            "/api/v1/strategies/a%2Fb/start",
            "/api/v1/strategies//start",
            "/api/v1/strategies/x/stop/",
            "/api/v1/openapi.json.bak",
            "/api/v1/",
            "/api/v1",
            "/metrics%00",
            "/ready;x",
            "/api/v1/orders/\u{e9}",
        ]
        .iter()
        .map(|p| p.to_string())
        .collect();
        for t in &templates {
            paths.push(t.to_string());
            paths.push(t.replace("{id}", "7").replace("{name}", "sma_cross"));
            paths.push(format!("{t}/"));
        }
        let mut compared = 0;
        for path in &paths {
            let Ok(request) = Request::get(path.as_str()).body(Body::empty()) else {
                continue; // not a URI a client can send
            };
            let uri_path = request.uri().path().to_owned();
            let response = router.clone().oneshot(request).await.expect("infallible");
            let body = axum::body::to_bytes(response.into_body(), 1024)
                .await
                .expect("small body");
            let axum_says = String::from_utf8_lossy(&body).into_owned();
            let (_, ours) = s.labels(s.slot(&Method::GET, &uri_path));
            assert_eq!(ours, axum_says, "request path {path:?}");
            compared += 1;
        }
        // Only "" is not a URI: every other case was really compared.
        assert_eq!(compared, paths.len() - 1);
    }
}
