//! Where a host is and how to reach it, decided as OpenSSH decides it (ssh_config(5)): the
//! user's `~/.ssh/config`, then `/etc/ssh/ssh_config`, the first value found for a setting
//! winning; the inventory's `connection:` over both. The files are parsed by the `ssh2-config`
//! crate; this module only applies what they say to a host: its name, port, user, identities,
//! known hosts, host key policy, timeouts and the jump hosts in front of it.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

use miette::Diagnostic;
use ssh2_config::{HostParams, ParseRule};
use thiserror::Error;

use crate::inventory::host::Connection;

/// Which ssh_config files to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigFiles {
    /// `~/.ssh/config`, then `/etc/ssh/ssh_config`, those that exist (ssh(1), FILES).
    Standard,
    /// Only this one, as `ssh -F FILE` reads only FILE.
    Only(PathBuf),
    /// None, as `ssh -F none`.
    Nothing,
}

impl ConfigFiles {
    /// From `--ssh-config` (or `F3S_SSH_CONFIG`): a file, `none`, or unset for the standard ones.
    pub fn from_option(option: Option<&Path>) -> Self {
        match option {
            None => Self::Standard,
            Some(path) if path.as_os_str() == "none" => Self::Nothing,
            Some(path) => Self::Only(path.to_path_buf()),
        }
    }
}

#[derive(Debug, Error, Diagnostic)]
#[error("cannot read the ssh_config file {path}: {message}")]
#[diagnostic(help(
    "f3s reads ~/.ssh/config and /etc/ssh/ssh_config as ssh does, or only the file --ssh-config (F3S_SSH_CONFIG) names (`none`: no file); `ssh -G HOST` shows how ssh reads them"
))]
pub struct SshConfigError {
    pub path: String,
    pub message: String,
}

/// The ssh_config files, read once for the run.
#[derive(Debug, Default)]
pub struct SshConfig {
    parsed: ssh2_config::SshConfig,
    home: PathBuf,
    /// Who runs f3s: a jump host's user when nothing names one, as ssh's default.
    local_user: String,
}

/// What to do with a host key not yet in known_hosts (ssh_config(5) StrictHostKeyChecking).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewHostKeys {
    /// `yes`, or `ask` (the default): f3s cannot ask, so it refuses.
    Refuse,
    /// `accept-new`, and `no`: added to the known hosts file. A changed key is refused
    /// either way; for `no`, f3s is stricter than ssh, which would connect anyway.
    Accept,
}

/// One SSH server on the way to a host: the host itself, or a jump host in front of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The name as written (inventory address, or the jump's host), matched against `Host`.
    pub name: String,
    /// What to connect to (HostName, else the name); a jump host resolves it, not f3s.
    pub hostname: String,
    pub port: u16,
    pub user: String,
    /// Identity files named for this host (inventory, else IdentityFile); none means the
    /// default ones (`identity::DEFAULT_IDENTITIES`).
    pub identity_files: Vec<PathBuf>,
    /// IdentitiesOnly: of the agent's keys, only those of `identity_files`.
    pub identities_only: bool,
    /// Where host keys are checked, and the first one where new ones are added.
    pub known_hosts: Vec<PathBuf>,
    pub new_host_keys: Option<NewHostKeys>,
    pub connect_timeout: Option<Duration>,
    pub server_alive_interval: Option<Duration>,
}

impl Endpoint {
    /// `name` as a person reads it in a message: with the address it stands for.
    pub fn shown(&self) -> String {
        if self.name == self.hostname {
            format!("{}:{}", self.hostname, self.port)
        } else {
            format!("{} ({}:{})", self.name, self.hostname, self.port)
        }
    }
}

/// How to reach a host: through `jumps`, in order (the first reached directly), to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub jumps: Vec<Endpoint>,
    pub target: Endpoint,
}

/// How deep jump hosts may name jump hosts of their own before f3s calls it a loop.
const JUMP_DEPTH: usize = 8;

