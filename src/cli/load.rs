//! What every command starts with: the arguments naming the inventory, the hosts in scope and
//! how to reach them, and the inventory loaded, compiled and built into the graph.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::failure::Failure;
use crate::compile;
use crate::graph::ResourceGraph;
use crate::inventory::host::Host;
use crate::inventory::{Inventory, LoadOptions};
use crate::transport::Transport;
use crate::transport::fixture::FixtureTransport;
use crate::transport::ssh::{SshOptions, SshTransport};
use crate::transport::ssh_config::{ConfigFiles, SshConfig};

#[derive(Debug, Args)]
pub(super) struct InventoryArg {
    /// The inventory file [default: inventory/f3s.yml; for `apply PLANFILE`, the plan's].
    #[arg(short = 'i', long = "inventory", value_name = "FILE")]
    pub(super) inventory: Option<PathBuf>,
    /// Read secret and digest-key files that group or others may read (refused otherwise,
    /// as ssh refuses such a private key).
    #[arg(long)]
    pub(super) allow_open_secret_files: bool,
}

impl InventoryArg {
    pub(super) fn load(&self) -> Result<Inventory, Failure> {
        let options = LoadOptions {
            allow_open_secret_files: self.allow_open_secret_files,
        };
        Ok(Inventory::load_with(&self.path(), options)?)
    }

    /// The inventory given, else the default.
    pub(super) fn path(&self) -> PathBuf {
        self.inventory
            .clone()
            .unwrap_or_else(|| PathBuf::from(crate::inventory::DEFAULT_PATH))
    }
}

/// How to reach hosts: over SSH, or from recorded state.
#[derive(Debug, Args)]
pub(super) struct TransportArgs {
    /// Use recorded host state in DIR (one HOST.yml per host) instead of connecting.
    #[arg(long, value_name = "DIR")]
    pub(super) state: Option<PathBuf>,
    /// Add the keys of hosts not yet in known_hosts (a changed key is always refused).
    #[arg(long)]
    pub(super) accept_new_host_keys: bool,
    /// Seconds a connection may take, through its jump hosts, handshake and authentication
    /// included [default: ssh_config's ConnectTimeout, else 10].
    #[arg(long, value_name = "SECS")]
    pub(super) connect_timeout: Option<u64>,
    /// Seconds one remote command may take from start to end, however slowly its answer
    /// trickles in; past it, f3s closes the connection.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub(super) command_timeout: u64,
    /// Read only this ssh_config file (`none`: no file), as `ssh -F`; by default
    /// ~/.ssh/config, then /etc/ssh/ssh_config. The inventory's `connection:` wins over it.
    #[arg(long, value_name = "FILE", env = "F3S_SSH_CONFIG")]
    pub(super) ssh_config: Option<PathBuf>,
}

impl TransportArgs {
    pub(super) fn transport(&self) -> Result<Box<dyn Transport>, Failure> {
        Ok(match &self.state {
            Some(dir) => Box::new(FixtureTransport::new(dir.clone())),
            None => {
                // Read once, before any host: a file ssh could not read stops the run, as
                // it stops ssh.
                let files = ConfigFiles::from_option(self.ssh_config.as_deref());
                let ssh_config = SshConfig::load(&files)
                    .map_err(|error| Failure::new(vec![miette::Report::new(error)]))?;
                Box::new(SshTransport::new(SshOptions {
                    connect_timeout: self.connect_timeout.map(Duration::from_secs),
                    command_timeout: Duration::from_secs(self.command_timeout),
                    accept_new_host_keys: self.accept_new_host_keys,
                    ssh_config: Arc::new(ssh_config),
                }))
            }
        })
    }
}

/// Which hosts and resources a command works on.
#[derive(Debug, Args)]
pub(super) struct ScopeArgs {
    /// Only these hosts (comma-separated).
    #[arg(long, value_name = "HOST", value_delimiter = ',', add = super::completions::hosts())]
    pub(super) host: Vec<String>,
    /// Only these resources (host/kind:name, comma-separated) and what they depend on.
    #[arg(long, value_name = "ADDR", value_delimiter = ',')]
    pub(super) target: Vec<String>,
}

impl ScopeArgs {
    /// `selected[i]` says whether resource `i` is in scope.
    pub(super) fn select(&self, loaded: &Loaded) -> Result<Vec<bool>, Failure> {
        crate::selection::select(&loaded.graph, &loaded.inventory, &self.host, &self.target)
            .map_err(Failure::from)
    }
}

