//! HTTP API: the one route table ([`router`]), request metrics, and the web app fallback.
//! Handlers live one file per resource and return `Result<_, AppError>`.

#[cfg(test)]
mod api_types;
pub mod auth;
pub mod channels;
pub mod error;
pub mod extractors;
pub mod relay;
pub mod schedule;
pub mod signin;
pub mod streams;
pub mod system;
pub mod web;

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    middleware::{self, Next},
    response::Response,
    routing::get,
};

use std::sync::Arc;

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{Any, CorsLayer};

use crate::{AppState, telemetry::HttpLabels};

/// Builds the application: every route in one table, then the web app for everything else,
/// all behind [`edge`].
pub fn router(state: AppState) -> Router {
    let web_dir = state.config.flags.web_dir.clone();
    let headers = Arc::new(security_headers(&web::content_security_policy(&web_dir)));
    // HLS is fetched by players on other origins too (casting, embeds): CORS with Range.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
        .allow_headers([header::RANGE, header::AUTHORIZATION])
        .expose_headers([header::CONTENT_LENGTH, header::CONTENT_RANGE, header::ACCEPT_RANGES]);
    let hls = Router::new()
        .route(
            "/proxy",
            get(relay::proxy)
                .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_proxy_admin)),
        )
        .route("/relay/{id}/{file}", get(relay::relay).head(relay::relay))
        .route("/live/{id}/{file}", get(streams::live))
        .route("/live/session/{session}/{file}", get(streams::live_session))
        .layer(cors);
    Router::new()
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        .route("/schedule", get(schedule::get))
        .route("/extractors", get(extractors::list))
        .route("/streams", get(streams::list))
        .route("/streams/{id}", get(streams::one))
        .route("/channels.m3u", get(channels::m3u))
        .route("/guide.xml", get(channels::guide))
        .route(signin::PATH, get(signin::show).post(signin::submit))
        .merge(hls)
        .fallback(move |request: Request| web::serve(web_dir.clone(), request))
        .layer(middleware::from_fn_with_state(Edge { state: state.clone(), headers }, edge))
        .with_state(state)
}

/// What [`edge`] needs.
#[derive(Clone)]
struct Edge {
    state: AppState,
    headers: Arc<[(HeaderName, HeaderValue); 5]>,
}

/// Every answer, routed or not, in one layer (a router layer costs a boxed service per request,
/// and the relay's hot path is a few microseconds of work): the request is counted by method,
/// matched route and status, and tracked while in flight; refused unless its host and viewer
/// are admitted ([`auth::refusal`]); an error answer is put in the JSON shape
/// ([`error::shaped`]); and the security headers are set.
async fn edge(State(edge): State<Edge>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let metrics = &edge.state.metrics;
    metrics.http_in_flight.inc();
    let response = match auth::refusal(&edge.state, &request) {
        Some(refused) => refused,
        None => next.run(request).await,
    };
    let mut response = error::shaped(&method, uri.path(), response).await;
    metrics.http_in_flight.dec();
    let labels = HttpLabels {
        method: method_label(&method),
        route: route.unwrap_or_else(|| "web".to_owned()),
        status: response.status().as_u16(),
    };
    metrics.http_requests.get_or_create(&labels).inc();
    for (name, value) in edge.headers.iter() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// A method as a metric label: the standard ones by name, any other as `other` (a client
/// choosing the method must not grow the label set).
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];
    KNOWN.into_iter().find(|known| *known == method.as_str()).unwrap_or("other")
}

/// Headers on every answer, errors and relayed bytes included: a strict CSP, no MIME sniffing,
/// no referrer to upstreams or other sites, no framing.
fn security_headers(csp: &str) -> [(HeaderName, HeaderValue); 5] {
    let csp = HeaderValue::from_str(csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
    [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_a_client_made_up_is_counted_as_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::OPTIONS), "OPTIONS");
        for made_up in ["BREW", "GET2", "get"] {
            assert_eq!(method_label(&Method::from_bytes(made_up.as_bytes()).unwrap()), "other", "{made_up}");
        }
    }
}
