//! The relay benchmark: pitwall's `/relay` against nginx `proxy_pass` on the same testbed
//! upstream (wrk at 1, 10 and 100 connections), upstream fetches caused by 100 simultaneous
//! viewers of one new segment, and pitwall's memory per viewer at 500 connections. Needs
//! `nginx` and `wrk` (installed when root and missing). Every run is bounded in time.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::Path,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::{Result, install, process::Service, process::free_port};

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

    // The newest 720p segment of `main`, through pitwall and straight from the testbed.
    let token = get(&tb, "/_control/token?feed=main")?;
    let master = json_string(&token, "url").ok_or("no url in /_control/token")?;
    let master_path = master.splitn(4, '/').nth(3).map(|p| format!("/{p}")).ok_or("bad master URL")?;
    let relay_segment = newest_relay_segment(&pw, &master)?;
    let direct_master = get(&tb, &master_path)?;
    let variant = uri_lines(&direct_master).last().cloned().ok_or("no variant")?;
    let variant_path = join(&master_path, &variant);
    let direct_media = get(&tb, &variant_path)?;
    let segment_path = join(&variant_path, uri_lines(&direct_media).last().ok_or("no segment")?);

    let nginx = Nginx::start(root, &tb)?;
    let mut rows = Vec::new();
    for connections in [1, 10, 100] {
        let ours = wrk(&pw, &relay_segment, connections)?;
        let theirs = wrk(&nginx.addr, &segment_path, connections)?;
        rows.push(format!(
            "| relay throughput, {connections} connection(s), one 720p segment | {ours:.0} MB/s (nginx proxy_pass {theirs:.0} MB/s; {:.2}×) |\n",
            ours / theirs.max(0.001)
        ));
    }

    // 100 viewers of a segment nobody fetched yet → upstream fetches of it.
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
    wrk(&pw, &relay_segment, 500)?;
    let peak = crate::process::proc_status(pitwall.pid(), "VmHWM:");
    rows.push(format!(
        "| pitwall peak RSS growth per viewer, 500 connections on one stream | {} KiB (RSS {} → peak {} MiB) |\n",
        peak.saturating_sub(before) / 500,
        before / 1024,
        peak / 1024
    ));
    drop(nginx);
    Ok(rows)
}

fn newest_relay_segment(pw: &str, master: &str) -> Result<String> {
    let encoded: String = master
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let proxied = get(pw, &format!("/proxy?url={encoded}"))?;
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

/// Resolves a relative reference against a path with a query.
fn join(base: &str, relative: &str) -> String {
    if relative.starts_with('/') {
        return relative.to_string();
    }
    let dir = base.split('?').next().unwrap_or(base).rsplit_once('/').map_or("", |(d, _)| d);
    format!("{dir}/{relative}")
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

/// wrk for 5 s; returns MB/s transferred.
fn wrk(addr: &str, path: &str, connections: u32) -> Result<f64> {
    let out = Command::new("wrk")
        .args(["-t", if connections > 1 { "2" } else { "1" }, "-c", &connections.to_string(), "-d", "5s"])
        .arg(format!("http://{addr}{path}"))
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") {
        return Err(format!("wrk saw errors against {addr}:\n{text}"));
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

/// nginx as a plain reverse proxy to the testbed, on a free loopback port.
struct Nginx {
    child: Child,
    addr: String,
}

impl Nginx {
    fn start(root: &Path, upstream: &str) -> Result<Nginx> {
        let dir = root.join("target/bench-nginx");
        std::fs::create_dir_all(dir.join("logs")).map_err(|e| e.to_string())?;
        let port = free_port()?;
        let conf = format!(
            "worker_processes 2;\ndaemon off;\npid {dir}/nginx.pid;\nerror_log {dir}/logs/error.log warn;\nevents {{ worker_connections 4096; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n\
               upstream testbed {{ server {upstream}; keepalive 64; }}\n\
               server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://testbed; proxy_http_version 1.1; proxy_set_header Connection \"\"; }} }}\n}}\n",
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
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&addr).is_err() {
            if Instant::now() > deadline {
                return Err("nginx did not start".into());
            }
            thread::sleep(Duration::from_millis(50));
        }
        Ok(Nginx { child, addr })
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
