//! Encrypted files, sealed in chunks so neither an upload nor a download ever holds the
//! whole file in memory.
//!
//! A file reads: `PXF1`, the key id's length (one byte) and the key id, the chunk size
//! (u32, big-endian), a random 16-byte file nonce; then the chunks. Each chunk is
//! XChaCha20-Poly1305 over at most `chunk size` bytes of content with the nonce
//! `file nonce ‖ chunk index (u64 BE)` and the associated data
//! `documents:file:<file nonce hex>:<index>:<final 0|1>`. So chunks cannot be reordered,
//! dropped from the end (the last chunk must say it is last), or moved to another file.
//! The content's SHA-256 names the file and is checked again as a download finishes.

use crate::crypto::{CryptoError, KeyRing};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Plain bytes per chunk.
pub const CHUNK: usize = 64 * 1024;
const MAGIC: &[u8; 4] = b"PXF1";
const TAG: usize = 16;

fn chunk_aad(prefix: &[u8; 16], index: u64, last: bool) -> String {
    format!("documents:file:{}:{index}:{}", hex::encode(prefix), u8::from(last))
}

fn nonce(prefix: &[u8; 16], index: u64) -> XNonce {
    let mut n = [0u8; 24];
    n[..16].copy_from_slice(prefix);
    n[16..].copy_from_slice(&index.to_be_bytes());
    XNonce::from(n)
}

/// Seals one file chunk by chunk with the ring's current key.
pub struct FileSealer {
    cipher: XChaCha20Poly1305,
    key_id: String,
    prefix: [u8; 16],
    index: u64,
    finished: bool,
}

impl FileSealer {
    /// A sealer for a new file, and the header to write first.
    pub fn new(ring: &KeyRing) -> Result<(FileSealer, Vec<u8>), CryptoError> {
        let (key_id, key) = ring.current_key()?;
        let mut prefix = [0u8; 16];
        rand::fill(&mut prefix);
        let id = key_id.as_bytes();
        let len = u8::try_from(id.len()).map_err(|_| CryptoError::Keys("key id too long".into()))?;
        let mut header = Vec::with_capacity(4 + 1 + id.len() + 4 + 16);
        header.extend_from_slice(MAGIC);
        header.push(len);
        header.extend_from_slice(id);
        header.extend_from_slice(&(CHUNK as u32).to_be_bytes());
        header.extend_from_slice(&prefix);
        Ok((
            FileSealer { cipher: XChaCha20Poly1305::new(&key.into()), key_id, prefix, index: 0, finished: false },
            header,
        ))
    }

    /// The id of the key the file is sealed with.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Seals the next chunk (`plain` is exactly [`CHUNK`] bytes unless `last`).
    pub fn seal(&mut self, plain: &[u8], last: bool) -> Result<Vec<u8>, CryptoError> {
        if self.finished || plain.len() > CHUNK || (!last && plain.len() != CHUNK) {
            return Err(CryptoError::Malformed);
        }
        let aad = chunk_aad(&self.prefix, self.index, last);
        let out = self
            .cipher
            .encrypt(&nonce(&self.prefix, self.index), Payload { msg: plain, aad: aad.as_bytes() })
            .map_err(|_| CryptoError::Tampered)?;
        self.index += 1;
        self.finished = last;
        Ok(out)
    }
}

/// Opens a sealed file chunk by chunk.
pub struct FileOpener {
    cipher: XChaCha20Poly1305,
    /// The key the file is sealed with.
    pub key_id: String,
    prefix: [u8; 16],
    chunk: usize,
    index: u64,
}

impl FileOpener {
    /// Reads the header from `r` and finds the key.
    pub async fn read_header<R: AsyncRead + Unpin>(ring: &KeyRing, r: &mut R) -> io::Result<FileOpener> {
        let mut magic = [0u8; 5];
        r.read_exact(&mut magic).await?;
        check_magic(&magic)?;
        let mut id = vec![0u8; usize::from(magic[4])];
        r.read_exact(&mut id).await?;
        let mut rest = [0u8; 20];
        r.read_exact(&mut rest).await?;
        Self::from_header(ring, id, rest)
    }

    /// [`FileOpener::read_header`] for blocking readers (backups, in `spawn_blocking`).
    pub fn read_header_blocking<R: std::io::Read>(ring: &KeyRing, r: &mut R) -> io::Result<FileOpener> {
        let mut magic = [0u8; 5];
        r.read_exact(&mut magic)?;
        check_magic(&magic)?;
        let mut id = vec![0u8; usize::from(magic[4])];
        r.read_exact(&mut id)?;
        let mut rest = [0u8; 20];
        r.read_exact(&mut rest)?;
        Self::from_header(ring, id, rest)
    }

