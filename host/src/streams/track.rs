//! One output media playlist fed by whichever upstream stream is current: the pure core of the
//! session URL. It keeps its own monotonic `EXT-X-MEDIA-SEQUENCE`, numbers segments
//! contiguously whatever the upstreams do, marks a change of upstream with
//! `EXT-X-DISCONTINUITY` and counts `EXT-X-DISCONTINUITY-SEQUENCE` as marked segments leave the
//! window. It never rewinds: a segment once listed keeps its number and URI. No I/O: the caller
//! fetches playlists and says how URIs are rewritten.
//!
//! The numbering starts at the first upstream's own media and discontinuity sequences, so two
//! replicas whose tracks follow the same upstream list the same number for the same segment,
//! whenever each started: a viewer whose reloads land on either replica never sees the
//! sequence jump back or a number change its segment. Only a switch (each replica decides its own)
//! or an upstream that skipped ahead of a track moves a replica's numbering off the upstream's.

use std::collections::VecDeque;

use m3u8_rs::{Key, Map, MediaPlaylist, MediaSegment};
use url::Url;

use crate::relay::playlist::UriKind;

/// Segments taken from a new upstream at a switch: the live edge, not its whole window, so the
/// player does not replay what it already showed from the old one.
const SWITCH_SEGMENTS: usize = 3;
/// Bounds of the output window (the upstream's segment count is used within them).
const MIN_WINDOW: usize = 3;
const MAX_WINDOW: usize = 12;

/// A segment as listed in the output, URIs already rewritten.
#[derive(Debug, Clone)]
struct OutSegment {
    seq: u64,
    segment: MediaSegment,
    /// The key and map in effect for this segment (carried forward from earlier tags).
    key: Option<Key>,
    map: Option<Map>,
}

/// What one [`Track::ingest`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ingested {
    /// New segments listed.
    pub appended: usize,
    /// This playlist came from another stream than the last one (or re-anchored a restarted one).
    pub switched: bool,
}

/// The output playlist of one (session, quality).
#[derive(Debug, Default)]
pub struct Track {
    stream: Option<String>,
    /// Output sequence = upstream sequence + offset, for the current stream.
    offset: i128,
    next_seq: u64,
    discontinuity_sequence: u64,
    window: VecDeque<OutSegment>,
    window_len: usize,
    target_duration: u64,
    version: usize,
    /// Switches between upstreams so far.
    pub switches: u32,
}

impl Track {
    /// The stream the last ingested playlist came from.
    pub fn stream(&self) -> Option<&str> {
        self.stream.as_deref()
    }

    /// The output's target duration in seconds (0 before the first ingest).
    pub fn target_duration(&self) -> u64 {
        self.target_duration
    }

    /// Whether anything was listed yet.
    pub fn is_empty(&self) -> bool {
        self.window.is_empty()
    }

