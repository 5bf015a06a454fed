//! Field encryption for sensitive clinical content: XChaCha20-Poly1305 with a random
//! 192-bit nonce per value, the associated data binding each ciphertext to its
//! `table:column:row` (so a value copied to another row or column does not decrypt), and
//! the key id stored with the ciphertext so keys can rotate.
//!
//! A sealed value reads `pxe1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`.
//!
//! Keys come from a file in the data directory (SQLite: created on first start, mode
//! 0600) or from `PRAXIS_ENCRYPTION_KEYS` (`id:base64key,id:base64key`, required with
//! PostgreSQL so every instance shares them) with `PRAXIS_ENCRYPTION_KEY_CURRENT` naming
//! the key new values are sealed with. Old keys stay in the ring to open old values; the
//! ring reloads its source when it meets a key id it does not know, and a key file is
//! checked for changes before sealing (at most every [`KEY_FILE_CHECK`]), so a rotation
//! done by `praxis keys rotate` is picked up by running servers without a restart.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};
use thiserror::Error;

/// How often a ring reading a key file looks for a new current key before sealing.
/// `praxis keys rotate` waits a little longer than this before re-sealing, so no running
/// server is still sealing with the old key by then.
pub const KEY_FILE_CHECK: Duration = Duration::from_secs(3);

const PREFIX: &str = "pxe1";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Why a value could not be sealed or opened.
#[derive(Debug, Error)]
pub enum CryptoError {
    /// The value is not in the sealed format.
    #[error("not an encrypted value")]
    Malformed,
    /// The value was sealed with a key this ring does not have.
    #[error("encryption key {0:?} is not available; add it to the key file or PRAXIS_ENCRYPTION_KEYS")]
    UnknownKey(String),
    /// The tag did not verify: wrong key, wrong row/column, or tampered data.
    #[error("encrypted value does not verify (tampered, or moved from another record)")]
    Tampered,
    /// The key source could not be read or written.
    #[error("encryption keys: {0}")]
    Keys(String),
}

/// Where the keys come from.
#[derive(Clone, Debug)]
enum Source {
    /// A JSON key file (single-machine installations).
    File(PathBuf),
    /// The environment (several instances; the operator rotates).
    Env { keys: String, current: Option<String> },
    /// Generated for this process only (tests, and nothing else).
    Ephemeral,
}

#[derive(Clone, Serialize, Deserialize)]
struct KeyFile {
    current: String,
    keys: BTreeMap<String, String>,
}

#[derive(Clone)]
struct Keys {
    current: String,
    keys: BTreeMap<String, [u8; 32]>,
}

/// The set of keys: one current (seals), any number of older ones (open).
pub struct KeyRing {
    source: Source,
    keys: RwLock<Keys>,
    /// When the key file was last looked at, and its modification time then.
    file_seen: Mutex<(Instant, Option<u64>)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").field("current", &self.current_id()).finish_non_exhaustive()
    }
}

fn random_key() -> [u8; 32] {
    let mut k = [0u8; 32];
    rand::fill(&mut k);
    k
}

fn new_key_id(existing: &BTreeMap<String, impl Sized>) -> String {
    let mut n = existing.len() + 1;
    loop {
        let mut b = [0u8; 3];
        rand::fill(&mut b);
        let id = format!("k{n}{}", hex::encode(b));
        if !existing.contains_key(&id) {
            return id;
        }
        n += 1;
    }
}

fn decode_key(id: &str, b64: &str) -> Result<[u8; 32], CryptoError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .or_else(|_| B64.decode(b64.trim()))
        .map_err(|_| CryptoError::Keys(format!("key {id:?} is not base64")))?;
    bytes.try_into().map_err(|_| CryptoError::Keys(format!("key {id:?} must be 32 bytes")))
}

fn parse_env(keys: &str, current: Option<&str>) -> Result<Keys, CryptoError> {
    let mut map = BTreeMap::new();
    let mut first = None;
    for part in keys.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, b64) =
            part.split_once(':').ok_or_else(|| CryptoError::Keys("use id:base64key,id:base64key".into()))?;
        if !id.chars().all(|c| c.is_ascii_alphanumeric()) || id.is_empty() {
            return Err(CryptoError::Keys(format!("key id {id:?} must be letters and digits")));
        }
        map.insert(id.to_string(), decode_key(id, b64)?);
        first.get_or_insert_with(|| id.to_string());
    }
    let current = current.map(str::to_string).or(first).ok_or_else(|| CryptoError::Keys("no keys given".into()))?;
    if !map.contains_key(&current) {
        return Err(CryptoError::Keys(format!("the current key {current:?} is not among the keys")));
    }
    Ok(Keys { current, keys: map })
}

