//! The state of a host in the fixture format: what a transport observed (only what was
//! probed), what a recording holds (everything), and what the planner predicts after
//! operations. Secrets appear as digests only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::inventory::host::OsFamily;
use crate::op::Op;
use crate::probe::{Probe, Reveal};
use crate::sensitive::{Digest, Observed};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsFamily>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, FileState>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub directories: BTreeMap<String, Ownership>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rc_conf: BTreeMap<String, Observed>,
    /// Installed packages and their versions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub packages: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, ServiceState>,
}

/// Mode, owner and group of a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ownership {
    pub mode: String,
    pub owner: String,
    pub group: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileState {
    pub content: Observed,
    pub mode: String,
    pub owner: String,
    pub group: String,
}

impl FileState {
    pub fn ownership(&self) -> Ownership {
        Ownership {
            mode: self.mode.clone(),
            owner: self.owner.clone(),
            group: self.group.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceState {
    pub enabled: bool,
    pub running: bool,
}

impl HostState {
    /// The part of this (recorded) state that `probes` ask about, as a transport returns it.
    pub fn answer(&self, probes: &[Probe]) -> HostState {
        let mut answer = HostState {
            os: self.os,
            ..HostState::default()
        };
        for probe in probes {
            match probe {
                Probe::Path { path, reveal } => {
                    if let Some(file) = self.files.get(path) {
                        let mut file = file.clone();
                        if *reveal == Reveal::DigestOnly {
                            file.content = file.content.hidden();
                        }
                        answer.files.insert(path.clone(), file);
                    }
                    if let Some(dir) = self.directories.get(path) {
                        answer.directories.insert(path.clone(), dir.clone());
                    }
                }
                Probe::RcVar { name, reveal } => {
                    if let Some(value) = self.rc_conf.get(name) {
                        let value = match reveal {
                            Reveal::Text => value.clone(),
                            Reveal::DigestOnly => value.hidden(),
                        };
                        answer.rc_conf.insert(name.clone(), value);
                    }
                }
                Probe::Package { name } => {
                    if let Some(version) = self.packages.get(name) {
                        answer.packages.insert(name.clone(), version.clone());
                    }
                }
                Probe::Service { name } => {
                    answer.services.insert(
                        name.clone(),
                        self.services.get(name).copied().unwrap_or_default(),
                    );
                }
            }
        }
        answer
    }

    /// A stable digest of the state, for telling later whether a host drifted since a plan.
    pub fn fingerprint(&self) -> Digest {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        Digest::of(&canonical)
    }

    /// The state after `op` ran, as far as it can be known before it runs.
    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::WriteFile {
                path,
                content,
                ownership,
            } => {
                self.directories.remove(path);
                self.files
                    .insert(path.clone(), file(Observed::from_text(content), ownership));
            }
            Op::CopyFile {
                path, ownership, ..
            } => {
                self.directories.remove(path);
                self.files
                    .insert(path.clone(), file(Observed::KnownAfterApply, ownership));
            }
            Op::SetOwnership { path, ownership } => {
                if let Some(existing) = self.files.get_mut(path) {
                    *existing = file(existing.content.clone(), ownership);
                } else if let Some(dir) = self.directories.get_mut(path) {
                    *dir = ownership.clone();
                }
            }
            Op::CreateDirectory { path, ownership } => {
                self.files.remove(path);
                self.directories.insert(path.clone(), ownership.clone());
            }
            Op::RemovePath { path } => {
                self.files.remove(path);
                let inside = format!("{}/", path.trim_end_matches('/'));
                self.directories
                    .retain(|dir, _| dir != path && !dir.starts_with(&inside));
                self.files.retain(|file, _| !file.starts_with(&inside));
            }
            Op::SetRcVar { name, value } => {
                self.rc_conf
                    .insert(name.clone(), Observed::from_text(value));
            }
            Op::InstallPackage { name } => {
                self.packages
                    .insert(name.clone(), "(known after apply)".into());
            }
            Op::EnableService { name } => {
                self.services.entry(name.clone()).or_default().enabled = true
            }
            Op::DisableService { name } => {
                self.services.entry(name.clone()).or_default().enabled = false
            }
            Op::StartService { name } | Op::RefreshService { name, .. } => {
                self.services.entry(name.clone()).or_default().running = true;
            }
            Op::StopService { name } => {
                self.services.entry(name.clone()).or_default().running = false
            }
        }
    }
}

fn file(content: Observed, ownership: &Ownership) -> FileState {
    FileState {
        content,
        mode: ownership.mode.clone(),
        owner: ownership.owner.clone(),
        group: ownership.group.clone(),
    }
}
