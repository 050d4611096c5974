//! `/live/{stream}/…`: one stream's stable playlists. Each request resolves the stream's current
//! candidate (so token refreshes stay invisible), takes the candidate's master from
//! [`super::masters`] (fetched once per candidate), maps its variants to `/live/{stream}/{label}.m3u8`
//! and rewrites every other URI through the relay, sealed with the stream's id. An upstream that
//! refuses the token (401/403/410) brings an immediate re-extraction and one retry.

use crate::{
    AppState,
    health::board::StreamHealth,
    relay::{
        playlist::{self, UriKind},
        upstream::UpstreamError,
    },
    store::Candidate,
};

use super::{
    masters::Resolved,
    refresh::is_refused,
    session::{self},
    state,
};

/// Why a `/live` playlist cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// No such stream, file or variant.
    #[error("{0}")]
    NotFound(String),
    /// The stream has no current upstream yet.
    #[error("{0}")]
    NotReady(String),
    /// The upstream failed (its status kept).
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The upstream's playlist could not be rewritten.
    #[error("{0}")]
    BadPlaylist(String),
}

/// The text of `/live/{id}/{name}.m3u8` (`name` is `master` or a variant label); `suffix` goes
/// after the variant URLs of a master (a TV player's `?key=`).
pub async fn playlist(state: &AppState, id: &str, name: &str, suffix: &str) -> Result<String, LiveError> {
    let (health, candidate) = current(state, id).await?;
    match from_candidate(state, id, name, &candidate, suffix).await {
        // The upstream refused the token before its time: extract again now and retry once.
        Err(LiveError::Upstream(UpstreamError::Status(code))) if is_refused(code) => {
            match refreshed(state, &health, &candidate).await {
                Some(fresh) => from_candidate(state, id, name, &fresh, suffix).await,
                None => Err(LiveError::Upstream(UpstreamError::Status(code))),
            }
        }
        other => other,
    }
}

/// The stream's health and current candidate (freshest extraction of its source with its label).
async fn current(state: &AppState, id: &str) -> Result<(StreamHealth, Candidate), LiveError> {
    let health = state::health(state.store.as_ref(), id)
        .await
        .ok_or_else(|| LiveError::NotFound(format!("no stream {id}")))?;
    let candidate = session::candidate(state, &health).await.ok_or_else(|| {
        LiveError::NotReady(format!(
            "stream {id} has no current upstream; the next extraction will bring one"
        ))
    })?;
    Ok((health, candidate))
}

/// Asks for `health`'s source to be extracted again now (by whichever replica polls) and waits
/// (at most one extraction's deadline) for a candidate other than `stale`.
async fn refreshed(state: &AppState, health: &StreamHealth, stale: &Candidate) -> Option<Candidate> {
    let mut news = state.refresh.extractions();
    state.refresh.request(&health.source, &health.session);
    let deadline = tokio::time::Instant::now()
        + state.config.file.extractors.call_timeout
        + std::time::Duration::from_secs(2);
    loop {
        if let Some(fresh) = session::candidate(state, health).await.filter(|c| c.url != stale.url) {
            return Some(fresh);
        }
        // News of an extraction here, or a look at the store every second: when another
        // replica polls, its extraction arrives only through the store.
        let look_again = (tokio::time::Instant::now() + std::time::Duration::from_secs(1)).min(deadline);
        if let Ok(Err(_)) = tokio::time::timeout_at(look_again, news.changed()).await {
            return None;
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
    }
}

/// `/live/{id}/{name}.m3u8` from `candidate`.
async fn from_candidate(
    state: &AppState,
    id: &str,
    name: &str,
    candidate: &Candidate,
    suffix: &str,
) -> Result<String, LiveError> {
    let relay = &state.relay;
    let now = state.clock.now().timestamp();
    let bad = |e: crate::relay::playlist::RewriteError| LiveError::BadPlaylist(e.to_string());
    let master = match state.masters.resolve(relay, candidate).await? {
        Resolved::Master(master) => master,
        // A media playlist is its own (only) variant.
        Resolved::Media { base, text, scope } if name == "master" => {
            return relay.rewrite(&text, &base, &scope.for_stream(id), now).await.map_err(bad);
        }
        Resolved::Media { .. } => {
            return Err(LiveError::NotFound(format!("stream {id} has no variant {name:?}")));
        }
    };
    // Relay URLs name the stream, so failed segments count against it (and a refusal refreshes it).
    let scope = master.scope.for_stream(id);
    if name == "master" {
        return playlist::rewrite(&master.text, &master.base, |uri, kind| {
            match master.variants.iter().find(|v| &v.url == uri) {
                Some(v) if kind == UriKind::Playlist => format!("/live/{id}/{}.m3u8{suffix}", v.label),
                _ => relay.url_for(uri, kind, &scope, now),
            }
        })
        .map_err(bad);
    }
    let variant = master
        .variants
        .iter()
        .find(|v| v.label == name)
        .ok_or_else(|| LiveError::NotFound(format!("stream {id} has no variant {name:?}")))?;
    let (base, text) = relay.upstream.playlist(&variant.url, master.scope.headers_for(&variant.url)).await?;
    relay.rewrite(&text, &base, &scope, now).await.map_err(bad)
}
