//! The append-only, hash-chained audit log.
//!
//! Each row stores the hash of the row before it; the hash covers every column, so editing,
//! deleting or inserting a row anywhere breaks the chain from that point on. The head
//! (last sequence number and hash) lives in `audit_head`; appending locks it (`FOR UPDATE`
//! on PostgreSQL; SQLite writes are already serialised), which keeps sequence numbers
//! gap-free across several app instances.

use crate::codec::DbTime;
use crate::db::{Backend, Db, Tx, Where, like_prefix, sql};
use crate::error::StoreResult;
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The hash "before" the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One thing that happened, as recorded by a use case.
#[derive(Clone, Debug)]
pub struct NewAuditEntry {
    /// When (from the injected clock).
    pub at: Timestamp,
    /// The acting user, if any (`None` for the system or the command line).
    pub actor_id: Option<Uuid>,
    /// Who acted, readable without a join (an email, `cli`, `system`).
    pub actor_label: String,
    /// A dotted verb such as `user.create` or `auth.login_failed`.
    pub action: String,
    /// The kind of record touched (`user`, `session`, `appointment`…).
    pub entity_type: String,
    /// Its id, if it has one.
    pub entity_id: Option<String>,
    /// The HTTP request that caused it.
    pub request_id: Option<String>,
    /// Where the request came from.
    pub client_ip: Option<String>,
    /// A short human summary of what changed (never secrets or clinical text).
    pub summary: String,
}

/// A stored audit row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditRow {
    /// Gap-free sequence number, from 1.
    pub seq: i64,
    /// When.
    pub at: DbTime,
    /// Acting user id.
    pub actor_id: Option<Uuid>,
    /// Acting user label.
    pub actor_label: String,
    /// What was done.
    pub action: String,
    /// Kind of record.
    pub entity_type: String,
    /// Record id.
    pub entity_id: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Client address.
    pub client_ip: Option<String>,
    /// Summary.
    pub summary: String,
    /// Hash of the previous row.
    pub prev_hash: String,
    /// Hash of this row (covers `prev_hash` and every column).
    pub hash: String,
}

/// The chain hash of one row: SHA-256 over the previous hash and every column, each
/// length-prefixed so no two different rows can serialise alike.
pub fn chain_hash(prev_hash: &str, seq: i64, e: &NewAuditEntry) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "\u{0}".into());
    field(prev_hash.as_bytes());
    field(&seq.to_be_bytes());
    field(&e.at.as_microsecond().to_be_bytes());
    field(e.actor_id.map(|u| u.to_string()).unwrap_or_else(|| "\u{0}".into()).as_bytes());
    field(e.actor_label.as_bytes());
    field(e.action.as_bytes());
    field(e.entity_type.as_bytes());
    field(opt(&e.entity_id).as_bytes());
    field(opt(&e.request_id).as_bytes());
    field(opt(&e.client_ip).as_bytes());
    field(e.summary.as_bytes());
    hex::encode(h.finalize())
}

impl AuditRow {
    fn as_entry(&self) -> NewAuditEntry {
        NewAuditEntry {
            at: self.at.0,
            actor_id: self.actor_id,
            actor_label: self.actor_label.clone(),
            action: self.action.clone(),
            entity_type: self.entity_type.clone(),
            entity_id: self.entity_id.clone(),
            request_id: self.request_id.clone(),
            client_ip: self.client_ip.clone(),
            summary: self.summary.clone(),
        }
    }
}

const HEAD_SQLITE: &str = "SELECT last_seq, last_hash FROM audit_head WHERE id = 1";
const HEAD_POSTGRES: &str = "SELECT last_seq, last_hash FROM audit_head WHERE id = 1 FOR UPDATE";

