//! Pure arithmetic of a ramp: percentiles, the least-squares slope of memory over viewers, and
//! the capacity rule (no would-stall viewer and segment p99 under half a segment's duration).

use std::time::Duration;

/// The `p` quantile (0..=1) of `values` (sorted in place); zero when empty.
pub fn percentile(values: &mut [Duration], p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort_unstable();
    values[((values.len() as f64 - 1.0) * p).round() as usize]
}

/// Least-squares slope of `y` over `x`; `None` with fewer than two distinct `x`.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if n < 2.0 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// What the capacity rule needs from one step.
#[derive(Debug, Clone, Copy)]
pub struct StepOutcome {
    /// Viewers in the step.
    pub viewers: usize,
    /// Viewers with a segment that took longer than its duration.
    pub stalled: usize,
    /// Segment time to last byte, 99th percentile.
    pub segment_p99: Duration,
    /// Segments fetched in the step (a step without any proves nothing).
    pub segments: usize,
    /// Segment duration (EXTINF) seen in the step.
    pub segment_duration: Duration,
}

impl StepOutcome {
    /// Whether every viewer of the step would have played without a stall, with margin.
    pub fn holds(&self) -> bool {
        self.segments > 0 && self.stalled == 0 && self.segment_p99 * 2 < self.segment_duration
    }
}

/// The largest viewer count whose step held (steps in ramp order); 0 when none did.
pub fn capacity(steps: &[StepOutcome]) -> usize {
    steps.iter().filter(|s| s.holds()).map(|s| s.viewers).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_slopes_and_the_capacity_rule() {
        let mut v: Vec<Duration> = (1..=100).map(ms).collect();
        v.reverse();
        assert_eq!(percentile(&mut v, 0.5), ms(51));
        assert_eq!(percentile(&mut v, 0.99), ms(99));
        assert_eq!(percentile(&mut [], 0.5), Duration::ZERO);
        let s = slope(&[(10.0, 1000.0), (20.0, 1500.0), (40.0, 2500.0)]).unwrap();
        assert!((s - 50.0).abs() < 1e-9, "{s}");
        assert!(slope(&[(10.0, 1.0)]).is_none());
        assert!(slope(&[(10.0, 1.0), (10.0, 2.0)]).is_none());
        let step = |viewers, stalled, p99| StepOutcome {
            viewers,
            stalled,
            segment_p99: ms(p99),
            segments: 10,
            segment_duration: ms(2000),
        };
        let steps = [step(10, 0, 100), step(25, 0, 999), step(50, 0, 1000), step(100, 1, 10)];
        assert_eq!(capacity(&steps), 25, "p99 must be under half the duration; no stall at all");
        assert_eq!(capacity(&[step(10, 0, 0)][..0]), 0);
        assert!(!StepOutcome { segments: 0, ..step(10, 0, 1) }.holds(), "no segment proves nothing");
    }
}
