//! `praxis backup …` and `praxis restore …`: the same backups as the admin page, from
//! the command line, with progress bars.

use crate::config::Global;
use crate::server;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use praxis_services::backups::restore::{RestoreTarget, restore_backup};
use praxis_services::backups::verify::{Progress, check_backup, scratch_for};
use praxis_services::backups::{Backup, BackupKind, BackupStatus};
use praxis_services::{Actor, Services};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Backup commands.
#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// Write a backup now (while Praxis keeps serving), then verify it by a test restore.
    Create {
        /// What to back up: database, files (the uploaded documents) or full.
        #[arg(long, default_value = "full")]
        kind: String,
        /// Skip the test restore (the backup stays "not verified").
        #[arg(long)]
        no_verify: bool,
    },
    /// Verify a backup by a test restore: its id from the history, or a backup folder.
    Verify {
        /// Backup id, or the path of a backup folder.
        backup: String,
    },
    /// List the backup history, newest first.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

/// Where to restore to.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// Backup id from the history, or the path of a backup folder.
    pub backup: String,
    /// The folder to restore into: `praxis.db` (SQLite) and `documents/` go there.
    #[arg(long)]
    pub into: PathBuf,
    /// Restore the database onto this empty PostgreSQL database instead (postgres://…).
    #[arg(long = "to-database-url")]
    pub to_database_url: Option<String>,
    /// Replace a database or documents that are already there. Stop Praxis first.
    #[arg(long)]
    pub force: bool,
}

