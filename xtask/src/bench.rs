//! `cargo xtask bench`: builds release binaries, measures them on loopback, and rewrites the
//! generated section of `docs/BENCHMARKS.md` with the machine, the date and the numbers:
//! start-up and `/healthz` latency; the host micro-benchmarks (`host/benches/micro.rs`: playlist
//! rewrite, extractor call overhead, plugin load); and the relay against nginx `proxy_pass` on
//! the same testbed upstream (wrk at 1, 10, 100 connections), upstream fetches per segment at
//! 100 simultaneous viewers, and memory per viewer at 500. Every loop is bounded in count and time.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use crate::{Profile, Result, build, process::Service};

const MARK_BEGIN: &str = "<!-- bench:begin -->";
const MARK_END: &str = "<!-- bench:end -->";

/// Runs every benchmark and records the results.
pub fn run(root: &Path) -> Result {
    build(Profile::Release)?;
    let bin = root.join("target/release/pitwall");
    let data = root.join("target/bench-data");
    let _ = std::fs::remove_dir_all(&data);

    let mut startup = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let service = pitwall(&bin, root, &data)?;
        startup.push(started.elapsed());
        drop(service);
    }

    let service = pitwall(&bin, root, &data)?;
    let addr = service.url().trim_start_matches("http://").to_string();
    let latencies = request_latencies(&addr, "/healthz", 5_000, Duration::from_secs(30))?;
    drop(service);

    let mut report = String::new();
    report.push_str(&format!("Machine: {}. Date: {}.\n\n", machine(), today()));
    report.push_str("| benchmark | result |\n|---|---|\n");
    for line in micro(root)? {
        report.push_str(&line);
    }
    for line in crate::bench_relay::run(root)? {
        report.push_str(&line);
    }
    report.push_str(&format!(
        "| pitwall start to `listening` (5 runs, median) | {:.1?} |\n",
        median(&mut startup)
    ));
    report.push_str(&format!(
        "| `GET /healthz`, one keep-alive connection ({} requests) | p50 {:.0?}, p99 {:.0?} |\n",
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    ));
    println!("{report}");
    write_section(&root.join("docs/BENCHMARKS.md"), MARK_BEGIN, MARK_END, &report)
}

/// `cargo xtask bench relay`: only the relay table, printed (for working on the relay).
pub fn relay_only(root: &Path) -> Result {
    crate::run(crate::cargo().args(["build", "--release", "-p", "pitwall", "-p", "pitwall-testbed"]))?;
    for line in crate::bench_relay::run(root)? {
        print!("{line}");
    }
    Ok(())
}

/// Runs `host/benches/micro.rs` and turns its `bench: name = value` lines into table rows.
fn micro(root: &Path) -> Result<Vec<String>> {
    let wasm = root.join("target/wasm32-wasip2/release/direct.wasm");
    let out = crate::cargo()
        .args(["bench", "-p", "pitwall", "--bench", "micro"])
        .env("PITWALL_BENCH_DIRECT_WASM", &wasm)
        .output()
        .map_err(|e| format!("cargo bench: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo bench failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("bench: "))
        .map(|l| {
            let (name, value) = l.split_once(" = ").unwrap_or((l, ""));
            format!("| {} | {value} |\n", name.replace('_', " "))
        })
        .collect())
}

fn pitwall(bin: &Path, root: &Path, data: &Path) -> Result<Service> {
    Service::start(
        "pitwall",
        Command::new(bin)
            .current_dir(root)
            .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
            .arg("--data-dir")
            .arg(data),
    )
}

/// Sequential GETs on one HTTP/1.1 keep-alive connection; at most `count` or `budget`.
fn request_latencies(addr: &str, path: &str, count: usize, budget: Duration) -> Result<Vec<Duration>> {
    let stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let started = Instant::now();
    let mut out = Vec::with_capacity(count);
    while out.len() < count && started.elapsed() < budget {
        let t = Instant::now();
        writer.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line).map_err(|e| e.to_string())?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().map_err(|_| format!("bad content-length {v:?}"))?;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).map_err(|e| e.to_string())?;
        out.push(t.elapsed());
    }
    out.sort();
    Ok(out)
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}

pub(crate) fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Replaces the text between the `begin` and `end` markers (or appends the section).
pub(crate) fn write_section(path: &Path, begin: &str, end: &str, report: &str) -> Result {
    let text = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let section = format!("{begin}\n{report}{end}");
    let new = match (text.find(begin), text.find(end)) {
        (Some(b), Some(e)) if b < e => format!("{}{section}{}", &text[..b], &text[e + end.len()..]),
        _ => format!("{text}\n{section}\n"),
    };
    std::fs::write(path, new).map_err(|e| format!("write {}: {e}", path.display()))
}
