//! Operations: the typed changes a resource kind asks for to converge a host. Transports turn
//! them into commands, one place per OS family; the planner applies them to a predicted state.
//! Sensitive payloads are `Text`, which never serializes or prints its value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::check_command::CheckCommand;
use crate::host_state::{CarpRole, Ownership};
use crate::sensitive::Text;

/// How a service takes new configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refresh {
    Restart,
    Reload,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Write a whole file atomically (temporary file, ownership, `validate`, rename), keeping
    /// the content it replaces as a backup on the host.
    WriteFile {
        path: String,
        content: Text,
        #[serde(flatten)]
        ownership: Ownership,
        /// Fail rather than replace a file that is already there (a key, say).
        #[serde(default, skip_serializing_if = "is_false")]
        create_only: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        validate: Option<CheckCommand>,
    },
    /// Copy a file's bytes from another host, then as `WriteFile`.
    CopyFile {
        source_host: String,
        source_path: String,
        path: String,
        #[serde(flatten)]
        ownership: Ownership,
        #[serde(default, skip_serializing_if = "is_false")]
        create_only: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        validate: Option<CheckCommand>,
    },
    /// Fill a new file with random bytes; fails rather than replace one that is there.
    GenerateSecret {
        path: String,
        size: usize,
        #[serde(flatten)]
        ownership: Ownership,
    },
    /// Change mode, owner or group of an existing path.
    SetOwnership {
        path: String,
        #[serde(flatten)]
        ownership: Ownership,
    },
    CreateDirectory {
        path: String,
        #[serde(flatten)]
        ownership: Ownership,
    },
    /// Remove what is at a path (a file where a directory belongs, say). Destructive.
    RemovePath {
        path: String,
    },
    /// Remove a file, keeping it as a backup on the host as a write keeps what it replaces.
    RemoveFile {
        path: String,
    },
    /// Remove an empty directory (`rmdir`, which refuses one that is not empty).
    RemoveDirectory {
        path: String,
    },
    SetRcVar {
        name: String,
        value: Text,
    },
    /// Remove every assignment of an rc.conf variable, as `sysrc -x` does.
    UnsetRcVar {
        name: String,
    },
    InstallPackage {
        name: String,
    },
    RemovePackage {
        name: String,
    },
    EnableService {
        name: String,
    },
    DisableService {
        name: String,
    },
    StartService {
        name: String,
    },
    StopService {
        name: String,
    },
    RefreshService {
        name: String,
        how: Refresh,
    },
    /// Make a UFS filesystem on a device; `destroys` says what is on it when it is not
    /// proven empty, and makes the operation destructive.
    NewFs {
        device: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        destroys: Option<String>,
    },
    /// Create a ZFS pool on devices, as `destroys` says for `NewFs`.
    CreatePool {
        name: String,
        devices: Vec<String>,
        mountpoint: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        destroys: Option<String>,
    },
    /// Create a ZFS dataset with properties only settable at creation (encryption).
    CreateDataset {
        name: String,
        properties: BTreeMap<String, String>,
    },
    SetDatasetProperty {
        name: String,
        property: String,
        value: String,
    },
    /// Load a dataset's encryption key from its keylocation.
    LoadKey {
        dataset: String,
    },
    MountDataset {
        dataset: String,
    },
    /// Mount a filesystem as its fstab entry says.
    Mount {
        path: String,
        device: String,
        fstype: String,
    },
    /// Unmount the filesystem at a mount point.
    Unmount {
        path: String,
    },
    LoadKernelModule {
        name: String,
    },
    /// Add a CARP address to a running interface, as rc.d/netif does at boot for an
    /// `ifconfig_IF_aliasN` line, without restarting the interface. `becomes` is the state
    /// CARP is expected to elect (MASTER where no other member is), for the plan.
    AddCarpAddress {
        interface: String,
        address: String,
        vhid: u32,
        password: Text,
        becomes: CarpRole,
    },
    /// Give a running CARP vhid a new key (its address stays as it is).
    SetCarpKey {
        interface: String,
        address: String,
        vhid: u32,
        password: Text,
    },
    /// Install a user's whole crontab.
    WriteCrontab {
        user: String,
        content: Text,
    },
    /// Make systemd read changed unit files.
    ReloadUnits,
    /// Generate an RSA private key into a new file; fails rather than replace one.
    CreateKey {
        path: String,
        bits: u32,
        #[serde(flatten)]
        ownership: Ownership,
    },
    /// Issue a certificate for an existing key: self-signed, or signed by `ca`.
    IssueCertificate {
        cert: String,
        key: String,
        subject: String,
        days: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ca: Option<CertificateAuthority>,
    },
}

/// A CA's certificate and key, on the host that signs with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateAuthority {
    pub cert: String,
    pub key: String,
}

fn destroying(destroys: &Option<String>) -> String {
    destroys
        .as_ref()
        .map(|what| format!(" — DESTROYS what is there ({what})"))
        .unwrap_or_default()
}

