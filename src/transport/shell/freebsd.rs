//! FreeBSD's spelling of the commands f3s runs: stat -f, sha256, pkg, service (with rc.subr's
//! `one` verbs), fstyp/gpart/diskinfo for what a device holds, mount -p, kldstat, ifconfig,
//! lockf, and the reading of what they print; rc.conf, which f3s reads and edits itself, is
//! `rc_conf.rs`.

use super::dialect::{Dialect, ListedCarp, RcVarQuery, ServiceAction};
use super::rc_conf;
use crate::host_state::CarpRole;
use crate::sensitive::{Digest, Text};
use crate::shell_words::{print_bytes, quote, words};

pub struct FreeBsd;

impl Dialect for FreeBsd {
    fn carp_role(&self, interface: &str, vhid: u32) -> Option<String> {
        // Without -k: carp_status (sbin/ifconfig/carp.c) prints `carp: STATE vhid N advbase
        // A advskew S` per vhid, and the key only with -k, so the password never leaves.
        Some(format!(
            "ifconfig {} | awk -v v={vhid} '$1 == \"carp:\" && $3 == \"vhid\" && $4 == v {{ print $2; f = 1 }} END {{ if (!f) {{ print \"no CARP vhid \" v \" on this interface\"; exit 1 }} }}'",
            quote(interface)
        ))
    }

    fn service_state(&self, name: &str) -> String {
        // `onestatus` answers whether or not the rcvar is YES (rc.subr, run_rc_command): exit
        // 0 while the daemon runs.
        format!(
            "if service {} onestatus >/dev/null 2>&1; then echo running; else echo stopped; fi",
            quote(name)
        )
    }

    fn mount_answer(&self, path: &str) -> String {
        // mount -p lists what is mounted as fstab lines (sbin/mount/mount.c, putfsent), the
        // mount point second. The stat is timed by time(1) -p, in every FreeBSD's base: it
        // prints `real S.CC` on stderr, gettimeofday(2) around the child to the hundredth of a
        // second (usr.bin/time/time.c, showtime: `tv_usec/10000`, the locale's decimal point,
        // so LC_ALL=C) and exits with the child's status. date(1) is not used: its %N came
        // only with a 2024 change (bin/date/date.c, review D44905), and before it the time is
        // whole seconds. So the answer is in ms, to 10 ms (a stat under 10 ms reads 0 ms).
        let p = quote(path);
        format!(
            "mount -p | awk -v p={p} '$2 == p {{ f = 1 }} END {{ exit !f }}' || {{ echo \"nothing is mounted at \"{p}; exit 1; }}; \
             t=$(LC_ALL=C /usr/bin/time -p stat -f %d {p}/. 2>&1 >/dev/null) || {{ printf '%s\\n' \"$t\" | grep -Ev '^(real|user|sys) '; exit 1; }}; \
             printf '%s\\n' \"$t\" | awk '$1 == \"real\" && $2 ~ /^[0-9]+[.][0-9]+$/ {{ split($2, t, \".\"); printf \"%d\\n\", t[1] * 1000 + substr(t[2] \"00\", 1, 3); f = 1 }} END {{ exit !f }}'"
        )
    }

