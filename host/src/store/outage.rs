//! How the Redis store rides out a Redis outage, as pure state: whether the link is up, since
//! when it is down and when to look again, which keys were written only to this replica's memory
//! (pushed to Redis first when it returns), and how a read merges Redis's answer with memory.
//! No I/O and no clock of its own, so every transition is unit-tested; `redis.rs` does the calls.

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

/// First wait before looking for Redis again after it failed.
const FIRST_PROBE: Duration = Duration::from_millis(500);
/// Longest wait between two looks while it stays down.
const MAX_PROBE: Duration = Duration::from_secs(5);

/// The Redis link as the store sees it.
#[derive(Debug)]
pub struct Link {
    state: State,
    /// Keys written to memory but not to Redis (it was down, or the write failed). When Redis
    /// returns they overwrite what it has: they are newer than anything it kept.
    unsynced: BTreeSet<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Up,
    Down {
        since: Instant,
        /// Probes that failed in this outage.
        failures: u32,
        next_probe: Instant,
        /// A caller is probing (and, if Redis answered, pushing keys back) now.
        probing: bool,
    },
}

/// What a push of this replica's keys back into Redis should do with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// Written while Redis was away: overwrite whatever Redis has.
    Overwrite,
    /// Known before the outage: set it only if Redis lacks it (a restarted Redis lost it).
    IfMissing,
}

impl Default for Link {
    fn default() -> Self {
        Link { state: State::Up, unsynced: BTreeSet::new() }
    }
}

impl Link {
    /// Whether calls go to Redis. While down they go straight to memory, adding no latency.
    pub fn is_up(&self) -> bool {
        self.state == State::Up
    }

    /// A Redis call failed at `now`. True when this starts an outage: the caller logs it, once.
    pub fn failed(&mut self, now: Instant) -> bool {
        match self.state {
            State::Up => {
                self.state =
                    State::Down { since: now, failures: 0, next_probe: now + FIRST_PROBE, probing: false };
                true
            }
            State::Down { .. } => false,
        }
    }

    /// `key` was written to memory only; it goes to Redis when the link is back.
    pub fn unsynced(&mut self, key: &str) {
        self.unsynced.insert(key.to_string());
    }

    /// Whether the caller should look for Redis now. True for at most one caller at a time,
    /// and only once the wait after the last failed look is over.
    pub fn start_probe(&mut self, now: Instant) -> bool {
        match &mut self.state {
            State::Down { next_probe, probing, .. } if !*probing && now >= *next_probe => {
                *probing = true;
                true
            }
            _ => false,
        }
    }

    /// The look (or the push after it) failed: wait longer before the next one.
    pub fn probe_failed(&mut self, now: Instant) {
        if let State::Down { failures, next_probe, probing, .. } = &mut self.state {
            *failures += 1;
            *next_probe = now + probe_delay(*failures);
            *probing = false;
        }
    }

    /// The keys to overwrite in Redis now; they count as unsynced again if the push fails
    /// (see [`Link::push_failed`]).
    pub fn take_unsynced(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.unsynced)
    }

    /// A push of `keys` failed: they are still to be written.
    pub fn push_failed(&mut self, keys: BTreeSet<String>, now: Instant) {
        self.unsynced.extend(keys);
        self.probe_failed(now);
    }

    /// After a successful push: the link is up again if nothing was written to memory only in
    /// the meantime (else push again first, so no write is lost between the push and the
    /// switch). Returns how long the outage lasted when it ends now.
    pub fn finish_recovery(&mut self, now: Instant) -> Option<Duration> {
        match self.state {
            State::Down { since, .. } if self.unsynced.is_empty() => {
                self.state = State::Up;
                Some(now.saturating_duration_since(since))
            }
            _ => None,
        }
    }
}

/// How long to wait after `failures` failed looks: 0.5 s, 1 s, 2 s, 4 s, then 5 s.
pub fn probe_delay(failures: u32) -> Duration {
    FIRST_PROBE.saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(16))).min(MAX_PROBE)
}

/// What to push for one live memory entry.
pub fn push_kind(key: &str, unsynced: &BTreeSet<String>) -> Push {
    if unsynced.contains(key) { Push::Overwrite } else { Push::IfMissing }
}