/// What the commands that work on hosts (plan, apply) take: the inventory, how to reach the
/// hosts, and which hosts and resources.
#[derive(Debug, Args)]
pub(super) struct HostArgs {
    #[command(flatten)]
    inventory: InventoryArg,
    #[command(flatten)]
    transport: TransportArgs,
    #[command(flatten)]
    scope: ScopeArgs,
}

/// A command on hosts, started: its transport, the inventory loaded, and which resources
/// (by index in the graph) are in scope.
pub(super) type Started = (Box<dyn Transport>, Loaded, Vec<bool>);

impl HostArgs {
    /// Uses `path` as the inventory unless one was given (a saved plan names its own).
    pub(super) fn inventory_unless_given(&mut self, path: PathBuf) {
        self.inventory.inventory.get_or_insert(path);
    }

    /// The transport, the inventory loaded (connecting meanwhile) with its digest key, and
    /// which resources are in scope; secrets without a value are noted.
    pub(super) fn start(&self) -> Result<Started, Failure> {
        let transport = self.transport.transport()?;
        let loaded =
            load_connecting(&self.inventory, &self.scope, transport.as_ref())?.with_digest_key()?;
        note_missing_secrets(&loaded.inventory);
        let selected = self.scope.select(&loaded)?;
        Ok((transport, loaded, selected))
    }
}

/// What every command starts with: the inventory, compiled and checked.
pub(super) struct Loaded {
    pub(super) inventory: Inventory,
    pub(super) graph: ResourceGraph,
}

pub(super) fn load(arg: &InventoryArg) -> Result<Loaded, Failure> {
    compiled(arg.load()?)
}

/// As `load`, connecting to the hosts `scope` names (all, unless `--host` narrows them) while
/// the inventory compiles: at thousands of resources a host, compiling takes as long as
/// connecting.
pub(super) fn load_connecting(
    arg: &InventoryArg,
    scope: &ScopeArgs,
    transport: &dyn Transport,
) -> Result<Loaded, Failure> {
    let inventory = arg.load()?;
    let named: Vec<Host> = inventory
        .hosts
        .iter()
        .filter(|host| scope.host.is_empty() || scope.host.contains(&host.name))
        .cloned()
        .collect();
    transport.connect_ahead(&named);
    compiled(inventory)
}

/// For `status`: the inventory and every status check, connecting meanwhile to the hosts
/// `hosts` names (all, unless it names some). A name that is no host of the
/// inventory is refused.
pub(super) fn compiled_status(
    arg: &InventoryArg,
    hosts: &[String],
    transport: &dyn Transport,
) -> Result<(Inventory, Vec<crate::status_check::StatusCheck>), Failure> {
    let inventory = arg.load()?;
    let unknown: Vec<miette::Report> = hosts
        .iter()
        .filter(|name| inventory.host(name).is_none())
        .map(|name| miette::Report::new(UnknownHost { name: name.clone() }))
        .collect();
    if !unknown.is_empty() {
        return Err(Failure::new(unknown));
    }
    let named: Vec<Host> = inventory
        .hosts
        .iter()
        .filter(|host| hosts.is_empty() || hosts.contains(&host.name))
        .cloned()
        .collect();
    transport.connect_ahead(&named);
    inventory.install_secrets();
    // Every host's checks: what spans hosts needs to know which hosts have a check.
    let (_, checks) = compile::compile_with_status(&inventory)?;
    Ok((inventory, checks))
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("`{name}` is not a host of the inventory")]
#[diagnostic(help("name hosts as the inventory's `hosts:` does"))]
struct UnknownHost {
    name: String,
}

pub(super) fn compiled(inventory: Inventory) -> Result<Loaded, Failure> {
    inventory.install_secrets();
    let resources = compile::compile(&inventory)?;
    let graph = ResourceGraph::build(resources, &inventory)?;
    Ok(Loaded { inventory, graph })
}

impl Loaded {
    /// For what shows or records fingerprints: a declared digest key must have its value
    /// (a secret without one only leaves out what needs it).
    pub(super) fn with_digest_key(mut self) -> Result<Self, Failure> {
        match std::mem::replace(&mut self.inventory.digest_key, Ok(None)) {
            Err(error) => Err(error.into()),
            key => {
                self.inventory.digest_key = key;
                Ok(self)
            }
        }
    }
}

/// Says which secrets have no value in this run, and so what a plan leaves out.
pub(super) fn note_missing_secrets(inventory: &Inventory) {
    for missing in inventory.secrets.unavailable() {
        eprintln!(
            "note: secret `{}` has no value ({}); what is rendered from it is left out of plans",
            missing.name, missing.reason
        );
    }
}
