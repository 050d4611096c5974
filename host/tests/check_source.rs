//! `pitwall check-source` against the testbed, as an operator adding a site runs it: the real
//! binary, one extraction in the sandbox, every fetch printed (queries redacted), the probe of
//! each candidate, and the exit status saying whether a live stream was found.

mod common;

use std::process::Command;

use common::guest;
use pitwall_testbed::{Testbed, TestbedConfig};

/// Runs `pitwall check-source ARGS…` (data dir in `data`); answers the exit code and stdout.
fn check(args: &[&str], data: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .arg("check-source")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("RUST_LOG")
        .output()
        .expect("run pitwall");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (out.status.code().unwrap_or(-1), format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_source_prints_each_step_and_exits_by_what_it_found() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let wasm = plugins.join("generic_page.wasm");
    std::fs::copy(guest("generic-page"), &wasm).unwrap();
    let wasm = wasm.to_str().unwrap().to_string();
    let page = format!("page={}/pages/iframe", testbed.url());
    let upstream = testbed.addr().to_string();

    // An author tries a plugin file on a page: granted, it finds and proves the stream.
    let (code, out) = tokio::task::spawn_blocking({
        let (wasm, page, upstream, data) = (wasm.clone(), page.clone(), upstream.clone(), data.clone());
        move || {
            let args = [
                "--plugin",
                &wasm,
                "--set",
                &page,
                "--allow-host",
                "127.0.0.1",
                "--allow-upstream",
                &upstream,
            ];
            check(&args, &data)
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    for needle in [
        "guest fetch",
        "status=200",
        "/pages/embed/player",
        "iframe → iframe → video",
        "LIVE",
        "360p 540p 720p",
    ] {
        assert!(out.contains(needle), "{needle:?} missing:\n{out}");
    }
    assert!(
        !out.contains("token=") || out.matches("token=…").count() == out.matches("token=").count(),
        "{out}"
    );

    // Without the grant, it says which host and how to allow it, and exits 1.
    let (code, out) = tokio::task::spawn_blocking({
        let (wasm, page, upstream, data) = (wasm.clone(), page.clone(), upstream.clone(), data.clone());
        move || check(&["--plugin", &wasm, "--set", &page, "--allow-upstream", &upstream], &data)
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("failed at step request") && out.contains("--allow-host 127.0.0.1"), "{out}");

    // An operator checks a configured source: its settings and allow_hosts from the file.
    let config = tmp.path().join("pitwall.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nid = \"embed\"\nextractor = \"generic-page\"\nallow_hosts = [\"127.0.0.1\"]\nsettings = {{ page = \"{}/pages/jsvar\" }}\n",
            testbed.url()
        ),
    )
    .unwrap();
    let (code, out) = tokio::task::spawn_blocking({
        let (config, plugins, upstream, data) =
            (config.clone(), plugins.clone(), upstream.clone(), data.clone());
        move || {
            let args = [
                "embed",
                "--config",
                config.to_str().unwrap(),
                "--plugins-dir",
                plugins.to_str().unwrap(),
                "--allow-upstream",
                &upstream,
            ];
            check(&args, &data)
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("is extractor generic-page") && out.contains("LIVE"), "{out}");
    // Bad input: an unknown source exits 2 naming the ones there are.
    let (code, out) = tokio::task::spawn_blocking({
        let (config, data) = (config.clone(), data.clone());
        move || check(&["nope", "--config", config.to_str().unwrap()], &data)
    })
    .await
    .unwrap();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no [[source]] \"nope\"") && out.contains("embed"), "{out}");
    testbed.shutdown().await;
}
