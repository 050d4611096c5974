//! The plugin registry's load and replace rules, driven poll by poll over a temporary plugins
//! directory with the `direct` guest built from source: a file loads only once it held still
//! across two polls; a replacement swaps in whole, and a rejected one leaves the old version
//! serving with the error reported until a good file replaces it; a removed file unloads.
//! (Integration tests rather than unit tests because the guests are built by `common::guest`.)

mod common;

use std::{path::Path, sync::Arc};

use common::{guest, session_ref, settings, with_custom_section};
use pitwall::{
    extract::{ExtractorEngine, Limits, PluginRegistry, registry::sha256_hex},
    net::UpstreamGuard,
};

fn registry(dir: &Path) -> PluginRegistry {
    let engine = ExtractorEngine::new(Limits::default(), &UpstreamGuard::default(), None).unwrap();
    PluginRegistry::new(engine, dir.to_path_buf())
}

fn direct() -> Vec<u8> {
    std::fs::read(guest("direct")).unwrap()
}

/// `sha256` of the serving `direct`, if any.
fn serving(registry: &PluginRegistry) -> Option<String> {
    registry.get("direct").map(|p| p.sha256.clone())
}

/// The `/extractors` error of `direct`'s row.
fn reported_error(registry: &PluginRegistry) -> Option<String> {
    registry.entries().into_iter().find(|e| e.id == "direct").and_then(|e| e.error)
}

async fn works(registry: &PluginRegistry) -> bool {
    let found =
        registry.extract("direct", session_ref(), settings(&[("url", "https://cdn.example/a.m3u8")])).await;
    found.is_ok_and(|c| c.len() == 1 && c[0].url == "https://cdn.example/a.m3u8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_loads_only_once_it_held_still_across_two_polls() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let file = dir.path().join("direct.wasm");
    let wasm = direct();
    // Half a file, as a slow copy leaves it: seen, not loaded.
    std::fs::write(&file, &wasm[..wasm.len() / 2]).unwrap();
    assert_eq!(registry.poll().await, 0);
    assert!(registry.entries().is_empty(), "nothing tried on the first sighting");
    // The copy goes on (the size changed): still not loaded, nor rejected as a broken file.
    std::fs::write(&file, &wasm).unwrap();
    assert_eq!(registry.poll().await, 0);
    assert!(registry.entries().is_empty(), "a file that changed since the last poll is left alone");
    let mut changes = registry.changes();
    assert_eq!(registry.poll().await, 1, "unchanged across two polls: loaded");
    assert_eq!(serving(&registry), Some(sha256_hex(&wasm)));
    assert!(changes.has_changed().unwrap(), "watchers hear of the load");
    changes.mark_unchanged();
    assert!(works(&registry).await);
    // Loaded once: further polls of the same file change nothing.
    assert_eq!(registry.poll().await, 0);
    assert!(!changes.has_changed().unwrap());
    // Hidden and non-wasm files are never loaded.
    std::fs::write(dir.path().join(".direct.wasm.swp"), &wasm).unwrap();
    std::fs::write(dir.path().join("direct.wasm.part"), &wasm).unwrap();
    registry.poll().await;
    assert_eq!(registry.poll().await, 0);
    assert_eq!(registry.ids(), ["direct"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_replacement_leaves_the_old_version_serving_until_a_good_one_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let file = dir.path().join("direct.wasm");
    let v1 = direct();
    std::fs::write(&file, &v1).unwrap();
    registry.poll().await;
    registry.poll().await;
    assert_eq!(serving(&registry), Some(sha256_hex(&v1)));
    let before = registry.get("direct").unwrap();

    // A broken build replaces it: rejected, the old version keeps serving, the error is shown.
    let broken = b"\0asm this is not a component".to_vec();
    std::fs::write(&file, &broken).unwrap();
    registry.poll().await;
    assert_eq!(registry.poll().await, 0, "a rejected file changes nothing");
    assert_eq!(serving(&registry), Some(sha256_hex(&v1)), "the previous good version still serves");
    assert!(works(&registry).await);
    let error = reported_error(&registry).expect("the rejection is reported on the serving row");
    assert!(error.contains(&sha256_hex(&broken)[..12]), "{error}");
    let row = registry.entries().into_iter().find(|e| e.id == "direct").unwrap();
    assert_eq!((row.status, row.sha256.as_str()), ("loaded", sha256_hex(&v1).as_str()));

    // A good new version replaces both: swapped in whole, the error cleared.
    let v2 = with_custom_section(&v1, "v2");
    std::fs::write(&file, &v2).unwrap();
    registry.poll().await;
    assert_eq!(registry.poll().await, 1);
    assert_eq!(serving(&registry), Some(sha256_hex(&v2)));
    assert_eq!(reported_error(&registry), None, "the rejection is forgotten once a good file replaced it");
    assert!(works(&registry).await);
    // Whoever held the old version keeps a whole, working plugin (the swap is of the table).
    assert_eq!(before.sha256, sha256_hex(&v1));
    assert!(!Arc::ptr_eq(&before, &registry.get("direct").unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_file_unloads_and_a_file_that_never_loaded_is_reported_failed() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    std::fs::write(dir.path().join("direct.wasm"), direct()).unwrap();
    std::fs::write(dir.path().join("broken_site.wasm"), b"not wasm at all").unwrap();
    registry.poll().await;
    registry.poll().await;
    assert_eq!(registry.ids(), ["direct"]);
    let failed = registry.entries().into_iter().find(|e| e.file == "broken_site.wasm").expect("a failed row");
    assert_eq!((failed.id.as_str(), failed.status), ("broken-site", "failed"));
    assert!(failed.error.is_some());

    // A second file providing the same plugin id is refused; the first keeps it.
    std::fs::write(dir.path().join("copy.wasm"), with_custom_section(&direct(), "copy")).unwrap();
    registry.poll().await;
    registry.poll().await;
    let copy = registry.entries().into_iter().find(|e| e.file == "copy.wasm").expect("the copy is reported");
    assert!(copy.error.as_deref().is_some_and(|e| e.contains("already provided by direct.wasm")), "{copy:?}");
    assert_eq!(registry.get("direct").unwrap().file, "direct.wasm");

    let mut changes = registry.changes();
    changes.mark_unchanged();
    for file in ["direct.wasm", "broken_site.wasm", "copy.wasm"] {
        std::fs::remove_file(dir.path().join(file)).unwrap();
    }
    assert_eq!(registry.poll().await, 1, "one plugin unloaded at the first poll without its file");
    assert!(registry.ids().is_empty());
    assert!(registry.get("direct").is_none());
    assert!(changes.has_changed().unwrap(), "watchers hear of the unload");
    assert!(registry.entries().is_empty(), "removed files leave /extractors");
    assert!(!works(&registry).await, "calls to an unloaded plugin fail");
}
