//! The full export in open formats, and the import that loads it: a clinic can always
//! leave, and this is the supported way from SQLite to PostgreSQL.
//!
//! An export folder holds `tables/<table>.jsonl` (one JSON object per row, the same
//! bytes whichever engine wrote them: see `praxis_store::backups::export`), the stored
//! documents under `documents/` exactly as they are on disk (sealed: the key file or
//! `PRAXIS_ENCRYPTION_KEYS` must go with them, as with the sealed note fields), and
//! `manifest.json` with each table's rows, columns and SHA-256.

use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use jiff::Timestamp;
use praxis_domain::Permission;
use praxis_store::Db;
use praxis_store::backups::export::{self as store, Kind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The export manifest's format name.
pub const EXPORT_FORMAT: &str = "praxis-export/1";

/// One exported table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedTable {
    /// Its file under the export folder.
    pub file: String,
    /// Rows.
    pub rows: u64,
    /// SHA-256 (hex) of the file.
    pub sha256: String,
    /// Each column and how its values are written.
    pub columns: BTreeMap<String, Kind>,
}

/// What an export holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportManifest {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    /// The Praxis version that wrote it.
    pub praxis_version: String,
    /// The schema version of the database it came from.
    pub schema_version: i64,
    /// The engine it came from.
    pub engine: String,
    /// When.
    pub exported_at: Timestamp,
    /// How values are written, for people reading the files.
    pub conventions: String,
    /// The tables.
    pub tables: BTreeMap<String, ExportedTable>,
    /// Stored documents copied.
    pub documents: u64,
}

/// Hears progress: (table or step, rows so far).
pub type ExportProgress<'a> = &'a mut dyn FnMut(&str, u64);

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<u64> {
    let mut n = 0;
    if !from.exists() {
        return Ok(0);
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            n += copy_tree(&entry.path(), &target)?;
        } else if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), &target)?;
            n += 1;
        }
    }
    Ok(n)
}

fn folder_is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(true)
}

