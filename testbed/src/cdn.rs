//! The live HLS CDN: `/cdn/{feed}/master.m3u8`, media playlists, segments, init segments and
//! keys, all behind expiring feed-bound tokens, with injectable faults, byte ranges, CORS, a
//! redirecting feed and a gzip-encoding feed.
//!
//! URL shapes (every one needs `?token=`; the master's child URIs are relative and carry it):
//! - `/cdn/{feed}/master.m3u8`
//! - `/cdn/{feed}/{variant}/index.m3u8` (media playlist)
//! - `/cdn/{feed}/{variant}/seg-{n}.ts` (or `.m4s` for fMP4), `n` = media sequence number
//! - `/cdn/fmp4/{variant}/init.mp4`, `/cdn/byterange/{variant}/stream.ts`, `/cdn/aes/{variant}/key.bin`

use std::collections::HashMap;
use std::io::Write as _;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::hls::{self, MediaRequest};
use crate::media::{self, Access, Feed, Packaging};
use crate::range;
use crate::state::{ApiError, Ctx, FeedFault, Origin, SLOW_DELAY, host_name, now};

const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";

/// The CDN routes.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/cdn/{feed}/master.m3u8", get(master))
        .route("/cdn/{feed}/{variant}/{file}", get(variant_file))
        .layer(middleware::from_fn(cors))
}

/// Real CDNs let any origin read media; preflights are answered here.
async fn cors(request: Request, next: Next) -> Response {
    let mut response = if request.method() == Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, HEAD, OPTIONS"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Range, Origin, Accept, Accept-Encoding"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        r
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Content-Length, Content-Range, Accept-Ranges"),
    );
    response
}

/// Checks everything a CDN request must pass before any content: feed, faults, token, access.
/// Answers the feed and the token to propagate, or the refusal.
async fn gate(
    ctx: &Ctx,
    feed_name: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<(&'static Feed, String), ApiError> {
    let Some(feed) = media::feed_by_name(feed_name) else {
        return Err(ApiError::not_found(format!("no feed {feed_name:?}")));
    };
    match ctx.shared.feed_fault(feed.name) {
        Some(FeedFault::Slow) => tokio::time::sleep(SLOW_DELAY).await,
        Some(FeedFault::Dead) => return Err(ApiError::not_found("stream not found")),
        Some(FeedFault::Forbidden) => {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "access denied"));
        }
        Some(FeedFault::ServerError) => {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "origin_error",
                "origin unavailable",
            ));
        }
        _ => {}
    }
    let token = query.get("token").map(String::as_str);
    if let Err(e) = ctx.shared.signer.check_cdn_token(feed.name, token, now()) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, e.code(), "invalid or expired token"));
    }
    check_access(ctx, feed, headers)?;
    Ok((feed, token.unwrap_or_default().to_owned()))
}

fn check_access(ctx: &Ctx, feed: &Feed, headers: &HeaderMap) -> Result<(), ApiError> {
    let referer_ok = || {
        let want = format!("{}/demo-tv/", ctx.origin_url(headers));
        headers.get(header::REFERER).and_then(|v| v.to_str().ok()).is_some_and(|r| r.starts_with(&want))
    };
    let browser_ok = || {
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ua| ua.starts_with("Mozilla/5.0"))
    };
    match feed.access {
        Access::TokenOnly => Ok(()),
        Access::Referer | Access::RefererAndBrowser if !referer_ok() => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_referer",
            "hotlinking denied: Referer must be the demo-tv site",
        )),
        Access::RefererAndBrowser if !browser_ok() => {
            Err(ApiError::new(StatusCode::FORBIDDEN, "bad_user_agent", "a browser User-Agent is required"))
        }
        _ => Ok(()),
    }
}

async fn master(
    State(ctx): State<Ctx>,
    Path(feed): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (feed, token) = match gate(&ctx, &feed, &headers, &query).await {
        Ok(ok) => ok,
        Err(refusal) => return refusal.into_response(),
    };
    if feed.redirects && ctx.origin == Origin::Main {
        let host = ctx.host(&headers);
        let target = format!(
            "http://{}:{}/cdn/{}/master.m3u8?token={token}",
            host_name(&host),
            ctx.shared.second_addr.port(),
            feed.name
        );
        return (StatusCode::FOUND, [(header::LOCATION, target)]).into_response();
    }
    playlist(feed, &headers, hls::master(feed, &token, &ctx.shared.rates(feed)))
}

