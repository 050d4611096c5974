//! Black-box tests of the `pitwall` binary: boot on port 0, probe the system routes and the web
//! app, check configuration errors (exit 2 naming the key and where it came from) and that
//! SIGTERM exits 0.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

mod common;

use common::{Binary as Pitwall, web_dir};

#[tokio::test]
async fn serves_probes_metrics_and_the_web_app() {
    let tmp = tempfile::tempdir().unwrap();
    let web = web_dir(tmp.path());
    let mut pitwall = Pitwall::start(&["--web-dir", &web], &tmp.path().join("data"));
    let http = reqwest::Client::new();

    let health = http.get(format!("{}/healthz", pitwall.url)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<serde_json::Value>().await.unwrap(), serde_json::json!({"status": "ok"}));

    // Ready once the schedule (bundled snapshot) and the plugins directory are loaded; bounded wait.
    let mut ready = http.get(format!("{}/readyz", pitwall.url)).send().await.unwrap();
    for _ in 0..100 {
        if ready.status() == 200 {
            break;
        }
        assert_eq!(ready.status(), 503);
        assert_eq!(ready.json::<serde_json::Value>().await.unwrap()["error"]["code"], "not_ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
        ready = http.get(format!("{}/readyz", pitwall.url)).send().await.unwrap();
    }
    assert_eq!(ready.status(), 200);

    let index = http.get(format!("{}/", pitwall.url)).send().await.unwrap();
    assert_eq!(index.status(), 200);
    assert!(index.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(index.text().await.unwrap().contains("<title>pitwall</title>"));

    let deep = http.get(format!("{}/session/2026-01-race", pitwall.url)).send().await.unwrap();
    assert_eq!(deep.status(), 200, "SPA fallback for app routes");
    assert!(deep.text().await.unwrap().contains("<div id=app>"));

    let asset = http.get(format!("{}/_app/immutable/app.123.js", pitwall.url)).send().await.unwrap();
    assert_eq!(asset.status(), 200);
    assert!(asset.headers()["cache-control"].to_str().unwrap().contains("immutable"));

    let missing = http.get(format!("{}/nope.js", pitwall.url)).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");

    // axum's own refusals get the JSON error shape too: a wrong method, a bad query string.
    let post = http.post(format!("{}/healthz", pitwall.url)).send().await.unwrap();
    assert_eq!(post.status(), 405);
    assert!(post.headers()["allow"].to_str().unwrap().contains("GET"));
    let body: serde_json::Value = post.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("POST is not allowed on /healthz"), "{body}");
    let bad_query = http.get(format!("{}/streams?session=x&all=maybe", pitwall.url)).send().await.unwrap();
    assert_eq!(bad_query.status(), 400);
    let body: serde_json::Value = bad_query.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("all"), "{body}");

    let metrics = http.get(format!("{}/metrics", pitwall.url)).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(r#"pitwall_http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"route="web",status="404""#), "{text}");

    let status = pitwall.terminate();
    assert!(status.success(), "SIGTERM must exit 0, got {status}");
}

#[tokio::test]
async fn viewer_token_guards_everything_but_probes() {
    let tmp = tempfile::tempdir().unwrap();
    let web = web_dir(tmp.path());
    let pitwall = Pitwall::start(&["--web-dir", &web, "--viewer-token", "s3cret"], &tmp.path().join("data"));
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    assert_eq!(http.get(format!("{}/healthz", pitwall.url)).send().await.unwrap().status(), 200);
    let denied = http.get(format!("{}/", pitwall.url)).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    assert_eq!(denied.json::<serde_json::Value>().await.unwrap()["error"]["code"], "unauthorized");
    assert_eq!(http.get(format!("{}/?token=wrong", pitwall.url)).send().await.unwrap().status(), 401);

    let login = http.get(format!("{}/?token=s3cret", pitwall.url)).send().await.unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("pitwall_token=s3cret;") && cookie.contains("HttpOnly"), "{cookie}");
    let with_cookie =
        http.get(format!("{}/", pitwall.url)).header("cookie", "pitwall_token=s3cret").send().await.unwrap();
    assert_eq!(with_cookie.status(), 200);
    let with_bearer =
        http.get(format!("{}/metrics", pitwall.url)).bearer_auth("s3cret").send().await.unwrap();
    assert_eq!(with_bearer.status(), 200);
}

