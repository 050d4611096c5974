//! Pure HLS playlist rendering: master and live media playlists as text, no I/O.
//!
//! The live model: segment `n` covers wall-clock time `[n·S, (n+1)·S)` in Unix seconds, where `S`
//! is the configured segment duration, and shows loop segment `n mod 3`. A media playlist lists
//! the [`WINDOW`] newest complete segments, so the media sequence is `floor(now/S) - WINDOW`
//! and advances with the clock. The loop restarts its timestamps at every wrap, so each wrap is
//! marked `EXT-X-DISCONTINUITY` and `EXT-X-DISCONTINUITY-SEQUENCE` counts the wraps between a
//! per-process epoch and the first listed segment; a tag before the first listed segment is left
//! out because the discontinuity sequence already accounts for it.
//!
//! Why an epoch instead of counting wraps since 1970: hls.js 1.x freezes for seconds at every
//! discontinuity when the sequence is in the hundreds of millions (it walks arrays indexed by
//! it), so the count starts a little before the process did ([`dseq_epoch`]) and stays small.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat};

use crate::media::{self, AES_IV_HEX, FRAME_RATE, Feed, LOOP_LEN, Packaging};

/// Segments listed in each live media playlist.
pub const WINDOW: u64 = 6;

/// Sequence number of the newest complete segment at `now` (Unix seconds).
pub fn live_edge(now: f64, segment_secs: u32) -> u64 {
    let current = (now / f64::from(segment_secs)).floor() as u64;
    current.saturating_sub(1)
}

/// The segment from which a process counts discontinuities: about 1000 segments before `start`
/// (Unix seconds), a loop boundary, so no playlist served by the process lists anything older.
pub fn dseq_epoch(start: f64, segment_secs: u32) -> u64 {
    let seq = live_edge(start, segment_secs).saturating_sub(1000);
    seq - seq % LOOP_LEN
}

/// File name of segment `seq` for a packaging.
pub fn segment_file(packaging: Packaging, seq: u64) -> String {
    match packaging {
        Packaging::Fmp4 => format!("seg-{seq}.m4s"),
        Packaging::ByteRange => "stream.ts".to_owned(),
        Packaging::Ts | Packaging::Aes128 => format!("seg-{seq}.ts"),
    }
}

/// The master playlist of `feed`; child URIs are relative and carry `token`. `rates` are each
/// variant's `(peak, average)` bits per second as served.
pub fn master(feed: &Feed, token: &str, rates: &[(u64, u64)]) -> String {
    let mut out = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for (i, v) in feed.variants.iter().enumerate() {
        let s = media::stats(feed, i);
        let (peak, average) = rates.get(i).copied().unwrap_or((s.peak_bps, s.average_bps));
        let _ = writeln!(
            out,
            "#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},RESOLUTION={}x{},FRAME-RATE={FRAME_RATE}.000,CODECS=\"{}\"",
            v.width, v.height, s.codecs
        );
        let _ = writeln!(out, "{}/index.m3u8?token={token}", v.label);
    }
    out
}

/// What a media playlist should show.
pub struct MediaRequest<'a> {
    /// The feed.
    pub feed: &'a Feed,
    /// Index of the variant in `feed.variants`.
    pub variant: usize,
    /// Sequence number of the newest listed segment.
    pub last: u64,
    /// Duration announced per segment (`EXTINF`, `EXT-X-TARGETDURATION`).
    pub segment_secs: u32,
    /// Token appended to every child URI.
    pub token: &'a str,
    /// List no segments at all (the `empty` fault).
    pub empty: bool,
    /// Where discontinuity counting starts (see [`dseq_epoch`]); a multiple of the loop length.
    pub dseq_epoch: u64,
}

