//! Rocky Linux's spelling of the commands f3s runs: GNU stat, sha256sum, rpm/dnf, systemctl,
//! flock. Rocky has no rc.conf.

use super::dialect::{Dialect, ListedCarp, RcVarQuery, ServiceAction};
use crate::sensitive::Text;
use crate::shell_words::{quote, words};

pub struct Rocky;

impl Dialect for Rocky {
    fn carp_role(&self, _interface: &str, _vhid: u32) -> Option<String> {
        None
    }

    fn service_state(&self, name: &str) -> String {
        // systemctl is-active exits 0 for an active unit (systemctl-is-active.c).
        format!(
            "if systemctl is-active --quiet -- {}; then echo running; else echo stopped; fi",
            quote(name)
        )
    }

    fn mount_answer(&self, path: &str) -> String {
        // findmnt --mountpoint exits 1 where nothing is mounted (findmnt(8)); GNU date has
        // nanoseconds (%N).
        let p = quote(path);
        format!(
            "findmnt -n -o FSTYPE --mountpoint {p} >/dev/null || {{ echo \"nothing is mounted at \"{p}; exit 1; }}; \
             s=$(date +%s%N); stat -t {p}/. >/dev/null || exit 1; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))"
        )
    }

    fn kernel(&self) -> &'static str {
        "Linux"
    }

    fn path(&self) -> &'static str {
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    }

    fn stat_files(&self) -> &'static str {
        // GNU stat: %a is the mode with its set-user-ID, set-group-ID and sticky bits; %u/%g
        // the ids; %F words the type ("regular file", "regular empty file", "directory").
        // Its %U/%G would look the names up again for every file (coreutils src/stat.c,
        // print_stat: getpwuid/getgrgid per file, no cache), which is most of its time over
        // thousands of paths; so awk looks each distinct id up once, with getent (glibc
        // nss/getent.c, passwd_keys/group_keys: a numeric key is looked up by id), and
        // writes UNKNOWN where there is no name, as stat does. Paths hold no tab (names.rs).
        "xargs -0 -r stat -L -c '%a\t%u\t%g\t%F\t%s\t%n' 2>/dev/null | awk -F '\t' -v OFS='\t' '\
function name(db, id,  cmd, line, f) { cmd = \"getent \" db \" \" id; line = \"\"; cmd | getline line; close(cmd); \
split(line, f, \":\"); return f[1] == \"\" ? \"UNKNOWN\" : f[1] } \
{ if (!($2 in u)) u[$2] = name(\"passwd\", $2); if (!($3 in g)) g[$3] = name(\"group\", $3); \
$2 = $2 \":\" u[$2]; $3 = $3 \":\" g[$3]; print }'"
    }

    fn sha256_files(&self) -> &'static str {
        "sha256sum"
    }

    fn interface_status(&self, _interface: &str) -> Option<String> {
        None
    }

    fn carp_address(
        &self,
        _status: &[String],
        _address: &str,
    ) -> Result<Option<ListedCarp>, String> {
        Err("Rocky has no CARP".into())
    }

    fn add_carp_address(&self, _: &str, _: &str, _: u32, _: &Text) -> Option<String> {
        None
    }

    fn set_carp_key(&self, _: &str, _: u32, _: &Text) -> Option<String> {
        None
    }

    fn rc_vars(&self, vars: &[RcVarQuery]) -> String {
        let lines: String = vars
            .iter()
            .map(|v| format!("R {} unsupported\n", v.index))
            .collect();
        format!("printf '%s' {}\n", quote(&lines))
    }

    fn rc_unset(&self, _name: &str) -> Option<String> {
        None
    }

    fn rc_set(&self, _name: &str, _value: &Text) -> Option<String> {
        None
    }

    fn package_query(&self, names: &[&str]) -> String {
        // rpm(8) -q takes the names in turn: the query format for each package a name
        // matches, "package NAME is not installed" for one that matches none (lib/query.c,
        // rpmQueryVerify, RPMQV_PACKAGE: a notice, which rpmlog writes to stdout), and nothing
        // at all for one it cannot look up (a name ending in .rpm is opened as a file). A name
        // no package can have (it holds a space) after each one marks where its answer ends.
        let asked: Vec<String> = names
            .iter()
            .map(|name| format!("{} {}", quote(name), quote(RPM_END)))
            .collect();
        format!(
            "rpm -q --qf '+ %{{VERSION}}-%{{RELEASE}}\\n' -- {}",
            asked.join(" ")
        )
    }

    fn read_packages(
        &self,
        names: &[&str],
        printed: &[String],
        _status: i32,
        stderr: &str,
    ) -> Result<Vec<Option<String>>, (usize, String)> {
        read_rpm_query(names, printed, stderr)
    }
    fn install_package(&self, name: &str) -> String {
        format!("dnf install -y {}", quote(name))
    }

    fn remove_package(&self, name: &str) -> String {
        format!("dnf remove -y {}", quote(name))
    }

    fn services(&self, services: &[(usize, &str)]) -> String {
        services_fragment(services)
    }

    fn service(&self, name: &str, action: ServiceAction) -> String {
        format!("systemctl {} {}", action.verb(), quote(name))
    }

    fn device_content(&self) -> &'static str {
        // blkid(8) -p probes superblocks and partition tables, printing TYPE for what it
        // knows (a partition table has only PTTYPE, so nothing here) and exits 0; it exits 2
        // (BLKID_EXIT_NOTFOUND) when it finds nothing, but also when it cannot open the
        // device, then saying "blkid: error: DEVICE: REASON" (misc-utils/blkid.c,
        // lowprobe_device), so exit 2 is empty only when it said nothing; 8 is an ambivalent
        // probe (two signatures).
        "t=$(blkid -p -o value -s TYPE \"$d\" 2>&1); case $?:$t in 0:*) echo \"fs ${t:-partition-table}\";; 2:) echo empty;; *) echo \"unreadable $t\" | tr '\\n' ' ';; esac"
    }

    fn mount_listing(&self) -> &'static str {
        // findmnt(8) -r: one line per mount, in mount order, the columns separated by one
        // space, and every unsafe character of a value (a space, a backslash) escaped as
        // `\xHH` (libsmartcols' raw output).
        "findmnt -r -n -o TARGET,SOURCE,FSTYPE"
    }

    fn mount_entry(&self, line: &str) -> Result<[String; 3], String> {
        let fields: Vec<&str> = line.split(' ').collect();
        let [point, device, fstype] = fields[..] else {
            return Err(format!("unreadable findmnt line `{line}`"));
        };
        let unescaped = |field: &str| {
            unescape_hex(field).ok_or_else(|| format!("unreadable findmnt line `{line}`"))
        };
        Ok([unescaped(point)?, unescaped(device)?, unescaped(fstype)?])
    }

    fn module_listing(&self, names: &[&str]) -> String {
        // A module the kernel has (loaded or built in) has its directory in /sys/module
        // (sysfs-module(5)); the test is the shell's own.
        names
            .iter()
            .map(|name| {
                let n = quote(name);
                format!("if [ -d /sys/module/{n} ]; then printf '%s\\n' {n}; fi\n")
            })
            .collect()
    }

    fn listed_module<'l>(&self, line: &'l str) -> Result<Option<&'l str>, String> {
        Ok(Some(line))
    }

    fn load_module(&self, name: &str) -> String {
        format!("modprobe {}", quote(name))
    }

    fn reload_units(&self) -> Option<&'static str> {
        Some("systemctl daemon-reload")
    }

    fn created_root_owned(&self, dir: &str) -> Option<String> {
        // A new file's owner and group are the creator's (the batch's `$r` is its user id),
        // unless the directory is set-group-ID (open(2), "O_CREAT"), which `test -g` tells.
        Some(format!("[ \"$r\" = 0 ] && [ ! -g {} ]", quote(dir)))
    }

    fn with_lock(&self, file: &str, command: &str) -> String {
        format!("flock -n {} sh -c {}", quote(file), quote(command))
    }

    fn backup_dir(&self) -> &'static str {
        // Rocky (FHS 3.0) has no /var/backups; /var/lib/<package> is where a program keeps
        // state that must outlive reboots (FHS 3.0, 5.8), as Puppet keeps its filebucket
        // under /var/lib/puppet.
        "/var/lib/f3s/backup"
    }
}

