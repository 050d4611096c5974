//! The plugin watcher: polls the plugins directory at a fixed interval (NFS has no inotify) and
//! lets the registry load, replace and unload plugins.

use std::{sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;

use super::sleep_or_shutdown;
use crate::{Readiness, extract::PluginRegistry};

/// Name of the readiness check this job satisfies.
pub const READY: &str = "plugins";

/// Polls until `shutdown`. The first load happens after two quick observations, so files already
/// present at start are served within a fraction of a second.
pub async fn run(
    registry: Arc<PluginRegistry>,
    interval: Duration,
    readiness: Readiness,
    shutdown: CancellationToken,
) {
    if let Err(e) = tokio::fs::create_dir_all(registry.dir()).await {
        tracing::warn!(dir = %registry.dir().display(), error = %e, "cannot create the plugins directory");
    }
    // A poll may wait for a plugin's load deadline: shutdown does not wait for it.
    let poll = || async {
        tokio::select! {
            _ = registry.poll() => true,
            () = shutdown.cancelled() => false,
        }
    };
    if !poll().await || !sleep_or_shutdown(interval.min(Duration::from_millis(300)), &shutdown).await {
        return;
    }
    if !poll().await {
        return;
    }
    tracing::info!(dir = %registry.dir().display(), plugins = ?registry.ids(), "plugins loaded");
    readiness.set_ready(READY);
    while sleep_or_shutdown(interval, &shutdown).await && poll().await {}
}
