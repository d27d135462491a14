//! Why a plan could not be made: a resource whose change cannot be decided from what was
//! observed. (A host that cannot be observed is left out of the plan, not an error of it.)

use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum PlanError {
    #[error("cannot plan `{address}`: {reason}")]
    #[diagnostic(help("fix what the message names, then plan again"))]
    Undecidable { address: String, reason: String },
}
