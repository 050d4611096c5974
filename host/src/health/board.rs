//! The health board: per-stream state (live / dead / unchecked, timings, quality, the last
//! error with its step), updated by each probe under thresholds given as data, and the ranking
//! `/streams` uses: recently verified first, then reliability over a window, then quality,
//! ties broken by id so the order is stable.

use serde::{Deserialize, Serialize};

/// Longest single probe (`health::probe::Prober`'s timeout).
pub const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// When a stream turns dead or live again.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Consecutive failed probes that mark a live stream dead.
    pub fail_threshold: u32,
    /// Consecutive passed probes that revive a dead stream.
    pub revive_after: u32,
    /// Probes remembered for the reliability ratio.
    pub window: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { fail_threshold: 2, revive_after: 1, window: 20 }
    }
}

/// `live`, `failing`, `dead` or `unchecked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "StreamStatus"))]
pub enum Status {
    /// The last probes passed.
    Live,
    /// Was live; the last probe failed, but fewer than `fail_threshold` in a row.
    Failing,
    /// Failed `fail_threshold` times in a row.
    Dead,
    /// Not probed yet.
    Unchecked,
}

/// A failed step and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StepError {
    /// `head`, `playlist`, `empty`, `stale`, `variant`, `segment`, …
    pub step: String,
    /// What happened.
    pub message: String,
}

/// One quality of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    /// `720p`, or `1200k` without a resolution.
    pub label: String,
    /// `1280x720`.
    pub resolution: Option<String>,
    /// Advertised bits per second.
    pub bandwidth: Option<u64>,
}

/// What a passing probe measured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Measurement {
    /// Time to fetch the playlist.
    pub latency_ms: u64,
    /// Throughput of the segment read.
    pub throughput_bps: Option<u64>,
    /// Seconds between the live edge (last segment's end) and now.
    pub live_edge_age_s: Option<f64>,
    /// Variants of a master playlist (empty for a media playlist).
    pub variants: Vec<Variant>,
    /// Media sequence and last segment URI of the probed media playlist (for staleness).
    pub position: Option<(u64, String)>,
}

/// The state of one stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamHealth {
    /// `st_…`.
    pub id: String,
    /// Session id.
    pub session: String,
    /// Source id.
    pub source: String,
    /// Extractor id.
    pub extractor: String,
    /// Candidate label.
    pub label: String,
    /// Current status.
    pub status: Status,
    /// Unix seconds of the last probe.
    pub last_checked: Option<i64>,
    /// Unix seconds of the last passing probe.
    pub last_live: Option<i64>,
    /// Failed probes in a row.
    pub consecutive_failures: u32,
    /// Passed probes in a row.
    pub consecutive_successes: u32,
    /// Recent results, newest last.
    pub history: Vec<bool>,
    /// Last playlist latency.
    pub latency_ms: Option<u64>,
    /// Last measured throughput.
    pub throughput_bps: Option<u64>,
    /// Age of the live edge at the last probe.
    pub live_edge_age_s: Option<f64>,
    /// Qualities.
    pub variants: Vec<Variant>,
    /// Where the playlist was at the last probe (for staleness).
    pub position: Option<(u64, String)>,
    /// When the position last moved (Unix seconds).
    pub position_moved_at: Option<i64>,
    /// The last failure.
    pub error: Option<StepError>,
    /// The candidate's token expiry (Unix seconds).
    pub token_expires_at: Option<u64>,
    /// When the candidate was last extracted (Unix seconds).
    pub last_refresh: Option<i64>,
    /// How long health rounds take now, in milliseconds (the round that probed it so far, or
    /// the previous one if longer): slow upstreams make rounds longer than the interval.
    #[serde(default)]
    pub round_ms: Option<u64>,
}

impl StreamHealth {
    /// A stream not yet probed.
    pub fn new(id: &str, session: &str, source: &str, extractor: &str, label: &str) -> Self {
        StreamHealth {
            id: id.into(),
            session: session.into(),
            source: source.into(),
            extractor: extractor.into(),
            label: label.into(),
            status: Status::Unchecked,
            last_checked: None,
            last_live: None,
            consecutive_failures: 0,
            consecutive_successes: 0,
            history: Vec::new(),
            latency_ms: None,
            throughput_bps: None,
            live_edge_age_s: None,
            variants: Vec::new(),
            position: None,
            position_moved_at: None,
            error: None,
            token_expires_at: None,
            last_refresh: None,
            round_ms: None,
        }
    }

    /// Records a probe result at `now`.
    pub fn record(&mut self, result: Result<Measurement, StepError>, now: i64, t: Thresholds) {
        self.last_checked = Some(now);
        let ok = result.is_ok();
        self.history.push(ok);
        let excess = self.history.len().saturating_sub(t.window.max(1));
        self.history.drain(..excess);
        match result {
            Ok(m) => {
                self.consecutive_failures = 0;
                self.consecutive_successes += 1;
                self.last_live = Some(now);
                self.error = None;
                self.latency_ms = Some(m.latency_ms);
                self.throughput_bps = m.throughput_bps.or(self.throughput_bps);
                self.live_edge_age_s = m.live_edge_age_s;
                if !m.variants.is_empty() {
                    self.variants = m.variants;
                }
                if m.position != self.position {
                    self.position = m.position;
                    self.position_moved_at = Some(now);
                }
                if self.status != Status::Live
                    && (matches!(self.status, Status::Unchecked | Status::Failing)
                        || self.consecutive_successes >= t.revive_after)
                {
                    self.status = Status::Live;
                }
            }
            Err(e) => {
                self.consecutive_successes = 0;
                self.consecutive_failures += 1;
                self.error = Some(e);
                if self.consecutive_failures >= t.fail_threshold || self.status == Status::Unchecked {
                    // Never seen alive: one failure is enough to say it is not.
                    self.status = Status::Dead;
                } else if self.status == Status::Live {
                    // Out of the default answer at once, and says so with the error.
                    self.status = Status::Failing;
                }
            }
        }
    }