/// A live media playlist (no `EXT-X-ENDLIST`).
pub fn media_playlist(req: &MediaRequest<'_>) -> String {
    let packaging = req.feed.packaging;
    let version = match packaging {
        Packaging::Fmp4 => 7,
        Packaging::ByteRange => 4,
        Packaging::Ts | Packaging::Aes128 => 3,
    };
    let first = req.last.saturating_sub(WINDOW - 1);
    let token = req.token;
    let mut out = String::new();
    let _ = write!(
        out,
        "#EXTM3U\n#EXT-X-VERSION:{version}\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:{first}\n#EXT-X-DISCONTINUITY-SEQUENCE:{}\n",
        req.segment_secs,
        first.saturating_sub(req.dseq_epoch) / LOOP_LEN
    );
    if packaging == Packaging::Fmp4 {
        let _ = writeln!(out, "#EXT-X-MAP:URI=\"init.mp4?token={token}\"");
    }
    if packaging == Packaging::Aes128 {
        let _ = writeln!(out, "#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin?token={token}\",IV={AES_IV_HEX}");
    }
    if req.empty {
        return out;
    }
    let ranges = media::stats(req.feed, req.variant).single_file.as_ref().map(|(_, r)| r);
    for seq in first..=req.last {
        if seq % LOOP_LEN == 0 && seq != first {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        let start = seq * u64::from(req.segment_secs);
        if let Some(pdt) = DateTime::from_timestamp(start as i64, 0) {
            let _ = writeln!(
                out,
                "#EXT-X-PROGRAM-DATE-TIME:{}",
                pdt.to_rfc3339_opts(SecondsFormat::Millis, true)
            );
        }
        let _ = writeln!(out, "#EXTINF:{}.000,", req.segment_secs);
        if let Some(ranges) = ranges {
            let (offset, len) = ranges[(seq % LOOP_LEN) as usize];
            let _ = writeln!(out, "#EXT-X-BYTERANGE:{len}@{offset}");
        }
        let _ = writeln!(out, "{}?token={token}", segment_file(packaging, seq));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::feed_by_name;

    #[test]
    fn live_edge_follows_the_clock() {
        assert_eq!(live_edge(100.0, 2), 49);
        assert_eq!(live_edge(101.9, 2), 49);
        assert_eq!(live_edge(102.0, 2), 50);
        assert_eq!(live_edge(0.5, 2), 0);
    }

    #[test]
    fn discontinuity_epoch_is_a_loop_boundary_before_start() {
        let epoch = dseq_epoch(1_800_000_000.0, 2);
        assert_eq!(epoch % LOOP_LEN, 0);
        assert!(epoch < live_edge(1_800_000_000.0, 2) - WINDOW);
    }

    #[test]
    fn master_lists_three_variants_with_tokens() {
        let text = master(feed_by_name("main").unwrap(), "T", &[]);
        assert_eq!(text.matches("#EXT-X-STREAM-INF").count(), 3);
        assert!(text.contains("RESOLUTION=1280x720"));
        assert!(text.contains("720p/index.m3u8?token=T\n"));
        assert!(text.contains("CODECS=\"avc1.4d401f,mp4a.40.2\""));
    }

    #[test]
    fn media_playlist_window_and_discontinuities() {
        let feed = feed_by_name("main").unwrap();
        let text = media_playlist(&MediaRequest {
            feed,
            variant: 0,
            last: 17,
            segment_secs: 2,
            token: "T",
            empty: false,
            dseq_epoch: 3,
        });
        // first = 12 (a wrap: no tag, it is counted in the sequence), wraps before 15.
        assert!(text.contains("#EXT-X-MEDIA-SEQUENCE:12\n"));
        assert!(text.contains("#EXT-X-DISCONTINUITY-SEQUENCE:3\n"));
        assert_eq!(text.matches("#EXT-X-DISCONTINUITY\n").count(), 1);
        assert!(text.contains("#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:30.000Z\n"));
        assert_eq!(text.matches("#EXTINF:2.000,").count(), 6);
        assert!(text.contains("seg-12.ts?token=T\n") && text.contains("seg-17.ts?token=T\n"));
        assert!(!text.contains("ENDLIST"));
    }

    #[test]
    fn special_packagings() {
        let byterange = media_playlist(&MediaRequest {
            feed: feed_by_name("byterange").unwrap(),
            variant: 0,
            last: 5,
            segment_secs: 2,
            token: "T",
            empty: false,
            dseq_epoch: 0,
        });
        assert!(byterange.contains("#EXT-X-BYTERANGE:") && byterange.contains("@0\nstream.ts?token=T"));
        let fmp4 = media_playlist(&MediaRequest {
            feed: feed_by_name("fmp4").unwrap(),
            variant: 0,
            last: 5,
            segment_secs: 2,
            token: "T",
            empty: true,
            dseq_epoch: 0,
        });
        assert!(fmp4.contains("#EXT-X-MAP:URI=\"init.mp4?token=T\""));
        assert!(!fmp4.contains("#EXTINF"));
        let aes = media_playlist(&MediaRequest {
            feed: feed_by_name("aes").unwrap(),
            variant: 0,
            last: 5,
            segment_secs: 2,
            token: "T",
            empty: false,
            dseq_epoch: 0,
        });
        assert!(aes.contains("METHOD=AES-128,URI=\"key.bin?token=T\",IV=0x"));
    }
}
