//! Synthetic media for the relay benchmark: `/bench/vod.m3u8?n=N&kib=K` lists N segments of
//! K KiB (defaults 512 and 1024) at `/bench/seg/{i}.ts?kib=K` (`Range` honoured), each answered from one shared
//! buffer, so the upstream costs next to nothing and the proxies in front of it are what a
//! benchmark measures. Not part of any demo flow.

use std::{fmt::Write, sync::LazyLock};

use axum::{
    Router,
    extract::{Path, Query},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
    routing::get,
};
use bytes::Bytes;
use serde::Deserialize;

use crate::Ctx;

/// Largest segment served (and the size of the shared buffer).
const MAX_KIB: usize = 8 * 1024;
/// Most segments a playlist lists.
const MAX_SEGMENTS: usize = 4096;

/// One buffer of MPEG-TS null packets (sync byte, PID 0x1FFF), sliced for every segment.
static BUFFER: LazyLock<Bytes> = LazyLock::new(|| {
    let mut packet = [0xFFu8; 188];
    packet[..4].copy_from_slice(&[0x47, 0x1F, 0xFF, 0x10]);
    let bytes: Vec<u8> = packet.iter().copied().cycle().take(MAX_KIB * 1024).collect();
    Bytes::from(bytes)
});

#[derive(Deserialize)]
struct Shape {
    n: Option<usize>,
    kib: Option<usize>,
}

impl Shape {
    fn kib(&self) -> usize {
        self.kib.unwrap_or(1024).clamp(1, MAX_KIB)
    }
}

pub fn routes() -> Router<Ctx> {
    Router::new().route("/bench/vod.m3u8", get(playlist)).route("/bench/seg/{file}", get(segment))
}

async fn playlist(Query(shape): Query<Shape>) -> impl IntoResponse {
    let n = shape.n.unwrap_or(512).clamp(1, MAX_SEGMENTS);
    let kib = shape.kib();
    let mut text =
        String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n");
    for i in 0..n {
        let _ = write!(text, "#EXTINF:2.000,\n/bench/seg/{i}.ts?kib={kib}\n");
    }
    text.push_str("#EXT-X-ENDLIST\n");
    ([(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")], text)
}

async fn segment(Path(_file): Path<String>, Query(shape): Query<Shape>, headers: HeaderMap) -> Response {
    crate::range::respond(&headers, BUFFER.slice(..shape.kib() * 1024), "video/mp2t")
}
