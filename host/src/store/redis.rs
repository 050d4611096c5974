//! The shared store: Redis through a connection manager, every key under `pitwall:` with a TTL.
//! Every write is mirrored in this replica's memory, so a Redis outage is not an outage:
//!
//! - The first failed call marks the link down (one warning). While down, calls never touch
//!   Redis, so they add no latency: reads and writes use memory, and the lock is this replica's
//!   own, so each replica keeps polling and probing on its own.
//! - The poller renews its lock every second; while down, that call also looks for Redis (with
//!   backoff, see [`outage`]). When Redis answers, this replica pushes back its live entries —
//!   those written during the outage overwrite, the rest fill what Redis lacks — each with its
//!   remaining TTL, and only then switches back (one line, with how long the outage lasted).
//! - While up, reads merge Redis with memory: a key in either is present, so a restarted, empty
//!   Redis never empties `/streams`, even for one request.

use std::{
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use redis::{
    AsyncCommands,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use super::{
    BoxFuture, Store,
    memory::MemoryStore,
    outage::{self, Link, Push},
};

const PREFIX: &str = "pitwall:";

/// Longest a store call waits for Redis before answering from memory (connect plus response).
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest a look for a returning Redis waits.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest the push of this replica's entries back into Redis may take.
const PUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// Pushes in a row when writes keep landing in memory during the push; then look again later.
const PUSH_ROUNDS: usize = 4;

/// Takes the lock if free, or renews it if `holder` has it; 1 when held by `holder` afterwards.
const LOCK_SCRIPT: &str = r#"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"#;

/// Redis-backed [`Store`].
pub struct RedisStore {
    conn: ConnectionManager,
    /// Every write of this replica, with its TTL.
    mirror: MemoryStore,
    /// Locks while Redis is down: this replica's own.
    local_locks: MemoryStore,
    link: Mutex<Link>,
    lock: redis::Script,
}

/// Why a Redis call gave no answer.
#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

async fn bounded<T>(
    limit: Duration,
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, CallError> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(CallError::Timeout(limit)),
    }
}

impl RedisStore {
    /// Connects (the first connection must succeed, so a typo'd URL fails at start).
    pub async fn connect(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("invalid --redis-url: {e}"))?;
        // Reconnect quickly and give up quickly: a call during an outage must fail in about a
        // second, not wait out the default six retries; the store's own backoff paces the looks.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500))
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)));
        let conn =
            tokio::time::timeout(Duration::from_secs(10), client.get_connection_manager_with_config(config))
                .await
                .map_err(|_| "cannot reach Redis within 10 s".to_string())?
                .map_err(|e| format!("cannot connect to Redis: {e}"))?;
        Ok(RedisStore {
            conn,
            mirror: MemoryStore::default(),
            local_locks: MemoryStore::default(),
            link: Mutex::new(Link::default()),
            lock: redis::Script::new(LOCK_SCRIPT),
        })
    }

    fn link(&self) -> MutexGuard<'_, Link> {
        self.link.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_up(&self) -> bool {
        self.link().is_up()
    }

    /// A call failed: the first failure of an outage is logged, the rest are not.
    fn failed(&self, op: &str, error: &CallError) {
        if self.link().failed(Instant::now()) {
            tracing::warn!(
                op, error = %error,
                "Redis unreachable: this replica serves from its own memory and runs its own polls and probes until Redis answers again"
            );
        }
    }

    /// While down and the backoff allows: looks for Redis and, when it answers, pushes this
    /// replica's entries back and switches to it. Called from `lock`, which the poller runs
    /// every second on every replica, so no request ever waits for a look.
    async fn recover(&self) {
        if !self.link().start_probe(Instant::now()) {
            return;
        }
        // If this future is dropped half-way, the next look is not blocked forever.
        let mut unfinished = UnfinishedProbe(Some(self));
        self.probe_and_push().await;
        unfinished.0 = None;
    }

    /// Looks for Redis, then pushes; ends the look in every case (failed, or the link is up).
    async fn probe_and_push(&self) {
        let mut conn = self.conn.clone();
        if bounded(PROBE_TIMEOUT, redis::cmd("PING").query_async::<()>(&mut conn)).await.is_err() {
            self.link().probe_failed(Instant::now());
            return;
        }
        for _ in 0..PUSH_ROUNDS {
            let unsynced = self.link().take_unsynced();
            let entries = self.mirror.live_entries();
            let mut pipe = redis::pipe();
            for (key, value, left) in &entries {
                let full = format!("{PREFIX}{key}");
                let options =
                    redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(millis(*left)));
                match outage::push_kind(key, &unsynced) {
                    Push::Overwrite => pipe.set_options(&full, value, options),
                    Push::IfMissing => {
                        pipe.set_options(&full, value, options.conditional_set(redis::ExistenceCheck::NX))
                    }
                };
                pipe.ignore();
            }
            let pushed = if entries.is_empty() {
                Ok(())
            } else {
                bounded(PUSH_TIMEOUT, pipe.query_async::<()>(&mut conn)).await
            };
            if let Err(e) = pushed {
                tracing::debug!(error = %e, "pushing this replica's entries back into Redis failed; trying again later");
                self.link().push_failed(unsynced, Instant::now());
                return;
            }
            if let Some(lasted) = self.link().finish_recovery(Instant::now()) {
                tracing::warn!(
                    lasted = ?Duration::from_secs(lasted.as_secs()), entries = entries.len(),
                    "Redis is back: pushed this replica's entries to it and shares its state again"
                );
                return;
            }
        }
        // Writes kept landing during every push; look again after the backoff.
        self.link().probe_failed(Instant::now());
    }
}

