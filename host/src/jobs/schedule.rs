//! The schedule refresh job: at start, refresh the default season when the stored copy is older
//! than the cron interval (or missing); then refresh on every cron fire (UTC). Failures are
//! retried with backoff until the next fire and never replace good data.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::{Backoff, sleep_or_shutdown};
use crate::{Readiness, schedule::ScheduleService};

/// Name of the readiness check this job satisfies.
pub const READY: &str = "schedule";

/// Runs until `shutdown`.
pub async fn run(
    service: Arc<ScheduleService>,
    cron: cron::Schedule,
    backoff: Backoff,
    readiness: Readiness,
    shutdown: CancellationToken,
) {
    let season = service.default_season();
    let interval = cron_interval(&cron);
    let stale = match service.get(season) {
        Some(s) => {
            readiness.set_ready(READY);
            let age = service.now() - s.fetched_at;
            age.to_std().unwrap_or_default() >= interval
        }
        None => true,
    };
    if stale {
        refresh_with_retries(&service, season, &cron, backoff, &readiness, &shutdown).await;
    }
    loop {
        let Some(next) = cron.upcoming(Utc).next() else {
            tracing::warn!("the schedule refresh cron expression never fires again; refresh job stops");
            return;
        };
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tracing::debug!(%next, "next schedule refresh");
        if !sleep_or_shutdown(wait, &shutdown).await {
            return;
        }
        refresh_with_retries(&service, service.default_season(), &cron, backoff, &readiness, &shutdown).await;
    }
}

/// Refreshes `season`, retrying with backoff until it works, the next cron fire is due, or shutdown.
async fn refresh_with_retries(
    service: &ScheduleService,
    season: i32,
    cron: &cron::Schedule,
    backoff: Backoff,
    readiness: &Readiness,
    shutdown: &CancellationToken,
) {
    let next_fire = cron.upcoming(Utc).next();
    for attempt in 1.. {
        match service.refresh(season).await {
            Ok(_) => {
                readiness.set_ready(READY);
                return;
            }
            Err(e) => {
                let delay = backoff.delay(attempt);
                let retry_at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                if next_fire.is_some_and(|next| retry_at >= next) {
                    tracing::error!(season, error = %e, "schedule refresh failed; next try at the next scheduled refresh");
                    return;
                }
                tracing::warn!(season, attempt, retry_in = ?delay, error = %e, "schedule refresh failed; retrying");
                if !sleep_or_shutdown(delay, shutdown).await {
                    return;
                }
            }
        }
    }
}

/// Time between two consecutive fires (a day for the default), used to judge a stored copy stale.
pub fn cron_interval(cron: &cron::Schedule) -> Duration {
    let mut fires = cron.upcoming(Utc);
    match (fires.next(), fires.next()) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or(Duration::from_secs(86_400)),
        _ => Duration::from_secs(86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn interval_of_daily_and_every_second() {
        let daily = cron::Schedule::from_str("0 0 6 * * *").unwrap();
        assert_eq!(cron_interval(&daily), Duration::from_secs(86_400));
        let fast = cron::Schedule::from_str("*/2 * * * * *").unwrap();
        assert_eq!(cron_interval(&fast), Duration::from_secs(2));
    }
}
