//! The inventory: hosts, groups and vars loaded from YAML, with precedence applied
//! (defaults < groups in file order < host), names checked and secrets resolved.

pub mod host;
mod raw;
pub mod rollout;
pub mod secrets;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use serde_saphyr::Spanned;

use crate::compile_error::{CompileError, CompileErrors};
use crate::compile_error_kind::CompileErrorKind;
use crate::names::NameKind;
use crate::source::{Origin, SourceFile};
use crate::yaml::{self, SpannedMap, origin_of};
use host::{Connection, GivenParam, Host, ModuleUse};
use raw::{RawConnection, RawInventory, RawModuleUse};
use rollout::Rollout;
use secrets::{KeyFault, Secrets};

/// How an inventory is loaded, as the command line says.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Read secret and digest-key files that group or others may read
    /// (`--allow-open-secret-files`); refused otherwise, as OpenSSH refuses such a key.
    pub allow_open_secret_files: bool,
}

#[derive(Debug)]
pub struct Inventory {
    pub path: PathBuf,
    pub file: Arc<SourceFile>,
    /// Where modules are looked up, in order.
    pub module_path: Vec<PathBuf>,
    /// In file order.
    pub hosts: Vec<Host>,
    /// The groups' rollouts, in file order.
    pub rollouts: Vec<Rollout>,
    pub secrets: Secrets,
    /// The key of every fingerprint printed or recorded, if the inventory declares one; why
    /// it has no value, if it has none (only what plans or records needs it).
    pub digest_key: Result<Option<String>, CompileError>,
}

/// The inventory a command reads when none is named.
pub const DEFAULT_PATH: &str = "inventory/f3s.yml";

/// The names of the inventory's hosts, in file order, read without checking the rest or
/// reading a secret (for completing `--host` in a shell); `None` if the file does not parse.
pub fn host_names(path: &Path) -> Option<Vec<String>> {
    let file = yaml::read_source(path).ok()?;
    let raw: RawInventory = yaml::parse(&file).ok()?;
    Some(
        raw.hosts
            .iter()
            .map(|(name, _)| name.value.clone())
            .collect(),
    )
}

impl Inventory {
    /// The inventory at `path`, with the default options (secret files closed).
    pub fn load(path: &Path) -> Result<Self, CompileErrors> {
        Self::load_with(path, LoadOptions::default())
    }

    /// The inventory at `path`, its secrets (those it uses) and digest key read as
    /// `options` say.
    pub fn load_with(path: &Path, options: LoadOptions) -> Result<Self, CompileErrors> {
        let file = yaml::read_source(path)?;
        let raw: RawInventory = yaml::parse(&file)?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut loader = Loader {
            file: &file,
            base: &base,
            secrets: Secrets::new(options.allow_open_secret_files),
            errors: Vec::new(),
            shared_layers: HashMap::new(),
        };
        let hosts = loader.hosts(&raw);
        let rollouts = rollout::rollouts(&file, &raw.groups, &mut loader.errors);
        let module_path = module_path(&raw, &base);
        let digest_key = match &raw.digest_key {
            None => Ok(None),
            Some(declared) => {
                let origin = origin_of(&file, declared);
                let declared = &declared.value;
                let used = files_in_use(path, &hosts);
                let key = loader.secrets.digest_key(
                    declared.env.clone(),
                    declared.file.as_deref(),
                    &base,
                    &origin,
                    &used,
                );
                match key {
                    Ok(key) => Ok(Some(key)),
                    // Only what shows or records fingerprints needs the key's value.
                    Err(KeyFault::Absent(error)) => Err(error),
                    Err(KeyFault::Refused(error)) => {
                        loader.errors.push(error.clone());
                        Err(error)
                    }
                }
            }
        };
        let Loader {
            secrets, errors, ..
        } = loader;
        if !errors.is_empty() {
            return Err(CompileErrors(errors));
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            module_path,
            hosts,
            rollouts,
            secrets,
            digest_key,
        })
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|host| host.name == name)
    }

    pub fn host_names(&self) -> Vec<String> {
        self.hosts.iter().map(|host| host.name.clone()).collect()
    }

    /// Makes this inventory's digest key (a random one if it has none) and secrets the run's
    /// (see `crate::sensitive`).
    pub fn install_secrets(&self) {
        let key = self.digest_key.as_ref().ok().and_then(Option::as_deref);
        crate::sensitive::install(key.map(str::as_bytes), self.secrets.values().cloned());
    }
}