#[tokio::test]
async fn a_browser_without_the_token_gets_a_sign_in_page_and_programs_get_json() {
    let tmp = tempfile::tempdir().unwrap();
    let web = web_dir(tmp.path());
    let pitwall =
        Pitwall::start(&["--web-dir", &web, "--viewer-token", "s3cret-viewer"], &tmp.path().join("data"));
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    // A browser opening a deep link gets the form (200), under the same strict CSP, coming back
    // to where it was going.
    let page = http
        .get(format!("{}/session/2026-01-race?view=grid", pitwall.url))
        .header("accept", browser_accept)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.headers().get("set-cookie").is_none());
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    let scripts = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
    assert!(csp.contains("form-action 'self'") && !scripts.contains("unsafe-inline"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<form method=post action="/sign-in">"#), "{html}");
    assert!(html.contains("name=token") && !html.contains("<script"), "{html}");
    assert!(html.contains(r#"name=next value="/session/2026-01-race?view=grid""#), "{html}");

    // Programs still get 401 JSON, whatever they accept.
    for accept in [None, Some("application/json"), Some("*/*")] {
        let mut request = http.get(format!("{}/schedule", pitwall.url));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let denied = request.send().await.unwrap();
        assert_eq!(denied.status(), 401, "{accept:?}");
        assert_eq!(denied.json::<serde_json::Value>().await.unwrap()["error"]["code"], "unauthorized");
    }

    let sign_in = |token: &str, next: &str| {
        http.post(format!("{}/sign-in", pitwall.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={}&next={}", urlencode(token), urlencode(next)))
            .send()
    };
    // A wrong token: the page again, with an error and no cookie.
    let wrong = sign_in("s3cret-viewer-not", "/session/x").await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    let html = wrong.text().await.unwrap();
    assert!(html.contains("not right") && html.contains("name=token"), "{html}");

    // The right token: the cookie, and back to where the browser was going.
    let right = sign_in("s3cret-viewer", "/session/x?view=grid").await.unwrap();
    assert_eq!(right.status(), 303);
    assert_eq!(right.headers()["location"], "/session/x?view=grid");
    let cookie = right.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("pitwall_token=s3cret-viewer;"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP from an untrusted peer: {cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    let app = http
        .get(format!("{}/session/x", pitwall.url))
        .header("accept", browser_accept)
        .header("cookie", &pair);
    let app = app.send().await.unwrap();
    assert_eq!(app.status(), 200);
    assert!(app.text().await.unwrap().contains("<title>pitwall</title>"), "the web app, not the form");
    let api = http.get(format!("{}/schedule", pitwall.url)).header("cookie", &pair).send().await.unwrap();
    assert_eq!(api.status(), 200);

    // Never an open redirect: anything a browser reads as another site goes to `/`.
    for evil in
        ["//evil.example", "//evil.example/x", "/\\evil.example", "https://evil.example/", "evil.example"]
    {
        let response = sign_in("s3cret-viewer", evil).await.unwrap();
        assert_eq!(response.status(), 303, "{evil}");
        assert_eq!(response.headers()["location"], "/", "{evil}");
    }
}

/// Percent-encodes `text` for a form body.
fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Runs the binary expecting it to exit without serving; returns (code, stderr).
fn run_failing(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("PITWALL_CONFIG")
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn config_file_typo_exits_2_naming_key_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pitwall.toml");
    std::fs::write(&file, "[health]\ninterval = \"15s\"\nfail_treshold = 2\n").unwrap();
    let (code, stderr) = run_failing(&["--listen", "127.0.0.1:0", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("pitwall.toml:3:1"), "{stderr}");
    assert!(stderr.contains("fail_treshold"), "{stderr}");
}

#[test]
fn config_file_bad_value_exits_2_naming_key_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pitwall.toml");
    std::fs::write(&file, "[polling]\nwindow_before = \"half an hour\"\n").unwrap();
    let (code, stderr) = run_failing(&["--listen", "127.0.0.1:0", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("pitwall.toml:2:17") && stderr.contains("polling.window_before"), "{stderr}");
}

#[test]
fn bad_flag_and_env_values_exit_2_naming_them() {
    let (code, stderr) = run_failing(&["--listen", "nowhere"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--listen"), "{stderr}");

    let (code, stderr) = run_failing(&[], &[("PITWALL_LISTEN", "nowhere:80x")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("PITWALL_LISTEN"), "{stderr}");

    let (code, stderr) = run_failing(&["--listen", "0.0.0.0:0"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--viewer-token") && stderr.contains("--public"), "{stderr}");

    // Checked before anything listens, each labelled with where it came from.
    let (code, stderr) = run_failing(&["--redis-url", "nonsense"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("command line: --redis-url"), "{stderr}");
    let (code, stderr) = run_failing(&[], &[("PITWALL_RELAY_KEY", "short")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("environment variable PITWALL_RELAY_KEY"), "{stderr}");
    let (code, stderr) = run_failing(&[], &[("PITWALL_ALLOW_UPSTREAM", "http://cdn.lan/")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("environment variable PITWALL_ALLOW_UPSTREAM"), "{stderr}");
}

#[tokio::test]
async fn json_logs_are_json() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
        .arg("--data-dir")
        .arg(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let first = stdout.lines().next().unwrap().unwrap();
    assert!(first.starts_with("listening on http://"), "{first}");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!lines.is_empty(), "no log lines");
    for line in lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
        assert!(value.get("level").is_some(), "{line}");
    }
}

#[tokio::test]
async fn admin_token_guards_extractors_and_proxy() {
    let tmp = tempfile::tempdir().unwrap();
    let web = web_dir(tmp.path());
    let pitwall = Pitwall::start(&["--web-dir", &web, "--admin-token", "adm1n"], &tmp.path().join("data"));
    let http = reqwest::Client::new();
    for path in ["/extractors", "/proxy?url=http://example.com/x.m3u8"] {
        let anonymous = http.get(format!("{}{path}", pitwall.url)).send().await.unwrap();
        assert_eq!(anonymous.status(), 401, "{path}");
        let wrong = http.get(format!("{}{path}", pitwall.url)).bearer_auth("nope").send().await.unwrap();
        assert_eq!(wrong.status(), 403, "{path}");
    }
    let listed = http.get(format!("{}/extractors", pitwall.url)).bearer_auth("adm1n").send().await.unwrap();
    assert_eq!(listed.status(), 200);
    assert!(listed.json::<serde_json::Value>().await.unwrap().is_array());
    assert_eq!(
        http.get(format!("{}/healthz", pitwall.url)).send().await.unwrap().status(),
        200,
        "no viewer token set"
    );
}
