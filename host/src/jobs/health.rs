//! The health job: every `[health] interval` (counted from the start of one round to the next,
//! so a slow round does not stretch the cadence), probe every candidate extracted for a session
//! in its polling window and record the result on the board in the store. A new extraction
//! wakes it at once to probe the candidates not yet probed, so a stream appears as soon as it
//! is proven live rather than up to one interval later. Only the replica holding the poll lock
//! probes. A failing probe touches only its own stream.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{
    poll::{LEADER_TTL, Poller},
    sleep_or_shutdown,
};
use crate::{
    health::{
        board::{StreamHealth, Thresholds},
        probe::{Previous, Prober},
        stream_id,
    },
    store::{Extractions, keys::LEADER_LOCK},
    streams::state,
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
    /// How long the last round took (ms); recorded on each stream so `/streams` allows for it.
    pub last_round_ms: AtomicU64,
}

/// Which candidates a round probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// Every candidate of every session in window.
    All,
    /// Only candidates with no health yet, or extracted after their last probe.
    New,
}

/// After a new extraction, wait this long for the rest of a burst before probing.
const SETTLE: Duration = Duration::from_millis(200);

impl HealthJob {
    /// Runs until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut next_full = tokio::time::Instant::now();
        let mut extractions = self.poller.refresh.extractions();
        loop {
            let full = tokio::time::Instant::now() >= next_full;
            if full {
                next_full = tokio::time::Instant::now() + self.interval;
            }
            let store = self.poller.store.clone();
            if store.lock(LEADER_LOCK, &self.poller.holder, LEADER_TTL).await {
                self.probe_round(if full { Round::All } else { Round::New }).await;
            }
            tokio::select! {
                () = tokio::time::sleep_until(next_full) => {}
                _ = extractions.changed() => {
                    if !sleep_or_shutdown(SETTLE, &shutdown).await {
                        return;
                    }
                }
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// One round over every candidate of every session in window ([`Round::All`]), or over
    /// those not probed since they were extracted ([`Round::New`]).
    pub async fn probe_round(&self, round: Round) {
        let store = self.poller.store.as_ref();
        let mut work = Vec::new();
        for (_, session) in self.poller.active_sessions(self.poller.schedule.now()) {
            for extraction in Extractions::for_session(store, &session.id).await {
                for candidate in extraction.candidates {
                    if round == Round::New {
                        let id = stream_id(&session.id, &extraction.source, &candidate.label);
                        let probed = state::health(store, &id)
                            .await
                            .is_some_and(|h| h.last_refresh.is_some_and(|at| at >= extraction.extracted_at));
                        if probed {
                            continue;
                        }
                    }
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
        let started = std::time::Instant::now();
        futures_util::stream::iter(work)
            .for_each_concurrent(CONCURRENCY, |(source, extractor, extracted_at, session, candidate)| async move {
                let id = stream_id(&session, &source, &candidate.label);
                let mut health = state::health(store, &id)
                    .await
                    .unwrap_or_else(|| StreamHealth::new(&id, &session, &source, &extractor, &candidate.label));
                let previous = Previous { position: health.position.clone(), moved_at: health.position_moved_at };
                let result = self.prober.probe(&candidate.url, &candidate.headers, &previous).await;
                let round = started.elapsed().as_millis() as u64;
                health.round_ms = Some(round.max(self.last_round_ms.load(Ordering::Relaxed)));
                if let Err(e) = &result {
                    tracing::info!(stream = %id, source = %source, step = %e.step, message = %e.message, "probe failed");
                }
                health.record(result, self.poller.schedule.now().timestamp(), self.thresholds);
                health.token_expires_at = candidate.expires_at;
                health.last_refresh = Some(extracted_at);
                state::save_health(store, &health, (self.interval * 40).max(Duration::from_secs(600))).await;
            })
            .await;
        self.last_round_ms.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}
