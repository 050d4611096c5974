//! The wasmtime engine that owns every limit: pooling allocator, wall-time deadline per call,
//! memory cap per call, fetch policy, caps on what comes back. Components are compiled once (and
//! cached on local disk, see [`super::cache`]); each call gets a fresh instance from an
//! `InstancePre`.
//!
//! Every guest call (`extract`, and `info()` while loading) runs isolated: on a blocking thread
//! of its own, driven by a small current-thread tokio runtime, as an async wasmtime call wrapped
//! in `tokio::time::timeout`. Guest code yields to that runtime at every epoch tick, and a guest
//! blocked in a host call (WASI sleep or poll, `fetch`) is a pending future, so the timeout ends
//! the call at its deadline whatever the guest does: the future is dropped, and with it the
//! store, the instance and any wait in progress. The shared async executor never runs guest code.

use std::{
    collections::BTreeMap,
    future::Future,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimitsBuilder,
    UpdateDeadline,
    component::{Component, HasSelf, Linker},
};

use super::{
    bindings::{
        API_VERSION, Extractor, ExtractorPre, PACKAGE, PluginInfo, SessionRef, Step, StreamCandidate,
    },
    cache::CompiledCache,
    caps,
    host_api::{FetchPolicy, GuestState, HostGrants},
};
use crate::net::UpstreamGuard;

/// Epoch tick: how often running guest code yields and checks its deadline.
const TICK: Duration = Duration::from_millis(10);

/// Limits for guest calls.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall time one `extract` call may take, host fetches and WASI waits included.
    pub call_timeout: Duration,
    /// Wall time instantiating a plugin and running its `info()` may take while loading.
    pub load_timeout: Duration,
    /// Linear memory one call may use.
    pub memory_bytes: usize,
    /// Largest response body `fetch` hands to a guest.
    pub fetch_body_bytes: usize,
    /// Longest single `fetch`.
    pub fetch_timeout: Duration,
    /// Most `fetch` calls in one call.
    pub fetch_requests: u32,
    /// Calls running at once (pool size).
    pub concurrent_calls: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            call_timeout: Duration::from_secs(20),
            load_timeout: Duration::from_secs(10),
            memory_bytes: 64 << 20,
            fetch_body_bytes: 8 << 20,
            fetch_timeout: Duration::from_secs(10),
            fetch_requests: 32,
            concurrent_calls: 16,
        }
    }
}

/// What one plugin gets instead of the engine's [`Limits`] (`[extractors.plugin.NAME]`): a
/// JavaScript or Python component carries its language's runtime, so it may need more memory
/// or a longer load than a Rust one. Unset fields keep the engine's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginLimits {
    /// Linear memory one call of this plugin may use.
    pub memory_bytes: Option<usize>,
    /// Wall time one `extract` call of this plugin may take.
    pub call_timeout: Option<Duration>,
    /// Wall time instantiating this plugin and running its `info()` may take while loading.
    pub load_timeout: Option<Duration>,
}

/// Per-plugin limits by name: a plugin id (`demo-site`) or a plugin file's name without
/// `.wasm`. Names compare case-insensitively with `_` and `-` equal, so `demo_site.wasm` and the
/// id `demo-site` are one name. While a file loads its id is not known yet, so the load deadline
/// and memory come from the entry matching the file name; calls use the entry matching the id,
/// else the file name.
pub type PluginLimitsTable = BTreeMap<String, PluginLimits>;

/// The limits one plugin's calls run under, resolved from [`Limits`] and its [`PluginLimits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// Wall time one `extract` call may take.
    pub call_timeout: Duration,
    /// Wall time loading (instantiate + `info()`) may take.
    pub load_timeout: Duration,
    /// Linear memory one call may use.
    pub memory_bytes: usize,
}

/// `name` as a [`PluginLimitsTable`] key: lower-case, `_` as `-`, without `.wasm`.
pub fn plugin_key(name: &str) -> String {
    name.strip_suffix(".wasm").unwrap_or(name).to_ascii_lowercase().replace('_', "-")
}

