//! The release `praxis serve` as a child process on a free loopback port.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// A running `praxis serve`.
pub struct Server {
    child: Child,
    /// Its process id (for CPU readings).
    pub pid: u32,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Time from spawn to the first 200 from `/readyz`.
    pub ready_after: Duration,
}

/// The `praxis` binary beside this executable (both land in the same `target/release`).
pub fn default_binary() -> Result<PathBuf> {
    let me = std::env::current_exe().context("locate praxis-load")?;
    let dir = me.parent().context("praxis-load has no parent directory")?;
    Ok(dir.join("praxis"))
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("find a free port")?;
    Ok(l.local_addr()?.port())
}

impl Server {
    /// Starts `binary serve` on the database at `database_url` and waits until
    /// `/readyz` answers 200. Every other `PRAXIS_*` variable of this environment is
    /// removed so the server runs on defaults, logging warnings and errors only.
    pub async fn start(binary: &Path, database_url: &str, data_dir: &Path, http: &reqwest::Client) -> Result<Server> {
        if !binary.is_file() {
            bail!(
                "{} does not exist; build it with `cargo build --release -p praxis` or pass --praxis-bin",
                binary.display()
            );
        }
        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let mut cmd = Command::new(binary);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("PRAXIS_") {
                cmd.env_remove(k);
            }
        }
        cmd.arg("serve")
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .env("PRAXIS_DATABASE_URL", database_url)
            .env("PRAXIS_DATA_DIR", data_dir)
            .env("PRAXIS_LOG", "warn")
            .env("PRAXIS_TIME_ZONE", crate::seed::ZONE)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if praxis_store::is_postgres_url(database_url) {
            // With PostgreSQL the server refuses to start without its encryption keys (no
            // key file on a shared database): a fresh random key for this throwaway database.
            cmd.env("PRAXIS_ENCRYPTION_KEYS", format!("bench:{}", random_key_base64()?));
        }
        let started = Instant::now();
        let mut child = cmd.spawn().with_context(|| format!("start {}", binary.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let ready = format!("{base}/readyz");
        loop {
            if let Some(status) = child.try_wait()? {
                bail!("praxis serve exited before it was ready ({status})");
            }
            if let Ok(res) = http.get(&ready).timeout(Duration::from_millis(500)).send().await
                && res.status() == reqwest::StatusCode::OK
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("praxis serve was not ready after 60 s");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(Server { child, pid, base, ready_after: started.elapsed() })
    }

    /// Asks the server to stop (SIGTERM: it finishes requests in flight and closes the
    /// database) and waits up to 15 s before killing it.
    pub async fn stop(mut self) -> Result<()> {
        // `kill` from the system keeps this crate free of unsafe signal code.
        let sent = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if sent && let Ok(status) = tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await {
            status?;
            return Ok(());
        }
        eprintln!("praxis-load: the server did not stop on SIGTERM; killing it");
        self.child.kill().await?;
        Ok(())
    }
}

/// 32 random bytes from the operating system, base64 (standard alphabet, padded).
fn random_key_base64() -> Result<String> {
    use std::io::Read;
    let mut key = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .context("read a random key from /dev/urandom")?;
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(44);
    for chunk in key.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    Ok(out)
}
