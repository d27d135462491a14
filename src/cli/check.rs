//! `f3s check`: load, compile and build the graph, touching no host.

use std::process::ExitCode;

use clap::Args;

use crate::cli::{Failure, InventoryArg, load};

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    inventory: InventoryArg,
}

pub fn run(args: CheckArgs) -> Result<ExitCode, Failure> {
    let loaded = load(&args.inventory)?;
    println!(
        "{}: {} hosts, {} resources, {} edges, no cycles",
        loaded.inventory.path.display(),
        loaded.inventory.hosts.len(),
        loaded.graph.resources.len(),
        loaded.graph.edge_count()
    );
    Ok(ExitCode::SUCCESS)
}
