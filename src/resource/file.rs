//! `file`: a whole file with its content given inline, rendered from a template, copied from
//! another host, or (with none of these) merely present; plus mode, owner and group. With
//! `state: absent`, no file at the path (the one removed is kept as a backup on the host).

use super::kind::{AttributeChange, Claim, ContentChange, Decision, Implied, Kind, View};
use super::ownership::{self, Wanted};
use crate::check_command::CheckCommand;
use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::module::attrs::{Attrs, Rendered};
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::{Probe, Reveal};
use crate::sensitive::{Observed, Text};

pub const ATTRIBUTES: &[&str] = &[
    "content",
    "template",
    "source",
    "sensitive",
    "mode",
    "owner",
    "group",
    "validate",
    "state",
];

#[derive(Debug, Clone)]
pub enum Content {
    Text(Text),
    Copy { host: String, path: String },
}

#[derive(Debug, Clone)]
pub struct File {
    pub path: String,
    pub content: Option<Content>,
    pub sensitive: bool,
    pub wanted: Wanted,
    /// Checks the new content on the host before it replaces the old.
    pub validate: Option<CheckCommand>,
    pub present: bool,
}

impl File {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let path = attrs.required_name("file", NameKind::Path);
        if !attrs.present() {
            attrs.refuse_with_absent("file", ATTRIBUTES_OF_CONTENT);
            let path = path?;
            return Some((path.clone(), Self::absent(path)));
        }
        let given: Vec<&str> = ["content", "template", "source"]
            .into_iter()
            .filter(|name| attrs.has(name))
            .collect();
        if given.len() > 1 {
            let kind = CompileErrorKind::ConflictingAttributes {
                kind: "file".into(),
                names: given.iter().map(|name| name.to_string()).collect(),
            };
            attrs.errors.push(CompileError::new(
                kind,
                &attrs.origin.clone(),
                "in this resource",
            ));
        }
        let sensitive = attrs.bool("sensitive").unwrap_or(false);
        // Marked sensitive before it is kept anywhere: a sensitive value stays in memory.
        let text = |rendered: Rendered| {
            Content::Text(Text::new(rendered.value, sensitive || rendered.sensitive))
        };
        let content = match given.first().copied() {
            Some("content") => attrs.string("content").map(text),
            Some("template") => attrs.template("template").map(text),
            Some("source") => copy_source(attrs, path.as_deref()),
            _ => None,
        };
        let wanted = Wanted::parse(attrs);
        let validate = attrs.check_command();
        let path = path?;
        let spec = Self {
            path: path.clone(),
            content,
            sensitive,
            wanted,
            validate,
            present: true,
        };
        (given.is_empty() || spec.content.is_some()).then_some((path, spec))
    }

    /// No file at `path`.
    pub fn absent(path: String) -> Self {
        Self {
            path,
            content: None,
            sensitive: false,
            wanted: Wanted::default(),
            validate: None,
            present: false,
        }
    }

    /// What must be gone: a file there is removed, its content kept as a backup on the host.
    fn decide_absent(&self, view: &View) -> Result<Decision, String> {
        if view.state.directories.contains_key(&self.path) {
            return Err(format!(
                "{} is a directory; a `directory` with `state: absent` removes one",
                self.path
            ));
        }
        Ok(match view.state.files.get(&self.path) {
            None => Decision::default(),
            Some(_) => Decision {
                ops: vec![Op::RemoveFile {
                    path: self.path.clone(),
                }],
                changes: vec![AttributeChange::new("state", "present", "absent")],
                removes: true,
                ..Decision::default()
            },
        })
    }

    /// Only the digest of a secret; of a copy, only the digest too (it is compared, never
    /// shown: it is another host's file, which f3s cannot know to be harmless, such as a key
    /// file a module forgot to mark); the text of anything else, where it differs from what
    /// it should be (for the diff).
    fn reveal(&self) -> Reveal {
        match &self.content {
            _ if self.sensitive => Reveal::DigestOnly,
            Some(Content::Copy { .. }) => Reveal::Digest,
            Some(Content::Text(text)) if text.is_sensitive() => Reveal::DigestOnly,
            Some(Content::Text(text)) => Reveal::TextUnless(text.digest()),
            _ => Reveal::Text,
        }
    }

    /// The content the file must end up with, as far as it is known now.
    fn desired(&self, view: &View) -> Result<Option<Observed>, String> {
        Ok(match &self.content {
            None => None,
            Some(Content::Text(text)) => Some(Observed::from_text(text)),
            Some(Content::Copy { host, path, .. }) => {
                if view.pending.contains(&(host.clone(), path.clone())) {
                    Some(Observed::KnownAfterApply)
                } else {
                    let source = view.hosts.get(host).and_then(|state| state.files.get(path));
                    match source {
                        Some(file) => Some(file.content.hidden()),
                        None => {
                            return Err(format!(
                                "the source {host}:{path} does not exist, and nothing in this plan creates it"
                            ));
                        }
                    }
                }
            }
        })
    }

    fn write_op(&self, ownership: crate::host_state::Ownership) -> Op {
        let content = match &self.content {
            Some(Content::Copy { host, path, .. }) => {
                return Op::CopyFile {
                    source_host: host.clone(),
                    source_path: path.clone(),
                    path: self.path.clone(),
                    ownership,
                    create_only: false,
                    validate: self.validate.clone(),
                };
            }
            Some(Content::Text(text)) => text.clone(),
            None => Text::plain(""),
        };
        Op::WriteFile {
            path: self.path.clone(),
            content,
            ownership,
            create_only: false,
            validate: self.validate.clone(),
        }
    }
}

