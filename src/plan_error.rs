//! Why a plan could not be made: a host that could not be observed, or a resource whose
//! change cannot be decided from what was observed.

use miette::Diagnostic;
use thiserror::Error;

use crate::transport::TransportError;

#[derive(Debug, Error, Diagnostic)]
pub enum PlanError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Observe(#[from] TransportError),
    #[error("cannot plan `{address}`: {reason}")]
    #[diagnostic(help("fix what the message names, then plan again"))]
    Undecidable { address: String, reason: String },
}
