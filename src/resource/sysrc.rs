//! `sysrc`: one variable of FreeBSD's rc.conf, set where `sysrc NAME=VALUE` would set it. The
//! value is checked here, at its line, for what no rc.conf can carry (see `unwritable`); the
//! FreeBSD dialect writes the rest so that sh reads back exactly this value when it sources
//! rc.conf at boot.

use super::kind::{AttributeChange, Decision, Kind, View};
use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::module::attrs::{Attrs, Rendered};
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::{Probe, Reveal};
use crate::sensitive::Text;

pub const ATTRIBUTES: &[&str] = &["value", "state"];

#[derive(Debug, Clone)]
pub struct Sysrc {
    pub name: String,
    /// `None`: the variable is set nowhere (`state: absent`).
    pub value: Option<Text>,
}

impl Sysrc {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let name = attrs.required_name("sysrc", NameKind::RcVar);
        if !attrs.present() {
            attrs.refuse_with_absent("sysrc", &["value"]);
            let name = name?;
            return Some((name.clone(), Self { name, value: None }));
        }
        let value = attrs.required_string("value");
        let name = name?;
        let value = value?;
        if let Some(fault) = unwritable(value.value.as_bytes()) {
            attrs.errors.push(unwritable_error(&name, &value, fault));
            return None;
        }
        Some((
            name.clone(),
            Self {
                name,
                value: Some(value.text()),
            },
        ))
    }
}

/// What keeps a value out of rc.conf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unwritable {
    /// A shell variable cannot hold a NUL byte, so no file sh sources can give one.
    Nul,
    /// rc.conf is edited line by line (by sysrc(8) and by f3s), and `$(sysrc -n NAME)` drops
    /// a trailing one, so a value read back would not be the value written.
    LineBreak,
    /// Readable back, but no rc.conf setting takes one, and a terminal showing rc.conf would
    /// act on it: almost surely a mistake (a carriage return from a secret file edited on
    /// Windows, say), reported rather than written.
    Control,
    /// `-n` or `-e` alone: `sysrc -n` up to FreeBSD 14 prints the value with sh's `echo`
    /// (usr.sbin/bsdconfig/share/sysrc.subr, f_sysrc_get: `eval echo '"${'"$1"'}"'`), which
    /// takes either for an option (bin/sh/bltin/echo.c), so it reads back as empty.
    EchoOption,
}

impl Unwritable {
    pub fn reason(self) -> &'static str {
        match self {
            Self::Nul => "it holds a NUL byte, which no shell variable can hold",
            Self::LineBreak => {
                "it holds a line break; rc.conf is edited line by line and `sysrc -n` drops a trailing one"
            }
            Self::Control => {
                "it holds a control character (only tab is taken), which no rc.conf setting expects"
            }
            Self::EchoOption => {
                "`sysrc -n` prints it with sh's echo, which takes `-n` or `-e` alone for an option"
            }
        }
    }
}

/// Why `value` cannot be an rc.conf value f3s writes, if it cannot. Everything else can: the
/// FreeBSD dialect escapes what sh would interpret.
pub fn unwritable(value: &[u8]) -> Option<Unwritable> {
    if value == b"-n" || value == b"-e" {
        return Some(Unwritable::EchoOption);
    }
    value.iter().find_map(|&byte| match byte {
        0 => Some(Unwritable::Nul),
        b'\n' => Some(Unwritable::LineBreak),
        b'\t' => None,
        0x01..=0x1f | 0x7f => Some(Unwritable::Control),
        _ => None,
    })
}

/// The diagnostic at the value's line; it names the variable and the kind of fault, and shows
/// the value only when it is not sensitive.
fn unwritable_error(name: &str, value: &Rendered, fault: Unwritable) -> CompileError {
    let label = if value.sensitive {
        "renders to a value that is (sensitive)".to_string()
    } else {
        format!("renders to {:?}", value.value)
    };
    let kind = CompileErrorKind::UnwritableRcValue {
        name: name.to_string(),
        reason: fault.reason().to_string(),
    };
    CompileError::new(kind, &value.origin, label)
}

impl Kind for Sysrc {
    fn probes(&self) -> Vec<Probe> {
        // A variable that goes is never shown: whether it is set is all that counts.
        let reveal = match &self.value {
            Some(value) if !value.is_sensitive() => Reveal::Text,
            _ => Reveal::DigestOnly,
        };
        vec![Probe::RcVar {
            name: self.name.clone(),
            reveal,
        }]
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        let current = view.state.rc_conf.get(&self.name);
        let Some(value) = &self.value else {
            return Ok(match current {
                None => Decision::default(),
                // Its value was read as a digest (it may be a secret the inventory no longer
                // says is one), so it is not shown.
                Some(_) => Decision {
                    ops: vec![Op::UnsetRcVar {
                        name: self.name.clone(),
                    }],
                    changes: vec![AttributeChange::new("value", "(set)", "(unset)")],
                    removes: true,
                    ..Decision::default()
                },
            });
        };
        if current.is_some_and(|current| current.matches(value)) {
            return Ok(Decision::default());
        }
        let before = current.map_or_else(|| "(unset)".to_string(), |value| value.shown());
        Ok(Decision {
            ops: vec![Op::SetRcVar {
                name: self.name.clone(),
                value: value.clone(),
            }],
            changes: vec![AttributeChange::new("value", before, value.shown())],
            creates: current.is_none(),
            ..Decision::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_cannot_read_back_or_is_surely_a_mistake_is_refused() {
        for fine in [
            "pa$$w0rd",
            "$(touch /tmp/x)",
            "`id`",
            "a \"b\" \\ 'c'",
            "tab\there",
            "ünïcödé",
            "",
            "-n -e",
        ] {
            assert_eq!(unwritable(fine.as_bytes()), None, "{fine:?}");
        }
        assert_eq!(unwritable(b"a\0b"), Some(Unwritable::Nul));
        assert_eq!(unwritable(b"a\nb"), Some(Unwritable::LineBreak));
        assert_eq!(unwritable(b"pass\r"), Some(Unwritable::Control));
        assert_eq!(unwritable(b"\x1b[2J"), Some(Unwritable::Control));
        assert_eq!(unwritable(b"\x7f"), Some(Unwritable::Control));
        assert_eq!(unwritable(b"-n"), Some(Unwritable::EchoOption));
        assert_eq!(unwritable(b"-e"), Some(Unwritable::EchoOption));
    }
}
