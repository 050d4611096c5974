//! The little of HLS a viewer needs, pure: a master's variant URIs and a media playlist's target
//! duration, media sequence and segments. Enough for the playlists pitwall serves; not a parser
//! for the wild (pitwall itself uses m3u8-rs).

/// One listed segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Media sequence number.
    pub seq: u64,
    /// `EXTINF` duration in seconds.
    pub duration: f64,
    /// The URI as listed.
    pub uri: String,
}

/// A media playlist.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Media {
    /// `EXT-X-TARGETDURATION` in seconds.
    pub target_duration: f64,
    /// `EXT-X-MEDIA-SEQUENCE` (the first segment's number).
    pub media_sequence: u64,
    /// The segments, oldest first.
    pub segments: Vec<Segment>,
}

/// The variant URIs of a master playlist (each line after `EXT-X-STREAM-INF`).
pub fn variants(master: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut next_is_variant = false;
    for line in master.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with("#EXT-X-STREAM-INF") {
            next_is_variant = true;
        } else if !line.starts_with('#') && next_is_variant {
            out.push(line.to_string());
            next_is_variant = false;
        }
    }
    out
}

/// Parses a media playlist; `None` when it lists no target duration.
pub fn media(text: &str) -> Option<Media> {
    let mut media = Media::default();
    let mut target = None;
    let mut duration = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            target = v.trim().parse::<f64>().ok();
        } else if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            media.media_sequence = v.trim().parse().ok()?;
        } else if let Some(v) = line.strip_prefix("#EXTINF:") {
            duration = v.split(',').next().and_then(|d| d.trim().parse::<f64>().ok());
        } else if !line.starts_with('#') {
            let seq = media.media_sequence + media.segments.len() as u64;
            let duration = duration.take().or(target).unwrap_or(0.0);
            media.segments.push(Segment { seq, duration, uri: line.to_string() });
        }
    }
    media.target_duration = target?;
    Some(media)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_masters_and_media_playlists() {
        let master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n/live/a/360p.m3u8\n\n#EXT-X-STREAM-INF:BANDWIDTH=2\n/live/a/720p.m3u8\n";
        assert_eq!(variants(master), ["/live/a/360p.m3u8", "/live/a/720p.m3u8"]);
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:41\n#EXTINF:2.000,\n/relay/x/seg-41.ts?t=1\n#EXT-X-DISCONTINUITY\n#EXTINF:1.5,\n/relay/x/seg-42.ts?t=2\n";
        let m = media(text).unwrap();
        assert_eq!(m.target_duration, 2.0);
        assert_eq!(
            m.segments,
            [
                Segment { seq: 41, duration: 2.0, uri: "/relay/x/seg-41.ts?t=1".into() },
                Segment { seq: 42, duration: 1.5, uri: "/relay/x/seg-42.ts?t=2".into() },
            ]
        );
        assert!(media("#EXTM3U\nseg.ts\n").is_none(), "no target duration");
    }
}
