//! The `pitwall-testbed` binary: prints its addresses, serves, and exits cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[tokio::test]
async fn binary_prints_addresses_serves_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitwall-testbed"))
        .args(["--listen", "127.0.0.1:0", "--token-ttl", "30s", "--segment-secs", "2"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok).take(2) {
            let _ = tx.send(line);
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(30)).expect("first line");
    let second = rx.recv_timeout(Duration::from_secs(5)).expect("second line");
    let url = first.strip_prefix("listening on ").expect("listening line").to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    assert!(second.starts_with("second origin on http://127.0.0.1:"), "{second}");
    let v: serde_json::Value =
        reqwest::get(format!("{url}/_control/token?feed=main")).await.unwrap().json().await.unwrap();
    let expires = v["expires_at"].as_u64().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!((now + 29..=now + 32).contains(&expires), "--token-ttl honoured");
    let status = reqwest::get(v["url"].as_str().unwrap()).await.unwrap().status();
    assert_eq!(status, reqwest::StatusCode::OK);

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("testbed did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
}