/// Why a component could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    /// Not a valid component, or compilation failed.
    #[error("not a valid extractor component: {0}")]
    Compile(String),
    /// Built against an API this host does not speak.
    #[error("{0}")]
    Api(String),
    /// Instantiation or `info()` failed or ran past the load deadline.
    #[error("info() failed: {0}")]
    Info(String),
    /// `info()` answered something unusable.
    #[error("invalid plugin info: {0}")]
    Manifest(String),
}

/// Why one call failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{step}: {detail}")]
pub struct CallError {
    /// The failed step (`request`, `token-parse`, `url-extraction`, `not-live`, `other`, or `trap`).
    pub step: &'static str,
    /// What happened.
    pub detail: String,
}

/// A compiled, linked plugin ready to be called.
pub struct Prepared {
    /// Pre-linked instance factory.
    pub pre: ExtractorPre<GuestState>,
    /// What `info()` said.
    pub info: PluginInfo,
    /// The API version the component was built against (from its WIT interface names).
    pub api: String,
    /// The limits its calls run under (the engine's, or its `[extractors.plugin.NAME]`).
    pub limits: CallLimits,
}

/// How an isolated guest call ended when it did not return.
enum Isolation {
    /// The wall-time limit elapsed; the call was dropped.
    Deadline,
    /// The call's thread or runtime failed.
    Crashed(String),
}

/// The engine shared by every plugin.
pub struct ExtractorEngine {
    engine: Engine,
    linker: Linker<GuestState>,
    limits: Limits,
    plugin_limits: PluginLimitsTable,
    policy: FetchPolicy,
    cache: CompiledCache,
}

impl ExtractorEngine {
    /// Builds the engine (and its epoch ticker thread, which ends with the engine).
    pub fn new(
        limits: Limits,
        guard: &UpstreamGuard,
        cache_dir: Option<PathBuf>,
    ) -> anyhow::Result<Arc<Self>> {
        Self::with_plugin_limits(limits, PluginLimitsTable::new(), guard, cache_dir)
    }

