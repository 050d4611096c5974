//! Relay tokens: what a `/relay/…` URL must fetch (upstream URL, the headers to send upstream,
//! what kind of resource it is, and an expiry), sealed with XChaCha20-Poly1305. The browser sees
//! only ciphertext: CDN cookies, Referer and tokens never reach it, and a forged, altered or
//! expired token is refused. The key comes from `--relay-key` or is generated once in the data
//! dir (`relay.key`, mode 0600), so every replica given the same key serves every relay URL.

use std::{io::Write, path::Path};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bound into every token, so tokens of another format version never open.
const AAD: &[u8] = b"pitwall-relay-v1";
const NONCE_LEN: usize = 24;

/// What one relay URL fetches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayTarget {
    /// Absolute upstream URL.
    #[serde(rename = "u")]
    pub url: String,
    /// Headers to send upstream (Referer, User-Agent, Cookie, …).
    #[serde(rename = "h", default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The origins (`scheme://host:port`) the headers may be sent to: the candidate's own, and
    /// the one its URL redirected to. Children on other origins get relay URLs without headers.
    /// Empty in tokens from before scoping: then only the target's own origin.
    #[serde(rename = "o", default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<String>,
    /// The stream this resource belongs to (`/live` and session URLs), so the relay can report
    /// its failures against it; absent for `/proxy`.
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// `p` playlist, `s` segment, `k` key, `m` map, `d` data, `c` steering.
    #[serde(rename = "k")]
    pub kind: char,
    /// Unix seconds after which the token is refused.
    #[serde(rename = "e")]
    pub expires: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not base64, too short, or the seal does not verify (forged or altered).
    #[error("invalid relay token")]
    Invalid,
    /// Past its expiry.
    #[error("relay token expired")]
    Expired,
}

/// The relay key.
#[derive(Clone)]
pub struct RelayKey {
    cipher: XChaCha20Poly1305,
}

impl RelayKey {
    /// A key derived from any secret text (`--relay-key`): SHA-256 of it.
    pub fn from_secret(secret: &str) -> Self {
        let digest = Sha256::digest(secret.as_bytes());
        RelayKey { cipher: XChaCha20Poly1305::new_from_slice(&digest).expect("32-byte key") }
    }

    /// `--relay-key` if given, else `<data-dir>/relay.key`, generated (atomically) on first start.
    pub fn load_or_create(data_dir: &Path, given: Option<&str>) -> std::io::Result<Self> {
        if let Some(secret) = given {
            return Ok(Self::from_secret(secret));
        }
        let path = data_dir.join("relay.key");
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim().len() >= 32 => {
                restrict_to_owner(&path)?;
                return Ok(Self::from_secret(text.trim()));
            }
            Ok(_) => tracing::warn!(file = %path.display(), "relay key file too short; generating a new key"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::fs::create_dir_all(data_dir)?;
        let secret = hex::encode(rand::random::<[u8; 32]>());
        let tmp = data_dir.join(format!(".relay.key.tmp-{}", std::process::id()));
        // Created exclusively (never through a planted file or symlink), owner-only from the start.
        let _ = std::fs::remove_file(&tmp);
        {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp)?;
            file.write_all(secret.as_bytes())?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        tracing::info!(file = %path.display(), "generated a relay key");
        Ok(Self::from_secret(&secret))
    }

    /// Seals `target` into URL-safe text.
    pub fn seal(&self, target: &RelayTarget) -> String {
        let plain = serde_json::to_vec(target).expect("a relay target always encodes");
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: &plain, aad: AAD })
            .expect("encryption of a small buffer cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Opens a token, refusing forged, altered and (at `now`, Unix seconds) expired ones.
    pub fn open(&self, token: &str, now: i64) -> Result<RelayTarget, TokenError> {
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| TokenError::Invalid)?;
        if bytes.len() <= NONCE_LEN {
            return Err(TokenError::Invalid);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: AAD })
            .map_err(|_| TokenError::Invalid)?;
        let target: RelayTarget = serde_json::from_slice(&plain).map_err(|_| TokenError::Invalid)?;
        if target.expires < now {
            return Err(TokenError::Expired);
        }
        Ok(target)
    }
}

/// Makes the key file readable by its owner only, saying so when it was not.
fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(file = %path.display(), mode = format!("{:o}", mode & 0o777), "the relay key was readable by others; restricting it to its owner (0600)");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> RelayTarget {
        RelayTarget {
            url: "https://cdn.example/live/seg-1.ts?token=secret".into(),
            headers: vec![("Cookie".into(), "session=abc".into())],
            origins: vec!["https://cdn.example".into()],
            stream: Some("st_0123".into()),
            kind: 's',
            expires: 1_000,
        }
    }

    #[test]
    fn round_trip_hides_secrets() {
        let key = RelayKey::from_secret("k");
        let token = key.seal(&target());
        assert!(!token.contains("secret") && !token.contains("session"));
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(key.open(&token, 999), Ok(target()));
        assert_ne!(key.seal(&target()), token, "fresh nonce every time");
    }

    #[test]
    fn forged_altered_expired_and_foreign_tokens_are_refused() {
        let key = RelayKey::from_secret("k");
        let token = key.seal(&target());
        assert_eq!(key.open(&token, 1_001), Err(TokenError::Expired));
        assert_eq!(RelayKey::from_secret("other").open(&token, 0), Err(TokenError::Invalid));
        let mut altered = token.clone().into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.open(std::str::from_utf8(&altered).unwrap(), 0), Err(TokenError::Invalid));
        assert_eq!(key.open("not base64!", 0), Err(TokenError::Invalid));
        assert_eq!(key.open("", 0), Err(TokenError::Invalid));
    }

    #[test]
    #[cfg(unix)]
    fn a_planted_temporary_file_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let tmp = data.join(format!(".relay.key.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        RelayKey::load_or_create(&data, None).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(std::fs::read_to_string(data.join("relay.key")).unwrap().len() >= 32);
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = RelayKey::load_or_create(dir.path(), None).unwrap();
        let b = RelayKey::load_or_create(dir.path(), None).unwrap();
        let token = a.seal(&target());
        assert_eq!(b.open(&token, 0), Ok(target()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("relay.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.path().join("relay.key");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let c = RelayKey::load_or_create(dir.path(), None).unwrap();
            assert_eq!(c.open(&token, 0), Ok(target()), "the same key");
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "tightened");
        }
        let given = RelayKey::load_or_create(dir.path(), Some("shared")).unwrap();
        assert_eq!(given.open(&RelayKey::from_secret("shared").seal(&target()), 0), Ok(target()));
    }
}
