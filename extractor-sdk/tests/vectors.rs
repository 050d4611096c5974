//! The shared finder test vectors (`vectors/find.json`) run against the Rust finders, so the file
//! cannot say what the Rust SDK does not do. The JavaScript and Python SDKs run the same file
//! against their own finders; see `vectors/README.md` for the format.

use pitwall_extractor_sdk::{codec, find};
use serde_json::{Value, json};

/// What the Rust function named `name` answers for `args`, as JSON (`null` for `None`).
fn call(name: &str, args: &[&str]) -> Result<Value, String> {
    let arg = |i: usize| args.get(i).copied().ok_or_else(|| format!("{name} needs argument {i}"));
    Ok(match name {
        "meta_content" => json!(find::meta_content(arg(0)?, arg(1)?)),
        "attr_values" => json!(find::attr_values(arg(0)?, arg(1)?, arg(2)?)),
        "m3u8_urls" => json!(find::m3u8_urls(arg(0)?)),
        "m3u8_refs" => json!(find::m3u8_refs(arg(0)?)),
        "js_string_var" => json!(find::js_string_var(arg(0)?, arg(1)?)),
        "fetch_urls" => json!(find::fetch_urls(arg(0)?)),
        "atob_strings" => json!(find::atob_strings(arg(0)?)),
        "base64_strings" => json!(find::base64_strings(arg(0)?)),
        "json_ld" => json!(find::json_ld(arg(0)?)),
        "between" => json!(find::between(arg(0)?, arg(1)?, arg(2)?)),
        "html_unescape" => json!(find::html_unescape(arg(0)?)),
        "js_unescape" => json!(find::js_unescape(arg(0)?)),
        "base_href" => json!(find::base_href(arg(0)?)),
        "base64_decode_str" => json!(codec::base64_decode_str(arg(0)?)),
        "reverse" => json!(codec::reverse(arg(0)?)),
        other => return Err(format!("unknown finder {other:?}: add it to this test and the other SDKs")),
    })
}

#[test]
fn every_vector_holds_for_the_rust_finders() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/find.json");
    let text = std::fs::read_to_string(path).expect("read vectors/find.json");
    let vectors: Vec<Value> = serde_json::from_str(&text).expect("find.json is a JSON array");
    assert!(vectors.len() >= 30, "only {} vectors", vectors.len());
    let mut failures = Vec::new();
    for (i, vector) in vectors.iter().enumerate() {
        let name = vector["fn"].as_str().expect("`fn` is a string");
        let args: Vec<&str> = vector["args"]
            .as_array()
            .expect("`args` is an array")
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(vector["note"].is_string(), "vector {i} ({name}) has no note");
        match call(name, &args) {
            Ok(got) if got == vector["expect"] => {}
            Ok(got) => failures
                .push(format!("#{i} {name} ({}): expected {}, got {got}", vector["note"], vector["expect"])),
            Err(e) => failures.push(format!("#{i}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors fail:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}

#[test]
fn every_public_finder_has_a_vector() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/find.json")).unwrap();
    for name in [
        "meta_content",
        "attr_values",
        "m3u8_urls",
        "js_string_var",
        "base64_strings",
        "atob_strings",
        "json_ld",
        "between",
        "html_unescape",
    ] {
        assert!(text.contains(&format!("\"fn\": \"{name}\"")), "no vector for {name}");
    }
}
