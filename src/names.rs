//! Validation of the names that end up in commands on a host: paths, ZFS dataset names,
//! service, package, rc.conf variable, user and group names, file modes. f3s quotes every
//! argument anyway; these rules reject at load time what cannot be a valid name, so a typo or a
//! stray shell metacharacter is reported at its line instead of reaching a host.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Path,
    Dataset,
    Service,
    Package,
    RcVar,
    User,
    HostName,
    Address,
    Interface,
    Mode,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Path => "path",
            Self::Dataset => "dataset name",
            Self::Service => "service name",
            Self::Package => "package name",
            Self::RcVar => "rc.conf variable name",
            Self::User => "user or group name",
            Self::HostName => "host name",
            Self::Address => "host address",
            Self::Interface => "network interface name",
            Self::Mode => "file mode",
        })
    }
}

impl NameKind {
    /// The rule, as the help line of a diagnostic states it.
    pub fn rule(self) -> &'static str {
        match self {
            Self::Path => {
                "a path is absolute, written one way only (no `//`, `.` or `..` parts, no trailing `/`), and uses only letters, digits and . _ - + @ : , = /"
            }
            Self::Dataset => {
                "a dataset is pool/child/...: each part starts with a letter or digit and uses only letters, digits and _ - . :"
            }
            Self::Service => {
                "a service name starts with a letter or digit and uses only letters, digits and _ - . @"
            }
            Self::Package => {
                "a package name starts with a letter or digit and uses only letters, digits and _ - . +"
            }
            Self::RcVar => "an rc.conf variable is a shell variable name: letters, digits and _",
            Self::User => {
                "a user or group name starts with a letter or _ and uses only letters, digits, _ and -"
            }
            Self::HostName => {
                "a host name starts with a letter or digit and uses only letters, digits, - and ."
            }
            Self::Address => {
                "an address is an IPv4 or IPv6 address, or a DNS name: dot-separated labels of letters, digits and -, none starting or ending with -"
            }
            Self::Interface => {
                "a network interface name starts with a letter or digit and uses only letters, digits, _ and . (re0, igb1, vlan0.100)"
            }
            Self::Mode => "a mode is an octal string such as \"0644\" (quote it in YAML)",
        }
    }

    /// Checks `value`; the error is the reason it is not valid.
    pub fn check(self, value: &str) -> Result<(), String> {
        if value.is_empty() {
            return Err("it is empty".into());
        }
        if let Some(bad) = value.chars().find(|c| c.is_control()) {
            return Err(format!("it contains the control character {bad:?}"));
        }
        match self {
            Self::Path => check_path(value),
            Self::Dataset => check_dataset(value),
            Self::Service => check_word(value, "_-.@"),
            Self::Package => check_word(value, "_-.+"),
            Self::RcVar => check_rc_var(value),
            Self::User => check_user(value),
            Self::HostName => check_word(value, "-."),
            Self::Address => check_address(value),
            Self::Interface => check_word(value, "_."),
            Self::Mode => check_mode(value),
        }
    }
}

fn check_path(value: &str) -> Result<(), String> {
    if !value.starts_with('/') {
        return Err("it is not absolute".into());
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !"._-+@:,=/".contains(*c))
    {
        return Err(format!("it contains `{bad}`"));
    }
    // One file, one spelling: `/etc//exports`, `/etc/./exports` and `/etc/exports/` name
    // `/etc/exports` too, and two resources managing one file under two names would fight
    // over it (and miss each other's implied edges). `..` could also leave a directory
    // through a symbolic link. So only the plain spelling is accepted.
    if value == "/" {
        return Ok(());
    }
    if value.ends_with('/') {
        return Err("it ends with `/`".into());
    }
    for part in value.split('/').skip(1) {
        match part {
            "" => return Err("it contains `//`".into()),
            "." => return Err("it contains a `.` part".into()),
            ".." => return Err("it contains `..`".into()),
            _ => {}
        }
    }
    Ok(())
}

fn check_dataset(value: &str) -> Result<(), String> {
    for part in value.split('/') {
        let Some(first) = part.chars().next() else {
            return Err("it has an empty component".into());
        };
        if !first.is_ascii_alphanumeric() {
            return Err(format!(
                "component `{part}` does not start with a letter or digit"
            ));
        }
        if let Some(bad) = part
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && !"_-.:".contains(*c))
        {
            return Err(format!("it contains `{bad}`"));
        }
    }
    Ok(())
}

fn check_word(value: &str, extra: &str) -> Result<(), String> {
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("it does not start with a letter or digit".into());
    }
    match value
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !extra.contains(*c))
    {
        Some(bad) => Err(format!("it contains `{bad}`")),
        None => Ok(()),
    }
}

fn check_rc_var(value: &str) -> Result<(), String> {
    if value.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("it starts with a digit".into());
    }
    match value
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && *c != '_')
    {
        Some(bad) => Err(format!("it contains `{bad}`")),
        None => Ok(()),
    }
}

