//! The web app: static files of the SvelteKit build, with the SPA fallback to `index.html` for
//! app routes (`/session/…`, `/watch`), long-lived caching for hashed assets, and a clear JSON
//! 404 for missing files. [`content_security_policy`] builds the policy every answer carries,
//! allowing the app's own inline boot script by hash and nothing else inline.

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

/// The `Content-Security-Policy` for every answer: the web app's own assets only (its inline
/// boot script by sha256, read from `index.html` in `dir`), media and workers from this origin
/// and `blob:` (hls.js feeds MSE from blobs), no plugins, no framing, no foreign forms.
pub fn content_security_policy(dir: &Path) -> String {
    let hashes: Vec<String> = match std::fs::read_to_string(dir.join("index.html")) {
        Ok(html) => inline_scripts(&html)
            .map(|script| {
                use base64::Engine as _;
                use sha2::Digest as _;
                let digest = sha2::Sha256::digest(script.as_bytes());
                format!(" 'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    format!(
        "default-src 'self'; script-src 'self'{}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
         media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; \
         base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        hashes.concat()
    )
}

/// The bodies of `<script>` elements without a `src` attribute.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|rest| {
        let (attributes, rest) = rest.split_once('>')?;
        if attributes.contains("src=") {
            return None;
        }
        let (body, _) = rest.split_once("</script>")?;
        Some(body)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_allows_inline_boot_scripts_by_hash_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("index.html"),
            "<html><head><script type=\"module\" src=\"/_app/x.js\"></script></head>\
             <body><script>boot()</script></body></html>",
        )
        .unwrap();
        let csp = content_security_policy(dir.path());
        // sha256("boot()") in base64.
        assert!(csp.contains("script-src 'self' 'sha256-"), "{csp}");
        assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");
        assert!(!csp.contains("unsafe-eval"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!content_security_policy(&dir.path().join("missing")).contains("sha256"));
    }
}
