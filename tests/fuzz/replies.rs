//! What hosts print back, read by the SSH transport's own parsers: a `ReplyTransport` answers
//! plan's observations and apply's batches the way a host running f3s's scripts would, from the
//! recorded host states, and lets a case mutate one host's replies on the way in.
//!
//! The replies are written here in the formats the parsers document
//! (`transport/shell/observation.rs`, `transport/shell/batch.rs`): an observation answering
//! every probe from the recorded state, and a batch output in which every operation succeeded
//! and printed nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use f3s::batch::{Batch, UnitOutcome};
use f3s::host_state::HostState;
use f3s::inventory::host::{Host, OsFamily};
use f3s::probe::{Probe, Reveal};
use f3s::sensitive::{Digest, Hidden, Observed};
use f3s::transport::shell::{
    BatchReadError, ObservationError, observe_with_texts, parse_observation, read_batch_output,
};
use f3s::transport::{Transport, TransportError};

use crate::mutate::{self, Mutation};

/// The marker word of the batches this transport answers (the SSH transport draws one).
const NONCE: &str = "f0zz";

/// Answers like the hosts whose recorded states it holds; the replies of `victim` are mutated
/// (observations by `observation`, batch outputs by `batch`).
pub struct ReplyTransport {
    pub states: BTreeMap<String, HostState>,
    pub victim: String,
    pub observation: Vec<Mutation>,
    pub batch: Vec<Mutation>,
}

impl ReplyTransport {
    /// Recorded states read from `dir` (`HOST.yml` each); they must parse.
    pub fn recorded(dir: &Path) -> BTreeMap<String, HostState> {
        let mut states = BTreeMap::new();
        for entry in std::fs::read_dir(dir).expect("a state directory") {
            let path = entry.expect("a directory entry").path();
            let host = path
                .file_stem()
                .expect("HOST.yml")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).expect("a recorded state");
            let state: HostState = serde_saphyr::from_str(&text).expect("a valid recorded state");
            states.insert(host, state);
        }
        states
    }

    fn mutated(&self, host: &Host, reply: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
        if host.name == self.victim {
            mutate::apply(&reply, mutations, &[])
        } else {
            reply
        }
    }

    /// One round trip, read as `SshTransport::observe_once` reads it.
    fn observe_once(&self, host: &Host, probes: &[Probe]) -> Result<HostState, TransportError> {
        let recorded = self.states.get(&host.name).cloned().unwrap_or_default();
        let reply = observation_reply(host.os, probes, &recorded);
        let reply = self.mutated(host, reply, &self.observation);
        parse_observation(host.os, probes, &reply[..]).map_err(|error| match error {
            ObservationError::WrongKernel(found) => TransportError::WrongOs {
                host: host.name.clone(),
                found,
                declared: host.os.to_string(),
            },
            ObservationError::Unreadable(message) => TransportError::Protocol {
                host: host.name.clone(),
                message,
            },
            ObservationError::Io(error) => TransportError::Protocol {
                host: host.name.clone(),
                message: error.to_string(),
            },
        })
    }
}

impl Transport for ReplyTransport {
    /// As the SSH transport observes: once, then again for the files whose text it lacks.
    fn observe(&self, host: &Host, probes: &[Probe]) -> Result<HostState, TransportError> {
        observe_with_texts(probes, |probes| self.observe_once(host, probes))
    }

    fn run_batch(
        &self,
        host: &Host,
        batch: &Batch,
        report: &mut dyn FnMut(usize, UnitOutcome),
    ) -> Result<(), TransportError> {
        let reply = self.mutated(host, batch_reply(batch), &self.batch);
        let mut lines = reply.split(|byte| *byte == b'\n');
        let read = read_batch_output(NONCE, || Ok(lines.next().map(<[u8]>::to_vec)), report);
        read.map_err(|error| TransportError::Protocol {
            host: host.name.clone(),
            message: match error {
                BatchReadError::Protocol(message) => message,
                BatchReadError::Io(error) => error.to_string(),
            },
        })
    }

