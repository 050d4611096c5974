//! Schedule APIs: jolpica-f1 under `/jolpica/ergast/f1/…` and OpenF1 under `/openf1/v1/…`, from
//! the embedded fixtures plus the synthetic season 9999, with injectable faults per source.

pub mod jolpica;
pub mod openf1;
pub mod synthetic;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Datelike, Utc};

use crate::state::{ApiError, Ctx, SLOW_DELAY, SourceFault};

/// The schedule routes.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/jolpica/ergast/f1/{file}", get(jolpica_season))
        .route("/jolpica/ergast/f1/{season}/races.json", get(jolpica_races))
        .route("/openf1/v1/sessions", get(openf1_sessions))
}

/// Applies the source's fault around a rendered answer.
async fn answer(ctx: &Ctx, source: &'static str, render: impl FnOnce() -> String) -> Response {
    let fault = ctx.shared.faults().sources.get(source).copied();
    match fault {
        Some(SourceFault::Slow) => tokio::time::sleep(SLOW_DELAY).await,
        Some(SourceFault::ServerError) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body><h1>500 Internal Server Error</h1></body></html>",
            )
                .into_response();
        }
        _ => {}
    }
    let mut body = render();
    if fault == Some(SourceFault::Malformed) {
        // A connection cut mid-body, as a flaky upstream delivers it.
        body.truncate(body.len() / 2);
    }
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn season_number(season: &str) -> Option<u32> {
    if season == "current" {
        return Some(Utc::now().year() as u32);
    }
    season.parse().ok().filter(|y| (1950..=9999).contains(y))
}

async fn jolpica_season(
    State(ctx): State<Ctx>,
    Path(file): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
) -> Response {
    let Some(season) = file.strip_suffix(".json").and_then(season_number) else {
        return ApiError::not_found(format!("no such resource {file:?}")).into_response();
    };
    jolpica(&ctx, season, &query, uri.path()).await
}

async fn jolpica_races(
    State(ctx): State<Ctx>,
    Path(season): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
) -> Response {
    let Some(season) = season_number(&season) else {
        return ApiError::not_found(format!("no such season {season:?}")).into_response();
    };
    jolpica(&ctx, season, &query, uri.path()).await
}

async fn jolpica(ctx: &Ctx, season: u32, query: &HashMap<String, String>, path: &str) -> Response {
    let (limit, offset) =
        jolpica::page(query.get("limit").map(String::as_str), query.get("offset").map(String::as_str));
    let anchor = ctx.shared.anchor;
    answer(ctx, "jolpica", || jolpica::render(season, anchor, path, limit, offset)).await
}

async fn openf1_sessions(State(ctx): State<Ctx>, Query(query): Query<HashMap<String, String>>) -> Response {
    let anchor = ctx.shared.anchor;
    answer(&ctx, "openf1", || openf1::render(anchor, &query)).await
}