/// Appends entries to the chain inside `tx` (called by [`Tx::commit`]).
pub(crate) async fn append(tx: &mut Tx, entries: Vec<NewAuditEntry>) -> StoreResult<()> {
    let head = match tx.backend() {
        Backend::Sqlite => HEAD_SQLITE,
        Backend::Postgres => HEAD_POSTGRES,
    };
    let (mut seq, mut prev): (i64, String) = tx.fetch_one(sql(head)).await?;
    for mut e in entries {
        // Stored at microsecond precision; hash what will be read back.
        e.at = Timestamp::from_microsecond(e.at.as_microsecond()).unwrap_or(e.at);
        seq += 1;
        let hash = chain_hash(&prev, seq, &e);
        tx.execute(
            sql("INSERT INTO audit_log (seq, at, actor_id, actor_label, action, entity_type, entity_id, request_id, \
                 client_ip, summary, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
            .bind(seq)
            .bind(e.at)
            .bind(e.actor_id)
            .bind(e.actor_label)
            .bind(e.action)
            .bind(e.entity_type)
            .bind(e.entity_id)
            .bind(e.request_id)
            .bind(e.client_ip)
            .bind(e.summary)
            .bind(prev)
            .bind(&hash),
        )
        .await?;
        prev = hash;
    }
    tx.execute(sql("UPDATE audit_head SET last_seq = $1, last_hash = $2 WHERE id = 1").bind(seq).bind(prev)).await?;
    Ok(())
}

/// Filters for paging through the log. Every field is optional.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only this actor.
    pub actor_id: Option<Uuid>,
    /// Actions starting with this text (`user.` matches every user action).
    pub action_prefix: Option<String>,
    /// Only this kind of record.
    pub entity_type: Option<String>,
    /// Only this record.
    pub entity_id: Option<String>,
    /// At or after.
    pub from: Option<Timestamp>,
    /// Before.
    pub until: Option<Timestamp>,
}

/// One page of audit rows, newest first, and how many match in all.
pub async fn list(db: &Db, f: &AuditFilter, limit: i64, offset: i64) -> StoreResult<(Vec<AuditRow>, i64)> {
    let mut w = Where::new();
    if let Some(a) = f.actor_id {
        w.and(|p| format!("actor_id = {p}"), a);
    }
    if let Some(a) = &f.action_prefix {
        w.and(|p| format!("action LIKE {p} ESCAPE '\\'"), like_prefix(a));
    }
    if let Some(t) = &f.entity_type {
        w.and(|p| format!("entity_type = {p}"), t);
    }
    if let Some(id) = &f.entity_id {
        w.and(|p| format!("entity_id = {p}"), id);
    }
    if let Some(t) = f.from {
        w.and(|p| format!("at >= {p}"), t);
    }
    if let Some(t) = f.until {
        w.and(|p| format!("at < {p}"), t);
    }
    let (total,): (i64,) = db.fetch_one(w.query("SELECT COUNT(*) FROM audit_log", "")).await?;
    let rows = db
        .fetch_all(w.query(
            "SELECT seq, at, actor_id, actor_label, action, entity_type, entity_id, request_id, client_ip, summary, \
             prev_hash, hash FROM audit_log",
            &format!(" ORDER BY seq DESC LIMIT {} OFFSET {}", limit.clamp(1, 500), offset.max(0)),
        ))
        .await?;
    Ok((rows, total))
}

/// What `praxis audit verify` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// Every row chains to the next and the head matches the last row.
    Intact {
        /// Rows checked.
        rows: i64,
    },
    /// The first row (by sequence number) where the chain breaks, and why.
    Broken {
        /// The sequence number where the problem shows.
        seq: i64,
        /// What is wrong there.
        reason: String,
    },
}

/// Walks the whole chain in sequence order, in batches.
pub async fn verify(db: &Db) -> StoreResult<VerifyOutcome> {
    let mut prev = GENESIS_HASH.to_string();
    let mut expected_seq = 1_i64;
    loop {
        let rows: Vec<AuditRow> = db
            .fetch_all(
                sql("SELECT seq, at, actor_id, actor_label, action, entity_type, entity_id, request_id, client_ip, \
                     summary, prev_hash, hash FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT 2000")
                .bind(expected_seq),
            )
            .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            if r.seq != expected_seq {
                return Ok(VerifyOutcome::Broken {
                    seq: expected_seq,
                    reason: format!("row {expected_seq} is missing (the next row is {})", r.seq),
                });
            }
            if r.prev_hash != prev {
                return Ok(VerifyOutcome::Broken {
                    seq: r.seq,
                    reason: "its previous-row hash does not match the row before it".into(),
                });
            }
            if chain_hash(&prev, r.seq, &r.as_entry()) != r.hash {
                return Ok(VerifyOutcome::Broken {
                    seq: r.seq,
                    reason: "its contents do not match its hash (the row was edited)".into(),
                });
            }
            prev = r.hash.clone();
            expected_seq += 1;
        }
    }
    let (last_seq, last_hash): (i64, String) = db.fetch_one(sql(HEAD_SQLITE)).await?;
    let rows = expected_seq - 1;
    if last_seq != rows {
        return Ok(VerifyOutcome::Broken {
            seq: rows + 1,
            reason: format!("the log ends at row {rows} but {last_seq} rows were written (rows removed from the end)"),
        });
    }
    if last_hash != prev {
        return Ok(VerifyOutcome::Broken { seq: rows, reason: "the last row does not match the recorded head".into() });
    }
    Ok(VerifyOutcome::Intact { rows })
}
