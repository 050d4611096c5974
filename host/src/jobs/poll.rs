//! Source polling: while a session is live, or inside the configured window before and after
//! it, every matching `[[source]]` is extracted every `poll` interval (with jitter, a concurrency
//! limit, and backoff after failures). Outside windows nothing runs. Results go to the store
//! with a TTL; each attempt is logged with source, extractor, session and the failed step, and
//! counted by outcome in `/metrics`. With a shared store only the lock holder polls.
//!
//! Polling starts once the plugin registry's first scan is done (an extractor still compiling
//! is not "missing"), and a source whose extractor is missing is retried as soon as the plugin
//! table changes, not after its poll period. Each stored extraction wakes the health job.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, Utc};
use tokio::{sync::Semaphore, task::JoinSet};
use tokio_util::sync::CancellationToken;

use super::Backoff;
use crate::{
    Readiness,
    config::SourceConfig,
    extract::{PluginRegistry, bindings::SessionRef},
    schedule::{
        ScheduleService,
        model::{Event, Session},
    },
    store::keys::LEADER_LOCK,
    store::{Extraction, Extractions, Store},
    streams::{
        refresh::{MIN_GAP, RefreshBus},
        state::{self, RefreshError},
    },
    telemetry::{ExtractLabels, Metrics},
};

/// How often the loop wakes to look for due work.
const TICK: Duration = Duration::from_secs(1);
/// Name of the leader lock.
/// How long a leader holds the lock without renewing it.
pub const LEADER_TTL: Duration = Duration::from_secs(15);
/// Extractions running at once.
const CONCURRENCY: usize = 4;

/// Everything the poller needs.
pub struct Poller {
    /// The calendar.
    pub schedule: Arc<ScheduleService>,
    /// Loaded extractors.
    pub plugins: Arc<PluginRegistry>,
    /// Where results go.
    pub store: Arc<dyn Store>,
    /// Configured sources.
    pub sources: Vec<SourceConfig>,
    /// Poll this long before a session starts.
    pub window_before: Duration,
    /// And this long after it ends.
    pub window_after: Duration,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// This replica's lock holder id.
    pub holder: String,
    /// Readiness checks: polling waits for the plugin registry's first scan.
    pub readiness: Readiness,
    /// Reactive refresh requests from handlers (a refused playlist), and news of every stored
    /// extraction back (to those handlers, and to the health job, which probes new candidates
    /// at once).
    pub refresh: Arc<RefreshBus>,
}

#[derive(Default)]
struct Due {
    next: Option<DateTime<Utc>>,
    /// When the last attempt started.
    started: Option<DateTime<Utc>>,
    failures: u32,
    /// The last attempt found no loaded extractor in this plugin table generation: retry as soon
    /// as the table changes.
    missing_in: Option<u64>,
}

impl Poller {
    /// Sessions inside their polling window at `now`, with their events.
    pub fn active_sessions(&self, now: DateTime<Utc>) -> Vec<(Event, Session)> {
        let Some(season) = self.schedule.get(self.schedule.default_season()) else { return Vec::new() };
        let before = chrono::Duration::from_std(self.window_before).unwrap_or_default();
        let after = chrono::Duration::from_std(self.window_after).unwrap_or_default();
        let mut out = Vec::new();
        for event in &season.events {
            for session in &event.sessions {
                let (Some(start), Some(end)) = (session.start, session.end) else { continue };
                if now >= start - before && now < end + after {
                    out.push((event.clone(), session.clone()));
                }
            }
        }
        out
    }

