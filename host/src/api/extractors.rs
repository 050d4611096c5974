//! `GET /extractors`: loaded and failed plugins. Guarded by `--admin-token` when one is set.

use axum::{Json, extract::State, http::HeaderMap};

use super::{auth, error::AppError};
use crate::{AppState, extract::registry::ExtractorEntry};

/// The handler.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<ExtractorEntry>>, AppError> {
    auth::require_admin(&state, &headers)?;
    Ok(Json(state.plugins.entries()))
}
