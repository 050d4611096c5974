//! Reactive refresh: when an upstream refuses a stream's playlist (401, 403, 410), its token is
//! stale before its time. Handlers ask for an immediate re-extraction of that source here; the
//! poller takes the requests (one extraction per source however many viewers asked, and never
//! more often than [`MIN_GAP`]) and announces every stored extraction, so a handler can wait for
//! the new candidate and retry once.

use std::{collections::HashSet, sync::Mutex, time::Duration};

use tokio::sync::{Notify, watch};

/// The least time between two extractions of one source for one session, however often viewers
/// are refused: sites that hand out tokens do not like being hammered.
pub const MIN_GAP: Duration = Duration::from_secs(5);

/// Refresh requests from handlers to the poller, and extraction news back.
pub struct RefreshBus {
    requests: Mutex<HashSet<(String, String)>>,
    wake: Notify,
    extracted: watch::Sender<u64>,
}

impl Default for RefreshBus {
    fn default() -> Self {
        RefreshBus { requests: Mutex::default(), wake: Notify::new(), extracted: watch::Sender::new(0) }
    }
}

/// Whether an upstream status means "your token is no good" (worth a re-extraction).
pub fn is_refused(status: u16) -> bool {
    matches!(status, 401 | 403 | 410)
}

impl RefreshBus {
    /// Asks for `source` to be extracted again for `session` now.
    pub fn request(&self, source: &str, session: &str) {
        self.lock().insert((source.to_string(), session.to_string()));
        self.wake.notify_one();
    }

    /// The pending requests, `(source, session)`; taking them clears them.
    pub fn take(&self) -> Vec<(String, String)> {
        self.lock().drain().collect()
    }

    /// Resolves when a request may be pending.
    pub async fn requested(&self) {
        self.wake.notified().await;
    }

    /// Announces a stored extraction.
    pub fn extracted(&self) {
        self.extracted.send_modify(|n| *n += 1);
    }

    /// Watches stored extractions (the value changes after each).
    pub fn extractions(&self) -> watch::Receiver<u64> {
        self.extracted.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<(String, String)>> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_deduplicated_and_taken_once() {
        let bus = RefreshBus::default();
        for _ in 0..50 {
            bus.request("demo-main", "9999-03-race");
        }
        bus.request("demo-pitlane", "9999-03-race");
        let mut taken = bus.take();
        taken.sort();
        assert_eq!(taken.len(), 2);
        assert!(bus.take().is_empty());
        assert!(
            is_refused(403) && is_refused(401) && is_refused(410) && !is_refused(404) && !is_refused(500)
        );
    }
}