    /// Runs until `shutdown`. Starts polling once the plugin registry's first scan is done.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        tokio::select! {
            () = self.readiness.wait(super::plugins::READY) => {}
            () = shutdown.cancelled() => return,
        }
        let mut plugin_changes = self.plugins.changes();
        let limit = Arc::new(Semaphore::new(CONCURRENCY));
        let mut due: HashMap<(String, String), Due> = HashMap::new();
        let mut running: HashSet<(String, String)> = HashSet::new();
        let mut tasks: JoinSet<((String, String), Outcome)> = JoinSet::new();
        let mut leader = false;
        // Refresh requests from other replicas already taken: when each was asked.
        let mut taken: HashMap<(String, String), i64> = HashMap::new();
        let backoff = Backoff { first: Duration::from_secs(15), max: Duration::from_secs(10 * 60) };
        loop {
            while let Some(done) = tasks.try_join_next() {
                let Ok((key, outcome)) = done else { continue };
                running.remove(&key);
                let poll =
                    self.sources.iter().find(|s| s.id == key.0).map_or(Duration::from_secs(60), |s| s.poll);
                let entry = due.entry(key).or_default();
                entry.missing_in = None;
                let wait = match outcome {
                    Outcome::Extracted { expires_at } => {
                        entry.failures = 0;
                        next_poll(poll, expires_at, self.schedule.now().timestamp())
                    }
                    Outcome::Failed => {
                        entry.failures += 1;
                        jitter(poll.max(backoff.delay(entry.failures)))
                    }
                    Outcome::MissingExtractor { generation } => {
                        entry.failures += 1;
                        entry.missing_in = Some(generation);
                        jitter(poll.max(backoff.delay(entry.failures)))
                    }
                };
                entry.next = Some(self.schedule.now() + chrono::Duration::from_std(wait).unwrap_or_default());
            }
            let now_leader = self.store.lock(LEADER_LOCK, &self.holder, LEADER_TTL).await;
            if now_leader != leader {
                leader = now_leader;
                if leader {
                    tracing::info!(holder = %self.holder, store = self.store.kind(), "this replica runs the source polls");
                } else {
                    tracing::info!(holder = %self.holder, "another replica runs the source polls");
                }
            }
            if leader {
                let generation = *plugin_changes.borrow_and_update();
                for ((source, _), d) in due.iter_mut() {
                    if d.missing_in.is_some_and(|g| g != generation) {
                        tracing::info!(source = %source, plugins = ?self.plugins.ids(), "plugins changed; retrying a source that was missing its extractor");
                        d.missing_in = None;
                        d.next = None;
                    }
                }
                let mut requests = self.refresh.take();
                // Requests other replicas handed over, each taken once.
                for request in state::refresh_requests(self.store.as_ref()).await {
                    let key = (request.source, request.session);
                    if taken.get(&key).is_none_or(|at| *at < request.at) {
                        taken.insert(key.clone(), request.at);
                        requests.push(key);
                    }
                }
                for (source, session) in requests {
                    let key = (source, session);
                    // One already running brings the new token anyway.
                    if running.contains(&key) {
                        continue;
                    }
                    let Some(d) = due.get_mut(&key) else { continue };
                    // As soon as the site allows: at once, or MIN_GAP after the last attempt.
                    let gap = chrono::Duration::from_std(MIN_GAP).unwrap_or_default();
                    let soonest =
                        d.started.map_or(self.schedule.now(), |at| (at + gap).max(self.schedule.now()));
                    if d.next.is_none_or(|next| soonest < next) {
                        tracing::info!(source = %key.0, session = %key.1, "an upstream refused the stream; extracting again now");
                        d.next = Some(soonest);
                    }
                }
                self.start_due(&mut due, &mut running, &mut tasks, &limit);
            } else {
                // Not the leader: hand refused tokens to the replica that polls.
                let at = self.schedule.now().timestamp();
                for (source, session) in self.refresh.take() {
                    tracing::info!(source = %source, session = %session, "an upstream refused the stream; asking the polling replica to extract again");
                    let request = state::RefreshRequest { session, source, at };
                    state::ask_refresh(self.store.as_ref(), &request).await;
                }
            }
            // Wake on the next tick, or at once when the plugin table changes or a handler asks
            // for a refresh.
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                _ = plugin_changes.changed() => {}
                () = self.refresh.requested() => {}
                () = shutdown.cancelled() => {
                    tasks.abort_all();
                    return;
                }
            }
        }
    }

    fn start_due(
        self: &Arc<Self>,
        due: &mut HashMap<(String, String), Due>,
        running: &mut HashSet<(String, String)>,
        tasks: &mut JoinSet<((String, String), Outcome)>,
        limit: &Arc<Semaphore>,
    ) {
        let now = self.schedule.now();
        let active = self.active_sessions(now);
        let live_keys: HashSet<(String, String)> = active
            .iter()
            .flat_map(|(_, session)| {
                self.sources
                    .iter()
                    .filter(|s| s.sessions.is_empty() || s.sessions.contains(&session.kind))
                    .map(|s| (s.id.clone(), session.id.clone()))
            })
            .collect();
        due.retain(|key, _| live_keys.contains(key));
        for (event, session) in active {
            for source in
                self.sources.iter().filter(|s| s.sessions.is_empty() || s.sessions.contains(&session.kind))
            {
                let key = (source.id.clone(), session.id.clone());
                if running.contains(&key)
                    || due.get(&key).and_then(|d| d.next).is_some_and(|next| self.schedule.now() < next)
                {
                    continue;
                }
                running.insert(key.clone());
                let entry = due.entry(key.clone()).or_default();
                entry.next = None;
                entry.started = Some(self.schedule.now());
                let (this, source, event, session, limit) =
                    (self.clone(), source.clone(), event.clone(), session.clone(), limit.clone());
                tasks.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    let outcome = this.extract_once(&source, &event, &session).await;
                    (key, outcome)
                });
            }
        }
    }

    /// Extracts one source for one session, stores the result, logs and counts it.
    pub async fn extract_once(&self, source: &SourceConfig, event: &Event, session: &Session) -> Outcome {
        let season = session.id.split('-').next().and_then(|y| y.parse().ok()).unwrap_or(0);
        let session_ref = SessionRef {
            id: session.id.clone(),
            kind: session.kind.to_string(),
            season,
            round: event.round,
            event_name: event.name.clone(),
            start: session.start.map(|t| t.timestamp().max(0) as u64),
        };
        let settings: Vec<(String, String)> =
            source.settings.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let started = std::time::Instant::now();
        // Read the generation before looking the plugin up: a load that lands in between bumps
        // it, so the retry cannot be missed.
        let generation = *self.plugins.changes().borrow();
        if self.plugins.get(&source.extractor).is_none() {
            let message = format!(
                "no loaded extractor {:?}: no plugin in {} reports this id (loaded: {}); add its .wasm there and this source is retried at once",
                source.extractor,
                self.plugins.dir().display(),
                self.plugins.ids().join(", "),
            );
            tracing::warn!(source = %source.id, extractor = %source.extractor, session = %session.id, step = STEP_EXTRACTOR_MISSING, detail = %message, "extraction failed");
            self.record_error(&session.id, &source.id, STEP_EXTRACTOR_MISSING, message).await;
            self.count(source, STEP_EXTRACTOR_MISSING);
            return Outcome::MissingExtractor { generation };
        }
        let result = self
            .plugins
            .extract_for(&source.extractor, session_ref, settings, &source.allow_hosts, Some(&source.id))
            .await;
        let (label, outcome) = match result {
            Ok(candidates) if candidates.is_empty() => {
                tracing::warn!(source = %source.id, extractor = %source.extractor, session = %session.id, "extractor found no streams");
                self.record_error(
                    &session.id,
                    &source.id,
                    "url-extraction",
                    "the extractor found no streams".into(),
                )
                .await;
                ("empty", Outcome::Failed)
            }
            Ok(candidates) => {
                let now = self.schedule.now().timestamp();
                let soonest_expiry = candidates.iter().filter_map(|c| c.expires_at).min();
                let extraction = Extraction {
                    source: source.id.clone(),
                    extractor: source.extractor.clone(),
                    session: session.id.clone(),
                    extracted_at: now,
                    candidates: candidates.into_iter().map(Into::into).collect(),
                };
                let ttl = candidate_ttl(source.poll, soonest_expiry, now);
                if soonest_expiry.is_some() {
                    self.metrics.token_refreshes.inc();
                }
                Extractions::put(self.store.as_ref(), &extraction, ttl).await;
                tracing::info!(
                    source = %source.id, extractor = %source.extractor, session = %session.id,
                    candidates = extraction.candidates.len(), ttl = ?ttl, took = ?started.elapsed(),
                    "extracted"
                );
                state::record_refresh(self.store.as_ref(), &session.id, &source.id, None).await;
                self.refresh.extracted();
                ("ok", Outcome::Extracted { expires_at: soonest_expiry })
            }
            Err(e) => {
                tracing::warn!(
                    source = %source.id, extractor = %source.extractor, session = %session.id,
                    step = e.step, detail = %e.detail, "extraction failed"
                );
                self.record_error(&session.id, &source.id, e.step, e.detail).await;
                (e.step, Outcome::Failed)
            }
        };
        self.count(source, label);
        outcome
    }

    /// Remembers a failed refresh, shown as `token.refresh_error` and on the source in `/streams`.
    async fn record_error(&self, session: &str, source: &str, step: &str, message: String) {
        let error = RefreshError { step: step.into(), message, at: self.schedule.now().timestamp() };
        state::record_refresh(self.store.as_ref(), session, source, Some(&error)).await;
    }

    /// Counts one attempt by outcome in `pitwall_extractions_total`.
    fn count(&self, source: &SourceConfig, outcome: &str) {
        let labels = ExtractLabels {
            extractor: source.extractor.clone(),
            source: source.id.clone(),
            outcome: outcome.to_string(),
        };
        self.metrics.extractions.get_or_create(&labels).inc();
    }
}

