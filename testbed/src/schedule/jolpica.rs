//! jolpica-f1 (Ergast-compatible) `/races` answers: fixture seasons byte-for-byte, paging like
//! jolpica (`limit` default 30, max 100; `offset`), and the synthetic season 9999.
//!
//! Races are kept as raw JSON, so fixture bytes pass through untouched and only the `MRData`
//! envelope is re-rendered. `MRData.url` is what jolpica itself would show: its own https URL of
//! the request path, lower-cased, without query (our `/jolpica` prefix removed), which makes a
//! default answer byte-equal to the fixture.

use std::sync::LazyLock;

use chrono::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::synthetic::{self, Kind, Round};

/// Default page size.
pub const DEFAULT_LIMIT: usize = 30;
/// Largest accepted page size.
pub const MAX_LIMIT: usize = 100;

#[derive(Deserialize)]
struct FixtureFile {
    #[serde(rename = "MRData")]
    mr_data: FixtureMrData,
}

#[derive(Deserialize)]
struct FixtureMrData {
    #[serde(rename = "RaceTable")]
    race_table: FixtureRaceTable,
}

#[derive(Deserialize)]
struct FixtureRaceTable {
    #[serde(rename = "Races")]
    races: Vec<Box<RawValue>>,
}

fn load(text: &str) -> Vec<Box<RawValue>> {
    serde_json::from_str::<FixtureFile>(text)
        .expect("embedded jolpica fixture parses")
        .mr_data
        .race_table
        .races
}

static SEASONS: LazyLock<Vec<(u32, Vec<Box<RawValue>>)>> = LazyLock::new(|| {
    vec![
        (2021, load(include_str!("../../fixtures/jolpica-2021.json"))),
        (2023, load(include_str!("../../fixtures/jolpica-2023.json"))),
        (2025, load(include_str!("../../fixtures/jolpica-2025.json"))),
        (2026, load(include_str!("../../fixtures/jolpica-2026.json"))),
    ]
});

/// The fields of a 2026 race reused by the synthetic season.
#[derive(Deserialize)]
struct Race2026 {
    #[serde(rename = "raceName")]
    race_name: String,
    #[serde(rename = "Circuit")]
    circuit: Box<RawValue>,
}

fn race_2026(circuit_id: &str) -> Race2026 {
    let (_, races) = SEASONS.iter().find(|(y, _)| *y == 2026).expect("2026 fixture");
    races
        .iter()
        .filter_map(|raw| serde_json::from_str::<Race2026>(raw.get()).ok())
        .find(|r| r.circuit.get().contains(&format!("\"circuitId\":\"{circuit_id}\"")))
        .expect("synthetic circuits exist in the 2026 fixture")
}

#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "MRData")]
    mr_data: MrData<'a>,
}

#[derive(Serialize)]
struct MrData<'a> {
    xmlns: &'a str,
    series: &'a str,
    url: String,
    limit: String,
    offset: String,
    total: String,
    #[serde(rename = "RaceTable")]
    race_table: RaceTable<'a>,
}

#[derive(Serialize)]
struct RaceTable<'a> {
    season: String,
    #[serde(rename = "Races")]
    races: &'a [Box<RawValue>],
}

#[derive(Serialize)]
struct DateTimePair {
    date: String,
    time: String,
}

#[derive(Serialize)]
struct SynthRace<'a> {
    season: String,
    round: String,
    url: String,
    #[serde(rename = "raceName")]
    race_name: &'a str,
    #[serde(rename = "Circuit")]
    circuit: &'a RawValue,
    date: String,
    time: String,
    #[serde(rename = "FirstPractice", skip_serializing_if = "Option::is_none")]
    first_practice: Option<DateTimePair>,
    #[serde(rename = "SecondPractice", skip_serializing_if = "Option::is_none")]
    second_practice: Option<DateTimePair>,
    #[serde(rename = "ThirdPractice", skip_serializing_if = "Option::is_none")]
    third_practice: Option<DateTimePair>,
    #[serde(rename = "Qualifying", skip_serializing_if = "Option::is_none")]
    qualifying: Option<DateTimePair>,
    #[serde(rename = "Sprint", skip_serializing_if = "Option::is_none")]
    sprint: Option<DateTimePair>,
    #[serde(rename = "SprintQualifying", skip_serializing_if = "Option::is_none")]
    sprint_qualifying: Option<DateTimePair>,
}

