//! `block`: a managed block of lines between marker comments (as the devd.conf notify
//! snippet needs), replaced in place when it differs and appended when missing; with `state:
//! absent`, taken out, markers and all (and an unmarked copy of the given content with it).

use super::edit::{self, PartOfFile};
use crate::check_command::CheckCommand;
use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::module::attrs::{Attrs, Rendered};
use crate::names::NameKind;
use crate::values::ValueKind;

pub const ATTRIBUTES: &[&str] = &[
    "path", "content", "template", "comment", "validate", "state",
];

#[derive(Debug, Clone)]
pub struct Block {
    pub name: String,
    pub path: String,
    pub content: String,
    /// What starts a comment in the file; the markers are comments.
    pub comment: String,
    /// Checks the edited file on the host before it replaces the old.
    pub validate: Option<CheckCommand>,
    pub present: bool,
}

impl Block {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let name = attrs.required_value("block", ValueKind::Label);
        let path = attrs.required_name("path", NameKind::Path);
        let present = attrs.present();
        let content = if attrs.has("template") {
            attrs.template("template")
        } else if present || attrs.has("content") {
            attrs.required_string("content")
        } else {
            Some(Rendered {
                value: String::new(),
                sensitive: false,
                origin: attrs.origin.clone(),
            })
        };
        let comment = match attrs.string("comment") {
            Some(given) => attrs.checked_value(given, ValueKind::CommentMarker),
            None => Some("#".into()),
        };
        let validate = attrs.check_command();
        let (name, comment, content) = (name?, comment?, content?);
        let block = Self {
            name,
            path: path?,
            content: content.value,
            comment,
            validate,
            present,
        };
        // A content line equal to a marker would end (or restart) the block when the file is
        // read back, and every run would append the block again.
        let (begin, end) = block.markers();
        if block
            .content
            .lines()
            .any(|line| line == begin || line == end)
        {
            let kind = CompileErrorKind::MarkerInContent;
            attrs
                .errors
                .push(CompileError::new(kind, &content.origin, "this content"));
            return None;
        }
        Some((block.name.clone(), block))
    }

    fn markers(&self) -> (String, String) {
        (
            format!("{} BEGIN f3s {}", self.comment, self.name),
            format!("{} END f3s {}", self.comment, self.name),
        )
    }
}

impl Block {
    /// Where the block stands between its markers in `lines`: the begin and end markers'
    /// indices.
    fn marked(&self, lines: &[&str]) -> Option<(usize, usize)> {
        let (begin, end) = self.markers();
        let start = lines.iter().position(|line| *line == begin)?;
        let stop = lines[start..].iter().position(|line| *line == end)?;
        Some((start, start + stop))
    }

    /// The text without this block (between its markers, or an unmarked copy of its
    /// content), or `None` if it has none.
    fn without(&self, current: &str) -> Option<String> {
        let lines = edit::lines(current);
        let (from, to) = match self.marked(&lines) {
            Some((start, stop)) => (start, stop + 1),
            None => {
                let content = edit::lines(&self.content);
                let at = edit::find_run(&lines, &content)?;
                (at, at + content.len())
            }
        };
        Some(edit::join(&[&lines[..from], &lines[to..]].concat()))
    }
}

impl PartOfFile for Block {
    fn path(&self) -> &str {
        &self.path
    }

    fn validate(&self) -> &Option<CheckCommand> {
        &self.validate
    }

    fn absent_is_wanted(&self) -> bool {
        !self.present
    }

    fn edit(&self, current: Option<&str>) -> Option<String> {
        if !self.present {
            return self.without(current.unwrap_or(""));
        }
        let (begin, end) = self.markers();
        let lines = edit::lines(current.unwrap_or(""));
        let mut wanted: Vec<&str> = vec![&begin];
        wanted.extend(self.content.lines());
        wanted.push(&end);
        let edited: Vec<&str> = match self.marked(&lines) {
            Some((start, stop)) => {
                if lines[start..=stop] == wanted[..] {
                    return None;
                }
                [&lines[..start], &wanted[..], &lines[stop + 1..]].concat()
            }
            // No markers: a copy the admin wrote by hand (the post appends devd's block with
            // `tee -a`) is adopted where it stands, never added again. devd runs only the
            // first statement matching an event, so a second copy would be dead.
            _ => match edit::find_run(&lines, &wanted[1..wanted.len() - 1]) {
                Some(at) => {
                    let found = wanted.len() - 2;
                    [&lines[..at], &wanted[..], &lines[at + found..]].concat()
                }
                None => [&lines[..], &wanted[..]].concat(),
            },
        };
        Some(edit::join(&edited))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(content: &str) -> Block {
        Block {
            name: "carp".into(),
            path: "/etc/devd.conf".into(),
            content: content.into(),
            comment: "#".into(),
            validate: None,
            present: true,
        }
    }

    /// An absent block goes with its markers, or, written by hand without them, as its
    /// content; the rest of the file stays.
    #[test]
    fn an_absent_block_goes_and_the_rest_stays() {
        let gone = Block {
            present: false,
            ..block(DEVD)
        };
        let marked = format!("options {{}};\n# BEGIN f3s carp\n{DEVD}\n# END f3s carp\n# mine\n");
        let edited = gone.edit(Some(&marked)).unwrap();
        assert_eq!(edited, "options {};\n# mine\n");
        assert_eq!(gone.edit(Some(&edited)), None, "then it is gone");
        let hand = format!("options {{}};\n{}\n# mine\n", DEVD.replace('\t', " "));
        assert_eq!(
            gone.edit(Some(&hand)).as_deref(),
            Some("options {};\n# mine\n")
        );
    }

    #[test]
    fn appends_with_markers() {
        let edited = block("notify 0 {\n};").edit(Some("options {};\n")).unwrap();
        assert_eq!(
            edited,
            "options {};\n# BEGIN f3s carp\nnotify 0 {\n};\n# END f3s carp\n"
        );
        assert_eq!(block("notify 0 {\n};").edit(Some(&edited)), None);
    }

    const DEVD: &str = "notify 0 {\n\tmatch \"system\" \"CARP\";\n\taction \"/usr/local/bin/carpcontrol.sh $subsystem $type\";\n};";

    /// The post appends devd's block by hand (`tee -a`), without markers: it is adopted where
    /// it stands, markers around it, and no second copy is added; the same when the hand
    /// copy has spaces where the module has tabs.
    #[test]
    fn a_hand_written_copy_is_adopted_not_added_again() {
        let wanted = block(DEVD);
        for hand in [DEVD.to_string(), DEVD.replace('\t', " ")] {
            let current = format!("options {{}};\n{hand}\n# the admin's own\n");
            let edited = wanted.edit(Some(&current)).unwrap();
            assert_eq!(
                edited,
                format!(
                    "options {{}};\n# BEGIN f3s carp\n{DEVD}\n# END f3s carp\n# the admin's own\n"
                )
            );
            assert_eq!(edited.matches("notify 0").count(), 1, "{edited}");
            assert_eq!(wanted.edit(Some(&edited)), None, "converged");
        }
    }

    #[test]
    fn replaces_only_between_markers() {
        let current = "a\n# BEGIN f3s carp\nold\n# END f3s carp\nz\n";
        let edited = block("new").edit(Some(current)).unwrap();
        assert_eq!(edited, "a\n# BEGIN f3s carp\nnew\n# END f3s carp\nz\n");
    }
}