/// Writes the export of `db` (and of the documents under `documents`) into `out`, which
/// must be empty or not exist.
pub async fn export_database(
    db: &Db,
    documents: &Path,
    out: &Path,
    now: Timestamp,
    progress: ExportProgress<'_>,
) -> Result<ExportManifest, String> {
    if !folder_is_empty(out) {
        return Err(format!("{} is not empty: export into a new or empty folder", out.display()));
    }
    std::fs::create_dir_all(out.join("tables")).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let shapes = store::exported_tables(db).await.map_err(|e| e.to_string())?;
    let schema_version = praxis_store::backups::snapshot::schema_version(db).await.map_err(|e| e.to_string())?;
    struct Open {
        file: BufWriter<std::fs::File>,
        hasher: Sha256,
        rows: u64,
    }
    let mut open: BTreeMap<String, Open> = BTreeMap::new();
    for s in &shapes {
        let f = std::fs::File::create_new(out.join("tables").join(format!("{}.jsonl", s.name)))
            .map_err(|e| format!("cannot write the export: {e}"))?;
        open.insert(s.name.clone(), Open { file: BufWriter::new(f), hasher: Sha256::new(), rows: 0 });
    }
    store::read_all(db, &shapes, |t, line| {
        let o = open.get_mut(&t.name).ok_or_else(|| std::io::Error::other("unknown table"))?;
        o.file.write_all(line.as_bytes())?;
        o.file.write_all(b"\n")?;
        o.hasher.update(line.as_bytes());
        o.hasher.update(b"\n");
        o.rows += 1;
        if o.rows % 5000 == 0 {
            progress(&t.name, o.rows);
        }
        Ok(())
    })
    .await
    .map_err(|e| format!("reading the database: {e}"))?;
    let mut tables = BTreeMap::new();
    for s in &shapes {
        let Some(mut o) = open.remove(&s.name) else { continue };
        o.file.flush().map_err(|e| format!("writing the export: {e}"))?;
        progress(&s.name, o.rows);
        tables.insert(
            s.name.clone(),
            ExportedTable {
                file: format!("tables/{}.jsonl", s.name),
                rows: o.rows,
                sha256: hex::encode(o.hasher.finalize()),
                columns: s.columns.clone(),
            },
        );
    }
    progress("documents", 0);
    let docs = copy_tree(documents, &out.join("documents")).map_err(|e| format!("copying the documents: {e}"))?;
    let manifest = ExportManifest {
        format: EXPORT_FORMAT.into(),
        praxis_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        engine: match db.backend() {
            praxis_store::Backend::Sqlite => "sqlite".into(),
            praxis_store::Backend::Postgres => "postgres".into(),
        },
        exported_at: now,
        conventions: "One JSON object per row, keys sorted, rows in primary-key order. Ids and bytes: lowercase \
                      hex; instants: integer microseconds since 1970-01-01T00:00:00Z; dates: YYYY-MM-DD. Sealed \
                      fields (ending _enc) and the files under documents/ need this installation's encryption keys."
            .into(),
        tables,
        documents: docs,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    std::fs::write(out.join("manifest.json"), json).map_err(|e| format!("writing the manifest: {e}"))?;
    Ok(manifest)
}

/// Loads the export in `dir` into `db` (migrated, with nothing in it yet) and its
/// documents into `documents` (empty), in one transaction; checks every file against
/// the manifest first and every table's rows and the audit chain after. Returns rows.
pub async fn import_database(
    db: &Db,
    dir: &Path,
    documents: &Path,
    progress: ExportProgress<'_>,
) -> Result<u64, String> {
    let text = std::fs::read_to_string(dir.join("manifest.json"))
        .map_err(|e| format!("{} has no readable manifest.json ({e}): is it a Praxis export?", dir.display()))?;
    let manifest: ExportManifest =
        serde_json::from_str(&text).map_err(|e| format!("manifest.json is not a Praxis export manifest: {e}"))?;
    if manifest.format != EXPORT_FORMAT {
        return Err(format!("this export is in format {:?}; this Praxis reads {EXPORT_FORMAT}", manifest.format));
    }
    let here = praxis_store::backups::snapshot::schema_version(db).await.map_err(|e| e.to_string())?;
    if manifest.schema_version != here {
        return Err(format!(
            "this export has schema version {} and this database {here}: import with Praxis {} (the version that \
             exported it), then upgrade",
            manifest.schema_version, manifest.praxis_version
        ));
    }
    let counts = praxis_store::backups::snapshot::row_counts(db).await.map_err(|e| e.to_string())?;
    for busy in ["users", "patients", "appointments", "audit_log"] {
        if counts.get(busy).copied().unwrap_or(0) > 0 {
            return Err(format!(
                "the target database already holds data ({busy}); import only into a new, empty database"
            ));
        }
    }
    if !folder_is_empty(documents) {
        return Err(format!("{} already holds documents; import into a new data folder", documents.display()));
    }
    let shapes = store::exported_tables(db).await.map_err(|e| e.to_string())?;
    for s in &shapes {
        let Some(t) = manifest.tables.get(&s.name) else {
            return Err(format!("the export has no table {}: it is incomplete", s.name));
        };
        let (sha, _) = super::archive::file_sha256(&dir.join(&t.file), None)
            .map_err(|e| format!("{} cannot be read: {e}", t.file))?;
        if sha != t.sha256 {
            return Err(format!("{} does not match its checksum in the manifest: it was changed or damaged", t.file));
        }
    }
    if let Some(extra) = manifest.tables.keys().find(|t| !shapes.iter().any(|s| &s.name == *t)) {
        return Err(format!("the export has a table {extra} this version does not know"));
    }
    let order = store::load_order(db, &shapes).await.map_err(|e| e.to_string())?;
    let files: BTreeMap<String, PathBuf> =
        manifest.tables.iter().map(|(name, t)| (name.clone(), dir.join(&t.file))).collect();
    let loaded = store::load_all(db, &shapes, &order, |table| {
        progress(table, 0);
        let Some(path) = files.get(table) else { return Ok(None) };
        let lines = BufReader::new(std::fs::File::open(path)?).lines();
        Ok(Some(Box::new(lines) as Box<dyn Iterator<Item = std::io::Result<String>> + Send>))
    })
    .await
    .map_err(|e| format!("nothing was imported: {e}"))?;
    praxis_store::patients::rebuild_search_index(db).await.map_err(|e| e.to_string())?;
    let after = praxis_store::backups::snapshot::row_counts(db).await.map_err(|e| e.to_string())?;
    for (name, t) in &manifest.tables {
        let got = after.get(name).copied().unwrap_or(0);
        if got as u64 != t.rows {
            return Err(format!("{name} has {got} rows after the import; the export has {}", t.rows));
        }
    }
    if let praxis_store::audit::VerifyOutcome::Broken { seq, reason } =
        praxis_store::audit::verify(db).await.map_err(|e| e.to_string())?
    {
        return Err(format!("the imported audit log is broken at row {seq}: {reason}"));
    }
    progress("documents", 0);
    copy_tree(&dir.join("documents"), documents).map_err(|e| format!("copying the documents: {e}"))?;
    Ok(loaded)
}

impl Services {
    /// Exports every table and document into `out` (administrators; audited).
    pub async fn export_everything(
        &self,
        actor: &Actor,
        out: &Path,
        progress: ExportProgress<'_>,
    ) -> ServiceResult<ExportManifest> {
        self.authorize_all(actor, Permission::ExportData)?;
        let m = export_database(self.db(), &self.settings().data_dir.join("documents"), out, self.now(), progress)
            .await
            .map_err(|e| ServiceError::Conflict { code: "export_failed", message: e, fields: vec![] })?;
        let rows: u64 = m.tables.values().map(|t| t.rows).sum();
        let mut tx = self.db().begin().await?;
        tx.audit(self.audit_entry(
            actor,
            "data.export",
            "export",
            None,
            format!(
                "full export to {}: {} tables, {rows} rows, {} documents",
                out.display(),
                m.tables.len(),
                m.documents
            ),
        ));
        tx.commit().await?;
        Ok(m)
    }
}