    /// Takes the latest media playlist of `stream` (fetched from `base`). `rewrite` turns an
    /// absolute upstream URI into the URI the player gets. Segments already listed are never
    /// changed; new ones are appended with the next numbers.
    pub fn ingest(
        &mut self,
        stream: &str,
        playlist: &MediaPlaylist,
        base: &Url,
        rewrite: &mut dyn FnMut(&Url, UriKind) -> String,
    ) -> Ingested {
        let upstream = effective(playlist);
        let Some(last_useq) = upstream.last().map(|(useq, ..)| *useq) else {
            return Ingested { appended: 0, switched: false };
        };
        let same = self.stream.as_deref() == Some(stream);
        // A stream whose numbering went far backwards restarted: treat it like a new upstream.
        let restarted =
            same && (last_useq as i128 + self.offset) < self.next_seq as i128 - MAX_WINDOW as i128;
        let switched = !same || restarted;
        let start = if !switched {
            0
        } else if self.stream.is_none() {
            // The first upstream: its whole window, so the player can start where it likes.
            0
        } else {
            upstream.len().saturating_sub(SWITCH_SEGMENTS)
        };
        let mut mark_discontinuity = switched && self.stream.is_some();
        if self.stream.is_none() {
            // The first upstream's numbering, which every replica following it agrees on.
            self.next_seq = upstream[start].0;
            self.discontinuity_sequence = playlist.discontinuity_sequence;
        }
        if switched {
            self.offset = self.next_seq as i128 - upstream[start].0 as i128;
            self.stream = Some(stream.to_string());
            if mark_discontinuity {
                self.switches += 1;
            }
        }
        let mut appended = 0;
        for (useq, segment, key, map) in &upstream[start..] {
            let mut seq = *useq as i128 + self.offset;
            if seq < self.next_seq as i128 {
                continue;
            }
            if seq > self.next_seq as i128 {
                // The upstream skipped ahead (or we polled late): keep our numbering contiguous.
                self.offset -= seq - self.next_seq as i128;
                seq = self.next_seq as i128;
            }
            let mut out = rewritten(segment, base, rewrite);
            out.discontinuity |= mark_discontinuity;
            mark_discontinuity = false;
            let key = key.as_ref().map(|k| rewritten_key(k, base, rewrite));
            let map = map.as_ref().map(|m| rewritten_map(m, base, rewrite));
            self.window.push_back(OutSegment { seq: seq as u64, segment: out, key, map });
            self.next_seq = seq as u64 + 1;
            appended += 1;
        }
        self.window_len = playlist.segments.len().clamp(MIN_WINDOW, MAX_WINDOW).max(self.window_len);
        while self.window.len() > self.window_len {
            // RFC 8216 §6.2.2: removing a segment that carries EXT-X-DISCONTINUITY increments
            // EXT-X-DISCONTINUITY-SEQUENCE.
            if self.window.pop_front().is_some_and(|gone| gone.segment.discontinuity) {
                self.discontinuity_sequence += 1;
            }
        }
        self.target_duration = self.target_duration.max(playlist.target_duration);
        self.version = self.version.max(playlist.version.unwrap_or(3));
        Ingested { appended, switched }
    }

    /// The output media playlist.
    pub fn render(&self) -> String {
        let mut segments = Vec::with_capacity(self.window.len());
        let (mut key, mut map): (Option<&Key>, Option<&Map>) = (None, None);
        for (i, out) in self.window.iter().enumerate() {
            let mut segment = out.segment.clone();
            // Tags apply until changed: write them on the first listed segment and at changes.
            segment.key = (i == 0 || out.key.as_ref() != key).then(|| out.key.clone()).flatten();
            segment.map = (i == 0 || out.map.as_ref() != map).then(|| out.map.clone()).flatten();
            if i > 0 && key.is_some() && out.key.is_none() {
                segment.key = Some(Key::default());
            }
            key = out.key.as_ref();
            map = out.map.as_ref();
            segments.push(segment);
        }
        let playlist = MediaPlaylist {
            version: Some(self.version.max(3)),
            target_duration: self.target_duration.max(1),
            media_sequence: self.window.front().map_or(self.next_seq, |s| s.seq),
            discontinuity_sequence: self.discontinuity_sequence,
            segments,
            ..MediaPlaylist::default()
        };
        let mut out = Vec::new();
        playlist.write_to(&mut out).expect("writing to a Vec cannot fail");
        String::from_utf8(out).expect("m3u8-rs writes UTF-8")
    }
}

/// The upstream's segments with their media sequence and the key and map in effect for each.
fn effective(playlist: &MediaPlaylist) -> Vec<(u64, &MediaSegment, Option<Key>, Option<Map>)> {
    let (mut key, mut map): (Option<Key>, Option<Map>) = (None, None);
    let mut out = Vec::with_capacity(playlist.segments.len());
    for (i, segment) in playlist.segments.iter().enumerate() {
        if let Some(k) = &segment.key {
            key = (k.method != m3u8_rs::KeyMethod::None).then(|| k.clone());
        }
        if let Some(m) = &segment.map {
            map = Some(m.clone());
        }
        out.push((playlist.media_sequence + i as u64, segment, key.clone(), map.clone()));
    }
    out
}