    /// [`Self::new`] with per-plugin limits (keys as [`plugin_key`] makes them). The instance
    /// pool's memory slots are sized for the largest cap; each call is still held to its own
    /// plugin's cap by its store.
    pub fn with_plugin_limits(
        limits: Limits,
        plugin_limits: PluginLimitsTable,
        guard: &UpstreamGuard,
        cache_dir: Option<PathBuf>,
    ) -> anyhow::Result<Arc<Self>> {
        let plugin_limits: PluginLimitsTable =
            plugin_limits.into_iter().map(|(name, l)| (plugin_key(&name), l)).collect();
        let largest_memory =
            plugin_limits.values().filter_map(|l| l.memory_bytes).fold(limits.memory_bytes, usize::max);
        let mut pool = PoolingAllocationConfig::default();
        let slots = limits.concurrent_calls.max(1) + 8; // + room for info() calls while loading
        pool.total_component_instances(slots)
            .total_core_instances(slots * 8)
            .total_memories(slots * 2)
            .total_tables(slots * 8)
            .total_stacks(slots)
            .max_memories_per_component(2)
            .max_memory_size(largest_memory);
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        Extractor::add_to_linker::<GuestState, HasSelf<GuestState>>(&mut linker, |s| s)?;
        let client = crate::net::client_builder(guard)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(limits.fetch_timeout)
            .build()?;
        let policy = FetchPolicy {
            client,
            guard: guard.clone(),
            max_body: limits.fetch_body_bytes,
            timeout: limits.fetch_timeout,
            max_requests: limits.fetch_requests,
        };
        let weak = engine.weak();
        std::thread::Builder::new().name("pitwall-epoch".into()).spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })?;
        let cache = CompiledCache::open(cache_dir);
        Ok(Arc::new(ExtractorEngine { engine, linker, limits, plugin_limits, policy, cache }))
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The limits of the plugin known by `names` (its id and/or file name; the first with a
    /// `[extractors.plugin.NAME]` entry wins), else the engine's. Without its own
    /// `load_timeout`, loading gets the engine's, capped at the plugin's call timeout.
    pub fn limits_for(&self, names: &[&str]) -> CallLimits {
        let entry = names.iter().find_map(|n| self.plugin_limits.get(&plugin_key(n)));
        let call_timeout = entry.and_then(|e| e.call_timeout).unwrap_or(self.limits.call_timeout);
        let load_timeout =
            entry.and_then(|e| e.load_timeout).unwrap_or_else(|| self.limits.load_timeout.min(call_timeout));
        CallLimits {
            call_timeout,
            load_timeout,
            memory_bytes: entry.and_then(|e| e.memory_bytes).unwrap_or(self.limits.memory_bytes),
        }
    }

    /// Compiles `bytes` (sha256 `sha`), using and filling the local compiled-artefact cache.
    /// Blocking (cranelift): call it from `spawn_blocking`.
    pub fn compile(&self, bytes: &[u8], sha: &str) -> Result<Component, LoadError> {
        let key = self.cache_key(sha);
        if let Some(component) = self.cache.load(&self.engine, &key) {
            return Ok(component);
        }
        let component =
            Component::new(&self.engine, bytes).map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        self.cache.store(&key, &component);
        Ok(component)
    }

    /// The cache file of the plugin with sha256 `sha` under this engine, if the cache is on.
    pub fn cache_path(&self, sha: &str) -> Option<PathBuf> {
        self.cache.path(&self.cache_key(sha))
    }

    fn cache_key(&self, sha: &str) -> String {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut h = DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        format!("{sha}-{:016x}", h.finish())
    }

    /// Checks the API version, links the component, and asks it who it is (within
    /// `load_timeout`, isolated like a call), under the engine's own limits.
    pub async fn prepare(self: &Arc<Self>, component: &Component) -> Result<Prepared, LoadError> {
        self.prepare_file(component, "").await
    }

    /// [`Self::prepare`] for the plugin file `file` (e.g. `demo_site.wasm`): loading runs under
    /// the limits the file name selects, calls under those its id (else its file name) selects.
    pub async fn prepare_file(
        self: &Arc<Self>,
        component: &Component,
        file: &str,
    ) -> Result<Prepared, LoadError> {
        let loading = self.limits_for(&[file]);
        let api = check_api(&self.engine, component)?;
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(|e| LoadError::Api(format!("cannot link: {e:#}")))?;
        let pre = ExtractorPre::new(pre)
            .map_err(|e| LoadError::Api(format!("does not export the extractor world: {e:#}")))?;
        let limit = loading.load_timeout;
        let engine = self.clone();
        let loader = pre.clone();
        let outcome = isolated(limit, (), move |runtime| async move {
            let mut store =
                engine.store("(loading)", HostGrants::default(), limit, loading.memory_bytes, runtime);
            let instance = loader.instantiate_async(&mut store).await?;
            instance.call_info(&mut store).await
        })
        .await;
        let info = match outcome {
            Ok(Ok(info)) => info,
            Ok(Err(e)) => return Err(LoadError::Info(trap_message(&e))),
            Err(Isolation::Deadline) => return Err(LoadError::Info(deadline_message(limit))),
            Err(Isolation::Crashed(e)) => return Err(LoadError::Info(format!("loader crashed: {e}"))),
        };
        caps::check_info(&info).map_err(LoadError::Manifest)?;
        let limits = self.limits_for(&[&info.id, file]);
        Ok(Prepared { pre, info, api, limits })
    }

    /// A store for one guest call of `plugin`, ending `limit` from now. Running guest code
    /// yields at every epoch tick (so the caller's timeout can fire) and traps once the
    /// deadline has passed (so even a caller that forgot the timeout gets its thread back).
    fn store(
        &self,
        plugin: &str,
        grants: HostGrants,
        limit: Duration,
        memory_bytes: usize,
        runtime: tokio::runtime::Handle,
    ) -> Store<GuestState> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(memory_bytes)
            .instances(64)
            .trap_on_grow_failure(true)
            .build();
        let deadline = Instant::now() + limit;
        let state = GuestState::new(plugin, grants, self.policy.clone(), limits, deadline, runtime);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Err(wasmtime::Trap::Interrupt.into())
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store
    }

    /// Runs `extract` in a fresh instance, isolated, within the plugin's `call_timeout`, fetching what the
    /// plugin declares plus `granted` (the source's `allow_hosts`); checks the answer against
    /// [`caps`]. `slot` (a concurrency permit) is held until the guest's thread is done.
    pub async fn call_extract(
        self: &Arc<Self>,
        plugin: &Prepared,
        session: SessionRef,
        settings: Vec<(String, String)>,
        grants: HostGrants,
        slot: impl Send + 'static,
    ) -> Result<Vec<StreamCandidate>, CallError> {
        let limit = plugin.limits.call_timeout;
        let memory = plugin.limits.memory_bytes;
        let engine = self.clone();
        let pre = plugin.pre.clone();
        let id = plugin.info.id.clone();
        let outcome = isolated(limit, slot, move |runtime| async move {
            let mut store = engine.store(&id, grants, limit, memory, runtime);
            let instance = pre.instantiate_async(&mut store).await.map_err(|e| CallError {
                step: "other",
                detail: format!("instantiate: {}", trap_message(&e)),
            })?;
            let candidates = match instance.call_extract(&mut store, &session, &settings).await {
                Ok(Ok(candidates)) => candidates,
                Ok(Err(e)) => {
                    let detail = caps::escape_line(&e.detail, caps::MAX_LINE_BYTES);
                    return Err(CallError { step: e.step.as_str(), detail });
                }
                Err(e) => return Err(CallError { step: "trap", detail: trap_message(&e) }),
            };
            caps::check_candidates(&candidates).map_err(|detail| CallError { step: "other", detail })?;
            Ok(candidates)
        })
        .await;
        match outcome {
            Ok(result) => result,
            Err(Isolation::Deadline) => Err(CallError { step: "trap", detail: deadline_message(limit) }),
            Err(Isolation::Crashed(e)) => {
                Err(CallError { step: "trap", detail: format!("call crashed: {e}") })
            }
        }
    }
}

