//! The state of a host in the fixture format: what a transport observed (only what was
//! probed), what a recording holds (everything), and what the planner predicts after
//! operations. Secrets appear as digests only.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::inventory::host::OsFamily;
use crate::probe::Probe;
use crate::sensitive::{Digest, Observed};
use crate::zfs_property::OpenZfs;

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
    /// Block devices that exist, by path, with what is on them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub devices: BTreeMap<String, DeviceState>,
    /// Imported ZFS pools and their health.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pools: BTreeMap<String, String>,
    /// Paths where something other than an empty directory is: a directory with entries, a
    /// file, or what could not be read (only those probed).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub occupied: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub datasets: BTreeMap<String, DatasetState>,
    /// The OpenZFS release the host runs (`zfs version`), read where datasets are probed;
    /// which properties it takes, and how it reads some back, depend on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zfs_version: Option<OpenZfs>,
    /// Mounted filesystems by mount point.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mounts: BTreeMap<String, MountState>,
    /// Kernel modules loaded now.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub kernel_modules: BTreeSet<String>,
    /// CARP addresses, by address, as ifconfig(8) shows them on the probed interface.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub carp: BTreeMap<String, CarpState>,
    /// Users' crontabs, by user.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub crontabs: BTreeMap<String, Observed>,
    /// X.509 certificates by path (their files are under `files` too, when probed as files).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub certificates: BTreeMap<String, CertificateState>,
    /// Temporary files an interrupted write of f3s's left beside the paths probed
    /// (`DIR/.f3s.PID.N`: its shell was killed between write and rename).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub leftovers: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateState {
    /// As `openssl x509 -nameopt compat` prints it: `/C=US/.../CN=name`.
    pub subject: String,
    pub issuer: String,
    /// As `openssl x509 -dateopt iso_8601` prints it: `2035-11-20 12:00:00Z`.
    pub not_after: String,
}

/// A CARP address on an interface: `inet ADDR netmask … vhid N` and its `carp: STATE vhid N …`
/// line in ifconfig(8)'s output (sbin/ifconfig/af_inet.c, in_status; carp.c, carp_status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarpState {
    pub interface: String,
    /// `None` (recorded as `null`): the address is there as a plain alias, not a CARP one.
    pub vhid: Option<u32>,
    pub state: CarpRole,
    /// The key the vhid runs with, as its digest (made on the host; `ifconfig -k` shows it),
    /// where it was observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Observed>,
}

/// The states of carp(4) (`CARP_STATES` in netinet/ip_carp.h), as ifconfig prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CarpRole {
    Init,
    Backup,
    Master,
}

impl CarpRole {
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "INIT" => Some(Self::Init),
            "BACKUP" => Some(Self::Backup),
            "MASTER" => Some(Self::Master),
            _ => None,
        }
    }
}

impl std::fmt::Display for CarpRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Init => "INIT",
            Self::Backup => "BACKUP",
            Self::Master => "MASTER",
        })
    }
}

/// What is on a block device. Nothing known to be on it is not proof of emptiness: a probe
/// that could not tell says so in `unreadable`, and such a device counts as holding data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceState {
    /// The filesystem `fstyp` recognises on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<String>,
    /// Why the probe could not tell what is on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

impl DeviceState {
    /// What would be lost by writing over the device, or `None` if it is proven empty.
    pub fn holds(&self) -> Option<String> {
        match (&self.filesystem, &self.unreadable) {
            (Some(fs), _) => Some(format!("{fs} filesystem found by fstyp")),
            (None, Some(why)) => Some(format!("cannot tell whether it is empty: {why}")),
            (None, None) => None,
        }
    }
}

/// A ZFS dataset's properties as `zfs get -p` reports them (only those asked about).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetState {
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountState {
    pub device: String,
    pub fstype: String,
}

