//! `GET /schedule[?season=YYYY]`: the season with each session's status computed now, with
//! `ETag` (answers `304` to a matching `If-None-Match`) and a short `Cache-Control`. Which seasons
//! are fetched, and how misses are remembered, is the service's call (`ScheduleService::get_or_fetch`).

use std::hash::{DefaultHasher, Hash, Hasher};

use axum::{
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::error::AppError;
use crate::AppState;

/// Query parameters.
#[derive(Deserialize)]
pub struct ScheduleQuery {
    season: Option<String>,
}

/// Statuses change with time, so caches may keep an answer only briefly.
const CACHE_CONTROL: &str = "public, max-age=30";

/// The handler.
pub async fn get(
    State(state): State<AppState>,
    Query(query): Query<ScheduleQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let service = &state.schedule;
    let season = match query.season.as_deref() {
        None | Some("") | Some("current") => service.default_season(),
        Some(text) => text.parse::<i32>().ok().filter(|y| (1950..=9999).contains(y)).ok_or_else(|| {
            AppError::BadRequest(format!("season must be a year such as 2026, not {text:?}"))
        })?,
    };
    let data = service.get_or_fetch(season).await.map_err(|e| {
        if e.unknown {
            AppError::NotFound(format!("no schedule for season {season}: {}", e.failures.join("; ")))
        } else {
            AppError::BadGateway(e.to_string())
        }
    })?;
    let body =
        serde_json::to_vec(&data.render(service.now())).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut hasher = DefaultHasher::new();
    body.hash(&mut hasher);
    let etag = format!("\"{:016x}\"", hasher.finish());
    let etag_value = HeaderValue::from_str(&etag).map_err(|e| AppError::Internal(e.to_string()))?;
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == etag));
    let common =
        [(header::ETAG, etag_value), (header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL))];
    if cached {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    Ok((common, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
}
