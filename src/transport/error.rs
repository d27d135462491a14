//! What can go wrong reading from or writing to a host, each with what to do about it.
//! Messages may quote a host's stderr; the CLI withholds any that quotes a secret.

use miette::Diagnostic;
use thiserror::Error;

use std::time::Duration;

use crate::compile_error::CompileError;
use crate::inventory::host::Host;
use crate::transport::bounded::Exceeded;
use crate::transport::watchdog::Cut;

#[derive(Debug, Error, Diagnostic)]
pub enum TransportError {
    /// A recorded host state that is missing or malformed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Recorded(#[from] CompileError),
    #[error("{host}: cannot connect to {address}: {message}")]
    #[diagnostic(help(
        "check that the host is up, and its address and port in the inventory or in ssh_config (HostName, Port, ProxyJump)"
    ))]
    Connect {
        host: String,
        address: String,
        message: String,
    },
    #[error("{host}: SSH handshake failed: {message}")]
    Handshake { host: String, message: String },
    #[error("{host}: unknown host key {fingerprint}; it is not in {known_hosts}")]
    #[diagnostic(help(
        "verify the fingerprint out of band (ssh-keygen -lf on the host), then add the key to that file, or run once with --accept-new-host-keys"
    ))]
    UnknownHostKey {
        host: String,
        fingerprint: String,
        known_hosts: String,
    },
    #[error("{host}: HOST KEY CHANGED: {fingerprint} does not match the key in {known_hosts}")]
    #[diagnostic(help(
        "someone may be intercepting the connection, or the host was reinstalled; verify the new key out of band, then remove the old line from that file. f3s never replaces a changed key"
    ))]
    ChangedHostKey {
        host: String,
        fingerprint: String,
        known_hosts: String,
    },
    #[error("{host}: cannot use known hosts file {known_hosts}: {message}")]
    #[diagnostic(help(
        "f3s reads host keys from that file as OpenSSH does (inventory `connection.known_hosts`, else ~/.ssh/known_hosts) and, with --accept-new-host-keys, adds new ones to it: check that you can read and write it"
    ))]
    KnownHosts {
        host: String,
        known_hosts: String,
        message: String,
    },
    #[error("{host}: authentication as `{user}` failed: {message}")]
    #[diagnostic(help(
        "f3s tries keys as ssh does: the ssh-agent's (SSH_AUTH_SOCK; with IdentitiesOnly, only those of the identity files), then the inventory's identity_file, else ssh_config's IdentityFile, else ~/.ssh/id_rsa, id_ecdsa and id_ed25519"
    ))]
    Auth {
        host: String,
        user: String,
        message: String,
    },
    #[error("{host}: ssh_config: {message}")]
    #[diagnostic(help(
        "fix the host's entry in ssh_config (ssh_config(5)); `ssh -G HOST` shows how ssh reads it"
    ))]
    SshConfig { host: String, message: String },
    #[error("{host}: the host runs {found}, but the inventory says {declared}")]
    #[diagnostic(help("fix `os:` of the host in the inventory, or its address"))]
    WrongOs {
        host: String,
        found: String,
        declared: String,
    },
    #[error("{host}: {program} refused to run f3s's commands as root: {stderr}")]
    #[diagnostic(help(
        "f3s runs `{program} -n`, which fails rather than ask for a password nobody could type; let {user} become root without one: `permit nopass {user} as root` in doas.conf(5), or `{user} ALL=(root) NOPASSWD: ALL` in sudoers(5)"
    ))]
    Escalation {
        host: String,
        program: String,
        user: String,
        stderr: String,
    },
    #[error("{host}: {what} failed with exit status {status}: {stderr}")]
    Command {
        host: String,
        what: String,
        status: i32,
        stderr: String,
    },
    #[error("{host}: {cause}, while {what}")]
    #[diagnostic(help(
        "nothing was installed half-way (files are replaced whole); plan again to see where the host stands"
    ))]
    Io {
        host: String,
        what: String,
        cause: String,
    },
    #[error("{host}: {what} {cut}; f3s closed the connection")]
    #[diagnostic(help("{help}"))]
    Cut {
        host: String,
        what: String,
        /// What cut it short, in words ("did not finish within 5 s (--command-timeout)").
        cut: String,
        help: String,
    },
    #[error("{host}: stopped for this run: the connection holding its lock broke ({cause})")]
    #[diagnostic(help(
        "another apply may have changed the host meanwhile, so f3s applies nothing more to it; it holds the lock again until this run ends. Run apply again"
    ))]
    Stopped { host: String, cause: String },
    #[error("{host}: unreadable answer to the observation: {message}")]
    Protocol { host: String, message: String },
    #[error("{host} is locked by another apply: {holder}")]
    #[diagnostic(help("wait for that apply to finish; its lock goes when its connection closes"))]
    Locked { host: String, holder: String },
    #[error("{host}: {message}")]
    Unsupported { host: String, message: String },
}

