//! The fixture transport: answers probes from recorded host state, `<dir>/<host>.yml` in the
//! format of `HostState`, so a plan runs in CI with no network.

use std::path::PathBuf;

use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::host_state::HostState;
use crate::inventory::host::Host;
use crate::probe::Probe;
use crate::source::Origin;
use crate::transport::{ObserveError, Transport};
use crate::yaml;

pub struct FixtureTransport {
    dir: PathBuf,
}

impl FixtureTransport {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }
}

impl Transport for FixtureTransport {
    fn observe(&self, host: &Host, probes: &[Probe]) -> Result<HostState, ObserveError> {
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
        Ok(recorded.answer(probes))
    }
}
