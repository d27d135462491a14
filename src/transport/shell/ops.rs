//! Each operation as a shell fragment: the body of a function a batch script (see `batch.rs`)
//! calls, in the batch's own shell (no process of its own), so a fragment ends with `return`,
//! never `exit`, and uses no special builtin (`:`) where a redirection may fail, which would end
//! the whole shell. The batch has set PATH, the locale and the umask, `$r` to its user id, and
//! `$n` to a word unique to the operation, and defined `keep FILE` (see `backup.rs`), which a
//! fragment calls right before it renames over FILE; it restores the umask and `set +C` after
//! each. File content and secret values are written by the `printf` builtin from an escaped
//! literal in the script itself, which travels on stdin: they never appear in a command line,
//! and no process is started to hold them.

use super::dialect::{Dialect, ServiceAction};
use super::family::dialect;
use crate::check_command::CheckCommand;
use crate::host_state::Ownership;
use crate::inventory::host::OsFamily;
use crate::op::{Op, Refresh};
use crate::sensitive::Text;
use crate::shell_words::{print_bytes, quote, words};

/// The fragment converging `op`; `None` where this OS has no such thing. `CopyFile` is not
/// here: apply reads the source and hands over a `WriteFile`.
pub fn op_script(os: OsFamily, op: &Op) -> Option<String> {
    let d = dialect(os);
    Some(match op {
        Op::WriteFile {
            path,
            content,
            ownership,
            create_only,
            validate,
        } => {
            let fill = format!("{{ {} >| \"$t\" || nospace \"$t\"; }}", print_text(content));
            let checked = validate
                .as_ref()
                .map(|check| format!("{fill} && {}", run_check(check, path, content)));
            install_file(
                (d, os),
                path,
                checked.as_deref().unwrap_or(&fill),
                None,
                ownership,
                *create_only,
            )
        }
        Op::GenerateSecret {
            path,
            size,
            ownership,
        } => install_file(
            (d, os),
            path,
            &format!("dd if=/dev/urandom of=\"$t\" bs={size} count=1 2>/dev/null"),
            Some(*size),
            ownership,
            true,
        ),
        Op::CopyFile { .. } => return None,
        Op::SetOwnership { path, ownership } => set_ownership(&quote(path), ownership),
        // A directory made here gets its mode from mkdir; one that appeared since the plan
        // is corrected whole.
        Op::CreateDirectory { path, ownership } => format!(
            "if [ -d {p} ]; then {}; else mkdir -p -m {} {p} && {}; fi",
            set_ownership(&quote(path), ownership),
            quote(&ownership.mode),
            chown_unless_given(d, os, &quote(path), path, ownership),
            p = quote(path),
        ),
        Op::RemovePath { path } => format!("rm -rf {}", quote(path)),
        // Kept as a write keeps what it replaces; `rm` without `-r` refuses a directory that
        // took the file's place since the plan.
        Op::RemoveFile { path } => format!("keep {p} && rm -f {p}", p = quote(path)),
        Op::RemoveDirectory { path } => format!("rmdir {}", quote(path)),
        Op::SetRcVar { name, value } => d.rc_set(name, value)?,
        Op::UnsetRcVar { name } => d.rc_unset(name)?,
        Op::InstallPackage { name } => d.install_package(name),
        Op::RemovePackage { name } => d.remove_package(name),
        Op::EnableService { name } => d.service(name, ServiceAction::Enable),
        Op::DisableService { name } => d.service(name, ServiceAction::Disable),
        Op::StartService { name } => d.service(name, ServiceAction::Start),
        Op::StopService { name } => d.service(name, ServiceAction::Stop),
        Op::RefreshService { name, how } => d.service(
            name,
            match how {
                Refresh::Restart => ServiceAction::Restart,
                Refresh::Reload => ServiceAction::Reload,
            },
        ),
        Op::NewFs { device, destroys } => format!(
            "{}newfs {}",
            still_empty(d, std::slice::from_ref(device), destroys),
            quote(device)
        ),
        Op::CreatePool {
            name,
            devices,
            mountpoint,
            destroys,
        } => format!(
            "{}zpool create {}-m {} {} {}",
            still_empty(d, devices, destroys),
            if destroys.is_some() { "-f " } else { "" },
            quote(mountpoint),
            quote(name),
            words(devices)
        ),
        Op::CreateDataset { name, properties } => {
            let options: Vec<String> = properties
                .iter()
                .map(|(k, v)| format!("-o {}", quote(&format!("{k}={v}"))))
                .collect();
            format!("zfs create {} {}", options.join(" "), quote(name))
        }
        Op::SetDatasetProperty {
            name,
            property,
            value,
        } => format!(
            "zfs set {} {}",
            quote(&format!("{property}={value}")),
            quote(name)
        ),
        Op::LoadKey { dataset } => format!("zfs load-key {}", quote(dataset)),
        // `zfs mount` of a mounted dataset fails ("filesystem already mounted",
        // zfs_main.c share_mount_one), and a `zfs set mountpoint` before it in the same
        // apply may have mounted it already (libzfs_changelist.c changelist_postfix).
        Op::MountDataset { dataset } => format!(
            "[ \"$(zfs get -H -p -o value mounted {d})\" = yes ] || zfs mount {d}",
            d = quote(dataset)
        ),
        Op::Mount { path, .. } => format!("mount {}", quote(path)),
        Op::Unmount { path } => format!("umount {}", quote(path)),
        Op::LoadKernelModule { name } => d.load_module(name),
        Op::SetCarpKey {
            interface,
            vhid,
            password,
            ..
        } => d.set_carp_key(interface, *vhid, password)?,
        Op::WriteCrontab { user, content } => {
            format!("{} | crontab -u {} -", print_text(content), quote(user))
        }
        Op::ReloadUnits => d.reload_units()?.to_string(),
        Op::AddCarpAddress {
            interface,
            address,
            vhid,
            password,
            ..
        } => d.add_carp_address(interface, address, *vhid, password)?,
        Op::CreateKey {
            path,
            bits,
            ownership,
        } => install_file(
            (d, os),
            path,
            &format!("openssl genrsa -out \"$t\" {bits} 2>/dev/null"),
            None,
            ownership,
            true,
        ),
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
            install_file((d, os), cert, &issue, None, &ownership, false)
        }
    })
}