impl TransportError {
    /// `what` on `host` was cut short: its deadline (`limit`, set by `option`) passed, or
    /// Ctrl-C asked to stop.
    pub fn cut(host: &Host, what: &str, cut: Cut, limit: Duration, option: &str) -> Self {
        let (cut, help) = match cut {
            Cut::Deadline => (
                format!("did not finish within {} s ({option})", limit.as_secs_f64()),
                format!(
                    "the host is overloaded, unreachable or not answering honestly; if it is only slow, raise {option}. Plan again to see where it stands"
                ),
            ),
            Cut::Interrupted => (
                "was cut short by Ctrl-C".to_string(),
                "plan again to see where the host stands".to_string(),
            ),
        };
        Self::Cut {
            host: host.name.clone(),
            what: what.to_string(),
            cut,
            help,
        }
    }

    /// The connection to `host` failed while doing `what`.
    pub fn io(host: &Host, what: &str, cause: &dyn Worded) -> Self {
        Self::Io {
            host: host.name.clone(),
            what: what.to_string(),
            cause: cause.worded(),
        }
    }
}

/// A failure of the SSH connection in words a person can act on, rather than libssh2's code.
pub trait Worded {
    /// In words, naming `option` as what bounds a wait that timed out.
    fn worded_for(&self, option: &str) -> String;

    /// In words, during a remote command.
    fn worded(&self) -> String {
        self.worded_for("--command-timeout")
    }
}

impl Worded for ssh2::Error {
    fn worded_for(&self, option: &str) -> String {
        use ssh2::ErrorCode::Session;
        // The codes are libssh2's LIBSSH2_ERROR_* (libssh2.h).
        match self.code() {
            Session(-7 | -13 | -26 | -43 | -45) => "the connection was closed by the host".into(),
            Session(-9 | -30) => format!("the host did not answer in time (see {option})"),
            Session(-21 | -22 | -32) => {
                "the host refused to start a command on the connection (sshd's MaxSessions?)".into()
            }
            _ => format!("the SSH connection failed ({})", self.message()),
        }
    }
}

impl Worded for std::io::Error {
    fn worded_for(&self, option: &str) -> String {
        use std::io::ErrorKind;
        if let Some(exceeded) = Exceeded::of(self) {
            return exceeded.to_string();
        }
        match self.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock => {
                format!("the host did not answer in time (see {option})")
            }
            ErrorKind::UnexpectedEof => "the connection ended before the answer did".into(),
            _ => "the connection to the host was lost".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_read_as_words_not_codes() {
        let closed = ssh2::Error::from_errno(ssh2::ErrorCode::Session(-43));
        assert_eq!(closed.worded(), "the connection was closed by the host");
        let refused = ssh2::Error::from_errno(ssh2::ErrorCode::Session(-34));
        assert!(!refused.worded().contains("-34"), "{}", refused.worded());
        let timeout = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert!(timeout.worded().contains("--command-timeout"));
        let error = TransportError::Io {
            host: "h01".into(),
            what: "observing the host".into(),
            cause: closed.worded(),
        };
        assert_eq!(
            error.to_string(),
            "h01: the connection was closed by the host, while observing the host"
        );
    }
}