/// What one extraction attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Candidates stored; the soonest token expiry, if known.
    Extracted {
        /// Unix seconds.
        expires_at: Option<u64>,
    },
    /// Nothing stored (the previous extraction keeps serving until its TTL).
    Failed,
    /// No loaded plugin reports the source's extractor id in plugin table `generation`.
    MissingExtractor {
        /// [`PluginRegistry::changes`] value when the extractor was looked up.
        generation: u64,
    },
}

/// The step reported for a source whose extractor is not loaded.
pub const STEP_EXTRACTOR_MISSING: &str = "extractor-missing";

/// Re-extract this long before a token expires, so players never hold an expired URL.
const REFRESH_MARGIN: i64 = 30;

/// When to extract again: the poll interval (with jitter), or earlier so the new token arrives
/// while the current one still has a good part of its life left: `REFRESH_MARGIN` seconds before
/// it expires, or after two thirds of what was left of it, whichever is later (a 20 s token is
/// refreshed every ~13 s, not every time the floor allows); never sooner than 5 s, so a site with
/// very short tokens is not hammered.
pub fn next_poll(poll: Duration, expires_at: Option<u64>, now: i64) -> Duration {
    let mut wait = jitter(poll);
    if let Some(expiry) = expires_at {
        let left = (expiry as i64 - now).max(0);
        let until = (left - REFRESH_MARGIN).max(left * 2 / 3) as u64;
        wait = wait.min(Duration::from_secs(until));
    }
    wait.max(Duration::from_secs(5))
}

