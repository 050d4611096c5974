//! The relay benchmark: pitwall's `/relay` against nginx on the same upstream, in one run.
//! The upstream is the testbed's synthetic `/bench` media (512 segments of 1 MiB answered from
//! one buffer, so the upstream costs next to nothing):
//!
//! - *cold*: each request a random one of the 512 segments; nginx `proxy_pass` (no cache);
//! - *hot*: one segment requested over and over; nginx with `proxy_cache` (served from its cache);
//!
//! each with wrk at 1, 10 and 100 connections. Then upstream fetches caused by 100 simultaneous
//! viewers of one new live segment, and pitwall's memory per viewer at 500 connections. Needs
//! `nginx` and `wrk` (installed when root and missing). Every run is bounded in time.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::{Result, install, process::Service, process::free_port};

/// Segments in the synthetic playlist, and their size.
const SEGMENTS: usize = 512;
const SEGMENT_KIB: usize = 1024;
/// Connection counts every scenario runs at.
const CONNECTIONS: [u32; 3] = [1, 10, 100];

/// Runs the relay benchmarks; returns table rows.
pub fn run(root: &Path) -> Result<Vec<String>> {
    install::debian_packages(&["nginx-light", "wrk"])?;
    let bin = root.join("target/release");
    let testbed = Service::start(
        "pitwall-testbed",
        Command::new(bin.join("pitwall-testbed")).args(["--listen", "127.0.0.1:0", "--token-ttl", "900s"]),
    )?;
    let tb = testbed.url().trim_start_matches("http://").to_string();
    let data = root.join("target/bench-relay-data");
    let _ = std::fs::remove_dir_all(&data);
    let pitwall = Service::start(
        "pitwall",
        Command::new(bin.join("pitwall"))
            .args(["--listen", "127.0.0.1:0", "--log-format", "json", "--allow-upstream", &tb])
            .args(["--admin-token", BENCH_ADMIN_TOKEN])
            .arg("--data-dir")
            .arg(&data)
            .env("RUST_LOG", "warn"),
    )?;
    let pw = pitwall.url().trim_start_matches("http://").to_string();
    let nginx = Nginx::start(root, &tb)?;

    // The same 512 segments as relay URLs and as upstream paths.
    let vod = format!("http://{tb}/bench/vod.m3u8?n={SEGMENTS}&kib={SEGMENT_KIB}");
    let relay_paths = uri_lines(&get(&pw, &format!("/proxy?url={}", percent_encode(&vod)))?);
    let direct_paths = uri_lines(&get(&tb, &format!("/bench/vod.m3u8?n={SEGMENTS}&kib={SEGMENT_KIB}"))?);
    if relay_paths.len() != SEGMENTS || direct_paths.len() != SEGMENTS {
        return Err(format!(
            "expected {SEGMENTS} segments, got {} / {}",
            relay_paths.len(),
            direct_paths.len()
        ));
    }
    let dir = root.join("target/bench-nginx");
    let relay_list = write_list(&dir, "relay-paths.txt", &relay_paths)?;
    let direct_list = write_list(&dir, "direct-paths.txt", &direct_paths)?;
    let relay_hot = write_list(&dir, "relay-hot.txt", &relay_paths[..1])?;
    let direct_hot = write_list(&dir, "direct-hot.txt", &direct_paths[..1])?;
    // Warm nginx's cache and pitwall's shared fetch for the hot segment.
    get(&nginx.cached, &direct_paths[0])?;
    get(&pw, &relay_paths[0])?;

    let mut rows = vec![
        "\n| relay throughput, MiB/s (1 MiB segments, wrk 5 s) | c=1 | c=10 | c=100 |\n".to_string(),
        "|---|---|---|---|\n".to_string(),
    ];
    let scenarios = [
        ("cold (random among 512): nginx `proxy_pass`", &nginx.plain, &direct_list),
        ("cold: pitwall `/relay`", &pw, &relay_list),
        ("hot (one segment): nginx `proxy_cache`", &nginx.cached, &direct_hot),
        ("hot: pitwall `/relay`", &pw, &relay_hot),
    ];
    let mut results = Vec::new();
    for (name, addr, list) in scenarios {
        let mut cells = Vec::new();
        for connections in CONNECTIONS {
            let mib = wrk(root, addr, list, connections)?;
            eprintln!("  {name}, c={connections}: {mib:.0} MiB/s");
            cells.push(mib);
        }
        results.push(cells.clone());
        let cells: Vec<String> = cells.iter().map(|c| format!("{c:.0}")).collect();
        rows.push(format!("| {name} | {} |\n", cells.join(" | ")));
    }
    let ratios = |ours: &[f64], theirs: &[f64]| -> String {
        ours.iter()
            .zip(theirs)
            .map(|(o, t)| format!("{:.2}×", o / t.max(0.001)))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    rows.push(format!("| cold: pitwall ÷ nginx | {} |\n", ratios(&results[1], &results[0])));
    rows.push(format!("| hot: pitwall ÷ nginx | {} |\n", ratios(&results[3], &results[2])));
    rows.push("\n| measurement | result |\n|---|---|\n".to_string());

    // 100 viewers of a live segment nobody fetched yet → upstream fetches of it.
    let token = get(&tb, "/_control/token?feed=main")?;
    let master = json_string(&token, "url").ok_or("no url in /_control/token")?;
    thread::sleep(Duration::from_secs(2));
    let fresh = newest_relay_segment(&pw, &master)?;
    request(&tb, "POST", "/_control/reset")?;
    let viewers: Vec<_> = (0..100)
        .map(|_| {
            let (pw, fresh) = (pw.clone(), fresh.clone());
            thread::spawn(move || get(&pw, &fresh).map(|b| b.len()))
        })
        .collect();
    let mut ok = 0;
    for v in viewers {
        if v.join().map_err(|_| "viewer thread panicked")?.is_ok() {
            ok += 1;
        }
    }
    let stats = get(&tb, "/_control/stats")?;
    let fetches: u64 = stats
        .split(',')
        .filter(|kv| kv.contains(".ts\""))
        .filter_map(|kv| {
            kv.rsplit(':').next()?.trim_matches(|c: char| !c.is_ascii_digit()).parse::<u64>().ok()
        })
        .sum();
    rows.push(format!(
        "| upstream fetches for one segment, 100 simultaneous viewers ({ok} served) | {fetches} |\n"
    ));

    // Memory per viewer: peak RSS growth while 500 connections pull segments.
    let before = crate::process::proc_status(pitwall.pid(), "VmRSS:");
    wrk(root, &pw, &relay_list, 500)?;
    let peak = crate::process::proc_status(pitwall.pid(), "VmHWM:");
    rows.push(format!(
        "| pitwall peak RSS growth per connection, 500 connections over 512 segments | {} KiB (RSS {} → peak {} MiB) |\n",
        peak.saturating_sub(before) / 500,
        before / 1024,
        peak / 1024
    ));
    drop(nginx);
    Ok(rows)
}

/// Writes one path per line for the wrk script.
fn write_list(dir: &Path, name: &str, paths: &[String]) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let path = dir.join(name);
    std::fs::write(&path, paths.join("\n") + "\n").map_err(|e| format!("write {}: {e}", path.display()))?;
    Ok(path)
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn newest_relay_segment(pw: &str, master: &str) -> Result<String> {
    let proxied = get(pw, &format!("/proxy?url={}", percent_encode(master)))?;
    let variant = uri_lines(&proxied).last().cloned().ok_or("no variant through /proxy")?;
    let media = get(pw, &variant)?;
    uri_lines(&media).last().cloned().ok_or_else(|| "no segment through the relay".into())
}

fn uri_lines(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

fn json_string(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let end = json[start..].find('"')? + start;
    Some(json[start..end].replace("\\/", "/"))
}

/// `/proxy` needs an admin token; the benchmark's pitwall gets this one.
const BENCH_ADMIN_TOKEN: &str = "bench-admin-token";

/// `GET path` from `addr`, the body as text; an error unless 2xx.
pub(crate) fn get(addr: &str, path: &str) -> Result<String> {
    request(addr, "GET", path)
}

/// A minimal HTTP/1.1 request (`Connection: close`), body as text; chunked bodies decoded.
fn request(addr: &str, method: &str, path: &str) -> Result<String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {BENCH_ADMIN_TOKEN}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").ok_or("malformed HTTP answer")?;
    let status = head.split_whitespace().nth(1).unwrap_or("0");
    if !status.starts_with('2') {
        return Err(format!("{method} {path} answered {status}"));
    }
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 || after.len() < n {
                break;
            }
            out.push_str(&after[..n]);
            rest = after[n..].trim_start_matches("\r\n");
        }
        return Ok(out);
    }
    Ok(body.to_string())
}

