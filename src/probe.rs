//! Probes: the read-only questions a resource kind asks about a host. Transports answer them
//! (the SSH transport in one remote script per host, the fixture transport from a recorded
//! state); the answers come back as a `HostState` holding just what was asked.

use serde::Serialize;

/// Whether a probe may bring back a value's text, or only its digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reveal {
    Text,
    DigestOnly,
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

/// Two probes of the same thing merge into one; the stricter `Reveal` wins, so a path any
/// resource treats as secret is never read in clear.
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
                *reveal = (*reveal).max(*next);
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
