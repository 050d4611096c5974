//! `/_control/…`: how tests, benchmarks and the demo steer the simulated internet.
//!
//! - `POST /_control/fault` with one of
//!   `{"feed": NAME, "mode": "dead|403|500|empty|stale|slow|segments-404|segments-403|ok"}`,
//!   `{"source": "jolpica"|"openf1", "mode": "slow|500|malformed|ok"}`,
//!   `{"site": "demo-tv", "mode": "no-csrf|bad-token-json|no-url|ok"}` → `{"ok": true}`
//! - `GET /_control/token?feed=NAME` → `{"url": absolute tokenised master URL, "expires_at": secs}`
//! - `GET /_control/stats` → `{"/path": count, …}` (requests to `/_control/…` are not counted)
//! - `POST /_control/reset` clears faults and counters.
//!
//! Bad input answers 400 with a JSON error; nothing here panics on input.

use std::collections::HashMap;

use axum::extract::{Query, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::media;
use crate::state::{ApiError, Ctx, FeedFault, SiteFault, SourceFault, now};

/// The control routes.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/_control/fault", post(fault))
        .route("/_control/token", get(token))
        .route("/_control/stats", get(stats))
        .route("/_control/reset", post(reset))
}

/// Middleware counting every request by path (without query), except control calls.
pub async fn count_requests(State(ctx): State<Ctx>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !path.starts_with("/_control/") {
        ctx.shared.count(path);
    }
    next.run(request).await
}

async fn fault(State(ctx): State<Ctx>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let request: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("body must be a JSON object: {e}")))?;
    let field = |name: &str| -> Result<Option<&str>, ApiError> {
        match request.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::bad_request(format!("{name:?} must be a string"))),
        }
    };
    let mode = field("mode")?.ok_or_else(|| ApiError::bad_request("\"mode\" is required"))?;
    let targets = [field("feed")?, field("source")?, field("site")?];
    let ok = mode == "ok";
    match targets {
        [Some(feed), None, None] => {
            let feed = media::feed_by_name(feed)
                .ok_or_else(|| ApiError::bad_request(format!("unknown feed {feed:?}")))?;
            let fault = match mode {
                "ok" => None,
                "dead" => Some(FeedFault::Dead),
                "403" => Some(FeedFault::Forbidden),
                "500" => Some(FeedFault::ServerError),
                "empty" => Some(FeedFault::Empty),
                "stale" => Some(FeedFault::Stale { frozen_at: now() }),
                "slow" => Some(FeedFault::Slow),
                "segments-404" => Some(FeedFault::SegmentsDead),
                "segments-403" => Some(FeedFault::SegmentsForbidden),
                other => {
                    return Err(bad_mode(
                        other,
                        "dead|403|500|empty|stale|slow|segments-404|segments-403|ok",
                    ));
                }
            };
            let mut faults = ctx.shared.faults();
            match fault {
                Some(f) => faults.feeds.insert(feed.name, f),
                None => faults.feeds.remove(feed.name),
            };
        }
        [None, Some(source), None] => {
            let source = match source {
                "jolpica" => "jolpica",
                "openf1" => "openf1",
                other => {
                    return Err(ApiError::bad_request(format!("unknown source {other:?} (jolpica|openf1)")));
                }
            };
            let fault = match mode {
                "ok" => None,
                "slow" => Some(SourceFault::Slow),
                "500" => Some(SourceFault::ServerError),
                "malformed" => Some(SourceFault::Malformed),
                other => return Err(bad_mode(other, "slow|500|malformed|ok")),
            };
            let mut faults = ctx.shared.faults();
            match fault {
                Some(f) => faults.sources.insert(source, f),
                None => faults.sources.remove(source),
            };
        }
        [None, None, Some(site)] => {
            if site != "demo-tv" {
                return Err(ApiError::bad_request(format!("unknown site {site:?} (demo-tv)")));
            }
            let fault = match mode {
                "ok" => None,
                "no-csrf" => Some(SiteFault::NoCsrf),
                "bad-token-json" => Some(SiteFault::BadTokenJson),
                "no-url" => Some(SiteFault::NoUrl),
                other => return Err(bad_mode(other, "no-csrf|bad-token-json|no-url|ok")),
            };
            ctx.shared.faults().demo_tv = fault;
        }
        _ => {
            return Err(ApiError::bad_request("give exactly one of \"feed\", \"source\" or \"site\""));
        }
    }
    Ok(Json(json!({"ok": true, "cleared": ok})))
}

fn bad_mode(mode: &str, allowed: &str) -> ApiError {
    ApiError::bad_request(format!("unknown mode {mode:?} ({allowed})"))
}

async fn token(
    State(ctx): State<Ctx>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let name =
        query.get("feed").ok_or_else(|| ApiError::bad_request("query parameter \"feed\" is required"))?;
    let feed =
        media::feed_by_name(name).ok_or_else(|| ApiError::bad_request(format!("unknown feed {name:?}")))?;
    let (url, expires_at) = ctx.master_url(&headers, feed.name);
    Ok(Json(json!({"url": url, "expires_at": expires_at})))
}

async fn stats(State(ctx): State<Ctx>) -> impl IntoResponse {
    Json(ctx.shared.stats())
}

async fn reset(State(ctx): State<Ctx>) -> impl IntoResponse {
    ctx.shared.reset();
    Json(json!({"ok": true}))
}
