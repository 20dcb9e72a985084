use std::path::PathBuf;

/// Why a config file was not accepted. Every message names what to fix: the file, the line, the
/// key and its table.
///
/// Causes are written into the message rather than chained as `source()`, so a report that prints
/// the whole chain (`anyhow`'s `{:#}`) says each thing once.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// A problem inside a named file.
    #[error("{}: {error}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// The problem.
        error: Box<ConfigError>,
    },
    /// The text is not valid TOML (toml's message, with line, column and the offending text).
    #[error("{0}")]
    Syntax(String),
    /// A key surel does not know (often a typo).
    #[error("line {line}: unknown key {key:?} {}", table_phrase(table))]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The table it sits in (`limits`), empty for the top level.
        table: String,
        /// Where the key is (1-based).
        line: usize,
    },
    /// A known key with a value that cannot be used.
    #[error("line {line}: {key}: {message}")]
    Invalid {
        /// The full key (`limits.message_size`).
        key: String,
        /// What is wrong with the value.
        message: String,
        /// Where the value is (1-based).
        line: usize,
    },
}

fn table_phrase(table: &str) -> String {
    if table.is_empty() {
        "at the top level".to_string()
    } else {
        format!("in [{table}]")
    }
}
