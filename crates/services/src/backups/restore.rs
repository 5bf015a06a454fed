//! Restoring a backup: into a folder (a SQLite database `praxis.db` and the documents
//! beside it) or onto an empty PostgreSQL database. Nothing that exists is overwritten
//! unless asked explicitly; the restored database passes the same checks as a
//! verification before it takes its final name, and a backup made by an older version
//! is migrated forward.

use super::archive;
use super::create::{blocking, open_sqlite};
use super::verify::{Progress, check_checksums, check_restored, hear};
use super::{Manifest, PartRole};
use crate::crypto::KeyRing;
use praxis_store::Db;
use praxis_store::backups::snapshot;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a restore goes.
#[derive(Clone, Debug)]
pub struct RestoreTarget {
    /// The folder for the SQLite database (`praxis.db`) and the documents (`documents/`).
    pub dir: PathBuf,
    /// Restore the database onto this (empty) PostgreSQL database instead of a file.
    pub postgres_url: Option<String>,
    /// Replace what is there.
    pub force: bool,
}

/// What a restore did.
#[derive(Clone, Debug)]
pub struct Restored {
    /// Where the database went (a file path, or the PostgreSQL database's name).
    pub database: Option<String>,
    /// Where the documents went.
    pub documents: Option<PathBuf>,
    /// Tables restored.
    pub tables: usize,
    /// Rows restored (checked against the manifest).
    pub rows: i64,
    /// Documents restored (each checked against the index).
    pub files: u64,
    /// The schema version the backup held.
    pub from_schema: i64,
    /// The schema version after migrating forward.
    pub to_schema: i64,
}

fn sidecars(db: &Path) -> [PathBuf; 3] {
    let s = db.display().to_string();
    [db.to_path_buf(), PathBuf::from(format!("{s}-wal")), PathBuf::from(format!("{s}-shm"))]
}

