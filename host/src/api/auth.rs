//! Viewer access: with `--viewer-token`, every request except the probes needs the token, from the
//! `pitwall_token` cookie (set by opening `/?token=T`) or `Authorization: Bearer T`.

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use subtle::ConstantTimeEq;

use super::error::AppError;
use crate::AppState;

/// Name of the cookie that carries the viewer token.
pub const COOKIE: &str = "pitwall_token";

/// Paths that never need a token (orchestrator probes).
const OPEN_PATHS: [&str; 2] = ["/healthz", "/readyz"];

/// Middleware enforcing the viewer token when one is configured.
pub async fn require_viewer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(expected) = state.config.flags.viewer_token.as_deref() else {
        return next.run(request).await;
    };
    if OPEN_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    if let Some(given) = query_token(&request) {
        if matches(given, expected) {
            return login_redirect(&request, expected);
        }
        return AppError::Unauthorized("wrong token".into()).into_response();
    }
    let admin = state.config.flags.admin_token.as_deref();
    if presented_tokens(&request).any(|t| matches(t, expected) || admin.is_some_and(|a| matches(t, a))) {
        return next.run(request).await;
    }
    AppError::Unauthorized("this pitwall needs a viewer token: open /?token=YOUR_TOKEN once".into())
        .into_response()
}

/// With `--admin-token`, requires `Authorization: Bearer <admin token>`.
pub fn require_admin(state: &AppState, headers: &axum::http::HeaderMap) -> Result<(), AppError> {
    let Some(expected) = state.config.flags.admin_token.as_deref() else { return Ok(()) };
    match bearer(headers) {
        Some(given) if matches(given, expected) => Ok(()),
        Some(_) => Err(AppError::Forbidden("wrong admin token".into())),
        None => {
            Err(AppError::Unauthorized("this route needs the admin token (Authorization: Bearer …)".into()))
        }
    }
}

fn matches(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

fn presented_tokens(request: &Request) -> impl Iterator<Item = &str> {
    let cookies = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='));
    bearer(request.headers()).into_iter().chain(cookies)
}

/// `token` from the query string of a page request.
fn query_token(request: &Request) -> Option<&str> {
    request.uri().query()?.split('&').find_map(|kv| kv.strip_prefix("token="))
}

/// Sets the cookie and redirects to the same path without the token in the address bar.
fn login_redirect(request: &Request, token: &str) -> Response {
    let path = request.uri().path();
    let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000");
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, path.to_string())]).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