    fn kernel(&self) -> &'static str {
        "FreeBSD"
    }

    fn path(&self) -> &'static str {
        "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"
    }

    fn stat_files(&self) -> &'static str {
        // stat(1), usr.bin/stat/stat.c: -L follows links. %Lp alone masks the mode to 0777
        // (`data &= 0777`), so a set-user-ID, set-group-ID or sticky bit would never show;
        // %OMp is those bits (`(data >> 9) & 07`) and %03OLp the rest padded to three digits,
        // as stat's own LINUX_FORMAT prints a mode. %u/%g are the ids, %Su/%Sg the names, or
        // "(ID)" where there is none. %HT words the type ("Regular File", "Directory"), %N is
        // the name as given; a tab in the format passes through.
        // Names are looked up through a cache (lib/libc/gen/pwcache.c, user_from_uid).
        "xargs -0 -r stat -L -f '%OMp%03OLp\t%u:%Su\t%g:%Sg\t%HT\t%z\t%N' 2>/dev/null"
    }

    fn sha256_files(&self) -> &'static str {
        // md5(1) -r: the digest, one space, the name (sbin/md5/md5.c, output_reverse).
        "sha256 -r"
    }

    fn rc_vars(&self, vars: &[RcVarQuery]) -> String {
        rc_conf::rc_vars_fragment(rc_conf::RC_DEFAULTS, self.path(), vars)
    }

    fn rc_set(&self, name: &str, value: &Text) -> Option<String> {
        Some(rc_conf::set_rc_var(rc_conf::RC_CONF_FILES, name, value))
    }

    fn rc_unset(&self, name: &str) -> Option<String> {
        Some(rc_conf::unset_rc_var(rc_conf::RC_CONF_FILES, name))
    }

    fn package_query(&self, names: &[&str]) -> String {
        // pkg-query(8), src/query.c (exec_query): the names are looked up in turn, each
        // printing every package it matches in the format (here `+ NAME VERSION`, so no line
        // of pkg's can pass for another). With `-e`-less, `-a`-less operands, nothing is
        // printed for a name that matches nothing.
        format!("pkg query '+ %n %v' {}", words(names))
    }

    fn read_packages(
        &self,
        names: &[&str],
        printed: &[String],
        status: i32,
        stderr: &str,
    ) -> Result<Vec<Option<String>>, (usize, String)> {
        read_pkg_query(names, printed, status, stderr)
    }
    fn install_package(&self, name: &str) -> String {
        // Until pkg is bootstrapped, /usr/sbin/pkg installs it first, and only when told yes
        // without a question: stdin is not a terminal here, and without ASSUME_ALWAYS_YES it
        // refuses ("Please set ASSUME_ALWAYS_YES=yes environment variable to be able to
        // bootstrap in non-interactive (stdin not being a tty)", usr.sbin/pkg/pkg.c, main).
        format!("ASSUME_ALWAYS_YES=yes pkg install -y {}", quote(name))
    }

    fn remove_package(&self, name: &str) -> String {
        // pkg-delete(8): `-y` answers its question; a name that matches no installed
        // package is "No packages matched for pattern" (libpkg/pkg_jobs.c,
        // jobs_solve_deinstall) and a failure. It also removes what depends on the package.
        format!("pkg delete -y {}", quote(name))
    }

    fn services(&self, services: &[(usize, &str)]) -> String {
        // rc.subr's `enabled` and `status` are defined per rc script (libexec/rc/rc.subr,
        // run_rc_command, from the script's own rcvar and command or status_cmd), so each
        // service is asked on its own: `service X enabled` is `checkyesno ${rcvar}` (nfsd's
        // rcvar is nfs_server_enable) after /etc/defaults/rc.conf and rc_conf_files.
        // `status` of a service whose rcvar is not YES says "Cannot 'status' …" and exits 0 on
        // older rc.subr; `onestatus` sets the rcvar for this run, so it answers either way. A
        // script with neither a command nor a status_cmd (rc.d/ntpdate) has no `status`
        // keyword: rc.subr says "unknown directive 'status'" and exits 1, which is not "not
        // running".
        services
            .iter()
            .map(|(i, name)| {
                let n = quote(name);
                format!(
                    "if service {n} enabled >/dev/null 2>&1; then e=yes; else e=no; fi; \
                     if o=$(service {n} onestatus 2>&1); then r=yes; else case $o in *\"unknown directive 'status'\"*) r=unknown;; *) r=no;; esac; fi; \
                     printf 'S {i} %s %s\\n' $e $r\n"
                )
            })
            .collect()
    }

    fn service(&self, name: &str, action: ServiceAction) -> String {
        // run_rc_command checks the rcvar before start, stop (of what does not run), restart
        // and reload, and where it is not YES prints "Cannot 'start' NAME. Set NAME_enable to
        // YES in /etc/rc.conf or use 'onestart' instead of 'start'." and exits 0, having done
        // nothing. The `one` prefix sets the rcvar to YES for this run, so what runs never
        // depends on what starts at boot (`enable`/`disable` edit rc.conf and take no prefix).
        let verb = match action {
            ServiceAction::Enable | ServiceAction::Disable => action.verb().to_string(),
            _ => format!("one{}", action.verb()),
        };
        format!("service {} {verb}", quote(name))
    }

    fn device_content(&self) -> &'static str {
        DEVICE_CONTENT
    }

    fn mount_listing(&self) -> &'static str {
        // mount(8) -p: every mount as an fstab line, in mount order (sbin/mount/mount.c,
        // putfsent: device, mount point, type, options, dump and pass, separated by tabs or a
        // space, nothing escaped).
        "mount -p"
    }

    fn mount_entry(&self, line: &str) -> Result<[String; 3], String> {
        // Fields as awk(1) splits them by default: runs of blanks.
        let mut fields = line.split([' ', '\t']).filter(|f| !f.is_empty());
        match (fields.next(), fields.next(), fields.next()) {
            (Some(device), Some(point), Some(fstype)) => {
                Ok([point.into(), device.into(), fstype.into()])
            }
            _ => Err(format!("unreadable mount -p line `{line}`")),
        }
    }

    fn module_listing(&self, _names: &[&str]) -> String {
        // kldstat(8) -v: every loaded file and, under it, the modules it holds by the names
        // `kldstat -m` and modfind(2) know them, the kernel's own (compiled in) included.
        "kldstat -v".into()
    }

    fn listed_module<'l>(&self, line: &'l str) -> Result<Option<&'l str>, String> {
        listed_kld_module(line)
    }

    fn load_module(&self, name: &str) -> String {
        format!("kldload -n {}", quote(name))
    }

    fn reload_units(&self) -> Option<&'static str> {
        None
    }

    fn created_root_owned(&self, _dir: &str) -> Option<String> {
        // A new file's group is its directory's (open(2): "the group ID of the file is set to
        // the group ID of the directory in which the file is created").
        None
    }

    fn with_lock(&self, file: &str, command: &str) -> String {
        format!("lockf -s -t 0 {} sh -c {}", quote(file), quote(command))
    }

    fn interface_status(&self, interface: &str) -> Option<String> {
        // With -k, carp_status (sbin/ifconfig/carp.c) ends each `carp:` line with ` key
        // "KEY"`; the key never leaves the host: each is replaced by ` key-digest HEX`, its
        // sha256 made here by the builtins and one `sha256` per vhid.
        Some(format!(
            "ifconfig -k {} | while IFS= read -r l; do case $l in *' key \"'*) k=${{l#*' key \"'}}; printf '%s key-digest %s\\n' \"${{l%%' key \"'*}}\" \"$(printf %s \"${{k%\\\"}}\" | sha256 -q)\";; *) printf '%s\\n' \"$l\";; esac; done",
            quote(interface)
        ))
    }

    fn carp_address(&self, status: &[String], address: &str) -> Result<Option<ListedCarp>, String> {
        carp_in_ifconfig(status, address)
    }

    fn set_carp_key(&self, interface: &str, vhid: u32, password: &Text) -> Option<String> {
        // carp.c, setcarp_callback: `vhid N pass P` on a vhid that exists sets its key (the
        // kernel's SIOCSVH, netinet/ip_carp.c, copies a non-empty key and prepares its HMAC),
        // the address left as it is. As for adding it, the key reaches ifconfig only as an
        // argument.
        Some(format!(
            "p=$({}; printf x); p=${{p%x}}; ifconfig {} vhid {vhid} pass \"$p\"",
            print_bytes(&password.expose(), password.is_sensitive()),
            quote(interface),
        ))
    }

    fn add_carp_address(
        &self,
        interface: &str,
        address: &str,
        vhid: u32,
        password: &Text,
    ) -> Option<String> {
        // What rc.d/netif runs at boot for `ifconfig_IF_aliasN="inet vhid N pass P alias
        // ADDR/32"` (libexec/rc/network.subr, ifalias_af_common_handler: `ifconfig IF ARGS
        // alias`), run alone: adding an address leaves the interface and its other addresses
        // as they are, where `service netif restart IF` would take the interface down and cut
        // the SSH session f3s runs over. The password reaches ifconfig only as an argument
        // (carp.c, setcarp_passwd; carp(4) has no other way in), so for the moment ifconfig
        // runs it is in the process list, as at every boot; it is printed into "$p" by the
        // printf builtin, never by a command of its own.
        Some(format!(
            "p=$({}; printf x); p=${{p%x}}; ifconfig {} inet vhid {vhid} pass \"$p\" alias {}",
            print_bytes(&password.expose(), password.is_sensitive()),
            quote(interface),
            quote(&format!("{address}/32"))
        ))
    }

    fn backup_dir(&self) -> &'static str {
        // hier(7): /var/backups/ holds "misc. backup files"; periodic(8) keeps its copies
        // of master.passwd and group there, made with `cp -p` as f3s makes its own
        // (usr.sbin/periodic/etc/daily/200.backup-passwd).
        "/var/backups/f3s"
    }
}

