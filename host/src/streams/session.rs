//! The session URL: `/live/session/{session}/master.m3u8` lists one quality ladder for a
//! session, and each `/live/session/{session}/{variant}.m3u8` is a [`Track`] fed by the session's
//! current stream, `main`-role sources first. When that stream dies (its playlist fetch fails,
//! it stops advancing for three target durations, its segments fail
//! [`super::errors::THRESHOLD`] times in a row, or the health board marks it dead) the track
//! switches to the next-ranked live stream behind the same URL; a stream that comes back is not
//! switched back to while the current one plays. Variants of another stream are matched to the
//! wanted quality by resolution, then bandwidth. Every switch is kept in the session's
//! [`PlayLog`] for `/live/session/{session}/status`.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use m3u8_rs::{MediaPlaylist, Playlist};
use url::Url;

use super::{masters::Resolved, refresh::is_refused, track::Track};
use crate::{
    AppState,
    config::MAIN_ROLE,
    health::board::{Status, StreamHealth, Variant, rank},
    relay::{HeaderScope, upstream::UpstreamError},
    store::{Candidate, Extractions},
};

/// Tracks kept at once (sessions × qualities); the least recently used goes first.
const MAX_TRACKS: usize = 256;
/// A stream that failed a track is not tried again by it for this long (unless nothing else is left).
const COOLDOWN: Duration = Duration::from_secs(30);
/// A current stream that has not advanced for this many target durations is stale.
const STALE_TARGET_DURATIONS: u32 = 3;
/// Switches remembered per session for the status answer.
const MAX_SWITCHES: usize = 20;

/// Why a session playlist cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No such session, or no such quality in its ladder.
    #[error("{0}")]
    NotFound(String),
    /// The session has no live stream right now.
    #[error("{0}")]
    NoStream(String),
}

struct TrackState {
    track: Track,
    /// When the track last got a new segment.
    advanced_at: Instant,
    /// Streams that failed this track, and when.
    failed: HashMap<String, Instant>,
    used_at: Instant,
}

/// One track, locked while a request feeds it (requests for the same track take turns).
type SharedTrack = Arc<tokio::sync::Mutex<TrackState>>;

/// Every session track and each session's ladder.
#[derive(Default)]
pub struct Sessions {
    tracks: Mutex<HashMap<(String, String), SharedTrack>>,
    ladders: Mutex<HashMap<String, Vec<Variant>>>,
    logs: Mutex<HashMap<String, PlayLog>>,
}

/// What a session URL plays and has switched from, for `/live/session/{session}/status`.
#[derive(Debug, Clone, Default)]
pub struct PlayLog {
    /// The stream the session's tracks play now, and since when (Unix seconds).
    pub playing: Option<(String, i64)>,
    /// The last switches, oldest first.
    pub switches: VecDeque<Switch>,
}

/// One move of a session URL from a stream to another.
#[derive(Debug, Clone, PartialEq)]
pub struct Switch {
    /// Unix seconds.
    pub at: i64,
    /// The stream that failed.
    pub from: String,
    /// The stream that plays now.
    pub to: String,
    /// Why `from` was left.
    pub reason: String,
}

impl PlayLog {
    /// Records that a track now plays `to` (having played `from`, if it played anything).
    fn record(&mut self, from: Option<&str>, to: &str, reason: Option<&str>, now: i64) {
        if self.playing.as_ref().is_some_and(|(id, _)| id == to) {
            return; // another quality of the session got there first
        }
        if let Some(from) = from.filter(|f| *f != to) {
            if self.switches.len() == MAX_SWITCHES {
                self.switches.pop_front();
            }
            let reason = reason.unwrap_or("stream failed").to_string();
            self.switches.push_back(Switch { at: now, from: from.into(), to: to.into(), reason });
        }
        self.playing = Some((to.into(), now));
    }
}

/// A stream's upstream media playlist for one quality, with where it came from.
struct Fetched {
    base: Url,
    playlist: MediaPlaylist,
    scope: HeaderScope,
}

