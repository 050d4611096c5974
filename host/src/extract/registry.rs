//! The plugin registry: polls the plugins directory (NFS has no inotify), loads a `*.wasm` only
//! once its size and mtime held still across two polls, keys it by sha256, compiles it once
//! (local cache), and swaps the plugin table atomically. A file that fails to load leaves the
//! previous good version serving and is reported; a removed file unloads its plugin. Hidden
//! files (`.nfs*`, editors' temporaries) and names that are not `*.wasm` are ignored. Files are
//! read into memory, never mapped from the plugins directory.
//!
//! The files one poll picks up load concurrently (up to 8 at once), and each serves as soon as
//! it is ready; a plugin whose `info()` hangs is rejected at the engine's load deadline, so one
//! bad file holds a poll (and with it `/readyz` and shutdown) for at most that long, and never
//! holds the others.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::SystemTime,
};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::{
    bindings::{SessionRef, StreamCandidate},
    engine::{CallError, ExtractorEngine, Prepared},
    host_api::HostGrants,
};

/// Files loaded at once. The engine's instance pool keeps 8 slots beside `concurrent_calls` for
/// `info()` calls, so loads never starve calls (or fail for want of a slot).
const LOADS_AT_ONCE: usize = 8;

/// A loaded plugin and its counters.
pub struct LoadedPlugin {
    /// Compiled and linked component with its `info()`.
    pub prepared: Prepared,
    /// File name in the plugins directory.
    pub file: String,
    /// sha256 of the file's bytes.
    pub sha256: String,
    /// When this version was loaded.
    pub loaded_at: DateTime<Utc>,
    /// Calls made.
    pub calls: AtomicU64,
    /// Calls that failed.
    pub failures: AtomicU64,
}

/// A file that could not be loaded.
#[derive(Debug, Clone)]
struct Rejected {
    sha256: String,
    error: String,
    at: DateTime<Utc>,
}

/// Last observation of a file in the plugins directory.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observation {
    size: u64,
    mtime: Option<SystemTime>,
}

#[derive(Default)]
struct Scan {
    /// What each file looked like at the last poll.
    seen: HashMap<String, Observation>,
    /// The observation last acted upon (loaded or rejected), so a stable file is handled once.
    handled: HashMap<String, Observation>,
    /// Files whose last version was rejected.
    rejected: BTreeMap<String, Rejected>,
}

/// One source of an extractor and the hosts its calls may fetch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SourceHosts {
    /// `[[source]] id`.
    pub id: String,
    /// Declared and granted host patterns (`*` = any public host).
    pub hosts: Vec<String>,
}

/// One row of `GET /extractors`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ExtractorEntry {
    /// Plugin id (for a file that never loaded: its file stem).
    pub id: String,
    /// Site name.
    pub name: Option<String>,
    /// Plugin version.
    pub version: Option<String>,
    /// API version it was built against.
    pub api: Option<String>,
    /// File name.
    pub file: String,
    /// sha256 of the serving (or rejected) file.
    pub sha256: String,
    /// When the serving version loaded (or the file was rejected).
    pub loaded_at: String,
    /// `loaded`, `failed`, or `missing` (a configured source names it, no plugin provides it).
    pub status: &'static str,
    /// Why the file (or a newer version of it) was rejected.
    pub error: Option<String>,
    /// Hosts it may fetch from.
    pub allowed_hosts: Vec<String>,
    /// The configured sources that use it, each with the hosts its calls may fetch (the
    /// plugin's plus the source's `allow_hosts`).
    pub sources: Vec<SourceHosts>,
    /// Calls made.
    pub calls: u64,
    /// Calls failed.
    pub failures: u64,
}

/// Loaded plugins by id, with hot reload.
pub struct PluginRegistry {
    engine: Arc<ExtractorEngine>,
    dir: PathBuf,
    plugins: ArcSwap<HashMap<String, Arc<LoadedPlugin>>>,
    scan: Mutex<Scan>,
    calls: Arc<Semaphore>,
    /// Bumped whenever the plugin table changes (a plugin loaded, replaced or unloaded).
    generation: tokio::sync::watch::Sender<u64>,
}

impl PluginRegistry {
    /// A registry over `dir`; nothing is loaded until [`PluginRegistry::poll`].
    pub fn new(engine: Arc<ExtractorEngine>, dir: PathBuf) -> Self {
        let permits = engine.limits().concurrent_calls.max(1) as usize;
        PluginRegistry {
            engine,
            dir,
            plugins: ArcSwap::from_pointee(HashMap::new()),
            scan: Mutex::new(Scan::default()),
            calls: Arc::new(Semaphore::new(permits)),
            generation: tokio::sync::watch::Sender::new(0),
        }
    }