/// The files the inventory reads besides secrets, with what each is: itself, and its hosts'
/// SSH keys and known_hosts (a digest key may be none of them).
fn files_in_use(path: &Path, hosts: &[Host]) -> Vec<(PathBuf, String)> {
    let mut used = vec![(path.to_path_buf(), "the inventory itself".to_string())];
    for host in hosts {
        let connection = &host.connection;
        for (file, what) in [
            (&connection.identity_file, "identity_file"),
            (&connection.known_hosts, "known_hosts"),
        ] {
            if let Some(file) = file {
                used.push((file.clone(), format!("the {what} of host `{}`", host.name)));
            }
        }
    }
    used
}

fn module_path(raw: &RawInventory, base: &Path) -> Vec<PathBuf> {
    if raw.module_path.is_empty() {
        ["modules", "../modules"]
            .iter()
            .map(|dir| base.join(dir))
            .collect()
    } else {
        raw.module_path
            .iter()
            .map(|dir| base.join(&dir.value))
            .collect()
    }
}

struct Loader<'a> {
    file: &'a Arc<SourceFile>,
    base: &'a Path,
    secrets: Secrets,
    errors: Vec<CompileError>,
    /// The defaults' vars (`None`) and each group's, resolved once and shared by every host
    /// they apply to: a long list in the defaults is one list, not one per host.
    shared_layers: HashMap<Option<String>, Arc<[ResolvedVar]>>,
}

/// A var of one layer with its secrets resolved (`None` after a fault, reported once).
struct ResolvedVar {
    name: String,
    value: Option<Arc<Value>>,
    origin: Origin,
}