/// The statement writing `op` (a `WriteFile`) at `staged`, a shell word naming where its
/// run stages it (see `staging.rs`), for unit `index`: a new file, made exclusively under the
/// umask its mode needs and filled in the same open, `u{index}` set when it is written; a
/// failure reported as the unit's. Owner, mode, backup and rename are the staging's. Inline
/// rather than a function with its stdin closed: thousands of them run in a large apply.
pub fn staged_write(op: &Op, staged: &str, index: usize) -> String {
    let Op::WriteFile {
        path,
        content,
        ownership,
        ..
    } = op
    else {
        return format!("echo 'only a file write is staged'; m S {index} 0 1; u{index}=");
    };
    format!(
        "umask {}; set -C; t={staged}; if {} > \"$t\"; then u{index}=y; else nospace \"$t\"; echo {}; m S {index} 0 1; u{index}=; rm -f \"$t\"; fi; umask 022; set +C",
        creation_umask(ownership),
        print_text(content),
        quote(&format!("could not write the new {path}"))
    )
}

/// The directory where `op` makes its temporary file (`DIR/.f3s.PID.N`) before renaming it
/// over its target, if it makes one.
pub fn temp_file_dir(op: &Op) -> Option<&str> {
    let path = match op {
        Op::WriteFile { path, .. }
        | Op::GenerateSecret { path, .. }
        | Op::CreateKey { path, .. }
        | Op::IssueCertificate { cert: path, .. } => path,
        // rc_conf.rs edits /etc/rc.conf or /etc/rc.conf.local through a file beside it.
        Op::SetRcVar { .. } => "/etc/rc.conf",
        _ => return None,
    };
    Some(crate::names::parent_dir(path).unwrap_or("/"))
}

/// The glob of f3s's temporary files in a directory (`.f3s.PID.N`), which only f3s makes.
pub const TEMP_FILE_GLOB: &str = ".f3s.[0-9]*";