/// Mode, owner and group of a path, each shared (`interned.rs`): a host's thousands of paths
/// have a few of each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ownership {
    pub mode: Arc<str>,
    pub owner: Arc<str>,
    pub group: Arc<str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileState {
    pub content: Observed,
    pub mode: Arc<str>,
    pub owner: Arc<str>,
    pub group: Arc<str>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceState {
    /// Whether it starts at boot; `None` (recorded as `null`) where that is the unit file's to
    /// say and no enable or disable changes it (systemd's static, indirect, generated and
    /// alias units).
    pub enabled: Option<bool>,
    /// Whether it runs; `None` (recorded as `null`) for a service that cannot tell, as a
    /// FreeBSD rc script with no `status` (a one-shot script such as rc.d/ntpdate).
    pub running: Option<bool>,
}

/// A service nothing is known of: not enabled, not running.
impl Default for ServiceState {
    fn default() -> Self {
        Self {
            enabled: Some(false),
            running: Some(false),
        }
    }
}

impl HostState {
    /// The part of this (recorded) state that `probes` ask about, as a transport returns it.
    pub fn answer(&self, probes: &[Probe]) -> HostState {
        let datasets = probes.iter().any(|p| matches!(p, Probe::Dataset { .. }));
        let mut answer = HostState {
            os: self.os,
            zfs_version: self.zfs_version.filter(|_| datasets),
            leftovers: self.leftovers.clone(),
            ..HostState::default()
        };
        for probe in probes {
            match probe {
                Probe::Path { path, reveal } => {
                    if let Some(file) = self.files.get(path) {
                        let mut file = file.clone();
                        file.content = reveal.apply_to(&file.content);
                        answer.files.insert(path.clone(), file);
                    }
                    if let Some(dir) = self.directories.get(path) {
                        answer.directories.insert(path.clone(), dir.clone());
                    }
                }
                Probe::RcVar { name, reveal } => {
                    if let Some(value) = self.rc_conf.get(name) {
                        answer.rc_conf.insert(name.clone(), reveal.apply_to(value));
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
                Probe::Device { path } => copy_entry(&self.devices, &mut answer.devices, path),
                Probe::Pool { name } => copy_entry(&self.pools, &mut answer.pools, name),
                Probe::Occupied { path } => {
                    if self.occupied.contains(path) {
                        answer.occupied.insert(path.clone());
                    }
                }
                Probe::Dataset { name, properties } => {
                    if let Some(dataset) = self.datasets.get(name) {
                        let asked = answer.datasets.entry(name.clone()).or_default();
                        for property in properties {
                            if let Some(value) = dataset.properties.get(property) {
                                asked.properties.insert(property.clone(), value.clone());
                            }
                        }
                    }
                }
                Probe::Mount { path } => copy_entry(&self.mounts, &mut answer.mounts, path),
                Probe::KernelModule { name } => {
                    if self.kernel_modules.contains(name) {
                        answer.kernel_modules.insert(name.clone());
                    }
                }
                Probe::Crontab { user } => copy_entry(&self.crontabs, &mut answer.crontabs, user),
                Probe::Carp { interface, address } => {
                    if let Some(carp) = self.carp.get(address).filter(|c| c.interface == *interface)
                    {
                        answer.carp.insert(address.clone(), carp.clone());
                    }
                }
                Probe::Certificate { path } => {
                    copy_entry(&self.certificates, &mut answer.certificates, path)
                }
            }
        }
        answer
    }

    /// Whether anything in the state is hidden (recorded as a keyed fingerprint).
    pub fn holds_hidden(&self) -> bool {
        let hidden =
            |value: &Observed| value.plain().is_none() && *value != Observed::KnownAfterApply;
        self.files.values().any(|file| hidden(&file.content))
            || self.rc_conf.values().any(hidden)
            || self.crontabs.values().any(hidden)
    }

    /// A stable digest of the state, for telling later whether a host drifted since a plan.
    /// Hidden values enter it as their keyed fingerprints, so it is no oracle either.
    pub fn fingerprint(&self) -> Digest {
        // As the digest of the JSON text (what earlier saved plans hold), never built whole.
        Digest::of_json(self).unwrap_or_else(|_| Digest::of(b""))
    }
}

fn copy_entry<V: Clone>(from: &BTreeMap<String, V>, to: &mut BTreeMap<String, V>, key: &str) {
    if let Some(value) = from.get(key) {
        to.insert(key.to_string(), value.clone());
    }
}