fn pair(start: i64) -> DateTimePair {
    let t = DateTime::from_timestamp(start, 0).unwrap_or_default();
    DateTimePair { date: t.format("%Y-%m-%d").to_string(), time: t.format("%H:%M:%SZ").to_string() }
}

fn synthetic_race(round: &Round) -> Box<RawValue> {
    let source = race_2026(round.circuit_id);
    let at = |kind: Kind| round.sessions.iter().find(|s| s.kind == kind).map(|s| pair(s.start));
    let race = at(Kind::Race).expect("every round has a race");
    let name = &source.race_name;
    let race = SynthRace {
        season: synthetic::SEASON.to_string(),
        round: round.round.to_string(),
        url: format!("https://en.wikipedia.org/wiki/{}_{}", synthetic::SEASON, name.replace(' ', "_")),
        race_name: name,
        circuit: &source.circuit,
        date: race.date,
        time: race.time,
        first_practice: at(Kind::Fp1),
        second_practice: at(Kind::Fp2),
        third_practice: at(Kind::Fp3),
        qualifying: at(Kind::Qualifying),
        sprint: at(Kind::Sprint),
        sprint_qualifying: at(Kind::SprintQualifying),
    };
    serde_json::value::to_raw_value(&race).expect("serialisable")
}

/// Page parameters as jolpica reads them: bad or non-positive `limit` → default, too large →
/// [`MAX_LIMIT`]; bad or negative `offset` → 0.
pub fn page(limit: Option<&str>, offset: Option<&str>) -> (usize, usize) {
    let limit = match limit.and_then(|l| l.parse::<i64>().ok()) {
        Some(l) if l > 0 => (l as usize).min(MAX_LIMIT),
        _ => DEFAULT_LIMIT,
    };
    let offset = offset.and_then(|o| o.parse::<i64>().ok()).filter(|o| *o >= 0).map_or(0, |o| o as usize);
    (limit, offset)
}

/// Renders the `/races` answer of `season` for a request to `path` (our path, with `/jolpica`).
pub fn render(season: u32, anchor: i64, path: &str, limit: usize, offset: usize) -> String {
    let synthetic_races: Vec<Box<RawValue>>;
    let races: &[Box<RawValue>] = if season == synthetic::SEASON {
        synthetic_races = synthetic::season(anchor).iter().map(synthetic_race).collect();
        &synthetic_races
    } else {
        SEASONS.iter().find(|(y, _)| *y == season).map_or(&[], |(_, r)| r.as_slice())
    };
    let start = offset.min(races.len());
    let end = start.saturating_add(limit).min(races.len());
    let public_path = path.strip_prefix("/jolpica").unwrap_or(path).to_lowercase();
    let envelope = Envelope {
        mr_data: MrData {
            xmlns: "",
            series: "f1",
            url: format!("https://api.jolpi.ca{public_path}"),
            limit: limit.to_string(),
            offset: offset.to_string(),
            total: races.len().to_string(),
            race_table: RaceTable { season: season.to_string(), races: &races[start..end] },
        },
    };
    serde_json::to_string(&envelope).expect("serialisable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_round_trip_byte_for_byte() {
        let path = "/jolpica/ergast/f1/2026.json";
        assert_eq!(render(2026, 0, path, 30, 0), include_str!("../../fixtures/jolpica-2026.json"));
        assert_eq!(
            render(2026, 0, path, 10, 10),
            include_str!("../../fixtures/jolpica-2026-limit10-offset10.json")
        );
        assert_eq!(
            render(2021, 0, "/jolpica/ergast/f1/2021.json", 30, 0),
            include_str!("../../fixtures/jolpica-2021.json")
        );
    }

    #[test]
    fn paging_rules() {
        assert_eq!(page(None, None), (30, 0));
        assert_eq!(page(Some("500"), Some("-3")), (100, 0));
        assert_eq!(page(Some("0"), Some("x")), (30, 0));
        assert_eq!(page(Some("10"), Some("20")), (10, 20));
    }

    #[test]
    fn synthetic_season_renders() {
        let text = render(9999, 1_800_000_000, "/jolpica/ergast/f1/9999.json", 30, 0);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let races = v["MRData"]["RaceTable"]["Races"].as_array().unwrap();
        assert_eq!(races.len(), 5);
        assert_eq!(races[2]["raceName"], "Italian Grand Prix");
        assert_eq!(races[2]["Circuit"]["circuitId"], "monza");
        assert!(races[1]["SprintQualifying"].is_object());
        assert!(races[1]["SecondPractice"].is_null());
    }
}
