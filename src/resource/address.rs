//! Resource addresses: `host/kind:name`, as they appear in plans, graphs, `--target` and in
//! `requires`/`notify` (where the host may be left out to mean "this host").

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One string, `host/kind:name`, with where its parts end; shared, so the copies a plan holds
/// (the graph's, the plan's, a notification's) cost no text of their own: a plan of 100,000
/// resources holds an address for each.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Address {
    text: Arc<str>,
    /// Where the `/` after the host is.
    slash: u32,
    /// Where the `:` after the kind is (a kind has none; a name may).
    colon: u32,
}

impl Address {
    pub fn new(host: &str, kind: &str, name: &str) -> Self {
        Self {
            text: Arc::from(format!("{host}/{kind}:{name}")),
            slash: host.len() as u32,
            colon: (host.len() + 1 + kind.len()) as u32,
        }
    }

    pub fn host(&self) -> &str {
        &self.text[..self.slash as usize]
    }

    pub fn kind(&self) -> &str {
        &self.text[self.slash as usize + 1..self.colon as usize]
    }

    pub fn name(&self) -> &str {
        &self.text[self.colon as usize + 1..]
    }

    /// Parses `host/kind:name`, or `kind:name` relative to `default_host`.
    pub fn parse(text: &str, default_host: Option<&str>) -> Option<Self> {
        let (host, rest) = match text.split_once('/') {
            Some((host, rest)) if !host.contains(':') => (host, rest),
            _ => (default_host?, text),
        };
        let (kind, name) = rest.split_once(':')?;
        (!host.is_empty() && !kind.is_empty() && !name.is_empty())
            .then(|| Self::new(host, kind, name))
    }

    /// The whole address, `host/kind:name`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `kind:name`, as shown under the host's heading.
    pub fn local(&self) -> String {
        self.text[self.slash as usize + 1..].to_string()
    }
}

/// By host, then kind, then name.
impl Ord for Address {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.host(), self.kind(), self.name()).cmp(&(other.host(), other.kind(), other.name()))
    }
}

impl PartialOrd for Address {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Address")
            .field("host", &self.host())
            .field("kind", &self.kind())
            .field("name", &self.name())
            .finish()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A whole address, `host/kind:name` (as a saved plan holds it).
impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text, None).ok_or_else(|| {
            serde::de::Error::custom(format!("`{text}` is not an address (host/kind:name)"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_and_relative_addresses() {
        let full = Address::parse("f0/file:/etc/exports", None).unwrap();
        assert_eq!(full, Address::new("f0", "file", "/etc/exports"));
        let relative = Address::parse("file:/keys/f0.lan:zdata.key", Some("f1")).unwrap();
        assert_eq!(
            relative,
            Address::new("f1", "file", "/keys/f0.lan:zdata.key")
        );
        assert_eq!(Address::parse("service:", Some("f0")), None);
        assert_eq!(Address::parse("mountd", Some("f0")), None);
        assert_eq!(full.to_string(), "f0/file:/etc/exports");
    }
}