/// The name `package_query` asks after each package: no package has it (rpm names hold no
/// space), so rpm says "package f3s end is not installed" there.
const RPM_END: &str = "f3s end";

/// Each package's versions from what `rpm -q --qf '+ %{VERSION}-%{RELEASE}\n' NAME 'f3s end'
/// …` printed (see `package_query`): between two end markers, a `+ VERSION-RELEASE` line per
/// installed package the name matches (all of them, space-separated: kernels are installed
/// side by side), or exactly "package NAME is not installed". Anything else (nothing, for a
/// name rpm could not look up; a broken database) cannot tell, and rpm's stderr says why. The
/// exit status counts the names that failed, the markers included, so it tells nothing.
fn read_rpm_query(
    names: &[&str],
    printed: &[String],
    stderr: &str,
) -> Result<Vec<Option<String>>, (usize, String)> {
    let end = format!("package {RPM_END} is not installed");
    let why = |said: String| {
        if stderr.is_empty() {
            said
        } else {
            stderr.to_string()
        }
    };
    let mut rest = printed;
    let mut versions = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let Some(at) = rest.iter().position(|line| *line == end) else {
            return Err((i, why("rpm's answer ended early".into())));
        };
        let answer = &rest[..at];
        rest = &rest[at + 1..];
        if let [line] = answer
            && *line == format!("package {name} is not installed")
        {
            versions.push(None);
            continue;
        }
        let found: Option<Vec<&str>> = answer.iter().map(|l| l.strip_prefix("+ ")).collect();
        match found {
            Some(found) if !found.is_empty() => versions.push(Some(found.join(" "))),
            _ if answer.is_empty() => return Err((i, why("rpm said nothing of it".into()))),
            _ => return Err((i, why(format!("rpm printed `{}`", answer.join(" "))))),
        }
    }
    if let Some(extra) = rest.first() {
        return Err((
            names.len() - 1,
            why(format!("rpm printed `{extra}` past the end")),
        ));
    }
    Ok(versions)
}