/// Prints what is on the device "$d" (see `Dialect::device_content`). It is `empty` only when
/// three probes all find nothing; whatever one of them finds, and any message but the one
/// saying it found nothing, counts as data (fail closed):
///
/// 1. `fstyp -u`. Without `-u`, fstyp skips every type its `fstypes[]` table marks
///    unmountable (apfs, geli, hammer, hammer2, zfs: usr.sbin/fstyp/fstyp.c, main), so a
///    GELI provider or the vdev of an exported pool would read as nothing. It prints the
///    type and exits 0, or warns "SPECIAL: filesystem not recognized" and exits 1; a read
///    error or "not a disk" is another message.
/// 2. `gpart show`, for partition tables, which fstyp does not look for. Where there is
///    none it says "No such geom: SPECIAL." (sbin/geom/class/part/geom_part.c, gpart_show).
/// 3. The first and last MiB reading as zeros. Metadata neither tool knows (LVM, LUKS, XFS,
///    Linux swap, glabel, gmirror …) lives there, as do ZFS's vdev labels and GELI's
///    metadata sector. diskinfo(8) prints the name, sector size and media size in bytes,
///    tab-separated (usr.sbin/diskinfo/diskinfo.c); a `dd` that fails adds a byte.
const DEVICE_CONTENT: &str = concat!(
    "if t=$(fstyp -u \"$d\" 2>&1); then echo \"fs ${t##*[[:space:]]}\"\n",
    "elif [ \"$t\" != \"fstyp: $d: filesystem not recognized\" ]; then echo \"unreadable $t\" | tr '\\n' ' '\n",
    "elif t=$(gpart show \"$d\" 2>&1); then echo 'fs partition-table'\n",
    "elif [ \"$t\" != \"gpart: No such geom: $d.\" ]; then echo \"unreadable $t\" | tr '\\n' ' '\n",
    "elif ! t=$(diskinfo \"$d\" 2>&1); then echo \"unreadable $t\" | tr '\\n' ' '\n",
    "else set -- ${t#\"$d\"}; c=$(($2 / $1)); z=$((1048576 / $1)); [ \"$c\" -gt \"$z\" ] || z=$c\n",
    "  n=$({ dd if=\"$d\" bs=\"$1\" count=\"$z\" 2>/dev/null || echo x; dd if=\"$d\" bs=\"$1\" skip=$((c - z)) count=\"$z\" 2>/dev/null || echo x; } | tr -d '\\000' | wc -c)\n",
    "  if [ $n -eq 0 ]; then echo empty; else echo 'unreadable fstyp -u and gpart know no signature on it, but its first or last MiB holds data'; fi\n",
    "fi",
);

