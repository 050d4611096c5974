//! Media errors per stream: a stream whose playlist still answers while its segments fail (a CDN
//! edge that lost the content, a token revoked mid-play) is dead to a viewer all the same. The
//! relay reports each segment, key or init-section answer of a stream here; a session track treats
//! a stream with [`THRESHOLD`] failures in a row, the last within [`WINDOW`], as failed and moves on.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Failed media requests in a row that make a stream fail a session track.
pub const THRESHOLD: u32 = 3;
/// How long a run of failures counts: older ones are forgotten (the stream may have recovered).
pub const WINDOW: Duration = Duration::from_secs(20);
/// Streams remembered at once; past it the table starts over (a bound against unbounded growth).
const MAX_STREAMS: usize = 4096;

#[derive(Debug, Clone)]
struct Run {
    failures: u32,
    last: Instant,
    status: u16,
}

/// Consecutive media failures per stream id.
#[derive(Default)]
pub struct MediaErrors {
    runs: Mutex<HashMap<String, Run>>,
}

impl MediaErrors {
    /// A media request of `stream` was answered with upstream `status`.
    pub fn record(&self, stream: &str, status: u16) {
        self.record_at(stream, status, Instant::now());
    }

    fn record_at(&self, stream: &str, status: u16, now: Instant) {
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        if (200..400).contains(&status) {
            runs.remove(stream);
            return;
        }
        if runs.len() >= MAX_STREAMS && !runs.contains_key(stream) {
            runs.clear();
        }
        let run = runs.entry(stream.to_string()).or_insert(Run { failures: 0, last: now, status });
        if now.duration_since(run.last) > WINDOW {
            run.failures = 0;
        }
        *run = Run { failures: run.failures + 1, last: now, status };
    }

    /// Why `stream` counts as failed now (`segments: upstream answered HTTP 404, 3 in a row`), if it does.
    pub fn failing(&self, stream: &str) -> Option<String> {
        self.failing_at(stream, Instant::now())
    }

    fn failing_at(&self, stream: &str, now: Instant) -> Option<String> {
        let runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        let run = runs.get(stream)?;
        (run.failures >= THRESHOLD && now.duration_since(run.last) <= WINDOW)
            .then(|| format!("segments: upstream answered HTTP {}, {} in a row", run.status, run.failures))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_failures_fails_the_stream_until_a_success_or_the_window_ends() {
        let errors = MediaErrors::default();
        let t0 = Instant::now();
        errors.record_at("a", 404, t0);
        errors.record_at("a", 404, t0);
        assert_eq!(errors.failing_at("a", t0), None, "below the threshold");
        errors.record_at("a", 502, t0);
        assert_eq!(
            errors.failing_at("a", t0).as_deref(),
            Some("segments: upstream answered HTTP 502, 3 in a row")
        );
        assert_eq!(errors.failing_at("b", t0), None, "other streams are not touched");
        assert_eq!(
            errors.failing_at("a", t0 + WINDOW + Duration::from_secs(1)),
            None,
            "forgotten after the window"
        );
        errors.record_at("a", 200, t0);
        assert_eq!(errors.failing_at("a", t0), None, "a success ends the run");
        // Failures spread wider than the window never add up.
        for i in 0..5 {
            errors.record_at("c", 404, t0 + (WINDOW + Duration::from_secs(1)) * i);
        }
        assert_eq!(errors.failing_at("c", t0 + (WINDOW + Duration::from_secs(1)) * 4), None);
    }
}
