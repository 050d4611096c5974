//! The normalized season: events by round, each with its circuit and sessions, times in UTC.
//! Status (`past`/`live`/`upcoming`) is never stored: [`Season::render`] computes it from a clock
//! at answer time.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::SessionKind;

/// One season as pitwall serves and persists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Season {
    /// The year.
    pub season: i32,
    /// Which source supplied the events (`jolpica`, `openf1`, `snapshot`).
    pub source: String,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
    /// Events ordered by round.
    pub events: Vec<Event>,
}

/// A race weekend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Round number within the season.
    pub round: u32,
    /// e.g. `Australian Grand Prix`.
    pub name: String,
    /// e.g. `2026-australian-grand-prix`.
    pub slug: String,
    /// Where it happens.
    pub circuit: Circuit,
    /// Sessions ordered by start.
    pub sessions: Vec<Session>,
}

/// The track. Fields are in alphabetical order: `/schedule` has always listed its keys so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Circuit {
    /// Country.
    pub country: String,
    /// Stable id (jolpica's `circuitId` where known).
    pub id: String,
    /// Town or city.
    pub locality: String,
    /// Full name.
    pub name: String,
    /// IANA zone (`Australia/Melbourne`) or, when unknown, a fixed UTC offset (`+08:00`).
    pub timezone: Option<String>,
}

/// One session of a weekend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Stable id: `{season}-{round:02}-{kind}`, e.g. `2026-01-race`.
    pub id: String,
    /// What kind of session.
    pub kind: SessionKind,
    /// Display name, e.g. `Sprint Qualifying`.
    pub name: String,
    /// Start in UTC; `None` when the source knows only the date.
    pub start: Option<DateTime<Utc>>,
    /// End in UTC (from the source, or start + the kind's usual length).
    pub end: Option<DateTime<Utc>>,
    /// Calendar date (UTC) when the start time is unknown.
    pub date: Option<NaiveDate>,
}

/// Where a session stands relative to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "SessionStatus"))]
pub enum Status {
    /// Over.
    Past,
    /// Running now.
    Live,
    /// Not started.
    Upcoming,
}

impl SessionKind {
    /// Usual length, used when a source gives no end time.
    pub fn usual_length(self) -> Duration {
        match self {
            SessionKind::Fp1 | SessionKind::Fp2 | SessionKind::Fp3 => Duration::minutes(60),
            SessionKind::SprintQualifying => Duration::minutes(44),
            SessionKind::Sprint | SessionKind::Qualifying => Duration::minutes(60),
            SessionKind::Race => Duration::minutes(120),
        }
    }

    /// Display name.
    pub fn display_name(self) -> &'static str {
        match self {
            SessionKind::Fp1 => "Practice 1",
            SessionKind::Fp2 => "Practice 2",
            SessionKind::Fp3 => "Practice 3",
            SessionKind::SprintQualifying => "Sprint Qualifying",
            SessionKind::Sprint => "Sprint",
            SessionKind::Qualifying => "Qualifying",
            SessionKind::Race => "Race",
        }
    }
}

impl Session {
    /// Builds a session with its stable id; `end` defaults to start + the kind's usual length.
    pub fn new(
        season: i32,
        round: u32,
        kind: SessionKind,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
        date: Option<NaiveDate>,
    ) -> Session {
        Session {
            id: format!("{season}-{round:02}-{kind}"),
            kind,
            name: kind.display_name().to_string(),
            start,
            end: end.or_else(|| start.map(|s| s + kind.usual_length())),
            date: if start.is_some() { None } else { date },
        }
    }

    /// Status at `now`. A session with only a date is live for that whole UTC day.
    pub fn status(&self, now: DateTime<Utc>) -> Status {
        let (start, end) = match (self.start, self.end, self.date) {
            (Some(start), Some(end), _) => (start, end),
            (Some(start), None, _) => (start, start + self.kind.usual_length()),
            (None, _, Some(date)) => {
                let start = date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
                (start, start + Duration::days(1))
            }
            (None, _, None) => return Status::Upcoming,
        };
        if now < start {
            Status::Upcoming
        } else if now < end {
            Status::Live
        } else {
            Status::Past
        }
    }
}

