//! Transports: the one place that reads from and writes to hosts. Kinds hand them typed
//! probes and operations; the SSH transport turns them into shell (see `shell`), the fixture
//! transport answers from recorded state and applies to it in memory.

pub mod bounded;
pub mod error;
pub mod fixture;
pub mod identity;
pub mod relay;
pub mod shell;
pub mod ssh;
pub mod ssh_config;
pub mod watchdog;

use crate::batch::{Batch, UnitOutcome};
use crate::host_state::HostState;
use crate::inventory::host::Host;
use crate::probe::Probe;
use crate::status_check::{Reading, StatusRead, Unread};
pub use error::TransportError;

/// How a command run on a host ended.
#[derive(Debug, Clone)]
pub struct CommandRun {
    pub status: i32,
    /// What it printed, stdout and stderr together.
    pub output: String,
}

pub trait Transport: Sync {
    /// Starts connecting to `hosts` in the background, so the connections open while the
    /// inventory compiles; a host's first use waits for its connection, or reports why it
    /// failed. Where there is no wire, nothing to do.
    fn connect_ahead(&self, _hosts: &[Host]) {}

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

    /// Removes the temporary files an interrupted write left (`HostState::leftovers`, only
    /// f3s's `DIR/.f3s.PID.N`), under the apply lock.
    fn remove_leftovers(&self, host: &Host, paths: &[String]) -> Result<(), TransportError>;

    /// Takes the host's apply lock, or says who holds it. Held until `unlock` or until the
    /// connection goes.
    fn lock(&self, host: &Host, holder: &str) -> Result<(), TransportError>;

    fn unlock(&self, host: &Host);

    /// Runs `command`, a shell command line from the inventory (a rollout's health check),
    /// with `sh -c` as root through the host's `become`, and says how it ended. `None` where
    /// commands cannot run: the fixture transport, whose hosts are recorded state, keeps this.
    fn run_command(
        &self,
        _host: &Host,
        _command: &str,
    ) -> Result<Option<CommandRun>, TransportError> {
        Ok(None)
    }

    /// Reads a host's status checks (`f3s status`), each with its timeout in seconds, in one
    /// read-only exec: what each read gave, in order. `None` where nothing runs on hosts (the
    /// fixture transport keeps this).
    fn read_status(
        &self,
        _host: &Host,
        _reads: &[(&StatusRead, u32)],
    ) -> Result<Option<Vec<Result<Reading, Unread>>>, TransportError> {
        Ok(None)
    }
}
