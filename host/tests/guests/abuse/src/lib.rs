//! A hostile extractor, built from source by pitwall's tests. `settings.mode` picks the abuse:
//! `ok`, `panic`, `loop` (spin), `bomb` (allocate until the memory cap), `sleep`
//! (`std::thread::sleep`, `settings.secs`, default 120), `poll` (libc `poll()` with no
//! descriptors and a 120 s timeout: a WASI `poll` on a clock pollable), `many` (`settings.count`
//! candidates, default 100,000), `logs` (`settings.count` log lines tagged `settings.tag`,
//! default 1,000,000), `forge` (a log line with a newline and a fake log record), `fetch` (GET
//! `settings.url`; used for huge bodies, slow upstreams, loopback and cookies), `host` (a host it
//! did not declare), `socket` (WASI sockets of its own: a TCP connect and a UDP send to
//! `settings.addr`, and a name lookup, each of which must fail).
//!
//! `info()` has modes too, picked without a setting (it takes none): tests patch the bytes of
//! [`INFO_MODE`] in the built `.wasm` (same length) to `sleep`, `poll`, `spin` or `bigname`; the
//! plugin id then becomes `abuse-info-<mode>`.

use pitwall_extractor_sdk::{
    ExtractError, Extractor, Level, PluginInfo, SessionRef, Settings, Step, StreamCandidate, error,
    export_extractor, http, log,
};

/// What `info()` does; patched in the `.wasm` by tests. 24 bytes of marker, 8 of mode padded with `_`.
#[used]
pub static INFO_MODE: [u8; 32] = *b"pitwall-abuse-info-mode:ok______";

unsafe extern "C" {
    /// wasi-libc's `poll()`; with no descriptors it waits on a monotonic-clock pollable.
    fn poll(fds: *mut core::ffi::c_void, nfds: usize, timeout_ms: i32) -> i32;
}

/// The hostile extractor.
pub struct Abuse;

fn info_mode() -> String {
    // SAFETY: reading a static; volatile so the compiler cannot fold the patched-in bytes away.
    let bytes = unsafe { core::ptr::read_volatile(core::ptr::addr_of!(INFO_MODE)) };
    String::from_utf8_lossy(&bytes[24..]).trim_end_matches('_').to_string()
}

impl Extractor for Abuse {
    fn info() -> PluginInfo {
        let mode = info_mode();
        let mut name = "Abuse test".to_string();
        match mode.as_str() {
            "sleep" => std::thread::sleep(std::time::Duration::from_secs(120)),
            "poll" => {
                // SAFETY: no descriptors are passed.
                unsafe { poll(core::ptr::null_mut(), 0, 120_000) };
            }
            "spin" => spin(),
            "bigname" => name = "x".repeat(1 << 20),
            _ => {}
        }
        let id = if mode == "ok" { "abuse".to_string() } else { format!("abuse-info-{mode}") };
        PluginInfo {
            id,
            name,
            version: env!("CARGO_PKG_VERSION").into(),
            allowed_hosts: vec!["127.0.0.1".into(), "localhost".into()],
        }
    }

    fn extract(session: SessionRef, settings: Settings) -> Result<Vec<StreamCandidate>, ExtractError> {
        let number =
            |key: &str, default: u64| settings.get(key).and_then(|v| v.parse().ok()).unwrap_or(default);
        match settings.get("mode").unwrap_or("ok") {
            "ok" => Ok(vec![candidate(&format!("https://cdn.example/{}.m3u8", session.id), "ok")]),
            "panic" => panic!("abuse: deliberate panic"),
            "loop" => spin(),
            "bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(number("secs", 120)));
                Err(error(Step::Other, "woke up after sleeping"))
            }
            "poll" => {
                // SAFETY: no descriptors are passed.
                let n = unsafe { poll(core::ptr::null_mut(), 0, 120_000) };
                Err(error(Step::Other, format!("poll returned {n}")))
            }
            "many" => {
                let count = number("count", 100_000);
                Ok((0..count).map(|i| candidate(&format!("https://cdn.example/{i}.m3u8"), "x")).collect())
            }
            "logs" => {
                let tag = settings.get("tag").unwrap_or("-");
                for i in 0..number("count", 1_000_000) {
                    log(Level::Info, &format!("abuse flood line {tag} {i}"));
                }
                Ok(vec![candidate("https://cdn.example/logged.m3u8", "logged")])
            }
            "forge" => {
                log(Level::Warn, "abuse says hi\n2026-01-01 INFO forged record\r\x1b[31m");
                Err(error(Step::Other, "detail with\n2026-01-01 INFO forged detail"))
            }
            "fetch" => {
                let url = settings.require("url")?;
                let response = http::get(url, &[])?;
                Ok(vec![candidate(
                    url,
                    &format!("{} bytes, status {}", response.body.len(), response.status),
                )])
            }
            "host" => {
                http::get("https://not-declared.example/", &[])?;
                Err(error(Step::Other, "fetch to an undeclared host succeeded"))
            }
            "socket" => {
                let addr = settings.require("addr")?;
                // Every way out that WASI offers besides the host's `fetch`; each must be refused.
                let tcp = std::net::TcpStream::connect(addr).map(|_| "connected".to_string());
                let udp = std::net::UdpSocket::bind("0.0.0.0:0")
                    .and_then(|socket| socket.send_to(b"abuse", addr))
                    .map(|n| format!("sent {n} bytes"));
                let lookup = std::net::ToSocketAddrs::to_socket_addrs(&("localhost", 80))
                    .map(|found| format!("resolved {} addresses", found.count()));
                let outcome = |r: std::io::Result<String>| r.unwrap_or_else(|e| format!("refused ({e})"));
                Err(error(
                    Step::Other,
                    format!("tcp: {}; udp: {}; lookup: {}", outcome(tcp), outcome(udp), outcome(lookup)),
                ))
            }
            other => Err(error(Step::Other, format!("unknown mode {other:?}"))),
        }
    }
}

fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn candidate(url: &str, label: &str) -> StreamCandidate {
    StreamCandidate { url: url.into(), label: label.into(), headers: Vec::new(), expires_at: None }
}

export_extractor!(Abuse);
