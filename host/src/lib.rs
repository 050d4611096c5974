//! pitwall: a self-hosted F1 live stream aggregator.
//!
//! The binary (`main.rs`) parses [`config::Config`] and calls [`run`]; tests call [`run`] with a
//! listener on port 0. See `docs/ARCHITECTURE.md` for the code map and invariants.

pub mod api;
pub mod config;
pub mod schedule;
pub mod telemetry;

use std::{
    collections::BTreeMap,
    future::{Future, IntoFuture},
    sync::{Arc, Mutex},
};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::Config;
use telemetry::Metrics;

/// Shared state handed to every handler and background job.
#[derive(Clone)]
pub struct AppState {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Readiness checks behind `/readyz`.
    pub readiness: Readiness,
    /// Cancelled when the server shuts down; every background loop watches it.
    pub shutdown: CancellationToken,
}

/// Named readiness checks: `/readyz` answers 200 once every registered one is done.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Arc<Mutex<BTreeMap<&'static str, bool>>>,
}

impl Readiness {
    /// Registers a check that starts as not ready.
    pub fn register(&self, name: &'static str) {
        self.lock().insert(name, false);
    }

    /// Marks a check as ready.
    pub fn set_ready(&self, name: &'static str) {
        self.lock().insert(name, true);
    }

    /// Names of the checks still pending.
    pub fn pending(&self) -> Vec<&'static str> {
        self.lock().iter().filter(|(_, ready)| !**ready).map(|(name, _)| *name).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, bool>> {
        // A panic while holding this lock cannot leave the map inconsistent; keep serving.
        self.checks.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Fatal errors while running.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The HTTP server failed.
    #[error("server error: {0}")]
    Serve(#[from] std::io::Error),
}

/// Serves pitwall on `listener` until `shutdown` resolves, then stops accepting connections,
/// lets in-flight responses finish for at most `--drain-timeout`, and returns.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let drain_timeout = config.flags.drain_timeout;
    let state = AppState {
        config: Arc::new(config),
        metrics: Arc::new(Metrics::new()),
        readiness: Readiness::default(),
        shutdown: CancellationToken::new(),
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        addr = %listener.local_addr()?,
        data_dir = %state.config.flags.data_dir.display(),
        "pitwall serving"
    );
    let app = api::router(state.clone());
    let stop = state.shutdown.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections, draining in-flight responses");
        stop.cancel();
    });
    let stop = state.shutdown.clone();
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .into_future();
    tokio::pin!(server);
    let stop = state.shutdown.clone();
    tokio::select! {
        result = &mut server => result?,
        () = async move {
            stop.cancelled().await;
            tokio::time::sleep(drain_timeout).await;
        } => {
            tracing::warn!(timeout = ?drain_timeout, "drain timeout reached; closing remaining connections");
        }
    }
    tracing::info!("stopped");
    Ok(())
}