/// The package versions `pkg query '+ %n %v' NAME…` printed (see `package_query`), read as
/// pkg-query(8) answers (src/query.c, exec_query): exit 0 having printed a line per package
/// found, or EX_UNAVAILABLE (69) having found none; nothing, "No packages installed" and exit 0
/// on a host with no package database yet. On a fresh install /usr/sbin/pkg is only the
/// bootstrapper, which, with stdin not a terminal, says "The package management tool is not
/// yet installed on your system." and exits 1 (usr.sbin/pkg/pkg.c, main): nothing is
/// installed. Any other status (EX_TEMPFAIL for a locked database, EX_NOPERM, EX_IOERR)
/// cannot tell, whatever was printed before it.
///
/// A line belongs to the first name, from where the previous line's left off, that pkg
/// matches to that package: its name, or its NAME-VERSION, in ASCII case either way
/// (libpkg/pkgdb_query.c, pkgdb_get_pattern_query, MATCH_EXACT: `COLLATE NOCASE` unless
/// CASE_SENSITIVE_MATCH is set), since pkg looks the names up in the order given.
fn read_pkg_query(
    names: &[&str],
    printed: &[String],
    status: i32,
    stderr: &str,
) -> Result<Vec<Option<String>>, (usize, String)> {
    const NOT_YET: &str = "The package management tool is not yet installed on your system.";
    let cannot_tell = |why: String| Err((0, why));
    match status {
        0 | 69 => {}
        1 if stderr.starts_with(NOT_YET) && printed.is_empty() => {
            return Ok(vec![None; names.len()]);
        }
        _ if stderr.is_empty() => return cannot_tell(format!("pkg query exited {status}")),
        _ => return cannot_tell(stderr.to_string()),
    }
    let mut versions = vec![None; names.len()];
    let mut next = 0;
    for line in printed {
        let Some((name, version)) = line.strip_prefix("+ ").and_then(|l| l.split_once(' ')) else {
            return Err((next.min(names.len() - 1), format!("pkg printed `{line}`")));
        };
        let matched = |asked: &&str| {
            asked.eq_ignore_ascii_case(name)
                || asked.eq_ignore_ascii_case(&format!("{name}-{version}"))
        };
        let Some(found) = names[next..].iter().position(matched) else {
            return Err((
                next.min(names.len() - 1),
                format!("pkg answered `{line}`, of no package asked after the last"),
            ));
        };
        versions[next + found] = Some(version.to_string());
        next += found + 1;
    }
    if status == 69 && !printed.is_empty() {
        return cannot_tell("pkg query printed packages yet exited 69 (none found)".into());
    }
    Ok(versions)
}

