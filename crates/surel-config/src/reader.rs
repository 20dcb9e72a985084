//! A small reader over toml's spanned document tree: each key is taken once by name, converted
//! with an error that names it and its line, and whatever is left over is an unknown key.
//!
//! Hand-written rather than serde-derived because serde's `deny_unknown_fields` message names
//! neither the table nor the key path of a bad value.

use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use crate::ConfigError;
use crate::units::{parse_duration, parse_size};

/// The source text, to turn byte spans into line numbers.
#[derive(Clone, Copy)]
pub(crate) struct Doc<'i> {
    text: &'i str,
}

impl<'i> Doc<'i> {
    pub(crate) fn new(text: &'i str) -> Self {
        Self { text }
    }

    fn line(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// Parses the whole document as the top-level table.
    pub(crate) fn root(self) -> Result<Table<'i>, ConfigError> {
        let table = DeTable::parse(self.text)
            .map_err(|e| ConfigError::Syntax(e.to_string().trim_end().to_string()))?;
        let line = self.line(&table.span());
        Ok(Table {
            doc: self,
            path: String::new(),
            entries: table.into_inner(),
            line,
        })
    }
}

/// One TOML table whose keys are being taken.
pub(crate) struct Table<'i> {
    doc: Doc<'i>,
    /// Dotted path of the table; empty for the top level.
    path: String,
    entries: DeTable<'i>,
    /// Where the table starts, for errors about keys that are missing from it.
    line: usize,
}

impl<'i> Table<'i> {
    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Takes a key's value, if the key is present.
    pub(crate) fn take(&mut self, key: &str) -> Option<Value<'i>> {
        let (_, value) = self.entries.remove_entry(key)?;
        let line = self.doc.line(&value.span());
        Some(Value {
            key: self.key_path(key),
            line,
            value: value.into_inner(),
        })
    }

    /// Takes a key and converts it with `convert`, storing the result in `slot` if present.
    pub(crate) fn read<T>(
        &mut self,
        key: &str,
        slot: &mut T,
        convert: impl FnOnce(&Value<'i>) -> Result<T, ConfigError>,
    ) -> Result<(), ConfigError> {
        if let Some(value) = self.take(key) {
            *slot = convert(&value)?;
        }
        Ok(())
    }

    /// Takes a key that must hold a table (`[name]` or `name = { ... }`).
    pub(crate) fn table(&mut self, key: &str) -> Result<Option<Table<'i>>, ConfigError> {
        let Some((_, value)) = self.entries.remove_entry(key) else {
            return Ok(None);
        };
        let line = self.doc.line(&value.span());
        let path = self.key_path(key);
        match value.into_inner() {
            DeValue::Table(entries) => Ok(Some(Table {
                doc: self.doc,
                path,
                entries,
                line,
            })),
            other => Err(ConfigError::Invalid {
                key: path,
                message: format!("expected a table ([{key}]), found {}", other.type_str()),
                line,
            }),
        }
    }

    /// An error for a key this table must have.
    pub(crate) fn missing(&self, key: &str) -> ConfigError {
        ConfigError::Invalid {
            key: self.key_path(key),
            message: format!("is required when [{}] is present", self.path),
            line: self.line,
        }
    }

    /// Succeeds only if every key was taken; otherwise names the first unknown key.
    pub(crate) fn finish(self) -> Result<(), ConfigError> {
        let first = self.entries.iter().min_by_key(|(key, _)| key.span().start);
        match first {
            None => Ok(()),
            Some((key, _)) => Err(ConfigError::UnknownKey {
                key: key.get_ref().to_string(),
                table: self.path.clone(),
                line: self.doc.line(&key.span()),
            }),
        }
    }
}

/// One value with the key path and line it came from.
pub(crate) struct Value<'i> {
    key: String,
    line: usize,
    value: DeValue<'i>,
}

