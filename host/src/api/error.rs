//! `AppError`: the one error type handlers return. It renders as
//! `{"error": {"code": "...", "message": "..."}}` with a matching 4xx/5xx status; [`shaped`]
//! gives the answers axum makes itself (405, query and path rejections) the same shape.

use axum::{
    Json,
    body::to_bytes,
    http::{Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request is malformed; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// 401: credentials are missing or wrong.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the request is understood and refused.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing.
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 421: the request names a host this server does not answer to.
    #[error("{0}")]
    MisdirectedRequest(String),
    /// 429: too many failed attempts; the message says when to retry.
    #[error("{0}")]
    TooManyRequests(String),
    /// An upstream answered an error or timed out; its status (403, 404, 5xx, 504) is kept.
    #[error("{1}")]
    Upstream(axum::http::StatusCode, String),
    /// 502: an upstream (schedule source, CDN) failed.
    #[error("{0}")]
    BadGateway(String),
    /// 503: a dependency (schedule, plugins) is not loaded yet.
    #[error("{0}")]
    NotReady(String),
    /// 500: our fault. Logged in full; the client sees only the summary.
    #[error("{0}")]
    Internal(String),
}

/// The body of every error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ErrorBody {
    /// What failed.
    pub error: ErrorDetail,
}

/// What failed, for a program (`code`) and for a person (`message`).
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ErrorDetail {
    /// Stable and machine-readable: `not_found`, `bad_request`, `upstream_error`, …
    pub code: &'static str,
    /// What happened and, where it helps, what to do.
    pub message: String,
}

impl ErrorBody {
    /// The body for `code` and `message`.
    pub fn new(code: &'static str, message: String) -> Self {
        ErrorBody { error: ErrorDetail { code, message } }
    }
}

impl AppError {
    /// Status and stable machine-readable code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            AppError::MisdirectedRequest(_) => (StatusCode::MISDIRECTED_REQUEST, "misdirected_request"),
            AppError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            AppError::BadGateway(_) => (StatusCode::BAD_GATEWAY, "upstream_error"),
            AppError::Upstream(status, _) => (*status, "upstream_error"),
            AppError::NotReady(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            tracing::error!(code, error = %self, "request failed");
        }
        (status, Json(ErrorBody::new(code, self.to_string()))).into_response()
    }
}

/// An error answer that is not JSON yet (axum's own: a 405 without a body, a rejected query
/// string or path in plain text) in the JSON error shape, status and headers (`Allow`) kept, so
/// clients meet one error format everywhere; `method` and `path` are the request's.
pub async fn shaped(method: &Method, path: &str, response: Response) -> Response {
    let status = response.status();
    // JSON already, or a page for a browser: left alone.
    let shaped = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || shaped {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = parts.headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("-");
            ("method_not_allowed", format!("{method} is not allowed on {path} (allowed: {allowed})"))
        }
        StatusCode::NOT_FOUND => {
            ("not_found", if text.is_empty() { format!("nothing at {path}") } else { text })
        }
        StatusCode::BAD_REQUEST => ("bad_request", text),
        other => {
            ("error", if text.is_empty() { other.canonical_reason().unwrap_or("error").into() } else { text })
        }
    };
    let body = serde_json::to_vec(&ErrorBody::new(code, message)).unwrap_or_default();
    parts.headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use serde_json::json;

    #[tokio::test]
    async fn renders_the_json_error_shape() {
        let response = AppError::NotFound("no season 1900".into()).into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = to_bytes(response.into_body(), 1024).await.unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value, json!({"error": {"code": "not_found", "message": "no season 1900"}}));
    }
}
