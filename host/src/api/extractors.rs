//! `GET /extractors`: loaded and failed plugins, plus a `missing` row for every extractor id that
//! a configured source names but no loaded plugin provides (with the sources that wait for it).
//! Each row lists its sources with the hosts their calls may fetch (declared + granted).
//! Guarded by `--admin-token` when one is set.

use axum::{Json, extract::State, http::HeaderMap};

use super::{auth, error::AppError};
use crate::{
    AppState,
    config::SourceConfig,
    extract::{
        host_api::HostGrants,
        registry::{ExtractorEntry, SourceHosts},
    },
};

/// The hosts `source`'s extractor calls may fetch: its plugin's (when loaded) plus its grants.
pub fn effective_hosts(state: &AppState, source: &SourceConfig) -> Vec<String> {
    let declared = state.plugins.get(&source.extractor).map(|p| p.prepared.info.allowed_hosts.clone());
    HostGrants { declared: declared.unwrap_or_default(), granted: source.allow_hosts.clone(), source: None }
        .effective()
}

/// The handler.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<ExtractorEntry>>, AppError> {
    auth::require_admin(&state, &headers)?;
    let mut rows = state.plugins.entries();
    let mut missing: Vec<&str> = state.config.file.source.iter().map(|s| s.extractor.as_str()).collect();
    missing.sort_unstable();
    missing.dedup();
    for id in missing {
        if rows.iter().any(|r| r.id == id && r.status == "loaded") {
            continue;
        }
        let sources: Vec<&str> =
            state.config.file.source.iter().filter(|s| s.extractor == id).map(|s| s.id.as_str()).collect();
        rows.push(ExtractorEntry {
            id: id.to_string(),
            name: None,
            version: None,
            api: None,
            file: String::new(),
            sha256: String::new(),
            loaded_at: String::new(),
            status: "missing",
            error: Some(format!(
                "no plugin in {} reports extractor id {id:?}; sources waiting for it: {}",
                state.plugins.dir().display(),
                sources.join(", ")
            )),
            allowed_hosts: Vec::new(),
            sources: Vec::new(),
            calls: 0,
            failures: 0,
        });
    }
    for row in &mut rows {
        row.sources = state
            .config
            .file
            .source
            .iter()
            .filter(|s| s.extractor == row.id)
            .map(|s| SourceHosts { id: s.id.clone(), hosts: effective_hosts(&state, s) })
            .collect();
    }
    Ok(Json(rows))
}
