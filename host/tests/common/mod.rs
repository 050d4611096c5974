//! Helpers shared by the black-box tests: pitwall in-process on port 0, guest components built
//! from source, a Redis to test against, testbed shortcuts. Each test binary uses a subset.

#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
    time::Duration,
};

use pitwall::Config;
use pitwall_testbed::Testbed;
use serde_json::Value;
use tokio::sync::oneshot;

/// pitwall running in-process on a free loopback port.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Starts pitwall with `config` on `clock` (a `ManualClock` lets a test move time).
    pub async fn start_with_clock(
        config: Config,
        clock: std::sync::Arc<dyn pitwall::schedule::Clock>,
    ) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            pitwall::run_with_clock(
                config,
                listener,
                async {
                    let _ = stopped.await;
                },
                clock,
            )
            .await
            .unwrap();
        });
        Server { url, stop: Some(stop), task }
    }

    /// Starts pitwall with `config` on the system clock.
    pub async fn start(config: Config) -> Server {
        Self::start_with_clock(config, std::sync::Arc::new(pitwall::schedule::SystemClock)).await
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(format!("{}{path}", self.url)).await.unwrap()
    }

    /// The id of the schedule's live session (the testbed's season 9999 has one now).
    pub async fn live_session(&self) -> String {
        live_session_in(&self.get("/schedule").await.json().await.unwrap())
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.get("/metrics").await.text().await.unwrap()
    }

    /// Shuts down and waits for the server to finish.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap();
    }
}

/// Test configuration pointing the schedule at `testbed`, allowing it upstream.
pub fn config(testbed: &Testbed, data: &Path) -> Config {
    let mut config = Config::for_tests(data);
    config.flags.allow_upstream = vec![testbed.addr().to_string(), testbed.second_addr().to_string()];
    config.flags.drain_timeout = Duration::from_secs(1);
    config.file.schedule.jolpica_url = format!("{}/jolpica/ergast/f1", testbed.url());
    config.file.schedule.openf1_url = format!("{}/openf1/v1", testbed.url());
    config
}

/// [`config`] over `root/data` with the `demo-site` plugin in `root/plugins` (scanned every
/// 200 ms) and the testbed's season 9999, whose race is live now.
#[allow(dead_code)]
pub fn demo_site_config(testbed: &Testbed, root: &Path) -> Config {
    let plugins = root.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(guest("demo-site"), plugins.join("demo_site.wasm")).unwrap();
    let mut config = config(testbed, &root.join("data"));
    config.flags.plugins_dir = plugins;
    config.file.extractors.poll = Duration::from_millis(200);
    config.file.schedule.season = pitwall::config::SeasonSetting::Year(9999);
    config
}

/// Builds the guest crates (each directory under `extractors/`, and the abuse guest) for
/// `wasm32-wasip2` once per test binary (a no-op when up to date)
/// and returns the component of `package`.
pub fn guest(package: &str) -> PathBuf {
    static BUILD: OnceLock<()> = OnceLock::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    BUILD.get_or_init(|| {
        // Every crate under extractors/ (a new one needs no edit here), and the hostile guest.
        let mut packages = vec!["abuse-guest".to_string()];
        for entry in std::fs::read_dir(root.join("extractors")).unwrap().flatten() {
            if entry.path().join("Cargo.toml").is_file() {
                packages.push(entry.file_name().into_string().unwrap());
            }
        }
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&root)
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .args(packages.iter().flat_map(|p| ["-p", p.as_str()]))
            .status()
            .expect("run cargo");
        assert!(status.success(), "building the guest components failed");
    });
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("wasm32-wasip2/release").join(format!("{}.wasm", package.replace('-', "_")))
}

/// Builds the Python components (every `extractors-py/*` plugin into `target/plugins-py/`, the
/// Python abuse guest into `target/guests-py/`) with `extractor-sdk-py/run.sh build` once per test
/// binary (a no-op when their inputs are unchanged) and returns `file` (`demo_site.wasm`,
/// `abuse_py.wasm`) from `dir` (`plugins-py` or `guests-py`).
pub fn python_guest(dir: &str, file: &str) -> PathBuf {
    static BUILD: OnceLock<()> = OnceLock::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    BUILD.get_or_init(|| {
        let status = Command::new("bash")
            .arg(root.join("extractor-sdk-py/run.sh"))
            .arg("build")
            .current_dir(&root)
            .status()
            .expect("run extractor-sdk-py/run.sh");
        assert!(status.success(), "building the Python components failed");
    });
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join(dir).join(file)
}

/// A compiled-plugin cache directory shared by every test binary (under `target/`), so the big
/// Python components are compiled once, not once per test.
pub fn shared_cache_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("test-compiled-cache")
}

