//! Running fuzz cases so that a panic or a hang is reported as a failing case rather than
//! taking the test binary down or stalling it, and the settings every property shares: how
//! many cases (`F3S_FUZZ_CASES`) and from which seed (`F3S_FUZZ_SEED`).

use std::ffi::OsString;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

/// How long one case may run before it counts as hung. A debug build on a busy 2-core machine
/// plans the whole cluster in well under a second: this detects hangs, it measures no speed.
pub const HANG_AFTER: Duration = Duration::from_secs(10);

/// Cases per property when `F3S_FUZZ_CASES` is not set: enough to meet every kind of mutation
/// on every kind of input, few enough that the whole suite stays within CI's budget.
const DEFAULT_CASES: u32 = 48;

/// The stack the `f3s` binary's main thread has on Linux: a case gets as much, so an input
/// that recurses deeply fails here exactly when it would fail there.
const CASE_STACK: usize = 8 * 1024 * 1024;

/// How a case ended.
#[derive(Debug)]
pub enum Outcome<T> {
    Finished(T),
    Panicked(String),
    Hung,
}

/// Runs `case` on its own thread; a panic is caught, and a case still running after `limit`
/// is left behind and reported as hung (its thread cannot be killed, only abandoned).
pub fn bounded<T: Send + 'static>(
    limit: Duration,
    case: impl FnOnce() -> T + Send + 'static,
) -> Outcome<T> {
    let (done, outcome) = mpsc::channel();
    std::thread::Builder::new()
        .name("fuzz-case".into())
        .stack_size(CASE_STACK)
        .spawn(move || {
            let _ = done.send(catch_unwind(AssertUnwindSafe(case)));
        })
        .expect("a thread for the case");
    match outcome.recv_timeout(limit) {
        Ok(Ok(value)) => Outcome::Finished(value),
        Ok(Err(payload)) => Outcome::Panicked(panic_message(payload.as_ref())),
        Err(RecvTimeoutError::Timeout) => Outcome::Hung,
        // catch_unwind returns whatever the case does, so the sender is only dropped unsent if
        // the thread itself died (an abort takes the whole process with it instead).
        Err(RecvTimeoutError::Disconnected) => Outcome::Panicked("the case's thread died".into()),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic with a payload that is not text)".into()
    }
}

/// Cases per property: `F3S_FUZZ_CASES`, else the default.
fn cases() -> u32 {
    std::env::var("F3S_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// The seed of a property: fixed by its name, so every run tries the same inputs, unless
/// `F3S_FUZZ_SEED` (any text) asks a long run to explore others.
fn seed(property: &str) -> [u8; 32] {
    let extra = std::env::var("F3S_FUZZ_SEED").unwrap_or_default();
    let mut seed = [0u8; 32];
    // FNV-1a over the name and the extra seed, stretched over 32 bytes: a stable, even spread.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, byte) in property
        .bytes()
        .chain(extra.bytes())
        .cycle()
        .take(256)
        .enumerate()
    {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        seed[i % 32] ^= (hash >> 24) as u8;
    }
    seed
}

/// Runs `case` on inputs drawn from `strategy`, each under `bounded`, and shrinks a failure to
/// a small input. `case` says what is wrong with an input's outcome, if anything; `describe`
/// says what the input is, for the report of the smallest failing one.
pub fn check<S>(
    property: &str,
    strategy: S,
    describe: impl Fn(&S::Value) -> String,
    case: impl Fn(S::Value) -> Result<(), String> + Send + Sync + 'static,
) -> Result<(), String>
where
    S: Strategy,
    S::Value: Send + 'static,
{
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        // A hung case costs HANG_AFTER per shrinking step: bound the shrinking, not the finding.
        max_shrink_iters: 64,
        max_shrink_time: 120_000,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed(property));
    let mut runner = TestRunner::new_with_rng(config, rng);
    let case = Arc::new(case);
    let result = runner.run(&strategy, |input| {
        let input_is = describe(&input);
        let case = Arc::clone(&case);
        let fault = match bounded(HANG_AFTER, move || case(input)) {
            Outcome::Finished(Ok(())) => return Ok(()),
            Outcome::Finished(Err(fault)) => fault,
            Outcome::Panicked(message) => format!("panicked: {message}"),
            Outcome::Hung => format!("still running after {HANG_AFTER:?}"),
        };
        Err(TestCaseError::fail(format!("{fault}\n\ninput: {input_is}")))
    });
    let seed = std::env::var("F3S_FUZZ_SEED").unwrap_or_default();
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, _)) => Err(format!(
            "{property}: {reason}\n(the smallest failing case found from the seed of this \
             property's name and F3S_FUZZ_SEED={seed:?})"
        )),
        Err(TestError::Abort(reason)) => Err(format!("{property}: aborted: {reason}")),
    }
}

/// How long one run of the `f3s` binary may take: less than `HANG_AFTER`, so a hung process
/// is reported (and killed) by `run_f3s` before the harness gives up on its case.
const PROCESS_HANG_AFTER: Duration = Duration::from_secs(8);

/// How a run of the binary ended: its status and what it said on standard error.
#[derive(Debug)]
pub struct Ran {
    pub status: ExitStatus,
    pub stderr: String,
}

impl Ran {
    /// What is wrong with how the run ended, if anything: a panic, a signal (an abort, a
    /// stack overflow), or an exit code f3s does not promise (0, 1 and 2).
    pub fn fault(&self) -> Option<String> {
        let crashed =
            self.stderr.contains("panicked at") || !matches!(self.status.code(), Some(0..=2));
        crashed.then(|| format!("f3s ended with {}:\n{}", self.status, self.stderr))
    }
}

/// Runs the `f3s` binary with `args` in `dir`, with no standard input, no colour, and the CARP
/// password in the environment only if `carp_password` is given; a run past
/// `PROCESS_HANG_AFTER` is killed and given as `None`. Standard error goes to a file, so a long
/// message cannot stall the process on a full pipe.
pub fn run_f3s(dir: &Path, args: &[OsString], carp_password: Option<&str>) -> Option<Ran> {
    let stderr = tempfile::NamedTempFile::new().expect("a file for standard error");
    let mut command = Command::new(env!("CARGO_BIN_EXE_f3s"));
    match carp_password {
        Some(password) => command.env("F3S_CARP_PASSWORD", password),
        None => command.env_remove("F3S_CARP_PASSWORD"),
    };
    let mut child = command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr.reopen().expect("standard error"))
        .spawn()
        .expect("f3s starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the status of f3s") {
            break status;
        }
        if started.elapsed() > PROCESS_HANG_AFTER {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = std::fs::read(stderr.path()).expect("what f3s said");
    Some(Ran {
        status,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}
