//! Child processes: run a command to completion, or keep a service (redis, testbed, pitwall)
//! running for the length of a step and stop it (SIGTERM, then SIGKILL) when dropped.

use std::{
    io::{BufRead, BufReader},
    net::{Ipv4Addr, TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use crate::Result;

/// How long a service may take to announce its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `cmd` with inherited output; a non-zero exit is an error naming the command.
pub fn run(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    let status = cmd.status().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{shown} exited with {status}")) }
}

/// A background process that serves on a loopback address.
pub struct Service {
    name: String,
    child: Child,
    url: String,
}

impl Service {
    /// Spawns `cmd` and waits for its `listening on http://ADDR` line on stdout.
    pub fn start(name: &str, cmd: &mut Command) -> Result<Service> {
        Self::start_announcing(name, cmd, &[]).map(|(service, _)| service)
    }

    /// Like [`Service::start`], also waiting for one line starting with each of `extra`
    /// (e.g. `testbed on `); returns what followed each prefix.
    pub fn start_announcing(name: &str, cmd: &mut Command, extra: &[&str]) -> Result<(Service, Vec<String>)> {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {name} ({cmd:?}): {e}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        let prefix = name.to_string();
        let mut wanted: Vec<String> =
            std::iter::once("listening on ".to_string()).chain(extra.iter().map(|s| s.to_string())).collect();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(std::result::Result::ok) {
                if let Some(i) = wanted.iter().position(|w| line.starts_with(w.as_str())) {
                    let value = line[wanted[i].len()..].trim().to_string();
                    let _ = tx.send((wanted.remove(i), value));
                }
                eprintln!("[{prefix}] {line}");
            }
        });
        let mut service = Service { name: name.to_string(), child, url: String::new() };
        let mut found = vec![String::new(); extra.len()];
        for _ in 0..=extra.len() {
            let (key, value) = rx
                .recv_timeout(START_TIMEOUT)
                .map_err(|_| format!("{name} did not announce its addresses within {START_TIMEOUT:?}"))?;
            if key == "listening on " {
                service.url = value;
            } else if let Some(i) = extra.iter().position(|e| *e == key) {
                found[i] = value;
            }
        }
        eprintln!("  {name} on {}", service.url);
        Ok((service, found))
    }

    /// Starts a throwaway `redis-server` on a free loopback port (no persistence).
    pub fn redis(root: &Path) -> Result<Service> {
        let port = free_port()?;
        let dir = root.join("target/redis");
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server (is it installed?): {e}"))?;
        let service =
            Service { name: "redis-server".into(), child, url: format!("redis://127.0.0.1:{port}") };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("redis-server did not accept connections on port {port}"));
            }
            thread::sleep(Duration::from_millis(50));
        }
        eprintln!("  redis-server on {}", service.url);
        Ok(service)
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` or `redis://127.0.0.1:6390`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    eprintln!("  {} stopped ({status})", self.name);
                    return;
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
                _ => {
                    eprintln!("  {} did not stop on SIGTERM; killing it", self.name);
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return;
                }
            }
        }
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("bind a free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// A numeric field of `/proc/PID/status` (e.g. `VmRSS:` in KiB); 0 when unreadable.
pub fn proc_status(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
