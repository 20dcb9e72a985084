//! Domains, accounts and aliases: who mail is for.
//!
//! Addresses are keyed by [`Address::key`] (lowercase) and shown as given. An address is an
//! account or an alias, never both; every account and alias belongs to a local domain.

use rusqlite::{Connection, OptionalExtension, Row, params};
use surel_store::{Account, Alias, AliasSource, Lookup, StoreError};
use surel_types::{AccountId, Address, Domain, MailboxName, SpecialUse};

use crate::error::{Result, corrupt};
use crate::mailboxes;

fn domain_exists(conn: &Connection, domain: &Domain) -> Result<bool> {
    let mut stmt = conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM domains WHERE name = ?1)")?;
    Ok(stmt.query_row([domain.as_str()], |row| row.get(0))?)
}

pub(crate) fn require_domain(conn: &Connection, domain: &Domain) -> Result<()> {
    if domain_exists(conn, domain)? {
        Ok(())
    } else {
        Err(StoreError::NotFound(format!("domain {domain}")).into())
    }
}

pub(crate) fn add_domain(conn: &Connection, domain: &Domain) -> Result<()> {
    if domain_exists(conn, domain)? {
        return Err(StoreError::Exists(format!("domain {domain}")).into());
    }
    conn.execute("INSERT INTO domains (name) VALUES (?1)", [domain.as_str()])?;
    Ok(())
}

pub(crate) fn remove_domain(conn: &Connection, domain: &Domain) -> Result<()> {
    require_domain(conn, domain)?;
    let accounts: i64 = conn.query_row(
        "SELECT count(*) FROM accounts WHERE domain = ?1",
        [domain.as_str()],
        |row| row.get(0),
    )?;
    if accounts > 0 {
        let noun = if accounts == 1 { "account" } else { "accounts" };
        return Err(
            StoreError::Invalid(format!("domain {domain} still has {accounts} {noun}")).into(),
        );
    }
    // Its aliases (and their targets) go with it: ON DELETE CASCADE.
    conn.execute("DELETE FROM domains WHERE name = ?1", [domain.as_str()])?;
    Ok(())
}

pub(crate) fn domains(conn: &Connection) -> Result<Vec<Domain>> {
    let mut stmt = conn.prepare_cached("SELECT name FROM domains ORDER BY name")?;
    let rows = stmt.query_map([], |row| parse_col(row, 0, Domain::parse))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn is_local_domain(conn: &Connection, domain: &Domain) -> Result<bool> {
    domain_exists(conn, domain)
}

/// Refuses an address (or catch-all) that an account or alias already has.
fn require_free(conn: &Connection, key: &str) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT 'account' FROM accounts WHERE key = ?1 UNION ALL SELECT 'alias' FROM aliases WHERE source = ?1",
    )?;
    match stmt
        .query_row([key], |row| row.get::<_, String>(0))
        .optional()?
    {
        Some(kind) => Err(StoreError::Exists(format!("{kind} {key}")).into()),
        None => Ok(()),
    }
}

pub(crate) fn add_account(
    conn: &Connection,
    address: &Address,
    password_hash: &str,
) -> Result<AccountId> {
    require_domain(conn, address.domain())?;
    let key = address.key();
    require_free(conn, &key)?;
    conn.execute(
        "INSERT INTO accounts (key, address, domain, password_hash) VALUES (?1, ?2, ?3, ?4)",
        params![
            key,
            address.to_string(),
            address.domain().as_str(),
            password_hash
        ],
    )?;
    let id = AccountId(conn.last_insert_rowid());
    mailboxes::insert(conn, id, &MailboxName::inbox(), None)?;
    let mut subscribe =
        conn.prepare_cached("INSERT INTO subscriptions (account, name) VALUES (?1, ?2)")?;
    subscribe.execute(params![id.0, "INBOX"])?;
    for (special_use, name) in SpecialUse::DEFAULTS {
        let name = MailboxName::parse(name).map_err(|e| StoreError::Invalid(e.to_string()))?;
        mailboxes::insert(conn, id, &name, Some(special_use))?;
        // Subscribed too: several clients (Thunderbird by default) show only subscribed
        // mailboxes, and these are the ones every client needs.
        subscribe.execute(params![id.0, name.as_str()])?;
    }
    Ok(id)
}

pub(crate) fn remove_account(conn: &Connection, address: &Address) -> Result<()> {
    // Mailboxes and messages go with it (ON DELETE CASCADE); their blobs are collected later.
    if conn.execute("DELETE FROM accounts WHERE key = ?1", [address.key()])? == 0 {
        return Err(StoreError::NotFound(format!("account {address}")).into());
    }
    Ok(())
}

