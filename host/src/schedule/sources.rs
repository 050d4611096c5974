//! Schedule sources behind one trait: jolpica (Ergast-compatible, paged, numbers as strings) and
//! OpenF1 (`/v1/sessions`, flat session rows). Parsing is pure (`parse_*`), fetching is thin:
//! bodies are read as streams that stop at [`MAX_BODY`] (decompressed bytes), and errors show
//! URLs only redacted.

use std::{collections::BTreeMap, future::Future, pin::Pin};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use futures_util::StreamExt;
use serde::Deserialize;
use url::Url;

use super::{
    SessionKind, circuits,
    model::{Circuit, Event, Session, slug},
};
use crate::net::{UpstreamGuard, error_chain, redact};

/// Why a source could not give a season.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Connecting, sending or reading failed (includes the SSRF guard refusing).
    #[error("request to {url} failed: {message}")]
    Request {
        /// The URL (query values redacted).
        url: String,
        /// What happened.
        message: String,
    },
    /// The source answered with an error status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The answer was not the expected JSON.
    #[error("{url} answered malformed data: {message}")]
    Parse {
        /// The URL.
        url: String,
        /// What was wrong.
        message: String,
    },
}

/// A boxed future, so sources can sit behind `dyn ScheduleSource`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that knows a season's calendar.
pub trait ScheduleSource: Send + Sync {
    /// `jolpica` or `openf1`.
    fn name(&self) -> &'static str;
    /// The season's events; empty when the source knows nothing of it.
    fn fetch(&self, season: i32) -> BoxFuture<'_, Result<Vec<Event>, SourceError>>;
}

/// Largest answer read from a schedule source (a season is a few hundred KiB at most).
pub const MAX_BODY: usize = 8 << 20;

/// A reqwest error's chain without its URL (the caller shows the URL redacted).
fn message(e: reqwest::Error) -> String {
    error_chain(&e.without_url())
}

/// `url` for messages: redacted when it parses, a fixed word otherwise.
fn shown(url: &str) -> String {
    Url::parse(url).map_or_else(|_| "the configured source URL".to_string(), |u| redact(&u))
}

/// GETs `url` and returns the body, mapping failures to [`SourceError`].
async fn get_text(client: &reqwest::Client, guard: &UpstreamGuard, url: &Url) -> Result<String, SourceError> {
    let shown = redact(url);
    guard.check_url(url).map_err(|e| SourceError::Request { url: shown.clone(), message: e.to_string() })?;
    let response = client
        .get(url.clone())
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| SourceError::Request { url: shown.clone(), message: message(e) })?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(String::new());
    }
    if !status.is_success() {
        return Err(SourceError::Status { url: shown, status: status.as_u16() });
    }
    let too_large =
        |url: String| SourceError::Request { url, message: format!("answer larger than {MAX_BODY} bytes") };
    if response.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large(shown));
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| SourceError::Request { url: shown.clone(), message: message(e) })?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large(shown));
        }
        body.extend_from_slice(&chunk);
    }
    // As `Response::text` did: lossy UTF-8, without a byte order mark.
    Ok(String::from_utf8_lossy(&body).trim_start_matches('\u{feff}').to_owned())
}

// ---------------------------------------------------------------- jolpica

/// jolpica-f1 (Ergast-compatible): `{base}/{season}.json?limit=&offset=`.
pub struct Jolpica {
    base: String,
    client: reqwest::Client,
    guard: UpstreamGuard,
    page_size: u32,
}

impl Jolpica {
    /// A source for `base` (e.g. `https://api.jolpi.ca/ergast/f1`), paging `page_size` races at a time.
    pub fn new(base: &str, client: reqwest::Client, guard: UpstreamGuard, page_size: u32) -> Self {
        Jolpica {
            base: base.trim_end_matches('/').to_string(),
            client,
            guard,
            page_size: page_size.clamp(1, 100),
        }
    }
}

impl ScheduleSource for Jolpica {
    fn name(&self) -> &'static str {
        "jolpica"
    }

    fn fetch(&self, season: i32) -> BoxFuture<'_, Result<Vec<Event>, SourceError>> {
        Box::pin(async move {
            let mut races = Vec::new();
            let mut offset = 0u32;
            // Bounded: a season has at most a few dozen races; 50 pages is far past any real one.
            for _ in 0..50 {
                let url = format!("{}/{season}.json?limit={}&offset={offset}", self.base, self.page_size);
                let url = Url::parse(&url)
                    .map_err(|e| SourceError::Request { url: shown(&self.base), message: e.to_string() })?;
                let text = get_text(&self.client, &self.guard, &url).await?;
                if text.is_empty() {
                    break;
                }
                let page = parse_jolpica_page(&text)
                    .map_err(|message| SourceError::Parse { url: redact(&url), message })?;
                let got = page.races.len() as u32;
                races.extend(page.races);
                offset += got;
                if got == 0 || offset >= page.total {
                    break;
                }
            }
            jolpica_events(season, races)
                .map_err(|message| SourceError::Parse { url: shown(&self.base), message })
        })
    }
}