impl Value<'_> {
    pub(crate) fn invalid(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key: self.key.clone(),
            message: message.into(),
            line: self.line,
        }
    }

    fn expected(&self, what: &str) -> ConfigError {
        self.invalid(format!("expected {what}, found {}", self.value.type_str()))
    }

    fn integer(&self) -> Option<Result<u64, ConfigError>> {
        let DeValue::Integer(i) = &self.value else {
            return None;
        };
        Some(
            u64::from_str_radix(i.as_str(), i.radix())
                .map_err(|_| self.invalid(format!("{i} is not a whole number from 0 up"))),
        )
    }

    fn at_least<T: PartialOrd + std::fmt::Display>(
        &self,
        value: T,
        min: T,
        shown: &str,
    ) -> Result<T, ConfigError> {
        if value < min {
            Err(self.invalid(format!("{shown} is too small (the least is {min})")))
        } else {
            Ok(value)
        }
    }

    /// A string.
    pub(crate) fn string(&self) -> Result<String, ConfigError> {
        match &self.value {
            DeValue::String(s) => Ok(s.to_string()),
            _ => Err(self.expected("a string")),
        }
    }

    /// A non-empty string naming a path.
    pub(crate) fn path(&self) -> Result<PathBuf, ConfigError> {
        let s = self.string()?;
        if s.is_empty() {
            return Err(self.invalid("the path is empty"));
        }
        Ok(PathBuf::from(s))
    }

    /// A duration string (`"15m"`) of at least `min`.
    pub(crate) fn duration(&self, min: Duration) -> Result<Duration, ConfigError> {
        let DeValue::String(s) = &self.value else {
            return Err(self.expected("a duration string such as \"15m\""));
        };
        let d = parse_duration(s).map_err(|e| self.invalid(e))?;
        if d < min {
            return Err(self.invalid(format!("{s:?} is too short (the least is {min:?})")));
        }
        Ok(d)
    }

    /// A size: an integer count of octets or a string with a unit (`"50MiB"`), at least `min`.
    pub(crate) fn size(&self, min: u64) -> Result<u64, ConfigError> {
        let (n, shown) = match (&self.value, self.integer()) {
            (_, Some(n)) => (n?, None),
            (DeValue::String(s), None) => (parse_size(s).map_err(|e| self.invalid(e))?, Some(s)),
            _ => return Err(self.expected("a size such as \"50MiB\" or 1000")),
        };
        let shown = shown.map_or_else(|| n.to_string(), |s| format!("{s:?}"));
        self.at_least(n, min, &shown)
    }

    /// A size that must also fit in memory (`usize`).
    pub(crate) fn size_usize(&self, min: usize) -> Result<usize, ConfigError> {
        let n = self.size(min as u64)?;
        usize::try_from(n).map_err(|_| self.invalid(format!("{n} is too large")))
    }

    /// An integer count of at least `min`.
    pub(crate) fn count(&self, min: usize) -> Result<usize, ConfigError> {
        let n = self
            .integer()
            .ok_or_else(|| self.expected("a whole number"))??;
        let n = usize::try_from(n).map_err(|_| self.invalid(format!("{n} is too large")))?;
        self.at_least(n, min, &n.to_string())
    }

    /// A TCP port, 1 to 65535.
    pub(crate) fn port(&self) -> Result<u16, ConfigError> {
        let n = self
            .integer()
            .ok_or_else(|| self.expected("a port number"))??;
        match u16::try_from(n) {
            Ok(p) if p > 0 => Ok(p),
            _ => Err(self.invalid(format!("{n} is not a port (1 to 65535)"))),
        }
    }

    /// An IP address string (`"192.0.2.25"`, `"2001:db8::25"`).
    pub(crate) fn ip(&self) -> Result<IpAddr, ConfigError> {
        let s = self.string()?;
        s.parse()
            .map_err(|_| self.invalid(format!("{s:?} is not an IP address")))
    }

    /// A list of `"addr:port"` strings (a single string is accepted as a list of one). With
    /// `default_port`, a bare IP address gets that port.
    pub(crate) fn socket_addrs(
        &self,
        default_port: Option<u16>,
    ) -> Result<Vec<SocketAddr>, ConfigError> {
        let one = |v: &DeValue<'_>| -> Result<SocketAddr, ConfigError> {
            let DeValue::String(s) = v else {
                let found = v.type_str();
                return Err(self.invalid(format!(
                    "expected \"addr:port\" strings, found {found} in the list"
                )));
            };
            if let Ok(addr) = s.parse::<SocketAddr>() {
                return Ok(addr);
            }
            if let (Some(port), Ok(ip)) = (default_port, s.parse::<IpAddr>()) {
                return Ok(SocketAddr::new(ip, port));
            }
            Err(self.invalid(format!(
                "{s:?} is not an address with a port (e.g. \"0.0.0.0:25\" or \"[::]:25\")"
            )))
        };
        match &self.value {
            DeValue::Array(items) => items.iter().map(|item| one(item.get_ref())).collect(),
            single @ DeValue::String(_) => Ok(vec![one(single)?]),
            _ => Err(self.expected("a list of \"addr:port\" strings")),
        }
    }
}
