//! Operations: the typed changes a resource kind asks for to converge a host. Transports turn
//! them into commands, one place per OS family; the planner applies them to a predicted state.
//! Sensitive payloads are `Text`, which never serializes or prints its value.

use serde::Serialize;

use crate::host_state::Ownership;
use crate::sensitive::Text;

/// How a service takes new configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refresh {
    Restart,
    Reload,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Write a whole file atomically (temporary file, ownership, rename).
    WriteFile {
        path: String,
        content: Text,
        #[serde(flatten)]
        ownership: Ownership,
    },
    /// Copy a file's bytes from another host, then as `WriteFile`.
    CopyFile {
        source_host: String,
        source_path: String,
        path: String,
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
    SetRcVar {
        name: String,
        value: Text,
    },
    InstallPackage {
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
}

impl Op {
    /// Whether the operation can discard data.
    pub fn is_destructive(&self) -> bool {
        matches!(self, Self::RemovePath { .. })
    }

    /// One line for the plan; sensitive values appear masked.
    pub fn describe(&self) -> String {
        let owned = |o: &Ownership| format!("{} {}:{}", o.mode, o.owner, o.group);
        match self {
            Self::WriteFile {
                path, ownership, ..
            } => format!("write {path} ({})", owned(ownership)),
            Self::CopyFile {
                source_host,
                source_path,
                path,
                ownership,
            } => format!(
                "copy {source_host}:{source_path} to {path} ({})",
                owned(ownership)
            ),
            Self::SetOwnership { path, ownership } => format!("set {path} to {}", owned(ownership)),
            Self::CreateDirectory { path, ownership } => {
                format!("create directory {path} ({})", owned(ownership))
            }
            Self::RemovePath { path } => format!("remove {path}"),
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
        }
    }
}