impl SshConfig {
    /// Reads `files`; a standard file that does not exist is skipped, as ssh skips it.
    pub fn load(files: &ConfigFiles) -> Result<Self, SshConfigError> {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/"), PathBuf::from);
        let paths = match files {
            ConfigFiles::Standard => [home.join(".ssh/config"), "/etc/ssh/ssh_config".into()]
                .into_iter()
                .filter(|path| path.exists())
                .collect(),
            ConfigFiles::Only(path) => vec![path.clone()],
            ConfigFiles::Nothing => Vec::new(),
        };
        let mut parsed = ssh2_config::SshConfig::default().home_dir(&home);
        for path in paths {
            let error = |message: String| SshConfigError {
                path: path.display().to_string(),
                message,
            };
            let file = std::fs::File::open(&path).map_err(|e| error(e.to_string()))?;
            // Lenient, as to options ssh2-config does not model: ssh knows them, and only
            // what f3s uses matters here. Later files add their `Host` blocks after the
            // earlier ones', so the first value found still wins.
            parsed = parsed
                .parse(
                    &mut BufReader::new(file),
                    ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS,
                )
                .map_err(|e| error(e.to_string()))?;
        }
        let local_user = ["USER", "LOGNAME"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "root".into());
        Ok(Self {
            parsed,
            home,
            local_user,
        })
    }

    /// How to reach `address` (the inventory's), with what `connection` sets over ssh_config.
    pub fn route(&self, address: &str, connection: &Connection) -> Result<Route, String> {
        let params = self.query(address);
        let mut target = self.endpoint(address, &params, connection.user.clone(), None, "root");
        if let Some(port) = connection.port {
            target.port = port;
        }
        if let Some(file) = &connection.identity_file {
            target.identity_files = vec![file.clone()];
        }
        if let Some(file) = &connection.known_hosts {
            target.known_hosts = vec![file.clone()];
        }
        let mut jumps = self.jumps(&params, 0)?;
        // A jump host's own known hosts, when ssh_config names none for it, are the inventory's
        // for its host: an inventory that keeps host keys apart keeps them all there.
        if let Some(file) = &connection.known_hosts {
            for jump in &mut jumps {
                if jump.known_hosts == self.default_known_hosts() {
                    jump.known_hosts = vec![file.clone()];
                }
            }
        }
        Ok(Route { jumps, target })
    }

    /// The settings of the first `Host` blocks matching `name`, lowercased first as ssh does.
    fn query(&self, name: &str) -> HostParams {
        self.parsed.query(name.to_lowercase())
    }

