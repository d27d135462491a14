//! `line`: one line present in (or absent from) a file, optionally replacing the line that
//! matches a pattern; the rest of the file is left alone.

use regex::Regex;

use super::edit::{self, PartOfFile};
use crate::check_command::CheckCommand;
use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::values::ValueKind;

pub const ATTRIBUTES: &[&str] = &["path", "text", "match", "state", "validate"];

#[derive(Debug, Clone)]
pub struct Line {
    pub path: String,
    pub text: String,
    /// Lines this one replaces (when present) or that are removed (when absent).
    pub pattern: Option<Regex>,
    pub present: bool,
    /// Checks the edited file on the host before it replaces the old.
    pub validate: Option<CheckCommand>,
}

impl Line {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let name = attrs.required_value("line", ValueKind::Label);
        let path = attrs.required_name("path", NameKind::Path);
        let text = attrs.required_value("text", ValueKind::LineText);
        let pattern = attrs
            .string("match")
            .and_then(|pattern| match Regex::new(&pattern.value) {
                Ok(regex) => Some(regex),
                Err(error) => {
                    let kind = CompileErrorKind::WrongType {
                        expected: "a regular expression".into(),
                        found: error.to_string(),
                    };
                    attrs
                        .errors
                        .push(CompileError::new(kind, &pattern.origin, "invalid pattern"));
                    None
                }
            });
        let present = attrs.choice("state", &["present", "absent"]) != Some("absent");
        let validate = attrs.check_command();
        Some((
            name?,
            Self {
                path: path?,
                text: text?,
                pattern,
                present,
                validate,
            },
        ))
    }

    /// The line this resource sets: its text (but for white space, as a line written by hand
    /// may have it), or what `match` finds.
    fn is_target(&self, line: &str) -> bool {
        edit::same_but_space(line, &self.text)
            || self
                .pattern
                .as_ref()
                .is_some_and(|pattern| pattern.is_match(line))
    }
}

impl PartOfFile for Line {
    fn path(&self) -> &str {
        &self.path
    }

    fn validate(&self) -> &Option<CheckCommand> {
        &self.validate
    }

    /// A line that must not be there is not there in an absent file.
    fn absent_is_wanted(&self) -> bool {
        !self.present
    }

    fn edit(&self, current: Option<&str>) -> Option<String> {
        let current = current.unwrap_or("");
        if self.present && has_line(current, &self.text) {
            // The common case, found by one substring search rather than splitting the file:
            // a file with a thousand managed lines is checked a thousand times per plan.
            return None;
        }
        let mut lines = edit::lines(current);
        if self.present {
            match lines.iter().position(|line| self.is_target(line)) {
                Some(index) => lines[index] = &self.text,
                None => lines.push(&self.text),
            }
        } else {
            let before = lines.len();
            lines.retain(|line| !self.is_target(line));
            if lines.len() == before {
                return None;
            }
        }
        Some(edit::join(&lines))
    }
}

/// Whether `text` holds `line` as a whole line (as `str::lines` splits it).
fn has_line(text: &str, line: &str) -> bool {
    // memchr's finder: a thousand lines of one file searched per plan add up.
    let bytes = text.as_bytes();
    memchr::memmem::find_iter(bytes, line.as_bytes()).any(|at| {
        let rest = &bytes[at + line.len()..];
        (at == 0 || bytes[at - 1] == b'\n')
            && (rest.is_empty() || rest.starts_with(b"\n") || rest.starts_with(b"\r\n"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, pattern: Option<&str>, present: bool) -> Line {
        Line {
            path: "/etc/hosts".into(),
            text: text.into(),
            pattern: pattern.map(|p| Regex::new(p).unwrap()),
            present,
            validate: None,
        }
    }

    #[test]
    fn whole_lines_only_count_as_present() {
        assert!(has_line("a\nfoo\nb\n", "foo"));
        assert!(has_line("foo", "foo"));
        assert!(has_line("x\r\nfoo\r\n", "foo"));
        assert!(!has_line("a\nfoobar\n", "foo"));
        assert!(!has_line("a\nxfoo\n", "foo"));
        assert!(has_line("xfoo\nfoo\n", "foo"));
    }

    #[test]
    fn appends_a_missing_line_and_keeps_the_rest() {
        let edited = line("10.0.0.1 vip", None, true).edit(Some("127.0.0.1 localhost\n"));
        assert_eq!(
            edited.as_deref(),
            Some("127.0.0.1 localhost\n10.0.0.1 vip\n")
        );
    }

    /// A line written by hand with other spacing is the line, adopted (its spacing made the
    /// module's), never a second copy.
    #[test]
    fn a_line_spaced_otherwise_by_hand_is_adopted() {
        let wanted = line(
            "192.168.1.138 f3s-storage-ha f3s-storage-ha.lan",
            None,
            true,
        );
        let hand = "127.0.0.1 localhost\n192.168.1.138\tf3s-storage-ha  f3s-storage-ha.lan\n";
        let edited = wanted.edit(Some(hand)).unwrap();
        assert_eq!(
            edited,
            "127.0.0.1 localhost\n192.168.1.138 f3s-storage-ha f3s-storage-ha.lan\n"
        );
        assert_eq!(wanted.edit(Some(&edited)), None);
    }

    #[test]
    fn present_line_changes_nothing() {
        assert_eq!(line("a", None, true).edit(Some("x\na\n")), None);
    }

    #[test]
    fn replaces_the_matching_line_in_place() {
        let edited = line("10.0.0.2 vip", Some(r"\svip$"), true).edit(Some("x\n10.0.0.1 vip\ny\n"));
        assert_eq!(edited.as_deref(), Some("x\n10.0.0.2 vip\ny\n"));
    }

    #[test]
    fn absent_removes_every_match() {
        let edited = line("a", None, false).edit(Some("a\nb\na\n"));
        assert_eq!(edited.as_deref(), Some("b\n"));
        assert_eq!(line("z", None, false).edit(Some("a\n")), None);
    }
}