/// The module a line of `kldstat -v` names (sbin/kldstat/kldstat.c): under each file's
/// line (`ID REFS ADDRESS SIZE NAME (PATH)`) come `\tContains modules:`, `\t\tId Name` and
/// a `\t\tID NAME` line per module.
fn listed_kld_module(line: &str) -> Result<Option<&str>, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let number = |field: &str| !field.is_empty() && field.bytes().all(|b| b.is_ascii_digit());
    match fields[..] {
        [id, name] if line.starts_with("\t\t") && number(id) => Ok(Some(name)),
        ["Id", "Name"] if line.starts_with("\t\t") => Ok(None),
        ["Contains", "modules:"] if line.starts_with('\t') => Ok(None),
        ["Id", "Refs", ..] => Ok(None),
        [id, ..] if number(id) && !line.starts_with('\t') => Ok(None),
        _ => Err(format!("unreadable kldstat -v line `{line}`")),
    }
}

/// The CARP address `address` in `ifconfig IF`'s output: ifconfig(8) prints each inet
/// address as `inet ADDR netmask 0x… [broadcast …] [vhid N]` (sbin/ifconfig/af_inet.c,
/// in_status) and each vhid as `carp: STATE vhid N advbase B advskew S` (carp.c,
/// carp_status; the key only with -k, so the password never shows). A vhid whose carp line
/// is missing has not left INIT. Fields are split as awk(1) splits them, on blanks.
fn carp_in_ifconfig(status: &[String], address: &str) -> Result<Option<ListedCarp>, String> {
    let (mut found, mut vhid) = (false, None);
    let mut states = std::collections::BTreeMap::new();
    let mut keys = std::collections::BTreeMap::new();
    for line in status {
        let fields: Vec<&str> = line.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
        match fields[..] {
            ["inet", inet, ..] if inet == address => {
                found = true;
                if let Some(k) = fields[2..].iter().position(|f| *f == "vhid")
                    && let Some(number) = fields.get(2 + k + 1)
                {
                    vhid = Some(*number);
                }
            }
            ["carp:", state, _, number, ..] => {
                states.insert(number, state);
                if let Some(k) = fields.iter().position(|f| *f == "key-digest") {
                    let hex = fields.get(k + 1).copied().unwrap_or_default();
                    let digest = Digest::from_hex(hex)
                        .ok_or_else(|| format!("unreadable key digest of vhid {number}"))?;
                    keys.insert(number, digest);
                }
            }
            _ => {}
        }
    }
    let Some(number) = vhid else {
        return Ok(found.then_some(ListedCarp {
            vhid: None,
            role: CarpRole::Init,
            key: None,
        }));
    };
    let vhid = number
        .parse()
        .map_err(|_| format!("unreadable vhid `{number}` of {address}"))?;
    let state = states.get(&number).copied().unwrap_or("INIT");
    let role = CarpRole::parse(state)
        .ok_or_else(|| format!("unknown CARP state `{state}` of {address}"))?;
    Ok(Some(ListedCarp {
        vhid: Some(vhid),
        role,
        key: keys.remove(&number),
    }))
}

#[cfg(test)]
mod tests {
    //! What FreeBSD's tools print, as their sources have it, read back.
    use super::*;

