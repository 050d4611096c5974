//! `relay::playlist::rewrite` allocates per URI, never per byte: a counting global allocator
//! (this binary's own) counts the allocations of rewrites of playlists that grow in URIs and,
//! separately, in bytes (long comments, unknown tags, long URIs).

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
};

use pitwall::relay::playlist::rewrite;
use url::Url;

/// Counts allocations made on threads that asked for it; everything else goes to `System`.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to `System`; the thread-locals are const-initialised `Cell`s,
// which neither allocate nor register destructors.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count() {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|n| n.set(n.get() + 1));
        }
    });
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations (and reallocations) `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    COUNT.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    COUNT.with(Cell::get)
}

/// A media playlist of `segments` segments, each line padded by `padding` bytes: a comment, an
/// unknown tag and a query string that long.
fn playlist(segments: usize, padding: usize) -> String {
    let pad = "x".repeat(padding);
    let mut text =
        String::from("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:1\n");
    text.push_str("#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin\"\n#EXT-X-MAP:URI=\"init.mp4\"\n");
    for i in 0..segments {
        text.push_str(&format!("# comment {pad}\n#X-UNKNOWN:{pad}\n#EXTINF:4.0,\nseg{i}.m4s?p={pad}\n"));
    }
    text
}

/// Allocations of one rewrite of `text`; the mapper hands back a fixed, preallocated-size URI so
/// that only the rewriter's own allocations (and the `String` the mapper must return) count.
fn rewrite_allocations(text: &str) -> (usize, usize) {
    let base = Url::parse("https://cdn.example/live/media.m3u8").unwrap();
    let mut uris = 0;
    let n = allocations(|| {
        let out = rewrite(text, &base, |_, _| {
            uris += 1;
            String::from("/relay/p/aaaaaaaaaaaaaaaa.m4s?t=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
        })
        .unwrap();
        std::hint::black_box(out);
    });
    (n, uris)
}

#[test]
fn the_playlist_rewriter_allocates_per_uri_never_per_byte() {
    // Warm up whatever `url` or the test harness sets up once.
    rewrite_allocations(&playlist(4, 0));

    // Bytes grow a hundredfold at the same number of URIs: the count barely moves (the output
    // buffer may grow a few more times; nothing is allocated per byte).
    let (plain, uris) = rewrite_allocations(&playlist(200, 0));
    assert_eq!(uris, 202);
    for padding in [100, 1_000, 10_000] {
        let (padded, _) = rewrite_allocations(&playlist(200, padding));
        assert!(
            padded <= plain + 8,
            "{padded} allocations for 200 segments padded by {padding} bytes, {plain} unpadded"
        );
    }

    // URIs grow: the count grows with them, by a small constant per URI.
    let (small, small_uris) = rewrite_allocations(&playlist(100, 50));
    let (large, large_uris) = rewrite_allocations(&playlist(1_000, 50));
    // The counter counts: each URI costs at least the `String` its mapper returns.
    assert!(small >= small_uris && large >= large_uris, "{small}, {large}");
    let per_uri = (large - small) as f64 / (large_uris - small_uris) as f64;
    assert!(
        per_uri <= 4.0,
        "{per_uri:.2} allocations per URI ({small} for {small_uris}, {large} for {large_uris})"
    );
    assert!(large <= 4 * large_uris + 16, "{large} allocations for {large_uris} URIs");
}
