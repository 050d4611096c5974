//! The SDK carries its own copy of the WIT (so it builds outside this repository); it must be the
//! repository's `wit/extractor.wit`, byte for byte.

#[test]
fn the_sdk_wit_is_the_repository_wit() {
    let sdk = include_str!("../wit/extractor.wit");
    let repo = include_str!("../../wit/extractor.wit");
    assert!(sdk == repo, "extractor-sdk/wit/extractor.wit differs from wit/extractor.wit: copy it over");
}
