//! Background work. Invariant: only this module starts background loops, and each one stops when
//! the shutdown token is cancelled.

pub mod health;
pub mod plugins;
pub mod poll;
pub mod schedule;

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Sleeps for `duration`; returns `false` if shutdown came first.
pub async fn sleep_or_shutdown(duration: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => true,
        () = shutdown.cancelled() => false,
    }
}

/// Exponential backoff between retries of a failing job.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First delay.
    pub first: Duration,
    /// Largest delay.
    pub max: Duration,
}

impl Backoff {
    /// The delay after `attempt` failures (1-based): first, 2×first, 4×first, … capped at max.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.first.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Backoff { first: Duration::from_secs(30), max: Duration::from_secs(300) };
        let delays: Vec<u64> = (1..=6).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(delays, [30, 60, 120, 240, 300, 300]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(300));
    }
}