    #[test]
    fn pkg_query_lines_go_to_the_names_that_matched_them_in_order() {
        let lines = |text: &[&str]| text.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        let names = ["zrepl", "Stunnel", "nope", "ca_root_nss-3.1"];
        let printed = lines(&["+ zrepl 0.6.1", "+ stunnel 5.71", "+ ca_root_nss 3.1"]);
        assert_eq!(
            read_pkg_query(&names, &printed, 0, ""),
            Ok(vec![
                Some("0.6.1".into()),
                Some("5.71".into()),
                None,
                Some("3.1".into())
            ])
        );
        assert_eq!(read_pkg_query(&names, &[], 69, ""), Ok(vec![None; 4]));
        let no_database = read_pkg_query(&names, &[], 0, "pkg: No packages installed");
        assert_eq!(no_database, Ok(vec![None; 4]));
        let bootstrapper = "The package management tool is not yet installed on your system. Please set ASSUME_ALWAYS_YES=yes environment variable to be able to bootstrap in non-interactive (stdin not being a tty)";
        assert_eq!(
            read_pkg_query(&names, &[], 1, bootstrapper),
            Ok(vec![None; 4])
        );

        let locked = "pkg: Cannot get a read lock on a database, it is locked by another process";
        assert_eq!(
            read_pkg_query(&names, &printed, 75, locked),
            Err((0, locked.to_string()))
        );
        assert!(read_pkg_query(&names, &[], 70, "").is_err(), "EX_SOFTWARE");
        assert!(read_pkg_query(&names, &lines(&["zrepl 0.6.1"]), 0, "").is_err());
        let out_of_order = lines(&["+ stunnel 5.71", "+ zrepl 0.6.1"]);
        assert!(read_pkg_query(&names, &out_of_order, 0, "").is_err());
        assert!(read_pkg_query(&names, &printed, 69, "").is_err());
        let unasked = lines(&["+ bash 5.2"]);
        assert!(read_pkg_query(&names, &unasked, 0, "").is_err());
    }

    /// kldstat -v as sbin/kldstat/kldstat.c prints it: files, and the modules in each.
    #[test]
    fn kldstat_v_names_the_modules_not_the_files() {
        let output = "Id Refs Address                Size Name\n \
            1   42 0xffffffff80200000  1f3e2d0 kernel (/boot/kernel/kernel)\n\
            \tContains modules:\n\t\t Id Name\n\t\t  1 pci/ahci\n\t\t358 nfssvc\n \
            2    1 0xffffffff82140000   5d8b48 zfs.ko (/boot/kernel/zfs.ko)\n\
            \tContains modules:\n\t\tId Name\n\t\t 15 zfsctrl\n\t\t 16 zfs\n";
        let modules: Vec<&str> = output
            .lines()
            .filter_map(|line| listed_kld_module(line).unwrap())
            .collect();
        assert_eq!(modules, ["pci/ahci", "nfssvc", "zfsctrl", "zfs"]);
        assert!(listed_kld_module("zfs.ko").is_err());
        assert!(listed_kld_module("\t\tzfs").is_err());
    }

    #[test]
    fn carp_addresses_are_read_from_ifconfig_as_awk_split_it() {
        let status: Vec<String> = "re0: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1500\n\
            \tether 00:11:22:33:44:55\n\
            \tinet 192.168.1.130 netmask 0xffffff00 broadcast 192.168.1.255\n\
            \tinet 192.168.1.138 netmask 0xffffffff broadcast 192.168.1.138 vhid 1\n\
            \tinet 192.168.1.139 netmask 0xffffffff broadcast 192.168.1.139 vhid 2\n\
            \tcarp: MASTER vhid 1 advbase 1 advskew 0\n\
            \t      peer 224.0.0.18 peer6 ff02::12\n\
            \tmedia: Ethernet autoselect (1000baseT <full-duplex>)\n"
            .lines()
            .map(str::to_string)
            .collect();
        let carp = |address: &str| carp_in_ifconfig(&status, address);
        let listed = |vhid, role| {
            Ok(Some(ListedCarp {
                vhid,
                role,
                key: None,
            }))
        };
        assert_eq!(carp("192.168.1.138"), listed(Some(1), CarpRole::Master));
        assert_eq!(carp("192.168.1.139"), listed(Some(2), CarpRole::Init));
        assert_eq!(carp("192.168.1.130"), listed(None, CarpRole::Init));
        assert_eq!(carp("192.168.1.200"), Ok(None));
        let mut odd = status.clone();
        odd.push("\tcarp: DANCING vhid 2 advbase 1 advskew 0".into());
        assert!(carp_in_ifconfig(&odd, "192.168.1.139").is_err());
    }

