//! The store: state that matters across restarts or replicas (extracted candidates, health
//! state, the leader lock). One trait, two implementations: [`memory::MemoryStore`] (default,
//! embedded) and [`redis::RedisStore`] (`--redis-url`, shared by replicas), both with TTLs.

pub mod keys;
pub mod memory;
mod outage;
pub mod redis;

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};

use crate::extract::bindings::StreamCandidate;

/// A boxed future, so stores sit behind `dyn Store`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A key-value store with TTLs and a lock. Keys are plain strings (`cand:<session>:<source>`).
pub trait Store: Send + Sync {
    /// Sets `key` to `value`, expiring after `ttl`.
    fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> BoxFuture<'_, ()>;
    /// The value of `key`, if set and not expired.
    fn get(&self, key: &str) -> BoxFuture<'_, Option<Vec<u8>>>;
    /// Every live `(key, value)` whose key starts with `prefix`.
    fn scan(&self, prefix: &str) -> BoxFuture<'_, Vec<(String, Vec<u8>)>>;
    /// Takes or renews lock `name` for `holder` for `ttl`; true when `holder` holds it now.
    fn lock(&self, name: &str, holder: &str, ttl: Duration) -> BoxFuture<'_, bool>;
    /// `memory` or `redis`.
    fn kind(&self) -> &'static str;
}

/// Builds the configured store: Redis when a URL is given, else in-memory.
pub async fn from_url(url: Option<&str>) -> Result<Arc<dyn Store>, String> {
    match url {
        None => Ok(Arc::new(memory::MemoryStore::default())),
        Some(url) => Ok(Arc::new(redis::RedisStore::connect(url).await?)),
    }
}

/// One candidate as stored (the WIT record, serializable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Playlist URL.
    pub url: String,
    /// Label from the extractor.
    pub label: String,
    /// Headers the relay must send upstream.
    pub headers: Vec<(String, String)>,
    /// Token expiry, Unix seconds.
    pub expires_at: Option<u64>,
}

impl From<StreamCandidate> for Candidate {
    fn from(c: StreamCandidate) -> Self {
        Candidate { url: c.url, label: c.label, headers: c.headers, expires_at: c.expires_at }
    }
}

/// What one successful extraction of a source for a session found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extraction {
    /// Source id (`[[source]] id`).
    pub source: String,
    /// Extractor id.
    pub extractor: String,
    /// Session id.
    pub session: String,
    /// Unix seconds.
    pub extracted_at: i64,
    /// What it found.
    pub candidates: Vec<Candidate>,
}

/// Typed access to extractions.
pub struct Extractions;

impl Extractions {
    /// Stores an extraction for `ttl`.
    pub async fn put(store: &dyn Store, extraction: &Extraction, ttl: Duration) {
        let key = keys::extraction(&extraction.session, &extraction.source);
        match serde_json::to_vec(extraction) {
            Ok(bytes) => store.put(&key, bytes, ttl).await,
            Err(e) => tracing::error!(key, error = %e, "cannot encode an extraction"),
        }
    }

    /// Every live extraction for `session`.
    pub async fn for_session(store: &dyn Store, session: &str) -> Vec<Extraction> {
        let mut out: Vec<Extraction> = store
            .scan(&keys::extractions_of(session))
            .await
            .into_iter()
            .filter_map(|(key, bytes)| match serde_json::from_slice(&bytes) {
                Ok(e) => Some(e),
                Err(e) => {
                    tracing::warn!(key, error = %e, "ignoring an undecodable stored extraction");
                    None
                }
            })
            .collect();
        out.sort_by(|a, b| a.source.cmp(&b.source));
        out
    }
}

#[cfg(test)]
pub(crate) mod contract {
    //! The behaviour every store must have; run against each implementation.

    use super::*;

    /// How long the contract waits for a short TTL to be observed as expired: generous, so a
    /// loaded machine does not fail it; the wait ends as soon as the expiry is seen.
    const EXPIRY_BOUND: Duration = Duration::from_secs(5);
    /// A TTL no test run outlives: a key with it must still be there at the end.
    const LONG: Duration = Duration::from_secs(60);
    /// A TTL the contract waits out.
    const SHORT: Duration = Duration::from_millis(150);

    /// Polls `done` every 20 ms until it is true; panics naming `what` after [`EXPIRY_BOUND`].
    async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + EXPIRY_BOUND;
        while !done().await {
            assert!(tokio::time::Instant::now() < deadline, "not within {EXPIRY_BOUND:?}: {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn check(store: &dyn Store) {
        let prefix = format!("test:{}:", rand::random::<u32>());
        let key = |k: &str| format!("{prefix}{k}");
        assert_eq!(store.get(&key("a")).await, None);
        store.put(&key("a"), b"1".to_vec(), LONG).await;
        store.put(&key("c"), b"4".to_vec(), LONG).await;
        store.put(&key("a"), b"3".to_vec(), LONG).await;
        assert_eq!(store.get(&key("a")).await.as_deref(), Some(&b"3"[..]), "overwritten");
        let mut all = store.scan(&prefix).await;
        all.sort();
        assert_eq!(all, vec![(key("a"), b"3".to_vec()), (key("c"), b"4".to_vec())]);
        assert!(store.scan(&format!("{prefix}a")).await.len() == 1, "scan filters by prefix");

        store.put(&key("b"), b"2".to_vec(), SHORT).await;
        wait_until("a short-lived key expires", async || store.get(&key("b")).await.is_none()).await;
        wait_until("an expired key leaves scans", async || store.scan(&prefix).await.len() == 2).await;
        let mut all = store.scan(&prefix).await;
        all.sort();
        assert_eq!(all, vec![(key("a"), b"3".to_vec()), (key("c"), b"4".to_vec())], "long TTLs stay");

        let lock = key("leader");
        assert!(store.lock(&lock, "one", LONG).await);
        assert!(!store.lock(&lock, "two", LONG).await, "held by one");
        assert!(store.lock(&lock, "one", LONG).await, "renewed by its holder");
        assert!(!store.lock(&lock, "two", LONG).await, "still held by one after its renewal");
        // A renewal sets the TTL anew: a long lock renewed short expires, and another takes it.
        assert!(store.lock(&lock, "one", SHORT).await, "renewed short");
        wait_until("an expired lock is taken over", async || store.lock(&lock, "two", LONG).await).await;
        assert!(!store.lock(&lock, "one", LONG).await, "held by two now");
    }
}
