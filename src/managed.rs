//! The record of what f3s manages on a host, kept on the host itself: apply writes it (one
//! JSON object a line, in apply order), and the plan reads it back in the host's one
//! observation, as a file. A resource recorded there that has left the inventory is "no
//! longer managed"; each entry keeps what removing it takes (a line's text, a block's
//! markers), since the inventory no longer says.
//!
//! The host sends the record like anything else it says, so it is read as untrusted: every
//! name is checked by the rule it had in the inventory, and an entry that breaks one makes
//! the whole record unusable (nothing is pruned from a record that was tampered with).

use serde::{Deserialize, Serialize};

use crate::inventory::host::OsFamily;
use crate::names::NameKind;
use crate::values::ValueKind;

/// Where the record lives: the family's place for a program's own state (hier(7) on FreeBSD,
/// the FHS's /var/lib on Linux), readable by root alone.
pub fn path(os: OsFamily) -> &'static str {
    match os {
        OsFamily::Freebsd => "/var/db/f3s/managed",
        OsFamily::Rocky => "/var/lib/f3s/managed",
    }
}

/// One resource f3s manages on the host: its address there (`kind:name`) and what removing it
/// takes, where its name does not say it all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub kind: String,
    pub name: String,
    /// The file it edits or is (`line`, `block`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A `line`'s text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// What starts a comment in a `block`'s file, its markers being comments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Whose crontab a `cron` entry is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Its line in the record read (1-based; 0 in one not read from a host), for diagnostics.
    #[serde(skip)]
    pub line: usize,
}

impl Entry {
    pub fn new(kind: &str, name: &str) -> Self {
        Self {
            kind: kind.into(),
            name: name.into(),
            path: None,
            text: None,
            comment: None,
            user: None,
            line: 0,
        }
    }

    /// `kind:name`, as the plan shows it under its host.
    pub fn local(&self) -> String {
        format!("{}:{}", self.kind, self.name)
    }

    /// A part of the entry that its kind needs, checked by `rule`.
    pub fn needed(&self, part: &Option<String>, what: &str, rule: Rule) -> Result<String, String> {
        let value = part
            .as_ref()
            .ok_or_else(|| format!("{} has no {what}", self.local()))?;
        rule.check(value)
            .map_err(|why| format!("{}: its {what} is not valid: {why}", self.local()))?;
        Ok(value.clone())
    }

    /// The name, checked by `rule`.
    pub fn checked_name(&self, rule: Rule) -> Result<String, String> {
        rule.check(&self.name)
            .map_err(|why| format!("{}: its name is not valid: {why}", self.local()))?;
        Ok(self.name.clone())
    }
}

/// The rule a recorded value is held to: the one it had in the inventory.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    Name(NameKind),
    Value(ValueKind),
}

impl Rule {
    fn check(self, value: &str) -> Result<(), String> {
        match self {
            Self::Name(kind) => kind.check(value),
            Self::Value(kind) => kind.check(value),
        }
    }
}

/// The record as read from a host: its entries in the order apply recorded them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub entries: Vec<Entry>,
}

impl Record {
    /// Reads the record's text; the error says which line is wrong and how.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let mut entry: Entry = serde_json::from_str(line)
                .map_err(|error| format!("line {}: {error}", number + 1))?;
            entry.line = number + 1;
            ValueKind::Label
                .check(&entry.kind)
                .map_err(|why| format!("line {}: kind: {why}", number + 1))?;
            entries.push(entry);
        }
        Ok(Self { entries })
    }

    /// The text apply writes: an entry a line.
    pub fn text(&self) -> String {
        self.entries
            .iter()
            .map(|entry| {
                let mut line = serde_json::to_string(entry).expect("an entry serializes");
                line.push('\n');
                line
            })
            .collect()
    }

    pub fn contains(&self, kind: &str, name: &str) -> bool {
        self.entries
            .iter()
            .any(|entry| entry.kind == kind && entry.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_written() {
        let mut line = Entry::new("line", "vip");
        line.path = Some("/etc/hosts".into());
        line.text = Some("10.0.0.1 vip \"quoted\"".into());
        let record = Record {
            entries: vec![Entry::new("package", "zrepl"), line],
        };
        let read = Record::parse(&record.text()).unwrap();
        assert_eq!(read.text(), record.text());
        assert_eq!(read.entries[1].line, 2);
    }

    #[test]
    fn a_record_a_host_made_up_is_refused_whole() {
        for bad in [
            "not json\n",
            "{\"kind\":\"file\",\"name\":\"/x\",\"extra\":1}\n",
            "{\"kind\":\"fi\\nle\",\"name\":\"/x\"}\n",
        ] {
            assert!(Record::parse(bad).is_err(), "{bad}");
        }
        let entry = Record::parse("{\"kind\":\"file\",\"name\":\"x; rm -rf /\"}\n").unwrap();
        assert!(
            entry.entries[0]
                .checked_name(Rule::Name(NameKind::Path))
                .is_err()
        );
    }
}
