//! The shared store: Redis through a connection manager (reconnects by itself), every key under
//! `pitwall:` with a TTL. Every write is mirrored in memory, so a Redis outage degrades to
//! "serve what this replica knows" with a log line, never a crash.

use std::time::Duration;

use redis::{AsyncCommands, aio::ConnectionManager};

use super::{BoxFuture, Store, memory::MemoryStore};

const PREFIX: &str = "pitwall:";

/// Takes the lock if free, or renews it if `holder` has it; 1 when held by `holder` afterwards.
const LOCK_SCRIPT: &str = r#"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"#;

/// Redis-backed [`Store`].
pub struct RedisStore {
    conn: ConnectionManager,
    mirror: MemoryStore,
    lock: redis::Script,
}

impl RedisStore {
    /// Connects (the first connection must succeed, so a typo'd URL fails at start).
    pub async fn connect(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("invalid --redis-url: {e}"))?;
        let conn = tokio::time::timeout(Duration::from_secs(10), client.get_connection_manager())
            .await
            .map_err(|_| "cannot reach Redis within 10 s".to_string())?
            .map_err(|e| format!("cannot connect to Redis: {e}"))?;
        Ok(RedisStore { conn, mirror: MemoryStore::default(), lock: redis::Script::new(LOCK_SCRIPT) })
    }

    fn warn(op: &str, key: &str, e: &redis::RedisError) {
        tracing::warn!(op, key, error = %e, "Redis unavailable; serving from this replica's memory");
    }
}

fn millis(ttl: Duration) -> u64 {
    (ttl.as_millis() as u64).max(1)
}

impl Store for RedisStore {
    fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> BoxFuture<'_, ()> {
        self.mirror.put_now(key, value.clone(), ttl);
        let key = format!("{PREFIX}{key}");
        let mut conn = self.conn.clone();
        Box::pin(async move {
            let result: redis::RedisResult<()> = conn.pset_ex(&key, value, millis(ttl)).await;
            if let Err(e) = result {
                Self::warn("put", &key, &e);
            }
        })
    }

    fn get(&self, key: &str) -> BoxFuture<'_, Option<Vec<u8>>> {
        let full = format!("{PREFIX}{key}");
        let key = key.to_string();
        let mut conn = self.conn.clone();
        Box::pin(async move {
            match conn.get::<_, Option<Vec<u8>>>(&full).await {
                Ok(value) => value,
                Err(e) => {
                    Self::warn("get", &full, &e);
                    self.mirror.get_now(&key)
                }
            }
        })
    }

    fn scan(&self, prefix: &str) -> BoxFuture<'_, Vec<(String, Vec<u8>)>> {
        let prefix = prefix.to_string();
        let mut conn = self.conn.clone();
        Box::pin(async move {
            let pattern = format!("{PREFIX}{}*", escape_glob(&prefix));
            let keys: Vec<String> = match scan_keys(&mut conn, &pattern).await {
                Ok(keys) => keys,
                Err(e) => {
                    Self::warn("scan", &pattern, &e);
                    return self.mirror.scan_now(&prefix);
                }
            };
            if keys.is_empty() {
                return Vec::new();
            }
            match conn.mget::<_, Vec<Option<Vec<u8>>>>(&keys).await {
                Ok(values) => keys
                    .into_iter()
                    .zip(values)
                    .filter_map(|(k, v)| Some((k.strip_prefix(PREFIX)?.to_string(), v?)))
                    .collect(),
                Err(e) => {
                    Self::warn("mget", &pattern, &e);
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
            match self.lock.key(&key).arg(&holder).arg(millis(ttl)).invoke_async::<i64>(&mut conn).await {
                Ok(held) => held == 1,
                Err(e) => {
                    // Without Redis no replica can coordinate; keep the service alive on this one.
                    Self::warn("lock", &key, &e);
                    self.mirror.lock_now(&name, &holder, ttl)
                }
            }
        })
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
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

    #[tokio::test]
    async fn bad_url_is_a_clear_error() {
        let e = RedisStore::connect("not a url").await.err().unwrap();
        assert!(e.contains("--redis-url"), "{e}");
    }
}
