//! Transports: the one place that reads from (and later writes to) hosts. Kinds hand them
//! typed probes; they hand back the answers as a `HostState`.

pub mod fixture;

use miette::Diagnostic;
use thiserror::Error;

use crate::compile_error::CompileError;
use crate::host_state::HostState;
use crate::inventory::host::Host;
use crate::probe::Probe;

pub trait Transport: Sync {
    /// Answers all of a host's probes at once (one round trip, where there is a wire).
    fn observe(&self, host: &Host, probes: &[Probe]) -> Result<HostState, ObserveError>;
}

#[derive(Debug, Error, Diagnostic)]
pub enum ObserveError {
    /// A recorded host state that is missing or malformed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Recorded(#[from] CompileError),
}
