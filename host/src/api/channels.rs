//! For TV players (VLC, mpv, Kodi, Jellyfin Live TV, TiviMate): `GET /channels.m3u`, an extended
//! M3U channel list, and `GET /guide.xml`, its XMLTV programme guide.
//!
//! Channels: every session of the default season that is live or starts within [`HORIZON`] (its
//! session URL, which fails over by itself), and for a live session each verified stream (by its
//! source's label and role). URLs are absolute, built from the request's `Host` (and HTTPS behind a
//! trusted proxy), and carry `?key=` when a viewer token is set ([`auth::stream_key`]), since these
//! players keep no cookies. Names come from schedule APIs and operators: control characters are
//! dropped and quotes replaced in M3U, XML is escaped, so no name can add a channel or a tag.

use axum::{
    extract::{Request, State},
    http::header,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Duration, Utc};

use super::{auth, error::AppError};
use crate::{
    AppState,
    health::board::{StreamHealth, rank},
    schedule::model::{Event, Session, Status},
    streams::{session, state},
};

/// Upcoming sessions within this time are listed (a race weekend and the days before it).
pub const HORIZON: Duration = Duration::days(7);

/// One channel: an id for the guide, a name, a group, a path on this host, and its programme.
struct Channel {
    id: String,
    name: String,
    group: String,
    path: String,
    programme: (DateTime<Utc>, DateTime<Utc>, String),
}

/// The start and end of a session (a whole UTC day when only the date is known).
fn span(session: &Session) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    match (session.start, session.date) {
        (Some(start), _) => Some((start, session.end.unwrap_or(start + session.kind.usual_length()))),
        (None, Some(date)) => {
            let start = date.and_hms_opt(0, 0, 0)?.and_utc();
            Some((start, start + Duration::days(1)))
        }
        (None, None) => None,
    }
}

/// Every channel, in schedule order.
async fn channels(state: &AppState) -> Result<Vec<Channel>, AppError> {
    let service = &state.schedule;
    let now = service.now();
    let season = service
        .get_or_fetch(service.default_season())
        .await
        .map_err(|e| AppError::NotReady(format!("no schedule yet: {e}")))?;
    let interval = state.config.file.health.interval.as_secs().max(1) as i64;
    let mut all_streams: Vec<StreamHealth> = state::all_health(state.store.as_ref()).await;
    rank(&mut all_streams, now.timestamp(), interval);
    let mut out = Vec::new();
    for event in &season.events {
        for s in &event.sessions {
            let Some((start, end)) = span(s) else { continue };
            let status = s.status(now);
            if status == Status::Past || (status == Status::Upcoming && start - now > HORIZON) {
                continue;
            }
            let title = format!("{} · {}", s.name, event.name);
            out.push(Channel {
                id: format!("pitwall.{}", s.id),
                name: title.clone(),
                group: event.name.clone(),
                path: format!("/live/session/{}/master.m3u8", s.id),
                programme: (start, end, title.clone()),
            });
            if status == Status::Live {
                out.extend(stream_channels(
                    state,
                    event,
                    s,
                    &all_streams,
                    (start, end),
                    now.timestamp(),
                    interval,
                ));
            }
        }
    }
    Ok(out)
}

/// The verified streams of a live session, best first, one channel each.
fn stream_channels(
    state: &AppState,
    event: &Event,
    s: &Session,
    streams: &[StreamHealth],
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    now: i64,
    interval: i64,
) -> Vec<Channel> {
    streams
        .iter()
        .filter(|h| h.session == s.id && h.verified(now, interval))
        .map(|h| {
            let label = session::display_label(state, h);
            let title = format!("{} · {} ({})", s.name, label, session::role(state, h));
            Channel {
                id: format!("pitwall.{}.{}", s.id, h.source),
                name: title.clone(),
                group: event.name.clone(),
                path: format!("/live/{}/master.m3u8", h.id),
                programme: (start, end, format!("{title} · {}", event.name)),
            }
        })
        .collect()
}

/// `scheme://host` this request reached pitwall at.
fn base_url(state: &AppState, request: &Request) -> String {
    let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    // A Host with anything but host[:port] characters would end up inside the list.
    let host: String = host.chars().filter(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(*c)).collect();
    let scheme = if auth::is_https(state, request) { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// A name fit for an `#EXTINF` line: one line, no double quotes.
fn m3u_text(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).map(|c| if c == '"' { '\'' } else { c }).collect()
}

fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().filter(|c| !c.is_control()) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `GET /channels.m3u`.
pub async fn m3u(State(state): State<AppState>, request: Request) -> Result<Response, AppError> {
    let base = base_url(&state, &request);
    let key = auth::stream_key(&state).map(|k| format!("?key={k}")).unwrap_or_default();
    let mut text = format!("#EXTM3U url-tvg=\"{base}/guide.xml{key}\"\n");
    for c in channels(&state).await? {
        text.push_str(&format!(
            "#EXTINF:-1 tvg-id=\"{}\" tvg-name=\"{}\" tvg-logo=\"{base}/favicon.svg\" group-title=\"{}\",{}\n{base}{}{key}\n",
            m3u_text(&c.id),
            m3u_text(&c.name),
            m3u_text(&c.group),
            m3u_text(&c.name),
            c.path
        ));
    }
    Ok((
        [(header::CONTENT_TYPE, "audio/x-mpegurl; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")],
        text,
    )
        .into_response())
}

/// `GET /guide.xml`.
pub async fn guide(State(state): State<AppState>, request: Request) -> Result<Response, AppError> {
    let base = base_url(&state, &request);
    let channels = channels(&state).await?;
    let time = |t: DateTime<Utc>| t.format("%Y%m%d%H%M%S +0000").to_string();
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE tv SYSTEM \"xmltv.dtd\">\n<tv generator-info-name=\"pitwall\">\n",
    );
    for c in &channels {
        xml.push_str(&format!(
            "  <channel id=\"{}\"><display-name>{}</display-name><icon src=\"{}\"/></channel>\n",
            xml_text(&c.id),
            xml_text(&c.name),
            xml_text(&format!("{base}/favicon.svg"))
        ));
    }
    for c in &channels {
        let (start, stop, title) = &c.programme;
        xml.push_str(&format!(
            "  <programme start=\"{}\" stop=\"{}\" channel=\"{}\"><title>{}</title><category>Sports</category></programme>\n",
            time(*start),
            time(*stop),
            xml_text(&c.id),
            xml_text(title)
        ));
    }
    xml.push_str("</tv>\n");
    Ok(([(header::CONTENT_TYPE, "application/xml; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], xml)
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_add_lines_tags_or_attributes() {
        let hostile = "Race\n#EXTINF:-1,evil\nhttp://evil.example/\" tvg-logo=\"x<script>&";
        let m3u = m3u_text(hostile);
        assert!(!m3u.contains('\n') && !m3u.contains('"'), "{m3u}");
        let xml = xml_text(hostile);
        assert!(!xml.contains('<') && !xml.contains('"') && !xml.contains('\n'), "{xml}");
        assert!(xml.contains("&lt;script&gt;&amp;"), "{xml}");
    }
}
