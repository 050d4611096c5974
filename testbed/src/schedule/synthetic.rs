//! Season 9999: a synthetic calendar built around the process start, so that one race weekend
//! is in progress whenever the testbed runs.
//!
//! Anchoring: `anchor` is the process start rounded down to 5 minutes (see
//! [`crate::state::Shared::anchor`]); the live race starts 30 minutes before the anchor, i.e. it
//! started 30–35 minutes before the process did, and stays live (2 h slot) for about 85 minutes
//! of process uptime. Every answer within one process is identical because nothing depends on
//! the request time. The live weekend's practice and qualifying sessions are in the past; two
//! earlier weekends are past and two later ones upcoming. Both schedule APIs render this same
//! model, so jolpica and OpenF1 agree on every time.

/// Kind of a session in the synthetic calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Practice 1.
    Fp1,
    /// Practice 2.
    Fp2,
    /// Practice 3.
    Fp3,
    /// Sprint qualifying.
    SprintQualifying,
    /// Sprint race.
    Sprint,
    /// Qualifying.
    Qualifying,
    /// Grand Prix.
    Race,
}

impl Kind {
    /// Slot length in minutes (OpenF1's observed lengths).
    pub fn minutes(self) -> i64 {
        match self {
            Kind::SprintQualifying => 44,
            Kind::Race => 120,
            _ => 60,
        }
    }
}

/// One session: kind and start (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct Session {
    /// What it is.
    pub kind: Kind,
    /// Start time, Unix seconds.
    pub start: i64,
}

/// One race weekend of season 9999.
#[derive(Debug, Clone)]
pub struct Round {
    /// Round number, from 1.
    pub round: u32,
    /// jolpica `circuitId` of a 2026 round whose circuit, name and OpenF1 meeting data are reused.
    pub circuit_id: &'static str,
    /// The OpenF1 2026 meeting whose circuit fields are reused.
    pub meeting_2026: u64,
    /// Sprint weekend?
    pub sprint: bool,
    /// Sessions in time order; the last one is the race.
    pub sessions: Vec<Session>,
}

/// The season year.
pub const SEASON: u32 = 9999;

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// Builds the calendar for a process anchored at `anchor` (Unix seconds).
pub fn season(anchor: i64) -> Vec<Round> {
    let live_race = anchor - 30 * 60;
    let plan: [(&str, u64, bool, i64); 5] = [
        ("albert_park", 1279, false, -14),
        ("shanghai", 1280, true, -7),
        ("monza", 1293, false, 0),
        ("silverstone", 1289, true, 7),
        ("suzuka", 1281, false, 14),
    ];
    plan.iter()
        .enumerate()
        .map(|(i, &(circuit_id, meeting_2026, sprint, days))| {
            let race = live_race + days * DAY;
            let offsets: &[(Kind, i64)] = if sprint {
                &[
                    (Kind::Fp1, -2 * DAY - 150 * 60),
                    (Kind::SprintQualifying, -2 * DAY + 90 * 60),
                    (Kind::Sprint, -DAY - 3 * HOUR),
                    (Kind::Qualifying, -DAY + HOUR),
                    (Kind::Race, 0),
                ]
            } else {
                &[
                    (Kind::Fp1, -2 * DAY - 90 * 60),
                    (Kind::Fp2, -2 * DAY + 2 * HOUR),
                    (Kind::Fp3, -DAY - 150 * 60),
                    (Kind::Qualifying, -DAY + HOUR),
                    (Kind::Race, 0),
                ]
            };
            Round {
                round: i as u32 + 1,
                circuit_id,
                meeting_2026,
                sprint,
                sessions: offsets.iter().map(|&(kind, off)| Session { kind, start: race + off }).collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_race_is_live_at_the_anchor() {
        let anchor = 1_800_000_000;
        let rounds = season(anchor);
        let live: Vec<_> = rounds
            .iter()
            .flat_map(|r| &r.sessions)
            .filter(|s| s.start <= anchor && anchor < s.start + s.kind.minutes() * 60)
            .collect();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].kind, Kind::Race);
        assert_eq!(anchor - live[0].start, 30 * 60);
        let live_round = &rounds[2];
        assert!(live_round.sessions.iter().all(|s| s.start <= anchor));
        assert!(rounds[3].sessions.iter().all(|s| s.start > anchor));
        assert!(rounds[1].sessions.iter().all(|s| s.start + 7200 < anchor));
    }
}