/// Ends a look for Redis that was dropped before it finished (as a failed one).
struct UnfinishedProbe<'a>(Option<&'a RedisStore>);

impl Drop for UnfinishedProbe<'_> {
    fn drop(&mut self) {
        if let Some(store) = self.0 {
            store.link().probe_failed(Instant::now());
        }
    }
}

fn millis(ttl: Duration) -> u64 {
    (ttl.as_millis() as u64).max(1)
}

impl Store for RedisStore {
    fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> BoxFuture<'_, ()> {
        self.mirror.put_now(key, value.clone(), ttl);
        let up = {
            let mut link = self.link();
            if !link.is_up() {
                link.unsynced(key);
            }
            link.is_up()
        };
        let key = key.to_string();
        let mut conn = self.conn.clone();
        Box::pin(async move {
            if !up {
                return;
            }
            let full = format!("{PREFIX}{key}");
            if let Err(e) = bounded(CALL_TIMEOUT, conn.pset_ex::<_, _, ()>(&full, value, millis(ttl))).await {
                self.link().unsynced(&key);
                self.failed("put", &e);
            }
        })
    }

    fn get(&self, key: &str) -> BoxFuture<'_, Option<Vec<u8>>> {
        let key = key.to_string();
        let up = self.is_up();
        let mut conn = self.conn.clone();
        Box::pin(async move {
            if !up {
                return self.mirror.get_now(&key);
            }
            let full = format!("{PREFIX}{key}");
            match bounded(CALL_TIMEOUT, conn.get::<_, Option<Vec<u8>>>(&full)).await {
                Ok(Some(value)) => Some(value),
                // Redis may have lost it (restarted, not refilled yet); memory may still know it.
                Ok(None) => self.mirror.get_now(&key),
                Err(e) => {
                    self.failed("get", &e);
                    self.mirror.get_now(&key)
                }
            }
        })
    }

    fn scan(&self, prefix: &str) -> BoxFuture<'_, Vec<(String, Vec<u8>)>> {
        let prefix = prefix.to_string();
        let up = self.is_up();
        let mut conn = self.conn.clone();
        Box::pin(async move {
            if !up {
                return self.mirror.scan_now(&prefix);
            }
            match bounded(CALL_TIMEOUT, scan_values(&mut conn, &prefix)).await {
                Ok(values) => outage::merge(values, self.mirror.scan_now(&prefix)),
                Err(e) => {
                    self.failed("scan", &e);
                    self.mirror.scan_now(&prefix)
                }
            }
        })
    }

    fn lock(&self, name: &str, holder: &str, ttl: Duration) -> BoxFuture<'_, bool> {
        let key = format!("{PREFIX}lock:{name}");
        let (name, holder) = (name.to_string(), holder.to_string());
        let mut conn = self.conn.clone();
        Box::pin(async move {
            if !self.is_up() {
                self.recover().await;
            }
            if !self.is_up() {
                // Without Redis no replica can coordinate: each one acts alone.
                return self.local_locks.lock_now(&name, &holder, ttl);
            }
            let mut invocation = self.lock.key(&key);
            invocation.arg(&holder).arg(millis(ttl));
            match bounded(CALL_TIMEOUT, invocation.invoke_async::<i64>(&mut conn)).await {
                Ok(held) => held == 1,
                Err(e) => {
                    self.failed("lock", &e);
                    self.local_locks.lock_now(&name, &holder, ttl)
                }
            }
        })
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

/// Every `(key, value)` under `prefix` in Redis, keys without [`PREFIX`].
async fn scan_values(
    conn: &mut ConnectionManager,
    prefix: &str,
) -> redis::RedisResult<Vec<(String, Vec<u8>)>> {
    let pattern = format!("{PREFIX}{}*", escape_glob(prefix));
    let keys = scan_keys(conn, &pattern).await?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let values: Vec<Option<Vec<u8>>> = conn.mget(&keys).await?;
    Ok(keys
        .into_iter()
        .zip(values)
        .filter_map(|(k, v)| Some((k.strip_prefix(PREFIX)?.to_string(), v?)))
        .collect())
}

