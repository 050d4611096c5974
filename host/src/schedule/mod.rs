//! The F1 calendar: sources (jolpica, OpenF1) merged into one normalized season per year,
//! persisted atomically in the data dir, refreshed by a cron job (`jobs::schedule`), served by
//! `/schedule` with a status computed from the clock at answer time.

pub mod circuits;
pub mod merge;
pub mod model;
pub mod persist;
pub mod service;
pub mod sources;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use service::{Clock, ManualClock, ScheduleService, SystemClock};

/// Page size for jolpica requests (its maximum).
pub const JOLPICA_PAGE: u32 = 100;

/// What kind of session this is, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum SessionKind {
    /// First free practice.
    Fp1,
    /// Second free practice.
    Fp2,
    /// Third free practice.
    Fp3,
    /// Sprint qualifying (2023: "sprint shootout").
    SprintQualifying,
    /// Sprint race.
    Sprint,
    /// Grand Prix qualifying.
    Qualifying,
    /// The Grand Prix.
    Race,
}

impl SessionKind {
    /// Every kind, in weekend order.
    pub const ALL: [SessionKind; 7] = [
        SessionKind::Fp1,
        SessionKind::Fp2,
        SessionKind::Fp3,
        SessionKind::SprintQualifying,
        SessionKind::Sprint,
        SessionKind::Qualifying,
        SessionKind::Race,
    ];

    /// The API name, e.g. `sprint_qualifying`.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Fp1 => "fp1",
            SessionKind::Fp2 => "fp2",
            SessionKind::Fp3 => "fp3",
            SessionKind::SprintQualifying => "sprint_qualifying",
            SessionKind::Sprint => "sprint",
            SessionKind::Qualifying => "qualifying",
            SessionKind::Race => "race",
        }
    }
}

impl fmt::Display for SessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_match_as_str() {
        for kind in SessionKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<SessionKind>(&json).unwrap(), kind);
        }
    }
}
