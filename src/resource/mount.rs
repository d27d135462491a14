//! `mount`: a filesystem's fstab entry (the one line for its mount point; the rest of
//! /etc/fstab is left alone) and, unless told otherwise, the filesystem mounted now. With
//! `state: absent`: unmounted, and no fstab entry for the mount point.

use super::edit;
use super::kind::{AttributeChange, Claim, Decision, Implied, Kind, View};
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::Probe;
use crate::values::ValueKind;

pub const ATTRIBUTES: &[&str] = &[
    "device", "fstype", "options", "dump", "pass", "mounted", "state",
];

const FSTAB: &str = "/etc/fstab";

#[derive(Debug, Clone)]
pub struct Mount {
    pub path: String,
    pub device: String,
    pub fstype: String,
    /// The fstab line, fields separated by single spaces as the seed writes them. Every field
    /// was checked to hold no blank or escape, so the line splits back into the same six.
    pub entry: String,
    pub mounted: bool,
    pub present: bool,
}

impl Mount {
    pub fn parse(attrs: &mut Attrs) -> Option<(String, Self)> {
        let path = attrs.required_name("mount", NameKind::Path);
        if !attrs.present() {
            attrs.refuse_with_absent(
                "mount",
                &["device", "fstype", "options", "dump", "pass", "mounted"],
            );
            let path = path?;
            return Some((path.clone(), Self::absent(path)));
        }
        let device = attrs.required_value("device", ValueKind::FstabDevice);
        let fstype = attrs.required_value("fstype", ValueKind::FstabField);
        // A field that fails its check leaves the resource out (the fault is reported), so
        // the defaults below never stand in for a rejected value.
        let mut field = |name: &str, kind: ValueKind, default: &str| match attrs.string(name) {
            Some(given) => attrs.checked_value(given, kind),
            None => Some(default.to_string()),
        };
        let options = field("options", ValueKind::FstabField, "rw");
        let dump = field("dump", ValueKind::FstabNumber, "0");
        let pass = field("pass", ValueKind::FstabNumber, "0");
        let mounted = attrs.bool("mounted").unwrap_or(true);
        let (path, device, fstype) = (path?, device?, fstype?);
        let (options, dump, pass) = (options?, dump?, pass?);
        let entry = format!("{device} {path} {fstype} {options} {dump} {pass}");
        Some((
            path.clone(),
            Self {
                path,
                device,
                fstype,
                entry,
                mounted,
                present: true,
            },
        ))
    }

    /// Not mounted, and in no fstab entry.
    pub fn absent(path: String) -> Self {
        Self {
            path,
            device: String::new(),
            fstype: String::new(),
            entry: String::new(),
            mounted: false,
            present: false,
        }
    }

    fn decide_absent(&self, view: &View) -> Result<Decision, String> {
        let mut decision = edit::decide(FSTAB, &None, view, |text| {
            let lines = edit::lines(text?);
            let kept: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|line| !self.is_entry(line))
                .collect();
            (kept.len() < lines.len()).then(|| edit::join(&kept))
        })?;
        if view.state.mounts.contains_key(&self.path) {
            decision
                .changes
                .push(AttributeChange::new("mounted", "yes", "no"));
            decision.ops.insert(
                0,
                Op::Unmount {
                    path: self.path.clone(),
                },
            );
        }
        decision.removes = !decision.ops.is_empty();
        Ok(decision)
    }

    /// Whether an fstab line is the entry for this mount point.
    fn is_entry(&self, line: &str) -> bool {
        let line = line.trim_start();
        !line.starts_with('#') && line.split_whitespace().nth(1) == Some(self.path.as_str())
    }
}

impl Kind for Mount {
    fn probes(&self) -> Vec<Probe> {
        let mut probes = edit::probe(FSTAB);
        probes.push(Probe::Mount {
            path: self.path.clone(),
        });
        probes
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        if !self.present {
            return self.decide_absent(view);
        }
        let mut decision = edit::decide(FSTAB, &None, view, |text| {
            let lines = edit::lines(text.unwrap_or(""));
            let entries: Vec<&&str> = lines.iter().filter(|l| self.is_entry(l)).collect();
            if entries.len() == 1 && *entries[0] == self.entry {
                return None;
            }
            let mut kept: Vec<&str> = Vec::new();
            let mut placed = false;
            for line in &lines {
                if !self.is_entry(line) {
                    kept.push(line);
                } else if !placed {
                    kept.push(&self.entry);
                    placed = true;
                }
            }
            if !placed {
                kept.push(&self.entry);
            }
            Some(edit::join(&kept))
        })?;
        if !self.mounted {
            return Ok(decision);
        }
        match view.state.mounts.get(&self.path) {
            Some(mount) if mount.device == self.device => {}
            Some(mount) => {
                return Err(format!(
                    "{} has {} mounted, not {}; unmount it first",
                    self.path, mount.device, self.device
                ));
            }
            None => {
                decision
                    .changes
                    .push(AttributeChange::new("mounted", "no", "yes"));
                decision.ops.push(Op::Mount {
                    path: self.path.clone(),
                    device: self.device.clone(),
                    fstype: self.fstype.clone(),
                });
            }
        }
        Ok(decision)
    }

    fn implied(&self) -> Vec<Implied> {
        if !self.present {
            return Vec::new();
        }
        vec![
            Implied::ParentOf(format!("{}/.", self.path.trim_end_matches('/'))),
            Implied::Local {
                kind: "ufs",
                name: self.device.clone(),
            },
        ]
    }

    fn claim(&self) -> Option<Claim<'_>> {
        Some(Claim::Edit(FSTAB))
    }
}