async fn scan_keys(conn: &mut ConnectionManager, pattern: &str) -> redis::RedisResult<Vec<String>> {
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    // Bounded: 10,000 pages of 500 is far beyond pitwall's key count.
    for _ in 0..10_000 {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(500)
            .query_async(conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

fn escape_glob(text: &str) -> String {
    text.chars()
        .flat_map(|c| if matches!(c, '*' | '?' | '[' | ']' | '\\') { vec!['\\', c] } else { vec![c] })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A Redis for tests: `PITWALL_TEST_REDIS_URL` (set by `cargo xtask ci`), or a throwaway
    /// `redis-server` started here on a free loopback port.
    pub struct TestRedis {
        pub url: String,
        child: Option<std::process::Child>,
    }

    impl Drop for TestRedis {
        fn drop(&mut self) {
            if let Some(child) = &mut self.child {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    pub fn test_redis() -> TestRedis {
        if let Ok(url) = std::env::var("PITWALL_TEST_REDIS_URL") {
            return TestRedis { url, child: None };
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect(
                "redis-server must be installed (cargo xtask ci installs it) or PITWALL_TEST_REDIS_URL set",
            );
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        TestRedis { url: format!("redis://127.0.0.1:{port}"), child: Some(child) }
    }

    #[tokio::test]
    async fn meets_the_store_contract_with_ttls() {
        let redis = test_redis();
        let store = RedisStore::connect(&redis.url).await.unwrap();
        super::super::contract::check(&store).await;
        store.put("ttl-check", b"x".to_vec(), Duration::from_secs(90)).await;
        let client = redis::Client::open(redis.url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let ttl: i64 = redis::cmd("TTL").arg("pitwall:ttl-check").query_async(&mut conn).await.unwrap();
        assert!(ttl > 0 && ttl <= 90, "TTL {ttl}");
    }

    /// `redis-server` on `port` (no persistence: a restart comes back empty), ready to accept.
    fn redis_server(port: u16) -> std::process::Child {
        let mut child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed (cargo xtask ci installs it)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return child;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server on port {port} did not start within 5 s");
    }

    #[tokio::test]
    async fn rides_out_a_redis_restart_without_losing_a_key() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = redis_server(port);
        let url = format!("redis://127.0.0.1:{port}");
        let store = RedisStore::connect(&url).await.unwrap();
        let minute = Duration::from_secs(60);
        store.put("k:before", b"1".to_vec(), minute).await;
        store.put("k:changed", b"old".to_vec(), minute).await;
        assert!(store.lock("leader", "one", minute).await);

        server.kill().unwrap();
        server.wait().unwrap();
        // The first call finds out; every later one answers from memory without waiting.
        assert_eq!(store.get("k:before").await.as_deref(), Some(&b"1"[..]));
        let started = Instant::now();
        for _ in 0..20 {
            assert_eq!(store.scan("k:").await.len(), 2);
            assert_eq!(store.get("k:before").await.as_deref(), Some(&b"1"[..]));
        }
        // Waiting on Redis would cost a 1 s timeout per call; all 40 together stay under one.
        assert!(started.elapsed() < Duration::from_secs(1), "{:?} for 40 calls", started.elapsed());
        store.put("k:during", b"2".to_vec(), minute).await;
        store.put("k:changed", b"new".to_vec(), minute).await;
        assert!(store.lock("leader", "one", minute).await, "alone, this replica holds its lock");
        assert_eq!(store.scan("k:").await.len(), 3);

        let mut server = redis_server(port);
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut direct = client.get_multiplexed_async_connection().await.unwrap();
        // The lock renewal looks for Redis (with backoff) and pushes this replica's keys back.
        let mut back = false;
        for _ in 0..100 {
            assert_eq!(store.scan("k:").await.len(), 3, "no key missing while Redis refills");
            store.lock("leader", "one", minute).await;
            let keys: Vec<String> = direct.keys("pitwall:k:*").await.unwrap();
            if keys.len() == 3 {
                back = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(back, "Redis never got this replica's keys back");
        let changed: Option<Vec<u8>> = direct.get("pitwall:k:changed").await.unwrap();
        assert_eq!(changed.as_deref(), Some(&b"new"[..]), "the write made during the outage wins");
        let ttl: i64 = redis::cmd("PTTL").arg("pitwall:k:during").query_async(&mut direct).await.unwrap();
        assert!(ttl > 50_000 && ttl <= 60_000, "pushed with its remaining TTL, not {ttl} ms");
        assert!(store.is_up());
        store.put("k:after", b"3".to_vec(), minute).await;
        let after: Option<Vec<u8>> = direct.get("pitwall:k:after").await.unwrap();
        assert_eq!(after.as_deref(), Some(&b"3"[..]), "writes reach Redis again");
        server.kill().unwrap();
        server.wait().unwrap();
    }

    #[tokio::test]
    async fn bad_url_is_a_clear_error() {
        let e = RedisStore::connect("not a url").await.err().unwrap();
        assert!(e.contains("--redis-url"), "{e}");
    }
}
