//! `f3s facts`: a host's observed state, in the recorded-state format that `--state` reads,
//! so a real host can be recorded for dry runs in CI. Secrets appear as keyed fingerprints only.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::cli::{Failure, InventoryArg, TransportArgs, load};
use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::plan;
use crate::probe::Probe;

#[derive(Debug, Args)]
pub struct FactsArgs {
    #[command(flatten)]
    inventory: InventoryArg,
    #[command(flatten)]
    transport: TransportArgs,
    /// The host to observe.
    host: String,
    /// Write DIR/HOST.yml instead of printing.
    #[arg(long, value_name = "DIR")]
    save: Option<PathBuf>,
}

pub fn run(args: FactsArgs) -> Result<ExitCode, Failure> {
    let loaded = load(&args.inventory)?.with_digest_key()?;
    let Some(host) = loaded.inventory.host(&args.host) else {
        return Err(CompileError::unplaced(CompileErrorKind::UnknownHost {
            name: args.host.clone(),
            known: loaded.inventory.host_names(),
        })
        .into());
    };
    let everything: Vec<usize> = (0..loaded.graph.resources.len()).collect();
    let probes: Vec<Probe> = plan::probes_by_host(&loaded.inventory, &loaded.graph, &everything)
        .remove(&host.name)
        .unwrap_or_default()
        .into_iter()
        .map(Probe::for_recording)
        .collect();
    let transport = args.transport.transport();
    let state = transport
        .observe(host, &probes)
        .map_err(|error| Failure::new(vec![miette::Report::new(error)]))?;
    if args.save.is_some() {
        crate::cli::require_persistent_key(state.holds_hidden(), "record the host")?;
    }
    let yaml =
        serde_saphyr::to_string(&state).map_err(|e| Failure::new(vec![miette::miette!("{e}")]))?;
    let text = format!("# Observed by `f3s facts {}`.\n{yaml}", host.name);
    match args.save {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join(format!("{}.yml", host.name)), text)?;
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
