//! The embedded store: a map with per-entry expiry, swept lazily on access.

use std::{
    collections::BTreeMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use super::{BoxFuture, Store};

/// In-memory [`Store`]; the default without `--redis-url`, and Redis's fallback.
#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<String, (Vec<u8>, Instant)>>,
}

impl MemoryStore {
    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (Vec<u8>, Instant)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Synchronous put, for the Redis store's mirror.
    pub fn put_now(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        self.entries().insert(key.to_string(), (value, Instant::now() + ttl));
    }

    /// Synchronous get.
    pub fn get_now(&self, key: &str) -> Option<Vec<u8>> {
        let now = Instant::now();
        let mut entries = self.entries();
        match entries.get(key) {
            Some((value, expires)) if *expires > now => Some(value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Synchronous scan.
    pub fn scan_now(&self, prefix: &str) -> Vec<(String, Vec<u8>)> {
        let now = Instant::now();
        let mut entries = self.entries();
        entries.retain(|_, (_, expires)| *expires > now);
        entries
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    }

    /// Every live entry with how long it has left, for pushing this replica's entries back into
    /// Redis after an outage.
    pub fn live_entries(&self) -> Vec<(String, Vec<u8>, Duration)> {
        let now = Instant::now();
        let mut entries = self.entries();
        entries.retain(|_, (_, expires)| *expires > now);
        entries.iter().map(|(k, (v, expires))| (k.clone(), v.clone(), *expires - now)).collect()
    }

    /// Synchronous lock.
    pub fn lock_now(&self, name: &str, holder: &str, ttl: Duration) -> bool {
        let now = Instant::now();
        let mut entries = self.entries();
        let free = match entries.get(name) {
            Some((current, expires)) => *expires <= now || current == holder.as_bytes(),
            None => true,
        };
        if free {
            entries.insert(name.to_string(), (holder.as_bytes().to_vec(), now + ttl));
        }
        free
    }
}

impl Store for MemoryStore {
    fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> BoxFuture<'_, ()> {
        self.put_now(key, value, ttl);
        Box::pin(async {})
    }

    fn get(&self, key: &str) -> BoxFuture<'_, Option<Vec<u8>>> {
        let value = self.get_now(key);
        Box::pin(async move { value })
    }

    fn scan(&self, prefix: &str) -> BoxFuture<'_, Vec<(String, Vec<u8>)>> {
        let values = self.scan_now(prefix);
        Box::pin(async move { values })
    }

    fn lock(&self, name: &str, holder: &str, ttl: Duration) -> BoxFuture<'_, bool> {
        let held = self.lock_now(name, holder, ttl);
        Box::pin(async move { held })
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[tokio::test]
    async fn meets_the_store_contract() {
        super::super::contract::check(&super::MemoryStore::default()).await;
    }

    #[test]
    fn live_entries_carry_their_remaining_ttl() {
        let store = super::MemoryStore::default();
        store.put_now("a", b"1".to_vec(), Duration::from_secs(60));
        store.put_now("gone", b"2".to_vec(), Duration::ZERO);
        let entries = store.live_entries();
        assert_eq!(entries.len(), 1, "the expired entry is left out");
        let (key, value, left) = &entries[0];
        assert_eq!((key.as_str(), value.as_slice()), ("a", &b"1"[..]));
        assert!(*left <= Duration::from_secs(60) && *left > Duration::from_secs(59), "{left:?}");
    }
}