impl Sessions {
    /// The session's master playlist: the best live stream's qualities, each pointing at its
    /// session track. The ladder is kept, so a track knows which quality it stands for.
    /// `suffix` goes after each track URL (a TV player's `?key=`).
    pub async fn master(
        &self,
        state: &AppState,
        session: &str,
        suffix: &str,
    ) -> Result<String, SessionError> {
        let streams = ordered(state, session, None).await;
        let best = streams.first().ok_or_else(|| no_stream(session))?;
        let mut ladder = best.variants.clone();
        if ladder.is_empty() {
            ladder.push(Variant {
                label: "main".into(),
                resolution: None,
                bandwidth: Some(best.best_bandwidth()),
            });
        }
        let mut text = String::from("#EXTM3U\n#EXT-X-VERSION:3\n");
        for v in &ladder {
            text.push_str(&format!(
                "#EXT-X-STREAM-INF:BANDWIDTH={}",
                v.bandwidth.unwrap_or(1_000_000).max(1)
            ));
            if let Some(resolution) = &v.resolution {
                text.push_str(&format!(",RESOLUTION={resolution}"));
            }
            text.push_str(&format!("\n/live/session/{session}/{}.m3u8{suffix}\n", v.label));
        }
        let mut ladders = self.ladders.lock().unwrap_or_else(|p| p.into_inner());
        if ladders.len() >= MAX_TRACKS && !ladders.contains_key(session) {
            ladders.clear();
        }
        ladders.insert(session.to_string(), ladder);
        Ok(text)
    }

    /// The session's media playlist for quality `label`.
    pub async fn media(&self, state: &AppState, session: &str, label: &str) -> Result<String, SessionError> {
        let want = self.wanted(session, label)?;
        let known = self
            .tracks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&(session.into(), label.into()));
        if !known && ordered(state, session, None).await.is_empty() {
            // No track for a session without streams: random names cannot evict real viewers' tracks.
            return Err(no_stream(session));
        }
        let cell = self.track(session, label);
        let mut guard = cell.lock().await;
        let st = &mut *guard;
        st.used_at = Instant::now();
        st.failed.retain(|_, at| at.elapsed() < COOLDOWN);
        let streams = ordered(state, session, st.track.stream()).await;
        // Streams not in cooldown first; the rest only if nothing else is left.
        let (fresh, cooling): (Vec<&StreamHealth>, Vec<&StreamHealth>) =
            streams.iter().partition(|s| !st.failed.contains_key(&s.id));
        let mut why: Option<String> = None;
        for stream in fresh.into_iter().chain(cooling) {
            // Its playlist may answer while viewers' segments fail: that is a dead stream too.
            if let Some(reason) = state.media_errors.failing(&stream.id) {
                if st.track.stream() == Some(stream.id.as_str()) {
                    tracing::info!(session, variant = label, stream = %stream.id, reason, "session stream's segments fail; trying the next");
                }
                st.failed.insert(stream.id.clone(), Instant::now());
                why.get_or_insert(reason);
                continue;
            }
            let fetched = match fetch(state, stream, &want).await {
                Ok(fetched) => fetched,
                Err(e) => {
                    tracing::info!(session, variant = label, stream = %stream.id, error = %e, "session stream failed; trying the next");
                    st.failed.insert(stream.id.clone(), Instant::now());
                    why.get_or_insert(format!("playlist: {e}"));
                    continue;
                }
            };
            let now = state.clock.now().timestamp();
            let was = st.track.stream().map(str::to_string);
            let relay = &state.relay;
            let ingested = st.track.ingest(&stream.id, &fetched.playlist, &fetched.base, &mut |url, kind| {
                relay.url_for(url, kind, &fetched.scope, now)
            });
            if ingested.appended > 0 {
                st.advanced_at = Instant::now();
            } else if !ingested.switched && st.advanced_at.elapsed() > stale_after(st.track.target_duration())
            {
                tracing::info!(session, variant = label, stream = %stream.id, "session stream stopped advancing; trying the next");
                st.failed.insert(stream.id.clone(), Instant::now());
                why.get_or_insert("stopped advancing".into());
                continue;
            }
            if ingested.switched && was.is_some() {
                tracing::info!(session, variant = label, from = was.as_deref().unwrap_or_default(), to = %stream.id, "session switched streams");
            }
            if ingested.switched {
                self.record(session, was.as_deref(), &stream.id, why.as_deref(), now);
            }
            return Ok(st.track.render());
        }
        if st.track.is_empty() {
            return Err(no_stream(session));
        }
        // Every stream failed this time: answer what was listed, so the player retries rather
        // than giving up; the next reload tries again.
        Ok(st.track.render())
    }

    /// What the session URL plays now and the last switches (empty until a player loads it).
    pub fn log(&self, session: &str) -> PlayLog {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).get(session).cloned().unwrap_or_default()
    }

    fn record(&self, session: &str, from: Option<&str>, to: &str, reason: Option<&str>, now: i64) {
        let mut logs = self.logs.lock().unwrap_or_else(|p| p.into_inner());
        if logs.len() >= MAX_TRACKS && !logs.contains_key(session) {
            logs.clear();
        }
        logs.entry(session.to_string()).or_default().record(from, to, reason, now);
    }

    /// The quality `label` stands for: from the session's ladder, else read from the label.
    fn wanted(&self, session: &str, label: &str) -> Result<Variant, SessionError> {
        let ladders = self.ladders.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = ladders.get(session).and_then(|l| l.iter().find(|v| v.label == label)) {
            return Ok(v.clone());
        }
        let height = label.strip_suffix('p').and_then(|h| h.parse::<u32>().ok());
        if label != "main" && height.is_none() {
            return Err(SessionError::NotFound(format!("session {session} has no quality {label:?}")));
        }
        Ok(Variant { label: label.into(), resolution: height.map(|h| format!("0x{h}")), bandwidth: None })
    }

    fn track(&self, session: &str, label: &str) -> SharedTrack {
        let mut tracks = self.tracks.lock().unwrap_or_else(|p| p.into_inner());
        let key = (session.to_string(), label.to_string());
        if !tracks.contains_key(&key) && tracks.len() >= MAX_TRACKS {
            // Evict the least recently used track that nobody is reading right now.
            let idle = tracks
                .iter()
                .filter_map(|(k, cell)| Some((k.clone(), cell.try_lock().ok()?.used_at)))
                .min_by_key(|(_, used)| *used)
                .map(|(k, _)| k);
            if let Some(k) = idle {
                tracks.remove(&k);
            }
        }
        tracks
            .entry(key)
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(TrackState {
                    track: Track::default(),
                    advanced_at: Instant::now(),
                    failed: HashMap::new(),
                    used_at: Instant::now(),
                }))
            })
            .clone()
    }
}