/// Runs a `validate` command on the new content in "$t": by `sh -c` (a process of its own,
/// so nothing it does reaches the batch's shell), as root, with the path as `$1` where the
/// command names `{new}`. What it prints (both streams) ends the failure's message; of
/// sensitive content it is withheld, since a checker may quote the content it refuses.
fn run_check(check: &CheckCommand, path: &str, content: &Text) -> String {
    let (before, after) = check.around_placeholder();
    let command = quote(&format!("{before}\"$1\"{after}"));
    let refused = quote(&format!(
        "the check refused the new content; {path} is left as it was: "
    ));
    if content.is_sensitive() {
        format!(
            "{{ sh -c {command} sh \"$t\" >/dev/null 2>&1 || {{ echo {refused}'(the output is withheld: the content is sensitive)' >&2; false; }}; }}"
        )
    } else {
        format!(
            "{{ o=$(sh -c {command} sh \"$t\" 2>&1) || {{ printf '%s%s\\n' {refused} \"$o\" >&2; false; }}; }}"
        )
    }
}

/// A `printf` builtin call writing exactly the text's bytes; a sensitive one is written all
/// in octal escapes, so not even the script holds it legibly.
fn print_text(text: &Text) -> String {
    print_bytes(&text.expose(), text.is_sensitive())
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
                "d={}; [ \"$({})\" = empty ] || {{ echo \"$d is no longer empty; plan again\" >&2; return 1; }}; ",
                quote(device),
                d.device_content()
            )
        })
        .collect()
}

/// Creates a temporary file beside `path` (exclusively, with its final mode through the
/// umask), gives it its owner while it is still empty (so no group ever reads content meant
/// for another), fills it with `fill` (which may check it too), keeps a backup of the file it
/// replaces, and renames it into place: a reader sees the old file or the new one, never part
/// of one. A failed write (a full disk) or check fails `fill` and leaves nothing behind but
/// the old file. `size`, where given, is checked too. `create_only` links instead of
/// renaming, which fails where a file already is, so a key is never replaced (nor backed up:
/// there is nothing to replace).
fn install_file(
    (d, os): (&dyn Dialect, OsFamily),
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
    // mv and ln would put the file inside a directory that has taken the path's place.
    let not_a_directory = format!(
        "{{ [ ! -d {p} ] || {{ echo {} >&2; false; }}; }}",
        quote(&format!("{path} is a directory")),
        p = quote(path)
    );
    let install = if create_only {
        format!(
            "{not_a_directory} && ln \"$t\" {} && rm -f \"$t\"",
            quote(path)
        )
    } else {
        format!(
            "{not_a_directory} && keep {p} && mv -f \"$t\" {p}",
            p = quote(path)
        )
    };
    format!(
        "umask {}; set -C; t={}.$$.$n; true > \"$t\" || return 1; {} && {fill}{complete} && {install} || {{ rm -f \"$t\"; return 1; }}",
        creation_umask(ownership),
        quote(&format!("{dir}/.f3s")),
        owned_as((d, os), "\"$t\"", path, ownership),
    )
}

/// The umask under which a new file gets `ownership.mode`, as far as creation can give one
/// (never execute bits); owner-only for setuid, setgid or sticky modes, so nobody else can
/// read the file before `chmod`.
fn creation_umask(ownership: &Ownership) -> String {
    match mode_of(ownership) {
        Some(mode) if mode <= 0o777 => format!("{:03o}", 0o777 & !mode),
        _ => "077".into(),
    }
}

fn mode_of(ownership: &Ownership) -> Option<u32> {
    u32::from_str_radix(&ownership.mode, 8).ok()
}

/// Gives a file created under `creation_umask` beside `path` its owner and group, and its
/// mode where the umask could not (a shell creates files 0666 at most).
fn owned_as(
    (d, os): (&dyn Dialect, OsFamily),
    target: &str,
    path: &str,
    ownership: &Ownership,
) -> String {
    match mode_of(ownership) {
        Some(mode) if mode & !0o666 == 0 => chown_unless_given(d, os, target, path, ownership),
        _ => set_ownership(target, ownership),
    }
}

