//! Fuzz target for `relay::playlist::rewrite`: any text must rewrite or fail cleanly, never
//! panic, and every URI of a successful rewrite must point at the host.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitwall::relay::playlist::{rewrite, uris};
use url::Url;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let base = Url::parse("https://cdn.example/live/main/master.m3u8?token=t").expect("valid base");
    let mut mapped = 0usize;
    let Ok(out) = rewrite(&text, &base, |_, _| {
        mapped += 1;
        format!("/relay/{mapped}")
    }) else {
        return;
    };
    for (line, uri, kind) in uris(&out) {
        // URIs that do not resolve to http(s) (skd://, data:) are kept as written on purpose.
        let leaves = base.join(&uri).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        assert!(!leaves || uri.starts_with("/relay/"), "line {line}: {kind:?} URI {uri:?} is not relayed");
    }
    assert_eq!(out.matches('\n').count(), text.matches('\n').count(), "line count changed");
});
