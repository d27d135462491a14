//! What `line` and `block` share: editing part of a file whose other content is left as is.
//! The edit runs on the predicted content, so several edits of one file see each other.

use crate::check_command::CheckCommand;
use crate::op::Op;
use crate::probe::{Probe, Reveal};
use crate::resource::{ContentChange, Decision, View, ownership};
use crate::sensitive::{Observed, Text};

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
    let Some(new_text) = edit(text) else {
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
    decision.content = Some(ContentChange {
        path: path.to_string(),
        before: current.map(|file| file.content.clone()),
        after: Observed::Plain(new_text.clone()),
    });
    decision.ops.push(Op::WriteFile {
        path: path.to_string(),
        content: Text::plain(new_text),
        ownership,
        create_only: false,
        validate: validate.clone(),
    });
    Ok(decision)
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
