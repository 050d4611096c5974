//! Streams for viewers: `GET /streams?session=ID[&all=true]` (verified-live streams, best
//! first), `GET /streams/{id}[?variant=LABEL]`, and the stable playlists
//! `GET /live/{id}/master.m3u8` and `GET /live/{id}/{variant}.m3u8` (served by `streams::live`),
//! and the session URL `GET /live/session/{session}/…` (`streams::session`). Handlers only
//! translate: the stream domain lives in `streams`.

use axum::{
    Json,
    extract::{Path, Query, State},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    auth,
    error::AppError,
    relay::{now, playlist_body, upstream_error},
};
use crate::{
    AppState,
    health::{
        board::{StreamHealth, rank},
        stream_id,
    },
    store::Extractions,
    streams::{
        live::{self, LiveError},
        session::SessionError,
        state::{self as stream_state, RefreshError},
        view::{
            RefreshErrorView, SessionPlayback, SourceRow, SourceStatus, StreamView, StreamsAnswer, VariantUrl,
        },
    },
};

/// `?session=&all=`.
#[derive(Deserialize)]
pub struct StreamsQuery {
    session: Option<String>,
    all: Option<bool>,
}

/// `?variant=`.
#[derive(Deserialize)]
pub struct StreamQuery {
    variant: Option<String>,
}

/// `?key=` of a TV player (checked by `auth::refusal`), carried into the URLs a master lists.
#[derive(Deserialize)]
pub struct KeyQuery {
    key: Option<String>,
}

/// `GET /streams?session=ID[&all=true]`.
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<StreamsQuery>,
) -> Result<Json<StreamsAnswer>, AppError> {
    let session = query
        .session
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AppError::BadRequest("missing ?session=ID".into()))?;
    let store = state.store.as_ref();
    let mut streams: Vec<StreamHealth> = stream_state::session_health(store, &session).await;
    if query.all.unwrap_or(false) {
        for extraction in Extractions::for_session(store, &session).await {
            for c in &extraction.candidates {
                let id = stream_id(&session, &extraction.source, &c.label);
                if !streams.iter().any(|s| s.id == id) {
                    streams.push(StreamHealth::new(
                        &id,
                        &session,
                        &extraction.source,
                        &extraction.extractor,
                        &c.label,
                    ));
                }
            }
        }
    }
    let now = now(&state);
    let interval = state.config.file.health.interval.as_secs().max(1) as i64;
    rank(&mut streams, now, interval);
    if !query.all.unwrap_or(false) {
        streams.retain(|s| s.verified(now, interval));
    }
    let refresh_errors = stream_state::refresh_errors(store, &session).await;
    let rendered: Vec<StreamView> = streams
        .iter()
        .map(|h| {
            StreamView::new(
                &state,
                h,
                refresh_errors.iter().find(|(source, _)| *source == h.source).map(|(_, e)| e),
            )
        })
        .collect();
    let checked_at = streams
        .iter()
        .filter_map(|s| s.last_checked)
        .max()
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(crate::schedule::model::utc);
    let sources = match query.all.unwrap_or(false) {
        true => Some(sources_view(&state, &session, &refresh_errors).await),
        false => None,
    };
    Ok(Json(StreamsAnswer { checked_at, session, sources, streams: rendered }))
}

