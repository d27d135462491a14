//! `secret`: a file of random bytes (a ZFS raw key) that several hosts hold the same copy
//! of. It is generated once, on one host, only when no holder has it; a missing copy is
//! copied from a holder that has it; it is never regenerated while any copy exists, and
//! copies that differ are an error for the admin, never something to "fix".

use super::kind::{Claim, ContentChange, Decision, Implied, Kind, View};
use super::ownership::{self, Wanted};
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::op::Op;
use crate::probe::{Probe, Reveal};
use crate::sensitive::Observed;

pub const ATTRIBUTES: &[&str] = &["holders", "generate_on", "size", "mode", "owner", "group"];

#[derive(Debug, Clone)]
pub struct Secret {
    pub path: String,
    /// This resource's own host; it holds a copy too.
    pub host: String,
    /// The other hosts holding copies, in the order they are asked for one.
    pub peers: Vec<String>,
    /// Where it is generated when no copy exists anywhere.
    pub generate_on: String,
    pub size: usize,
    pub wanted: Wanted,
}

impl Secret {
    pub fn parse(attrs: &mut Attrs, host: &str) -> Option<(String, Self)> {
        let path = attrs.required_name("secret", NameKind::Path);
        let holders: Vec<String> = attrs
            .list("holders")
            .into_iter()
            .filter_map(|holder| attrs.checked(holder, NameKind::HostName))
            .collect();
        let generate_on = attrs
            .name("generate_on", NameKind::HostName)
            .or_else(|| holders.first().cloned())
            .unwrap_or_else(|| host.to_string());
        let size = attrs.number("size", 32, 1..=4096) as usize;
        let wanted = Wanted::parse(attrs);
        let path = path?;
        let mut peers: Vec<String> = holders.into_iter().filter(|h| h != host).collect();
        if generate_on != host && !peers.contains(&generate_on) {
            peers.push(generate_on.clone());
        }
        Some((
            path.clone(),
            Self {
                path,
                host: host.to_string(),
                peers,
                generate_on,
                size,
                wanted,
            },
        ))
    }

    fn probe(&self) -> Probe {
        Probe::Path {
            path: self.path.clone(),
            reveal: Reveal::DigestOnly,
        }
    }

    /// Every host's copy as far as this plan knows it, own host first.
    fn copies<'v>(&self, view: &'v View) -> Vec<(&'v str, &'v Observed)> {
        std::iter::once(self.host.as_str())
            .chain(self.peers.iter().map(String::as_str))
            .filter_map(|host| {
                let (name, state) = view.hosts.get_key_value(host)?;
                let file = state.files.get(&self.path)?;
                Some((name.as_str(), &file.content))
            })
            .collect()
    }
}

impl Kind for Secret {
    fn probes(&self) -> Vec<Probe> {
        vec![self.probe()]
    }

    fn remote_probes(&self) -> Vec<(String, Probe)> {
        self.peers
            .iter()
            .map(|peer| (peer.clone(), self.probe()))
            .collect()
    }

    fn decide(&self, view: &View) -> Result<Decision, String> {
        let copies = self.copies(view);
        let known: Vec<&(&str, &Observed)> = copies
            .iter()
            .filter(|(_, content)| **content != Observed::KnownAfterApply)
            .collect();
        if let Some((first_host, first)) = known.first()
            && let Some((other_host, other)) = known.iter().find(|(_, c)| !c.same_as(first))
        {
            return Err(format!(
                "the copies of {} differ: {first_host} holds {}, {other_host} holds {}. \
                 f3s will not choose one: find out which key the datasets use, put that one \
                 on every holder, and plan again",
                self.path,
                first.shown(),
                other.shown()
            ));
        }
        let mut decision = Decision::default();
        if let Some(current) = view.state.files.get(&self.path) {
            let changes = self.wanted.changes(&current.ownership());
            if !changes.is_empty() {
                decision.ops.push(Op::SetOwnership {
                    path: self.path.clone(),
                    ownership: self.wanted.applied_to(&current.ownership()),
                });
            }
            decision.changes = changes;
            return Ok(decision);
        }
        let ownership = self.wanted.for_new("0400", view.os);
        // Copy from a holder that has it now, or else from where it is generated in this
        // plan (the graph orders that first); never from another copy still to be made.
        let source = known.first().copied().or_else(|| {
            copies
                .iter()
                .find(|(holder, _)| *holder == self.generate_on)
        });
        let (op, after) = match source {
            Some((holder, content)) => (
                Op::CopyFile {
                    source_host: holder.to_string(),
                    source_path: self.path.clone(),
                    path: self.path.clone(),
                    ownership: ownership.clone(),
                    create_only: true,
                    validate: None,
                },
                (*content).clone(),
            ),
            None if self.generate_on == self.host => (
                Op::GenerateSecret {
                    path: self.path.clone(),
                    size: self.size,
                    ownership: ownership.clone(),
                },
                Observed::KnownAfterApply,
            ),
            None => {
                return Err(format!(
                    "no holder has {} and {} generates it, but nothing in this plan does \
                     there (is {} in scope and given this secret?)",
                    self.path, self.generate_on, self.generate_on
                ));
            }
        };
        decision.ops.push(op);
        decision.changes = ownership::created(&ownership);
        decision.content = Some(ContentChange {
            path: self.path.clone(),
            before: None,
            after: match after {
                Observed::KnownAfterApply => Observed::KnownAfterApply,
                known => known.hidden(),
            },
        });
        decision.creates = true;
        Ok(decision)
    }