    fn read_file(&self, host: &Host, path: &str) -> Result<Vec<u8>, TransportError> {
        let recorded = self.states.get(&host.name).and_then(|s| s.files.get(path));
        match recorded.map(|file| &file.content) {
            Some(Observed::Plain(text)) => Ok(text.as_str().into_owned().into_bytes()),
            _ => Err(TransportError::Unsupported {
                host: host.name.clone(),
                message: format!("{path} has no recorded content"),
            }),
        }
    }

    /// Recorded hosts have no leftovers to remove.
    fn remove_leftovers(&self, _host: &Host, _paths: &[String]) -> Result<(), TransportError> {
        Ok(())
    }

    fn lock(&self, _host: &Host, _holder: &str) -> Result<(), TransportError> {
        Ok(())
    }

    fn unlock(&self, _host: &Host) {}
}

/// `uname -s` of an OS family.
fn kernel_of(os: OsFamily) -> &'static str {
    match os {
        OsFamily::Freebsd => "FreeBSD",
        OsFamily::Rocky => "Linux",
    }
}

/// What the observe script prints for `probes` on a host in the `recorded` state. A file's
/// bytes travel only for `Reveal::Text` (the script sends the others' digests); a file
/// recorded by digest alone cannot be sent as text, so it answers as absent to such a probe.
fn observation_reply(os: OsFamily, probes: &[Probe], recorded: &HostState) -> Vec<u8> {
    let (file_type, directory_type, digest_gap) = match os {
        // FreeBSD `stat -f %HT` and `sha256 -r`; GNU `stat -c %F` and `sha256sum`.
        OsFamily::Freebsd => ("Regular File", "Directory", " "),
        OsFamily::Rocky => ("regular file", "directory", "  "),
    };
    let mut stats = String::new();
    let mut digests = String::new();
    let mut texts = Vec::new();
    for probe in probes {
        let Probe::Path { path, reveal } = probe else {
            continue;
        };
        if let Some(dir) = recorded.directories.get(path) {
            let _ = writeln!(
                stats,
                "{}\t0:{}\t0:{}\t{directory_type}\t512\t{path}",
                dir.mode, dir.owner, dir.group
            );
            continue;
        }
        let Some(file) = recorded.files.get(path) else {
            continue;
        };
        let (digest, bytes) = match &file.content {
            Observed::Plain(text) => (text.digest(), text.as_str().into_owned().into_bytes()),
            Observed::Hidden(hidden) if *reveal != Reveal::Text => (answered(hidden), Vec::new()),
            _ => continue,
        };
        let _ = writeln!(
            stats,
            "{}\t0:{}\t0:{}\t{file_type}\t{}\t{path}",
            file.mode,
            file.owner,
            file.group,
            bytes.len()
        );
        let _ = writeln!(digests, "{}{digest_gap}{path}", hex(&digest));
        if *reveal == Reveal::Text {
            texts.extend_from_slice(&bytes);
        }
    }
    let mut reply = format!("U {}\nF\n{stats}H\n{digests}T\n", kernel_of(os)).into_bytes();
    reply.extend_from_slice(&texts);
    reply.extend_from_slice(b"\nP\n");
    for (i, probe) in probes.iter().enumerate() {
        reply.extend_from_slice(probe_answer(i, probe, recorded).as_bytes());
    }
    reply.extend_from_slice(listings(os, probes, recorded).as_bytes());
    reply.extend_from_slice(b"E\n");
    reply
}

