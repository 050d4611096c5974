//! The embedded media catalog: every feed, its variants and their looping segments.
//!
//! The bytes come from `testbed/media/` (made once by `media/generate.sh`, committed) and are
//! embedded with `include_bytes!`, so the library and binary need no files at run time. Each
//! variant is a loop of [`LOOP_LEN`] segments of [`MEDIA_SEGMENT_SECS`] seconds; the live playlists
//! reuse them cyclically. What the master playlist advertises (BANDWIDTH, AVERAGE-BANDWIDTH,
//! CODECS) is measured from these bytes when the catalog loads, never typed by hand.

use std::sync::LazyLock;

use bytes::Bytes;

/// Segments per loop of every variant.
pub const LOOP_LEN: u64 = 3;
/// Real duration of each embedded segment, in seconds.
pub const MEDIA_SEGMENT_SECS: u64 = 2;
/// Frame rate of every embedded video.
pub const FRAME_RATE: u32 = 25;
/// Audio codec of every variant: AAC-LC.
pub const AUDIO_CODEC: &str = "mp4a.40.2";
/// IV used when `generate.sh` encrypted the AES-128 feed (it passes the same value to ffmpeg).
pub const AES_IV_HEX: &str = "0x000102030405060708090a0b0c0d0e0f";

/// How a feed packages its segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packaging {
    /// MPEG-TS, one file per segment.
    Ts,
    /// Fragmented MP4 with an `EXT-X-MAP` init segment.
    Fmp4,
    /// MPEG-TS segments addressed with `EXT-X-BYTERANGE` inside one file.
    ByteRange,
    /// MPEG-TS segments encrypted with AES-128-CBC (`EXT-X-KEY`).
    Aes128,
}

/// Extra request checks a feed's CDN applies on top of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Token only.
    TokenOnly,
    /// Token and a `Referer` under the demo-tv site of the same host.
    Referer,
    /// Token, demo-tv `Referer`, and a browser-like `User-Agent` (`Mozilla/5.0 …`).
    RefererAndBrowser,
}

/// One embedded quality level.
pub struct Variant {
    /// Label used in URLs and `NAME`, e.g. `720p`.
    pub label: &'static str,
    /// Encoded width in pixels.
    pub width: u32,
    /// Encoded height in pixels.
    pub height: u32,
    /// fMP4 init segment, if any.
    pub init: Option<&'static [u8]>,
    /// The looping segments, in order.
    pub segments: [&'static [u8]; LOOP_LEN as usize],
}

/// One CDN feed.
pub struct Feed {
    /// Name used in URLs (`/cdn/{name}/master.m3u8`).
    pub name: &'static str,
    /// Segment packaging.
    pub packaging: Packaging,
    /// Extra request checks.
    pub access: Access,
    /// The master answers 302 to the second origin.
    pub redirects: bool,
    /// Playlists are gzip-encoded when the client accepts it.
    pub gzip: bool,
    /// What the feed exercises (shown on the index pages).
    pub about: &'static str,
    /// Quality levels, lowest first.
    pub variants: &'static [Variant],
}

macro_rules! ts_variant {
    ($feed:literal, $label:literal, $w:literal, $h:literal) => {
        Variant {
            label: $label,
            width: $w,
            height: $h,
            init: None,
            segments: [
                include_bytes!(concat!("../media/", $feed, "/", $label, "/seg-0.ts")),
                include_bytes!(concat!("../media/", $feed, "/", $label, "/seg-1.ts")),
                include_bytes!(concat!("../media/", $feed, "/", $label, "/seg-2.ts")),
            ],
        }
    };
}

macro_rules! ladder {
    ($feed:literal) => {
        &[
            ts_variant!($feed, "360p", 640, 360),
            ts_variant!($feed, "540p", 960, 540),
            ts_variant!($feed, "720p", 1280, 720),
        ]
    };
}

const fn feed(
    name: &'static str,
    packaging: Packaging,
    about: &'static str,
    variants: &'static [Variant],
) -> Feed {
    Feed { name, packaging, access: Access::TokenOnly, redirects: false, gzip: false, about, variants }
}

/// Every feed the CDN serves, in [`crate::FEEDS`] order.
pub static CATALOG: [Feed; 9] = [
    feed("main", Packaging::Ts, "world feed: MPEG-TS, 3 variants", ladder!("main")),
    feed("onboard-1", Packaging::Ts, "onboard camera: MPEG-TS, 3 variants", ladder!("onboard-1")),
    Feed {
        access: Access::Referer,
        ..feed("onboard-2", Packaging::Ts, "onboard camera: needs a demo-tv Referer", ladder!("onboard-2"))
    },
    Feed {
        access: Access::RefererAndBrowser,
        ..feed(
            "pitlane",
            Packaging::Ts,
            "pit lane: needs a demo-tv Referer and a browser User-Agent",
            ladder!("pitlane"),
        )
    },
    feed(
        "fmp4",
        Packaging::Fmp4,
        "fragmented MP4 with an EXT-X-MAP init segment",
        &[Variant {
            label: "360p",
            width: 640,
            height: 360,
            init: Some(include_bytes!("../media/fmp4/360p/init.mp4")),
            segments: [
                include_bytes!("../media/fmp4/360p/seg-0.m4s"),
                include_bytes!("../media/fmp4/360p/seg-1.m4s"),
                include_bytes!("../media/fmp4/360p/seg-2.m4s"),
            ],
        }],
    ),
    feed(
        "byterange",
        Packaging::ByteRange,
        "EXT-X-BYTERANGE segments inside one file",
        &[ts_variant!("byterange", "360p", 640, 360)],
    ),
    feed(
        "aes",
        Packaging::Aes128,
        "AES-128 encrypted segments, token-protected key",
        &[ts_variant!("aes", "360p", 640, 360)],
    ),
    Feed {
        redirects: true,
        ..feed(
            "redirect",
            Packaging::Ts,
            "master answers 302 to the second origin",
            &[ts_variant!("redirect", "360p", 640, 360)],
        )
    },
    Feed {
        gzip: true,
        ..feed(
            "gzip",
            Packaging::Ts,
            "playlists gzip-encoded when accepted",
            &[ts_variant!("gzip", "360p", 640, 360)],
        )
    },
];

/// The AES-128 key of the `aes` feed (served token-protected at `/cdn/aes/{variant}/key.bin`).
pub static AES_KEY: &[u8] = include_bytes!("../media/aes/key.bin");

/// Looks a feed up by name.
pub fn feed_by_name(name: &str) -> Option<&'static Feed> {
    CATALOG.iter().find(|f| f.name == name)
}