    /// The jump hosts of a host whose settings are `params` (ssh_config(5) ProxyJump): each
    /// `[user@]host[:port]` or `ssh://[user@]host[:port]`, in order. The first is reached as
    /// its own settings say (its own ProxyJump too); each later one through the one before.
    fn jumps(&self, params: &HostParams, depth: usize) -> Result<Vec<Endpoint>, String> {
        let Some(specs) = &params.proxy_jump else {
            return Ok(Vec::new());
        };
        if specs.len() == 1 && specs[0].eq_ignore_ascii_case("none") {
            return Ok(Vec::new());
        }
        if depth == JUMP_DEPTH {
            return Err(format!(
                "ProxyJump goes more than {JUMP_DEPTH} jump hosts deep; do jump hosts name each other?"
            ));
        }
        let mut hops = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let (user, host, port) = parse_jump(spec)?;
            let jump_params = self.query(&host);
            if i == 0 {
                hops.extend(self.jumps(&jump_params, depth + 1)?);
            }
            hops.push(self.endpoint(&host, &jump_params, user, port, &self.local_user));
        }
        Ok(hops)
    }

    /// `name`'s endpoint from its settings, with a user and port given over them. A target
    /// without a user is reached as root (f3s's default, since it manages the host); a jump
    /// host as the local user, as ssh would.
    fn endpoint(
        &self,
        name: &str,
        params: &HostParams,
        user: Option<String>,
        port: Option<u16>,
        default_user: &str,
    ) -> Endpoint {
        let field = |key: &str| {
            params
                .unsupported_fields
                .get(key)
                .filter(|args| !args.is_empty())
        };
        let hostname = params
            .host_name
            .as_deref()
            .map_or_else(|| name.to_string(), |pattern| expand_host(pattern, name));
        let known_hosts = match field("userknownhostsfile") {
            Some(files) if files[0].eq_ignore_ascii_case("none") => vec![],
            Some(files) => files.iter().map(|f| self.tilde(f)).collect(),
            None => self.default_known_hosts(),
        };
        Endpoint {
            name: name.to_string(),
            hostname,
            port: port.or(params.port).unwrap_or(22),
            user: user
                .or_else(|| params.user.clone())
                .unwrap_or_else(|| default_user.to_string()),
            identity_files: params.identity_file.clone().unwrap_or_default(),
            identities_only: field("identitiesonly").is_some_and(|v| yes(&v[0])),
            known_hosts,
            new_host_keys: field("stricthostkeychecking").map(|v| {
                match v[0].to_ascii_lowercase().as_str() {
                    "accept-new" | "no" | "off" => NewHostKeys::Accept,
                    _ => NewHostKeys::Refuse,
                }
            }),
            connect_timeout: params.connect_timeout.filter(|t| !t.is_zero()),
            server_alive_interval: params.server_alive_interval.filter(|t| !t.is_zero()),
        }
    }

    /// ssh's default UserKnownHostsFile (ssh_config(5)): `~/.ssh/known_hosts`,
    /// `~/.ssh/known_hosts2`.
    pub fn default_known_hosts(&self) -> Vec<PathBuf> {
        vec![
            self.home.join(".ssh/known_hosts"),
            self.home.join(".ssh/known_hosts2"),
        ]
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    fn tilde(&self, path: &str) -> PathBuf {
        match path.strip_prefix("~/") {
            Some(rest) => self.home.join(rest),
            None => PathBuf::from(path),
        }
    }
}

fn yes(value: &str) -> bool {
    matches!(value.to_ascii_lowercase().as_str(), "yes" | "true")
}

/// HostName's tokens (ssh_config(5) TOKENS: `%h` the host name as given, `%%` a percent).
fn expand_host(pattern: &str, name: &str) -> String {
    pattern
        .replace("%%", "\0")
        .replace("%h", name)
        .replace('\0', "%")
}

