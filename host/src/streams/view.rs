//! Streams as the API shows them: the bodies of `GET /streams?session=ID[&all=true]`,
//! `GET /streams/{id}[?variant=LABEL]` and `GET /live/session/{session}/status`, built from
//! the board, the configuration and the play log. These types are the one description of those
//! answers: the web app's TypeScript types are generated from them (`api::api_types`).
//!
//! Fields are in alphabetical order: the JSON these types replaced was built with `json!`, whose
//! maps sort their keys, and clients have always seen that order.

use serde::Serialize;

use super::{
    session::{self, PlayLog},
    state::RefreshError,
};
use crate::{
    AppState,
    config::{MAIN_ROLE, SourceConfig},
    health::board::{Status, StepError, StreamHealth},
    schedule::model::utc,
};

/// RFC 3339 (`Z`, whole seconds) of Unix seconds; `None` only for times chrono cannot represent.
fn time(t: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(t, 0).map(utc)
}

/// [`time`] of a moment pitwall's own clock recorded, so always representable.
fn at(t: i64) -> String {
    time(t).unwrap_or_default()
}

/// `GET /streams?session=ID[&all=true]`.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "StreamsAnswer"))]
pub struct StreamsAnswer {
    /// The newest probe of any listed stream.
    pub checked_at: Option<String>,
    /// The session asked about.
    pub session: String,
    /// Only with `all=true`: every configured source that serves the session's kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub sources: Option<Vec<SourceRow>>,
    /// Best first: verified-live streams, or with `all=true` every known one.
    pub streams: Vec<StreamView>,
}

/// One stream of a session (`/streams?session=ID`, `/streams/{id}`).
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "Stream"))]
pub struct StreamView {
    /// Bits per second of the best variant.
    pub bandwidth: Option<u64>,
    /// The extractor's own label for the candidate.
    pub candidate: String,
    /// The driver an onboard stream follows, when known.
    pub driver: Option<String>,
    /// The last failed probe step; present (maybe `null`) only when there is one or the stream
    /// is not live.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub error: Option<Option<StepError>>,
    /// Extractor id.
    pub extractor: String,
    /// Stable stream id.
    pub id: String,
    /// The name viewers see: the source's label, else the candidate's.
    pub label: String,
    /// Last probe, RFC 3339.
    pub last_checked: Option<String>,
    /// Last passing probe, RFC 3339.
    pub last_live: Option<String>,
    /// Time to fetch the playlist at the last passing probe.
    pub latency_ms: Option<u64>,
    /// Seconds between the live edge and the probe.
    pub live_edge_age_s: Option<f64>,
    /// `1280x720` of the best variant.
    pub resolution: Option<String>,
    /// What the stream shows: `main`, `onboard`, `pitlane`, … (open set).
    pub role: String,
    /// Session id.
    pub session: String,
    /// The plugin's display name, e.g. "Demo TV"; null when its plugin is not loaded.
    pub site: Option<String>,
    /// Configured source id.
    pub source: String,
    /// Health on the board.
    pub status: Status,
    /// Throughput of the last segment read.
    pub throughput_bps: Option<u64>,
    /// The candidate's token.
    pub token: TokenView,
    /// Stable master playlist URL (`/live/{id}/master.m3u8`).
    pub url: String,
    /// Its qualities.
    pub variants: Vec<StreamVariant>,
}

/// One quality of a stream.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StreamVariant {
    /// Advertised bits per second.
    pub bandwidth: Option<u64>,
    /// `720p`, or `1200k` without a resolution.
    pub label: String,
    /// `1280x720`.
    pub resolution: Option<String>,
    /// Stable playlist URL of this quality (`/live/{id}/{label}.m3u8`).
    pub url: String,
}

/// A stream's upstream token.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "StreamToken"))]
pub struct TokenView {
    /// When the candidate's URL stops working, if the extractor said.
    pub expires_at: Option<String>,
    /// The last extraction that refreshed it.
    pub last_refresh: Option<String>,
    /// The last refresh failure of its source, if the last refresh failed.
    pub refresh_error: Option<RefreshErrorView>,
}

/// A source's last refresh failure.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "RefreshError"))]
pub struct RefreshErrorView {
    /// When, RFC 3339.
    pub at: String,
    /// Detail.
    pub message: String,
    /// Failed step.
    pub step: String,
}

/// How a configured source stands for a session (`sources` of `/streams?all=true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum SourceStatus {
    /// Its last extraction for the session is stored.
    Extracted,
    /// Its last refresh failed.
    Failing,
    /// Not extracted yet.
    Pending,
}

/// One configured source in `/streams?all=true`, with its last refresh outcome, so a source that
/// found nothing (or whose extractor is not loaded) is visible with the step that failed.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SourceRow {
    /// Its last refresh failure.
    pub error: Option<RefreshErrorView>,
    /// Extractor id.
    pub extractor: String,
    /// Whether a loaded plugin provides the extractor.
    pub extractor_loaded: bool,
    /// Hosts its extractor calls may fetch (declared + granted).
    pub hosts: Vec<String>,
    /// Source id.
    pub id: String,
    /// The operator's label.
    pub label: String,
    /// Where it stands.
    pub status: SourceStatus,
}