/// `sources` of `/streams?all=true`: every configured source that serves this session's kind,
/// with its last refresh outcome, so a source that found nothing (or whose extractor is not
/// loaded) is visible with the step that failed, not only in the log.
async fn sources_view(
    state: &AppState,
    session: &str,
    refresh_errors: &[(String, RefreshError)],
) -> Vec<SourceRow> {
    let season = session.split('-').next().and_then(|y| y.parse().ok());
    let kind = season
        .and_then(|season| state.schedule.get(season))
        .and_then(|season| season.session(session).map(|(_, s)| s.kind));
    let extracted: Vec<String> =
        Extractions::for_session(state.store.as_ref(), session).await.into_iter().map(|e| e.source).collect();
    state
        .config
        .file
        .source
        .iter()
        .filter(|s| s.sessions.is_empty() || kind.is_none_or(|k| s.sessions.contains(&k)))
        .map(|s| {
            let error = refresh_errors.iter().find(|(source, _)| *source == s.id).map(|(_, e)| e);
            let status = match (error, extracted.contains(&s.id)) {
                (Some(_), _) => SourceStatus::Failing,
                (None, true) => SourceStatus::Extracted,
                (None, false) => SourceStatus::Pending,
            };
            SourceRow {
                error: error.map(RefreshErrorView::from),
                extractor: s.extractor.clone(),
                extractor_loaded: state.plugins.get(&s.extractor).is_some(),
                hosts: super::extractors::effective_hosts(state, s),
                id: s.id.clone(),
                label: s.label.clone(),
                status,
            }
        })
        .collect()
}

/// `GET /streams/{id}[?variant=LABEL]`.
pub async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<StreamQuery>,
) -> Result<Response, AppError> {
    let health = stream_state::health(state.store.as_ref(), &id)
        .await
        .ok_or_else(|| AppError::NotFound(format!("no stream {id}")))?;
    if let Some(label) = query.variant {
        if !health.variants.iter().any(|v| v.label == label) {
            return Err(AppError::NotFound(format!("stream {id} has no variant {label:?}")));
        }
        return Ok(Json(VariantUrl { url: format!("/live/{id}/{label}.m3u8") }).into_response());
    }
    let refresh_error =
        stream_state::refresh_error(state.store.as_ref(), &health.session, &health.source).await;
    Ok(Json(StreamView::new(&state, &health, refresh_error.as_ref())).into_response())
}

/// `GET /live/session/{session}/{file}`: `master.m3u8` or `{variant}.m3u8` of the session's
/// best live stream, failing over to the next one behind the same URL; `status` says what it
/// plays.
pub async fn live_session(
    State(state): State<AppState>,
    Path((session, file)): Path<(String, String)>,
    Query(query): Query<KeyQuery>,
) -> Result<Response, AppError> {
    if file == "status" {
        return Ok(Json(session_status(&state, &session).await).into_response());
    }
    let name = file.strip_suffix(".m3u8").ok_or_else(|| AppError::NotFound(format!("no file {file}")))?;
    let sessions = state.sessions.clone();
    let body = if name == "master" {
        sessions.master(&state, &session, &auth::key_suffix(&state, query.key.as_deref())).await
    } else {
        sessions.media(&state, &session, name).await
    };
    match body {
        Ok(body) => Ok(playlist_body(body)),
        Err(e @ SessionError::NotFound(_)) => Err(AppError::NotFound(e.to_string())),
        Err(e @ SessionError::NoStream(_)) => Err(AppError::NotReady(e.to_string())),
    }
}

/// `GET /live/session/{session}/status`: which stream the session URL plays, since when, and
/// its last switches (oldest first), named as `/streams` names them.
async fn session_status(state: &AppState, session: &str) -> SessionPlayback {
    let log = state.sessions.log(session);
    let streams: Vec<StreamHealth> = stream_state::session_health(state.store.as_ref(), session).await;
    SessionPlayback::new(state, session, &log, &streams)
}

/// `GET /live/{id}/{file}`: `master.m3u8` or `{variant}.m3u8` (`streams::live`).
pub async fn live(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    Query(query): Query<KeyQuery>,
) -> Result<Response, AppError> {
    let name = file.strip_suffix(".m3u8").ok_or_else(|| AppError::NotFound(format!("no file {file}")))?;
    let suffix = auth::key_suffix(&state, query.key.as_deref());
    match live::playlist(&state, &id, name, &suffix).await {
        Ok(body) => Ok(playlist_body(body)),
        Err(LiveError::NotFound(m)) => Err(AppError::NotFound(m)),
        Err(LiveError::NotReady(m)) => Err(AppError::NotReady(m)),
        Err(LiveError::Upstream(e)) => Err(upstream_error(e)),
        Err(LiveError::BadPlaylist(m)) => Err(AppError::BadGateway(m)),
    }
}
