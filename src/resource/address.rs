//! Resource addresses: `host/kind:name`, as they appear in plans, graphs, `--target` and in
//! `requires`/`notify` (where the host may be left out to mean "this host").

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub host: String,
    pub kind: String,
    pub name: String,
}

impl Address {
    pub fn new(host: &str, kind: &str, name: &str) -> Self {
        Self {
            host: host.into(),
            kind: kind.into(),
            name: name.into(),
        }
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

    /// `kind:name`, as shown under the host's heading.
    pub fn local(&self) -> String {
        format!("{}:{}", self.kind, self.name)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}:{}", self.host, self.kind, self.name)
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
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