/// `chown`, unless root creating `path` gives it this owner and group already (the dialect
/// knows when; a process saved per file is most of the cost of writing one).
fn chown_unless_given(
    d: &dyn Dialect,
    os: OsFamily,
    target: &str,
    path: &str,
    ownership: &Ownership,
) -> String {
    let dir = crate::names::parent_dir(path).unwrap_or("/");
    let roots = &*ownership.owner == "root" && &*ownership.group == os.root_group();
    match d.created_root_owned(dir) {
        Some(test) if roots => format!("{{ {test} || {}; }}", chown(target, ownership)),
        _ => chown(target, ownership),
    }
}

fn chown(target: &str, ownership: &Ownership) -> String {
    format!(
        "chown {}:{} {target}",
        quote(&ownership.owner),
        quote(&ownership.group)
    )
}

fn set_ownership(target: &str, ownership: &Ownership) -> String {
    format!(
        "{} && chmod {} {target}",
        chown(target, ownership),
        quote(&ownership.mode)
    )
}

/// The temporary files f3s left in `dir` (`.f3s.*`): a test's proof that a write, refused or
/// not, left nothing half-done behind.
#[cfg(test)]
pub(super) fn temp_files_left(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
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
    use std::process::Command;

    #[test]
    fn printed_bytes_come_back_exactly_through_sh() {
        let bytes: Vec<u8> = (0..=255u8).chain(*b"%s %% \\n '\"$(x)`y`").collect();
        for all_octal in [false, true] {
            let output = Command::new("sh")
                .args(["-c", &print_bytes(&bytes, all_octal)])
                .output()
                .unwrap();
            assert_eq!(output.stdout, bytes);
        }
    }

    #[test]
    fn secrets_are_in_the_script_on_stdin_never_in_a_command_line() {
        let op = Op::SetRcVar {
            name: "ifconfig_re0_alias0".into(),
            value: Text::new("inet vhid 1 pass s3cret", true),
        };
        let script = op_script(OsFamily::Freebsd, &op).unwrap();
        assert!(!script.contains("s3cret"), "escaped, not plain: {script}");
        assert!(script.contains("printf '"));
    }

    #[test]
    fn rocky_has_no_rc_conf() {
        let op = Op::SetRcVar {
            name: "x".into(),
            value: Text::plain("y"),
        };
        assert!(op_script(OsFamily::Rocky, &op).is_none());
    }

    #[test]
    fn new_files_get_their_mode_from_the_umask() {
        let mode = |mode: &str| Ownership {
            mode: mode.into(),
            owner: "root".into(),
            group: "wheel".into(),
        };
        assert_eq!(creation_umask(&mode("0644")), "133");
        assert_eq!(creation_umask(&mode("0400")), "377");
        assert_eq!(creation_umask(&mode("4755")), "077");
        let owned = |mode: &Ownership| {
            owned_as(
                (dialect(OsFamily::Freebsd), OsFamily::Freebsd),
                "f",
                "/d/f",
                mode,
            )
        };
        assert!(!owned(&mode("0644")).contains("chmod"));
        assert!(owned(&mode("4755")).contains("chmod '4755'"));
        assert!(owned(&mode("0755")).contains("chmod '0755'"));
    }

    #[test]
    fn root_files_skip_chown_only_where_the_dialect_knows_their_group() {
        let root = |group: &str| Ownership {
            mode: "0644".into(),
            owner: "root".into(),
            group: group.into(),
        };
        let rocky = (dialect(OsFamily::Rocky), OsFamily::Rocky);
        let freebsd = (dialect(OsFamily::Freebsd), OsFamily::Freebsd);
        assert_eq!(
            owned_as(rocky, "f", "/etc/f", &root("root")),
            "{ [ \"$r\" = 0 ] && [ ! -g '/etc' ] || chown 'root':'root' f; }"
        );
        assert_eq!(
            owned_as(rocky, "f", "/etc/f", &root("wheel")),
            "chown 'root':'wheel' f"
        );
        assert_eq!(
            owned_as(freebsd, "f", "/etc/f", &root("wheel")),
            "chown 'root':'wheel' f"
        );
    }
}
