//! `directory`: a directory that exists, with mode, owner and group; or, with `state:
//! absent`, none: an empty one is removed (`rmdir`), one that holds anything only as a
//! destructive change, refused unless allowed by name.

use super::kind::{AttributeChange, Decision, Implied, Kind, View};
use super::ownership::{self, Wanted};
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::{Probe, Reveal};

pub const ATTRIBUTES: &[&str] = &["mode", "owner", "group", "state"];

#[derive(Debug, Clone)]
pub struct Directory {
    pub path: String,
    pub wanted: Wanted,
    pub present: bool,
}

impl Directory {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let path = attrs.required_name("directory", NameKind::Path);
        let present = attrs.present();
        if !present {
            attrs.refuse_with_absent("directory", ownership::ATTRIBUTES);
        }
        let wanted = Wanted::parse(attrs);
        let path = path?;
        Some((
            path.clone(),
            Self {
                path,
                wanted,
                present,
            },
        ))
    }

    pub fn absent(path: String) -> Self {
        Self {
            path,
            wanted: Wanted::default(),
            present: false,
        }
    }

    fn decide_absent(&self, view: &View) -> Result<Decision, String> {
        if view.state.files.contains_key(&self.path) {
            return Err(format!(
                "{} is a file; a `file` with `state: absent` removes one",
                self.path
            ));
        }
        if !view.state.directories.contains_key(&self.path) {
            return Ok(Decision::default());
        }
        let mut decision = Decision {
            changes: vec![AttributeChange::new("state", "present", "absent")],
            removes: true,
            ..Decision::default()
        };
        if view.state.occupied.contains(&self.path) {
            decision.ops.push(Op::RemovePath {
                path: self.path.clone(),
            });
            decision.note = Some(format!(
                "{} is not empty: what is in it is removed with it",
                self.path
            ));
        } else {
            decision.ops.push(Op::RemoveDirectory {
                path: self.path.clone(),
            });
        }
        Ok(decision)
    }
}

impl Kind for Directory {
    fn probes(&self) -> Vec<Probe> {
        // The content of a file in the way is not needed, only that it is there.
        let mut probes = vec![Probe::Path {
            path: self.path.clone(),
            reveal: Reveal::Digest,
        }];
        if !self.present {
            probes.push(Probe::Occupied {
                path: self.path.clone(),
            });
        }
        probes
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        if !self.present {
            return self.decide_absent(view);
        }
        let mut decision = Decision::default();
        match view.state.directories.get(&self.path) {
            Some(current) => {
                decision.changes = self.wanted.changes(current);
                if !decision.changes.is_empty() {
                    decision.ops.push(Op::SetOwnership {
                        path: self.path.clone(),
                        ownership: self.wanted.applied_to(current),
                    });
                }
            }
            None => {
                if view.state.files.contains_key(&self.path) {
                    decision.ops.push(Op::RemovePath {
                        path: self.path.clone(),
                    });
                    decision
                        .changes
                        .push(AttributeChange::new("type", "file", "directory"));
                }
                let ownership = self.wanted.for_new("0755", view.os);
                decision.changes.extend(ownership::created(&ownership));
                decision.ops.push(Op::CreateDirectory {
                    path: self.path.clone(),
                    ownership,
                });
                decision.creates = true;
            }
        }
        Ok(decision)
    }

    fn implied(&self) -> Vec<Implied> {
        // One that goes needs nothing of its parent.
        if !self.present {
            return Vec::new();
        }
        vec![Implied::ParentOf(self.path.clone())]
    }
}