fn absolute(uri: &str, base: &Url) -> Option<Url> {
    base.join(uri).ok().filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// A copy of `segment` with its URI rewritten and nothing that could carry another URI
/// (date ranges, unknown tags); key and map are written by [`Track::render`].
fn rewritten(
    segment: &MediaSegment,
    base: &Url,
    rewrite: &mut dyn FnMut(&Url, UriKind) -> String,
) -> MediaSegment {
    MediaSegment {
        uri: absolute(&segment.uri, base)
            .map_or_else(|| segment.uri.clone(), |u| rewrite(&u, UriKind::Segment)),
        duration: segment.duration,
        title: segment.title.clone(),
        byte_range: segment.byte_range.clone(),
        discontinuity: segment.discontinuity,
        program_date_time: segment.program_date_time,
        ..MediaSegment::default()
    }
}

fn rewritten_key(key: &Key, base: &Url, rewrite: &mut dyn FnMut(&Url, UriKind) -> String) -> Key {
    let mut key = key.clone();
    key.uri =
        key.uri.as_deref().and_then(|u| absolute(u, base)).map(|u| rewrite(&u, UriKind::Key)).or(key.uri);
    key
}

fn rewritten_map(map: &Map, base: &Url, rewrite: &mut dyn FnMut(&Url, UriKind) -> String) -> Map {
    let mut map = map.clone();
    if let Some(u) = absolute(&map.uri, base) {
        map.uri = rewrite(&u, UriKind::Map);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A live media playlist of `n` segments of stream `name` starting at `seq`.
    fn upstream(name: &str, seq: u64, n: u64) -> MediaPlaylist {
        let mut text =
            format!("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{seq}\n");
        for s in seq..seq + n {
            text.push_str(&format!("#EXTINF:2.000,\n{name}-{s}.ts?token=x\n"));
        }
        match m3u8_rs::parse_playlist_res(text.as_bytes()).unwrap() {
            m3u8_rs::Playlist::MediaPlaylist(p) => p,
            _ => unreachable!(),
        }
    }

    fn feed(track: &mut Track, stream: &str, playlist: &MediaPlaylist) -> Ingested {
        let base = Url::parse(&format!("https://{stream}.example/live/index.m3u8")).unwrap();
        track.ingest(stream, playlist, &base, &mut |u, _| {
            format!("/relay/{}{}", u.host_str().unwrap(), u.path())
        })
    }

    fn parsed(track: &Track) -> MediaPlaylist {
        match m3u8_rs::parse_playlist_res(track.render().as_bytes()).unwrap() {
            m3u8_rs::Playlist::MediaPlaylist(p) => p,
            _ => panic!("not a media playlist"),
        }
    }

    /// (sequence, uri, discontinuity) of every listed segment.
    fn listed(track: &Track) -> Vec<(u64, String, bool)> {
        let p = parsed(track);
        p.segments
            .iter()
            .enumerate()
            .map(|(i, s)| (p.media_sequence + i as u64, s.uri.clone(), s.discontinuity))
            .collect()
    }

    #[test]
    fn follows_one_stream_with_its_own_numbering() {
        let mut t = Track::default();
        assert_eq!(feed(&mut t, "a", &upstream("a", 100, 4)), Ingested { appended: 4, switched: true });
        assert_eq!(listed(&t)[0], (100, "/relay/a.example/live/a-100.ts".into(), false));
        assert_eq!(feed(&mut t, "a", &upstream("a", 101, 4)).appended, 1);
        assert_eq!(feed(&mut t, "a", &upstream("a", 101, 4)).appended, 0, "same playlist again");
        let l = listed(&t);
        assert_eq!(l.len(), 4);
        assert_eq!(l.first().unwrap().0, 101);
        assert_eq!(l.last().unwrap(), &(104, "/relay/a.example/live/a-104.ts".into(), false));
        assert!(!t.render().contains("token="), "URIs are rewritten");
    }

    #[test]
    fn tracks_of_two_replicas_that_started_at_different_times_agree() {
        // Replica A's track started at upstream segment 100, replica B's three segments later.
        let (mut a, mut b) = (Track::default(), Track::default());
        feed(&mut a, "a", &upstream("a", 100, 4));
        feed(&mut a, "a", &upstream("a", 102, 4));
        let mut later = upstream("a", 103, 4);
        later.discontinuity_sequence = 7;
        feed(&mut b, "a", &later);
        let mut same = upstream("a", 103, 4);
        same.discontinuity_sequence = 7;
        feed(&mut a, "a", &same);
        assert_eq!(listed(&a), listed(&b), "A:\n{}\nB:\n{}", a.render(), b.render());
        assert_eq!(listed(&b)[0].0, 103, "the upstream's own numbering");
        assert_eq!(parsed(&b).discontinuity_sequence, 7, "and its discontinuity sequence");
    }

    #[test]
    fn a_switch_continues_the_numbering_with_a_discontinuity_and_never_rewinds() {
        let mut t = Track::default();
        feed(&mut t, "a", &upstream("a", 100, 4));
        let before = listed(&t);
        let r = feed(&mut t, "b", &upstream("b", 7, 5));
        assert_eq!(r, Ingested { appended: SWITCH_SEGMENTS, switched: true });
        assert_eq!(t.switches, 1);
        let after = listed(&t);
        // Every segment listed before keeps its number and URI.
        for (seq, uri, _) in &before {
            if let Some((_, u, _)) = after.iter().find(|(s, ..)| s == seq) {
                assert_eq!(u, uri);
            }
        }
        let first_b = after.iter().position(|(_, u, _)| u.contains("b-")).unwrap();
        assert_eq!(after[first_b].0, before.last().unwrap().0 + 1, "no gap, no rewind");
        assert!(after[first_b].2, "the switch is marked");
        assert_eq!(after[first_b].1, "/relay/b.example/live/b-9.ts", "from the new stream's live edge");
        assert_eq!(after.iter().filter(|(_, _, d)| *d).count(), 1);
        assert_eq!(parsed(&t).discontinuity_sequence, 0);
        // The marked segment leaves the window: the discontinuity sequence counts it.
        for s in 8..20 {
            feed(&mut t, "b", &upstream("b", s, 5));
        }
        let p = parsed(&t);
        assert_eq!(p.discontinuity_sequence, 1);
        assert!(p.segments.iter().all(|s| !s.discontinuity));
        let l = listed(&t);
        assert!(l.windows(2).all(|w| w[1].0 == w[0].0 + 1), "contiguous: {l:?}");
    }

    #[test]
    fn an_upstream_that_skips_ahead_or_restarts_keeps_the_output_contiguous() {
        let mut t = Track::default();
        feed(&mut t, "a", &upstream("a", 100, 3));
        feed(&mut t, "a", &upstream("a", 110, 3));
        let l = listed(&t);
        assert!(l.windows(2).all(|w| w[1].0 == w[0].0 + 1), "{l:?}");
        assert!(l.iter().all(|(_, _, d)| !d));
        let r = feed(&mut t, "a", &upstream("a", 0, 3));
        assert!(r.switched, "a restart re-anchors");
        let l = listed(&t);
        assert!(l.windows(2).all(|w| w[1].0 == w[0].0 + 1), "{l:?}");
        assert!(l.last().unwrap().1.ends_with("a-2.ts"));
        assert!(l.iter().any(|(_, _, d)| *d));
    }

    #[test]
    fn keys_and_maps_stay_in_effect_as_the_window_slides() {
        let text = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:5\n\
                    #EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-KEY:METHOD=AES-128,URI=\"k.bin?t=1\"\n\
                    #EXTINF:2,\ns5.m4s\n#EXTINF:2,\ns6.m4s\n#EXTINF:2,\ns7.m4s\n#EXTINF:2,\ns8.m4s\n";
        let m3u8_rs::Playlist::MediaPlaylist(p) = m3u8_rs::parse_playlist_res(text.as_bytes()).unwrap()
        else {
            panic!()
        };
        let mut t = Track::default();
        feed(&mut t, "a", &p);
        // Later versions of the upstream name the key and map once, before their first segment
        // (m3u8-rs attaches them to that segment only); the output must keep them in effect for
        // every listed segment as the window slides past the segment that first carried them.
        let mut slid = p.clone();
        for _ in 0..4 {
            slid.media_sequence += 2;
            let (key, map) = (slid.segments[0].key.take(), slid.segments[0].map.take());
            slid.segments.rotate_left(2);
            for (i, s) in slid.segments.iter_mut().enumerate() {
                s.uri = format!("s{}.m4s", slid.media_sequence + i as u64);
            }
            slid.segments[0].key = key;
            slid.segments[0].map = map;
            feed(&mut t, "a", &slid);
        }
        assert_eq!(parsed(&t).media_sequence, 13, "slid past the first upstream segment: {}", t.render());
        assert_eq!(t.render().matches("#EXT-X-KEY").count(), 1, "written once: {}", t.render());
        let out = parsed(&t);
        assert!(
            out.segments[0].map.as_ref().is_some_and(|m| m.uri == "/relay/a.example/live/init.mp4"),
            "{}",
            t.render()
        );
        assert!(
            out.segments[0]
                .key
                .as_ref()
                .is_some_and(|k| k.uri.as_deref() == Some("/relay/a.example/live/k.bin"))
        );
    }
}