impl Feed {
    /// Looks a variant up by label.
    pub fn variant(&self, label: &str) -> Option<(usize, &'static Variant)> {
        self.variants.iter().enumerate().find(|(_, v)| v.label == label)
    }
}

/// What the catalog measured about one variant at load time.
pub struct VariantStats {
    /// `CODECS` attribute value, e.g. `avc1.4d401f,mp4a.40.2`.
    pub codecs: String,
    /// Peak segment bit rate, bits per second.
    pub peak_bps: u64,
    /// Average bit rate over the loop, bits per second.
    pub average_bps: u64,
    /// For byte-range feeds: the loop concatenated, and each segment's (offset, length).
    pub single_file: Option<(Bytes, Vec<(u64, u64)>)>,
}

/// Measured stats, indexed like [`CATALOG`] then by variant.
pub static STATS: LazyLock<Vec<Vec<VariantStats>>> = LazyLock::new(|| {
    CATALOG.iter().map(|feed| feed.variants.iter().map(|v| measure(feed, v)).collect()).collect()
});

/// Stats of one variant.
pub fn stats(feed: &Feed, variant_index: usize) -> &'static VariantStats {
    let fi = CATALOG.iter().position(|f| f.name == feed.name).expect("feed from the catalog");
    &STATS[fi][variant_index]
}

fn measure(feed: &Feed, variant: &Variant) -> VariantStats {
    let sizes: Vec<u64> = variant.segments.iter().map(|s| s.len() as u64).collect();
    let peak_bps = sizes.iter().max().copied().unwrap_or(0) * 8 / MEDIA_SEGMENT_SECS;
    let average_bps = sizes.iter().sum::<u64>() * 8 / (MEDIA_SEGMENT_SECS * LOOP_LEN);
    let video = match feed.packaging {
        Packaging::Fmp4 => variant.init.and_then(avc_from_avcc),
        // Ciphertext cannot be scanned; the AES feed is encoded with exactly the settings of
        // the other 360p variants (see generate.sh), so their SPS tells its profile and level.
        Packaging::Aes128 => avc_from_sps(CATALOG[0].variants[0].segments[0]),
        Packaging::Ts | Packaging::ByteRange => avc_from_sps(variant.segments[0]),
    }
    .unwrap_or_else(|| panic!("no H.264 parameters found in {}/{}", feed.name, variant.label));
    let single_file = (feed.packaging == Packaging::ByteRange).then(|| {
        let mut all = Vec::with_capacity(sizes.iter().sum::<u64>() as usize);
        let mut ranges = Vec::new();
        for seg in variant.segments {
            ranges.push((all.len() as u64, seg.len() as u64));
            all.extend_from_slice(seg);
        }
        (Bytes::from(all), ranges)
    });
    VariantStats { codecs: format!("{video},{AUDIO_CODEC}"), peak_bps, average_bps, single_file }
}