/// `S INDEX ENABLED RUNNING` for each service: one `systemctl is-enabled` and one
/// `systemctl is-active` over all of them. Each prints a line per unit, in order
/// (src/systemctl/systemctl-is-enabled.c, systemctl-is-active.c, after the names are mangled
/// into units in the same order: systemctl-util.c, mangle_names and expand_unit_names), and
/// stops at a unit it cannot answer: is-enabled of systemd 252 (Rocky 9's) at a unit with no
/// unit file ("Failed to get unit file state … No such file or directory"; later systemd
/// prints `not-found` and goes on), either at an error of the bus. That unit is then asked on
/// its own, as before, and the rest again from the next one: a unit not installed yet costs
/// two calls more. A SysV service without a native unit would be answered first, out of order
/// (systemctl-sysv-compat.c, enable_sysv_units), so the batch skips SysV
/// (SYSTEMCTL_SKIP_SYSV) and such a unit, missing there, is asked alone, with SysV.
///
/// The words: is-enabled exits 0 for enabled, and also for enabled-runtime (gone at the next
/// boot), static (no [Install] section), indirect, alias and generated; so the word decides.
/// Only `enabled` starts at boot by the unit's own enablement, which `enable` makes (from
/// enabled-runtime too); the four that enable and disable cannot change are `fixed`; the rest
/// (disabled, linked, masked, transient, bad, not-found, no answer) are not. A unit runs when
/// is-active says active, reloading or refreshing (its exit status 0 then).
fn services_fragment(services: &[(usize, &str)]) -> String {
    if services.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = services.iter().map(|(_, name)| *name).collect();
    let units = words(&names);
    let mut fragment = format!(
        "{SERVICE_FUNCTIONS}\nf3s_e=$(f3s_each f3s_enabled f3s_is_enabled f3s_is_enabled_alone {units})\n\
         f3s_r=$(f3s_each f3s_active f3s_is_active f3s_is_active {units})\n"
    );
    for (i, _) in services {
        fragment.push_str(&format!(
            "f3s_x=${{f3s_e%%\"$f3s_l\"*}}; f3s_y=${{f3s_r%%\"$f3s_l\"*}}; f3s_e=${{f3s_e#*\"$f3s_l\"}}; f3s_r=${{f3s_r#*\"$f3s_l\"}}; printf 'S {i} %s %s\\n' \"$f3s_x\" \"$f3s_y\"\n"
        ));
    }
    fragment
}

