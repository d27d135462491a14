//! What `line` and `block` share: editing part of a file whose other content is left as is.
//! The edit runs on the predicted content, so several edits of one file see each other.

use super::kind::{Claim, ContentChange, Decision, Implied, Kind, View};
use super::ownership;
use crate::check_command::CheckCommand;
use crate::op::Op;
use crate::probe::{Probe, Reveal};
use crate::sensitive::{Observed, Text};

/// A kind that edits part of one file (`line`, `block`). Each is a `Kind` the same way, by
/// the impl below: what differs is only the edit.
pub trait PartOfFile {
    fn path(&self) -> &str;
    fn validate(&self) -> &Option<CheckCommand>;
    /// The new text from the current one (`None`: the file is absent), or `None` when the
    /// file already reads as wanted.
    fn edit(&self, current: Option<&str>) -> Option<String>;
    /// Whether an absent file already is as wanted (it must not hold something).
    fn absent_is_wanted(&self) -> bool {
        false
    }
}

impl<T: PartOfFile> Kind for T {
    fn probes(&self) -> Vec<Probe> {
        probe(self.path())
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        if self.absent_is_wanted() && !view.state.files.contains_key(self.path()) {
            return Ok(Decision::default());
        }
        decide(self.path(), self.validate(), view, |current| {
            self.edit(current)
        })
    }

    fn implied(&self) -> Vec<Implied> {
        // An edit that only takes something out needs nothing of the file's directory.
        if self.absent_is_wanted() {
            return Vec::new();
        }
        vec![Implied::ParentOf(self.path().to_string())]
    }

    fn claim(&self) -> Option<Claim<'_>> {
        Some(Claim::Edit(self.path()))
    }
}

pub fn probe(path: &str) -> Vec<Probe> {
    vec![Probe::Path {
        path: path.to_string(),
        reveal: Reveal::Text,
    }]
}

/// `edit` gets the current text (`None` when the file is absent) and returns the new text, or
/// `None` when nothing needs to change; `validate` checks the whole edited file on the host.
pub fn decide(
    path: &str,
    validate: &Option<CheckCommand>,
    view: &View,
    edit: impl Fn(Option<&str>) -> Option<String>,
) -> Result<Decision, String> {
    let current = view.state.files.get(path);
    let text = match current.map(|file| &file.content) {
        None => None,
        Some(Observed::Plain(text)) => Some(text.as_str()),
        Some(Observed::Hidden(_)) => {
            return Err(format!("{path} is sensitive; edit it as a whole `file`"));
        }
        Some(Observed::KnownAfterApply) => {
            return Err(format!(
                "{path} is only known after apply; edit it in a later run"
            ));
        }
    };
    if view.state.directories.contains_key(path) {
        return Err(format!("{path} is a directory"));
    }
    let Some(new_text) = edit(text.as_deref()) else {
        return Ok(Decision::default());
    };
    let mut decision = Decision {
        creates: current.is_none(),
        ..Decision::default()
    };
    let ownership = match current {
        Some(file) => file.ownership(),
        None => {
            let fresh = ownership::Wanted::default().for_new("0644", view.os);
            decision.changes = ownership::created(&fresh);
            fresh
        }
    };
    // One value for the plan's diff, the prediction and the write.
    let content = Text::plain(new_text);
    decision.content = Some(ContentChange {
        path: path.to_string(),
        before: current.map(|file| file.content.clone()),
        after: Observed::from_text(&content),
    });
    decision.ops.push(Op::WriteFile {
        path: path.to_string(),
        content,
        ownership,
        create_only: false,
        validate: validate.clone(),
    });
    Ok(decision)
}

/// Whether two lines are the same but for white space: each run of it one space and none at
/// their ends, as a line written by hand (tabs turned into spaces, trailing blanks) and a
/// module's line share. Compared word by word, without a copy: a file edited a thousand
/// times in one plan is searched a thousand times.
pub fn same_but_space(a: &str, b: &str) -> bool {
    a == b
        || ascii_same_but_space(a.as_bytes(), b.as_bytes())
            .unwrap_or_else(|| a.split_whitespace().eq(b.split_whitespace()))
}

/// `same_but_space` byte by byte while both lines are ASCII, where white space is the six
/// ASCII characters `char::is_whitespace` counts; `None` once a byte beyond ASCII is met
/// before the answer is known (it may be white space of Unicode's). A thousand lines of one
/// file compared with each of a thousand edits: most differ within their first word.
fn ascii_same_but_space(a: &[u8], b: &[u8]) -> Option<bool> {
    let space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let (mut i, mut j) = (0, 0);
    loop {
        while a.get(i).is_some_and(space) {
            i += 1;
        }
        while b.get(j).is_some_and(space) {
            j += 1;
        }
        if i == a.len() && j == b.len() {
            return Some(true);
        }
        // One word of each, compared to where either ends.
        loop {
            match (
                a.get(i).filter(|c| !space(c)),
                b.get(j).filter(|c| !space(c)),
            ) {
                (None, None) => break,
                (Some(x), _) if !x.is_ascii() => return None,
                (_, Some(y)) if !y.is_ascii() => return None,
                (Some(x), Some(y)) if x == y => {
                    i += 1;
                    j += 1;
                }
                _ => return Some(false),
            }
        }
    }
}

/// Where `run` stands in `lines` as consecutive lines, each the same but for white space:
/// the index of its first line. An empty run is found nowhere.
pub fn find_run(lines: &[&str], run: &[&str]) -> Option<usize> {
    if run.is_empty() || run.len() > lines.len() {
        return None;
    }
    (0..=lines.len() - run.len()).find(|&at| {
        lines[at..at + run.len()]
            .iter()
            .zip(run)
            .all(|(line, wanted)| same_but_space(line, wanted))
    })
}

pub fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

/// Joins lines back, always ending with a newline (as config files do).
pub fn join(lines: &[&str]) -> String {
    let mut text = lines.join("\n");
    if !lines.is_empty() {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-wise comparison answers as the word-wise one does, Unicode's white space too.
    #[test]
    fn same_but_space_agrees_with_comparing_words() {
        let lines = [
            "",
            " ",
            "a",
            "a b",
            "a  b",
            "\ta b \r",
            "ab",
            "a b c",
            "a\u{b}b",
            "a\u{3000}b",
            "a\u{85}b",
            "é b",
            "a é",
            "a\u{a0}b",
            "setting_1 = value 1",
            "setting_12 = value 12",
        ];
        for a in lines {
            for b in lines {
                assert_eq!(
                    same_but_space(a, b),
                    a.split_whitespace().eq(b.split_whitespace()),
                    "{a:?} and {b:?}"
                );
            }
        }
    }
}
