//! HLS through pitwall: `GET /proxy?url=` (any playlist, admin-guarded when an admin token is
//! set) and `GET|HEAD /relay/{token}/{file}` (sealed URLs produced by rewriting). Playlists come
//! back rewritten; segments, keys and maps stream chunk by chunk with `Range` passed through.
//!
//! Every answer is typed by what the relay knows it serves, never by the upstream's say-so
//! (an upstream could call its "segment" `text/html`): playlists are
//! `application/vnd.apple.mpegurl`; media keep the upstream's type only when it is one HLS
//! allows, else `application/octet-stream`; all with `X-Content-Type-Options: nosniff`.

use axum::{
    body::Body,
    extract::{Query, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use url::Url;

use super::{auth, error::AppError};
use crate::{
    AppState,
    relay::{HeaderScope, Relay, token::TokenError, upstream::UpstreamError},
    streams::{refresh, state},
};

/// Media types HLS players load segments, parts, maps and keys as; anything else an upstream
/// names is served as `application/octet-stream`.
const MEDIA_TYPES: [&str; 12] = [
    "video/mp2t",
    "video/mp4",
    "video/iso.segment",
    "audio/mp4",
    "audio/aac",
    "audio/mpeg",
    "audio/ac3",
    "audio/eac3",
    "audio/mp2t",
    "application/mp4",
    "application/octet-stream",
    "binary/octet-stream",
];

/// `?url=`.
#[derive(Deserialize)]
pub struct ProxyQuery {
    url: Option<String>,
}

/// `GET /proxy?url=…`: the playlist at `url`, every URI rewritten through `/relay`.
pub async fn proxy(
    State(state): State<AppState>,
    Query(query): Query<ProxyQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    auth::require_admin(&state, &headers)?;
    let raw = query
        .url
        .filter(|u| !u.is_empty())
        .ok_or_else(|| AppError::BadRequest("missing ?url= (an http(s) playlist URL)".into()))?;
    let url = Url::parse(&raw).map_err(|e| AppError::BadRequest(format!("not a URL: {e}")))?;
    playlist_response(&state.relay, &url, &HeaderScope::none(), now(&state)).await
}

/// `GET|HEAD /relay/{id}/{file}?t={sealed}`. The path's `{id}/{file}` only name the resource
/// for caches and people; the token alone says what is fetched.
pub async fn relay(State(state): State<AppState>, request: Request) -> Result<Response, AppError> {
    let (method, headers) = (request.method(), request.headers());
    let token = request
        .uri()
        .query()
        .and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("t=")))
        .ok_or_else(|| AppError::Forbidden("relay URL without its token".into()))?;
    let opened = state.relay.open(token, now(&state)).map_err(|e| match e {
        TokenError::Invalid => AppError::Forbidden("invalid relay URL".into()),
        TokenError::Expired => AppError::Forbidden("relay URL expired; reload the playlist".into()),
    })?;
    let (url, scope) = (&opened.url, &opened.scope);
    if opened.target.kind == 'p' {
        return playlist_response(&state.relay, url, scope, now(&state)).await;
    }
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let fetched = state.relay.upstream.stream(url, scope.headers_for(url), range).await;
    if let Some(stream) = scope.stream() {
        let status = match &fetched {
            Ok((head, _)) => Some(head.status),
            Err(e) => failure_status(e),
        };
        if let Some(status) = status {
            report_media(&state, stream, status).await;
        }
    }
    let (head, body) = fetched.map_err(upstream_error)?;
    let status = StatusCode::from_u16(head.status).unwrap_or(StatusCode::OK);
    let mut response = if method == Method::HEAD {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from_stream(body))
    };
    *response.status_mut() = status;
    *response.headers_mut() = head.headers;
    let kind = opened.target.kind;
    response.headers_mut().insert(header::CONTENT_TYPE, media_type(kind, head.content_type.as_deref()));
    response.headers_mut().insert(header::CACHE_CONTROL, cache_control(kind, status));
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

/// Counts a stream's media answer for the session URL's switch (`streams::errors`); a refusal
/// (401/403/410) also asks for the stream's source to be extracted again now.
async fn report_media(state: &AppState, stream: &str, status: u16) {
    state.media_errors.record(stream, status);
    if refresh::is_refused(status)
        && let Some(health) = state::health(state.store.as_ref(), stream).await
    {
        state.refresh.request(&health.source, &health.session);
    }
}

