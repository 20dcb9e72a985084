//! Mailboxes and their IMAP counters (RFC 9051 §2.3.1.1 UIDVALIDITY/UIDNEXT, RFC 7162
//! HIGHESTMODSEQ).

use rusqlite::{Connection, OptionalExtension, Row, params};
use surel_store::{Mailbox, StoreError};
use surel_types::{AccountId, MailboxId, MailboxName, ModSeq, SpecialUse, Uid};

use crate::directory::parse_col;
use crate::error::{Result, corrupt};

/// The MODSEQ of a mailbox nothing has happened in yet. RFC 7162 mod-sequences are positive, so
/// counting starts at 1 and the first change gets 2.
const FIRST_MODSEQ: i64 = 1;

const MAILBOX_COLUMNS: &str =
    "SELECT id, account, name, special_use, uid_validity, uid_next, highest_modseq, messages
    FROM mailboxes";

fn mailbox_row(row: &Row<'_>) -> rusqlite::Result<Mailbox> {
    let special_use = match row.get::<_, Option<String>>(3)? {
        None => None,
        Some(attr) => {
            Some(SpecialUse::from_attribute(&attr).ok_or_else(|| corrupt(3, BadValue(attr)))?)
        }
    };
    Ok(Mailbox {
        id: MailboxId(row.get(0)?),
        account: AccountId(row.get(1)?),
        name: parse_col(row, 2, MailboxName::parse)?,
        special_use,
        uid_validity: row.get(4)?,
        uid_next: Uid(row.get(5)?),
        highest_modseq: modseq(row, 6)?,
        exists: row.get(7)?,
    })
}

/// Reads a MODSEQ column (SQLite integers are signed; MODSEQs never go below 1).
pub(crate) fn modseq(row: &Row<'_>, column: usize) -> rusqlite::Result<ModSeq> {
    let value: i64 = row.get(column)?;
    u64::try_from(value)
        .map(ModSeq)
        .map_err(|e| corrupt(column, e))
}

/// A stored value the schema does not allow.
#[derive(Debug, thiserror::Error)]
#[error("unexpected value {0:?}")]
struct BadValue(String);

pub(crate) fn require_account(conn: &Connection, account: AccountId) -> Result<()> {
    let mut stmt = conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?1)")?;
    if stmt.query_row([account.0], |row| row.get(0))? {
        Ok(())
    } else {
        Err(StoreError::NotFound(format!("account {account}")).into())
    }
}

/// Adds a mailbox row with a fresh UIDVALIDITY. The caller has checked the account and the name.
pub(crate) fn insert(
    conn: &Connection,
    account: AccountId,
    name: &MailboxName,
    special_use: Option<SpecialUse>,
) -> Result<Mailbox> {
    let uid_validity = next_uid_validity(conn)?;
    conn.prepare_cached(
        "INSERT INTO mailboxes (account, name, special_use, uid_validity, uid_next, highest_modseq)
         VALUES (?1, ?2, ?3, ?4, 1, ?5)",
    )?
    .execute(params![
        account.0,
        name.as_str(),
        special_use.map(SpecialUse::attribute),
        uid_validity,
        FIRST_MODSEQ
    ])?;
    Ok(Mailbox {
        id: MailboxId(conn.last_insert_rowid()),
        account,
        name: name.clone(),
        special_use,
        uid_validity,
        uid_next: Uid(1),
        highest_modseq: ModSeq(FIRST_MODSEQ.unsigned_abs()),
        exists: 0,
    })
}

/// A UIDVALIDITY above every one given before in this database (RFC 9051 §2.3.1.1: a mailbox
/// recreated under an old name must not reuse one): the current Unix time, or one more than the
/// last value when the clock is behind it (several mailboxes a second, or a clock set back).
fn next_uid_validity(conn: &Connection) -> Result<u32> {
    let last: i64 = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'last_uid_validity'")?
        .query_row([], |row| row.get(0))
        .optional()?
        .unwrap_or(0);
    let now = chrono::Utc::now().timestamp();
    let next = now.max(last + 1).max(1);
    let next = u32::try_from(next)
        .map_err(|_| StoreError::Invalid("UIDVALIDITY values are exhausted".into()))?;
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('last_uid_validity', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([next])?;
    Ok(next)
}

pub(crate) fn list(conn: &Connection, account: AccountId) -> Result<Vec<Mailbox>> {
    require_account(conn, account)?;
    let mut stmt = conn.prepare_cached(&format!(
        "{MAILBOX_COLUMNS} WHERE account = ?1 ORDER BY name"
    ))?;
    let rows = stmt.query_map([account.0], mailbox_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn by_id(conn: &Connection, id: MailboxId) -> Result<Option<Mailbox>> {
    let mut stmt = conn.prepare_cached(&format!("{MAILBOX_COLUMNS} WHERE id = ?1"))?;
    Ok(stmt.query_row([id.0], mailbox_row).optional()?)
}

pub(crate) fn get(
    conn: &Connection,
    account: AccountId,
    name: &MailboxName,
) -> Result<Option<Mailbox>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{MAILBOX_COLUMNS} WHERE account = ?1 AND name = ?2"
    ))?;
    Ok(stmt
        .query_row(params![account.0, name.as_str()], mailbox_row)
        .optional()?)
}

pub(crate) fn create(
    conn: &Connection,
    account: AccountId,
    name: &MailboxName,
    special_use: Option<SpecialUse>,
) -> Result<Mailbox> {
    require_account(conn, account)?;
    // MailboxName spells INBOX one way, so this comparison is case-sensitive except for INBOX
    // (RFC 9051 §5.1).
    if get(conn, account, name)?.is_some() {
        return Err(StoreError::Exists(format!("mailbox {name}")).into());
    }
    insert(conn, account, name, special_use)
}
