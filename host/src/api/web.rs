//! The web app: static files of the SvelteKit build, with the SPA fallback to `index.html` for
//! app routes (`/session/…`, `/watch`), long-lived caching for hashed assets, and a clear JSON
//! 404 for missing files.

use std::path::{Path, PathBuf};

use axum::{
    body::Body,
    extract::Request,
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use super::error::AppError;

/// Serves one request from the built web app in `dir`.
pub async fn serve(dir: PathBuf, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    if method != Method::GET && method != Method::HEAD {
        return AppError::NotFound(format!("no route for {method} {path}")).into_response();
    }
    let response = match ServeDir::new(&dir).append_index_html_on_directories(true).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    if response.status() == StatusCode::NOT_FOUND {
        return fallback(&dir, &path).await;
    }
    let mut response = response;
    let cache =
        if path.starts_with("/_app/immutable/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// App routes get `index.html`; paths that look like files get a JSON 404.
async fn fallback(dir: &Path, path: &str) -> Response {
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return AppError::NotFound(format!("no file {path}")).into_response();
    }
    match tokio::fs::read(dir.join("index.html")).await {
        Ok(html) => {
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], html)
                .into_response()
        }
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "web app not found");
            AppError::NotFound(format!(
                "the web app is not built ({} has no index.html); run `cargo xtask build` or pass --web-dir",
                dir.display()
            ))
            .into_response()
        }
    }
}