/// Runs the future `make` builds on a blocking thread of its own with a current-thread runtime,
/// for at most `limit`; `slot` is dropped when that thread is done. `make` gets the caller's
/// runtime, where host I/O (`fetch`) belongs.
async fn isolated<R, Fut>(
    limit: Duration,
    slot: impl Send + 'static,
    make: impl FnOnce(tokio::runtime::Handle) -> Fut + Send + 'static,
) -> Result<R, Isolation>
where
    Fut: Future<Output = R>,
    R: Send + 'static,
{
    let shared = tokio::runtime::Handle::current();
    let thread = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let local = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Isolation::Crashed(format!("cannot start the call's runtime: {e}")))?;
        local.block_on(async move {
            tokio::time::timeout(limit, make(shared)).await.map_err(|_| Isolation::Deadline)
        })
    });
    thread.await.unwrap_or_else(|e| Err(Isolation::Crashed(e.to_string())))
}

fn deadline_message(limit: Duration) -> String {
    format!(
        "deadline exceeded: the call ran longer than its wall-time limit ({})",
        humantime::format_duration(limit)
    )
}

/// A trap or error as one line a user can act on.
fn trap_message(e: &wasmtime::Error) -> String {
    if let Some(trap) = e.chain().find_map(|c| c.downcast_ref::<wasmtime::Trap>()) {
        return match trap {
            wasmtime::Trap::Interrupt => {
                "deadline exceeded: the call ran longer than its wall-time limit".into()
            }
            wasmtime::Trap::UnreachableCodeReached => "the guest panicked or aborted (unreachable)".into(),
            other => format!("the guest trapped: {other}"),
        };
    }
    let text = format!("{e:#}");
    if text.contains("growing memory") || text.contains("memory minimum size") {
        return "memory limit exceeded".into();
    }
    // The last cause is the specific one; the first is usually a backtrace header.
    e.chain().last().map_or(text.clone(), |c| c.to_string()).lines().next().unwrap_or_default().to_string()
}