/// A read while Redis is up: every key in either answer, Redis's value where both have one (it
/// is the shared truth; memory holds only this replica's writes, which Redis also got), memory's
/// where Redis lacks the key (a restarted Redis that this replica has not refilled yet). Sorted
/// by key.
pub fn merge(redis: Vec<(String, Vec<u8>)>, memory: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    let mut out: std::collections::BTreeMap<String, Vec<u8>> = memory.into_iter().collect();
    out.extend(redis);
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_starts_once_and_probes_back_off() {
        let t0 = Instant::now();
        let mut link = Link::default();
        assert!(link.is_up());
        assert!(!link.start_probe(t0), "nothing to probe while up");
        assert!(link.failed(t0), "the first failure starts the outage");
        assert!(!link.failed(t0 + Duration::from_millis(1)), "later failures are the same outage");
        assert!(!link.is_up());
        assert!(!link.start_probe(t0), "not before the first wait");
        let t1 = t0 + FIRST_PROBE;
        assert!(link.start_probe(t1));
        assert!(!link.start_probe(t1), "one prober at a time");
        link.probe_failed(t1);
        assert!(!link.start_probe(t1 + Duration::from_millis(400)));
        assert!(link.start_probe(t1 + Duration::from_millis(500)));
        link.probe_failed(t1);
        assert!(!link.start_probe(t1 + Duration::from_millis(999)), "the wait doubles");
        assert!(link.start_probe(t1 + Duration::from_secs(1)));
    }

    #[test]
    fn probe_delay_doubles_and_caps() {
        let delays: Vec<u64> = (1..=6).map(|n| probe_delay(n).as_millis() as u64).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 5000, 5000]);
        assert_eq!(probe_delay(u32::MAX), MAX_PROBE);
    }

    #[test]
    fn recovery_waits_for_every_memory_only_write() {
        let t0 = Instant::now();
        let mut link = Link::default();
        link.failed(t0);
        link.unsynced("health:a");
        let t1 = t0 + Duration::from_secs(30);
        assert!(link.start_probe(t1));
        let pushing = link.take_unsynced();
        assert_eq!(pushing.iter().collect::<Vec<_>>(), ["health:a"]);
        // A write lands in memory only while the push is on its way.
        link.unsynced("health:b");
        assert_eq!(link.finish_recovery(t1), None, "health:b still has to reach Redis");
        assert!(!link.is_up());
        assert_eq!(link.take_unsynced().len(), 1);
        assert_eq!(link.finish_recovery(t1 + Duration::from_secs(1)), Some(Duration::from_secs(31)));
        assert!(link.is_up());
        assert!(link.failed(t1 + Duration::from_secs(2)), "a new outage is logged again");
    }

    #[test]
    fn a_failed_push_keeps_its_keys() {
        let t0 = Instant::now();
        let mut link = Link::default();
        link.failed(t0);
        link.unsynced("k");
        assert!(link.start_probe(t0 + FIRST_PROBE));
        let keys = link.take_unsynced();
        link.push_failed(keys, t0 + FIRST_PROBE);
        assert!(!link.is_up());
        assert_eq!(link.take_unsynced().len(), 1);
        assert!(!link.start_probe(t0 + FIRST_PROBE), "backs off after the failed push");
    }

    #[test]
    fn memory_only_writes_overwrite_and_the_rest_fills_gaps() {
        let unsynced: BTreeSet<String> = ["a".to_string()].into();
        assert_eq!(push_kind("a", &unsynced), Push::Overwrite);
        assert_eq!(push_kind("b", &unsynced), Push::IfMissing);
    }

    #[test]
    fn reads_merge_redis_over_memory() {
        let kv = |k: &str, v: &str| (k.to_string(), v.as_bytes().to_vec());
        let merged = merge(vec![kv("b", "redis"), kv("c", "redis")], vec![kv("a", "mem"), kv("b", "mem")]);
        assert_eq!(merged, [kv("a", "mem"), kv("b", "redis"), kv("c", "redis")]);
        assert_eq!(merge(Vec::new(), vec![kv("a", "mem")]), [kv("a", "mem")], "an empty Redis hides nothing");
    }
}