    fn from_header(ring: &KeyRing, id: Vec<u8>, rest: [u8; 20]) -> io::Result<FileOpener> {
        let key_id = String::from_utf8(id).map_err(|_| bad_header("key id"))?;
        let chunk = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if chunk == 0 || chunk > 16 * 1024 * 1024 {
            return Err(bad_header("chunk size"));
        }
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&rest[4..]);
        let key = ring.key_by_id(&key_id).map_err(|e| io::Error::other(e.to_string()))?;
        Ok(FileOpener { cipher: XChaCha20Poly1305::new(&key.into()), key_id, prefix, chunk, index: 0 })
    }

    /// Bytes of one sealed chunk (all but the last have exactly this many).
    pub fn sealed_chunk_len(&self) -> usize {
        self.chunk + TAG
    }

    /// Opens the next chunk.
    pub fn open(&mut self, sealed: &[u8], last: bool) -> io::Result<Vec<u8>> {
        if sealed.len() < TAG || (!last && sealed.len() != self.sealed_chunk_len()) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "stored file is truncated"));
        }
        let aad = chunk_aad(&self.prefix, self.index, last);
        let plain = self
            .cipher
            .decrypt(&nonce(&self.prefix, self.index), Payload { msg: sealed, aad: aad.as_bytes() })
            .map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, "stored file does not verify (tampered or truncated)")
            })?;
        self.index += 1;
        Ok(plain)
    }
}

fn bad_header(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("stored file: {what}"))
}

fn check_magic(magic: &[u8; 5]) -> io::Result<()> {
    if &magic[..4] == MAGIC { Ok(()) } else { Err(bad_header("not a Praxis file")) }
}

/// Reads until `buf` holds `n` bytes or the input ends.
pub async fn read_up_to<R: AsyncRead + Unpin>(r: &mut R, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        let got = r.read(&mut buf[filled..]).await?;
        if got == 0 {
            break;
        }
        filled += got;
    }
    buf.truncate(filled);
    Ok(buf)
}

struct Reading<R> {
    file: R,
    opener: FileOpener,
    current: Option<Vec<u8>>,
    hasher: Sha256,
    expected: String,
    done: bool,
}

/// The plain content of a sealed file as a stream of chunks. The last chunk is checked
/// against `expected_sha256`; a mismatch ends the stream with an error (so a client
/// sees a broken download, never silently wrong content).
pub fn decrypt_stream<R: AsyncRead + Unpin + Send + 'static>(
    file: R,
    opener: FileOpener,
    expected_sha256: String,
) -> impl futures::Stream<Item = io::Result<Vec<u8>>> + Send + 'static {
    let st = Reading { file, opener, current: None, hasher: Sha256::new(), expected: expected_sha256, done: false };
    futures::stream::try_unfold(st, |mut st| async move {
        if st.done {
            return Ok(None);
        }
        let len = st.opener.sealed_chunk_len();
        let current = match st.current.take() {
            Some(c) => c,
            None => read_up_to(&mut st.file, len).await?,
        };
        let next = read_up_to(&mut st.file, len).await?;
        let last = next.is_empty();
        let plain = st.opener.open(&current, last)?;
        st.hasher.update(&plain);
        if last {
            st.done = true;
            let got = hex::encode(std::mem::take(&mut st.hasher).finalize());
            if got != st.expected {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "stored file does not match its content hash"));
            }
        } else {
            st.current = Some(next);
        }
        Ok(Some((plain, st)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    fn seal_all(ring: &KeyRing, content: &[u8]) -> Vec<u8> {
        let (mut s, mut out) = FileSealer::new(ring).unwrap();
        let mut chunks = content.chunks(CHUNK).peekable();
        if chunks.peek().is_none() {
            out.extend(s.seal(&[], true).unwrap());
        }
        while let Some(c) = chunks.next() {
            let last = chunks.peek().is_none();
            out.extend(s.seal(c, last).unwrap());
        }
        out
    }

    async fn open_all(ring: &KeyRing, sealed: Vec<u8>, sha: String) -> io::Result<Vec<u8>> {
        let mut r = std::io::Cursor::new(sealed);
        let opener = FileOpener::read_header(ring, &mut r).await?;
        let parts: Vec<Vec<u8>> = decrypt_stream(r, opener, sha).try_collect().await?;
        Ok(parts.concat())
    }

    #[tokio::test]
    async fn files_round_trip_in_chunks_and_refuse_tampering() {
        let ring = KeyRing::ephemeral();
        for size in [0usize, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let sha = hex::encode(Sha256::digest(&content));
            let sealed = seal_all(&ring, &content);
            if size >= 64 {
                assert!(!sealed.windows(64).any(|w| w == &content[..64]), "no plaintext");
            }
            assert_eq!(open_all(&ring, sealed.clone(), sha.clone()).await.unwrap(), content, "size {size}");
            if size > CHUNK {
                // Cut the last chunk off: the new last chunk was not sealed as the last.
                let header = 4 + 1 + ring.current_id().len() + 20;
                let cut = sealed[..header + CHUNK + TAG].to_vec();
                assert!(open_all(&ring, cut, sha.clone()).await.is_err(), "truncated at a chunk boundary");
            }
            let mut flipped = sealed.clone();
            let at = flipped.len() - 1;
            flipped[at] ^= 1;
            assert!(open_all(&ring, flipped, sha.clone()).await.is_err());
            assert!(open_all(&ring, sealed, "0".repeat(64)).await.is_err(), "wrong content hash");
        }
    }
}
