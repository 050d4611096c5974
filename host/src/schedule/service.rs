//! `ScheduleService`: holds the seasons in memory, answers from them at once, refreshes them from
//! the sources in preference order (merging what each knows best), persists every successful
//! refresh, and never lets a failed refresh replace good data.
//!
//! Seasons asked for by clients are bounded: only 1950 to next year, the demo's 9999 and the
//! configured season are ever fetched, one fetch at a time, and a season the sources could not
//! give is remembered as missing for a while ([`MISS_TTL`], shorter when sources failed), so
//! repeating a request never repeats the upstream fetch.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use chrono::{DateTime, Datelike, Utc};

use super::{
    merge,
    model::Season,
    persist,
    sources::{ScheduleSource, SourceError, jolpica_events, parse_jolpica_page, parse_openf1},
};

/// Where "now" comes from; tests inject a manual clock.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved: tests use it to jump hours ahead.
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(std::sync::Mutex::new(at))
    }

    /// Moves the clock by `by` (forward, or back when negative).
    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The synthetic season of the demo and the testbed (its race weekend is live now).
pub const DEMO_SEASON: i32 = 9999;
/// The first season of the championship.
pub const FIRST_SEASON: i32 = 1950;
/// How long a season no source knows is remembered as missing.
pub const MISS_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a season is remembered as missing when sources failed (they may come back).
pub const FAILURE_TTL: Duration = Duration::from_secs(30);

/// Why a refresh failed (every source was tried).
#[derive(Debug, Clone, thiserror::Error)]
#[error("no schedule source could serve season {season}: {}", .failures.join("; "))]
pub struct RefreshError {
    /// The season.
    pub season: i32,
    /// One line per source.
    pub failures: Vec<String>,
    /// No source knows the season (as opposed to sources failing).
    pub unknown: bool,
}

/// The seasons pitwall knows, and how to refresh them.
pub struct ScheduleService {
    sources: Vec<Box<dyn ScheduleSource>>,
    seasons: RwLock<HashMap<i32, Arc<Season>>>,
    data_dir: PathBuf,
    clock: Arc<dyn Clock>,
    default_season: Option<i32>,
    refreshing: tokio::sync::Mutex<()>,
    /// Seasons recently found missing: when, for how long, and why.
    misses: Mutex<HashMap<i32, (Instant, Duration, RefreshError)>>,
}

impl ScheduleService {
    /// A service over `sources` (in preference order). `default_season: None` means the current year.
    pub fn new(
        sources: Vec<Box<dyn ScheduleSource>>,
        data_dir: PathBuf,
        clock: Arc<dyn Clock>,
        default_season: Option<i32>,
    ) -> Self {
        ScheduleService {
            sources,
            seasons: RwLock::new(HashMap::new()),
            data_dir,
            clock,
            default_season,
            refreshing: tokio::sync::Mutex::new(()),
            misses: Mutex::default(),
        }
    }

    /// The clock answers are computed with.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The season served when `/schedule` names none.
    pub fn default_season(&self) -> i32 {
        self.default_season.unwrap_or_else(|| self.now().year())
    }

    /// Loads persisted seasons, then the bundled snapshot for any season it covers that the disk
    /// lacks. Returns how many seasons are now in memory. Does no network I/O.
    pub fn load_local(&self) -> usize {
        let mut seasons = self.write();
        for season in persist::load_all(&self.data_dir) {
            tracing::info!(season = season.season, source = %season.source, fetched_at = %season.fetched_at, "schedule loaded from disk");
            seasons.insert(season.season, Arc::new(season));
        }
        let snapshot = bundled_snapshot();
        if let std::collections::hash_map::Entry::Vacant(slot) = seasons.entry(snapshot.season) {
            tracing::info!(season = snapshot.season, "schedule loaded from the bundled snapshot");
            slot.insert(Arc::new(snapshot));
        }
        seasons.len()
    }

    /// The season if it is in memory.
    pub fn get(&self, season: i32) -> Option<Arc<Season>> {
        self.read().get(&season).cloned()
    }

    /// Whether `season` may be fetched for a client: 1950 to next year, the demo season, the
    /// configured season, or one already in memory.
    pub fn servable(&self, season: i32) -> bool {
        (FIRST_SEASON..=self.now().year() + 1).contains(&season)
            || season == DEMO_SEASON
            || season == self.default_season()
            || self.get(season).is_some()
    }

    /// The season from memory, or fetched now if pitwall has never seen it. Seasons outside
    /// [`ScheduleService::servable`] and seasons recently found missing fail without a fetch.
    pub async fn get_or_fetch(&self, season: i32) -> Result<Arc<Season>, RefreshError> {
        if let Some(s) = self.get(season) {
            return Ok(s);
        }
        if !self.servable(season) {
            let last = self.now().year() + 1;
            return Err(RefreshError {
                season,
                failures: vec![format!(
                    "pitwall serves seasons {FIRST_SEASON} to {last} (and {DEMO_SEASON}, the demo)"
                )],
                unknown: true,
            });
        }
        if let Some(miss) = self.recent_miss(season) {
            return Err(miss);
        }
        let _one_at_a_time = self.refreshing.lock().await;
        // Another request may have fetched it, or found it missing, while this one waited.
        if let Some(s) = self.get(season) {
            return Ok(s);
        }
        if let Some(miss) = self.recent_miss(season) {
            return Err(miss);
        }
        let result = self.refresh_locked(season).await;
        if let Err(e) = &result {
            let ttl = if e.unknown { MISS_TTL } else { FAILURE_TTL };
            self.lock_misses().insert(season, (Instant::now(), ttl, e.clone()));
        }
        result
    }

