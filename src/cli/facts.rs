//! `f3s facts`: the observed state of hosts (all of the inventory's, or those named), in the
//! recorded-state format that `--state` reads, so a live cluster is recorded for dry runs in
//! CI with one command. Secrets appear as keyed fingerprints only.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::failure::{Failure, require_persistent_key, unreached_hosts};
use super::load::{InventoryArg, TransportArgs, load};
use crate::compile_error::CompileErrors;
use crate::host_state::HostState;
use crate::inventory::host::Host;
use crate::plan;
use crate::probe::Probe;

#[derive(Debug, Args)]
pub struct FactsArgs {
    #[command(flatten)]
    inventory: InventoryArg,
    #[command(flatten)]
    transport: TransportArgs,
    /// Only these hosts (comma-separated); all of the inventory's when no host is named.
    #[arg(long = "host", value_name = "HOST", value_delimiter = ',', add = super::completions::hosts())]
    hosts: Vec<String>,
    /// Hosts to observe, as --host (`f3s facts f0` is `f3s facts --host f0`).
    #[arg(value_name = "HOST", add = super::completions::hosts())]
    host: Vec<String>,
    /// Write DIR/HOST.yml for each host instead of printing (the layout `--state DIR` reads).
    #[arg(long, value_name = "DIR")]
    save: Option<PathBuf>,
}

pub fn run(args: FactsArgs) -> Result<ExitCode, Failure> {
    let loaded = load(&args.inventory)?.with_digest_key()?;
    let inventory = &loaded.inventory;
    let names: Vec<String> = args.hosts.into_iter().chain(args.host).collect();
    let unknown = crate::selection::unknown_hosts(inventory, &names);
    if !unknown.is_empty() {
        return Err(CompileErrors(unknown).into());
    }
    let hosts: Vec<&Host> = inventory
        .hosts
        .iter()
        .filter(|host| names.is_empty() || names.contains(&host.name))
        .collect();
    let everything: Vec<usize> = (0..loaded.graph.resources.len()).collect();
    let mut probes = plan::probes_by_host(inventory, &loaded.graph, &everything);
    // A host with no resources is still observed: its recording says what OS it runs.
    let mut recording_probes: BTreeMap<String, Vec<Probe>> = hosts
        .iter()
        .map(|host| {
            let probes = probes.remove(&host.name).unwrap_or_default();
            let probes = probes.into_iter().map(Probe::for_recording).collect();
            (host.name.clone(), probes)
        })
        .collect();
    // The host's record of what f3s manages there, as every plan reads it.
    plan::with_records(inventory, &mut recording_probes);
    let transport = args.transport.transport()?;
    let (states, unreached) = plan::observe(inventory, recording_probes, transport.as_ref());

    let mut refused = Vec::new();
    let mut documents = Vec::new();
    for host in &hosts {
        let Some(state) = states.get(&host.name) else {
            continue;
        };
        if args.save.is_some() {
            let what = format!("record {}", host.name);
            if let Err(refusal) = require_persistent_key(state.holds_hidden(), &what) {
                refused.extend(refusal.reports);
                continue;
            }
        }
        documents.push((host, recording(host, state)?));
    }
    match &args.save {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            for (host, text) in documents {
                std::fs::write(dir.join(format!("{}.yml", host.name)), text)?;
            }
        }
        None => {
            let texts: Vec<String> = documents.into_iter().map(|(_, text)| text).collect();
            std::io::stdout().write_all(texts.join("---\n").as_bytes())?;
        }
    }
    // The hosts not recorded, after those that were.
    let mut reports = match unreached_hosts(unreached.into_values()) {
        Ok(()) => Vec::new(),
        Err(failure) => failure.reports,
    };
    reports.extend(refused);
    if !reports.is_empty() {
        return Err(Failure::new(reports));
    }
    Ok(ExitCode::SUCCESS)
}

/// A host's state as one YAML document, headed by the command that records it again.
fn recording(host: &Host, state: &HostState) -> Result<String, Failure> {
    let yaml = document(state).map_err(|e| Failure::new(vec![miette::miette!("{e}")]))?;
    Ok(format!("# Observed by `f3s facts {}`.\n{yaml}", host.name))
}

/// `state` as YAML, with no character of a host's text printed raw that could drive a
/// terminal or show text other than it is (`visible::is_hidden`). serde-saphyr escapes the
/// controls (`"\e[2A"`) but writes bidi, zero-width and tag characters as they are, and has
/// no way to escape them; a state holding any is written as JSON instead, which is YAML too
/// (a flow mapping) and carries them as `\u` escapes: the recording reads back the same.
fn document(state: &HostState) -> Result<String, String> {
    let yaml = serde_saphyr::to_string(state).map_err(|e| e.to_string())?;
    if !yaml
        .chars()
        .any(|c| crate::visible::is_hidden(c) && c != '\n' && c != '\t')
    {
        return Ok(yaml);
    }
    let mut json = crate::visible::json_pretty(state).map_err(|e| e.to_string())?;
    json.push('\n');
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host_state::FileState;
    use crate::sensitive::Observed;

    /// A state whose file holds `content`, written as `facts` writes it and read back as
    /// `--state` reads it.
    fn round_trip(content: &str) -> (String, HostState) {
        let mut state = HostState::default();
        state.files.insert(
            "/etc/motd".into(),
            FileState {
                content: Observed::Plain(content.into()),
                mode: "0644".into(),
                owner: "root".into(),
                group: "wheel".into(),
            },
        );
        let text = format!(
            "# Observed by `f3s facts h`.\n{}",
            document(&state).unwrap()
        );
        let file = crate::source::SourceFile::new("h.yml", text.clone());
        (text, crate::yaml::parse(&file).unwrap())
    }

    #[test]
    fn a_recording_prints_no_control_and_reads_back_the_same() {
        for content in [
            "\x1b[2A\x1b[2K\x1b[32mNo changes.\x1b[0m\n",
            "\x1b]52;c;ZWNobw==\x07\u{9b}2J\x7f\r\n",
            "user \u{202e}nimda\u{202c} x\u{2066}y\u{2069}\n",
            "zero\u{200b}width\u{feff} tag\u{e0041}\n",
            "plain\ttext\n",
        ] {
            let (text, read) = round_trip(content);
            assert!(
                !text
                    .chars()
                    .any(|c| crate::visible::is_hidden(c) && c != '\n' && c != '\t'),
                "{text:?}"
            );
            let read = &read.files["/etc/motd"];
            assert_eq!(read.content, Observed::Plain(content.into()), "{text}");
        }
        assert!(
            round_trip("plain\n").0.contains("content: |"),
            "YAML as before"
        );
    }
}
