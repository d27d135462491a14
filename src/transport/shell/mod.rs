//! Shell scripts for hosts, built in one place: every probe of a host becomes one script
//! (`observation.rs`), a batch of operations another (`batch.rs`, with each operation's
//! fragment in `ops.rs`). Both travel on stdin to a fixed `sh` command line, so their size has
//! no limit and file content or secret values never appear in a command line. Arguments are
//! always quoted.
//!
//! What differs between FreeBSD and Rocky lives in `freebsd.rs` and `rocky.rs`.

mod backup;
mod batch;
mod freebsd;
mod listings;
mod observation;
mod ops;
mod rc_conf;
mod rocky;

use crate::host_state::CarpRole;
use crate::inventory::host::{Become, OsFamily};
use crate::sensitive::Text;
pub use batch::{BatchReadError, batch_script, read_batch_output};
pub use observation::{ObservationError, observe_script, observe_with_texts, parse_observation};

/// The commands one OS family spells differently.
pub trait Dialect {
    /// `uname -s` on this family.
    fn kernel(&self) -> &'static str;
    fn path(&self) -> &'static str;
    /// Given NUL-separated paths on stdin, prints `MODE\tUID:OWNER\tGID:GROUP\tTYPE\tSIZE\tPATH`
    /// for each that exists, following symbolic links; MODE with its set-user-ID, set-group-ID
    /// and sticky bits; nothing on stderr.
    fn stat_files(&self) -> &'static str;
    /// Given files as arguments, prints `HEX PATH` (or `HEX  PATH`) for each.
    fn sha256_files(&self) -> &'static str;
    /// Prints the `R INDEX …` answer line of every rc.conf variable of `vars` (see
    /// `observation.rs`), the value as the family's own tool reads it; `R INDEX unsupported`
    /// for each where the family has no rc.conf.
    fn rc_vars(&self, vars: &[RcVarQuery]) -> String;
    /// Sets an rc.conf variable so that sh, sourcing rc.conf, reads back exactly `value`,
    /// which appears in no command line; `None` if the family has no rc.conf.
    fn rc_set(&self, name: &str, value: &Text) -> Option<String>;
    /// One command asking the package tool about all of `names`: what it says of them on
    /// stdout, its complaints on stderr, as `read_packages` reads them.
    fn package_query(&self, names: &[&str]) -> String;
    /// The installed version of each of `names` (in their order, `None` where it is not
    /// installed), from the lines `package_query` printed, its exit status and its stderr (as
    /// one line); or the index of a package the tool cannot tell about (a locked database,
    /// say), and why, which is never taken for absent.
    fn read_packages(
        &self,
        names: &[&str],
        printed: &[String],
        status: i32,
        stderr: &str,
    ) -> Result<Vec<Option<String>>, (usize, String)>;
    fn install_package(&self, name: &str) -> String;
    /// Prints `S INDEX ENABLED RUNNING` for each of `services` (index, name): ENABLED is
    /// `yes` when it starts at boot, `no` when it does not, `fixed` when its unit decides that
    /// and no enable or disable can change it; RUNNING is `yes`, `no`, or `unknown` where the
    /// service has no way to tell.
    fn services(&self, services: &[(usize, &str)]) -> String;
    /// Acts on the service whether or not it is enabled at boot.
    fn service(&self, name: &str, action: ServiceAction) -> String;
    /// Prints what is on the device "$d": `fs TYPE`, `empty`, or `unreadable WHY`.
    fn device_content(&self) -> &'static str;
    /// One command listing every mounted filesystem, a line each, in mount order.
    fn mount_listing(&self) -> &'static str;
    /// A line of `mount_listing`: mount point, device, filesystem type.
    fn mount_entry(&self, line: &str) -> Result<[String; 3], String>;
    /// A fragment printing a line for each loaded kernel module (at least those of `names`
    /// that are loaded), in the form `listed_module` reads.
    fn module_listing(&self, names: &[&str]) -> String;
    /// The module a line of `module_listing` names, if it names one.
    fn listed_module<'l>(&self, line: &'l str) -> Result<Option<&'l str>, String>;
    fn load_module(&self, name: &str) -> String;
    /// Makes the service manager reread unit files; `None` where there is none to tell.
    fn reload_units(&self) -> Option<&'static str>;
    /// A test (builtins only; `$r` is the batch's user id) that holds when a file created in
    /// `dir` is owned by root and the root group already; `None` where that cannot be known
    /// without asking.
    fn created_root_owned(&self, dir: &str) -> Option<String>;
    /// Runs `command` holding an exclusive, non-blocking lock on `file`.
    fn with_lock(&self, file: &str, command: &str) -> String;
    /// One command printing what `interface` holds (its addresses, its CARP states), as
    /// `carp_address` reads it; `None` where the family has no CARP.
    fn interface_status(&self, interface: &str) -> Option<String>;
    /// The CARP address `address` in what `interface_status` printed (its lines): its vhid
    /// (`None` for a plain alias) and the state CARP is in; `None` where it is not there.
    fn carp_address(
        &self,
        status: &[String],
        address: &str,
    ) -> Result<Option<(Option<u32>, CarpRole)>, String>;
    /// Adds the CARP address to the running interface; `None` where the family has no CARP.
    fn add_carp_address(
        &self,
        interface: &str,
        address: &str,
        vhid: u32,
        password: &Text,
    ) -> Option<String>;
    /// Where the backups of replaced files live (see `backup.rs`): the family's place for
    /// backups kept by the system.
    fn backup_dir(&self) -> &'static str;
}

/// An rc.conf variable asked about: its probe's index, its name, and whether its value is
/// secret (only its digest may leave the host).
pub struct RcVarQuery<'a> {
    pub index: usize,
    pub name: &'a str,
    pub secret: bool,
}

#[derive(Debug, Clone, Copy)]
pub enum ServiceAction {
    Enable,
    Disable,
    Start,
    Stop,
    Restart,
    Reload,
}

impl ServiceAction {
    pub(super) fn verb(self) -> &'static str {
        match self {
            Self::Enable => "enable",
            Self::Disable => "disable",
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::Reload => "reload",
        }
    }
}

pub fn dialect(os: OsFamily) -> &'static dyn Dialect {
    match os {
        OsFamily::Freebsd => &freebsd::FreeBsd,
        OsFamily::Rocky => &rocky::Rocky,
    }
}

/// Quotes a word for a POSIX shell (and for csh, which reads `'\''` the same way).
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// `items` quoted, as the words of a command line.
fn words(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| quote(item))
        .collect::<Vec<_>>()
        .join(" ")
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

pub(crate) fn prologue(dialect: &dyn Dialect) -> String {
    format!(
        "PATH={}; export PATH; LC_ALL=C; export LC_ALL; umask 022",
        quote(dialect.path())
    )
}

/// Prints a file's bytes, for copying it to another host (sent on stdin, as every script).
pub fn read_script(os: OsFamily, path: &str) -> String {
    format!(
        "{{\n{}\ncat {}\n}} </dev/null\n",
        prologue(dialect(os)),
        quote(path)
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

/// The temporary files f3s left in `dir` (`.f3s.*`): a test's proof that a write, refused or
/// not, left nothing half-done behind.
#[cfg(test)]
fn temp_files_left(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".f3s."))
        .map(|e| e.path())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes_and_metacharacters() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's; rm -rf /"), "'it'\\''s; rm -rf /'");
    }

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