    /// Whether the stream counts as live and its last passing probe is recent enough that the
    /// next round has not yet had its chance: two intervals, plus how long rounds take now, plus
    /// one probe's timeout. A round that runs late (slow upstreams stretch it past the interval)
    /// never makes a healthy stream blink out of `/streams`; a failed probe removes it at once.
    pub fn verified(&self, now: i64, interval_s: i64) -> bool {
        let round_s = self.round_ms.unwrap_or(0).div_ceil(1000) as i64;
        let window = 2 * interval_s + round_s + PROBE_TIMEOUT.as_secs() as i64;
        self.status == Status::Live && self.last_live.is_some_and(|t| now - t <= window)
    }

    /// Share of passing probes in the window.
    pub fn reliability(&self) -> f64 {
        if self.history.is_empty() {
            return 0.0;
        }
        self.history.iter().filter(|ok| **ok).count() as f64 / self.history.len() as f64
    }

    /// Best advertised bandwidth.
    pub fn best_bandwidth(&self) -> u64 {
        self.variants.iter().filter_map(|v| v.bandwidth).max().unwrap_or(0)
    }
}

/// Sorts best first: verified, then reliability, then quality, then id.
pub fn rank(streams: &mut [StreamHealth], now: i64, interval_s: i64) {
    streams.sort_by(|a, b| {
        b.verified(now, interval_s)
            .cmp(&a.verified(now, interval_s))
            .then(b.reliability().total_cmp(&a.reliability()))
            .then(b.best_bandwidth().cmp(&a.best_bandwidth()))
            .then(a.id.cmp(&b.id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(bandwidth: u64) -> Result<Measurement, StepError> {
        Ok(Measurement {
            latency_ms: 20,
            variants: vec![Variant {
                label: "720p".into(),
                resolution: Some("1280x720".into()),
                bandwidth: Some(bandwidth),
            }],
            ..Measurement::default()
        })
    }

    fn fail() -> Result<Measurement, StepError> {
        Err(StepError { step: "playlist".into(), message: "HTTP 404".into() })
    }

    #[test]
    fn dies_after_the_threshold_and_revives() {
        let t = Thresholds { fail_threshold: 2, revive_after: 2, window: 4 };
        let mut s = StreamHealth::new("st_a", "x", "src", "ext", "Main");
        s.record(ok(1), 0, t);
        assert_eq!(s.status, Status::Live);
        s.record(fail(), 10, t);
        assert_eq!(s.status, Status::Failing, "one failure is not death, but no longer live");
        assert!(!s.verified(10, 15), "a failing stream is not listed");
        s.record(fail(), 20, t);
        assert_eq!(s.status, Status::Dead);
        assert_eq!(s.error.as_ref().unwrap().step, "playlist");
        s.record(ok(1), 30, t);
        assert_eq!(s.status, Status::Dead, "one success does not revive");
        s.record(ok(1), 40, t);
        assert_eq!(s.status, Status::Live);
        assert_eq!(s.error, None);
        assert_eq!(s.history, [false, false, true, true], "window of 4");
        assert!(s.verified(45, 15) && s.verified(80, 15) && !s.verified(81, 15), "two intervals and a probe");
        s.round_ms = Some(4_200);
        assert!(s.verified(85, 15) && !s.verified(86, 15), "plus the round time");
    }

    #[test]
    fn never_seen_alive_is_dead_at_once() {
        let mut s = StreamHealth::new("st_a", "x", "src", "ext", "Main");
        s.record(fail(), 0, Thresholds::default());
        assert_eq!(s.status, Status::Dead);
    }

    #[test]
    fn ranking_prefers_verified_then_reliable_then_quality_then_id() {
        let t = Thresholds::default();
        let mut stale = StreamHealth::new("st_1", "x", "a", "e", "A");
        stale.record(ok(9_000_000), 0, t);
        let mut flaky = StreamHealth::new("st_2", "x", "b", "e", "B");
        flaky.record(fail(), 90, t);
        flaky.record(ok(5_000_000), 100, t);
        let mut solid_low = StreamHealth::new("st_3", "x", "c", "e", "C");
        solid_low.record(ok(1_000_000), 100, t);
        let mut solid_high = StreamHealth::new("st_4", "x", "d", "e", "D");
        solid_high.record(ok(2_000_000), 100, t);
        let mut twin = StreamHealth::new("st_0", "x", "e", "e", "E");
        twin.record(ok(2_000_000), 100, t);
        let mut all = vec![stale, flaky, solid_low, solid_high, twin];
        rank(&mut all, 105, 15);
        let order: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(order, ["st_0", "st_4", "st_3", "st_2", "st_1"]);
    }
}