/// A ProxyJump entry: `[user@]host[:port]` or `ssh://[user@]host[:port]`, an IPv6 host in
/// brackets.
fn parse_jump(spec: &str) -> Result<(Option<String>, String, Option<u16>), String> {
    let bad = || format!("cannot read `{spec}` in ProxyJump: expected [user@]host[:port]");
    let rest = spec.strip_prefix("ssh://").unwrap_or(spec);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (user, rest) = match rest.rsplit_once('@') {
        Some((user, rest)) if !user.is_empty() => (Some(user.to_string()), rest),
        Some(_) => return Err(bad()),
        None => (None, rest),
    };
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(bad)?;
        (host, after.strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(port)),
            _ => (rest, None),
        }
    };
    let port = match port {
        Some(port) => Some(
            port.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(bad)?,
        ),
        None => None,
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok((user, host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::host::Become;

    fn config(text: &str) -> SshConfig {
        let parsed = ssh2_config::SshConfig::default()
            .home_dir("/home/u")
            .parse(
                &mut BufReader::new(text.as_bytes()),
                ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS,
            )
            .unwrap();
        SshConfig {
            parsed,
            home: "/home/u".into(),
            local_user: "me".into(),
        }
    }

    fn bare() -> Connection {
        Connection {
            port: None,
            user: None,
            become_method: Become::None,
            identity_file: None,
            known_hosts: None,
        }
    }

    #[test]
    fn an_alias_takes_its_settings_and_the_first_value_wins() {
        let config = config(
            "Host web*\n  HostName %h.example.org\n  User paul\n  Port 2222\n  IdentityFile ~/.ssh/web\n  IdentitiesOnly yes\n  UserKnownHostsFile ~/.ssh/kh_web\n  StrictHostKeyChecking accept-new\n  ConnectTimeout 7\n  ServerAliveInterval 15\n\
             Host *\n  User nobody\n  Port 22\n  IdentityFile ~/.ssh/other\n",
        );
        let route = config.route("web1", &bare()).unwrap();
        let target = route.target;
        assert_eq!(target.hostname, "web1.example.org");
        assert_eq!((target.user.as_str(), target.port), ("paul", 2222));
        assert_eq!(
            target.identity_files,
            [
                PathBuf::from("/home/u/.ssh/web"),
                PathBuf::from("/home/u/.ssh/other")
            ]
        );
        assert!(target.identities_only);
        assert_eq!(target.known_hosts, [PathBuf::from("/home/u/.ssh/kh_web")]);
        assert_eq!(target.new_host_keys, Some(NewHostKeys::Accept));
        assert_eq!(target.connect_timeout, Some(Duration::from_secs(7)));
        assert_eq!(target.server_alive_interval, Some(Duration::from_secs(15)));
        assert!(route.jumps.is_empty());
    }

    #[test]
    fn the_inventory_overrides_ssh_config() {
        let config = config("Host a\n  HostName 127.0.0.9\n  User paul\n  Port 2222\n");
        let connection = Connection {
            port: Some(22022),
            user: Some("root".into()),
            identity_file: Some("/k".into()),
            known_hosts: Some("/kh".into()),
            ..bare()
        };
        let target = config.route("a", &connection).unwrap().target;
        assert_eq!(target.hostname, "127.0.0.9");
        assert_eq!((target.user.as_str(), target.port), ("root", 22022));
        assert_eq!(target.identity_files, [PathBuf::from("/k")]);
        assert_eq!(target.known_hosts, [PathBuf::from("/kh")]);
    }

    #[test]
    fn nothing_configured_means_ssh_defaults_and_root() {
        let target = config("").route("h", &bare()).unwrap().target;
        assert_eq!((target.hostname.as_str(), target.port), ("h", 22));
        assert_eq!(target.user, "root");
        assert!(target.identity_files.is_empty());
        assert_eq!(
            target.known_hosts,
            [
                PathBuf::from("/home/u/.ssh/known_hosts"),
                PathBuf::from("/home/u/.ssh/known_hosts2")
            ]
        );
        assert_eq!(target.new_host_keys, None);
    }

    #[test]
    fn jumps_chain_in_order_and_a_jumps_own_jump_comes_first() {
        let config = config(
            "Host t\n  ProxyJump ops@j2:2200,ssh://j3\nHost j2\n  HostName 127.0.0.2\n  ProxyJump j1\n  User nobody\nHost j1\n  Port 2201\n",
        );
        let route = config.route("t", &bare()).unwrap();
        let hops: Vec<(&str, &str, &str, u16)> = route
            .jumps
            .iter()
            .map(|j| {
                (
                    j.name.as_str(),
                    j.hostname.as_str(),
                    j.user.as_str(),
                    j.port,
                )
            })
            .collect();
        assert_eq!(
            hops,
            [
                ("j1", "j1", "me", 2201),
                ("j2", "127.0.0.2", "ops", 2200),
                ("j3", "j3", "me", 22)
            ]
        );
    }

    #[test]
    fn a_jump_loop_is_an_error_not_a_hang() {
        let looping = config("Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n");
        let error = looping.route("a", &bare()).unwrap_err();
        assert!(error.contains("ProxyJump"), "{error}");
        assert!(
            config("Host a\n  ProxyJump none\n")
                .route("a", &bare())
                .unwrap()
                .jumps
                .is_empty()
        );
    }

    #[test]
    fn jump_specs() {
        assert_eq!(
            parse_jump("u@h:22").unwrap(),
            (Some("u".into()), "h".into(), Some(22))
        );
        assert_eq!(parse_jump("h").unwrap(), (None, "h".into(), None));
        assert_eq!(
            parse_jump("ssh://[::1]:2022").unwrap(),
            (None, "::1".into(), Some(2022))
        );
        assert!(parse_jump("h:port").is_err());
        assert!(parse_jump("@h").is_err());
    }
}