fn no_stream(session: &str) -> SessionError {
    SessionError::NoStream(format!(
        "session {session} has no live stream right now; sources are extracted and probed around the session"
    ))
}

fn stale_after(target_duration: u64) -> Duration {
    Duration::from_secs(target_duration.max(2)) * STALE_TARGET_DURATIONS
}

/// The name viewers see for a stream: its source's label, else the extractor's.
pub fn display_label(state: &AppState, h: &StreamHealth) -> String {
    state
        .config
        .file
        .source(&h.source)
        .filter(|s| !s.label.is_empty())
        .map_or(h.label.clone(), |s| s.label.clone())
}

/// The role of a stream's source (`main` when the source does not say).
pub fn role<'a>(state: &'a AppState, h: &StreamHealth) -> &'a str {
    state.config.file.source(&h.source).map_or(MAIN_ROLE, |s| s.role.as_str())
}

/// The session's streams that may serve it, best first: the current one (unless dead), then
/// `main` feeds before other roles, each by rank (verified ones first), then the rest that are
/// not dead.
async fn ordered(state: &AppState, session: &str, current: Option<&str>) -> Vec<StreamHealth> {
    let now = state.clock.now().timestamp();
    let interval = state.config.file.health.interval.as_secs().max(1) as i64;
    let mut streams: Vec<StreamHealth> = super::state::session_health(state.store.as_ref(), session)
        .await
        .into_iter()
        .filter(|h| h.status != Status::Dead && h.status != Status::Unchecked)
        .collect();
    rank(&mut streams, now, interval);
    // Stable: rank order is kept within each group.
    streams.sort_by_key(|h| role(state, h) != MAIN_ROLE);
    if let Some(i) = current.and_then(|id| streams.iter().position(|s| s.id == id)) {
        let stream = streams.remove(i);
        streams.insert(0, stream);
    }
    streams
}

