//! "Demo TV": a streaming site that hands out its playlist URL only to a browser-like client.
//!
//! Flow: `GET /demo-tv/watch/{feed}` sets an HttpOnly session cookie and embeds a CSRF token
//! (`<meta name="csrf-token" content="…">`); the page's script then calls
//! `POST /demo-tv/api/token` with JSON `{"feed": "…"}`, the cookie, header `X-CSRF-Token` and the
//! watch page as `Referer`. The answer is `{"feed", "expires_at", "player"}` where `player` is a
//! JS snippet `var _0x4f2a = "<reversed base64 of the tokenised master URL>";`.
//! Sessions and CSRF tokens are HMAC-signed, so the site keeps no per-visitor state.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::media::{self, CATALOG};
use crate::state::{ApiError, Ctx, SiteFault};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "dtv_session";
/// Name of the JS variable holding the obfuscated URL.
pub const PLAYER_VAR: &str = "_0x4f2a";

/// The demo-tv routes.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/demo-tv", get(index))
        .route("/demo-tv/", get(index))
        .route("/demo-tv/watch/{feed}", get(watch))
        .route("/demo-tv/api/token", post(token_api))
}

/// Reverses the obfuscation of a `player` snippet's string: reverse, then base64-decode.
pub fn deobfuscate(blob: &str) -> Option<String> {
    let reversed: String = blob.chars().rev().collect();
    String::from_utf8(STANDARD.decode(reversed).ok()?).ok()
}

fn obfuscate(url: &str) -> String {
    STANDARD.encode(url).chars().rev().collect()
}

async fn index() -> Html<String> {
    let items: String = CATALOG
        .iter()
        .map(|f| {
            format!(
                "    <li><a href=\"/demo-tv/watch/{0}\">{0}</a> <small>{1}</small></li>\n",
                f.name, f.about
            )
        })
        .collect();
    Html(format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Demo TV</title></head>\n<body>\n  <h1>Demo TV — live now</h1>\n  <ul class=\"channels\">\n{items}  </ul>\n</body>\n</html>\n"
    ))
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn session_valid(ctx: &Ctx, session: &str) -> bool {
    session
        .split_once('.')
        .is_some_and(|(id, sig)| ctx.shared.signer.verify(&[b"session", id.as_bytes()], sig))
}

fn csrf_for(ctx: &Ctx, session: &str) -> String {
    ctx.shared.signer.sign(&[b"csrf", session.as_bytes()])
}

async fn watch(State(ctx): State<Ctx>, Path(feed): Path<String>, headers: HeaderMap) -> Response {
    let Some(feed) = media::feed_by_name(&feed) else {
        return (StatusCode::NOT_FOUND, Html("<h1>Channel not found</h1>")).into_response();
    };
    // Keep a valid session across reloads, as sites do; mint one otherwise.
    let session = session_cookie(&headers).filter(|s| session_valid(&ctx, s)).unwrap_or_else(|| {
        let id = format!("{:032x}", rand::random::<u128>());
        let sig = ctx.shared.signer.sign(&[b"session", id.as_bytes()]);
        format!("{id}.{sig}")
    });
    let csrf_meta = if ctx.shared.faults().demo_tv == Some(SiteFault::NoCsrf) {
        String::new()
    } else {
        format!("<meta name=\"csrf-token\" content=\"{}\">\n", csrf_for(&ctx, &session))
    };
    let name = feed.name;
    let page = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Demo TV — {name}</title>
{csrf_meta}</head>
<body>
<nav><a href="/demo-tv/">Demo TV</a></nav>
<h1>Live: {name}</h1>
<video id="player" data-channel="{name}" controls autoplay muted playsinline width="640"></video>
<script>
(function () {{
  var meta = document.querySelector('meta[name="csrf-token"]');
  fetch('/demo-tv/api/token', {{
    method: 'POST',
    credentials: 'same-origin',
    headers: {{'Content-Type': 'application/json', 'X-CSRF-Token': meta ? meta.content : ''}},
    body: JSON.stringify({{feed: '{name}'}})
  }}).then(function (r) {{ return r.json(); }}).then(function (j) {{
    var {PLAYER_VAR} = new Function(j.player + '; return {PLAYER_VAR};')();
    document.getElementById('player').src = atob({PLAYER_VAR}.split('').reverse().join(''));
  }});
}})();
</script>
</body>
</html>
"#
    );
    let cookie = format!("{SESSION_COOKIE}={session}; Path=/demo-tv; HttpOnly; SameSite=Lax");
    let mut response = Html(page).into_response();
    let h = response.headers_mut();
    h.insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("cookie is ascii"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Deserialize)]
struct TokenRequest {
    feed: String,
}

#[derive(Serialize)]
struct TokenAnswer<'a> {
    feed: &'a str,
    expires_at: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    player: Option<String>,
}

async fn token_api(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    match token_answer(&ctx, &headers, &body) {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

fn token_answer(ctx: &Ctx, headers: &HeaderMap, body: &[u8]) -> Result<Response, ApiError> {
    let header_str = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let session = session_cookie(headers).filter(|s| session_valid(ctx, s)).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session_required",
            "no valid session: open a watch page first",
        )
    })?;
    let watch_prefix = format!("{}/demo-tv/watch/", ctx.origin_url(headers));
    if !header_str(header::REFERER).is_some_and(|r| r.starts_with(&watch_prefix)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_referer",
            "requests must come from a watch page",
        ));
    }
    match header_str(header::HeaderName::from_static("x-csrf-token")) {
        None => {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "csrf_missing", "X-CSRF-Token header required"));
        }
        Some(t) if t != csrf_for(ctx, &session) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf_mismatch",
                "X-CSRF-Token does not match the session",
            ));
        }
        Some(_) => {}
    }
    let request: TokenRequest = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("body must be JSON {{\"feed\": \"…\"}}: {e}")))?;
    let feed = media::feed_by_name(&request.feed)
        .ok_or_else(|| ApiError::not_found(format!("no channel {:?}", request.feed)))?;
    let (url, expires_at) = ctx.master_url(headers, feed.name);
    let fault = ctx.shared.faults().demo_tv;
    let player = format!("var {PLAYER_VAR} = \"{}\";", obfuscate(&url));
    let text = match fault {
        Some(SiteFault::BadTokenJson) => {
            // Cut short, as a buggy backend or a proxy timeout leaves it.
            let full =
                serde_json::to_string(&TokenAnswer { feed: feed.name, expires_at, player: Some(player) })
                    .expect("serialisable");
            full[..full.len() * 2 / 3].to_owned()
        }
        Some(SiteFault::NoUrl) => {
            serde_json::to_string(&TokenAnswer { feed: feed.name, expires_at, player: None })
                .expect("serialisable")
        }
        _ => serde_json::to_string(&TokenAnswer { feed: feed.name, expires_at, player: Some(player) })
            .expect("serialisable"),
    };
    Ok(([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], text)
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obfuscation_round_trips() {
        let url = "http://127.0.0.1:1/cdn/main/master.m3u8?token=1.abc";
        let blob = obfuscate(url);
        assert_ne!(blob, STANDARD.encode(url));
        assert_eq!(deobfuscate(&blob).as_deref(), Some(url));
    }
}