fn read_file(path: &Path) -> Result<Keys, CryptoError> {
    let text = std::fs::read_to_string(path).map_err(|e| CryptoError::Keys(format!("{}: {e}", path.display())))?;
    let f: KeyFile = serde_json::from_str(&text).map_err(|e| CryptoError::Keys(format!("{}: {e}", path.display())))?;
    let mut keys = BTreeMap::new();
    for (id, b64) in &f.keys {
        keys.insert(id.clone(), decode_key(id, b64)?);
    }
    if !keys.contains_key(&f.current) {
        return Err(CryptoError::Keys(format!("{}: the current key is missing", path.display())));
    }
    Ok(Keys { current: f.current, keys })
}

fn write_file(path: &Path, keys: &Keys) -> Result<(), CryptoError> {
    let f = KeyFile {
        current: keys.current.clone(),
        keys: keys
            .keys
            .iter()
            .map(|(id, k)| (id.clone(), base64::engine::general_purpose::STANDARD.encode(k)))
            .collect(),
    };
    let text = serde_json::to_string_pretty(&f).map_err(|e| CryptoError::Keys(e.to_string()))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| CryptoError::Keys(format!("{}: {e}", tmp.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600));
    }
    std::fs::rename(&tmp, path).map_err(|e| CryptoError::Keys(format!("{}: {e}", path.display())))
}

impl KeyRing {
    /// Keys from `<dir>/keys.json`, creating the file with a fresh key the first time.
    pub fn from_file(path: PathBuf) -> Result<KeyRing, CryptoError> {
        let keys = if path.exists() {
            read_file(&path)?
        } else {
            let mut map = BTreeMap::new();
            let id = new_key_id(&map);
            map.insert(id.clone(), random_key());
            let keys = Keys { current: id, keys: map };
            write_file(&path, &keys)?;
            keys
        };
        let seen = (Instant::now(), fingerprint(&path));
        Ok(KeyRing { source: Source::File(path), keys: RwLock::new(keys), file_seen: Mutex::new(seen) })
    }

    /// Keys from the environment: `keys` is `id:base64,id:base64`; `current` names the
    /// sealing key (default: the first).
    pub fn from_env(keys: &str, current: Option<&str>) -> Result<KeyRing, CryptoError> {
        let parsed = parse_env(keys, current)?;
        Ok(KeyRing {
            source: Source::Env { keys: keys.to_string(), current: current.map(str::to_string) },
            keys: RwLock::new(parsed),
            file_seen: Mutex::new((Instant::now(), None)),
        })
    }

    /// A random key for this process only (tests).
    pub fn ephemeral() -> KeyRing {
        let mut map = BTreeMap::new();
        let id = new_key_id(&map);
        map.insert(id.clone(), random_key());
        KeyRing {
            source: Source::Ephemeral,
            keys: RwLock::new(Keys { current: id, keys: map }),
            file_seen: Mutex::new((Instant::now(), None)),
        }
    }

    /// The id of the key new values are sealed with.
    pub fn current_id(&self) -> String {
        self.keys.read().map(|k| k.current.clone()).unwrap_or_default()
    }

