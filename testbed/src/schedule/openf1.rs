//! OpenF1 `/v1/sessions`: the 2026 fixture plus the synthetic season 9999, filtered by query
//! parameters the way OpenF1 filters (each `field=value` must equal the field; `year=2026`).
//!
//! Rows are kept as raw JSON so fixture bytes pass through untouched; an unknown field or no
//! match answers `[]`. Comparison operators (`date_start>=…`) are not simulated.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::DateTime;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::synthetic::{self, Kind, Round};

struct Row {
    raw: Box<RawValue>,
    fields: Map<String, Value>,
}

static FIXTURE: LazyLock<Vec<Row>> = LazyLock::new(|| {
    let raws: Vec<Box<RawValue>> =
        serde_json::from_str(include_str!("../../fixtures/openf1-sessions-2026.json"))
            .expect("embedded OpenF1 fixture parses");
    raws.into_iter().map(row).collect()
});

fn row(raw: Box<RawValue>) -> Row {
    let fields = serde_json::from_str(raw.get()).expect("OpenF1 rows are objects");
    Row { raw, fields }
}

#[derive(Serialize)]
struct SessionRow<'a> {
    session_key: u64,
    session_type: &'a str,
    session_name: &'a str,
    date_start: String,
    date_end: String,
    meeting_key: u64,
    circuit_key: &'a Value,
    circuit_short_name: &'a Value,
    country_key: &'a Value,
    country_code: &'a Value,
    country_name: &'a Value,
    location: &'a Value,
    gmt_offset: &'a Value,
    year: u32,
    is_cancelled: bool,
}

fn openf1_time(t: i64) -> String {
    DateTime::from_timestamp(t, 0).unwrap_or_default().format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

fn names(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Fp1 => ("Practice", "Practice 1"),
        Kind::Fp2 => ("Practice", "Practice 2"),
        Kind::Fp3 => ("Practice", "Practice 3"),
        Kind::SprintQualifying => ("Qualifying", "Sprint Qualifying"),
        Kind::Sprint => ("Race", "Sprint"),
        Kind::Qualifying => ("Qualifying", "Qualifying"),
        Kind::Race => ("Race", "Race"),
    }
}

/// Meeting key of a synthetic round (distinct from any real key).
pub fn synthetic_meeting_key(round: u32) -> u64 {
    99_990 + u64::from(round)
}

fn synthetic_rows(round: &Round) -> Vec<Row> {
    let meeting = FIXTURE
        .iter()
        .find(|r| r.fields.get("meeting_key").and_then(Value::as_u64) == Some(round.meeting_2026))
        .expect("synthetic meetings exist in the 2026 fixture");
    let f = |k: &str| meeting.fields.get(k).unwrap_or(&Value::Null);
    round
        .sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (session_type, session_name) = names(s.kind);
            let data = SessionRow {
                session_key: 9_999_000 + u64::from(round.round) * 10 + i as u64,
                session_type,
                session_name,
                date_start: openf1_time(s.start),
                date_end: openf1_time(s.start + s.kind.minutes() * 60),
                meeting_key: synthetic_meeting_key(round.round),
                circuit_key: f("circuit_key"),
                circuit_short_name: f("circuit_short_name"),
                country_key: f("country_key"),
                country_code: f("country_code"),
                country_name: f("country_name"),
                location: f("location"),
                gmt_offset: f("gmt_offset"),
                year: synthetic::SEASON,
                is_cancelled: false,
            };
            row(serde_json::value::to_raw_value(&data).expect("serialisable"))
        })
        .collect()
}

fn matches(row: &Row, filters: &HashMap<String, String>) -> bool {
    filters.iter().all(|(key, want)| match row.fields.get(key) {
        Some(Value::String(s)) => s == want,
        Some(Value::Number(n)) => n.to_string() == *want,
        Some(Value::Bool(b)) => b.to_string() == *want,
        Some(Value::Null) => want == "null",
        _ => false,
    })
}

/// Renders `/v1/sessions` for the given query filters.
pub fn render(anchor: i64, filters: &HashMap<String, String>) -> String {
    let synthetic: Vec<Row> = synthetic::season(anchor).iter().flat_map(synthetic_rows).collect();
    let mut rows: Vec<&Row> = FIXTURE.iter().chain(&synthetic).filter(|r| matches(r, filters)).collect();
    // OpenF1's order; every date has the same format, so text order is time order.
    let key = |r: &Row| {
        let text = |k: &str| r.fields.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let num = |k: &str| r.fields.get(k).and_then(Value::as_u64).unwrap_or(0);
        (text("date_start"), num("meeting_key"), num("session_key"))
    };
    rows.sort_by_cached_key(|r| key(r));
    let raws: Vec<&str> = rows.iter().map(|r| r.raw.get()).collect();
    format!("[{}]", raws.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_2026_is_the_fixture() {
        let filters = HashMap::from([("year".to_owned(), "2026".to_owned())]);
        assert_eq!(render(0, &filters), include_str!("../../fixtures/openf1-sessions-2026.json"));
    }

    #[test]
    fn synthetic_year_is_consistent() {
        let anchor = 1_800_000_000;
        let filters = HashMap::from([("year".to_owned(), "9999".to_owned())]);
        let rows: Vec<Value> = serde_json::from_str(&render(anchor, &filters)).unwrap();
        assert_eq!(rows.len(), 25);
        let race = rows
            .iter()
            .find(|r| r["meeting_key"] == synthetic_meeting_key(3) && r["session_name"] == "Race")
            .unwrap();
        assert_eq!(race["location"], "Monza");
        assert_eq!(race["date_start"], openf1_time(anchor - 1800));
        let none = HashMap::from([("year".to_owned(), "1999".to_owned())]);
        assert_eq!(render(anchor, &none), "[]");
    }
}
