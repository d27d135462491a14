//! The inventory file exactly as written: serde structs with positions, before any checks.

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::inventory::host::{Become, OsFamily};
use crate::yaml::SpannedMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInventory {
    /// Directories holding modules, relative to the inventory file.
    #[serde(default)]
    pub module_path: Vec<Spanned<String>>,
    #[serde(default)]
    pub secrets: SpannedMap<Spanned<RawSecret>>,
    /// The key of the fingerprints f3s prints and records, declared like a secret.
    #[serde(default)]
    pub digest_key: Option<Spanned<RawSecret>>,
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default)]
    pub groups: SpannedMap<RawGroup>,
    pub hosts: SpannedMap<RawHost>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecret {
    /// Environment variable holding the value; wins over `file`.
    pub env: Option<String>,
    /// File holding the value (trailing newline dropped), relative to the inventory file.
    pub file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    #[serde(default)]
    pub connection: RawConnection,
    #[serde(default)]
    pub vars: SpannedMap<Spanned<Value>>,
    #[serde(default)]
    pub modules: Vec<RawModuleUse>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    #[serde(default)]
    pub hosts: Vec<Spanned<String>>,
    #[serde(default)]
    pub vars: SpannedMap<Spanned<Value>>,
    #[serde(default)]
    pub modules: Vec<RawModuleUse>,
    pub rollout: Option<RawRollout>,
}

/// `rollout:` of a group (see `inventory::rollout`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRollout {
    /// Host names, batch by batch.
    pub batches: Spanned<Vec<Spanned<Vec<Spanned<String>>>>>,
    pub health: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHost {
    pub os: OsFamily,
    pub address: Spanned<String>,
    #[serde(default)]
    pub connection: RawConnection,
    #[serde(default)]
    pub vars: SpannedMap<Spanned<Value>>,
    #[serde(default)]
    pub modules: Vec<RawModuleUse>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConnection {
    pub port: Option<Spanned<u16>>,
    pub user: Option<Spanned<String>>,
    #[serde(rename = "become")]
    pub become_method: Option<Become>,
    pub identity_file: Option<String>,
    pub known_hosts: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModuleUse {
    pub module: Spanned<String>,
    #[serde(default)]
    pub params: SpannedMap<Spanned<Value>>,
}