    fn lock_misses(&self) -> std::sync::MutexGuard<'_, HashMap<i32, (Instant, Duration, RefreshError)>> {
        self.misses.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn recent_miss(&self, season: i32) -> Option<RefreshError> {
        let mut misses = self.lock_misses();
        misses.retain(|_, (at, ttl, _)| at.elapsed() < *ttl);
        misses.get(&season).map(|(_, _, e)| e.clone())
    }

    /// Fetches `season` from every source, merges, persists and swaps it in. On failure the
    /// season in memory (if any) stays as it was.
    pub async fn refresh(&self, season: i32) -> Result<Arc<Season>, RefreshError> {
        let _one_at_a_time = self.refreshing.lock().await;
        self.refresh_locked(season).await
    }

    async fn refresh_locked(&self, season: i32) -> Result<Arc<Season>, RefreshError> {
        let results = futures_util::future::join_all(self.sources.iter().map(|s| s.fetch(season))).await;
        let mut failures = Vec::new();
        let mut found: Vec<(&'static str, Vec<super::model::Event>)> = Vec::new();
        for (source, result) in self.sources.iter().zip(results) {
            match result {
                Ok(events) if events.is_empty() => {
                    tracing::warn!(
                        source = source.name(),
                        season,
                        "schedule source knows nothing of this season"
                    );
                    failures.push(format!("{}: no events for {season}", source.name()));
                }
                Ok(events) => found.push((source.name(), events)),
                Err(e) => {
                    log_failure(source.name(), season, &e);
                    failures.push(format!("{}: {e}", source.name()));
                }
            }
        }
        let Some(((primary_name, mut events), others)) = found.split_first_mut().map(|(p, o)| (p.clone(), o))
        else {
            let unknown = failures.iter().all(|f| f.ends_with(&format!("no events for {season}")));
            return Err(RefreshError { season, failures, unknown });
        };
        for (name, other) in others.iter() {
            merge::enrich(&mut events, other, name);
        }
        let fresh =
            Arc::new(Season { season, source: primary_name.to_string(), fetched_at: self.now(), events });
        if let Err(e) = persist::save(&self.data_dir, &fresh) {
            tracing::error!(season, error = %e, dir = %self.data_dir.display(), "cannot persist the schedule; serving it from memory");
        }
        self.write().insert(season, fresh.clone());
        self.lock_misses().remove(&season);
        tracing::info!(season, source = primary_name, events = fresh.events.len(), "schedule refreshed");
        Ok(fresh)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<i32, Arc<Season>>> {
        self.seasons.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<i32, Arc<Season>>> {
        self.seasons.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn log_failure(source: &str, season: i32, e: &SourceError) {
    tracing::warn!(source, season, error = %e, "schedule source failed; keeping the data we have");
}

/// The 2026 season as bundled in the binary (jolpica + OpenF1 fixtures, merged), so a first start
/// without network still has a calendar. Its `fetched_at` is the fixtures' date, so it is
/// refreshed as soon as a source answers.
pub fn bundled_snapshot() -> Season {
    const JOLPICA: &str = include_str!("../../../testbed/fixtures/jolpica-2026.json");
    const OPENF1: &str = include_str!("../../../testbed/fixtures/openf1-sessions-2026.json");
    let races = parse_jolpica_page(JOLPICA).expect("bundled jolpica snapshot parses").races;
    let mut events = jolpica_events(2026, races).expect("bundled jolpica snapshot is valid");
    let openf1 = parse_openf1(2026, OPENF1).expect("bundled OpenF1 snapshot parses");
    merge::enrich(&mut events, &openf1, "openf1");
    Season {
        season: 2026,
        source: "snapshot".into(),
        fetched_at: "2026-11-24T00:00:00Z".parse().expect("valid instant"),
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{model::Event, sources::BoxFuture};

    /// A source that knows no season and counts how often it was asked.
    struct Empty(Arc<std::sync::atomic::AtomicUsize>);

    impl ScheduleSource for Empty {
        fn name(&self) -> &'static str {
            "empty"
        }

        fn fetch(&self, _season: i32) -> BoxFuture<'_, Result<Vec<Event>, SourceError>> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async { Ok(Vec::new()) })
        }
    }

    #[tokio::test]
    async fn unknown_and_out_of_range_seasons_are_fetched_at_most_once() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let dir = tempfile::tempdir().unwrap();
        let service = ScheduleService::new(
            vec![Box::new(Empty(calls.clone()))],
            dir.path().into(),
            Arc::new(SystemClock),
            None,
        );
        let fetched = || calls.load(std::sync::atomic::Ordering::SeqCst);
        for _ in 0..3 {
            let e = service.get_or_fetch(1951).await.unwrap_err();
            assert!(e.unknown, "{e}");
        }
        assert_eq!(fetched(), 1, "a miss is remembered");
        for season in [1949, 3000, -5, i32::MAX] {
            assert!(service.get_or_fetch(season).await.unwrap_err().unknown);
        }
        assert_eq!(fetched(), 1, "out-of-range seasons are never fetched");
        assert!(service.get_or_fetch(DEMO_SEASON).await.is_err());
        assert_eq!(fetched(), 2, "the demo season is fetched");
        // The background refresh is not held back by a remembered miss.
        assert!(service.refresh(1951).await.is_err());
        assert_eq!(fetched(), 3);
    }

    #[test]
    fn snapshot_is_the_2026_season() {
        let s = bundled_snapshot();
        assert_eq!(s.events.len(), 23);
        assert_eq!(s.source, "snapshot");
    }
}
