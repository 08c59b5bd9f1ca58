//! The audit trail's table: one row per API command, written inside the transaction of the
//! change it records (sim/commands.rs), listed newest first by either connection.

use rusqlite::{params, Connection};

use super::{Journal, JournalError, JournalReader};
use crate::domain::audit::{AuditAction, AuditContext, AuditEntry};
use crate::domain::orders::Page;

impl Journal {
    /// Appends an entry (inside the caller's transaction, when one is open).
    pub fn insert_audit(
        &self,
        time_ms: i64,
        who: &AuditContext,
        action: AuditAction,
        target: &str,
        outcome: &str,
    ) -> Result<(), JournalError> {
        self.conn
            .prepare_cached(
                "INSERT INTO audit (time_ms, key_name, client, request_id, action, target, outcome) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                time_ms,
                who.key_name,
                who.client,
                who.request_id,
                action.as_str(),
                target,
                outcome
            ])?;
        Ok(())
    }

    /// A page of the trail, newest first.
    pub fn audit(&self, offset: usize, limit: usize) -> Result<Page<AuditEntry>, JournalError> {
        audit(&self.conn, offset, limit)
    }
}

impl JournalReader {
    /// A page of the trail, newest first.
    pub fn audit(&self, offset: usize, limit: usize) -> Result<Page<AuditEntry>, JournalError> {
        self.with_conn(|conn| audit(conn, offset, limit))
    }
}

fn audit(conn: &Connection, offset: usize, limit: usize) -> Result<Page<AuditEntry>, JournalError> {
    let total: i64 = conn.query_row("SELECT count(*) FROM audit", [], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, time_ms, key_name, client, request_id, action, target, outcome \
         FROM audit ORDER BY id DESC LIMIT ?1 OFFSET ?2",
    )?;
    let items = stmt
        .query_map(params![limit as i64, offset as i64], |r| {
            Ok(AuditEntry {
                id: r.get::<_, i64>(0)? as u64,
                time_ms: r.get(1)?,
                key_name: r.get(2)?,
                client: r.get(3)?,
                request_id: r.get(4)?,
                action: r.get(5)?,
                target: r.get(6)?,
                outcome: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page {
        items,
        total: total as u64,
    })
}