/// One page of a jolpica answer.
pub struct JolpicaPage {
    /// `MRData.total`.
    pub total: u32,
    /// The races on this page.
    pub races: Vec<JolpicaRace>,
}

#[derive(Deserialize)]
struct JolpicaRoot {
    #[serde(rename = "MRData")]
    mr_data: MrData,
}

#[derive(Deserialize)]
struct MrData {
    total: String,
    #[serde(rename = "RaceTable")]
    race_table: RaceTable,
}

#[derive(Deserialize)]
struct RaceTable {
    #[serde(rename = "Races", default)]
    races: Vec<JolpicaRace>,
}

/// A race as jolpica serializes it.
#[derive(Deserialize)]
#[allow(missing_docs)]
pub struct JolpicaRace {
    round: String,
    #[serde(rename = "raceName")]
    race_name: String,
    #[serde(rename = "Circuit")]
    circuit: JolpicaCircuit,
    date: String,
    time: Option<String>,
    #[serde(rename = "FirstPractice")]
    first_practice: Option<Slot>,
    #[serde(rename = "SecondPractice")]
    second_practice: Option<Slot>,
    #[serde(rename = "ThirdPractice")]
    third_practice: Option<Slot>,
    #[serde(rename = "Qualifying")]
    qualifying: Option<Slot>,
    #[serde(rename = "Sprint")]
    sprint: Option<Slot>,
    #[serde(rename = "SprintQualifying")]
    sprint_qualifying: Option<Slot>,
    #[serde(rename = "SprintShootout")]
    sprint_shootout: Option<Slot>,
}

#[derive(Deserialize)]
struct JolpicaCircuit {
    #[serde(rename = "circuitId")]
    id: String,
    #[serde(rename = "circuitName")]
    name: String,
    #[serde(rename = "Location")]
    location: Location,
}

#[derive(Deserialize)]
struct Location {
    locality: String,
    country: String,
}

#[derive(Deserialize, Clone)]
struct Slot {
    date: String,
    time: Option<String>,
}

/// Parses one jolpica page.
pub fn parse_jolpica_page(text: &str) -> Result<JolpicaPage, String> {
    let root: JolpicaRoot = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let total = root
        .mr_data
        .total
        .parse()
        .map_err(|_| format!("MRData.total is not a number: {:?}", root.mr_data.total))?;
    Ok(JolpicaPage { total, races: root.mr_data.race_table.races })
}

/// Turns jolpica races into events (sessions sorted by start, sprint shootout → sprint qualifying).
pub fn jolpica_events(season: i32, races: Vec<JolpicaRace>) -> Result<Vec<Event>, String> {
    let mut events = Vec::with_capacity(races.len());
    for race in races {
        let round: u32 =
            race.round.parse().map_err(|_| format!("round is not a number: {:?}", race.round))?;
        let main = Slot { date: race.date.clone(), time: race.time.clone() };
        let slots = [
            (SessionKind::Fp1, race.first_practice),
            (SessionKind::Fp2, race.second_practice),
            (SessionKind::Fp3, race.third_practice),
            (SessionKind::SprintQualifying, race.sprint_qualifying.or(race.sprint_shootout)),
            (SessionKind::Sprint, race.sprint),
            (SessionKind::Qualifying, race.qualifying),
            (SessionKind::Race, Some(main)),
        ];
        let mut sessions = Vec::new();
        for (kind, slot) in slots {
            let Some(slot) = slot else { continue };
            let date = NaiveDate::parse_from_str(&slot.date, "%Y-%m-%d")
                .map_err(|_| format!("round {round} {kind}: bad date {:?}", slot.date))?;
            let start = match slot.time.as_deref() {
                Some(time) => Some(
                    parse_time(date, time)
                        .ok_or_else(|| format!("round {round} {kind}: bad time {time:?}"))?,
                ),
                None => None,
            };
            sessions.push(Session::new(season, round, kind, start, None, Some(date)));
        }
        sort_sessions(&mut sessions);
        let facts = circuits::by_id(&race.circuit.id);
        events.push(Event {
            round,
            slug: slug(season, &race.race_name),
            name: race.race_name,
            circuit: Circuit {
                id: race.circuit.id,
                name: race.circuit.name,
                locality: race.circuit.location.locality,
                country: race.circuit.location.country,
                timezone: facts.map(|f| f.timezone.to_string()),
            },
            sessions,
        });
    }
    events.sort_by_key(|e| e.round);
    Ok(events)
}

