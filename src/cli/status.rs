//! `f3s status`: the running cluster's health, as the modules' `status:` entries declare it;
//! with `--watch N`, again every N seconds until interrupted.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::failure::Failure;
use super::load::{InventoryArg, TransportArgs, compiled_status};
use crate::render;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    inventory: InventoryArg,
    /// Only the checks read on these hosts (comma-separated); a check across hosts (one
    /// MASTER per vhid) is judged only when all its hosts are among them.
    #[arg(long, value_name = "HOST", value_delimiter = ',', add = super::completions::hosts())]
    host: Vec<String>,
    /// Print the report as JSON (format: docs/status-json.md).
    #[arg(long)]
    json: bool,
    /// Read and print again every SECS seconds (redrawn in place on a terminal) until
    /// interrupted; the exit code is then 130.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    watch: Option<u64>,
    /// Add the keys of hosts not yet in known_hosts (a changed key is always refused).
    #[arg(long)]
    accept_new_host_keys: bool,
    /// Seconds a connection may take, through its jump hosts, handshake and authentication
    /// included [default: ssh_config's ConnectTimeout, else 10].
    #[arg(long, value_name = "SECS")]
    connect_timeout: Option<u64>,
    /// Seconds one host's reading may take from start to end; past it, f3s closes the
    /// connection and the host is a FAIL row. Each check has its own, shorter, timeout.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    command_timeout: u64,
    /// Read only this ssh_config file (`none`: no file), as `ssh -F`.
    #[arg(long, value_name = "FILE", env = "F3S_SSH_CONFIG")]
    ssh_config: Option<PathBuf>,
}

impl StatusArgs {
    fn transport_args(&self) -> TransportArgs {
        TransportArgs {
            state: None,
            accept_new_host_keys: self.accept_new_host_keys,
            connect_timeout: self.connect_timeout,
            command_timeout: self.command_timeout,
            ssh_config: self.ssh_config.clone(),
        }
    }
}

pub fn run(args: StatusArgs) -> Result<ExitCode, Failure> {
    let transport_args = args.transport_args();
    let mut transport = transport_args.transport()?;
    let (inventory, checks) = compiled_status(&args.inventory, &args.host, transport.as_ref())?;
    let redraw = args.watch.is_some() && std::io::stdout().is_terminal() && !args.json;
    loop {
        let report = crate::status::status(&inventory, &checks, &args.host, transport.as_ref());
        let shown = match args.json {
            true => render::status::json(&report),
            false => render::status::text(&report, render::stdout_color()),
        };
        let mut stdout = std::io::stdout().lock();
        if redraw {
            // Home and clear, so each reading replaces the last.
            stdout.write_all(b"\x1b[H\x1b[2J")?;
        }
        stdout.write_all(shown.as_bytes())?;
        stdout.flush()?;
        drop(stdout);
        let Some(seconds) = args.watch else {
            return Ok(ExitCode::from(report.exit_code()));
        };
        std::thread::sleep(Duration::from_secs(seconds));
        // A fresh transport each time: a host that dropped its connection is tried again,
        // not kept out for the rest of the watch.
        transport = transport_args.transport()?;
    }
}
