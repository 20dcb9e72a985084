//! The backend's internal error: what `?` meets inside a read or a write, turned into a
//! [`StoreError`] at the trait boundary.

use std::io;
use std::path::Path;

use surel_store::StoreError;

/// A failure inside the backend: a store-level refusal, or SQLite failing.
#[derive(Debug)]
pub(crate) enum Error {
    /// A refusal or failure that already has its [`StoreError`] (not found, exists, I/O, …).
    Store(StoreError),
    /// SQLite failed; the operation did not happen.
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Sql(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        match e {
            Error::Store(e) => e,
            Error::Sql(e) => StoreError::backend(e),
        }
    }
}

/// Results inside the backend.
pub(crate) type Result<T> = std::result::Result<T, Error>;

/// A backend failure described by text (a commit that failed for a whole batch, a lost thread).
pub(crate) fn failure(why: impl Into<String>) -> StoreError {
    StoreError::Backend(why.into().into())
}

/// An I/O failure on a file of the data directory, naming the action and the path.
pub(crate) fn io_failure(action: &str, path: &Path, e: io::Error) -> StoreError {
    failure(format!("{action} {}: {e}", path.display()))
}

/// A value read from the database that cannot be what the schema promises.
pub(crate) fn corrupt(
    column: usize,
    e: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
}
