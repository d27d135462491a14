//! Probes: the read-only questions a resource kind asks about a host. Transports answer them
//! (the SSH transport in one remote script per host, the fixture transport from a recorded
//! state); the answers come back as a `HostState` holding just what was asked.

use serde::Serialize;

use crate::sensitive::{Digest, Observed};

/// Whether a probe may bring back a value's text, or only its digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reveal {
    /// The text, always (an edit needs what is around it).
    Text,
    /// The text only where the digest is not this one: a whole file's content is wanted for
    /// its diff, and there is none to show when it already holds what it should.
    TextUnless(Digest),
    /// Only the digest is needed (to compare a copy with its source, say). Asks nothing of
    /// its own: another probe of the same thing decides what comes back.
    Digest,
    /// Never the text: the value is secret.
    DigestOnly,
}

impl Reveal {
    /// What two resources probing the same thing both get: never more than either may see,
    /// and the text whenever either needs it.
    fn merge(&self, other: &Reveal) -> Reveal {
        match (self, other) {
            (Self::DigestOnly, _) | (_, Self::DigestOnly) => Self::DigestOnly,
            (Self::Digest, other) | (other, Self::Digest) => other.clone(),
            (Self::TextUnless(a), Self::TextUnless(b)) if a == b => Self::TextUnless(a.clone()),
            _ => Self::Text,
        }
    }

    /// What a host holding `value` shows to a probe with this reveal.
    pub fn apply_to(&self, value: &Observed) -> Observed {
        match self {
            Self::Text => value.clone(),
            Self::TextUnless(digest) if !value.holds(digest) => value.clone(),
            _ => value.hidden(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "probe", rename_all = "snake_case")]
pub enum Probe {
    /// What is at a path: file (with content), directory, or nothing.
    Path { path: String, reveal: Reveal },
    /// A variable of /etc/rc.conf (FreeBSD).
    RcVar { name: String, reveal: Reveal },
    /// An installed package and its version.
    Package { name: String },
    /// A service: enabled at boot, running now.
    Service { name: String },
    /// Whether a block device exists and what filesystem is on it (`fstyp`).
    Device { path: String },
    /// Whether a ZFS pool is imported, and its health.
    Pool { name: String },
    /// Whether something other than an empty directory is at a path (as `zpool create`
    /// checks the mountpoint of a new pool).
    Occupied { path: String },
    /// Some properties of a ZFS dataset, if it exists.
    Dataset {
        name: String,
        properties: Vec<String>,
    },
    /// What is mounted at a mount point.
    Mount { path: String },
    /// Whether a kernel module is loaded.
    KernelModule { name: String },
    /// A user's crontab.
    Crontab { user: String },
    /// Subject, issuer and expiry of an X.509 certificate file.
    Certificate { path: String },
}

impl Probe {
    /// The probe as `facts` asks it: a recording keeps a file's whole text, whatever it holds
    /// (secrets stay digests).
    pub fn for_recording(self) -> Probe {
        match self {
            Probe::Path {
                path,
                reveal: Reveal::TextUnless(_),
            } => Probe::Path {
                path,
                reveal: Reveal::Text,
            },
            other => other,
        }
    }
}

/// Two probes of the same thing merge into one; `DigestOnly` wins, so a path any resource
/// treats as secret is never read in clear.
pub fn merge(mut probes: Vec<Probe>) -> Vec<Probe> {
    probes.sort();
    let mut merged: Vec<Probe> = Vec::new();
    for probe in probes {
        match (merged.last_mut(), &probe) {
            (Some(Probe::Path { path: last, reveal }), Probe::Path { path, reveal: next })
            | (
                Some(Probe::RcVar { name: last, reveal }),
                Probe::RcVar {
                    name: path,
                    reveal: next,
                },
            ) if last == path => {
                *reveal = reveal.merge(next);
            }
            (Some(last), _) if *last == probe => {}
            _ => merged.push(probe),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_gives_text_to_whoever_needs_it_and_never_reveals_a_secret() {
        let unless = |text: &[u8]| Reveal::TextUnless(Digest::of(text));
        assert_eq!(unless(b"a").merge(&unless(b"a")), unless(b"a"));
        assert_eq!(unless(b"a").merge(&unless(b"b")), Reveal::Text);
        assert_eq!(unless(b"a").merge(&Reveal::Text), Reveal::Text);
        assert_eq!(Reveal::Text.merge(&Reveal::DigestOnly), Reveal::DigestOnly);
        assert_eq!(unless(b"a").merge(&Reveal::DigestOnly), Reveal::DigestOnly);
        assert_eq!(Reveal::Digest.merge(&Reveal::Text), Reveal::Text);
        assert_eq!(unless(b"a").merge(&Reveal::Digest), unless(b"a"));
        assert_eq!(Reveal::Digest.merge(&Reveal::Digest), Reveal::Digest);
    }

    #[test]
    fn merging_keeps_the_stricter_reveal() {
        let probes = vec![
            Probe::Path {
                path: "/k".into(),
                reveal: Reveal::Text,
            },
            Probe::Service {
                name: "sshd".into(),
            },
            Probe::Path {
                path: "/k".into(),
                reveal: Reveal::DigestOnly,
            },
            Probe::Service {
                name: "sshd".into(),
            },
        ];
        assert_eq!(
            merge(probes),
            vec![
                Probe::Path {
                    path: "/k".into(),
                    reveal: Reveal::DigestOnly
                },
                Probe::Service {
                    name: "sshd".into()
                },
            ]
        );
    }
}
