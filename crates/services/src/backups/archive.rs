//! The parts of a backup on disk: each is zstd-compressed, then sealed chunk by chunk
//! with the installation's current key (the same `PXF1` format as stored documents, so
//! nothing is ever held whole in memory), and named in the manifest with its size and
//! SHA-256. These are blocking functions: call them from `spawn_blocking`.
//!
//! The documents part is a tar archive of `<data dir>/documents` (files that are
//! themselves sealed) ending in an index of every file's SHA-256, so a test restore can
//! prove each one came back intact.

use crate::crypto::KeyRing;
use crate::documents::files::{CHUNK, FileOpener, FileSealer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

/// zstd level: fast enough to keep a backup of a large practice under a minute on two
/// cores, and most of the size gain of higher levels.
const LEVEL: i32 = 3;

/// The name of the index inside the documents archive.
pub const DOCUMENTS_INDEX: &str = "praxis-documents-index.json";

/// A part as written: bytes on disk, bytes before compression, SHA-256 of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Bytes of the sealed file.
    pub bytes: u64,
    /// Bytes of the content before compression.
    pub plain_bytes: u64,
    /// SHA-256 (hex) of the sealed file.
    pub sha256: String,
}

/// Counts bytes on their way through.
pub struct Counting<T> {
    inner: T,
    /// Bytes so far.
    pub count: u64,
    progress: Option<Box<dyn FnMut(u64) + Send>>,
}

