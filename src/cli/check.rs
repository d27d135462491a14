//! `f3s check`: load, compile and build the graph, touching no host. It needs no secret's
//! value (a secret without one is noted), so CI can check the real inventory.

use std::process::ExitCode;

use clap::Args;

use super::failure::Failure;
use super::load::{InventoryArg, load, note_missing_secrets};

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    inventory: InventoryArg,
}

pub fn run(args: CheckArgs) -> Result<ExitCode, Failure> {
    let loaded = load(&args.inventory)?;
    note_missing_secrets(&loaded.inventory);
    println!(
        "{}: {} hosts, {} resources, {} edges, no cycles",
        loaded.inventory.path.display(),
        loaded.inventory.hosts.len(),
        loaded.graph.resources.len(),
        loaded.graph.edge_count()
    );
    Ok(ExitCode::SUCCESS)
}
