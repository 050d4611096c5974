//! Undoing the obfuscation sites use to hide playlist URLs: base64 in any flavour (standard or
//! URL-safe alphabet, padded or not) and string reversal.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const INDIFFERENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, INDIFFERENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, INDIFFERENT);

/// Decodes base64 in the standard (`+/`) or URL-safe (`-_`) alphabet, with or without `=`
/// padding, ignoring surrounding whitespace. `None` if it is not base64.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let engine = if text.contains(['-', '_']) { &URL_SAFE } else { &STANDARD };
    engine.decode(text).ok()
}

/// [`base64_decode`] then UTF-8: what `atob()` of a URL gives back. `None` if either step fails.
pub fn base64_decode_str(text: &str) -> Option<String> {
    String::from_utf8(base64_decode(text)?).ok()
}

/// `text` with its characters in reverse order (JS `s.split('').reverse().join('')`).
pub fn reverse(text: &str) -> String {
    text.chars().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_in_every_flavour() {
        // "hi?>" encodes to "aGk/Pg==" (standard) and "aGk_Pg" (URL-safe, unpadded).
        assert_eq!(base64_decode("aGk/Pg==").unwrap(), b"hi?>");
        assert_eq!(base64_decode("aGk/Pg").unwrap(), b"hi?>");
        assert_eq!(base64_decode("aGk_Pg==").unwrap(), b"hi?>");
        assert_eq!(base64_decode(" aGk_Pg\n").unwrap(), b"hi?>");
        assert_eq!(
            base64_decode_str("aHR0cHM6Ly9hLmV4YW1wbGUveC5tM3U4").unwrap(),
            "https://a.example/x.m3u8"
        );
        assert_eq!(base64_decode("not base64!"), None);
        assert_eq!(base64_decode(""), None);
        assert_eq!(base64_decode_str("/w=="), None, "valid base64, not UTF-8");
    }

    #[test]
    fn reverse_undoes_itself() {
        assert_eq!(reverse("abc"), "cba");
        assert_eq!(reverse(&reverse("Grand Prix — 🏁")), "Grand Prix — 🏁");
        assert_eq!(
            base64_decode_str(&reverse("==AO1NTbuIXZ0NXYt9SZsBXbhhXZu4WYl9yL6MHc0RHa")).unwrap(),
            "https://ean.example/master.m3u8"
        );
    }
}