async fn variant_file(
    State(ctx): State<Ctx>,
    Path((feed, variant, file)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (feed, token) = match gate(&ctx, &feed, &headers, &query).await {
        Ok(ok) => ok,
        Err(refusal) => return refusal.into_response(),
    };
    let Some((vi, v)) = feed.variant(&variant) else {
        return ApiError::not_found(format!("no variant {variant:?}")).into_response();
    };
    let segment_secs = ctx.shared.config.segment_secs;
    let fault = ctx.shared.feed_fault(feed.name);
    let clock = match fault {
        Some(FeedFault::Stale { frozen_at }) => frozen_at,
        _ => now(),
    };
    let live_edge = hls::live_edge(clock, segment_secs);
    let not_found = || ApiError::not_found(format!("no such object {file:?}")).into_response();
    if file != "index.m3u8" {
        match fault {
            Some(FeedFault::SegmentsDead) => return not_found(),
            Some(FeedFault::SegmentsForbidden) => {
                return ApiError::new(StatusCode::FORBIDDEN, "forbidden", "token revoked").into_response();
            }
            _ => {}
        }
    }
    match (feed.packaging, file.as_str()) {
        (_, "index.m3u8") => {
            let text = hls::media_playlist(&MediaRequest {
                feed,
                variant: vi,
                last: live_edge,
                segment_secs,
                token: &token,
                empty: fault == Some(FeedFault::Empty),
                dseq_epoch: ctx.shared.dseq_epoch,
            });
            playlist(feed, &headers, text)
        }
        (Packaging::Fmp4, "init.mp4") => match v.init {
            Some(init) => range::respond(&headers, Bytes::from_static(init), "video/mp4"),
            None => not_found(),
        },
        (Packaging::ByteRange, "stream.ts") => {
            let (all, _) =
                media::stats(feed, vi).single_file.as_ref().expect("byte-range feeds have a single file");
            range::respond(&headers, all.clone(), "video/mp2t")
        }
        (Packaging::Aes128, "key.bin") => {
            let mut r =
                range::respond(&headers, Bytes::from_static(media::AES_KEY), "application/octet-stream");
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        (packaging, name) => {
            let ext = match packaging {
                Packaging::Fmp4 => ".m4s",
                Packaging::Ts | Packaging::Aes128 => ".ts",
                Packaging::ByteRange => return not_found(),
            };
            let seq = name
                .strip_prefix("seg-")
                .and_then(|n| n.strip_suffix(ext))
                .and_then(|n| n.parse::<u64>().ok());
            // Segments after the live edge do not exist yet.
            match seq {
                Some(seq) if seq <= live_edge + 1 => {
                    let data = ctx.shared.segment(feed, vi, seq);
                    let content_type = if ext == ".m4s" { "video/iso.segment" } else { "video/mp2t" };
                    let mut r = range::respond(&headers, data, content_type);
                    r.headers_mut()
                        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
                    r
                }
                _ => not_found(),
            }
        }
    }
}

/// A playlist answer: the right type, never cached, gzip-encoded for gzip feeds when accepted.
fn playlist(feed: &Feed, headers: &HeaderMap, text: String) -> Response {
    let mut response = if feed.gzip && accepts_gzip(headers) {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        let gz =
            enc.write_all(text.as_bytes()).and_then(|()| enc.finish()).expect("gzip into memory cannot fail");
        let mut r = gz.into_response();
        r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        text.into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PLAYLIST_TYPE));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if feed.gzip {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    response
}

/// Whether `Accept-Encoding` lists gzip with a non-zero quality.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let zero = parts
                .any(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()).is_some_and(|q| q == 0.0));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !zero
        })
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn gzip_negotiation() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(v));
            accepts_gzip(&h)
        };
        assert!(with("gzip"));
        assert!(with("br, gzip;q=0.5"));
        assert!(!with("gzip;q=0"));
        assert!(!with("br, deflate"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
