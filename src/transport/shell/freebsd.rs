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

    fn stat(&self) -> &'static str {
        "stat -f '%Lp %Su %Sg' \"$p\""
    }

    fn sha256(&self) -> &'static str {
        "sha256 -q"
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

    fn with_lock(&self, file: &str, command: &str) -> String {
        format!("lockf -s -t 0 {} sh -c {}", quote(file), quote(command))
    }
}