impl Loader<'_> {
    fn hosts(&mut self, raw: &RawInventory) -> Vec<Host> {
        for (name, secret) in raw.secrets.iter() {
            let origin = origin_of(self.file, name);
            let declared = &secret.value;
            self.secrets.declare(
                &name.value,
                declared.env.clone(),
                declared.file.as_deref(),
                self.base,
                origin,
            );
        }
        self.check_connection(&raw.defaults.connection);
        let known: Vec<String> = raw
            .hosts
            .iter()
            .map(|(name, _)| name.value.clone())
            .collect();
        for (group, body) in raw.groups.iter() {
            self.check_name(NameKind::HostName, group);
            for member in &body.hosts {
                if !known.contains(&member.value) {
                    let kind = CompileErrorKind::UnknownHost {
                        name: member.value.clone(),
                        known: known.clone(),
                    };
                    let label = format!("not a host of this inventory (group `{}`)", group.value);
                    self.errors.push(CompileError::new(
                        kind,
                        &origin_of(self.file, member),
                        label,
                    ));
                }
            }
        }
        raw.hosts
            .iter()
            .filter_map(|(name, body)| self.host(raw, name, body))
            .collect()
    }

    fn host(
        &mut self,
        raw: &RawInventory,
        name: &Spanned<String>,
        body: &raw::RawHost,
    ) -> Option<Host> {
        let valid = self.check_name(NameKind::HostName, name);
        self.check_name(NameKind::Address, &body.address);
        self.check_connection(&body.connection);
        let groups: Vec<_> = raw
            .groups
            .iter()
            .filter(|(_, group)| group.hosts.iter().any(|member| member.value == name.value))
            .collect();

        let mut vars = BTreeMap::new();
        let mut var_origins: Vec<(String, Origin)> = Vec::new();
        let shared = std::iter::once((None, &raw.defaults.vars)).chain(
            groups
                .iter()
                .map(|(group, body)| (Some(group.value.clone()), &body.vars)),
        );
        let mut layers: Vec<Arc<[ResolvedVar]>> = shared
            .map(|(key, layer)| self.shared_layer(key, layer))
            .collect();
        layers.push(self.resolve_layer(&body.vars));
        for var in layers.iter().flat_map(|layer| layer.iter()) {
            if let Some(value) = &var.value {
                vars.insert(var.name.clone(), Arc::clone(value));
                var_origins.retain(|(name, _)| *name != var.name);
                var_origins.push((var.name.clone(), var.origin.clone()));
            }
        }

        let mut modules: Vec<ModuleUse> = Vec::new();
        let uses = raw
            .defaults
            .modules
            .iter()
            .chain(groups.iter().flat_map(|(_, group)| group.modules.iter()))
            .chain(body.modules.iter());
        for module_use in uses {
            self.merge_module(module_use, &mut modules);
        }

        let connection = connection(&raw.defaults.connection, &body.connection, self.base);
        valid.then(|| Host {
            name: name.value.clone(),
            os: body.os,
            address: body.address.value.clone(),
            connection,
            vars,
            var_origins,
            modules,
            origin: origin_of(self.file, name),
        })
    }

    fn shared_layer(
        &mut self,
        key: Option<String>,
        layer: &SpannedMap<Spanned<Value>>,
    ) -> Arc<[ResolvedVar]> {
        if let Some(resolved) = self.shared_layers.get(&key) {
            return Arc::clone(resolved);
        }
        let resolved = self.resolve_layer(layer);
        self.shared_layers.insert(key, Arc::clone(&resolved));
        resolved
    }

    fn resolve_layer(&mut self, layer: &SpannedMap<Spanned<Value>>) -> Arc<[ResolvedVar]> {
        layer
            .iter()
            .map(|(name, value)| {
                let origin = origin_of(self.file, value);
                let value = match self.resolve_secrets(&value.value, &origin) {
                    Ok(resolved) => Some(Arc::new(resolved)),
                    Err(error) => {
                        self.errors.extend(error);
                        None
                    }
                };
                ResolvedVar {
                    name: name.value.clone(),
                    value,
                    origin,
                }
            })
            .collect()
    }

    /// Replaces every `{ secret: NAME }` in a value by the secret's token. `Err(None)` when
    /// the fault was reported already.
    fn resolve_secrets(
        &mut self,
        value: &Value,
        origin: &Origin,
    ) -> Result<Value, Option<CompileError>> {
        Ok(match value {
            Value::Object(map) => match (map.len(), map.get("secret")) {
                (1, Some(Value::String(name))) => {
                    Value::String(self.secrets.resolve(name, origin)?)
                }
                _ => Value::Object(
                    map.iter()
                        .map(|(key, inner)| Ok((key.clone(), self.resolve_secrets(inner, origin)?)))
                        .collect::<Result<_, Option<CompileError>>>()?,
                ),
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.resolve_secrets(item, origin))
                    .collect::<Result<_, _>>()?,
            ),
            other => other.clone(),
        })
    }

    /// A module named again (by a group and then the host, say) is one use; later params win.
    fn merge_module(&mut self, module_use: &RawModuleUse, modules: &mut Vec<ModuleUse>) {
        let mut params = Vec::new();
        for (name, value) in module_use.params.iter() {
            let origin = origin_of(self.file, value);
            match self.resolve_secrets(&value.value, &origin) {
                Ok(resolved) => params.push(GivenParam {
                    name: name.value.clone(),
                    value: resolved,
                    key: origin_of(self.file, name),
                    at: origin,
                }),
                Err(error) => self.errors.extend(error),
            }
        }
        let origin = origin_of(self.file, &module_use.module);
        match modules
            .iter_mut()
            .find(|used| used.name == module_use.module.value)
        {
            Some(existing) => {
                for param in params {
                    existing.params.retain(|given| given.name != param.name);
                    existing.params.push(param);
                }
                existing.origin = origin;
            }
            None => modules.push(ModuleUse {
                name: module_use.module.value.clone(),
                origin,
                params,
            }),
        }
    }

    /// Checks what a `connection:` block sets, where it is written (once for `defaults`).
    /// The user travels to sshd in the protocol, never through a shell, but a user name that
    /// cannot exist is a typo or an attack either way.
    fn check_connection(&mut self, connection: &RawConnection) {
        if let Some(port) = &connection.port
            && port.value == 0
        {
            let kind = CompileErrorKind::WrongType {
                expected: "a port from 1 to 65535".into(),
                found: "0".into(),
            };
            self.errors.push(CompileError::new(
                kind,
                &origin_of(self.file, port),
                "no TCP connection goes to port 0",
            ));
        }
        if let Some(user) = &connection.user {
            self.check_name(NameKind::User, user);
        }
    }

    fn check_name(&mut self, kind: NameKind, name: &Spanned<String>) -> bool {
        match kind.check(&name.value) {
            Ok(()) => true,
            Err(reason) => {
                let error = CompileErrorKind::InvalidName {
                    what: kind,
                    value: name.value.clone(),
                    reason,
                };
                self.errors.push(CompileError::new(
                    error,
                    &origin_of(self.file, name),
                    "invalid",
                ));
                false
            }
        }
    }
}

fn connection(defaults: &RawConnection, host: &RawConnection, base: &Path) -> Connection {
    let pick =
        |field: fn(&RawConnection) -> Option<String>| field(host).or_else(|| field(defaults));
    Connection {
        port: host
            .port
            .as_ref()
            .or(defaults.port.as_ref())
            .map(|port| port.value),
        user: pick(|c| c.user.as_ref().map(|u| u.value.clone())),
        become_method: host
            .become_method
            .or(defaults.become_method)
            .unwrap_or_default(),
        identity_file: pick(|c| c.identity_file.clone()).map(|p| base.join(p)),
        known_hosts: pick(|c| c.known_hosts.clone()).map(|p| base.join(p)),
    }
}