/// Restores the backup in `dir` to `target`. See the module documentation.
pub async fn restore_backup(
    ring: Arc<KeyRing>,
    dir: &Path,
    target: &RestoreTarget,
    progress: Option<Progress>,
) -> Result<Restored, String> {
    let manifest = Manifest::read(dir)?;
    let latest = praxis_store::latest_schema_version();
    if manifest.schema_version > latest {
        return Err(format!(
            "this backup holds schema version {}, newer than this version of Praxis knows ({latest}): \
             restore it with Praxis {} or newer",
            manifest.schema_version, manifest.praxis_version
        ));
    }
    let db_part = manifest.database_part().cloned();
    let docs_part = manifest.part(PartRole::Documents).cloned();
    // Refuse before touching anything.
    let sqlite_dest = target.dir.join("praxis.db");
    let docs_dest = target.dir.join("documents");
    if let Some(p) = &db_part {
        match (p.role, &target.postgres_url) {
            (PartRole::SqliteDatabase, Some(_)) => {
                return Err("this backup is of a SQLite database; restore it into a folder (without a PostgreSQL \
                            URL). Moving to PostgreSQL goes through a full export and import."
                    .into());
            }
            (PartRole::PostgresDump, None) => {
                return Err("this backup is of a PostgreSQL database; give the empty PostgreSQL database to \
                            restore it onto (--database-url)"
                    .into());
            }
            (PartRole::SqliteDatabase, None) if sqlite_dest.exists() && !target.force => {
                return Err(format!(
                    "{} already exists: restoring would overwrite it. Restore into an empty folder, or stop \
                     Praxis and pass --force to replace it.",
                    sqlite_dest.display()
                ));
            }
            _ => {}
        }
    }
    if docs_part.is_some()
        && !target.force
        && std::fs::read_dir(&docs_dest).map(|mut d| d.next().is_some()).unwrap_or(false)
    {
        return Err(format!(
            "{} is not empty: restoring would mix documents. Restore into an empty folder, or pass --force to \
             replace them.",
            docs_dest.display()
        ));
    }
    let pg = match (&db_part, &target.postgres_url) {
        (Some(_), Some(url)) => {
            let db = Db::connect(&praxis_store::DbOptions::new(url.clone()))
                .await
                .map_err(|e| format!("cannot connect to the PostgreSQL database to restore onto: {e}"))?;
            let empty = snapshot::is_empty(&db).await.map_err(|e| e.to_string())?;
            if !empty && !target.force {
                db.close().await;
                return Err("the PostgreSQL database to restore onto is not empty: create an empty one, or pass \
                            --force to replace everything in it"
                    .into());
            }
            Some(db)
        }
        _ => None,
    };
    check_checksums(dir, &manifest, &progress).await?;
    std::fs::create_dir_all(&target.dir).map_err(|e| format!("cannot create {}: {e}", target.dir.display()))?;

    let mut out = Restored {
        database: None,
        documents: None,
        tables: manifest.tables.len(),
        rows: 0,
        files: 0,
        from_schema: manifest.schema_version,
        to_schema: manifest.schema_version,
    };
    if let Some(part) = &db_part {
        let incoming = target.dir.join(".praxis-restore.incoming");
        for f in sidecars(&incoming) {
            let _ = std::fs::remove_file(f);
        }
        let (r, s, i) = (ring.clone(), dir.join(&part.name), incoming.clone());
        let p = hear(&progress, "restoring the database", part.bytes);
        blocking(move || archive::unseal_to_file(&r, &s, &i, p))
            .await
            .map_err(|e| format!("{} does not open ({e}): damaged, or sealed with another key", part.name))?;
        let result = match &pg {
            None => restore_sqlite(&incoming, &sqlite_dest, &manifest, target.force).await,
            Some(db) => restore_postgres(db, &incoming, &manifest, target.force).await,
        };
        for f in sidecars(&incoming) {
            let _ = std::fs::remove_file(f);
        }
        let (rows, to) = result?;
        out.rows = rows;
        out.to_schema = to;
        out.database = Some(match &pg {
            None => sqlite_dest.display().to_string(),
            Some(_) => "the PostgreSQL database".into(),
        });
    }
    if let Some(db) = pg {
        db.close().await;
    }
    if let Some(part) = &docs_part {
        let incoming = target.dir.join(".praxis-restore.documents");
        let _ = std::fs::remove_dir_all(&incoming);
        let (r, s, i) = (ring.clone(), dir.join(&part.name), incoming.clone());
        let p = hear(&progress, "restoring the documents", part.bytes);
        let index = blocking(move || archive::unseal_documents(&r, &s, &i, p)).await.map_err(|e| {
            let _ = std::fs::remove_dir_all(target.dir.join(".praxis-restore.documents"));
            format!("{} did not come back intact: {e}", part.name)
        })?;
        if docs_dest.exists() {
            std::fs::remove_dir_all(&docs_dest).map_err(|e| format!("cannot replace {}: {e}", docs_dest.display()))?;
        }
        std::fs::rename(&incoming, &docs_dest).map_err(|e| format!("cannot move the documents into place: {e}"))?;
        out.files = index.len() as u64;
        out.documents = Some(docs_dest);
    }
    Ok(out)
}

/// Checks the unsealed copy, migrates it forward, and only then gives it its name.
async fn restore_sqlite(incoming: &Path, dest: &Path, manifest: &Manifest, force: bool) -> Result<(i64, i64), String> {
    let db = open_sqlite(incoming).await.map_err(|e| format!("the restored database does not open: {e}"))?;
    let checked = async {
        let rows = check_restored(&db, manifest, false).await?;
        db.migrate().await.map_err(|e| format!("migrating the restored database forward failed: {e}"))?;
        let to = snapshot::schema_version(&db).await.map_err(|e| e.to_string())?;
        Ok::<_, String>((rows, to))
    }
    .await;
    db.close().await;
    let done = checked?;
    if force {
        for f in sidecars(dest) {
            if let Err(e) = std::fs::remove_file(&f)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return Err(format!("cannot replace {}: {e}", f.display()));
            }
        }
    }
    std::fs::rename(incoming, dest).map_err(|e| format!("cannot move the restored database into place: {e}"))?;
    Ok(done)
}

/// Restores the dump onto the (empty, or with `force` emptied) database in one
/// transaction, checks it and migrates it forward.
async fn restore_postgres(db: &Db, dump: &Path, manifest: &Manifest, force: bool) -> Result<(i64, i64), String> {
    if force {
        snapshot::wipe(db).await.map_err(|e| format!("cannot empty the target database: {e}"))?;
    }
    let url = db.connection_url().to_string();
    snapshot::pg_restore(&url, dump).await.map_err(|e| format!("the restore failed (nothing was kept): {e}"))?;
    let rows = check_restored(db, manifest, false).await?;
    db.migrate().await.map_err(|e| format!("migrating the restored database forward failed: {e}"))?;
    let to = snapshot::schema_version(db).await.map_err(|e| e.to_string())?;
    Ok((rows, to))
}