/// The shell functions of `services_fragment`. `f3s_each WORD MANY ALONE UNIT…` prints WORD's
/// word for each unit, in order: MANY answers the units from the first on, a line each, until
/// one it cannot answer, which ALONE answers (as does a `not-found` MANY gave).
const SERVICE_FUNCTIONS: &str = r#"f3s_l='
'
f3s_enabled() { case $1 in enabled) echo yes ;; static|indirect|generated|alias) echo fixed ;; *) echo no ;; esac; }
f3s_active() { case $1 in active|reloading|refreshing) echo yes ;; *) echo no ;; esac; }
f3s_is_enabled() { SYSTEMCTL_SKIP_SYSV=1 systemctl is-enabled -- "$@"; }
f3s_is_enabled_alone() { systemctl is-enabled -- "$1"; }
f3s_is_active() { systemctl is-active -- "$@"; }
f3s_each() {
  f3s_w=$1 f3s_m=$2 f3s_a=$3; shift 3
  while [ $# -gt 0 ]; do
    f3s_o=$($f3s_m "$@" 2>/dev/null)
    while [ -n "$f3s_o" ] && [ $# -gt 0 ]; do
      f3s_x=${f3s_o%%"$f3s_l"*}; f3s_o=${f3s_o#"$f3s_x"}; f3s_o=${f3s_o#"$f3s_l"}
      [ "$f3s_x" != not-found ] || f3s_x=$($f3s_a "$1" 2>/dev/null)
      $f3s_w "$f3s_x"; shift
    done
    [ $# -gt 0 ] || break
    $f3s_w "$($f3s_a "$1" 2>/dev/null)"; shift
  done
}"#;

/// `field` with findmnt's `\xHH` escapes decoded; `None` where that is no UTF-8.
fn unescape_hex(field: &str) -> Option<String> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 2..i + 4)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (
            bytes[i],
            bytes.get(i + 1),
            hex.and_then(|h| u8::from_str_radix(h, 16).ok()),
        ) {
            (b'\\', Some(b'x'), Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    //! The probes run by the local `sh` with this machine's real tools, the ones Rocky has:
    //! util-linux blkid over image files, rpm over a database of its own, systemctl (252, as
    //! Rocky 9's) over a root directory of unit files.
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;
    use std::path::Path;
    use std::process::Command;

    fn content(image: &std::path::Path, as_nobody: bool) -> String {
        let script = format!(
            "d={}; {}",
            quote(&image.display().to_string()),
            Rocky.device_content()
        );
        let mut command = if as_nobody {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "sh",
                "-c",
            ]);
            c
        } else {
            let mut c = Command::new("sh");
            c.arg("-c");
            c
        };
        let out = command.arg(&script).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    #[test]
    fn blkid_tells_empty_from_signatures_and_from_what_it_cannot_read() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("disk.img");
        std::fs::write(&image, vec![0u8; 4 << 20]).unwrap();
        assert_eq!(content(&image, false), "empty");

        // An MBR partition table: one entry, and the boot signature.
        let mut mbr = vec![0u8; 4 << 20];
        mbr[446 + 4] = 0x83;
        mbr[446 + 8..446 + 12].copy_from_slice(&2048u32.to_le_bytes());
        mbr[446 + 12..446 + 16].copy_from_slice(&2048u32.to_le_bytes());
        mbr[510..512].copy_from_slice(&[0x55, 0xaa]);
        std::fs::write(&image, &mbr).unwrap();
        assert_eq!(content(&image, false), "fs partition-table");

        std::fs::write(&image, vec![0u8; 4 << 20]).unwrap();
        let swap = Command::new("mkswap").arg(&image).output().unwrap();
        assert!(swap.status.success(), "{swap:?}");
        assert_eq!(content(&image, false), "fs swap");

        // Unreadable, blkid exits 2 as for nothing found; it is not empty.
        std::fs::write(&image, vec![0u8; 4 << 20]).unwrap();
        std::fs::set_permissions(&image, std::os::unix::fs::PermissionsExt::from_mode(0o000))
            .unwrap();
        let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        if root {
            let said = content(&image, true);
            assert!(said.starts_with("unreadable blkid: error: "), "{said}");
            assert!(said.contains("Permission denied"), "{said}");
        }
    }

    /// `dir/NAME`, an executable script.
    fn script(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Runs `fragment` with `bin` first in PATH; its stdout, stderr and exit status.
    fn run_with(bin: &Path, fragment: &str) -> (Vec<String>, String, i32) {
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        let output = Command::new("sh")
            .args(["-c", fragment])
            .env("PATH", path)
            .output()
            .unwrap();
        let lines = String::from_utf8(output.stdout).unwrap();
        (
            lines.lines().map(str::to_string).collect(),
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
            output.status.code().unwrap_or(-1),
        )
    }

    /// The real rpm (scripts/test installs it), over a database holding foo 1.0-1 and foo
    /// 2.0-1 side by side and bar 3.1-2: one query answers each name between its markers,
    /// every version of it, or that it is not installed; a name rpm cannot look up as a
    /// package (one ending in .rpm is opened as a file) cannot tell, with rpm's words.
    #[test]
    fn one_rpm_query_answers_every_package() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("build");
        let db = dir.path().join("db");
        let rpm = |args: &[&str]| {
            let out = Command::new("rpm").args(args).output().expect("rpm runs");
            assert!(out.status.success(), "rpm {args:?}: {out:?}");
        };
        rpm(&["--dbpath", db.to_str().unwrap(), "--initdb"]);
        for (name, version, release) in [
            ("foo", "1.0", "1"),
            ("foo", "2.0", "1"),
            ("bar", "3.1", "2"),
        ] {
            let spec = dir.path().join(format!("{name}-{version}.spec"));
            std::fs::write(
                &spec,
                format!("Name: {name}\nVersion: {version}\nRelease: {release}\nSummary: lab\nLicense: MIT\nBuildArch: noarch\n%description\nlab\n%files\n"),
            )
            .unwrap();
            let built = Command::new("rpmbuild")
                .args(["--define", &format!("_topdir {}", top.display()), "-bb"])
                .arg(&spec)
                .output()
                .unwrap();
            assert!(built.status.success(), "{built:?}");
            let package = top.join(format!("RPMS/noarch/{name}-{version}-{release}.noarch.rpm"));
            rpm(&[
                "--dbpath",
                db.to_str().unwrap(),
                "-i",
                "--justdb",
                "--nodeps",
                package.to_str().unwrap(),
            ]);
        }
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        script(
            &bin,
            "rpm",
            &format!(
                "#!/bin/sh\nexec /usr/bin/rpm --dbpath {} \"$@\"\n",
                db.display()
            ),
        );

        let names = ["foo", "baz", "bar-3.1", "Foo"];
        let (printed, stderr, status) = run_with(&bin, &Rocky.package_query(&names));
        assert_eq!(
            Rocky.read_packages(&names, &printed, status, &stderr),
            Ok(vec![
                Some("1.0-1 2.0-1".into()),
                None,
                Some("3.1-2".into()),
                None
            ])
        );
        let names = ["bar", "lost.rpm", "foo"];
        let (printed, stderr, status) = run_with(&bin, &Rocky.package_query(&names));
        let (index, why) = Rocky
            .read_packages(&names, &printed, status, &stderr)
            .unwrap_err();
        assert_eq!(index, 1);
        assert!(why.contains("open of lost.rpm failed"), "{why}");
    }

    #[test]
    fn a_broken_rpm_answer_cannot_tell() {
        let lines = |text: &str| text.lines().map(str::to_string).collect::<Vec<_>>();
        let end = "package f3s end is not installed";
        let read = |printed: &str| Rocky.read_packages(&["a", "b"], &lines(printed), 2, "");
        assert_eq!(
            read(&format!(
                "+ 1-1\n{end}\npackage b is not installed\n{end}\n"
            )),
            Ok(vec![Some("1-1".into()), None])
        );
        assert_eq!(read(&format!("+ 1-1\n{end}\n")).unwrap_err().0, 1);
        assert_eq!(read(&format!("{end}\n+ 1-1\n{end}\n")).unwrap_err().0, 0);
        assert_eq!(
            read(&format!("package b is not installed\n{end}\n+ 1\n{end}\n"))
                .unwrap_err()
                .0,
            0,
            "another package's answer is not this one's"
        );
        assert!(read(&format!("+ 1\n{end}\n+ 2\n{end}\n+ 3\n")).is_err());
    }

    /// The real systemctl 252 over a root of unit files (`--root`, as the lab runs it
    /// offline): is-enabled of many units stops at one with no unit file, and answers a SysV
    /// script first, out of order; f3s's two calls still give each unit its own words.
    /// is-active needs a manager, which the root has none of: it is the lab's, a line per
    /// unit.
    #[test]
    fn two_systemctl_calls_answer_every_service_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let unit = "[Unit]\nDescription=lab\n[Service]\nExecStart=/bin/true\n";
        for (path, text) in [
            (
                "etc/systemd/system/on.service",
                format!("{unit}[Install]\nWantedBy=multi-user.target\n"),
            ),
            (
                "etc/systemd/system/off.service",
                format!("{unit}[Install]\nWantedBy=multi-user.target\n"),
            ),
            ("etc/systemd/system/helper.service", unit.to_string()),
        ] {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let enabled = Command::new("systemctl")
            .args(["--root", root.to_str().unwrap(), "enable", "on.service"])
            .output()
            .unwrap();
        assert!(enabled.status.success(), "{enabled:?}");
        std::fs::create_dir_all(root.join("etc/init.d")).unwrap();
        script(&root.join("etc/init.d"), "legacy", "#!/bin/sh\n");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        script(
            &bin,
            "systemctl",
            &format!(
                "#!/bin/sh\necho \"$*\" >> {log}\ncase $1 in is-enabled) exec /usr/bin/systemctl --root {root} \"$@\" ;; esac\n\
                 shift; [ \"$1\" = -- ] && shift; for u; do [ \"$u\" = on ] && echo active || echo inactive; done\n",
                log = dir.path().join("calls").display(),
                root = root.display()
            ),
        );
        let order = Command::new("sh")
            .args([
                "-c",
                &format!(
                    "PATH={}:$PATH systemctl is-enabled on legacy helper 2>/dev/null",
                    bin.display()
                ),
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&order.stdout),
            "disabled\nenabled\nstatic\n",
            "the SysV script is answered first (disabled), out of order"
        );
        std::fs::remove_file(dir.path().join("calls")).unwrap();

        // `legacy` after `on`: asked in one call with SysV, its `disabled` would be on's.
        let services = [
            (3, "on"),
            (5, "legacy"),
            (6, "missing"),
            (8, "off"),
            (9, "helper"),
        ];
        let (lines, _, status) = run_with(&bin, &Rocky.services(&services));
        assert_eq!(status, 0);
        assert_eq!(
            lines,
            [
                "S 3 yes yes",
                "S 5 no no",
                "S 6 no no",
                "S 8 no no",
                "S 9 fixed no"
            ]
        );
        let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
        let count = |verb: &str| calls.lines().filter(|c| c.starts_with(verb)).count();
        assert_eq!(count("is-active"), 1, "{calls}");
        assert_eq!(
            count("is-enabled"),
            5,
            "the batch, stopped at legacy and at missing, each then asked alone, and the rest: {calls}"
        );
    }

    #[test]
    fn findmnt_raw_lines_are_decoded() {
        assert_eq!(
            Rocky.mount_entry(r"/mnt/sp\x20ace server:/a\x20b\x5cc nfs4"),
            Ok(["/mnt/sp ace".into(), r"server:/a b\c".into(), "nfs4".into()])
        );
        assert_eq!(
            Rocky.mount_entry("/ /dev/sda1 ext4"),
            Ok(["/".into(), "/dev/sda1".into(), "ext4".into()])
        );
        assert!(Rocky.mount_entry("/mnt only-two").is_err());
        assert!(
            Rocky.mount_entry(r"/mnt \xff\xfe ext4").is_err(),
            "not UTF-8"
        );
    }
}