/// A freshly tokenised master URL of a testbed feed.
pub async fn token_url(testbed: &Testbed, feed: &str) -> String {
    let v: Value = reqwest::get(format!("{}/_control/token?feed={feed}", testbed.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["url"].as_str().unwrap().to_string()
}

/// `POST /_control/fault` with `body`, which must succeed.
pub async fn fault(testbed: &Testbed, body: Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/_control/fault", testbed.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "fault {body}: {}", r.status());
}

/// A Redis to test against: `PITWALL_TEST_REDIS_URL` (set by `cargo xtask ci`; flushed first),
/// or a throwaway `redis-server` on a free loopback port, killed on drop.
pub struct TestRedis {
    /// `redis://127.0.0.1:PORT`.
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

/// See [`TestRedis`].
pub fn test_redis() -> TestRedis {
    if let Ok(url) = std::env::var("PITWALL_TEST_REDIS_URL") {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_connection().unwrap();
        let _: () = redis::cmd("FLUSHDB").query(&mut conn).unwrap();
        return TestRedis { url, child: None };
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server must be installed or PITWALL_TEST_REDIS_URL set");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    TestRedis { url: format!("redis://127.0.0.1:{port}"), child: Some(child) }
}

/// The real `pitwall` binary on a free loopback port, killed on drop. Its log (stderr) is kept
/// for tests that read it.
pub struct Binary {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Binary {
    /// Starts `pitwall --listen 127.0.0.1:0 --data-dir DATA ARGS…` and waits (bounded) for
    /// `listening on`.
    pub fn start(args: &[&str], data: &Path) -> Binary {
        Binary::start_with_env(args, data, &[])
    }

    /// [`Binary::start`] with extra environment variables for the process.
    pub fn start_with_env(args: &[&str], data: &Path, env: &[(&str, &str)]) -> Binary {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_pitwall"))
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(data)
            .args(args)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn pitwall");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => panic!("pitwall did not print `listening on`; log:\n{}", log.lock().unwrap()),
        };
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Binary { child, url, log }
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// The process's resident memory in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "pitwall did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Everything `tracing` writes in this test binary (at `info` and above, plain text), kept in
/// memory so tests can assert on log lines. One capture per binary; tests filter by content.
#[derive(Clone)]
pub struct LogCapture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

struct CaptureWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Installs the capture as this binary's global subscriber (once) and returns it.
    pub fn install() -> LogCapture {
        static CAPTURE: OnceLock<LogCapture> = OnceLock::new();
        CAPTURE
            .get_or_init(|| {
                let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
                let writer = buffer.clone();
                tracing_subscriber::fmt()
                    .with_ansi(false)
                    .with_max_level(tracing::Level::INFO)
                    .with_writer(move || CaptureWriter(writer.clone()))
                    .try_init()
                    .expect("no other global subscriber in this test binary");
                LogCapture(buffer)
            })
            .clone()
    }

    /// The log so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// Log lines containing `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.text().lines().filter(|l| l.contains(needle)).map(str::to_string).collect()
    }

    /// Waits until a line contains `needle` (bounded by `limit`); returns it.
    pub async fn wait_for(&self, needle: &str, limit: Duration) -> String {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(line) = self.lines_with(needle).into_iter().next() {
                return line;
            }
            assert!(std::time::Instant::now() < deadline, "no log line with {needle:?} within {limit:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal built web app under `root/web` (index, one hashed asset); returns its path.
pub fn web_dir(root: &Path) -> String {
    let dir = root.join("web");
    std::fs::create_dir_all(dir.join("_app/immutable")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>pitwall</title><div id=app></div>")
        .unwrap();
    std::fs::write(dir.join("_app/immutable/app.123.js"), "console.log(1)").unwrap();
    dir.to_str().unwrap().to_string()
}

/// The `abuse-guest` component with its `info()` mode patched to `mode` (at most 8 bytes):
/// `sleep`, `poll`, `spin` or `bigname`; the plugin id becomes `abuse-info-<mode>`.
pub fn abuse_with_info_mode(mode: &str) -> Vec<u8> {
    const MARKER: &[u8] = b"pitwall-abuse-info-mode:ok______";
    assert!(mode.len() <= 8, "info mode {mode:?} is longer than 8 bytes");
    let mut wasm = std::fs::read(guest("abuse-guest")).unwrap();
    let at =
        wasm.windows(MARKER.len()).position(|w| w == MARKER).expect("info-mode marker in abuse_guest.wasm");
    let mut patch = format!("pitwall-abuse-info-mode:{mode}").into_bytes();
    patch.resize(MARKER.len(), b'_');
    wasm[at..at + MARKER.len()].copy_from_slice(&patch);
    wasm
}

/// A session of the testbed's live season, for calling extractors directly.
pub fn session_ref() -> pitwall::extract::bindings::SessionRef {
    pitwall::extract::bindings::SessionRef {
        id: "9999-01-race".into(),
        kind: "race".into(),
        season: 9999,
        round: 1,
        event_name: "Test Grand Prix".into(),
        start: None,
    }
}

/// Extractor settings from pairs.
pub fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// How many candidates `extractor` in `registry` returns for [`session_ref`] with `pairs` as
/// its settings.
pub async fn extract_count(
    registry: &pitwall::extract::PluginRegistry,
    extractor: &str,
    pairs: &[(&str, &str)],
) -> Result<usize, pitwall::extract::CallError> {
    registry.extract(extractor, session_ref(), settings(pairs)).await.map(|c| c.len())
}

/// The well-behaved `direct` extractor's answer, beside a hostile guest.
pub async fn good(registry: &pitwall::extract::PluginRegistry) -> Result<usize, pitwall::extract::CallError> {
    extract_count(registry, "direct", &[("url", "https://cdn.example/good.m3u8")]).await
}

/// `/proxy?url=URL` on `server`, the URL form-encoded.
pub fn proxy(server: &Server, url: &str) -> String {
    format!(
        "{}/proxy?url={}",
        server.url,
        url::form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>()
    )
}

/// The URIs of a playlist: its non-tag lines and the `URI="…"` values of its tags.
pub fn uris(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !line.starts_with('#') {
            out.push(line.to_string());
        }
        let mut rest = line;
        while let Some(at) = rest.find("URI=\"") {
            let value = &rest[at + 5..];
            let end = value.find('"').unwrap();
            out.push(value[..end].to_string());
            rest = &value[end..];
        }
    }
    out
}

/// A copy of `wasm` with a custom section appended: same plugin, new sha256 (a "new version").
pub fn with_custom_section(wasm: &[u8], tag: &str) -> Vec<u8> {
    let name = b"pitwall-test";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.extend_from_slice(tag.as_bytes());
    let mut out = wasm.to_vec();
    out.push(0); // custom section id
    let mut len = payload.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(&payload);
    out
}

/// A `[[source]]` with the defaults a file would give it (role `main`, no grants, every kind
/// of session), polled every second.
#[allow(dead_code)]
pub fn source(id: &str, extractor: &str, settings: &[(&str, &str)]) -> pitwall::config::SourceConfig {
    pitwall::config::SourceConfig {
        id: id.into(),
        extractor: extractor.into(),
        label: id.into(),
        role: pitwall::config::MAIN_ROLE.into(),
        driver: None,
        allow_hosts: Vec::new(),
        sessions: Vec::new(),
        poll: Duration::from_secs(1),
        settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

/// A `demo-site` source `tb-<feed>` ("Feed <feed>") for one of `testbed`'s feeds, polled every `poll`.
#[allow(dead_code)]
pub fn feed_source(testbed: &Testbed, feed: &str, poll: Duration) -> pitwall::config::SourceConfig {
    let page = format!("{}/demo-tv/watch/{feed}", testbed.url());
    pitwall::config::SourceConfig {
        label: format!("Feed {feed}"),
        poll,
        ..source(&format!("tb-{feed}"), "demo-site", &[("page", &page)])
    }
}

/// Builds the JavaScript guest in `dir` (relative to the workspace root, e.g.
/// `extractors-js/demo-site`: a `package.json` and `src/extractor.js`) to `out` (relative to
/// the target directory, e.g. `plugins-js/demo_site.wasm`, where `cargo xtask build` puts it)
/// unless `out` is newer than the guest's and the JS SDK's sources, and returns its path. Runs
/// `npm ci` where `node_modules` is missing. One build at a time per test binary.
pub fn js_guest(dir: &str, out: &str) -> PathBuf {
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(|p| p.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let (guest, sdk, out) = (root.join(dir), root.join("extractor-sdk-js"), target.join(out));
    for dir in [&sdk, &guest] {
        if !dir.join("node_modules").is_dir() {
            let status = Command::new("npm").arg("ci").current_dir(dir).status().expect("run npm (Node 20+)");
            assert!(status.success(), "npm ci in {} failed", dir.display());
        }
    }
    fn newest(path: &Path) -> std::time::SystemTime {
        let own = std::fs::metadata(path).and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH);
        let children = std::fs::read_dir(path).into_iter().flatten().flatten().map(|e| newest(&e.path()));
        children.fold(own, std::time::SystemTime::max)
    }
    let inputs = [
        guest.join("src"),
        guest.join("package.json"),
        sdk.join("src"),
        sdk.join("wit"),
        sdk.join("package-lock.json"),
    ];
    let built = std::fs::metadata(&out).and_then(|m| m.modified()).ok();
    if built.is_none_or(|b| inputs.iter().any(|i| newest(i) > b)) {
        let status = Command::new("node")
            .arg(sdk.join("bin/pitwall-extractor-build.js"))
            .arg("src/extractor.js")
            .arg("-o")
            .arg(&out)
            .current_dir(&guest)
            .status()
            .expect("run node (Node 20+)");
        assert!(status.success(), "building the JS guest {dir} failed");
    }
    out
}

/// The id of the live session in a `/schedule` body; panics naming the body when none is live.
pub fn live_session_in(schedule: &Value) -> String {
    schedule["events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["sessions"].as_array().unwrap().iter())
        .find(|s| s["status"] == "live")
        .and_then(|s| s["id"].as_str())
        .unwrap_or_else(|| panic!("no live session: {schedule}"))
        .to_string()
}

/// A loopback upstream whose `/slow` never answers.
pub async fn slow_upstream() -> String {
    use axum::{Router, routing::get};
    let app = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            "too late"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}
