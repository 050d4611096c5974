//! Operational endpoints: `/healthz` (the process serves), `/readyz` (schedule and plugins are
//! loaded) and `/metrics` (Prometheus text).

use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::error::AppError;
use crate::AppState;

/// The body of `/healthz` (`ok`) and of a ready `/readyz` (`ready`).
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Health {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// `GET /healthz`: 200 while the process serves.
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// `GET /readyz`: 200 once every registered readiness check passed, else 503 naming the rest.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    let pending = state.readiness.pending();
    if pending.is_empty() {
        Ok(Json(Health { status: "ready" }))
    } else {
        Err(AppError::NotReady(format!("waiting for: {}", pending.join(", "))))
    }
}

/// `GET /metrics`: Prometheus text exposition (OpenMetrics flavour).
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        state.metrics.render(),
    )
        .into_response()
}
