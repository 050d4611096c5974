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

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::{
    cors::{Any, CorsLayer},
    set_header::SetResponseHeaderLayer,
};

use crate::{AppState, telemetry::HttpLabels};

/// Builds the application: every route in one table, then the web app for everything else.
pub fn router(state: AppState) -> Router {
    let web_dir = state.config.flags.web_dir.clone();
    let csp = web::content_security_policy(&web_dir);
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
    let app = Router::new()
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
        .layer(middleware::from_fn_with_state(state.clone(), auth::require_viewer))
        .layer(middleware::from_fn_with_state(state.clone(), auth::require_known_host))
        .layer(middleware::from_fn_with_state(state.clone(), count_requests))
        .layer(middleware::from_fn(error::json_errors));
    let mut app = app.with_state(state);
    for (name, value) in security_headers(&csp) {
        app = app.layer(SetResponseHeaderLayer::overriding(name, value));
    }
    app
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

/// Counts every request by method, matched route and status, and tracks requests in flight.
async fn count_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "web".to_string(), |p| p.as_str().to_string());
    let metrics = &state.metrics;
    metrics.http_in_flight.inc();
    let response = next.run(request).await;
    metrics.http_in_flight.dec();
    let labels = HttpLabels { method, route, status: response.status().as_u16() };
    metrics.http_requests.get_or_create(&labels).inc();
    response
}