/// Refuses components built against another major (0.x: minor) version of the API; answers the
/// version the component names.
fn check_api(engine: &Engine, component: &Component) -> Result<String, LoadError> {
    let ty = component.component_type();
    let names: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .chain(ty.exports(engine).map(|(name, _)| name.to_string()))
        .collect();
    let mut found = None;
    for name in &names {
        let Some(rest) = name.strip_prefix(&format!("{PACKAGE}/")) else { continue };
        let Some((_, version)) = rest.split_once('@') else { continue };
        found.get_or_insert_with(|| version.to_string());
        if !api_compatible(version) {
            return Err(LoadError::Api(format!(
                "built against {PACKAGE}@{version}, but this pitwall speaks {PACKAGE}@{}.{}.{}; rebuild the plugin with a matching pitwall-extractor-sdk",
                API_VERSION.0, API_VERSION.1, API_VERSION.2
            )));
        }
    }
    Ok(found.unwrap_or_else(|| "unknown".into()))
}

/// Whether a component built against API `version` runs on this host (semver: same major;
/// while the major is 0, same minor).
pub fn api_compatible(version: &str) -> bool {
    let parsed: Vec<u64> = version.split(['.', '-', '+']).take(3).map_while(|p| p.parse().ok()).collect();
    let (major, minor) =
        (parsed.first().copied().unwrap_or(u64::MAX), parsed.get(1).copied().unwrap_or(u64::MAX));
    if API_VERSION.0 == 0 { major == 0 && minor == API_VERSION.1 } else { major == API_VERSION.0 }
}

/// Step name of a call failure, for metrics (`trap` included).
pub fn step_names() -> [&'static str; 6] {
    [
        Step::Request.as_str(),
        Step::TokenParse.as_str(),
        Step::UrlExtraction.as_str(),
        Step::NotLive.as_str(),
        Step::Other.as_str(),
        "trap",
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_limits_by_id_or_file_name() {
        assert_eq!(plugin_key("Demo_Site.wasm"), "demo-site");
        let limits = Limits {
            call_timeout: Duration::from_secs(20),
            load_timeout: Duration::from_secs(10),
            ..Limits::default()
        };
        let table = PluginLimitsTable::from([
            (
                "py_site".to_string(),
                PluginLimits { memory_bytes: Some(256 << 20), ..PluginLimits::default() },
            ),
            (
                "js-site".to_string(),
                PluginLimits { call_timeout: Some(Duration::from_secs(5)), ..PluginLimits::default() },
            ),
            (
                "slow".to_string(),
                PluginLimits { load_timeout: Some(Duration::from_secs(60)), ..PluginLimits::default() },
            ),
        ]);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let _guard = runtime.enter();
        let engine =
            ExtractorEngine::with_plugin_limits(limits, table, &UpstreamGuard::new(&[]), None).unwrap();
        let defaults = CallLimits {
            call_timeout: Duration::from_secs(20),
            load_timeout: Duration::from_secs(10),
            memory_bytes: 64 << 20,
        };
        assert_eq!(engine.limits_for(&["other", "other.wasm"]), defaults);
        // By file name while loading (the id is unknown), by id or file name for calls.
        assert_eq!(engine.limits_for(&["py-site.wasm"]).memory_bytes, 256 << 20);
        assert_eq!(engine.limits_for(&["some-id", "py_site.wasm"]).memory_bytes, 256 << 20);
        let js = engine.limits_for(&["js-site"]);
        assert_eq!((js.call_timeout, js.load_timeout), (Duration::from_secs(5), Duration::from_secs(5)));
        assert_eq!(js.memory_bytes, 64 << 20, "unset fields keep the engine's value");
        assert_eq!(engine.limits_for(&["slow"]).load_timeout, Duration::from_secs(60));
    }

    #[test]
    fn api_versions() {
        assert!(api_compatible("0.1.0"));
        assert!(api_compatible("0.1.7"));
        assert!(!api_compatible("0.2.0"));
        assert!(!api_compatible("1.0.0"));
        assert!(!api_compatible("garbage"));
    }
}