pub(crate) fn set_password(
    conn: &Connection,
    address: &Address,
    password_hash: &str,
) -> Result<()> {
    let changed = conn.execute(
        "UPDATE accounts SET password_hash = ?2 WHERE key = ?1",
        params![address.key(), password_hash],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("account {address}")).into());
    }
    Ok(())
}

const ACCOUNT_COLUMNS: &str = "SELECT id, address, password_hash FROM accounts";

fn account_row(row: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: AccountId(row.get(0)?),
        address: parse_col(row, 1, Address::parse)?,
        password_hash: row.get(2)?,
    })
}

pub(crate) fn account(conn: &Connection, address: &Address) -> Result<Option<Account>> {
    let mut stmt = conn.prepare_cached(&format!("{ACCOUNT_COLUMNS} WHERE key = ?1"))?;
    Ok(stmt.query_row([address.key()], account_row).optional()?)
}

pub(crate) fn account_by_id(conn: &Connection, id: AccountId) -> Result<Option<Account>> {
    let mut stmt = conn.prepare_cached(&format!("{ACCOUNT_COLUMNS} WHERE id = ?1"))?;
    Ok(stmt.query_row([id.0], account_row).optional()?)
}

pub(crate) fn accounts(conn: &Connection) -> Result<Vec<Account>> {
    let mut stmt = conn.prepare_cached(&format!("{ACCOUNT_COLUMNS} ORDER BY key"))?;
    let rows = stmt.query_map([], account_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn add_alias(
    conn: &Connection,
    source: &AliasSource,
    targets: &[Address],
) -> Result<()> {
    if targets.is_empty() {
        return Err(
            StoreError::Invalid(format!("alias {source} needs at least one target")).into(),
        );
    }
    require_domain(conn, source.domain())?;
    let key = source.key();
    require_free(conn, &key)?;
    conn.execute(
        "INSERT INTO aliases (source, display, domain) VALUES (?1, ?2, ?3)",
        params![key, source.to_string(), source.domain().as_str()],
    )?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO alias_targets (source, position, target) VALUES (?1, ?2, ?3)",
    )?;
    for (position, target) in (0i64..).zip(targets) {
        insert.execute(params![key, position, target.to_string()])?;
    }
    Ok(())
}

pub(crate) fn remove_alias(conn: &Connection, source: &AliasSource) -> Result<()> {
    if conn.execute("DELETE FROM aliases WHERE source = ?1", [source.key()])? == 0 {
        return Err(StoreError::NotFound(format!("alias {source}")).into());
    }
    Ok(())
}

fn alias_targets(conn: &Connection, key: &str) -> Result<Vec<Address>> {
    let mut stmt = conn
        .prepare_cached("SELECT target FROM alias_targets WHERE source = ?1 ORDER BY position")?;
    let rows = stmt.query_map([key], |row| parse_col(row, 0, Address::parse))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn aliases(conn: &Connection) -> Result<Vec<Alias>> {
    let mut stmt = conn.prepare_cached("SELECT source, display FROM aliases ORDER BY source")?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            parse_col(row, 1, AliasSource::parse)?,
        ))
    })?;
    let sources: Vec<(String, AliasSource)> = rows.collect::<rusqlite::Result<_>>()?;
    sources
        .into_iter()
        .map(|(key, source)| {
            Ok(Alias {
                targets: alias_targets(conn, &key)?,
                source,
            })
        })
        .collect()
}

pub(crate) fn lookup(conn: &Connection, source: &AliasSource) -> Result<Option<Lookup>> {
    let key = source.key();
    if let AliasSource::Address(_) = source {
        let mut stmt = conn.prepare_cached("SELECT id FROM accounts WHERE key = ?1")?;
        if let Some(id) = stmt.query_row([&key], |row| row.get(0)).optional()? {
            return Ok(Some(Lookup::Account(AccountId(id))));
        }
    }
    let mut stmt =
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM aliases WHERE source = ?1)")?;
    if stmt.query_row([&key], |row| row.get(0))? {
        return Ok(Some(Lookup::Alias(alias_targets(conn, &key)?)));
    }
    Ok(None)
}

/// Reads a text column through a validating parser; a value that does not parse is corruption.
pub(crate) fn parse_col<T, E>(
    row: &Row<'_>,
    column: usize,
    parse: impl Fn(&str) -> std::result::Result<T, E>,
) -> rusqlite::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let text: String = row.get(column)?;
    parse(&text).map_err(|e| corrupt(column, e))
}