/// `slug("2026", "Australian Grand Prix")` → `2026-australian-grand-prix`.
pub fn slug(season: i32, name: &str) -> String {
    let mut out = season.to_string();
    let mut dash = true;
    out.push('-');
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'á' | 'à' | 'ä' | 'â' | 'ã' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' | 'õ' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
            dash = false;
        } else if !dash {
            out.push('-');
            dash = true;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

impl Season {
    /// The answer of `/schedule` at `now`: the season with each session's status.
    pub fn render(&self, now: DateTime<Utc>) -> ScheduleAnswer {
        let events = self
            .events
            .iter()
            .map(|event| EventView {
                circuit: event.circuit.clone(),
                name: event.name.clone(),
                round: event.round,
                sessions: event
                    .sessions
                    .iter()
                    .map(|s| SessionView {
                        date: s.date.map(|d| d.to_string()),
                        end: s.end.map(utc),
                        id: s.id.clone(),
                        kind: s.kind,
                        name: s.name.clone(),
                        start: s.start.map(utc),
                        status: s.status(now),
                    })
                    .collect(),
                slug: event.slug.clone(),
            })
            .collect();
        ScheduleAnswer {
            events,
            fetched_at: utc(self.fetched_at),
            season: self.season,
            source: self.source.clone(),
        }
    }

    /// Finds a session by id.
    pub fn session(&self, id: &str) -> Option<(&Event, &Session)> {
        self.events.iter().find_map(|e| e.sessions.iter().find(|s| s.id == id).map(|s| (e, s)))
    }
}

/// `GET /schedule`: one season with each session's status at answer time. Here and in the
/// views below fields are in alphabetical order, the key order `/schedule` has always had.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "Schedule"))]
pub struct ScheduleAnswer {
    /// Events ordered by round.
    pub events: Vec<EventView>,
    /// When the season was fetched (UTC, RFC 3339 with `Z`).
    pub fetched_at: String,
    /// The year.
    pub season: i32,
    /// Which source supplied the events (`jolpica`, `openf1`, `snapshot`).
    pub source: String,
}

/// A race weekend as `/schedule` lists it.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "ScheduleEvent"))]
pub struct EventView {
    /// Where it happens.
    pub circuit: Circuit,
    /// e.g. `Australian Grand Prix`.
    pub name: String,
    /// Round number within the season.
    pub round: u32,
    /// Sessions ordered by start.
    pub sessions: Vec<SessionView>,
    /// e.g. `2026-australian-grand-prix`.
    pub slug: String,
}

/// A session as `/schedule` lists it.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "Session"))]
pub struct SessionView {
    /// `YYYY-MM-DD`, present only when the start time is not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub date: Option<String>,
    /// UTC, RFC 3339 with `Z`.
    pub end: Option<String>,
    /// Stable id: `{season}-{round:02}-{kind}`, e.g. `2026-01-race`.
    pub id: String,
    /// What kind of session.
    pub kind: SessionKind,
    /// Display name, e.g. `Sprint Qualifying`.
    pub name: String,
    /// UTC, RFC 3339 with `Z`; `null` when the time is not known yet (then `date` is set).
    pub start: Option<String>,
    /// Computed by the server at answer time.
    pub status: Status,
}

/// RFC 3339 with a `Z` and whole seconds, as the API promises.
pub fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn status_flips_with_the_clock() {
        let s = Session::new(2026, 1, SessionKind::Race, Some(at("2026-03-08T04:00:00Z")), None, None);
        assert_eq!(s.id, "2026-01-race");
        assert_eq!(s.end, Some(at("2026-03-08T06:00:00Z")));
        assert_eq!(s.status(at("2026-03-08T03:59:59Z")), Status::Upcoming);
        assert_eq!(s.status(at("2026-03-08T04:00:00Z")), Status::Live);
        assert_eq!(s.status(at("2026-03-08T05:59:59Z")), Status::Live);
        assert_eq!(s.status(at("2026-03-08T06:00:00Z")), Status::Past);
    }

    #[test]
    fn date_only_sessions_are_live_all_day() {
        let date = NaiveDate::from_ymd_opt(2021, 3, 26);
        let s = Session::new(2021, 1, SessionKind::Fp1, None, None, date);
        assert_eq!((s.start, s.end), (None, None));
        assert_eq!(s.status(at("2021-03-25T23:00:00Z")), Status::Upcoming);
        assert_eq!(s.status(at("2021-03-26T12:00:00Z")), Status::Live);
        assert_eq!(s.status(at("2021-03-27T00:00:00Z")), Status::Past);
    }

    #[test]
    fn slugs_are_ascii() {
        assert_eq!(slug(2026, "São Paulo Grand Prix"), "2026-sao-paulo-grand-prix");
        assert_eq!(slug(2026, "Bahrain Grand Prix in Malaysia"), "2026-bahrain-grand-prix-in-malaysia");
        assert_eq!(slug(2026, "  Émilia--Romagna  "), "2026-emilia-romagna");
    }

    #[test]
    fn render_has_utc_z_times_and_status() {
        let season = Season {
            season: 2026,
            source: "jolpica".into(),
            fetched_at: at("2026-11-26T06:00:00Z"),
            events: vec![Event {
                round: 1,
                name: "Australian Grand Prix".into(),
                slug: "2026-australian-grand-prix".into(),
                circuit: Circuit {
                    country: "Australia".into(),
                    id: "albert_park".into(),
                    locality: "Melbourne".into(),
                    name: "Albert Park Grand Prix Circuit".into(),
                    timezone: Some("Australia/Melbourne".into()),
                },
                sessions: vec![
                    Session::new(2026, 1, SessionKind::Race, Some(at("2026-03-08T04:00:00Z")), None, None),
                    Session::new(2026, 1, SessionKind::Fp1, None, None, NaiveDate::from_ymd_opt(2026, 3, 6)),
                ],
            }],
        };
        let v = serde_json::to_value(season.render(at("2026-03-08T05:00:00Z"))).unwrap();
        assert_eq!(v["fetched_at"], "2026-11-26T06:00:00Z");
        let race = &v["events"][0]["sessions"][0];
        assert_eq!(race["start"], "2026-03-08T04:00:00Z");
        assert_eq!(race["end"], "2026-03-08T06:00:00Z");
        assert_eq!(race["status"], "live");
        let fp1 = &v["events"][0]["sessions"][1];
        assert_eq!(fp1["start"], serde_json::Value::Null);
        assert_eq!(fp1["date"], "2026-03-06");
        assert_eq!(fp1["status"], "past");
        assert_eq!(v["events"][0]["circuit"]["timezone"], "Australia/Melbourne");
    }
}
