//! The fixture transport: answers probes from recorded host state, `<dir>/<host>.yml` in the
//! format of `HostState`, so a plan runs in CI with no network. Operations apply to the
//! recorded state in memory (`HostState::apply`); nothing is written back. With no host to run
//! on, a write's `validate` command is not run (the write applies as if it passed) and no
//! backup is kept (a unit reports none).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::batch::{Batch, UnitOutcome};
use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::host_state::HostState;
use crate::inventory::host::Host;
use crate::probe::Probe;
use crate::sensitive::Observed;
use crate::source::Origin;
use crate::transport::{Transport, TransportError};
use crate::yaml;

pub struct FixtureTransport {
    dir: PathBuf,
    /// Recorded states read so far, with the operations applied to them.
    states: Mutex<BTreeMap<String, HostState>>,
}

impl FixtureTransport {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            states: Mutex::default(),
        }
    }

    fn with_state<T>(
        &self,
        host: &Host,
        use_state: impl FnOnce(&mut HostState) -> T,
    ) -> Result<T, TransportError> {
        let mut states = self
            .states
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !states.contains_key(&host.name) {
            let recorded = self.read(host)?;
            states.insert(host.name.clone(), recorded);
        }
        Ok(use_state(
            states.get_mut(&host.name).expect("inserted above"),
        ))
    }

    fn read(&self, host: &Host) -> Result<HostState, TransportError> {
        let path = self.dir.join(format!("{}.yml", host.name));
        if !path.is_file() {
            let kind = CompileErrorKind::MissingHostState {
                host: host.name.clone(),
                path: path.display().to_string(),
            };
            return Err(CompileError::new(kind, &host.origin, "this host").into());
        }
        let file = yaml::read_source(&path)?;
        let recorded: HostState = yaml::parse(&file)?;
        if let Some(os) = recorded.os
            && os != host.os
        {
            let kind = CompileErrorKind::OsMismatch {
                host: host.name.clone(),
                recorded: os.to_string(),
                declared: host.os.to_string(),
            };
            return Err(CompileError::new(kind, &Origin::whole(&file), "recorded here").into());
        }
        Ok(recorded)
    }
}

impl Transport for FixtureTransport {
    fn observe(&self, host: &Host, probes: &[Probe]) -> Result<HostState, TransportError> {
        self.with_state(host, |state| state.answer(probes))
    }

    fn run_batch(
        &self,
        host: &Host,
        batch: &Batch,
        report: &mut dyn FnMut(usize, UnitOutcome),
    ) -> Result<(), TransportError> {
        self.with_state(host, |state| {
            batch.run_each(
                |op| {
                    crate::prediction::apply(state, op);
                    Ok(())
                },
                report,
            );
        })
    }

    fn remove_leftovers(&self, host: &Host, paths: &[String]) -> Result<(), TransportError> {
        self.with_state(host, |state| {
            state.leftovers.retain(|leftover| !paths.contains(leftover));
        })
    }

    fn read_file(&self, host: &Host, path: &str) -> Result<Vec<u8>, TransportError> {
        let content = self.with_state(host, |state| {
            state.files.get(path).map(|file| file.content.clone())
        })?;
        match content {
            Some(Observed::Plain(text)) => Ok(text.as_str().into_owned().into_bytes()),
            _ => Err(TransportError::Unsupported {
                host: host.name.clone(),
                message: format!("{path} has no recorded content to copy"),
            }),
        }
    }

    fn lock(&self, _host: &Host, _holder: &str) -> Result<(), TransportError> {
        Ok(())
    }

    fn unlock(&self, _host: &Host) {}
}