    /// A tool of `dir` (put first in PATH) running the sh script `body`.
    fn stand_in(dir: &std::path::Path, name: &str, body: &str) {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// `ifconfig -k` as the status command runs it: each `carp:` line's key is replaced by
    /// its sha256, made on the host, and read back as the vhid's key; the key itself is in
    /// nothing the host sends back.
    #[test]
    fn a_vhids_running_key_leaves_the_host_as_its_digest_only() {
        let dir = tempfile::tempdir().unwrap();
        let tool = |name: &str, body: &str| stand_in(dir.path(), name, body);
        // carp_status's lines, a key with a blank and a quote in it.
        tool(
            "ifconfig",
            "printf '\\tinet 10.0.0.9 netmask 0xffffffff broadcast 10.0.0.9 vhid 1\\n\\tcarp: MASTER vhid 1 advbase 1 advskew 0 key \"pa s\"w\"\\n\\t      peer 224.0.0.18 peer6 ff02::12\\n'",
        );
        tool("sha256", "sha256sum | cut -d ' ' -f 1");
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(FreeBsd.interface_status("re0").unwrap())
            .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .output()
            .unwrap();
        let printed = String::from_utf8(output.stdout).unwrap();
        assert!(!printed.contains("pa s"), "{printed}");
        let status: Vec<String> = printed.lines().map(str::to_string).collect();
        let listed = carp_in_ifconfig(&status, "10.0.0.9").unwrap().unwrap();
        assert_eq!(listed.role, CarpRole::Master);
        assert_eq!(listed.key, Some(Digest::of(b"pa s\"w")));
    }

    /// mount -p's fstab lines (putfsent): device, mount point and type, tabs or a space
    /// between them.
    #[test]
    fn mount_p_lines_are_split_on_blanks() {
        let entry = FreeBsd.mount_entry("zroot/data/nfs\t\t/data/nfs\t\tzfs\trw,nfsv4acls\t\t0 0");
        assert_eq!(
            entry,
            Ok(["/data/nfs".into(), "zroot/data/nfs".into(), "zfs".into()])
        );
        let long = "127.0.0.1:/data/nfs/k3svolumes /data/nfs/k3svolumes nfs\trw\t\t0 0";
        assert_eq!(
            FreeBsd.mount_entry(long).unwrap()[0],
            "/data/nfs/k3svolumes"
        );
        assert!(FreeBsd.mount_entry("/dev/ada0p2 /").is_err());
    }

    /// The mount answer's script, run by sh with a stand-in `mount -p` and a `stat` that
    /// takes a quarter of a second: time(1) -p's `real 0.25` reads 250 ms (POSIX's format,
    /// which GNU time prints as FreeBSD's does); a failing stat gives its complaint.
    #[test]
    fn a_mount_answer_is_timed_to_the_hundredth_of_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let tool = |name: &str, body: &str| stand_in(dir.path(), name, body);
        tool(
            "mount",
            "printf '/dev/x\\t\\t/data/nfs\\t\\tnfs\\trw\\t\\t0 0\\n'",
        );
        tool(
            "stat",
            "[ \"$3\" = /data/nfs/. ] || { echo \"stat: $3: Stale NFS file handle\" >&2; exit 1; }; sleep 0.25; echo 123",
        );
        let run = |path: &str| {
            let output = std::process::Command::new("sh")
                .args(["-c", &FreeBsd.mount_answer(path)])
                .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
                .output()
                .unwrap();
            (
                output.status.code(),
                String::from_utf8_lossy(&output.stdout).trim().to_string(),
            )
        };
        let (code, ms) = run("/data/nfs");
        assert_eq!(code, Some(0), "{ms}");
        let ms: u32 = ms.parse().unwrap();
        assert!((250..1000).contains(&ms) && ms.is_multiple_of(10), "{ms}");
        tool(
            "stat",
            "echo 'stat: /data/nfs/.: Stale NFS file handle' >&2; exit 1",
        );
        assert_eq!(
            run("/data/nfs"),
            (Some(1), "stat: /data/nfs/.: Stale NFS file handle".into())
        );
        assert_eq!(
            run("/elsewhere"),
            (Some(1), "nothing is mounted at /elsewhere".into())
        );
    }
}
