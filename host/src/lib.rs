//! pitwall: a self-hosted F1 live stream aggregator.
//!
//! The binary (`main.rs`) parses [`config::Config`] and calls [`run`]; tests call [`run`] with a
//! listener on port 0. See `docs/ARCHITECTURE.md` for the code map and invariants.

pub mod api;
pub mod check;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod extract;
pub mod health;
pub mod jobs;
pub mod net;
pub mod relay;
pub mod schedule;
pub mod serve;
pub mod store;
pub mod streams;
pub mod telemetry;

use std::{collections::BTreeMap, future::Future, sync::Arc};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::Config;
use net::UpstreamGuard;
use schedule::{Clock, ScheduleService, SystemClock};
use telemetry::Metrics;

/// Shared state handed to every handler and background job: one allocation behind an `Arc`,
/// so the clone axum makes for every extractor and middleware is one reference count, not one
/// per field.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl From<AppParts> for AppState {
    fn from(parts: AppParts) -> Self {
        AppState(Arc::new(parts))
    }
}

/// What [`AppState`] holds.
pub struct AppParts {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Readiness checks behind `/readyz`.
    pub readiness: Readiness,
    /// The season calendar.
    pub schedule: Arc<ScheduleService>,
    /// Loaded extractor plugins.
    pub plugins: Arc<extract::PluginRegistry>,
    /// Shared state: extractions, health, leader lock.
    pub store: Arc<dyn store::Store>,
    /// The HLS relay.
    pub relay: Arc<relay::Relay>,
    /// Cancelled when the server shuts down; every background loop watches it.
    pub shutdown: CancellationToken,
    /// Wrong-token attempts per client.
    pub throttle: Arc<api::auth::LoginThrottle>,
    /// Session URLs: one output playlist per session and quality, failing over between streams.
    pub sessions: Arc<streams::session::Sessions>,
    /// Candidates' master playlists, fetched once per candidate.
    pub masters: Arc<streams::masters::Masters>,
    /// Reactive refresh requests (refused playlists) to the poller, and extraction news back.
    pub refresh: Arc<streams::refresh::RefreshBus>,
    /// Failed segments per stream, reported by the relay, read by session tracks.
    pub media_errors: Arc<streams::errors::MediaErrors>,
    /// The one clock for every judgement of time (sessions live, streams verified, tokens,
    /// relay URL expiry); tests move it ([`schedule::ManualClock`]).
    pub clock: Arc<dyn Clock>,
}

/// Named readiness checks: `/readyz` answers 200 once every registered one is done, and jobs
/// that depend on another's first result wait for its check ([`Readiness::wait`]).
#[derive(Clone)]
pub struct Readiness {
    checks: Arc<tokio::sync::watch::Sender<BTreeMap<&'static str, bool>>>,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness { checks: Arc::new(tokio::sync::watch::Sender::new(BTreeMap::new())) }
    }
}

impl Readiness {
    /// Registers a check that starts as not ready.
    pub fn register(&self, name: &'static str) {
        self.checks.send_modify(|checks| {
            checks.insert(name, false);
        });
    }

    /// Marks a check as ready.
    pub fn set_ready(&self, name: &'static str) {
        self.checks.send_modify(|checks| {
            checks.insert(name, true);
        });
    }

    /// Names of the checks still pending.
    pub fn pending(&self) -> Vec<&'static str> {
        self.checks.borrow().iter().filter(|(_, ready)| !**ready).map(|(name, _)| *name).collect()
    }

    /// Resolves once check `name` is ready (at once if it already is).
    pub async fn wait(&self, name: &'static str) {
        let mut changes = self.checks.subscribe();
        // The sender lives as long as `self`, so the channel cannot close while we wait.
        let _ = changes.wait_for(|checks| checks.get(name) == Some(&true)).await;
    }
}

/// Fatal errors while running.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The HTTP server failed.
    #[error("server error: {0}")]
    Serve(#[from] std::io::Error),
    /// The outbound HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// The relay key could not be read or created.
    #[error("cannot read or create the relay key {0}: {1}")]
    RelayKey(String, std::io::Error),
    /// The store could not be reached.
    #[error("{0}")]
    Store(String),
    /// The WebAssembly engine could not start.
    #[error("cannot start the extractor engine: {0:#}")]
    Engine(anyhow::Error),
    /// `--demo` could not start.
    #[error("demo: {0}")]
    Demo(String),
}

