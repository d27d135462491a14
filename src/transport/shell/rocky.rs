//! Rocky Linux's spelling of the commands f3s runs: GNU stat, sha256sum, rpm/dnf, systemctl,
//! flock. Rocky has no rc.conf.

use super::{Dialect, ServiceAction, quote};
use crate::sensitive::Text;

pub struct Rocky;

impl Dialect for Rocky {
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

    fn sha256(&self) -> &'static str {
        // Grouped, so a redirection of the whole reaches sha256sum.
        "{ sha256sum | cut -d ' ' -f 1; }"
    }

    fn sha256_files(&self) -> &'static str {
        "sha256sum"
    }

    fn carp_address(&self, _interface: &str, _address: &str) -> Option<String> {
        None
    }

    fn add_carp_address(&self, _: &str, _: &str, _: u32, _: &Text) -> Option<String> {
        None
    }

    fn rc_get(&self, _name: &str) -> Option<String> {
        None
    }

    fn rc_set(&self, _name: &str, _value: &Text) -> Option<String> {
        None
    }

    fn package_state(&self, name: &str) -> String {
        // rpm(8) -q: for a package not installed it prints "package NAME is not installed" on
        // stdout and exits 1 (lib/query.c, rpmQueryVerify, RPMQV_PACKAGE: the message at
        // RPMLOG_NOTICE, which rpmlog writes to stdout; the exit status counts failures); any
        // other failure (a broken database) cannot tell.
        let n = quote(name);
        format!(
            "if v=$(rpm -q --qf '%{{VERSION}}-%{{RELEASE}}' {n} 2>/dev/null); then echo \"$v\"; \
             elif [ \"$v\" = {} ]; then echo absent; \
             else printf 'failed %s' \"$(rpm -q {n} 2>&1)\" | tr '\\n' ' '; fi",
            quote(&format!("package {name} is not installed"))
        )
    }

    fn install_package(&self, name: &str) -> String {
        format!("dnf install -y {}", quote(name))
    }

    fn service_enabled(&self, name: &str) -> String {
        // systemctl(1), is-enabled: its exit status is 0 for enabled, and also for
        // enabled-runtime (gone at the next boot), static (no [Install] section), indirect,
        // alias and generated (src/systemctl/systemctl-is-enabled.c); so the word decides.
        // Only `enabled` starts at boot by the unit's own enablement, which `enable` makes
        // (from enabled-runtime too); the four that enable and disable cannot change are
        // `fixed`; the rest (disabled, linked, masked, transient, bad, no such unit) are not.
        format!(
            "case $(systemctl is-enabled {} 2>/dev/null) in enabled) echo yes;; static|indirect|generated|alias) echo fixed;; *) echo no;; esac",
            quote(name)
        )
    }

    fn service_running(&self, name: &str) -> String {
        format!(
            "if systemctl is-active --quiet {}; then echo yes; else echo no; fi",
            quote(name)
        )
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

    fn mounted(&self, path: &str) -> String {
        format!(
            "findmnt -n -o SOURCE,FSTYPE --mountpoint {} | tail -n 1",
            quote(path)
        )
    }

    fn module_loaded(&self, name: &str) -> String {
        format!("[ -d /sys/module/{} ]", quote(name))
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

#[cfg(test)]
mod tests {
    //! The device probe run by the local `sh` with this machine's util-linux blkid, the tool
    //! Rocky has, over image files.
    use super::*;
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
}