/// The lines answering one probe answered on its own.
fn probe_answer(i: usize, probe: &Probe, recorded: &HostState) -> String {
    let text_or_digest = |tag: &str, reveal: &Reveal, value: Option<&Observed>| match value {
        Some(Observed::Plain(text)) if *reveal != Reveal::DigestOnly => {
            let text = text.as_str();
            format!("{tag} {i} text {}\n{text}\n", text.len())
        }
        Some(value) => match value.hidden() {
            Observed::Hidden(hidden) => format!("{tag} {i} digest {}\n", hex(&answered(&hidden))),
            _ => format!("{tag} {i} unset\n"),
        },
        None => format!("{tag} {i} unset\n"),
    };
    match probe {
        Probe::RcVar { name, reveal } => text_or_digest("R", reveal, recorded.rc_conf.get(name)),
        Probe::Service { name } => {
            let service = recorded.services.get(name).copied().unwrap_or_default();
            let word = |on: Option<bool>, unknown: &'static str| match on {
                Some(true) => "yes",
                Some(false) => "no",
                None => unknown,
            };
            format!(
                "S {i} {} {}\n",
                word(service.enabled, "fixed"),
                word(service.running, "unknown")
            )
        }
        Probe::Device { path } => match recorded.devices.get(path) {
            None => format!("D {i} absent\n"),
            Some(device) => match (&device.filesystem, &device.unreadable) {
                (Some(fs), _) => format!("D {i} fs {fs}\n"),
                (None, Some(why)) => format!("D {i} unreadable {why}\n"),
                (None, None) => format!("D {i} empty\n"),
            },
        },
        Probe::Occupied { path } => {
            let occupied = recorded.occupied.contains(path);
            format!("O {i} {}\n", if occupied { "yes" } else { "no" })
        }
        Probe::Certificate { path } => match recorded.certificates.get(path) {
            Some(cert) => format!(
                "X {i} present\nsubject={}\nissuer={}\nnotAfter={}\n",
                cert.subject, cert.issuer, cert.not_after
            ),
            None => format!("X {i} absent\n"),
        },
        Probe::Crontab { user } => match recorded.crontabs.get(user) {
            Some(Observed::Plain(text)) => {
                let text = text.as_str();
                format!("C {i} text {}\n{text}\n", text.len())
            }
            _ => format!("C {i} absent\n"),
        },
        _ => String::new(),
    }
}

/// The sections of the kinds asked many at a time (transport/shell/listings.rs), as the
/// family's tools print them for what is recorded: pkg query's `+ NAME VERSION` lines or
/// rpm's answers between its end markers, zpool and zfs lines sorted by name, `mount -p` or
/// `findmnt -r` lines, `kldstat -v` or the names found in /sys/module, `ifconfig` per
/// interface (FreeBSD; Rocky answers CARP as unsupported).
fn listings(os: OsFamily, probes: &[Probe], recorded: &HostState) -> String {
    let freebsd = os == OsFamily::Freebsd;
    let mut out = String::new();
    let packages: Vec<&String> = probes
        .iter()
        .filter_map(|p| match p {
            Probe::Package { name } => Some(name),
            _ => None,
        })
        .collect();
    if !packages.is_empty() {
        out.push_str("K\n");
        let mut found = 0;
        for name in &packages {
            match (recorded.packages.get(*name), freebsd) {
                (Some(version), true) => {
                    found += 1;
                    let _ = writeln!(out, "+ {name} {version}");
                }
                (Some(version), false) => {
                    for version in version.split(' ') {
                        let _ = writeln!(out, "+ {version}");
                    }
                }
                (None, true) => {}
                (None, false) => {
                    let _ = writeln!(out, "package {name} is not installed");
                }
            }
            if !freebsd {
                out.push_str("package f3s end is not installed\n");
            }
        }
        let status = match freebsd {
            true if found == 0 => 69,
            true => 0,
            false => 254.min(packages.len() * 2 - recorded_count(&packages, recorded)),
        };
        let _ = writeln!(out, "K end {status} ");
    }
    let pools: BTreeSet<&String> = probes
        .iter()
        .filter_map(|p| match p {
            Probe::Pool { name } => Some(name),
            _ => None,
        })
        .collect();
    if !pools.is_empty() {
        out.push_str("Z\n");
        for name in pools {
            if let Some(health) = recorded.pools.get(name) {
                let _ = writeln!(out, "{name}\t{health}");
            }
        }
        out.push_str("Z end\n");
    }
    let mut datasets: BTreeMap<&String, BTreeSet<&String>> = BTreeMap::new();
    for probe in probes {
        if let Probe::Dataset { name, properties } = probe {
            datasets.entry(name).or_default().extend(properties);
        }
    }
    if !datasets.is_empty() {
        let all: BTreeSet<&String> = datasets.values().flatten().copied().collect();
        let existing: Vec<&String> = datasets
            .keys()
            .copied()
            .filter(|name| recorded.datasets.contains_key(*name))
            .collect();
        out.push_str("Y\n");
        for name in &existing {
            let _ = writeln!(out, "{name}");
        }
        out.push_str("Y get\n");
        for name in &existing {
            for property in &all {
                if let Some(value) = recorded.datasets[*name].properties.get(*property) {
                    let _ = writeln!(out, "{name}\t{property}\t{value}");
                }
            }
        }
        out.push_str("Y end\n");
    }
    if probes.iter().any(|p| matches!(p, Probe::Mount { .. })) {
        out.push_str("M\n");
        for (point, mount) in &recorded.mounts {
            let _ = match freebsd {
                true => writeln!(
                    out,
                    "{}\t\t{point}\t\t{}\trw\t\t0 0",
                    mount.device, mount.fstype
                ),
                false => writeln!(
                    out,
                    "{} {} {}",
                    point.replace(' ', "\\x20"),
                    mount.device.replace(' ', "\\x20"),
                    mount.fstype
                ),
            };
        }
        out.push_str("M end\n");
    }
    if probes
        .iter()
        .any(|p| matches!(p, Probe::KernelModule { .. }))
    {
        out.push_str("L\n");
        if freebsd {
            out.push_str("Id Refs Address                Size Name\n");
        }
        for (id, module) in recorded.kernel_modules.iter().enumerate() {
            let _ = match freebsd {
                true => writeln!(
                    out,
                    "{:2}    1 0xffffffff82000000     4096 {module}.ko (/boot/kernel/{module}.ko)\n\tContains modules:\n\t\t Id Name\n\t\t{:3} {module}",
                    id + 1,
                    id + 1
                ),
                false => writeln!(out, "{module}"),
            };
        }
        out.push_str("L end\n");
    }
    let mut interfaces: Vec<&String> = Vec::new();
    for (i, probe) in probes.iter().enumerate() {
        let Probe::Carp { interface, .. } = probe else {
            continue;
        };
        if !freebsd {
            let _ = writeln!(out, "A {i} unsupported");
        } else if !interfaces.contains(&interface) {
            interfaces.push(interface);
        }
    }
    for interface in interfaces {
        let _ = writeln!(out, "A if {interface}");
        let _ = writeln!(
            out,
            "{interface}: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500"
        );
        for (address, carp) in &recorded.carp {
            if carp.interface != *interface {
                continue;
            }
            let _ = match carp.vhid {
                Some(vhid) => writeln!(
                    out,
                    "\tinet {address} netmask 0xffffffff broadcast {address} vhid {vhid}\n\tcarp: {} vhid {vhid} advbase 1 advskew 0",
                    carp.state
                ),
                None => writeln!(
                    out,
                    "\tinet {address} netmask 0xffffffff broadcast {address}"
                ),
            };
        }
        out.push_str("A end\n");
    }
    out
}

