//! CDN tokens: HMAC-SHA256 signatures binding a feed name to an expiry time.
//!
//! A token reads `<expires_at>.<signature>` where `expires_at` is in Unix seconds and the
//! signature is unpadded base64url of `HMAC-SHA256(key, "<feed>\n<expires_at>")`. The key is random
//! per process, so tokens never survive a testbed restart, like a real CDN rotating its secret.
//! The same signer also signs demo-tv sessions and derives their CSRF tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a token was refused; every variant answers 403 at the CDN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// No `token` query parameter.
    Missing,
    /// Not of the `<expires>.<signature>` shape.
    Malformed,
    /// Signature does not match (forged, or issued for another feed).
    BadSignature,
    /// Signature fine, but the expiry has passed.
    Expired,
}

impl TokenError {
    /// Short machine-readable code used in error bodies.
    pub fn code(self) -> &'static str {
        match self {
            TokenError::Missing => "token_missing",
            TokenError::Malformed => "token_malformed",
            TokenError::BadSignature => "token_invalid",
            TokenError::Expired => "token_expired",
        }
    }
}

/// Signs and checks tokens with one process-wide secret.
pub struct Signer {
    key: [u8; 32],
}

impl Signer {
    /// A signer with a fresh random key.
    pub fn random() -> Self {
        Signer { key: rand::random() }
    }

    /// A signer with a fixed key (unit tests).
    #[cfg(test)]
    pub fn with_key(key: [u8; 32]) -> Self {
        Signer { key }
    }

    fn mac(&self, parts: &[&[u8]]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                mac.update(b"\n");
            }
            mac.update(part);
        }
        mac
    }

    /// Base64url signature over `parts` joined by newlines.
    pub fn sign(&self, parts: &[&[u8]]) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(parts).finalize().into_bytes())
    }

    /// Constant-time check of a base64url signature over `parts`.
    pub fn verify(&self, parts: &[&[u8]], signature: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(signature) {
            Ok(raw) => self.mac(parts).verify_slice(&raw).is_ok(),
            Err(_) => false,
        }
    }

    /// A CDN token for `feed`, valid until `expires_at` (Unix seconds).
    pub fn cdn_token(&self, feed: &str, expires_at: u64) -> String {
        let exp = expires_at.to_string();
        format!("{exp}.{}", self.sign(&[feed.as_bytes(), exp.as_bytes()]))
    }

    /// Checks `token` for `feed` at time `now` (Unix seconds, fractional).
    pub fn check_cdn_token(&self, feed: &str, token: Option<&str>, now: f64) -> Result<(), TokenError> {
        let token = token.ok_or(TokenError::Missing)?;
        let (exp, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let expires_at: u64 = exp.parse().map_err(|_| TokenError::Malformed)?;
        if !self.verify(&[feed.as_bytes(), exp.as_bytes()], sig) {
            return Err(TokenError::BadSignature);
        }
        if now >= expires_at as f64 {
            return Err(TokenError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip_and_failures() {
        let signer = Signer::with_key([7; 32]);
        let token = signer.cdn_token("main", 1000);
        assert_eq!(signer.check_cdn_token("main", Some(&token), 999.5), Ok(()));
        assert_eq!(signer.check_cdn_token("main", Some(&token), 1000.0), Err(TokenError::Expired));
        assert_eq!(signer.check_cdn_token("pitlane", Some(&token), 10.0), Err(TokenError::BadSignature));
        assert_eq!(signer.check_cdn_token("main", None, 10.0), Err(TokenError::Missing));
        assert_eq!(signer.check_cdn_token("main", Some("garbage"), 10.0), Err(TokenError::Malformed));
        // A later expiry with the old signature is a forgery.
        let sig = token.split_once('.').unwrap().1;
        assert_eq!(
            signer.check_cdn_token("main", Some(&format!("2000.{sig}")), 10.0),
            Err(TokenError::BadSignature)
        );
        // Another process (key) does not accept it either.
        let other = Signer::with_key([8; 32]);
        assert_eq!(other.check_cdn_token("main", Some(&token), 10.0), Err(TokenError::BadSignature));
    }
}