/// The stream's current candidate: the freshest extraction of its source with its label.
pub async fn candidate(state: &AppState, health: &StreamHealth) -> Option<Candidate> {
    Extractions::for_session(state.store.as_ref(), &health.session)
        .await
        .into_iter()
        .filter(|e| e.source == health.source)
        .flat_map(|e| e.candidates)
        .find(|c| c.label == health.label)
}

/// The media playlist of `stream` closest to `want` (the master comes from the cache).
async fn fetch(state: &AppState, stream: &StreamHealth, want: &Variant) -> Result<Fetched, String> {
    let candidate = candidate(state, stream).await.ok_or("no current upstream")?;
    let relay = &state.relay;
    // A refused playlist asks for a new token now; this request goes on with the next stream.
    let failed = |e: UpstreamError| {
        if let UpstreamError::Status(code) = e
            && is_refused(code)
        {
            state.refresh.request(&stream.source, &stream.session);
        }
        e.to_string()
    };
    let (base, text, scope) = match state.masters.resolve(relay, &candidate).await.map_err(failed)? {
        Resolved::Media { base, text, scope } => (base, text, scope.for_stream(&stream.id)),
        Resolved::Master(master) => {
            let chosen = master
                .variants
                .iter()
                .min_by_key(|v| distance(want, v.height, v.bandwidth))
                .ok_or("master playlist without variants")?;
            let (base, text) = relay
                .upstream
                .playlist(&chosen.url, master.scope.headers_for(&chosen.url))
                .await
                .map_err(failed)?;
            (base, text, master.scope.for_stream(&stream.id))
        }
    };
    match m3u8_rs::parse_playlist_res(text.as_bytes()) {
        Ok(Playlist::MediaPlaylist(playlist)) if !playlist.segments.is_empty() => {
            Ok(Fetched { base, playlist, scope })
        }
        Ok(Playlist::MediaPlaylist(_)) => Err("empty media playlist".into()),
        _ => Err("not a media playlist".into()),
    }
}

/// How far a variant is from the wanted quality: resolution height first, then bandwidth.
fn distance(want: &Variant, height: Option<u64>, bandwidth: u64) -> (u64, u64) {
    let want_height = want.resolution.as_deref().and_then(|r| r.rsplit('x').next()?.parse::<u64>().ok());
    let by_height = match (want_height, height) {
        (Some(w), Some(h)) => w.abs_diff(h),
        (None, _) => 0,
        (Some(_), None) => u64::MAX / 2,
    };
    (by_height, want.bandwidth.map_or(0, |b| b.abs_diff(bandwidth)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualities_match_by_resolution_then_bandwidth() {
        let want =
            Variant { label: "720p".into(), resolution: Some("1280x720".into()), bandwidth: Some(2_500_000) };
        assert!(distance(&want, Some(720), 1_000_000) < distance(&want, Some(1080), 2_500_000));
        assert!(distance(&want, Some(720), 2_400_000) < distance(&want, Some(720), 1_000_000));
        let any = Variant { label: "main".into(), resolution: None, bandwidth: None };
        assert_eq!(distance(&any, Some(360), 1), (0, 0));
    }

    #[test]
    fn the_log_keeps_one_entry_per_switch_and_the_last_twenty() {
        let mut log = PlayLog::default();
        log.record(None, "a", None, 10);
        assert_eq!(log.playing, Some(("a".into(), 10)));
        assert!(log.switches.is_empty(), "starting to play is not a switch");
        log.record(Some("a"), "b", Some("playlist: 404"), 20);
        // Another quality following the same failover does not log it twice.
        log.record(Some("a"), "b", Some("playlist: 404"), 21);
        assert_eq!(log.playing, Some(("b".into(), 20)));
        assert_eq!(
            log.switches.iter().cloned().collect::<Vec<_>>(),
            [Switch { at: 20, from: "a".into(), to: "b".into(), reason: "playlist: 404".into() }]
        );
        for i in 0..30 {
            log.record(Some(&format!("s{i}")), &format!("s{}", i + 1), None, 100 + i);
        }
        assert_eq!(log.switches.len(), MAX_SWITCHES);
        assert_eq!(log.switches.back().map(|s| s.to.as_str()), Some("s30"));
        assert_eq!(log.switches.front().map(|s| s.at), Some(110));
    }
}