    /// Every key id in the ring.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.read().map(|k| k.keys.keys().cloned().collect()).unwrap_or_default()
    }

    /// The key id a sealed value was sealed with.
    pub fn key_id_of(sealed: &str) -> Option<&str> {
        let mut parts = sealed.splitn(3, '.');
        (parts.next()? == PREFIX).then_some(())?;
        parts.next()
    }

    /// Seals `plaintext` for `aad` (use [`aad`]) with the current key.
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> Result<String, CryptoError> {
        self.follow_file()?;
        let (id, key) = {
            let k = self.keys.read().map_err(|_| CryptoError::Keys("key ring poisoned".into()))?;
            let key = *k.keys.get(&k.current).ok_or_else(|| CryptoError::UnknownKey(k.current.clone()))?;
            (k.current.clone(), key)
        };
        let cipher = XChaCha20Poly1305::new(&key.into());
        let mut nonce = [0u8; 24];
        rand::fill(&mut nonce);
        let ct = cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: aad.as_bytes() })
            .map_err(|_| CryptoError::Tampered)?;
        let mut out = Vec::with_capacity(24 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(format!("{PREFIX}.{id}.{}", B64.encode(out)))
    }

    /// Opens a sealed value for `aad`, reloading the key source once if the value names
    /// a key this ring does not have yet.
    pub fn open(&self, aad: &str, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(PREFIX), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CryptoError::Malformed);
        };
        let key = match self.key(id) {
            Some(k) => k,
            None => {
                self.reload()?;
                self.key(id).ok_or_else(|| CryptoError::UnknownKey(id.to_string()))?
            }
        };
        let bytes = B64.decode(body).map_err(|_| CryptoError::Malformed)?;
        if bytes.len() < 24 + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ct) = bytes.split_at(24);
        let nonce = XNonce::try_from(nonce).map_err(|_| CryptoError::Malformed)?;
        XChaCha20Poly1305::new(&key.into())
            .decrypt(&nonce, Payload { msg: ct, aad: aad.as_bytes() })
            .map_err(|_| CryptoError::Tampered)
    }

    /// Seals text.
    pub fn seal_str(&self, aad: &str, text: &str) -> Result<String, CryptoError> {
        self.seal(aad, text.as_bytes())
    }

    /// Opens text.
    pub fn open_str(&self, aad: &str, sealed: &str) -> Result<String, CryptoError> {
        String::from_utf8(self.open(aad, sealed)?).map_err(|_| CryptoError::Malformed)
    }

    /// Reloads a key file that changed since it was last read (checked at most every
    /// [`KEY_FILE_CHECK`]).
    fn follow_file(&self) -> Result<(), CryptoError> {
        let Source::File(path) = &self.source else { return Ok(()) };
        let changed = {
            let Ok(mut seen) = self.file_seen.lock() else { return Ok(()) };
            if seen.0.elapsed() < KEY_FILE_CHECK {
                return Ok(());
            }
            let now = fingerprint(path);
            let changed = now != seen.1;
            *seen = (Instant::now(), now);
            changed
        };
        if changed { self.reload() } else { Ok(()) }
    }

    /// The current key and its id (for sealing files in chunks).
    pub(crate) fn current_key(&self) -> Result<(String, [u8; 32]), CryptoError> {
        let k = self.keys.read().map_err(|_| CryptoError::Keys("key ring poisoned".into()))?;
        let key = *k.keys.get(&k.current).ok_or_else(|| CryptoError::UnknownKey(k.current.clone()))?;
        Ok((k.current.clone(), key))
    }

    /// The key with id `id`, reloading the source once if it is not known yet.
    pub(crate) fn key_by_id(&self, id: &str) -> Result<[u8; 32], CryptoError> {
        match self.key(id) {
            Some(k) => Ok(k),
            None => {
                self.reload()?;
                self.key(id).ok_or_else(|| CryptoError::UnknownKey(id.to_string()))
            }
        }
    }

    fn key(&self, id: &str) -> Option<[u8; 32]> {
        self.keys.read().ok()?.keys.get(id).copied()
    }

    /// Reads the key source again (a rotation elsewhere added a key or changed the
    /// current one).
    pub fn reload(&self) -> Result<(), CryptoError> {
        let fresh = match &self.source {
            Source::File(path) => read_file(path)?,
            Source::Env { keys, current } => parse_env(keys, current.as_deref())?,
            Source::Ephemeral => return Ok(()),
        };
        if let Ok(mut k) = self.keys.write() {
            *k = fresh;
        }
        Ok(())
    }

    /// Adds a fresh key and makes it current (key-file installations). Values sealed
    /// with older keys still open; re-seal them with `praxis keys rotate`.
    pub fn add_current_key(&self) -> Result<String, CryptoError> {
        let Source::File(path) = &self.source else {
            return Err(CryptoError::Keys(
                "keys come from PRAXIS_ENCRYPTION_KEYS: add the new key there (and set PRAXIS_ENCRYPTION_KEY_CURRENT) on every instance, then run the rotation".into(),
            ));
        };
        self.reload()?;
        let mut k = self.keys.write().map_err(|_| CryptoError::Keys("key ring poisoned".into()))?;
        let id = new_key_id(&k.keys);
        k.keys.insert(id.clone(), random_key());
        k.current = id.clone();
        write_file(path, &k)?;
        if let Ok(mut seen) = self.file_seen.lock() {
            *seen = (Instant::now(), fingerprint(path));
        }
        Ok(id)
    }
}

