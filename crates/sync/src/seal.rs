//! Credentials at rest: sealed with ChaCha20-Poly1305 under a key kept in the data dir
//! (`secret.key`, created with mode 0600) or given by the operator (`WHARF_SECRET_KEY`, 64 hex
//! characters). Losing the key means re-entering credentials; nothing else is lost.

use std::io::Write;
use std::path::Path;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use crate::SyncError;

const NONCE_LEN: usize = 12;

pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key redacted>)")
    }
}

fn parse_hex_key(hex: &str) -> Result<[u8; 32], String> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return Err("the secret key must be 64 hex characters (32 bytes)".into());
    }
    let mut key = [0u8; 32];
    for (i, slot) in key.iter_mut().enumerate() {
        *slot = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| "the secret key must be hex".to_string())?;
    }
    Ok(key)
}

impl Sealer {
    pub fn from_key(key: [u8; 32]) -> Self {
        Sealer { cipher: ChaCha20Poly1305::new(Key::from_slice(&key)) }
    }

    /// The operator's key when given, else the data dir's key file, created on first use.
    pub fn open(data_dir: &Path, operator_key: Option<&str>) -> Result<Self, SyncError> {
        if let Some(hex) = operator_key {
            return parse_hex_key(hex).map(Self::from_key).map_err(SyncError::Invalid);
        }
        let path = data_dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => parse_hex_key(&text)
                .map(Self::from_key)
                .map_err(|e| SyncError::Sealed(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::random();
                let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut f =
                    options.open(&path).map_err(|e| SyncError::Sealed(format!("creating {}: {e}", path.display())))?;
                f.write_all(hex.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| SyncError::Sealed(e.to_string()))?;
                Ok(Self::from_key(key))
            }
            Err(e) => Err(SyncError::Sealed(format!("{}: {e}", path.display()))),
        }
    }

    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        out.extend(self.cipher.encrypt(&nonce, plaintext).expect("encryption cannot fail for in-memory data"));
        out
    }

    pub fn unseal(&self, sealed: &[u8]) -> Result<Vec<u8>, SyncError> {
        if sealed.len() < NONCE_LEN {
            return Err(SyncError::Sealed("truncated".into()));
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| SyncError::Sealed("the key does not match the one the credentials were sealed with".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_detects_a_wrong_key() {
        let dir = tempfile::tempdir().unwrap();
        let a = Sealer::open(dir.path(), None).unwrap();
        let sealed = a.seal(b"{\"secret_access_key\":\"abc\"}");
        assert!(!sealed.windows(3).any(|w| w == b"abc"), "the secret is not readable at rest");
        // The key file persists: a second open reads the same key.
        let b = Sealer::open(dir.path(), None).unwrap();
        assert_eq!(b.unseal(&sealed).unwrap(), b"{\"secret_access_key\":\"abc\"}");
        let other = Sealer::from_key([7; 32]);
        assert!(other.unseal(&sealed).is_err());
        assert!(Sealer::open(dir.path(), Some("nothex")).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
