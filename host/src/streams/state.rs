//! Stream state in the store, typed: each stream's health on the board, and each source's last
//! refresh outcome. The jobs write it, the API and session tracks read it; neither spells a key
//! (they live in [`crate::store::keys`]).

use std::time::Duration;

use crate::{
    health::board::StreamHealth,
    store::{Store, keys},
};

/// The last refresh failure of a source for a session, shown as `token.refresh_error` and on the
/// source in `/streams?all=true`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefreshError {
    /// Failed step.
    pub step: String,
    /// Detail.
    pub message: String,
    /// Unix seconds.
    pub at: i64,
}

/// How long a refresh outcome is remembered.
pub const REFRESH_OUTCOME_TTL: Duration = Duration::from_secs(3600);

/// A stream's health.
pub async fn health(store: &dyn Store, id: &str) -> Option<StreamHealth> {
    let bytes = store.get(&keys::health(id)).await?;
    serde_json::from_slice(&bytes).ok()
}

/// Every stream's health.
pub async fn all_health(store: &dyn Store) -> Vec<StreamHealth> {
    scan_json(store, keys::HEALTH_PREFIX).await
}

/// Every entry under `prefix` that reads as a `T` (others are skipped).
async fn scan_json<T: serde::de::DeserializeOwned>(store: &dyn Store, prefix: &str) -> Vec<T> {
    store
        .scan(prefix)
        .await
        .into_iter()
        .filter_map(|(_, bytes)| serde_json::from_slice(&bytes).ok())
        .collect()
}

/// Every stream's health for `session`.
pub async fn session_health(store: &dyn Store, session: &str) -> Vec<StreamHealth> {
    all_health(store).await.into_iter().filter(|h| h.session == session).collect()
}

/// Stores a stream's health for `ttl`.
pub async fn save_health(store: &dyn Store, health: &StreamHealth, ttl: Duration) {
    match serde_json::to_vec(health) {
        Ok(bytes) => store.put(&keys::health(&health.id), bytes, ttl).await,
        Err(e) => tracing::error!(stream = %health.id, error = %e, "cannot encode a stream's health"),
    }
}

/// Records the outcome of a refresh of `source` for `session`: its failure, or `None` after a
/// success (which clears the shown error).
pub async fn record_refresh(store: &dyn Store, session: &str, source: &str, failure: Option<&RefreshError>) {
    let bytes = serde_json::to_vec(&failure).unwrap_or_else(|_| b"null".to_vec());
    store.put(&keys::refresh(session, source), bytes, REFRESH_OUTCOME_TTL).await;
}

/// The last refresh failure of `source` for `session`, if its last refresh failed.
pub async fn refresh_error(store: &dyn Store, session: &str, source: &str) -> Option<RefreshError> {
    let bytes = store.get(&keys::refresh(session, source)).await?;
    serde_json::from_slice::<Option<RefreshError>>(&bytes).ok().flatten()
}

/// Every source whose last refresh for `session` failed, with its failure.
pub async fn refresh_errors(store: &dyn Store, session: &str) -> Vec<(String, RefreshError)> {
    let prefix = keys::refreshes_of(session);
    store
        .scan(&prefix)
        .await
        .into_iter()
        .filter_map(|(key, bytes)| {
            let source = key.strip_prefix(&prefix)?.to_string();
            Some((source, serde_json::from_slice::<Option<RefreshError>>(&bytes).ok()??))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn refresh_outcomes_round_trip_and_a_success_clears_the_failure() {
        let store = MemoryStore::default();
        let failure = RefreshError { step: "request".into(), message: "404".into(), at: 7 };
        record_refresh(&store, "s1", "a", Some(&failure)).await;
        record_refresh(&store, "s1", "b", None).await;
        record_refresh(&store, "s2", "a", Some(&failure)).await;
        assert_eq!(refresh_error(&store, "s1", "a").await, Some(failure.clone()));
        assert_eq!(refresh_errors(&store, "s1").await, [("a".to_string(), failure)]);
        record_refresh(&store, "s1", "a", None).await;
        assert_eq!(refresh_error(&store, "s1", "a").await, None);
        assert!(refresh_errors(&store, "s1").await.is_empty());
    }
}

/// A refresh request passed between replicas: which source, for which session, asked when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefreshRequest {
    /// The session.
    pub session: String,
    /// The source to extract again.
    pub source: String,
    /// Unix seconds.
    pub at: i64,
}

/// How long a refresh request waits for the leader to take it.
const REFRESH_REQUEST_TTL: Duration = Duration::from_secs(60);

/// Hands a refresh request to the poll leader, wherever it runs.
pub async fn ask_refresh(store: &dyn Store, request: &RefreshRequest) {
    if let Ok(bytes) = serde_json::to_vec(request) {
        store
            .put(&keys::refresh_request(&request.session, &request.source), bytes, REFRESH_REQUEST_TTL)
            .await;
    }
}

/// Every refresh request replicas have handed over (the leader keeps track of which it took).
pub async fn refresh_requests(store: &dyn Store) -> Vec<RefreshRequest> {
    scan_json(store, keys::REFRESH_REQUEST_PREFIX).await
}