    /// The plugins directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A plugin by id.
    pub fn get(&self, id: &str) -> Option<Arc<LoadedPlugin>> {
        self.plugins.load().get(id).cloned()
    }

    /// Ids of the loaded plugins.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.plugins.load().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Watches the plugin table: the value changes whenever a plugin is loaded, replaced or
    /// unloaded, so work waiting for an extractor can retry at once.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Swaps in a new plugin table and tells the watchers.
    fn publish(&self, table: HashMap<String, Arc<LoadedPlugin>>) {
        self.plugins.store(Arc::new(table));
        self.generation.send_modify(|g| *g += 1);
    }

    fn scan(&self) -> std::sync::MutexGuard<'_, Scan> {
        self.scan.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One poll of the directory: loads files that held still since the last poll, unloads
    /// removed ones. Returns how many changes it applied.
    pub async fn poll(&self) -> usize {
        let current = match list_wasm(&self.dir) {
            Ok(files) => files,
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), error = %e, "cannot read the plugins directory");
                return 0;
            }
        };
        let mut to_load = Vec::new();
        {
            let mut scan = self.scan();
            for (file, obs) in &current {
                let stable = scan.seen.get(file) == Some(obs);
                if stable && scan.handled.get(file) != Some(obs) {
                    to_load.push((file.clone(), obs.clone()));
                }
                scan.seen.insert(file.clone(), obs.clone());
            }
            scan.seen.retain(|f, _| current.contains_key(f));
            scan.handled.retain(|f, _| current.contains_key(f));
            scan.rejected.retain(|f, _| current.contains_key(f));
        }
        let unloaded = self.unload_missing(&current);
        let loads = to_load.into_iter().map(|(file, obs)| async move {
            let changed = self.load_file(&file).await;
            self.scan().handled.insert(file, obs);
            usize::from(changed)
        });
        let loaded: Vec<usize> =
            futures_util::stream::iter(loads).buffer_unordered(LOADS_AT_ONCE).collect().await;
        unloaded + loaded.into_iter().sum::<usize>()
    }

    fn unload_missing(&self, current: &BTreeMap<String, Observation>) -> usize {
        let _scan = self.scan();
        let table = self.plugins.load();
        let gone: Vec<String> =
            table.iter().filter(|(_, p)| !current.contains_key(&p.file)).map(|(id, _)| id.clone()).collect();
        if gone.is_empty() {
            return 0;
        }
        let mut next = HashMap::clone(&table);
        for id in &gone {
            if let Some(p) = next.remove(id) {
                tracing::info!(plugin = %id, file = %p.file, "plugin file removed; plugin unloaded");
            }
        }
        self.publish(next);
        gone.len()
    }

    /// Loads one file; returns whether the plugin table changed.
    async fn load_file(&self, file: &str) -> bool {
        let path = self.dir.join(file);
        let bytes = match tokio::fs::read(&path).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(file, error = %e, "cannot read plugin file");
                return false;
            }
        };
        let sha = sha256_hex(&bytes);
        if self.plugins.load().values().any(|p| p.file == file && p.sha256 == sha) {
            return false;
        }
        tracing::info!(file, sha256 = &sha[..12], "loading plugin file");
        let engine = self.engine.clone();
        let sha_for_compile = sha.clone();
        let started = std::time::Instant::now();
        let compiled = tokio::task::spawn_blocking(move || engine.compile(&bytes, &sha_for_compile)).await;
        let component = match compiled {
            Ok(Ok(component)) => component,
            Ok(Err(e)) => return self.reject(file, sha, e.to_string()),
            Err(e) => return self.reject(file, sha, format!("compiler crashed: {e}")),
        };
        let prepared = match self.engine.prepare_file(&component, file).await {
            Ok(prepared) => prepared,
            Err(e) => return self.reject(file, sha, e.to_string()),
        };
        let id = prepared.info.id.clone();
        let version = prepared.info.version.clone();
        {
            // Loads finish concurrently: the scan lock makes each read-modify-swap of the table whole.
            let mut scan = self.scan();
            let table = self.plugins.load();
            if let Some(other) = table.get(&id).filter(|p| p.file != file) {
                let error = format!("plugin id {id:?} is already provided by {}", other.file);
                drop(scan);
                return self.reject(file, sha, error);
            }
            let mut next = HashMap::clone(&table);
            // A file may be replaced by a build of another plugin: drop what it provided before.
            next.retain(|_, p| p.file != file);
            next.insert(
                id.clone(),
                Arc::new(LoadedPlugin {
                    prepared,
                    file: file.to_string(),
                    sha256: sha.clone(),
                    loaded_at: Utc::now(),
                    calls: AtomicU64::new(0),
                    failures: AtomicU64::new(0),
                }),
            );
            self.publish(next);
            scan.rejected.remove(file);
        }
        tracing::info!(plugin = %id, version, file, sha256 = &sha[..12], took = ?started.elapsed(), "plugin loaded");
        true
    }

    fn reject(&self, file: &str, sha256: String, error: String) -> bool {
        let serving = self.plugins.load().values().any(|p| p.file == file);
        tracing::error!(file, %error, serving_previous = serving, "plugin file rejected");
        self.scan().rejected.insert(file.to_string(), Rejected { sha256, error, at: Utc::now() });
        false
    }

    /// Calls `extract` of plugin `id`, isolated and within its deadline (see the engine), at most
    /// `concurrent_calls` at once: a call holds its slot until its guest thread is done.
    pub async fn extract(
        &self,
        id: &str,
        session: SessionRef,
        settings: Vec<(String, String)>,
    ) -> Result<Vec<StreamCandidate>, CallError> {
        self.extract_for(id, session, settings, &[], None).await
    }

    /// [`Self::extract`] for `source`, whose `allow_hosts` grants the call more hosts than the
    /// plugin declares.
    pub async fn extract_for(
        &self,
        id: &str,
        session: SessionRef,
        settings: Vec<(String, String)>,
        granted: &[String],
        source: Option<&str>,
    ) -> Result<Vec<StreamCandidate>, CallError> {
        let plugin = self
            .get(id)
            .ok_or_else(|| CallError { step: "other", detail: format!("no loaded extractor {id:?}") })?;
        let grants = HostGrants {
            declared: plugin.prepared.info.allowed_hosts.clone(),
            granted: granted.to_vec(),
            source: source.map(str::to_string),
        };
        let permit = self
            .calls
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| CallError { step: "other", detail: "shutting down".into() })?;
        plugin.calls.fetch_add(1, Ordering::Relaxed);
        let result = self.engine.call_extract(&plugin.prepared, session, settings, grants, permit).await;
        if result.is_err() {
            plugin.failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Rows of `GET /extractors`: loaded plugins (with a rejected newer file's error, if any),
    /// then files that never loaded.
    pub fn entries(&self) -> Vec<ExtractorEntry> {
        let table = self.plugins.load();
        let scan = self.scan();
        let mut rows: Vec<ExtractorEntry> = table
            .values()
            .map(|p| {
                let info = &p.prepared.info;
                ExtractorEntry {
                    id: info.id.clone(),
                    name: Some(info.name.clone()),
                    version: Some(info.version.clone()),
                    api: Some(p.prepared.api.clone()),
                    file: p.file.clone(),
                    sha256: p.sha256.clone(),
                    loaded_at: crate::schedule::model::utc(p.loaded_at),
                    status: "loaded",
                    error: scan.rejected.get(&p.file).map(|r| {
                        format!("{} (sha256 {}) was rejected: {}", p.file, &r.sha256[..12], r.error)
                    }),
                    allowed_hosts: info.allowed_hosts.clone(),
                    sources: Vec::new(),
                    calls: p.calls.load(Ordering::Relaxed),
                    failures: p.failures.load(Ordering::Relaxed),
                }
            })
            .collect();
        for (file, r) in &scan.rejected {
            if table.values().any(|p| &p.file == file) {
                continue;
            }
            rows.push(ExtractorEntry {
                id: file.trim_end_matches(".wasm").replace('_', "-"),
                name: None,
                version: None,
                api: None,
                file: file.clone(),
                sha256: r.sha256.clone(),
                loaded_at: crate::schedule::model::utc(r.at),
                status: "failed",
                error: Some(r.error.clone()),
                allowed_hosts: Vec::new(),
                sources: Vec::new(),
                calls: 0,
                failures: 0,
            });
        }
        rows.sort_by(|a, b| (a.status, &a.id).cmp(&(b.status, &b.id)));
        rows
    }
}

/// `*.wasm` files directly in `dir` with their size and mtime; hidden and temporary files skipped.
fn list_wasm(dir: &Path) -> std::io::Result<BTreeMap<String, Observation>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(".wasm") {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        out.insert(name, Observation { size: meta.len(), mtime: meta.modified().ok() });
    }
    Ok(out)
}

/// The hex sha256 of a plugin file: its identity in `/extractors` and the compiled cache.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
