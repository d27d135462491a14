//! Transports: the one place that reads from and writes to hosts. Kinds hand them typed
//! probes and operations; the SSH transport turns them into shell (see `shell`), the fixture
//! transport answers from recorded state and applies to it in memory.

pub mod error;
pub mod fixture;
pub mod shell;
pub mod ssh;

use crate::host_state::HostState;
use crate::inventory::host::Host;
use crate::op::Op;
use crate::probe::Probe;
pub use error::TransportError;

pub trait Transport: Sync {
    /// Answers all of a host's probes at once (one round trip, where there is a wire).
    fn observe(&self, host: &Host, probes: &[Probe]) -> Result<HostState, TransportError>;

    /// Runs one operation. `CopyFile` arrives here as the `WriteFile` apply made of it.
    fn execute(&self, host: &Host, op: &Op) -> Result<(), TransportError>;

    /// A file's bytes, for copying it to another host.
    fn read_file(&self, host: &Host, path: &str) -> Result<Vec<u8>, TransportError>;

    /// Takes the host's apply lock, or says who holds it. Held until `unlock` or until the
    /// connection goes.
    fn lock(&self, host: &Host, holder: &str) -> Result<(), TransportError>;

    fn unlock(&self, host: &Host);
}