fn check_user(value: &str) -> Result<(), String> {
    if !value.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return Err("it does not start with a letter or _".into());
    }
    match value
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !"_-".contains(*c))
    {
        Some(bad) => Err(format!("it contains `{bad}`")),
        None => Ok(()),
    }
}

/// ssh2 resolves the address and libssh2 looks it up in known_hosts; anything but an IP
/// literal or a DNS name (RFC 1123 labels) is a mistake, and one starting with `-` would be an
/// option to any `ssh` command line it reached.
fn check_address(value: &str) -> Result<(), String> {
    if value.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    if value.len() > 253 {
        return Err("it is longer than 253 characters".into());
    }
    for label in value.split('.') {
        if label.is_empty() {
            return Err("it has an empty label".into());
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` starts or ends with `-`"));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && *c != '-')
        {
            return Err(format!("it contains `{bad}`"));
        }
    }
    Ok(())
}

fn check_mode(value: &str) -> Result<(), String> {
    let octal =
        value.len() >= 3 && value.len() <= 4 && value.chars().all(|c| ('0'..='7').contains(&c));
    if octal {
        Ok(())
    } else {
        Err("it is not three or four octal digits".into())
    }
}

/// The parent directory of an absolute path, if it has one below `/`.
pub fn parent_dir(path: &str) -> Option<&str> {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) | None => None,
        Some(index) => Some(&trimmed[..index]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_absolute_and_plain() {
        assert!(
            NameKind::Path
                .check("/keys/f0.lan.buetow.org:zdata.key")
                .is_ok()
        );
        assert_eq!(
            NameKind::Path.check("etc/hosts"),
            Err("it is not absolute".into())
        );
        assert_eq!(
            NameKind::Path.check("/etc/x;rm -rf /"),
            Err("it contains `;`".into())
        );
        assert_eq!(
            NameKind::Path.check("/etc/../shadow"),
            Err("it contains `..`".into())
        );
        assert!(NameKind::Path.check("/a/$(id)").is_err());
        assert!(NameKind::Path.check("/").is_ok());
    }

    #[test]
    fn paths_have_one_spelling() {
        assert_eq!(
            NameKind::Path.check("/etc//exports"),
            Err("it contains `//`".into())
        );
        assert_eq!(
            NameKind::Path.check("/etc/./exports"),
            Err("it contains a `.` part".into())
        );
        assert_eq!(
            NameKind::Path.check("/etc/exports/"),
            Err("it ends with `/`".into())
        );
        assert_eq!(
            NameKind::Path.check("/etc/.."),
            Err("it contains `..`".into())
        );
        assert!(NameKind::Path.check("/etc/.hidden/..x").is_ok());
    }

    #[test]
    fn addresses_are_ip_literals_or_dns_names() {
        for good in [
            "192.168.1.130",
            "127.0.0.2",
            "::1",
            "fe80::1",
            "f0.lan.buetow.org",
        ] {
            assert!(NameKind::Address.check(good).is_ok(), "{good}");
        }
        assert!(NameKind::Address.check("-oProxyCommand=id").is_err());
        assert!(NameKind::Address.check("f0 -p 2222").is_err());
        assert!(NameKind::Address.check("f0..lan").is_err());
        assert!(NameKind::Address.check("[::1]").is_err());
        assert!(NameKind::Address.check("f0\n").is_err());
    }

    #[test]
    fn datasets_follow_zfs_component_rules() {
        assert!(
            NameKind::Dataset
                .check("zdata/sink/f0/zdata/enc/nfsdata")
                .is_ok()
        );
        assert!(NameKind::Dataset.check("zdata//enc").is_err());
        assert!(NameKind::Dataset.check("zdata/enc nfs").is_err());
        assert!(NameKind::Dataset.check("zdata/-x").is_err());
    }

    #[test]
    fn services_packages_and_variables() {
        assert!(NameKind::Service.check("nfs-mount-monitor.timer").is_ok());
        assert!(NameKind::Service.check("mountd; reboot").is_err());
        assert!(NameKind::Package.check("nfs-utils").is_ok());
        assert!(NameKind::Package.check("`id`").is_err());
        assert!(NameKind::RcVar.check("ifconfig_re0_alias0").is_ok());
        assert!(NameKind::RcVar.check("zrepl-enable").is_err());
        assert!(NameKind::User.check("root").is_ok());
        assert!(NameKind::User.check("0day").is_err());
    }

    #[test]
    fn modes_are_octal_strings() {
        assert!(NameKind::Mode.check("0644").is_ok());
        assert!(NameKind::Mode.check("400").is_ok());
        assert!(NameKind::Mode.check("0648").is_err());
        assert!(NameKind::Mode.check("rw-r--r--").is_err());
    }

    #[test]
    fn parent_directories() {
        assert_eq!(parent_dir("/data/nfs/k3svolumes"), Some("/data/nfs"));
        assert_eq!(parent_dir("/data"), None);
        assert_eq!(parent_dir("/data/nfs/"), Some("/data"));
    }
}