/// How long an extraction stays in the store: three poll intervals, but never past the token
/// expiry, and at least 30 s.
pub fn candidate_ttl(poll: Duration, expires_at: Option<u64>, now: i64) -> Duration {
    let mut ttl = poll.saturating_mul(3);
    if let Some(expiry) = expires_at {
        let left = Duration::from_secs((expiry as i64 - now).max(0) as u64);
        ttl = ttl.min(left);
    }
    ttl.max(Duration::from_secs(30))
}

/// ±10 % of `d`, so many sources do not fire in lockstep.
fn jitter(d: Duration) -> Duration {
    let factor = 0.9 + rand::random::<f64>() * 0.2;
    d.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_respects_expiry_and_floor() {
        let poll = Duration::from_secs(60);
        assert_eq!(candidate_ttl(poll, None, 0), Duration::from_secs(180));
        assert_eq!(candidate_ttl(poll, Some(100), 0), Duration::from_secs(100));
        assert_eq!(candidate_ttl(poll, Some(10), 0), Duration::from_secs(30));
    }

    #[test]
    fn refresh_comes_before_the_token_expires() {
        let poll = Duration::from_secs(60);
        assert!(next_poll(poll, None, 0) >= Duration::from_secs(54));
        assert_eq!(next_poll(poll, Some(70), 0), Duration::from_secs(46), "two thirds of 70 s beats 70 - 30");
        let long = Duration::from_secs(600);
        assert_eq!(
            next_poll(long, Some(200), 100),
            Duration::from_secs(70),
            "30 s before a long token expires"
        );
        assert_eq!(next_poll(poll, Some(20), 0), Duration::from_secs(13), "a 20 s token");
        assert_eq!(next_poll(poll, Some(6), 0), Duration::from_secs(5), "floor");
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(100)).as_secs_f64();
            assert!((90.0..=110.0).contains(&j), "{j}");
        }
    }
}