    fn implied(&self) -> Vec<Implied> {
        let mut implied = vec![Implied::ParentOf(self.path.clone())];
        // Copies wait for the generating host, so a fresh secret exists before it is copied.
        if self.generate_on != self.host {
            implied.push(Implied::RemotePath {
                host: self.generate_on.clone(),
                path: self.path.clone(),
            });
        }
        implied
    }

    fn claim(&self) -> Option<Claim<'_>> {
        Some(Claim::Whole(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::host_state::{FileState, HostState};
    use crate::inventory::host::OsFamily;

    fn key(host: &str) -> Secret {
        Secret {
            path: "/keys/f0.lan.buetow.org:zdata.key".into(),
            host: host.into(),
            peers: ["f0", "f1", "f2"]
                .into_iter()
                .filter(|h| *h != host)
                .map(String::from)
                .collect(),
            generate_on: "f0".into(),
            size: 32,
            wanted: Wanted::default(),
        }
    }

    fn holding(bytes: &[u8]) -> HostState {
        let mut state = HostState::default();
        let file = FileState {
            content: Observed::of(bytes, true),
            mode: "0400".into(),
            owner: "root".into(),
            group: "wheel".into(),
        };
        state
            .files
            .insert("/keys/f0.lan.buetow.org:zdata.key".into(), file);
        state
    }

    fn decide(secret: &Secret, hosts: &BTreeMap<String, HostState>) -> Result<Decision, String> {
        let view = View {
            os: OsFamily::Freebsd,
            now: 0,
            state: &hosts[&secret.host],
            hosts,
            pending: &BTreeSet::new(),
        };
        secret.decide(&view)
    }

    #[test]
    fn generated_only_where_asked_when_no_copy_exists() {
        let hosts: BTreeMap<String, HostState> = ["f0", "f1", "f2"]
            .map(|h| (h.to_string(), HostState::default()))
            .into();
        let ops = decide(&key("f0"), &hosts).unwrap().ops;
        assert!(matches!(ops[..], [Op::GenerateSecret { size: 32, .. }]));
        assert!(decide(&key("f1"), &hosts).is_err(), "f1 waits for f0");
    }

    #[test]
    fn a_missing_copy_is_copied_from_a_holder_never_generated() {
        let hosts: BTreeMap<String, HostState> = [
            ("f0".to_string(), HostState::default()),
            ("f1".to_string(), HostState::default()),
            ("f2".to_string(), holding(b"k")),
        ]
        .into();
        let ops = decide(&key("f0"), &hosts).unwrap().ops;
        match &ops[..] {
            [
                Op::CopyFile {
                    source_host,
                    create_only: true,
                    ..
                },
            ] => assert_eq!(source_host, "f2"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn differing_copies_stop_the_plan() {
        let hosts: BTreeMap<String, HostState> = [
            ("f0".to_string(), holding(b"key-bytes-A")),
            ("f1".to_string(), holding(b"key-bytes-A")),
            ("f2".to_string(), holding(b"key-bytes-B")),
        ]
        .into();
        let error = decide(&key("f1"), &hosts).unwrap_err();
        assert!(error.contains("differ"), "{error}");
        assert!(error.contains("f2"), "{error}");
        assert!(!error.contains("key-bytes"), "only digests: {error}");
    }
}
