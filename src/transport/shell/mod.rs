//! Shell scripts for hosts, built in one place: every probe of a host becomes one script
//! (`observation.rs`), a batch of operations another (`batch.rs`, with each operation's
//! fragment in `ops.rs`). Both travel on stdin to a fixed `sh` command line, so their size has
//! no limit and file content or secret values never appear in a command line. Arguments are
//! always quoted.
//!
//! What differs between FreeBSD and Rocky lives in `freebsd.rs` and `rocky.rs`, behind
//! `dialect.rs`'s trait; `family.rs` picks one. This file is the folder's top: what the
//! transports call. The files below it import only from each other, never from here.

mod backup;
mod batch;
mod dialect;
mod family;
mod freebsd;
mod listings;
mod observation;
mod ops;
mod outgoing;
mod rc_conf;
mod reader;
mod rocky;
mod staging;
mod status;

use crate::inventory::host::{Become, OsFamily};
use crate::shell_words::quote;
pub use batch::{BatchReadError, read_batch_output, write_batch_script};
pub use dialect::ServiceAction;
use dialect::prologue;
use family::dialect;
pub use observation::{observe_script, observe_with_texts, parse_observation};
pub use reader::ObservationError;
pub use status::read_status;

/// The script reading a host's status checks (see `status.rs`).
pub fn status_script(
    os: OsFamily,
    reads: &[(&crate::status_check::StatusRead, u32)],
    nonce: &str,
) -> String {
    status::status_script(dialect(os), reads, nonce)
}

/// What `uname -s` prints on a host of `os`.
pub fn kernel_name(os: OsFamily) -> &'static str {
    dialect(os).kernel()
}

/// The command line that runs `script` with the host's privilege escalation.
pub fn command_line(become_method: Become, script: &str) -> String {
    format!("{}sh -c {}", escalation(become_method), quote(script))
}

/// The command line of a script sent on stdin: a shell reading its commands from there.
pub fn stdin_command_line(become_method: Become) -> String {
    format!("{}sh -s", escalation(become_method))
}

/// The privilege escalation in front of every command f3s runs, never one that may ask for a
/// password: nothing would answer it, and a prompt read from stdin would take the script's
/// first line for the password, or wait for one. With `-n`, doas fails at once where the
/// matching rule lacks `nopass` (doas.c main: `errx(1, "Authorization required")` in OpenBSD's
/// doas and the FreeBSD port security/doas; OpenDoas's PAM code says "Authentication
/// required"), and sudo where a password is required (sudo(8), -n: "If a password is required
/// for the command to run, sudo will display an error message and exit"); see
/// `refusing_escalation`.
fn escalation(become_method: Become) -> &'static str {
    match become_method {
        Become::Doas => "doas -n ",
        Become::Sudo => "sudo -n ",
        Become::None => "",
    }
}

/// The escalation program (doas or sudo) if it refused a remote command that exited with
/// `status`, saying `stderr`, before any of f3s's script ran: doas and sudo exit 1 with their
/// own name before the message ("doas: Authorization required", "doas: Operation not
/// permitted" where no rule permits, through err(3); "sudo: a password is required"). f3s's
/// scripts start with a shell, whose stderr never starts so.
pub fn refusing_escalation(
    become_method: Become,
    status: i32,
    stderr: &str,
) -> Option<&'static str> {
    let program = match become_method {
        Become::Doas => "doas",
        Become::Sudo => "sudo",
        Become::None => return None,
    };
    (status == 1 && stderr.starts_with(&format!("{program}: "))).then_some(program)
}

/// Prints a file's bytes, for copying it to another host (sent on stdin, as every script).
pub fn read_script(os: OsFamily, path: &str) -> String {
    format!(
        "{{\n{}\ncat {}\n}} </dev/null\n",
        prologue(dialect(os)),
        quote(path)
    )
}

/// Removes `paths` (what is there is never followed: `rm -f` unlinks a link itself).
pub fn remove_script(os: OsFamily, paths: &[String]) -> String {
    format!(
        "{{\n{}\nrm -f -- {}\n}} </dev/null\n",
        prologue(dialect(os)),
        crate::shell_words::words(paths)
    )
}

/// Runs `command` (a command line from the inventory) with `sh -c`, its stderr with its
/// stdout; stdin is not its to read: the script itself arrives there.
pub fn command_script(os: OsFamily, command: &str) -> String {
    format!(
        "{}\nsh -c {} </dev/null 2>&1\n",
        prologue(dialect(os)),
        quote(command)
    )
}

/// Where the apply lock lives, and the file naming its holder.
pub const LOCK_FILE: &str = "/var/run/f3s.lock";
pub const HOLDER_FILE: &str = "/var/run/f3s.holder";
/// Exit status of the lock command when someone else holds the lock.
pub const LOCK_HELD: i32 = 75;

/// Takes the apply lock, writes the holder, prints `LOCKED`, and keeps it until stdin closes
/// (the end of the apply, or a dropped connection); if held, prints the holder and exits 75.
pub fn lock_script(os: OsFamily) -> String {
    let d = dialect(os);
    let hold = format!(
        "IFS= read -r h; printf '%s\\n' \"$h\" > {holder}; echo LOCKED; cat > /dev/null; rm -f {holder}",
        holder = quote(HOLDER_FILE)
    );
    format!(
        "{}; {} || {{ cat {} 2>/dev/null; exit {LOCK_HELD}; }}",
        prologue(d),
        d.with_lock(LOCK_FILE, &hold),
        quote(HOLDER_FILE)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_on_stdin_have_a_fixed_command_line() {
        assert_eq!(stdin_command_line(Become::Doas), "doas -n sh -s");
        assert_eq!(stdin_command_line(Become::Sudo), "sudo -n sh -s");
        assert_eq!(stdin_command_line(Become::None), "sh -s");
    }

    #[test]
    fn only_the_escalation_refusing_is_taken_for_a_refusal() {
        let sudo = "sudo: a password is required";
        assert_eq!(refusing_escalation(Become::Sudo, 1, sudo), Some("sudo"));
        let doas = "doas: Authorization required";
        assert_eq!(refusing_escalation(Become::Doas, 1, doas), Some("doas"));
        assert_eq!(refusing_escalation(Become::Doas, 1, sudo), None);
        assert_eq!(refusing_escalation(Become::None, 1, doas), None);
        assert_eq!(refusing_escalation(Become::Doas, 2, doas), None);
        let script = "sh: 1: zpool: not found";
        assert_eq!(refusing_escalation(Become::Doas, 1, script), None);
    }
}
