//! DKIM signing keys, one row per (domain, selector) in `dkim_keys` (schema migration 3).
//!
//! Selectors are DNS labels, so they are compared case-insensitively; each is kept as given.

use rusqlite::{Connection, Row, params};
use surel_store::{DkimAlgorithm, DkimKey, StoreError};
use surel_types::{Domain, Secret};

use crate::directory::{parse_col, require_domain};
use crate::error::{Result, corrupt};

/// An `algorithm` column value this version does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown DKIM algorithm {0:?}")]
struct UnknownAlgorithm(String);

/// A `created` column value outside chrono's range.
#[derive(Debug, thiserror::Error)]
#[error("bad key creation time {0}")]
struct BadTime(i64);

pub(crate) fn add(conn: &Connection, key: &DkimKey) -> Result<()> {
    require_domain(conn, &key.domain)?;
    let mut taken = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM dkim_keys WHERE domain = ?1 AND selector = ?2 COLLATE NOCASE)",
    )?;
    if taken.query_row(params![key.domain.as_str(), key.selector], |row| row.get(0))? {
        return Err(StoreError::Exists(format!(
            "DKIM selector {} of domain {}",
            key.selector, key.domain
        ))
        .into());
    }
    conn.execute(
        "INSERT INTO dkim_keys (domain, selector, algorithm, private_key, created) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            key.domain.as_str(),
            key.selector,
            key.algorithm.as_str(),
            key.private_key.expose(),
            // Microseconds since the Unix epoch, UTC, as for INTERNALDATE.
            key.created.timestamp_micros(),
        ],
    )?;
    Ok(())
}

fn key_row(row: &Row<'_>) -> rusqlite::Result<DkimKey> {
    let micros: i64 = row.get(4)?;
    Ok(DkimKey {
        domain: parse_col(row, 0, Domain::parse)?,
        selector: row.get(1)?,
        algorithm: parse_col(row, 2, |text| {
            DkimAlgorithm::parse(text).ok_or_else(|| UnknownAlgorithm(text.to_string()))
        })?,
        private_key: Secret::new(row.get(3)?),
        created: chrono::DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| corrupt(4, BadTime(micros)))?,
    })
}

pub(crate) fn list(conn: &Connection, domain: &Domain) -> Result<Vec<DkimKey>> {
    let mut stmt = conn.prepare_cached(
        "SELECT domain, selector, algorithm, private_key, created FROM dkim_keys \
         WHERE domain = ?1 ORDER BY created DESC, selector",
    )?;
    let rows = stmt.query_map([domain.as_str()], key_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn remove(conn: &Connection, domain: &Domain, selector: &str) -> Result<()> {
    let removed = conn.execute(
        "DELETE FROM dkim_keys WHERE domain = ?1 AND selector = ?2 COLLATE NOCASE",
        params![domain.as_str(), selector],
    )?;
    if removed == 0 {
        return Err(
            StoreError::NotFound(format!("DKIM selector {selector} of domain {domain}")).into(),
        );
    }
    Ok(())
}
