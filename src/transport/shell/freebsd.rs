//! FreeBSD's spelling of the commands f3s runs: stat -f, sha256, sysrc, pkg, service, lockf.

use super::{Dialect, ServiceAction, quote};

pub struct FreeBsd;

impl Dialect for FreeBsd {
    fn kernel(&self) -> &'static str {
        "FreeBSD"
    }

    fn path(&self) -> &'static str {
        "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"
    }

    fn stat_files(&self) -> &'static str {
        // stat(1): -L follows links; %HT words the type ("Regular File", "Directory"), %N is
        // the name as given; a tab in the format passes through (usr.bin/stat/stat.c).
        "stat -L -f '%Lp\t%Su\t%Sg\t%HT\t%z\t%N'"
    }

    fn sha256(&self) -> &'static str {
        "sha256 -q"
    }

    fn sha256_files(&self) -> &'static str {
        // md5(1) -r: the digest, one space, the name (sbin/md5/md5.c, output_reverse).
        "sha256 -r"
    }

    fn rc_get(&self, name: &str) -> Option<String> {
        Some(format!("sysrc -n {}", quote(name)))
    }

    fn rc_set(&self, name: &str) -> Option<String> {
        Some(format!(
            "sysrc {}\"$v\" >/dev/null",
            quote(&format!("{name}="))
        ))
    }

    fn package_version(&self, name: &str) -> String {
        format!("pkg query %v {}", quote(name))
    }

    fn install_package(&self, name: &str) -> String {
        format!("pkg install -y {}", quote(name))
    }

    fn service_enabled(&self, name: &str) -> String {
        format!("service {} enabled", quote(name))
    }

    fn service_running(&self, name: &str) -> String {
        format!("service {} status", quote(name))
    }

    fn service(&self, name: &str, action: ServiceAction) -> String {
        format!("service {} {}", quote(name), action.verb())
    }

    fn device_content(&self) -> &'static str {
        // fstyp knows filesystems and ZFS labels; gpart knows partition tables, which fstyp
        // does not report. Any other failure leaves the device's content unknown.
        "if t=$(fstyp \"$d\" 2>&1); then echo \"fs $t\"; elif gpart show \"$d\" >/dev/null 2>&1; then echo 'fs partition-table'; else case \"$t\" in *'not recognized'*) echo empty;; *) echo \"unreadable $t\" | tr '\\n' ' ';; esac; fi"
    }

    fn mounted(&self, path: &str) -> String {
        format!(
            "mount -p | awk -v p={} '$2 == p {{ m = $1 \" \" $3 }} END {{ if (m) print m }}'",
            quote(path)
        )
    }

    fn module_loaded(&self, name: &str) -> String {
        format!("kldstat -q -m {}", quote(name))
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
}
