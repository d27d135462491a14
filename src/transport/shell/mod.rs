//! Shell scripts for hosts, built in one place: every probe of a host becomes one script (one
//! exec), every operation one command. Arguments are always quoted; file content and secret
//! values travel on stdin, never in a command line. Scripts are a single line, so they pass
//! unchanged through whatever login shell the remote user has.
//!
//! What differs between FreeBSD and Rocky lives in `freebsd.rs` and `rocky.rs`.

mod freebsd;
mod observation;
mod rocky;

use crate::host_state::Ownership;
use crate::inventory::host::{Become, OsFamily};
use crate::op::{Op, Refresh};
use crate::probe::{Probe, Reveal};
pub use observation::{observed_kernel, parse_observation};

/// The commands one OS family spells differently.
pub trait Dialect {
    /// `uname -s` on this family.
    fn kernel(&self) -> &'static str;
    fn path(&self) -> &'static str;
    /// Prints `MODE OWNER GROUP` of "$p".
    fn stat(&self) -> &'static str;
    /// Prints the hex sha256 of stdin.
    fn sha256(&self) -> &'static str;
    /// Prints the value of an rc.conf variable, failing when unset; `None` if the family has none.
    fn rc_get(&self, name: &str) -> Option<String>;
    /// Sets an rc.conf variable to the value in "$v".
    fn rc_set(&self, name: &str) -> Option<String>;
    /// Prints the installed version of a package, failing when absent.
    fn package_version(&self, name: &str) -> String;
    fn install_package(&self, name: &str) -> String;
    fn service_enabled(&self, name: &str) -> String;
    fn service_running(&self, name: &str) -> String;
    fn service(&self, name: &str, action: ServiceAction) -> String;
    /// Prints what is on the device "$d": `fs TYPE`, `empty`, or `unreadable WHY`.
    fn device_content(&self) -> &'static str;
    /// Prints `DEVICE FSTYPE` of what is mounted at `path`, nothing if nothing is.
    fn mounted(&self, path: &str) -> String;
    fn module_loaded(&self, name: &str) -> String;
    fn load_module(&self, name: &str) -> String;
    /// Makes the service manager reread unit files; `None` where there is none to tell.
    fn reload_units(&self) -> Option<&'static str>;
    /// Runs `command` holding an exclusive, non-blocking lock on `file`.
    fn with_lock(&self, file: &str, command: &str) -> String;
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
    fn verb(self) -> &'static str {
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

/// The command line that runs `script` with the host's privilege escalation.
pub fn command_line(become_method: Become, script: &str) -> String {
    let prefix = match become_method {
        Become::Doas => "doas ",
        Become::Sudo => "sudo -n ",
        Become::None => "",
    };
    format!("{prefix}sh -c {}", quote(script))
}

fn prologue(dialect: &dyn Dialect) -> String {
    format!(
        "PATH={}; export PATH; LC_ALL=C; export LC_ALL; umask 022",
        quote(dialect.path())
    )
}

/// One script answering every probe; its output is read by `parse_observation`.
pub fn observe_script(os: OsFamily, probes: &[Probe]) -> String {
    let d = dialect(os);
    // On a host of another OS, stop before running any command meant for this one.
    let mut parts = vec![
        prologue(d),
        format!(
            "k=$(uname -s); printf 'U %s\\n' \"$k\"; [ \"$k\" = {} ] || exit 0",
            quote(d.kernel())
        ),
    ];
    for (i, probe) in probes.iter().enumerate() {
        parts.push(match probe {
            Probe::Path { path, reveal } => {
                let content = match reveal {
                    Reveal::Text => format!(
                        "n=$(($(wc -c < \"$p\"))); printf 'P {i} file %s %s %s text %s\\n' $m \"$n\"; cat \"$p\"; printf '\\n'"
                    ),
                    Reveal::DigestOnly => format!(
                        "printf 'P {i} file %s %s %s digest %s\\n' $m \"$({} < \"$p\")\"",
                        d.sha256()
                    ),
                };
                format!(
                    "p={}; if [ -f \"$p\" ]; then m=$({}); {content}; elif [ -d \"$p\" ]; then m=$({}); printf 'P {i} dir %s %s %s\\n' $m; elif [ -e \"$p\" ] || [ -L \"$p\" ]; then printf 'P {i} other\\n'; else printf 'P {i} absent\\n'; fi",
                    quote(path),
                    d.stat(),
                    d.stat()
                )
            }
            Probe::RcVar { name, reveal } => match d.rc_get(name) {
                None => format!("printf 'R {i} unsupported\\n'"),
                Some(get) => {
                    let found = match reveal {
                        Reveal::Text => format!(
                            "printf 'R {i} text %s\\n' \"$(($(printf %s \"$v\" | wc -c)))\"; printf '%s\\n' \"$v\""
                        ),
                        Reveal::DigestOnly => {
                            format!("printf 'R {i} digest %s\\n' \"$(printf %s \"$v\" | {})\"", d.sha256())
                        }
                    };
                    format!("if v=$({get} 2>/dev/null); then {found}; else printf 'R {i} unset\\n'; fi")
                }
            },
            Probe::Package { name } => format!(
                "if v=$({} 2>/dev/null) && [ -n \"$v\" ]; then printf 'K {i} %s\\n' \"$v\"; else printf 'K {i} absent\\n'; fi",
                d.package_version(name)
            ),
            Probe::Service { name } => format!(
                "e=no; {} >/dev/null 2>&1 && e=yes; r=no; {} >/dev/null 2>&1 && r=yes; printf 'S {i} %s %s\\n' $e $r",
                d.service_enabled(name),
                d.service_running(name)
            ),
            Probe::Device { path } => format!(
                "d={}; if [ -e \"$d\" ]; then printf 'D {i} %s\\n' \"$({})\"; else printf 'D {i} absent\\n'; fi",
                quote(path),
                d.device_content()
            ),
            Probe::Pool { name } => format!(
                "if h=$(zpool list -H -o health {} 2>/dev/null); then printf 'Z {i} %s\\n' \"$h\"; else printf 'Z {i} absent\\n'; fi",
                quote(name)
            ),
            Probe::Dataset { name, properties } => format!(
                "if zfs list -H -o name {name} >/dev/null 2>&1; then printf 'Y {i} present\\n'; zfs get -H -p -o property,value {} {name}; printf 'Y {i} end\\n'; else printf 'Y {i} absent\\n'; fi",
                quote(&properties.join(",")),
                name = quote(name)
            ),
            Probe::Mount { path } => format!(
                "m=$({}); if [ -n \"$m\" ]; then printf 'M {i} %s\\n' \"$m\"; else printf 'M {i} absent\\n'; fi",
                d.mounted(path)
            ),
            Probe::KernelModule { name } => format!(
                "l=no; {} >/dev/null 2>&1 && l=yes; printf 'L {i} %s\\n' $l",
                d.module_loaded(name)
            ),
            Probe::Certificate { path } => format!(
                "p={}; if [ -f \"$p\" ] && o=$(openssl x509 -noout -subject -issuer -enddate -nameopt compat -dateopt iso_8601 -in \"$p\" 2>/dev/null); then printf 'X {i} present\\n%s\\n' \"$o\"; else printf 'X {i} absent\\n'; fi",
                quote(path)
            ),
            Probe::Crontab { user } => format!(
                "if crontab -u {u} -l >/dev/null 2>&1; then printf 'C {i} text %s\\n' \"$(($(crontab -u {u} -l | wc -c)))\"; crontab -u {u} -l; printf '\\n'; else printf 'C {i} absent\\n'; fi",
                u = quote(user)
            ),
        });
    }
    parts.push("printf 'E\\n'".into());
    parts.join("; ")
}

/// A command converging one operation, and what it reads on stdin. `CopyFile` is not here:
/// apply reads the source and hands over a `WriteFile`.
pub struct OpCommand {
    pub script: String,
    pub stdin: Vec<u8>,
}

pub fn op_command(os: OsFamily, op: &Op) -> Option<OpCommand> {
    let d = dialect(os);
    let no_input = |script: String| {
        Some(OpCommand {
            script: format!("{}; {script}", prologue(d)),
            stdin: Vec::new(),
        })
    };
    match op {
        Op::WriteFile {
            path,
            content,
            ownership,
            create_only,
        } => Some(OpCommand {
            script: install_file(
                d,
                path,
                "cat > \"$t\"",
                Some(content.expose().len()),
                ownership,
                *create_only,
            ),
            stdin: content.expose().to_vec(),
        }),
        Op::GenerateSecret {
            path,
            size,
            ownership,
        } => Some(OpCommand {
            script: install_file(
                d,
                path,
                &format!("dd if=/dev/urandom of=\"$t\" bs={size} count=1 2>/dev/null"),
                Some(*size),
                ownership,
                true,
            ),
            stdin: Vec::new(),
        }),
        Op::CopyFile { .. } => None,
        Op::SetOwnership { path, ownership } => no_input(set_ownership(&quote(path), ownership)),
        Op::CreateDirectory { path, ownership } => no_input(format!(
            "mkdir -p {} && {}",
            quote(path),
            set_ownership(&quote(path), ownership)
        )),
        Op::RemovePath { path } => no_input(format!("rm -rf {}", quote(path))),
        Op::SetRcVar { name, value } => {
            let set = d.rc_set(name)?;
            Some(OpCommand {
                script: format!("{}; IFS= read -r v; {set}", prologue(d)),
                stdin: [value.expose(), b"\n"].concat(),
            })
        }
        Op::InstallPackage { name } => no_input(d.install_package(name)),
        Op::EnableService { name } => no_input(d.service(name, ServiceAction::Enable)),
        Op::DisableService { name } => no_input(d.service(name, ServiceAction::Disable)),
        Op::StartService { name } => no_input(d.service(name, ServiceAction::Start)),
        Op::StopService { name } => no_input(d.service(name, ServiceAction::Stop)),
        Op::RefreshService { name, how } => no_input(d.service(
            name,
            match how {
                Refresh::Restart => ServiceAction::Restart,
                Refresh::Reload => ServiceAction::Reload,
            },
        )),
        Op::NewFs { device, destroys } => no_input(format!(
            "{}newfs {}",
            still_empty(d, std::slice::from_ref(device), destroys),
            quote(device)
        )),
        Op::CreatePool {
            name,
            devices,
            mountpoint,
            destroys,
        } => no_input(format!(
            "{}zpool create {}-m {} {} {}",
            still_empty(d, devices, destroys),
            if destroys.is_some() { "-f " } else { "" },
            quote(mountpoint),
            quote(name),
            words(devices)
        )),
        Op::CreateDataset { name, properties } => {
            let options: Vec<String> = properties
                .iter()
                .map(|(k, v)| format!("-o {}", quote(&format!("{k}={v}"))))
                .collect();
            no_input(format!("zfs create {} {}", options.join(" "), quote(name)))
        }
        Op::SetDatasetProperty {
            name,
            property,
            value,
        } => no_input(format!(
            "zfs set {} {}",
            quote(&format!("{property}={value}")),
            quote(name)
        )),
        Op::LoadKey { dataset } => no_input(format!("zfs load-key {}", quote(dataset))),
        Op::MountDataset { dataset } => no_input(format!("zfs mount {}", quote(dataset))),
        Op::Mount { path, .. } => no_input(format!("mount {}", quote(path))),
        Op::LoadKernelModule { name } => no_input(d.load_module(name)),
        Op::WriteCrontab { user, content } => Some(OpCommand {
            script: format!("{}; crontab -u {} -", prologue(d), quote(user)),
            stdin: content.expose().to_vec(),
        }),
        Op::ReloadUnits => no_input(d.reload_units()?.to_string()),
        Op::CreateKey {
            path,
            bits,
            ownership,
        } => no_input(install_file(
            d,
            path,
            &format!("openssl genrsa -out \"$t\" {bits} 2>/dev/null"),
            None,
            ownership,
            true,
        )),
        Op::IssueCertificate {
            cert,
            key,
            subject,
            days,
            ca,
        } => {
            let request = format!("-new -key {} -subj {}", quote(key), quote(subject));
            let issue = match ca {
                None => format!("openssl req -x509 {request} -days {days} -out \"$t\""),
                Some(ca) => format!(
                    "openssl req {request} | openssl x509 -req -days {days} -CA {} -CAkey {} -set_serial 0x$(openssl rand -hex 16) -out \"$t\"",
                    quote(&ca.cert),
                    quote(&ca.key)
                ),
            };
            let ownership = Ownership {
                mode: "0644".into(),
                owner: "root".into(),
                group: os.root_group().into(),
            };
            no_input(install_file(d, cert, &issue, None, &ownership, false))
        }
    }
}

fn words(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// For a device the plan found empty, checks again right before writing over it, so a disk
/// plugged in or formatted since the plan is never destroyed without being named.
fn still_empty(d: &dyn Dialect, devices: &[String], destroys: &Option<String>) -> String {
    if destroys.is_some() {
        return String::new();
    }
    devices
        .iter()
        .map(|device| {
            format!(
                "d={}; [ \"$({})\" = empty ] || {{ echo \"$d is no longer empty; plan again\" >&2; exit 1; }}; ",
                quote(device),
                d.device_content()
            )
        })
        .collect()
}

/// Fills a temporary file beside `path` with `fill`, and installs it only when all `size`
/// bytes are there (a dropped connection ends stdin early, and `cat` calls that success): a
/// reader sees the old file or the new one, never part of one. `create_only` links instead of
/// renaming, which fails where a file already is, so a key is never replaced.
fn install_file(
    d: &dyn Dialect,
    path: &str,
    fill: &str,
    size: Option<usize>,
    ownership: &Ownership,
    create_only: bool,
) -> String {
    let complete = size
        .map(|size| format!(" && [ $(($(wc -c < \"$t\"))) -eq {size} ]"))
        .unwrap_or_default();
    let dir = crate::names::parent_dir(path).unwrap_or("/");
    let install = if create_only {
        format!("ln \"$t\" {}", quote(path))
    } else {
        format!("mv -f \"$t\" {}", quote(path))
    };
    format!(
        "{}; umask 077; t=$(mktemp {}) || exit 1; trap 'rm -f \"$t\"' EXIT; {fill}{complete} && {} && {install}",
        prologue(d),
        quote(&format!("{dir}/.f3s.XXXXXX")),
        set_ownership("\"$t\"", ownership),
    )
}

fn set_ownership(target: &str, ownership: &Ownership) -> String {
    format!(
        "chown {}:{} {target} && chmod {} {target}",
        quote(&ownership.owner),
        quote(&ownership.group),
        quote(&ownership.mode)
    )
}

/// Prints a file's bytes, for copying it to another host.
pub fn read_script(os: OsFamily, path: &str) -> String {
    format!("{}; cat {}", prologue(dialect(os)), quote(path))
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
    use crate::sensitive::Text;

    #[test]
    fn quoting_survives_single_quotes_and_metacharacters() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's; rm -rf /"), "'it'\\''s; rm -rf /'");
    }

    #[test]
    fn scripts_are_one_line() {
        let probes = vec![
            Probe::Path {
                path: "/etc/hosts".into(),
                reveal: Reveal::Text,
            },
            Probe::RcVar {
                name: "zrepl_enable".into(),
                reveal: Reveal::DigestOnly,
            },
        ];
        for os in [OsFamily::Freebsd, OsFamily::Rocky] {
            assert!(!observe_script(os, &probes).contains('\n'));
        }
    }

    #[test]
    fn secrets_and_content_go_on_stdin_not_in_the_command() {
        let op = Op::SetRcVar {
            name: "ifconfig_re0_alias0".into(),
            value: Text::new("inet vhid 1 pass s3cret", true),
        };
        let command = op_command(OsFamily::Freebsd, &op).unwrap();
        assert!(!command.script.contains("s3cret"));
        assert_eq!(command.stdin, b"inet vhid 1 pass s3cret\n");
    }

    #[test]
    fn rocky_has_no_rc_conf() {
        let op = Op::SetRcVar {
            name: "x".into(),
            value: Text::plain("y"),
        };
        assert!(op_command(OsFamily::Rocky, &op).is_none());
    }
}