/// Size of one MPEG-TS packet.
pub const TS_PACKET: usize = 188;

/// `segment` followed by MPEG-TS null packets (PID 0x1FFF, which every demuxer drops) up to at
/// least `target_len` bytes: the same picture at a higher bit rate, for load tests that need
/// realistic segment sizes. Never shorter than `segment`.
pub fn padded(segment: &[u8], target_len: usize) -> Bytes {
    let packets = target_len.saturating_sub(segment.len()).div_ceil(TS_PACKET);
    let mut out = Vec::with_capacity(segment.len() + packets * TS_PACKET);
    out.extend_from_slice(segment);
    let mut null = [0xff_u8; TS_PACKET];
    // Sync byte, PID 0x1FFF, payload only, continuity counter 0 (ignored for null packets).
    null[..4].copy_from_slice(&[0x47, 0x1f, 0xff, 0x10]);
    for _ in 0..packets {
        out.extend_from_slice(&null);
    }
    Bytes::from(out)
}

/// Bytes per segment of `variant` when the feed's top variant is padded to `top_kbps`: lower
/// variants get a share by pixel count (a 360p rung of a 720p ladder a quarter), never less than
/// their real size.
pub fn padded_len(feed: &Feed, variant: &Variant, top_kbps: u32) -> usize {
    let top = feed.variants.last().map_or(1, |v| u64::from(v.width) * u64::from(v.height)).max(1);
    let pixels = u64::from(variant.width) * u64::from(variant.height);
    let bits = u64::from(top_kbps) * 1000 * MEDIA_SEGMENT_SECS * pixels / top;
    (bits / 8) as usize
}

/// `avc1.PPCCLL` from the first H.264 sequence parameter set in an Annex-B stream (MPEG-TS).
fn avc_from_sps(data: &[u8]) -> Option<String> {
    data.windows(7)
        .find(|w| w[0] == 0 && w[1] == 0 && w[2] == 1 && w[3] & 0x80 == 0 && w[3] & 0x1f == 7)
        .map(|w| format!("avc1.{:02x}{:02x}{:02x}", w[4], w[5], w[6]))
}

/// `avc1.PPCCLL` from the `avcC` box of an MP4 init segment.
fn avc_from_avcc(init: &[u8]) -> Option<String> {
    let at = init.windows(4).position(|w| w == b"avcC")?;
    let b = init.get(at + 5..at + 8)?;
    Some(format!("avc1.{:02x}{:02x}{:02x}", b[0], b[1], b[2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_matches_feed_list_and_measures() {
        let names: Vec<&str> = CATALOG.iter().map(|f| f.name).collect();
        assert_eq!(names, crate::FEEDS);
        for (fi, feed) in CATALOG.iter().enumerate() {
            for (vi, v) in feed.variants.iter().enumerate() {
                let s = &STATS[fi][vi];
                assert!(s.codecs.starts_with("avc1.4d40"), "{}: {}", feed.name, s.codecs);
                assert!(s.peak_bps >= s.average_bps && s.average_bps > 10_000);
                if feed.packaging != Packaging::Aes128 {
                    // Every TS segment starts with a sync byte; fMP4 fragments with a box.
                    let first = v.segments[0];
                    assert!(first[0] == 0x47 || &first[4..8] == b"styp" || &first[4..8] == b"moof");
                }
            }
        }
        let main = feed_by_name("main").unwrap();
        let top = &main.variants[2];
        let len = padded_len(main, top, 5000);
        assert_eq!(len, 1_250_000, "5 Mbit/s for 2 s");
        assert_eq!(padded_len(main, &main.variants[0], 5000), 312_500, "360p: a quarter of the pixels");
        let seg = padded(top.segments[0], len);
        assert!(seg.len() >= len && seg.len() < len + TS_PACKET && seg.len().is_multiple_of(TS_PACKET));
        assert!(seg.starts_with(top.segments[0]));
        assert!(seg[top.segments[0].len()..].chunks(TS_PACKET).all(|p| p[..4] == [0x47, 0x1f, 0xff, 0x10]));
        assert_eq!(padded(top.segments[0], 10).len(), top.segments[0].len(), "never shorter");
        // 720p needs level 3.1 (0x1f), 360p was encoded at level 3.0 (0x1e).
        assert_eq!(STATS[0][2].codecs, "avc1.4d401f,mp4a.40.2");
        assert_eq!(STATS[0][0].codecs, "avc1.4d401e,mp4a.40.2");
        assert_eq!(AES_KEY.len(), 16);
    }
}