/// `GET /streams/{id}?variant=LABEL`.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct VariantUrl {
    /// Stable playlist URL of the variant.
    pub url: String,
}

impl From<&RefreshError> for RefreshErrorView {
    fn from(e: &RefreshError) -> Self {
        RefreshErrorView { at: at(e.at), message: e.message.clone(), step: e.step.clone() }
    }
}

impl StreamView {
    /// The public view of one stream: named by its source, measured by the board.
    pub fn new(state: &AppState, h: &StreamHealth, refresh_error: Option<&RefreshError>) -> Self {
        let source: Option<&SourceConfig> = state.config.file.source(&h.source);
        let best = h.variants.iter().max_by_key(|v| v.bandwidth.unwrap_or(0));
        StreamView {
            bandwidth: best.and_then(|b| b.bandwidth),
            candidate: h.label.clone(),
            driver: source.and_then(|s| s.driver.clone()),
            error: (h.error.is_some() || h.status != Status::Live).then(|| h.error.clone()),
            extractor: h.extractor.clone(),
            id: h.id.clone(),
            label: session::display_label(state, h),
            last_checked: h.last_checked.and_then(time),
            last_live: h.last_live.and_then(time),
            latency_ms: h.latency_ms,
            live_edge_age_s: h.live_edge_age_s,
            resolution: best.and_then(|b| b.resolution.clone()),
            role: source.map_or(MAIN_ROLE, |s| s.role.as_str()).to_string(),
            session: h.session.clone(),
            site: state.plugins.get(&h.extractor).map(|p| p.prepared.info.name.clone()),
            source: h.source.clone(),
            status: h.status,
            throughput_bps: h.throughput_bps,
            token: TokenView {
                expires_at: h.token_expires_at.and_then(|t| time(t as i64)),
                last_refresh: h.last_refresh.and_then(time),
                refresh_error: refresh_error.map(RefreshErrorView::from),
            },
            url: format!("/live/{}/master.m3u8", h.id),
            variants: h
                .variants
                .iter()
                .map(|v| StreamVariant {
                    bandwidth: v.bandwidth,
                    label: v.label.clone(),
                    resolution: v.resolution.clone(),
                    url: format!("/live/{}/{}.m3u8", h.id, v.label),
                })
                .collect(),
        }
    }
}

/// `GET /live/session/{session}/status`: what the session URL plays and its recent switches.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SessionPlayback {
    /// `null` until a player has loaded one of the session's media playlists.
    pub playing: Option<SessionPlaying>,
    /// The session asked about.
    pub session: String,
    /// Oldest first, at most 20.
    pub switches: Vec<SessionSwitch>,
}

/// The stream a session URL plays now. Its names are `null` when the stream has left the board.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SessionPlaying {
    /// Display label, as in `/streams`.
    pub label: Option<String>,
    /// Its source's role.
    pub role: Option<String>,
    /// When this stream took over, RFC 3339.
    pub since: String,
    /// Source id.
    pub source: Option<String>,
    /// Stream id, as in `/streams`.
    pub stream: String,
}

/// One switch of a session URL from one stream to another.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SessionSwitch {
    /// When, RFC 3339.
    pub at: String,
    /// The stream that was left.
    pub from: String,
    /// Its display label, `null` when it has left the board.
    pub from_label: Option<String>,
    /// Why, in a few words (e.g. "playlist failed").
    pub reason: String,
    /// The stream that plays now.
    pub to: String,
    /// Its display label, `null` when it has left the board.
    pub to_label: Option<String>,
}

impl SessionPlayback {
    /// The play log of `session`, its streams named as `/streams` names them (`streams` are the
    /// session's streams on the board).
    pub fn new(state: &AppState, session: &str, log: &PlayLog, streams: &[StreamHealth]) -> Self {
        let find = |id: &str| streams.iter().find(|h| h.id == id);
        let label = |id: &str| find(id).map(|h| session::display_label(state, h));
        let playing = log.playing.as_ref().map(|(id, since)| {
            let h = find(id);
            SessionPlaying {
                label: label(id),
                role: h.map(|h| session::role(state, h).to_string()),
                since: at(*since),
                source: h.map(|h| h.source.clone()),
                stream: id.clone(),
            }
        });
        let switches = log
            .switches
            .iter()
            .map(|s| SessionSwitch {
                at: at(s.at),
                from: s.from.clone(),
                from_label: label(&s.from),
                reason: s.reason.clone(),
                to: s.to.clone(),
                to_label: label(&s.to),
            })
            .collect();
        SessionPlayback { playing, session: session.to_string(), switches }
    }
}