/// How many of `packages` are recorded as installed.
fn recorded_count(packages: &[&String], recorded: &HostState) -> usize {
    packages
        .iter()
        .filter(|name| recorded.packages.contains_key(**name))
        .count()
}

/// The hex a digest command prints.
/// The sha256 a host answers for a hidden value. A recording keeps only a keyed fingerprint,
/// never the sha256 (that would be an oracle), so for those the answer is a stand-in: the
/// value exists, with content no desired value matches.
fn answered(hidden: &Hidden) -> Digest {
    match hidden {
        Hidden::Sha256(sha256) => sha256.clone(),
        Hidden::Recorded(fingerprint) => Digest::of(fingerprint.to_string().as_bytes()),
    }
}

fn hex(digest: &Digest) -> String {
    digest.to_string().trim_start_matches("sha256:").to_string()
}

/// What a batch script prints when every operation succeeds quietly: per operation its begin
/// marker, the empty line the script echoes after it, and its status; per unit its done marker.
fn batch_reply(batch: &Batch) -> Vec<u8> {
    let mut reply = String::new();
    for (unit, ops) in batch.units.iter().enumerate() {
        for op in 0..ops.ops.len() {
            let _ = write!(
                reply,
                "\u{1}{NONCE} B {unit} {op}\n\n\u{1}{NONCE} S {unit} {op} 0\n"
            );
        }
        let _ = writeln!(reply, "\u{1}{NONCE} D {unit}");
    }
    let _ = writeln!(reply, "\u{1}{NONCE} E");
    reply.into_bytes()
}