/// The status an upstream failure counts as (a refused address is pitwall's policy, not the stream's).
fn failure_status(e: &UpstreamError) -> Option<u16> {
    match e {
        UpstreamError::Status(code) => Some(*code),
        UpstreamError::Timeout => Some(504),
        UpstreamError::Transport(_) | UpstreamError::TooLarge => Some(502),
        UpstreamError::Blocked(_) => None,
    }
}

/// Fetches and rewrites a playlist, sending the headers of `scope` only where it allows them.
pub async fn playlist_response(
    relay: &Relay,
    url: &Url,
    scope: &HeaderScope,
    now: i64,
) -> Result<Response, AppError> {
    let (final_url, text) =
        relay.upstream.playlist(url, scope.headers_for(url)).await.map_err(upstream_error)?;
    let body = relay
        .rewrite(&text, &final_url, scope, now)
        .await
        .map_err(|e| AppError::BadGateway(format!("upstream playlist: {e}")))?;
    Ok(playlist_body(body))
}

/// A playlist answer: HLS content type, not sniffed, never cached (live playlists change every
/// segment).
pub fn playlist_body(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/vnd.apple.mpegurl"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// How long a cache in front of pitwall (a CDN, Varnish) may keep a relayed answer, keyed by
/// its path (`/relay/{id}/{file}`, which depends only on the upstream resource): media segments
/// and init maps, which a live stream never changes, for a minute; keys, session data and
/// steering manifests never (a key must not be served by path to whoever asks).
fn cache_control(kind: char, status: StatusCode) -> HeaderValue {
    if matches!(kind, 's' | 'm') && status.is_success() {
        HeaderValue::from_static("public, max-age=60")
    } else {
        HeaderValue::from_static("no-store")
    }
}

/// The type a relayed non-playlist answer is served as: JSON for session data and steering
/// manifests; for media and keys the upstream's type when HLS allows it, else octet-stream.
fn media_type(kind: char, upstream: Option<&str>) -> HeaderValue {
    if matches!(kind, 'd' | 'c') {
        return HeaderValue::from_static("application/json");
    }
    let essence =
        upstream.and_then(|t| t.split(';').next()).map(|t| t.trim().to_ascii_lowercase()).unwrap_or_default();
    match MEDIA_TYPES.iter().find(|allowed| **allowed == essence) {
        Some(allowed) => HeaderValue::from_static(allowed),
        None => HeaderValue::from_static("application/octet-stream"),
    }
}

/// Upstream failures surface as such: 403/404/5xx keep their status, timeouts are 504, a
/// refused address is 403.
pub fn upstream_error(e: UpstreamError) -> AppError {
    match e {
        UpstreamError::Status(code) => {
            AppError::Upstream(StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY), e.to_string())
        }
        UpstreamError::Timeout => AppError::Upstream(StatusCode::GATEWAY_TIMEOUT, e.to_string()),
        UpstreamError::Blocked(reason) => AppError::Forbidden(reason),
        UpstreamError::Transport(_) | UpstreamError::TooLarge => AppError::BadGateway(e.to_string()),
    }
}

/// Unix seconds.
pub fn now(state: &AppState) -> i64 {
    state.clock.now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_media_segments_and_maps_may_be_cached_by_path() {
        let c = |kind, status| cache_control(kind, status).to_str().unwrap().to_owned();
        assert_eq!(c('s', StatusCode::OK), "public, max-age=60");
        assert_eq!(c('m', StatusCode::PARTIAL_CONTENT), "public, max-age=60");
        assert_eq!(c('k', StatusCode::OK), "no-store");
        assert_eq!(c('d', StatusCode::OK), "no-store");
        assert_eq!(c('s', StatusCode::NOT_FOUND), "no-store");
    }

    #[test]
    fn media_types_are_the_relays_not_the_upstreams() {
        let t = |kind, upstream| media_type(kind, upstream).to_str().unwrap().to_owned();
        assert_eq!(t('s', Some("video/MP2T; charset=x")), "video/mp2t");
        assert_eq!(t('m', Some("video/mp4")), "video/mp4");
        assert_eq!(t('s', Some("text/html")), "application/octet-stream");
        assert_eq!(t('k', Some("application/javascript")), "application/octet-stream");
        assert_eq!(t('s', Some("image/svg+xml")), "application/octet-stream");
        assert_eq!(t('s', None), "application/octet-stream");
        assert_eq!(t('d', Some("text/html")), "application/json");
    }
}