fn bar() -> (ProgressBar, Progress) {
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template("{msg:28} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let shared = Arc::new(Mutex::new(pb.clone()));
    let progress: Progress = Arc::new(move |what: &str, done: u64, total: u64| {
        if let Ok(pb) = shared.lock() {
            if pb.length() != Some(total) {
                pb.set_length(total);
                pb.set_message(what.to_string());
            }
            pb.set_position(done);
        }
    });
    (pb, progress)
}

fn describe(b: &Backup) -> String {
    let rows = b.manifest.as_ref().map(|m| m.total_rows()).unwrap_or(0);
    let mut line = format!(
        "{}  {}  {:<8}  {:<12}  {:>12} bytes  {:>9} rows  {}",
        b.id,
        b.started_at.strftime("%Y-%m-%d %H:%M:%SZ"),
        b.kind.as_str(),
        b.status.label(),
        b.size_bytes,
        rows,
        b.location
    );
    if let Some(e) = &b.error {
        line.push_str(&format!("\n    {e}"));
    }
    line
}

/// A backup folder named by id (from the history) or by path.
async fn locate(g: &Global, backup: &str) -> Result<(PathBuf, Option<(Services, uuid::Uuid)>)> {
    if let Ok(id) = backup.parse::<uuid::Uuid>() {
        let svc = server::open(g, None).await?;
        let b = svc.get_backup(&Actor::system("cli"), id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if b.pruned_at.is_some() {
            bail!("backup {id} was removed by the retention schedule; choose a newer one (praxis backup list)");
        }
        return Ok((PathBuf::from(&b.location), Some((svc, id))));
    }
    let p = PathBuf::from(backup);
    if !p.is_dir() {
        bail!("{backup} is neither a backup id from `praxis backup list` nor a backup folder");
    }
    Ok((p, None))
}

/// Runs a backup command.
pub async fn run(g: &Global, cmd: BackupCommand) -> Result<ExitCode> {
    let cli = Actor::system("cli");
    match cmd {
        BackupCommand::Create { kind, no_verify } => {
            let kind: BackupKind = kind.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let svc = server::open(g, None).await?;
            let spin = ProgressBar::new_spinner();
            spin.enable_steady_tick(Duration::from_millis(120));
            spin.set_message(format!("writing a {kind} backup"));
            let b = svc.create_backup(&cli, kind, "manual").await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let b = if b.status == BackupStatus::Unverified && !no_verify {
                spin.set_message("verifying it by a test restore");
                svc.verify_backup(&cli, b.id).await.map_err(|e| anyhow::anyhow!("{e}"))?
            } else {
                b
            };
            spin.finish_and_clear();
            println!("{}", describe(&b));
            svc.db().close().await;
            Ok(if b.status == BackupStatus::Failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        BackupCommand::Verify { backup } => {
            let (dir, known) = locate(g, &backup).await?;
            match known {
                Some((svc, id)) => {
                    let b = svc.verify_backup(&cli, id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    println!("{}", describe(&b));
                    svc.db().close().await;
                    Ok(if b.status == BackupStatus::Good { ExitCode::SUCCESS } else { ExitCode::FAILURE })
                }
                None => {
                    let svc = server::open(g, None).await?;
                    let server = (svc.db().backend() == praxis_store::Backend::Postgres).then(|| svc.db());
                    let (pb, progress) = bar();
                    let out = check_backup(
                        svc.settings().keys.clone(),
                        &dir,
                        None,
                        &scratch_for(&dir),
                        server,
                        Some(progress),
                    )
                    .await;
                    pb.finish_and_clear();
                    svc.db().close().await;
                    match out {
                        Ok(v) => {
                            println!(
                                "Good: {} verified by a test restore ({} tables, {} rows, {} documents).",
                                dir.display(),
                                v.tables,
                                v.rows,
                                v.documents
                            );
                            Ok(ExitCode::SUCCESS)
                        }
                        Err(e) => {
                            eprintln!("Not good: {e}");
                            Ok(ExitCode::FAILURE)
                        }
                    }
                }
            }
        }
        BackupCommand::List { limit } => {
            let svc = server::open(g, None).await?;
            let page = svc.list_backups(&cli, limit, 0).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if page.items.is_empty() {
                println!("No backups yet. Write one with `praxis backup create`.");
            }
            for b in &page.items {
                println!("{}", describe(b));
            }
            svc.db().close().await;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `praxis restore`.
pub async fn restore(g: &Global, args: RestoreArgs) -> Result<ExitCode> {
    let (dir, known) = locate(g, &args.backup).await?;
    if let Some((svc, _)) = &known {
        svc.db().close().await;
    }
    refuse_live_target(g, &args)?;
    let ring = Arc::new(g.key_ring().context("the encryption keys are needed to open the backup")?);
    let target =
        RestoreTarget { dir: args.into.clone(), postgres_url: args.to_database_url.clone(), force: args.force };
    let (pb, progress) = bar();
    let out = restore_backup(ring, &dir, &target, Some(progress)).await;
    pb.finish_and_clear();
    match out {
        Ok(r) => {
            println!(
                "Restored {} tables with {} rows{} and {} documents; every table's rows match the backup and the \
                 audit chain is intact.",
                r.tables,
                r.rows,
                r.database.map(|d| format!(" into {d}")).unwrap_or_default(),
                r.files
            );
            if r.to_schema != r.from_schema {
                println!("Migrated forward from schema version {} to {}.", r.from_schema, r.to_schema);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("Nothing was restored: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Refuses to restore over the database this installation is using, even with
/// `--force`, unless the target is a different database than the live one.
fn refuse_live_target(g: &Global, args: &RestoreArgs) -> Result<()> {
    if args.to_database_url.is_some() {
        if args.to_database_url.as_deref() == g.database_url().ok().as_deref() && !args.force {
            bail!("that is the database Praxis is configured to use; stop Praxis and pass --force to replace it");
        }
        return Ok(());
    }
    let live = g.data_dir.join("praxis.db");
    let target = args.into.join("praxis.db");
    let same = same_file(&live, &target);
    if same && !args.force {
        bail!(
            "{} is the live database of this installation; stop Praxis and pass --force to replace it, or restore \
             into another folder",
            target.display()
        );
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn rows_spinner() -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg:32} {pos:>10} rows  {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// `praxis export --out DIR`.
pub async fn export(g: &Global, out: &Path) -> Result<ExitCode> {
    let svc = server::open(g, None).await?;
    let pb = rows_spinner();
    let mut seen = String::new();
    let mut hear = |table: &str, rows: u64| {
        if table != seen {
            seen = table.to_string();
            pb.set_message(table.to_string());
        }
        pb.set_position(rows);
    };
    let result = svc.export_everything(&Actor::system("cli"), out, &mut hear).await;
    pb.finish_and_clear();
    svc.db().close().await;
    let m = result.map_err(|e| anyhow::anyhow!("{e}"))?;
    let rows: u64 = m.tables.values().map(|t| t.rows).sum();
    println!(
        "Exported {} tables ({rows} rows) and {} documents to {}. Keep the encryption keys with it: sealed \
         fields and documents need them.",
        m.tables.len(),
        m.documents,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `praxis import DIR`: into the configured database, which must be new and empty.
pub async fn import(g: &Global, dir: &Path) -> Result<ExitCode> {
    let mut opts = praxis_store::DbOptions::new(g.database_url()?);
    opts.max_connections = 4;
    let db = praxis_store::Db::connect(&opts).await.with_context(|| format!("cannot open {}", g.database_label()))?;
    db.migrate().await.context("cannot prepare the database")?;
    let pb = rows_spinner();
    let mut hear = |table: &str, _rows: u64| pb.set_message(table.to_string());
    let documents = g.data_dir.join("documents");
    let result = praxis_services::backups::export::import_database(&db, dir, &documents, &mut hear).await;
    pb.finish_and_clear();
    db.close().await;
    match result {
        Ok(rows) => {
            println!("Imported {rows} rows into {}; every table's rows match the export.", g.database_label());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("Nothing was imported: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
