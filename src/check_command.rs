//! A `validate` command (as Ansible's `validate`): a module's shell command that checks the
//! new content of a file on the host before it replaces the old one, naming the file to check
//! as `{new}`. The transport runs it by `sh -c` as root with the temporary file's path in
//! place of `{new}` (see `transport/shell/ops.rs`); a failing check leaves the old file as it
//! was. Rendered with every interpolated value shell-quoted, each standing where the shell
//! reads that quoting as such, never inside the command's own quotes (`module::template`),
//! checked at load time (`values::ValueKind::CheckCommand`); the command may not hold a
//! secret, since it appears in the host's process list.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::values::{PLACEHOLDER, ValueKind};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CheckCommand {
    command: String,
}

impl CheckCommand {
    /// A command that keeps `ValueKind::CheckCommand`'s rule (checked where it was read).
    pub fn new(command: impl Into<String>) -> Self {
        let command = command.into();
        debug_assert_eq!(ValueKind::CheckCommand.check(&command), Ok(()));
        Self { command }
    }

    /// The command before and after its one placeholder.
    pub fn around_placeholder(&self) -> (&str, &str) {
        self.command
            .split_once(PLACEHOLDER)
            .unwrap_or((&self.command, ""))
    }
}

/// Read back (from a saved plan) only if it keeps the rule it was made under.
impl<'de> Deserialize<'de> for CheckCommand {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let command = String::deserialize(deserializer)?;
        ValueKind::CheckCommand
            .check(&command)
            .map_err(|rule| serde::de::Error::custom(format!("`{command}`: {rule}")))?;
        Ok(Self { command })
    }
}

impl fmt::Display for CheckCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.command)
    }
}
