//! Argon2id password hashing, always off the async threads and bounded in concurrency
//! (each hash uses ~19 MiB), so a burst of logins cannot starve the server.

use crate::error::{ServiceError, ServiceResult};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

/// Argon2id cost parameters (OWASP's minimum by default: 19 MiB, 2 passes).
#[derive(Clone, Copy, Debug)]
pub struct PasswordParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        Self { memory_kib: 19 * 1024, iterations: 2 }
    }
}

pub(crate) struct Passwords {
    params: PasswordParams,
    permits: Arc<Semaphore>,
    dummy: OnceLock<String>,
}

impl Passwords {
    pub(crate) fn new(params: PasswordParams) -> Self {
        let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) * 2;
        Self { params, permits: Arc::new(Semaphore::new(n)), dummy: OnceLock::new() }
    }

    fn argon(params: PasswordParams) -> ServiceResult<Argon2<'static>> {
        let p = Params::new(params.memory_kib, params.iterations, 1, None)
            .map_err(|e| ServiceError::Internal(format!("argon2 params: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, p))
    }

    /// Hashes a password into a PHC string.
    pub(crate) async fn hash(&self, password: &str) -> ServiceResult<String> {
        let _permit = self.permits.acquire().await.map_err(|e| ServiceError::Internal(e.to_string()))?;
        let pw = password.to_string();
        let params = self.params;
        tokio::task::spawn_blocking(move || {
            let argon = Self::argon(params)?;
            argon
                .hash_password(pw.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| ServiceError::Internal(format!("hashing failed: {e}")))
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
    }

    /// True when `password` matches `phc`. With `phc = None` (unknown account) a dummy
    /// hash is checked so the answer takes as long either way.
    pub(crate) async fn verify(&self, password: &str, phc: Option<&str>) -> ServiceResult<bool> {
        let (stored, real) = match phc {
            Some(h) => (h.to_string(), true),
            None => (self.dummy_hash().await?, false),
        };
        let _permit = self.permits.acquire().await.map_err(|e| ServiceError::Internal(e.to_string()))?;
        let pw = password.to_string();
        let params = self.params;
        let ok = tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&stored) else { return false };
            Self::argon(params).map(|a| a.verify_password(pw.as_bytes(), &parsed).is_ok()).unwrap_or(false)
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(ok && real)
    }

    async fn dummy_hash(&self) -> ServiceResult<String> {
        if let Some(h) = self.dummy.get() {
            return Ok(h.clone());
        }
        let h = self.hash("praxis-dummy-password-for-timing").await?;
        Ok(self.dummy.get_or_init(|| h).clone())
    }
}

/// A random, readable temporary password (for resets and new accounts), 16 characters
/// from an alphabet without look-alikes.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    bytes.iter().map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect()
}
