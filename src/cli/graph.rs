//! `f3s graph`: the resource graph as Graphviz DOT on stdout.

use std::process::ExitCode;

use clap::Args;

use super::failure::Failure;
use super::load::{InventoryArg, load};
use crate::selection;

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    inventory: InventoryArg,
    /// Only this host's resources (comma-separated for several).
    #[arg(long, value_name = "HOST", value_delimiter = ',')]
    host: Vec<String>,
}

pub fn run(args: GraphArgs) -> Result<ExitCode, Failure> {
    let loaded = load(&args.inventory)?;
    let selected = selection::select(&loaded.graph, &loaded.inventory, &args.host, &[])?;
    let dot = loaded.graph.dot(|resource| {
        let i = loaded.graph.index_of(&resource.address).unwrap_or_default();
        selected[i]
    });
    print!("{dot}");
    Ok(ExitCode::SUCCESS)
}