fn is_false(flag: &bool) -> bool {
    !flag
}

impl Op {
    /// Whether the operation can discard data.
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Self::RemovePath { .. }
                | Self::NewFs {
                    destroys: Some(_),
                    ..
                }
                | Self::CreatePool {
                    destroys: Some(_),
                    ..
                }
        )
    }

    /// A `CopyFile` as the write of the bytes read from its source; any other operation as
    /// it is.
    pub fn copied(&self, content: Text) -> Op {
        match self {
            Self::CopyFile {
                path,
                ownership,
                create_only,
                validate,
                ..
            } => Self::WriteFile {
                path: path.clone(),
                content,
                ownership: ownership.clone(),
                create_only: *create_only,
                validate: validate.clone(),
            },
            op => op.clone(),
        }
    }

    /// One line for the plan; sensitive values appear masked.
    pub fn describe(&self) -> String {
        let owned = |o: &Ownership| format!("{} {}:{}", o.mode, o.owner, o.group);
        let checked = |validate: &Option<CheckCommand>| {
            validate
                .as_ref()
                .map(|check| format!(", checked by `{check}`"))
                .unwrap_or_default()
        };
        match self {
            Self::WriteFile {
                path,
                ownership,
                validate,
                ..
            } => format!("write {path} ({}){}", owned(ownership), checked(validate)),
            Self::CopyFile {
                source_host,
                source_path,
                path,
                ownership,
                validate,
                ..
            } => format!(
                "copy {source_host}:{source_path} to {path} ({}){}",
                owned(ownership),
                checked(validate)
            ),
            Self::GenerateSecret {
                path,
                size,
                ownership,
            } => format!(
                "generate {size} random bytes into {path} ({})",
                owned(ownership)
            ),
            Self::SetOwnership { path, ownership } => format!("set {path} to {}", owned(ownership)),
            Self::CreateDirectory { path, ownership } => {
                format!("create directory {path} ({})", owned(ownership))
            }
            Self::RemovePath { path } => format!("remove {path} and all it holds"),
            Self::RemoveFile { path } => format!("remove {path} (a backup is kept)"),
            Self::RemoveDirectory { path } => format!("remove the empty directory {path}"),
            Self::UnsetRcVar { name } => format!("remove rc.conf {name}"),
            Self::RemovePackage { name } => format!("remove package {name}"),
            Self::Unmount { path } => format!("unmount {path}"),
            Self::SetRcVar { name, value } => format!("set rc.conf {name}={}", value.shown()),
            Self::InstallPackage { name } => format!("install package {name}"),
            Self::EnableService { name } => format!("enable service {name}"),
            Self::DisableService { name } => format!("disable service {name}"),
            Self::StartService { name } => format!("start service {name}"),
            Self::StopService { name } => format!("stop service {name}"),
            Self::RefreshService { name, how } => match how {
                Refresh::Restart => format!("restart service {name}"),
                Refresh::Reload => format!("reload service {name}"),
            },
            Self::NewFs { device, destroys } => {
                format!("newfs {device}{}", destroying(destroys))
            }
            Self::CreatePool {
                name,
                devices,
                mountpoint,
                destroys,
            } => format!(
                "zpool create {name} on {} mounted at {mountpoint}{}",
                devices.join(" "),
                destroying(destroys)
            ),
            Self::CreateDataset { name, properties } => {
                let properties: Vec<String> =
                    properties.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("zfs create {name} ({})", properties.join(", "))
            }
            Self::SetDatasetProperty {
                name,
                property,
                value,
            } => format!("zfs set {property}={value} {name}"),
            Self::LoadKey { dataset } => format!("load the key of {dataset}"),
            Self::MountDataset { dataset } => format!("mount {dataset}"),
            Self::Mount { path, device, .. } => format!("mount {device} at {path}"),
            Self::LoadKernelModule { name } => format!("load kernel module {name}"),
            Self::WriteCrontab { user, .. } => format!("install {user}'s crontab"),
            Self::AddCarpAddress {
                interface,
                address,
                vhid,
                password,
                becomes,
            } => format!(
                "add CARP address {address}/32 vhid {vhid} pass {} to {interface}, expected {becomes}",
                password.shown()
            ),
            Self::SetCarpKey {
                interface,
                vhid,
                password,
                ..
            } => format!(
                "set the running key of CARP vhid {vhid} on {interface} to {}",
                password.shown()
            ),
            Self::ReloadUnits => "reload systemd units".into(),
            Self::CreateKey {
                path,
                bits,
                ownership,
            } => format!("generate RSA {bits} key {path} ({})", owned(ownership)),
            Self::IssueCertificate {
                cert,
                subject,
                days,
                ca,
                ..
            } => match ca {
                None => format!("self-sign {cert} for {subject}, {days} days"),
                Some(ca) => format!(
                    "issue {cert} for {subject}, {days} days, signed by {}",
                    ca.cert
                ),
            },
        }
    }
}