/// What the key file holds, as a fingerprint. The file is a few hundred bytes, so it is
/// read whole: a modification time can stay the same across two quick writes (coarse
/// file-system clocks), which once hid a rotation from another reader.
fn fingerprint(path: &Path) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let bytes = std::fs::read(path).ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    Some(h.finish())
}

/// The associated data that binds a value to its place: `table:column:row`.
pub fn aad(table: &str, column: &str, row: impl std::fmt::Display) -> String {
    format!("{table}:{column}:{row}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_open_only_in_their_own_place() {
        let ring = KeyRing::ephemeral();
        let sealed = ring.seal_str(&aad("notes", "body", 1), "Feeling better this week").unwrap();
        assert!(sealed.starts_with("pxe1."));
        assert!(!sealed.contains("Feeling"));
        assert_eq!(ring.open_str(&aad("notes", "body", 1), &sealed).unwrap(), "Feeling better this week");
        assert!(matches!(ring.open_str(&aad("notes", "body", 2), &sealed), Err(CryptoError::Tampered)));
        assert!(matches!(ring.open_str(&aad("notes", "plan", 1), &sealed), Err(CryptoError::Tampered)));
        // Flip one byte of the ciphertext.
        let mut bytes: Vec<char> = sealed.chars().collect();
        let last = bytes.len() - 5;
        bytes[last] = if bytes[last] == 'A' { 'B' } else { 'A' };
        let broken: String = bytes.into_iter().collect();
        assert!(ring.open_str(&aad("notes", "body", 1), &broken).is_err());
        assert!(matches!(ring.open_str("x", "plain text"), Err(CryptoError::Malformed)));
    }

    #[test]
    fn the_same_text_seals_differently_each_time() {
        let ring = KeyRing::ephemeral();
        let a = ring.seal_str("t:c:1", "same").unwrap();
        let b = ring.seal_str("t:c:1", "same").unwrap();
        assert_ne!(a, b, "random nonce");
    }

    #[test]
    fn a_key_file_is_created_rotated_and_picked_up_by_another_reader() {
        let dir = std::env::temp_dir().join(format!("praxis-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys.json");
        let server = KeyRing::from_file(path.clone()).unwrap();
        let old = server.seal_str("t:c:1", "before").unwrap();
        let cli = KeyRing::from_file(path.clone()).unwrap();
        assert_eq!(cli.current_id(), server.current_id());
        let new_id = cli.add_current_key().unwrap();
        let new = cli.seal_str("t:c:2", "after").unwrap();
        assert_eq!(KeyRing::key_id_of(&new), Some(new_id.as_str()));
        // The server has never seen the new key: it reloads and opens it.
        assert_eq!(server.open_str("t:c:2", &new).unwrap(), "after");
        assert_eq!(server.current_id(), new_id, "and seals with it from now on");
        assert_eq!(cli.open_str("t:c:1", &old).unwrap(), "before", "old values still open");
        // A reader that never opens a new value still starts sealing with the new key
        // once it looks at the file again.
        let idle = KeyRing::from_file(path.clone()).unwrap();
        let newer = cli.add_current_key().unwrap();
        assert_ne!(idle.current_id(), newer);
        std::thread::sleep(KEY_FILE_CHECK + Duration::from_millis(200));
        let sealed = idle.seal_str("t:c:3", "later").unwrap();
        assert_eq!(KeyRing::key_id_of(&sealed), Some(newer.as_str()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn keys_from_the_environment() {
        let k1 = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        let k2 = base64::engine::general_purpose::STANDARD.encode([2u8; 32]);
        let ring = KeyRing::from_env(&format!("a1:{k1},b2:{k2}"), Some("b2")).unwrap();
        assert_eq!(ring.current_id(), "b2");
        assert!(KeyRing::from_env("a1:short", None).is_err());
        assert!(KeyRing::from_env(&format!("a1:{k1}"), Some("zz")).is_err());
        assert!(ring.add_current_key().is_err(), "the operator rotates environment keys");
    }
}