/// `"04:00:00Z"` on `date` → UTC.
fn parse_time(date: NaiveDate, time: &str) -> Option<DateTime<Utc>> {
    let time = time.trim_end_matches('Z');
    let t = NaiveTime::parse_from_str(time, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M"))
        .ok()?;
    Some(date.and_time(t).and_utc())
}

/// Sessions by start (date-only sessions by date), kind breaking ties.
fn sort_sessions(sessions: &mut [Session]) {
    sessions.sort_by_key(|s| (s.start.map(|t| t.date_naive()).or(s.date), s.start, s.kind));
}

// ---------------------------------------------------------------- OpenF1

/// OpenF1: `{base}/sessions?year=`.
pub struct OpenF1 {
    base: String,
    client: reqwest::Client,
    guard: UpstreamGuard,
}

impl OpenF1 {
    /// A source for `base` (e.g. `https://api.openf1.org/v1`).
    pub fn new(base: &str, client: reqwest::Client, guard: UpstreamGuard) -> Self {
        OpenF1 { base: base.trim_end_matches('/').to_string(), client, guard }
    }
}

impl ScheduleSource for OpenF1 {
    fn name(&self) -> &'static str {
        "openf1"
    }

    fn fetch(&self, season: i32) -> BoxFuture<'_, Result<Vec<Event>, SourceError>> {
        Box::pin(async move {
            let url = format!("{}/sessions?year={season}", self.base);
            let url = Url::parse(&url)
                .map_err(|e| SourceError::Request { url: shown(&self.base), message: e.to_string() })?;
            let text = get_text(&self.client, &self.guard, &url).await?;
            if text.is_empty() {
                return Ok(Vec::new());
            }
            parse_openf1(season, &text).map_err(|message| SourceError::Parse { url: redact(&url), message })
        })
    }
}

#[derive(Deserialize)]
struct OpenF1Session {
    session_type: String,
    session_name: String,
    date_start: String,
    date_end: Option<String>,
    meeting_key: i64,
    circuit_short_name: String,
    country_name: String,
    location: String,
    gmt_offset: Option<String>,
    year: i32,
    #[serde(default)]
    is_cancelled: bool,
}

/// The kind of an OpenF1 (type, name) pair; `None` for testing days and unknown pairs.
fn openf1_kind(session_type: &str, name: &str) -> Option<SessionKind> {
    Some(match (session_type, name) {
        (_, "Practice 1") => SessionKind::Fp1,
        (_, "Practice 2") => SessionKind::Fp2,
        (_, "Practice 3") => SessionKind::Fp3,
        (_, "Sprint Qualifying" | "Sprint Shootout") => SessionKind::SprintQualifying,
        ("Race", "Sprint") => SessionKind::Sprint,
        (_, "Qualifying") => SessionKind::Qualifying,
        ("Race", "Race") => SessionKind::Race,
        _ => return None,
    })
}

fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// Parses `/v1/sessions` rows into events: meetings in date order are rounds; cancelled
/// meetings and testing days are left out.
pub fn parse_openf1(season: i32, text: &str) -> Result<Vec<Event>, String> {
    let rows: Vec<OpenF1Session> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut meetings: BTreeMap<i64, Vec<OpenF1Session>> = BTreeMap::new();
    for row in rows.into_iter().filter(|r| r.year == season && !r.is_cancelled) {
        meetings.entry(row.meeting_key).or_default().push(row);
    }
    let mut weekends: Vec<(DateTime<Utc>, Vec<OpenF1Session>)> = Vec::new();
    for (_, rows) in meetings {
        let has_f1_session = rows.iter().any(|r| openf1_kind(&r.session_type, &r.session_name).is_some());
        if !has_f1_session {
            continue;
        }
        let first = rows
            .iter()
            .filter_map(|r| parse_instant(&r.date_start))
            .min()
            .ok_or_else(|| format!("meeting at {} has no valid date_start", rows[0].location))?;
        weekends.push((first, rows));
    }
    weekends.sort_by_key(|(first, _)| *first);
    let mut events = Vec::new();
    for (index, (_, rows)) in weekends.into_iter().enumerate() {
        let round = index as u32 + 1;
        let head = &rows[0];
        let facts = circuits::by_openf1(&head.circuit_short_name);
        let name =
            facts.map_or_else(|| format!("{} Grand Prix", head.country_name), |f| f.grand_prix.to_string());
        let mut sessions = Vec::new();
        for row in &rows {
            let Some(kind) = openf1_kind(&row.session_type, &row.session_name) else { continue };
            let start = parse_instant(&row.date_start)
                .ok_or_else(|| format!("bad date_start {:?}", row.date_start))?;
            let end = row.date_end.as_deref().and_then(parse_instant).filter(|end| *end > start);
            sessions.push(Session::new(season, round, kind, Some(start), end, None));
        }
        sort_sessions(&mut sessions);
        events.push(Event {
            round,
            slug: slug(season, &name),
            name,
            circuit: Circuit {
                id: facts.map_or_else(
                    || slug(season, &head.circuit_short_name)[5..].replace('-', "_"),
                    |f| f.id.to_string(),
                ),
                name: head.circuit_short_name.clone(),
                locality: head.location.clone(),
                country: head.country_name.clone(),
                timezone: facts
                    .map(|f| f.timezone.to_string())
                    .or_else(|| head.gmt_offset.as_deref().and_then(circuits::offset_zone)),
            },
            sessions,
        });
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    const J2026: &str = include_str!("../../../testbed/fixtures/jolpica-2026.json");
    const J2025: &str = include_str!("../../../testbed/fixtures/jolpica-2025.json");
    const J2023: &str = include_str!("../../../testbed/fixtures/jolpica-2023.json");
    const J2021: &str = include_str!("../../../testbed/fixtures/jolpica-2021.json");
    const O2026: &str = include_str!("../../../testbed/fixtures/openf1-sessions-2026.json");

    fn jolpica(season: i32, text: &str) -> Vec<Event> {
        let page = parse_jolpica_page(text).unwrap();
        assert_eq!(page.total as usize, page.races.len());
        jolpica_events(season, page.races).unwrap()
    }

    #[test]
    fn jolpica_2026_has_23_rounds_sepang_and_miami() {
        let events = jolpica(2026, J2026);
        assert_eq!(events.len(), 23);
        let sepang = &events[15];
        assert_eq!((sepang.round, sepang.name.as_str()), (16, "Bahrain Grand Prix in Malaysia"));
        assert_eq!(sepang.circuit.timezone.as_deref(), Some("Asia/Kuala_Lumpur"));
        let miami = events.iter().find(|e| e.circuit.id == "miami").unwrap();
        let race = miami.sessions.iter().find(|s| s.kind == SessionKind::Race).unwrap();
        assert_eq!(race.start.unwrap().to_rfc3339(), "2026-05-03T17:00:00+00:00");
        assert_eq!(race.id, format!("2026-{:02}-race", miami.round));
        assert!(events.iter().all(|e| e.circuit.timezone.is_some()), "every 2026 circuit has a zone");
    }

    #[test]
    fn jolpica_2025_has_24_rounds_and_6_sprints() {
        let events = jolpica(2025, J2025);
        assert_eq!(events.len(), 24);
        let sprints =
            events.iter().filter(|e| e.sessions.iter().any(|s| s.kind == SessionKind::Sprint)).count();
        assert_eq!(sprints, 6);
        for e in &events {
            let starts: Vec<_> = e.sessions.iter().map(|s| s.start.unwrap()).collect();
            assert!(starts.windows(2).all(|w| w[0] <= w[1]), "sessions of round {} sorted", e.round);
        }
    }

    #[test]
    fn jolpica_2023_sprint_shootout_is_sprint_qualifying() {
        let events = jolpica(2023, J2023);
        let n = events
            .iter()
            .flat_map(|e| &e.sessions)
            .filter(|s| s.kind == SessionKind::SprintQualifying)
            .count();
        assert_eq!(n, 6);
    }

    #[test]
    fn jolpica_2021_sessions_without_time_keep_their_date() {
        let events = jolpica(2021, J2021);
        let fp1 = &events[0].sessions[0];
        assert_eq!(fp1.kind, SessionKind::Fp1);
        assert!(fp1.start.is_none() && fp1.end.is_none());
        assert!(fp1.date.is_some());
        let race = events[0].sessions.iter().find(|s| s.kind == SessionKind::Race).unwrap();
        assert!(race.start.is_some(), "races have times in 2021");
    }

    #[test]
    fn malformed_jolpica_is_an_error() {
        assert!(parse_jolpica_page("{\"MRData\": ").is_err());
        assert!(parse_jolpica_page("{\"MRData\": {\"total\": \"x\", \"RaceTable\": {}}}").is_err());
    }

    #[test]
    fn openf1_2026_skips_cancelled_and_knows_ends() {
        let events = parse_openf1(2026, O2026).unwrap();
        assert_eq!(events.len(), 23, "25 meetings minus cancelled Bahrain and Saudi Arabia");
        let first = &events[0];
        assert_eq!(first.circuit.id, "albert_park");
        assert_eq!(first.name, "Australian Grand Prix");
        let fp1 = &first.sessions[0];
        assert_eq!(fp1.kind, SessionKind::Fp1);
        assert_eq!(fp1.end.unwrap().to_rfc3339(), "2026-03-06T02:30:00+00:00");
        let kinds: usize = events.iter().map(|e| e.sessions.len()).sum();
        assert_eq!(kinds, 23 * 5, "5 sessions a weekend, sprint or not");
    }
}
