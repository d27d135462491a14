//! Ctrl-C and SIGTERM. While nothing is being changed (loading, planning, asking for
//! confirmation) f3s exits at once with 130: a host's lock goes with its connection. While an
//! apply runs, the first signal stops new operations from starting; those under way finish
//! (a write is installed whole or not at all), and the summary says what was done, what was
//! not started. A second signal exits at once.

use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code of a run ended by a signal (128 + SIGINT), as shells report it.
pub const EXIT_CODE: u8 = 130;

static APPLYING: AtomicBool = AtomicBool::new(false);
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Installs the handler; f3s calls it once at start.
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        if !APPLYING.load(Ordering::SeqCst) || REQUESTED.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_CODE));
        }
        eprintln!(
            "\nInterrupted: no new operation starts; waiting for those under way to end (interrupt again to quit at once)"
        );
    });
}

/// Whether a stop was asked for during the apply.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Marks the span in which a signal asks for a clean stop rather than ending f3s.
pub struct Applying;

impl Applying {
    pub fn start() -> Self {
        APPLYING.store(true, Ordering::SeqCst);
        Applying
    }
}

impl Drop for Applying {
    fn drop(&mut self) {
        APPLYING.store(false, Ordering::SeqCst);
    }
}