impl<T> Counting<T> {
    /// Wraps `inner`; `progress` hears the running total.
    pub fn new(inner: T, progress: Option<Box<dyn FnMut(u64) + Send>>) -> Self {
        Counting { inner, count: 0, progress }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if let Some(p) = self.progress.as_mut() {
            p(self.count);
        }
        Ok(n)
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Seals what is written to it, chunk by chunk, into `out`, hashing the sealed bytes.
struct SealWriter<W: Write> {
    out: W,
    sealer: FileSealer,
    buf: Vec<u8>,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> SealWriter<W> {
    fn new(ring: &KeyRing, mut out: W) -> io::Result<Self> {
        let (sealer, header) = FileSealer::new(ring).map_err(|e| io::Error::other(e.to_string()))?;
        out.write_all(&header)?;
        let mut hasher = Sha256::new();
        hasher.update(&header);
        Ok(SealWriter { out, sealer, buf: Vec::with_capacity(CHUNK), hasher, bytes: header.len() as u64 })
    }

    fn emit(&mut self, last: bool) -> io::Result<()> {
        let sealed = self.sealer.seal(&self.buf, last).map_err(|e| io::Error::other(e.to_string()))?;
        self.out.write_all(&sealed)?;
        self.hasher.update(&sealed);
        self.bytes += sealed.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Seals the last chunk and flushes; the size and hash of what was written.
    fn finish(mut self) -> io::Result<(u64, String)> {
        self.emit(true)?;
        self.out.flush()?;
        Ok((self.bytes, hex::encode(self.hasher.finalize())))
    }
}

impl<W: Write> Write for SealWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // A full chunk is sealed only once more data follows: the last chunk must be
        // sealed as last, even when the content is an exact multiple of the chunk size.
        if self.buf.len() == CHUNK && !data.is_empty() {
            self.emit(false)?;
        }
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Compresses and seals everything `source` gives into a new file at `dest`.
pub fn seal_stream(ring: &KeyRing, source: &mut dyn Read, dest: &Path) -> io::Result<Written> {
    let file = File::create_new(dest)?;
    let mut enc = zstd::Encoder::new(SealWriter::new(ring, BufWriter::new(file))?, LEVEL)?;
    let plain_bytes = io::copy(source, &mut enc)?;
    let sealer = enc.finish()?;
    let (bytes, sha256) = sealer.finish()?;
    sync_path(dest)?;
    Ok(Written { bytes, plain_bytes, sha256 })
}

/// Makes sure what was written reached the disk before the backup is called written.
fn sync_path(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Compresses and seals the file at `source` into `dest`.
pub fn seal_file(ring: &KeyRing, source: &Path, dest: &Path) -> io::Result<Written> {
    let mut src = BufReader::new(File::open(source)?);
    seal_stream(ring, &mut src, dest)
}

/// The SHA-256 (hex) and size of a file, read in chunks; `progress` hears bytes read.
pub fn file_sha256(path: &Path, progress: Option<Box<dyn FnMut(u64) + Send>>) -> io::Result<(String, u64)> {
    let mut r = Counting::new(BufReader::new(File::open(path)?), progress);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok((hex::encode(h.finalize()), r.count))
}

/// Opens a sealed file chunk by chunk, as plain bytes.
struct OpenReader<R: Read> {
    file: R,
    opener: FileOpener,
    current: Option<Vec<u8>>,
    plain: Vec<u8>,
    pos: usize,
    done: bool,
}

fn read_up_to(r: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        let got = r.read(&mut buf[filled..])?;
        if got == 0 {
            break;
        }
        filled += got;
    }
    buf.truncate(filled);
    Ok(buf)
}

impl<R: Read> Read for OpenReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            let len = self.opener.sealed_chunk_len();
            let current = match self.current.take() {
                Some(c) => c,
                None => read_up_to(&mut self.file, len)?,
            };
            let next = read_up_to(&mut self.file, len)?;
            let last = next.is_empty();
            self.plain = self.opener.open(&current, last)?;
            self.pos = 0;
            if last {
                self.done = true;
            } else {
                self.current = Some(next);
            }
        }
        let n = out.len().min(self.plain.len() - self.pos);
        out[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The plain content of a sealed, compressed part. `progress` hears sealed bytes read.
/// Fails with `InvalidData` when the key does not open it or it was changed or cut short.
pub fn open_part(
    ring: &KeyRing,
    path: &Path,
    progress: Option<Box<dyn FnMut(u64) + Send>>,
) -> io::Result<Box<dyn Read + Send>> {
    let mut file = Counting::new(BufReader::new(File::open(path)?), progress);
    let opener = FileOpener::read_header_blocking(ring, &mut file)?;
    let reader = OpenReader { file, opener, current: None, plain: Vec::new(), pos: 0, done: false };
    Ok(Box::new(zstd::Decoder::new(reader)?))
}

/// One stored document in the archive's index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedFile {
    /// Path under the documents folder (`ab/abcdef…`).
    pub path: String,
    /// Bytes.
    pub bytes: u64,
    /// SHA-256 (hex) of the stored bytes.
    pub sha256: String,
}

/// What the documents part holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentsWritten {
    /// The part itself.
    pub part: Option<Written>,
    /// Files archived.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Every regular file under `root`, as paths relative to it, sorted.
fn walk(root: &Path) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    if !root.exists() {
        return Ok(out);
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file()
                && let Ok(rel) = path.strip_prefix(root)
                && let Some(rel) = rel.to_str()
                && !rel.ends_with(".partial")
            {
                out.push(rel.replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Archives every stored document under `root` into a sealed part at `dest`, with the
/// index as the last entry.
pub fn seal_documents(ring: &KeyRing, root: &Path, dest: &Path) -> io::Result<DocumentsWritten> {
    let file = File::create_new(dest)?;
    let enc = zstd::Encoder::new(SealWriter::new(ring, BufWriter::new(file))?, LEVEL)?;
    let mut counted = Counting::new(enc, None);
    let mut index = Vec::new();
    {
        let mut tar = tar::Builder::new(&mut counted);
        for rel in walk(root)? {
            let f = File::open(root.join(&rel))?;
            let len = f.metadata()?.len();
            let mut header = tar::Header::new_gnu();
            header.set_size(len);
            header.set_mode(0o600);
            header.set_mtime(0);
            let mut hashing = Hashing { inner: BufReader::new(f).take(len), hasher: Sha256::new() };
            tar.append_data(&mut header, &rel, &mut hashing)?;
            index.push(IndexedFile { path: rel, bytes: len, sha256: hex::encode(hashing.hasher.finalize()) });
        }
        let json = serde_json::to_vec(&index).map_err(io::Error::other)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(0);
        tar.append_data(&mut header, DOCUMENTS_INDEX, json.as_slice())?;
        tar.finish()?;
    }
    let plain_bytes = counted.count;
    let (bytes, sha256) = counted.inner.finish()?.finish()?;
    sync_path(dest)?;
    Ok(DocumentsWritten {
        part: Some(Written { bytes, plain_bytes, sha256 }),
        files: index.len() as u64,
        bytes: index.iter().map(|f| f.bytes).sum(),
    })
}

/// Unpacks a documents part into `into` (a new or empty folder), checking every file
/// against the index. Returns the index.
pub fn unseal_documents(
    ring: &KeyRing,
    part: &Path,
    into: &Path,
    progress: Option<Box<dyn FnMut(u64) + Send>>,
) -> io::Result<Vec<IndexedFile>> {
    let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    std::fs::create_dir_all(into)?;
    let mut archive = tar::Archive::new(open_part(ring, part, progress)?);
    let mut seen: Vec<IndexedFile> = Vec::new();
    let mut index: Option<Vec<IndexedFile>> = None;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let rel = entry.path()?.to_string_lossy().into_owned();
        if rel == DOCUMENTS_INDEX {
            let mut json = Vec::new();
            entry.read_to_end(&mut json)?;
            index = Some(serde_json::from_slice(&json).map_err(|e| bad(format!("the documents index: {e}")))?);
            continue;
        }
        // Only plain relative paths: nothing may land outside `into`.
        let safe =
            !rel.is_empty() && !rel.starts_with('/') && rel.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
        if !safe {
            return Err(bad(format!("the documents archive holds an unsafe path {rel:?}")));
        }
        let dest = into.join(&rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = Hashing { inner: entry, hasher: Sha256::new() };
        let mut file = File::create(&dest)?;
        let bytes = io::copy(&mut out, &mut file)?;
        file.sync_all()?;
        seen.push(IndexedFile { path: rel, bytes, sha256: hex::encode(out.hasher.finalize()) });
    }
    let index = index.ok_or_else(|| bad("the documents archive has no index (it was cut short)".into()))?;
    if index.len() != seen.len() {
        return Err(bad(format!("the documents index lists {} files but {} came back", index.len(), seen.len())));
    }
    for (want, got) in index.iter().zip(&seen) {
        if want != got {
            return Err(bad(format!("document file {} did not come back intact", want.path)));
        }
    }
    Ok(index)
}

/// Writes the plain content of a sealed part to a new file at `dest`.
pub fn unseal_to_file(
    ring: &KeyRing,
    part: &Path,
    dest: &Path,
    progress: Option<Box<dyn FnMut(u64) + Send>>,
) -> io::Result<u64> {
    let mut r = open_part(ring, part, progress)?;
    let mut out = BufWriter::new(File::create_new(dest)?);
    let n = io::copy(&mut r, &mut out)?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::ephemeral()
    }

    #[test]
    fn parts_round_trip_at_every_chunk_boundary_and_refuse_a_flipped_byte() {
        let dir = tempfile_dir();
        let ring = ring();
        for len in [0usize, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK] {
            let content: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let dest = dir.join(format!("p{len}"));
            let w = seal_stream(&ring, &mut content.as_slice(), &dest).unwrap();
            assert_eq!(w.plain_bytes, len as u64);
            assert_eq!(file_sha256(&dest, None).unwrap(), (w.sha256.clone(), w.bytes));
            let mut back = Vec::new();
            open_part(&ring, &dest, None).unwrap().read_to_end(&mut back).unwrap();
            assert_eq!(back, content, "{len} bytes");
        }
        // Incompressible content, so the sealed part has several chunks.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let content: Vec<u8> = (0..(2 * CHUNK + 10))
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let dest = dir.join("flip");
        seal_stream(&ring, &mut content.as_slice(), &dest).unwrap();
        let good = std::fs::read(&dest).unwrap();
        // One flipped byte in the middle: opening fails, never wrong bytes.
        let mut bytes = good.clone();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x40;
        std::fs::write(&dest, &bytes).unwrap();
        let err = open_part(&ring, &dest, None).and_then(|mut r| r.read_to_end(&mut Vec::new())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        // Cut short right after a whole chunk: the chunk that claims to be last is not.
        let (_, header) = FileSealer::new(&ring).unwrap();
        let sealed_chunk = CHUNK + 16;
        let last = (good.len() - header.len()) % sealed_chunk;
        assert!(good.len() - header.len() > sealed_chunk, "expected several chunks");
        let cut = dir.join("cut");
        std::fs::write(&cut, &good[..good.len() - last]).unwrap();
        let err = open_part(&ring, &cut, None).and_then(|mut r| r.read_to_end(&mut Vec::new())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        // Another installation's key cannot open it.
        std::fs::write(&dest, &good).unwrap();
        let err = open_part(&KeyRing::ephemeral(), &dest, None).err().expect("a foreign key must not open it");
        assert!(err.to_string().contains("key"), "{err}");
    }

    #[test]
    fn documents_come_back_file_for_file_and_a_damaged_archive_is_refused() {
        let dir = tempfile_dir();
        let ring = ring();
        let root = dir.join("documents");
        std::fs::create_dir_all(root.join("ab")).unwrap();
        std::fs::create_dir_all(root.join("cd")).unwrap();
        std::fs::write(root.join("ab/abc"), vec![1u8; 200_000]).unwrap();
        std::fs::write(root.join("cd/cde"), b"small").unwrap();
        let part = dir.join("docs.pxf");
        let w = seal_documents(&ring, &root, &part).unwrap();
        assert_eq!((w.files, w.bytes), (2, 200_005));
        let index = unseal_documents(&ring, &part, &dir.join("back"), None).unwrap();
        assert_eq!(index.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["ab/abc", "cd/cde"]);
        assert_eq!(std::fs::read(dir.join("back/cd/cde")).unwrap(), b"small");
        // An empty documents folder (or none) is a valid, empty part.
        let none = dir.join("none.pxf");
        assert_eq!(seal_documents(&ring, &dir.join("missing"), &none).unwrap().files, 0);
        assert!(unseal_documents(&ring, &none, &dir.join("back2"), None).unwrap().is_empty());
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("praxis-archive-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