/// What says what a file holds or how: meaningless for one that must be gone.
const ATTRIBUTES_OF_CONTENT: &[&str] = &[
    "content", "template", "source", "mode", "owner", "group", "validate",
];

fn copy_source(attrs: &mut Attrs, own_path: Option<&str>) -> Option<Content> {
    let entries = attrs.string_map("source")?;
    let mut host = None;
    let mut path = own_path.map(str::to_string);
    for (key, value) in entries {
        match key.as_str() {
            "host" => host = attrs.checked(value, NameKind::HostName),
            "path" => path = attrs.checked(value, NameKind::Path),
            other => {
                let kind = CompileErrorKind::UnknownAttribute {
                    kind: "file source".into(),
                    name: other.into(),
                    known: vec!["host".into(), "path".into()],
                };
                attrs
                    .errors
                    .push(CompileError::new(kind, &value.origin, "unknown"));
            }
        }
    }
    if host.is_none() {
        attrs.missing("source.host");
    }
    Some(Content::Copy {
        host: host?,
        path: path?,
    })
}

impl Kind for File {
    fn probes(&self) -> Vec<Probe> {
        // A file that goes is not read: that it is there is all that counts.
        let reveal = if self.present {
            self.reveal()
        } else {
            Reveal::Digest
        };
        vec![Probe::Path {
            path: self.path.clone(),
            reveal,
        }]
    }

    fn remote_probes(&self) -> Vec<(String, Probe)> {
        match &self.content {
            Some(Content::Copy { host, path, .. }) => vec![(
                host.clone(),
                Probe::Path {
                    path: path.clone(),
                    reveal: self.reveal(),
                },
            )],
            _ => Vec::new(),
        }
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        if !self.present {
            return self.decide_absent(view);
        }
        let mut decision = Decision::default();
        let Some(current) = view.state.files.get(&self.path) else {
            let ownership = self.wanted.for_new("0644", view.os);
            let after = self
                .desired(view)?
                .unwrap_or_else(|| Observed::Plain("".into()));
            if view.state.directories.contains_key(&self.path) {
                decision.ops.push(Op::RemovePath {
                    path: self.path.clone(),
                });
                decision
                    .changes
                    .push(AttributeChange::new("type", "directory", "file"));
            }
            decision.ops.push(self.write_op(ownership.clone()));
            decision.changes.extend(ownership::created(&ownership));
            decision.content = Some(ContentChange {
                path: self.path.clone(),
                before: None,
                after,
            });
            decision.creates = true;
            return Ok(decision);
        };
        let ownership = self.wanted.applied_to(&current.ownership());
        // A given text is compared by its digest alone: the text itself may be in the run's
        // store, and is read back only to show a diff.
        let differs = match &self.content {
            Some(Content::Text(text)) if current.content.matches(text) => None,
            _ => self
                .desired(view)?
                .filter(|after| !current.content.same_as(after)),
        };
        match differs {
            Some(after) => {
                decision.ops.push(self.write_op(ownership));
                decision.content = Some(ContentChange {
                    path: self.path.clone(),
                    before: Some(current.content.clone()),
                    after,
                });
                decision
                    .changes
                    .extend(self.wanted.changes(&current.ownership()));
            }
            None => {
                decision.changes = self.wanted.changes(&current.ownership());
                if !decision.changes.is_empty() {
                    decision.ops.push(Op::SetOwnership {
                        path: self.path.clone(),
                        ownership,
                    });
                }
            }
        }
        Ok(decision)
    }

    fn implied(&self) -> Vec<Implied> {
        // A file that goes needs nothing of its directory.
        if !self.present {
            return Vec::new();
        }
        let mut implied = vec![Implied::ParentOf(self.path.clone())];
        if let Some(Content::Copy { host, path, .. }) = &self.content {
            implied.push(Implied::RemotePath {
                host: host.clone(),
                path: path.clone(),
            });
        }
        implied
    }

    fn claim(&self) -> Option<Claim<'_>> {
        // One that goes claims the whole file as one that sets it does.
        Some(match (&self.content, self.present) {
            (None, true) => Claim::Exists(&self.path),
            _ => Claim::Whole(&self.path),
        })
    }
}
