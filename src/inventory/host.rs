//! A host as the rest of f3s sees it: its OS family, how to reach it, its effective vars and
//! the modules it gets.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::source::Origin;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OsFamily {
    Freebsd,
    Rocky,
}

impl OsFamily {
    /// The group root's files belong to by default.
    pub fn root_group(self) -> &'static str {
        match self {
            Self::Freebsd => "wheel",
            Self::Rocky => "root",
        }
    }
}

impl fmt::Display for OsFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Freebsd => "freebsd",
            Self::Rocky => "rocky",
        })
    }
}

/// How commands gain root on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Become {
    Doas,
    Sudo,
    #[default]
    None,
}

/// How to reach a host, as the inventory writes it. What it leaves out comes from ssh_config
/// (see `transport::ssh_config`), else OpenSSH's defaults (port 22) and f3s's (user root).
#[derive(Debug, Clone)]
pub struct Connection {
    pub port: Option<u16>,
    pub user: Option<String>,
    pub become_method: Become,
    pub identity_file: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
}

/// A module applied to a host, with the parameters the inventory gave it (not yet defaulted).
#[derive(Debug, Clone)]
pub struct ModuleUse {
    pub name: String,
    pub origin: Origin,
    pub params: Vec<GivenParam>,
}

/// A parameter value written in the inventory, with the places of its key and its value.
#[derive(Debug, Clone)]
pub struct GivenParam {
    pub name: String,
    pub value: Value,
    pub key: Origin,
    pub at: Origin,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub os: OsFamily,
    pub address: String,
    pub connection: Connection,
    /// Vars after precedence (defaults < groups in file order < host), secrets resolved.
    pub vars: BTreeMap<String, Arc<Value>>,
    pub var_origins: Vec<(String, Origin)>,
    pub modules: Vec<ModuleUse>,
    pub origin: Origin,
}

impl Host {
    pub fn var_origin(&self, name: &str) -> Option<&Origin> {
        self.var_origins
            .iter()
            .find(|(var, _)| var == name)
            .map(|(_, origin)| origin)
    }

    /// What templates see as `host` (and as `hosts.<name>`).
    pub fn template_view(&self) -> Value {
        serde_json::json!({
            "name": self.name,
            "os": self.os.to_string(),
            "address": self.address,
            "vars": self.vars,
        })
    }
}
