//! Generic pages: the shapes in which ordinary web sites embed an HLS playlist URL.
//!
//! Every page takes `?feed=NAME` (default `main`) and renders a freshly tokenised absolute master
//! URL (valid for the token TTL from render time), built from the request's Host:
//! - `/pages/iframe` → iframe `/pages/embed/outer` → iframe `/pages/embed/player` → `<video src>`
//! - `/pages/video` `<video src>`; `/pages/source` `<source src type="application/x-mpegURL">`
//! - `/pages/jsonld` JSON-LD `VideoObject.contentUrl`; `/pages/jsvar` `var hlsUrl = "…"`
//! - `/pages/atob` `atob("<base64>")`; `/pages/api` a page whose script reads
//!   `/pages/api/stream.json` → `{"status", "stream": {"url", "type"}, "expires_at"}`

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::media;
use crate::state::{ApiError, Ctx};

/// Page names under `/pages/` and what each shows.
pub const PAGES: &[(&str, &str)] = &[
    ("iframe", "player two iframes deep, ending in <video src>"),
    ("video", "<video src>"),
    ("source", "<source src type=\"application/x-mpegURL\">"),
    ("jsonld", "JSON-LD VideoObject contentUrl"),
    ("jsvar", "JavaScript variable hlsUrl"),
    ("atob", "base64 string decoded with atob()"),
    ("api", "JSON API at /pages/api/stream.json"),
];

/// The pages routes.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/pages", get(index))
        .route("/pages/", get(index))
        .route("/pages/api/stream.json", get(stream_json))
        .route("/pages/embed/{level}", get(embed))
        .route("/pages/{page}", get(page))
}

fn feed_of(query: &HashMap<String, String>) -> Result<&'static str, ApiError> {
    let name = query.get("feed").map_or("main", String::as_str);
    media::feed_by_name(name).map(|f| f.name).ok_or_else(|| ApiError::not_found(format!("no feed {name:?}")))
}

fn html_page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n</head>\n<body>\n{body}</body>\n</html>\n"
    ))
    .into_response()
}

async fn index() -> Response {
    let items: String = PAGES
        .iter()
        .map(|(name, about)| {
            let about = about.replace('<', "&lt;").replace('>', "&gt;");
            format!("<li><a href=\"/pages/{name}\">{name}</a> — {about}</li>\n")
        })
        .collect();
    html_page(
        "Stream pages",
        &format!("<h1>Stream pages</h1>\n<ul>\n{items}</ul>\n<p>Each takes <code>?feed=NAME</code>.</p>\n"),
    )
}

async fn page(
    State(ctx): State<Ctx>,
    Path(page): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let feed = match feed_of(&query) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let (url, _) = ctx.master_url(&headers, feed);
    let body = match page.as_str() {
        "iframe" => format!(
            "<h1>Watch {feed}</h1>\n<div class=\"embed\"><iframe src=\"/pages/embed/outer?feed={feed}\" width=\"660\" height=\"380\" allowfullscreen></iframe></div>\n"
        ),
        "video" => format!(
            "<h1>Watch {feed}</h1>\n<video src=\"{url}\" controls autoplay muted playsinline></video>\n"
        ),
        "source" => format!(
            "<h1>Watch {feed}</h1>\n<video controls autoplay muted playsinline>\n  <source src=\"{url}\" type=\"application/x-mpegURL\">\n</video>\n"
        ),
        "jsonld" => {
            let ld = serde_json::json!({
                "@context": "https://schema.org",
                "@type": "VideoObject",
                "name": format!("Live: {feed}"),
                "description": "Live stream",
                "uploadDate": "2026-01-01T00:00:00Z",
                "thumbnailUrl": "https://example.invalid/thumb.jpg",
                "contentUrl": url,
                "publication": {"@type": "BroadcastEvent", "isLiveBroadcast": true},
            });
            format!(
                "<h1>Watch {feed}</h1>\n<script type=\"application/ld+json\">{ld}</script>\n<div id=\"player\"></div>\n"
            )
        }
        "jsvar" => format!(
            "<h1>Watch {feed}</h1>\n<div id=\"player\"></div>\n<script>\n  var hlsUrl = \"{url}\";\n  var player = {{el: 'player', src: hlsUrl, autoplay: true}};\n</script>\n"
        ),
        "atob" => format!(
            "<h1>Watch {feed}</h1>\n<video id=\"v\" controls muted></video>\n<script>\n  document.getElementById('v').src = atob(\"{}\");\n</script>\n",
            STANDARD.encode(&url)
        ),
        "api" => format!(
            "<h1>Watch {feed}</h1>\n<video id=\"v\" controls muted></video>\n<script>\n  fetch('/pages/api/stream.json?feed={feed}').then(function (r) {{ return r.json(); }})\n    .then(function (j) {{ document.getElementById('v').src = j.stream.url; }});\n</script>\n"
        ),
        _ => return (StatusCode::NOT_FOUND, Html("<h1>404 Not Found</h1>")).into_response(),
    };
    html_page(&format!("Live: {feed}"), &body)
}

async fn embed(
    State(ctx): State<Ctx>,
    Path(level): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let feed = match feed_of(&query) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    match level.as_str() {
        "outer" => html_page(
            "Embed",
            &format!(
                "<iframe src=\"/pages/embed/player?feed={feed}\" width=\"640\" height=\"360\" allowfullscreen></iframe>\n"
            ),
        ),
        "player" => {
            let (url, _) = ctx.master_url(&headers, feed);
            html_page(
                "Player",
                &format!("<video src=\"{url}\" controls autoplay muted playsinline></video>\n"),
            )
        }
        _ => (StatusCode::NOT_FOUND, Html("<h1>404 Not Found</h1>")).into_response(),
    }
}

async fn stream_json(
    State(ctx): State<Ctx>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let feed = match feed_of(&query) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let (url, expires_at) = ctx.master_url(&headers, feed);
    let body = serde_json::json!({
        "status": "live",
        "stream": {"url": url, "type": "application/x-mpegURL", "feed": feed},
        "expires_at": expires_at,
    });
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}
