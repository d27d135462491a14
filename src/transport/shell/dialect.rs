//! The commands one OS family spells differently (the `Dialect` trait, which `freebsd.rs` and
//! `rocky.rs` implement), and what every script starts with.

use crate::host_state::CarpRole;
use crate::sensitive::{Digest, Text};
use crate::shell_words::quote;

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
    /// Removes every assignment of an rc.conf variable, keeping the files it edits as
    /// backups; `None` if the family has no rc.conf.
    fn rc_unset(&self, name: &str) -> Option<String>;
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
    fn remove_package(&self, name: &str) -> String;
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
    /// The CARP address `address` in what `interface_status` printed (its lines); `None`
    /// where it is not there.
    fn carp_address(&self, status: &[String], address: &str) -> Result<Option<ListedCarp>, String>;
    /// Adds the CARP address to the running interface; `None` where the family has no CARP.
    fn add_carp_address(
        &self,
        interface: &str,
        address: &str,
        vhid: u32,
        password: &Text,
    ) -> Option<String>;
    /// Gives the running vhid a new key, its address left as it is; `None` where the family
    /// has no CARP.
    fn set_carp_key(&self, interface: &str, vhid: u32, password: &Text) -> Option<String>;
    /// A read-only fragment printing the CARP state of `vhid` on `interface` (one word), or
    /// saying why not and exiting non-zero; `None` where the family has no CARP.
    fn carp_role(&self, interface: &str, vhid: u32) -> Option<String>;
    /// A read-only fragment printing `running` or `stopped` for the service.
    fn service_state(&self, name: &str) -> String;
    /// A read-only fragment that fails, saying so, unless a filesystem is mounted at `path`,
    /// then stats it and prints how many milliseconds the stat took.
    fn mount_answer(&self, path: &str) -> String;
    /// Where the backups of replaced files live (see `backup.rs`): the family's place for
    /// backups kept by the system.
    fn backup_dir(&self) -> &'static str;
}

/// A CARP address as `interface_status` shows it: its vhid (`None` for a plain alias), the
/// state CARP is in, and the sha256 of the key its vhid runs with, where the host showed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedCarp {
    pub vhid: Option<u32>,
    pub role: CarpRole,
    pub key: Option<Digest>,
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
    pub fn verb(self) -> &'static str {
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

pub(super) fn prologue(dialect: &dyn Dialect) -> String {
    format!(
        "PATH={}; export PATH; LC_ALL=C; export LC_ALL; umask 022",
        quote(dialect.path())
    )
}