/// wrk for 5 s over the paths listed in `list` (one picked at random per request); returns
/// MiB/s transferred.
fn wrk(root: &Path, addr: &str, list: &Path, connections: u32) -> Result<f64> {
    let script = root.join("target/bench-nginx/paths.lua");
    std::fs::write(
        &script,
        "local paths = {}\nlocal threads = 0\n\
         function setup(thread)\n  threads = threads + 1\n  thread:set(\"id\", threads)\nend\n\
         function init(args)\n  for line in io.lines(args[1]) do paths[#paths + 1] = line end\n  \
         math.randomseed(os.time() * 100 + id)\nend\n\
         function request()\n  return wrk.format(\"GET\", paths[math.random(#paths)])\nend\n",
    )
    .map_err(|e| e.to_string())?;
    let out = Command::new("wrk")
        .args(["-t", if connections > 1 { "2" } else { "1" }, "-c", &connections.to_string(), "-d", "5s"])
        .arg("-s")
        .arg(&script)
        .arg(format!("http://{addr}/"))
        .arg("--")
        .arg(list)
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") || !out.status.success() {
        return Err(format!(
            "wrk saw errors against {addr}:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let line = text
        .lines()
        .find(|l| l.starts_with("Transfer/sec:"))
        .ok_or_else(|| format!("no Transfer/sec in wrk output:\n{text}"))?;
    let value = line.trim_start_matches("Transfer/sec:").trim();
    let (number, unit) = value.split_at(value.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(value.len()));
    let number: f64 = number.parse().map_err(|_| format!("bad wrk number {value:?}"))?;
    Ok(match unit {
        "GB" => number * 1024.0,
        "MB" => number,
        "KB" => number / 1024.0,
        _ => number / (1024.0 * 1024.0),
    })
}

/// nginx in front of the testbed on two free loopback ports: `plain` a reverse proxy
/// (`proxy_pass`, keep-alive upstream), `cached` the same with `proxy_cache`.
struct Nginx {
    child: Child,
    plain: String,
    cached: String,
}

impl Nginx {
    fn start(root: &Path, upstream: &str) -> Result<Nginx> {
        let dir = root.join("target/bench-nginx");
        let _ = std::fs::remove_dir_all(dir.join("cache"));
        std::fs::create_dir_all(dir.join("logs")).map_err(|e| e.to_string())?;
        let (plain_port, cached_port) = (free_port()?, free_port()?);
        let location = "proxy_pass http://testbed; proxy_http_version 1.1; proxy_set_header Connection \"\";";
        let conf = format!(
            "worker_processes 2;\ndaemon off;\npid {dir}/nginx.pid;\nerror_log {dir}/logs/error.log warn;\nevents {{ worker_connections 4096; }}\n\
             http {{\n  access_log off;\n  sendfile on;\n  client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n\
               proxy_cache_path {dir}/cache keys_zone=segments:10m max_size=2g;\n\
               upstream testbed {{ server {upstream}; keepalive 64; }}\n\
               server {{ listen 127.0.0.1:{plain_port}; location / {{ {location} }} }}\n\
               server {{ listen 127.0.0.1:{cached_port}; location / {{ {location} proxy_cache segments; proxy_cache_valid 200 10m; proxy_cache_lock on; }} }}\n}}\n",
            dir = dir.display()
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        let child = Command::new("nginx")
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start nginx: {e}"))?;
        let (plain, cached) = (format!("127.0.0.1:{plain_port}"), format!("127.0.0.1:{cached_port}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&plain).is_err() || TcpStream::connect(&cached).is_err() {
            if Instant::now() > deadline {
                return Err("nginx did not start".into());
            }
            thread::sleep(Duration::from_millis(50));
        }
        Ok(Nginx { child, plain, cached })
    }
}

impl Drop for Nginx {
    /// SIGTERM makes the nginx master stop its workers too (SIGKILL would orphan them).
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
