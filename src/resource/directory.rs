//! `directory`: a directory that exists, with mode, owner and group.

use super::kind::{AttributeChange, Decision, Implied, Kind, View};
use super::ownership::{self, Wanted};
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::{Probe, Reveal};

pub const ATTRIBUTES: &[&str] = ownership::ATTRIBUTES;

#[derive(Debug, Clone)]
pub struct Directory {
    pub path: String,
    pub wanted: Wanted,
}

impl Directory {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let path = attrs.required_name("directory", NameKind::Path);
        let wanted = Wanted::parse(attrs);
        let path = path?;
        Some((path.clone(), Self { path, wanted }))
    }
}

impl Kind for Directory {
    fn probes(&self) -> Vec<Probe> {
        // The content of a file in the way is not needed, only that it is there.
        vec![Probe::Path {
            path: self.path.clone(),
            reveal: Reveal::Digest,
        }]
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
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
        vec![Implied::ParentOf(self.path.clone())]
    }
}
