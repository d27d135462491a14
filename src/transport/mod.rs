//! Transports: the one place that reads from and writes to hosts. Kinds hand them typed
//! probes and operations; the SSH transport turns them into shell (see `shell`), the fixture
//! transport answers from recorded state and applies to it in memory.

pub mod error;
pub mod fixture;
pub mod shell;
pub mod ssh;

use crate::batch::{Batch, UnitOutcome};
use crate::host_state::HostState;
use crate::inventory::host::Host;
use crate::probe::Probe;
pub use error::TransportError;

pub trait Transport: Sync {
    /// Answers all of a host's probes at once (one round trip, where there is a wire).
    fn observe(&self, host: &Host, probes: &[Probe]) -> Result<HostState, TransportError>;

    /// Runs a batch of a host's operations (one remote exec, where there is a wire), telling
    /// `report` each unit's outcome as soon as it is known. An error means the batch was cut
    /// short: units not reported did not finish. `CopyFile` arrives here as the `WriteFile`
    /// apply made of it.
    fn run_batch(
        &self,
        host: &Host,
        batch: &Batch,
        report: &mut dyn FnMut(usize, UnitOutcome),
    ) -> Result<(), TransportError>;

    /// A file's bytes, for copying it to another host.
    fn read_file(&self, host: &Host, path: &str) -> Result<Vec<u8>, TransportError>;

    /// Takes the host's apply lock, or says who holds it. Held until `unlock` or until the
    /// connection goes.
    fn lock(&self, host: &Host, holder: &str) -> Result<(), TransportError>;

    fn unlock(&self, host: &Host);
}
