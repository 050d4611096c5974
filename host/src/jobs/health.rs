//! The health job: every `[health] interval`, probe every candidate extracted for a session in
//! its polling window and record the result on the board in the store. Only the replica holding
//! the poll lock probes. A failing probe touches only its own stream.

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{
    poll::{LEADER_LOCK, Poller},
    sleep_or_shutdown,
};
use crate::{
    health::{
        board::{StreamHealth, Thresholds},
        probe::{Previous, Prober},
        stream_id,
    },
    store::{Extractions, Store},
};

/// Probes run at once.
const CONCURRENCY: usize = 8;

/// The health job.
pub struct HealthJob {
    /// Shared with the poller: sessions in window, store, leader identity.
    pub poller: Arc<Poller>,
    /// Probes candidates.
    pub prober: Prober,
    /// Probe interval.
    pub interval: Duration,
    /// Dead/revive thresholds.
    pub thresholds: Thresholds,
}

/// Store key of a stream's health.
pub fn key(id: &str) -> String {
    format!("health:{id}")
}

/// A stream's health from the store.
pub async fn load(store: &dyn Store, id: &str) -> Option<StreamHealth> {
    let bytes = store.get(&key(id)).await?;
    serde_json::from_slice(&bytes).ok()
}

/// Every stream's health in the store.
pub async fn load_all(store: &dyn Store) -> Vec<StreamHealth> {
    store
        .scan("health:")
        .await
        .into_iter()
        .filter_map(|(_, bytes)| serde_json::from_slice(&bytes).ok())
        .collect()
}

impl HealthJob {
    /// Runs until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            let store = self.poller.store.clone();
            if store.lock(LEADER_LOCK, &self.poller.holder, Duration::from_secs(15)).await {
                self.probe_all().await;
            }
            if !sleep_or_shutdown(self.interval, &shutdown).await {
                return;
            }
        }
    }

    /// One round: probe every candidate of every session in window.
    pub async fn probe_all(&self) {
        let store = self.poller.store.as_ref();
        let mut work = Vec::new();
        for (_, session) in self.poller.active_sessions(self.poller.schedule.now()) {
            for extraction in Extractions::for_session(store, &session.id).await {
                for candidate in extraction.candidates {
                    work.push((
                        extraction.source.clone(),
                        extraction.extractor.clone(),
                        extraction.extracted_at,
                        session.id.clone(),
                        candidate,
                    ));
                }
            }
        }
        futures_util::stream::iter(work)
            .for_each_concurrent(CONCURRENCY, |(source, extractor, extracted_at, session, candidate)| async move {
                let id = stream_id(&session, &source, &candidate.label);
                let mut health = load(store, &id)
                    .await
                    .unwrap_or_else(|| StreamHealth::new(&id, &session, &source, &extractor, &candidate.label));
                let previous = Previous { position: health.position.clone(), moved_at: health.position_moved_at };
                let result = self.prober.probe(&candidate.url, &candidate.headers, &previous).await;
                if let Err(e) = &result {
                    tracing::info!(stream = %id, source = %source, step = %e.step, message = %e.message, "probe failed");
                }
                health.record(result, chrono::Utc::now().timestamp(), self.thresholds);
                health.token_expires_at = candidate.expires_at;
                health.last_refresh = Some(extracted_at);
                if let Ok(bytes) = serde_json::to_vec(&health) {
                    store.put(&key(&id), bytes, (self.interval * 40).max(Duration::from_secs(600))).await;
                }
            })
            .await;
    }
}