/// Serves pitwall on `listener` until `shutdown` resolves, then stops accepting connections,
/// lets in-flight responses finish for at most `--drain-timeout`, and returns.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    run_with_clock(config, listener, shutdown, Arc::new(SystemClock)).await
}

/// [`run`] with an injected clock (tests move time; production uses [`SystemClock`]).
pub async fn run_with_clock(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    clock: Arc<dyn Clock>,
) -> Result<(), RunError> {
    #[cfg(feature = "demo")]
    let (config, testbed) = {
        let mut config = config;
        let testbed = if config.flags.demo { Some(demo::start(&mut config).await?) } else { None };
        (config, testbed)
    };
    for source in config.file.source.iter().filter(|s| s.allow_hosts.iter().any(|h| h == "*")) {
        tracing::warn!(source = %source.id, extractor = %source.extractor, "allow_hosts = [\"*\"]: this source's extractor may fetch any public host (the SSRF guard still applies)");
    }
    let drain_timeout = config.flags.drain_timeout;
    let guard = UpstreamGuard::new(&config.flags.allow_upstream);
    #[cfg(feature = "demo")]
    let guard = match &testbed {
        Some(testbed) => demo::resolve_to(guard, testbed),
        None => guard,
    };
    let schedule = Arc::new(schedule_service(&config, &guard, clock.clone())?);
    schedule.load_local();
    let plugins =
        Arc::new(extract::PluginRegistry::new(engine(&config, &guard)?, config.flags.plugins_dir.clone()));
    let store = store::from_url(config.flags.redis_url.as_deref()).await.map_err(RunError::Store)?;
    let metrics = Arc::new(Metrics::new());
    let segment_files = relay::shm::keep_in(&config.cache_dir());
    tracing::info!(from = %segment_files, "hot segments are sent without copying");
    let relay = Arc::new(relay::Relay {
        rewritten: Default::default(),
        opened: Default::default(),
        key: relay::token::RelayKey::load_or_create(
            &config.flags.data_dir,
            config.flags.relay_key.as_deref(),
        )
        .map_err(|e| RunError::RelayKey(config.flags.data_dir.join("relay.key").display().to_string(), e))?,
        upstream: Arc::new(
            relay::upstream::Upstream::new(&guard, RELAY_SHARED_BYTES, metrics.relay.clone())?
                .sharing_playlists(store.clone()),
        ),
    });
    let state: AppState = AppParts {
        config: Arc::new(config),
        metrics,
        readiness: Readiness::default(),
        schedule,
        plugins,
        store,
        relay,
        shutdown: CancellationToken::new(),
        throttle: Arc::default(),
        sessions: Arc::default(),
        masters: Arc::default(),
        refresh: Arc::default(),
        media_errors: Arc::default(),
        clock,
    }
    .into();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        addr = %listener.local_addr()?,
        data_dir = %state.config.flags.data_dir.display(),
        "pitwall serving"
    );
    let prober = health::probe::Prober::new(&guard, health::board::PROBE_TIMEOUT)?;
    let jobs = spawn_jobs(&state, prober);
    let app = api::router(state.clone());
    let limits = serve::EdgeLimits {
        max_connections: state.config.flags.max_connections,
        header_read_timeout: state.config.flags.header_read_timeout,
        ..serve::EdgeLimits::default()
    };
    let serving = serve::serve(
        listener,
        app,
        limits,
        state.config.flags.trusted_proxy.clone(),
        state.shutdown.clone(),
        drain_timeout,
    );
    tokio::pin!(serving);
    tokio::select! {
        result = &mut serving => result?,
        () = shutdown => {
            tracing::info!("shutting down: no new connections, draining in-flight responses");
            state.shutdown.cancel();
            serving.await?;
        }
    }
    state.shutdown.cancel();
    for job in jobs {
        let _ = job.await;
    }
    #[cfg(feature = "demo")]
    if let Some(testbed) = testbed {
        testbed.shutdown().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Starts every background job; each stops when `state.shutdown` is cancelled.
fn spawn_jobs(state: &AppState, prober: health::probe::Prober) -> Vec<tokio::task::JoinHandle<()>> {
    state.readiness.register(jobs::schedule::READY);
    let refresh = jobs::schedule::run(
        state.schedule.clone(),
        state.config.file.schedule.refresh.schedule().clone(),
        jobs::Backoff {
            first: std::time::Duration::from_secs(30),
            max: std::time::Duration::from_secs(30 * 60),
        },
        state.readiness.clone(),
        state.shutdown.clone(),
    );
    state.readiness.register(jobs::plugins::READY);
    let watcher = jobs::plugins::run(
        state.plugins.clone(),
        state.config.file.extractors.poll,
        state.readiness.clone(),
        state.shutdown.clone(),
    );
    let poller = Arc::new(jobs::poll::Poller {
        schedule: state.schedule.clone(),
        plugins: state.plugins.clone(),
        store: state.store.clone(),
        sources: state.config.file.source.clone(),
        window_before: state.config.file.polling.window_before,
        window_after: state.config.file.polling.window_after,
        metrics: state.metrics.clone(),
        holder: format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
        readiness: state.readiness.clone(),
        refresh: state.refresh.clone(),
    });
    let health = Arc::new(jobs::health::HealthJob {
        poller: poller.clone(),
        prober,
        interval: state.config.file.health.interval,
        thresholds: health::board::Thresholds {
            fail_threshold: state.config.file.health.fail_threshold,
            ..health::board::Thresholds::default()
        },
        last_round_ms: std::sync::atomic::AtomicU64::new(0),
    });
    let polls = poller.run(state.shutdown.clone());
    let probes = health.run(state.shutdown.clone());
    vec![tokio::spawn(refresh), tokio::spawn(watcher), tokio::spawn(polls), tokio::spawn(probes)]
}

/// The schedule service the configuration describes: its sources in preference order and its
/// default season. (Here, not in `schedule`, so `schedule` knows nothing of `config`.)
pub fn schedule_service(
    config: &Config,
    guard: &UpstreamGuard,
    clock: Arc<dyn Clock>,
) -> Result<ScheduleService, reqwest::Error> {
    let client = crate::net::client_builder(guard).build()?;
    let schedule = &config.file.schedule;
    let sources = schedule
        .sources
        .iter()
        .map(|id| -> Box<dyn schedule::sources::ScheduleSource> {
            match id {
                config::ScheduleSourceId::Jolpica => Box::new(schedule::sources::Jolpica::new(
                    &schedule.jolpica_url,
                    client.clone(),
                    guard.clone(),
                    schedule::JOLPICA_PAGE,
                )),
                config::ScheduleSourceId::Openf1 => Box::new(schedule::sources::OpenF1::new(
                    &schedule.openf1_url,
                    client.clone(),
                    guard.clone(),
                )),
            }
        })
        .collect();
    let default_season = match schedule.season {
        config::SeasonSetting::Current => None,
        config::SeasonSetting::Year(y) => Some(y),
    };
    Ok(ScheduleService::new(sources, config.flags.data_dir.clone(), clock, default_season))
}

/// The extractor engine with the configured limits and the compiled-plugin cache.
pub(crate) fn engine(
    config: &Config,
    guard: &UpstreamGuard,
) -> Result<Arc<extract::ExtractorEngine>, RunError> {
    let x = &config.file.extractors;
    let limits = extract::Limits {
        call_timeout: x.call_timeout,
        // info() should answer at once; a plugin that hangs there is rejected by this deadline.
        load_timeout: x.call_timeout.min(extract::Limits::default().load_timeout),
        memory_bytes: x.memory_mb as usize * 1024 * 1024,
        fetch_body_bytes: x.fetch_body_mb as usize * 1024 * 1024,
        concurrent_calls: x.concurrent_calls,
        ..extract::Limits::default()
    };
    let plugin_limits = x
        .plugin
        .iter()
        .map(|(name, p)| {
            let limits = extract::PluginLimits {
                memory_bytes: p.memory_mb.map(|mb| mb as usize * 1024 * 1024),
                call_timeout: p.call_timeout,
                load_timeout: p.load_timeout,
            };
            (name.clone(), limits)
        })
        .collect();
    extract::ExtractorEngine::with_plugin_limits(limits, plugin_limits, guard, Some(config.cache_dir()))
        .map_err(RunError::Engine)
}

/// Memory for segments shared between viewers (single-flight buffers); past it, pass-through.
pub const RELAY_SHARED_BYTES: usize = 64 << 20;
