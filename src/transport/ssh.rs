//! The SSH transport (libssh2 through ssh2): one session per host, opened on first use and
//! reused for the whole run; host keys checked against known_hosts; `TCP_NODELAY` on the
//! socket, since every observation and operation is a small request waiting on its answer.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use ssh2::{Channel, CheckResult, HashType, KnownHostFileKind, Session};

use crate::host_state::HostState;
use crate::inventory::host::Host;
use crate::op::Op;
use crate::probe::Probe;
use crate::transport::shell::{self, LOCK_HELD};
use crate::transport::{Transport, TransportError};

#[derive(Debug, Clone)]
pub struct SshOptions {
    pub connect_timeout: Duration,
    /// How long one command may run (and the connection stay silent).
    pub command_timeout: Duration,
    /// Add keys of hosts not yet in known_hosts (never replace a changed key).
    pub accept_new_host_keys: bool,
}

impl Default for SshOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(300),
            accept_new_host_keys: false,
        }
    }
}

struct Remote {
    session: Session,
    /// The channel whose remote process holds the apply lock.
    lock: Option<Channel>,
}

/// The result of one remote command.
struct Output {
    stdout: Vec<u8>,
    stderr: String,
    status: i32,
}

#[derive(Default)]
pub struct SshTransport {
    options: SshOptions,
    remotes: Mutex<HashMap<String, Arc<Mutex<Option<Remote>>>>>,
}

impl SshTransport {
    pub fn new(options: SshOptions) -> Self {
        Self {
            options,
            remotes: Mutex::default(),
        }
    }

    /// Runs `f` with the host's session, connecting first if need be.
    fn with_remote<T>(
        &self,
        host: &Host,
        f: impl FnOnce(&mut Remote) -> Result<T, TransportError>,
    ) -> Result<T, TransportError> {
        let slot = {
            let mut remotes = self.remotes.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(remotes.entry(host.name.clone()).or_default())
        };
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(self.connect(host)?);
        }
        f(slot.as_mut().expect("connected above"))
    }

    fn connect(&self, host: &Host) -> Result<Remote, TransportError> {
        let port = host.connection.port;
        let address = format!("{}:{port}", host.address);
        let connect_error = |message: String| TransportError::Connect {
            host: host.name.clone(),
            address: address.clone(),
            message,
        };
        let socket = (host.address.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| connect_error(e.to_string()))?
            .next()
            .ok_or_else(|| connect_error("the address resolves to nothing".into()))?;
        let tcp = TcpStream::connect_timeout(&socket, self.options.connect_timeout)
            .map_err(|e| connect_error(e.to_string()))?;
        tcp.set_nodelay(true)
            .map_err(|e| connect_error(e.to_string()))?;
        let mut session = Session::new().map_err(|e| connect_error(e.to_string()))?;
        session.set_tcp_stream(tcp);
        session.set_timeout(millis(self.options.connect_timeout));
        session.handshake().map_err(|e| TransportError::Handshake {
            host: host.name.clone(),
            message: e.to_string(),
        })?;
        self.check_host_key(&session, host)?;
        authenticate(&session, host)?;
        session.set_timeout(millis(self.options.command_timeout));
        Ok(Remote {
            session,
            lock: None,
        })
    }

    fn check_host_key(&self, session: &Session, host: &Host) -> Result<(), TransportError> {
        let known_hosts = host
            .connection
            .known_hosts
            .clone()
            .unwrap_or_else(default_known_hosts);
        let shown = known_hosts.display().to_string();
        let file_error = |message: String| TransportError::KnownHosts {
            host: host.name.clone(),
            known_hosts: shown.clone(),
            message,
        };
        let (key, key_type) = session
            .host_key()
            .ok_or_else(|| file_error("the host offered no key".into()))?;
        let fingerprint = session
            .host_key_hash(HashType::Sha256)
            .map(|hash| {
                format!(
                    "SHA256:{}",
                    base64::engine::general_purpose::STANDARD_NO_PAD.encode(hash)
                )
            })
            .unwrap_or_default();
        let mut known = session
            .known_hosts()
            .map_err(|e| file_error(e.to_string()))?;
        if known_hosts.exists() {
            known
                .read_file(&known_hosts, KnownHostFileKind::OpenSSH)
                .map_err(|e| file_error(e.to_string()))?;
        }
        match known.check_port(&host.address, host.connection.port, key) {
            CheckResult::Match => Ok(()),
            CheckResult::Mismatch => Err(TransportError::ChangedHostKey {
                host: host.name.clone(),
                fingerprint,
                known_hosts: shown,
            }),
            CheckResult::NotFound if self.options.accept_new_host_keys => {
                let entry = match host.connection.port {
                    22 => host.address.clone(),
                    port => format!("[{}]:{port}", host.address),
                };
                known
                    .add(&entry, key, "added by f3s", key_type.into())
                    .and_then(|()| known.write_file(&known_hosts, KnownHostFileKind::OpenSSH))
                    .map_err(|e| file_error(e.to_string()))
            }
            CheckResult::NotFound => Err(TransportError::UnknownHostKey {
                host: host.name.clone(),
                fingerprint,
                known_hosts: shown,
            }),
            CheckResult::Failure => Err(file_error("libssh2 could not check the key".into())),
        }
    }

    /// Runs a script with the host's privilege escalation, feeding it `stdin`.
    fn run(
        &self,
        host: &Host,
        script: &str,
        stdin: &[u8],
        what: &str,
    ) -> Result<Output, TransportError> {
        let command = shell::command_line(host.connection.become_method, script);
        let io_error = |e: &dyn std::fmt::Display| TransportError::Io {
            host: host.name.clone(),
            what: what.to_string(),
            message: e.to_string(),
        };
        let result = self.with_remote(host, |remote| {
            let mut channel = remote.session.channel_session().map_err(|e| io_error(&e))?;
            channel.exec(&command).map_err(|e| io_error(&e))?;
            channel.write_all(stdin).map_err(|e| io_error(&e))?;
            channel.send_eof().map_err(|e| io_error(&e))?;
            let mut stdout = Vec::new();
            channel.read_to_end(&mut stdout).map_err(|e| io_error(&e))?;
            let mut stderr = String::new();
            channel
                .stderr()
                .read_to_string(&mut stderr)
                .map_err(|e| io_error(&e))?;
            channel.wait_close().map_err(|e| io_error(&e))?;
            let status = channel.exit_status().map_err(|e| io_error(&e))?;
            Ok(Output {
                stdout,
                stderr: stderr.trim_end().to_string(),
                status,
            })
        });
        if matches!(result, Err(TransportError::Io { .. })) {
            // A broken session is dropped, so the next use reconnects.
            self.forget(host);
        }
        result
    }

    fn forget(&self, host: &Host) {
        let remotes = self.remotes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = remotes.get(&host.name) {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }

    fn checked(&self, host: &Host, output: Output, what: &str) -> Result<Vec<u8>, TransportError> {
        if output.status == 0 {
            Ok(output.stdout)
        } else {
            Err(TransportError::Command {
                host: host.name.clone(),
                what: what.to_string(),
                status: output.status,
                stderr: output.stderr,
            })
        }
    }
}

impl Transport for SshTransport {
    fn observe(&self, host: &Host, probes: &[Probe]) -> Result<HostState, TransportError> {
        let script = shell::observe_script(host.os, probes);
        let output = self.run(host, &script, &[], "observation")?;
        let stdout = self.checked(host, output, "observation")?;
        let expected = shell::dialect(host.os).kernel();
        let kernel = shell::observed_kernel(&stdout).unwrap_or("(no answer)");
        if kernel != expected {
            return Err(TransportError::WrongOs {
                host: host.name.clone(),
                found: kernel.to_string(),
                declared: format!("{} ({expected})", host.os),
            });
        }
        let state = shell::parse_observation(host.os, probes, &stdout).map_err(|message| {
            TransportError::Protocol {
                host: host.name.clone(),
                message,
            }
        })?;
        Ok(state)
    }

    fn execute(&self, host: &Host, op: &Op) -> Result<(), TransportError> {
        let what = op.describe();
        let command =
            shell::op_command(host.os, op).ok_or_else(|| TransportError::Unsupported {
                host: host.name.clone(),
                message: format!("cannot {what} on {}", host.os),
            })?;
        let output = self.run(host, &command.script, &command.stdin, &what)?;
        self.checked(host, output, &what).map(drop)
    }

    fn read_file(&self, host: &Host, path: &str) -> Result<Vec<u8>, TransportError> {
        let what = format!("reading {path}");
        let output = self.run(host, &shell::read_script(host.os, path), &[], &what)?;
        self.checked(host, output, &what)
    }

    fn lock(&self, host: &Host, holder: &str) -> Result<(), TransportError> {
        let command =
            shell::command_line(host.connection.become_method, &shell::lock_script(host.os));
        let io_error = |e: &dyn std::fmt::Display| TransportError::Io {
            host: host.name.clone(),
            what: "taking the lock".into(),
            message: e.to_string(),
        };
        self.with_remote(host, |remote| {
            let mut channel = remote.session.channel_session().map_err(|e| io_error(&e))?;
            channel.exec(&command).map_err(|e| io_error(&e))?;
            channel
                .write_all(format!("{holder}\n").as_bytes())
                .map_err(|e| io_error(&e))?;
            let first = read_line(&mut channel).map_err(|e| io_error(&e))?;
            if first == "LOCKED" {
                remote.lock = Some(channel);
                return Ok(());
            }
            let mut rest = String::new();
            let _ = channel.read_to_string(&mut rest);
            let _ = channel.wait_close();
            let status = channel.exit_status().unwrap_or(-1);
            let holder = format!("{first}{rest}").trim().to_string();
            Err(if status == LOCK_HELD {
                TransportError::Locked {
                    host: host.name.clone(),
                    holder: if holder.is_empty() {
                        "(unknown)".into()
                    } else {
                        holder
                    },
                }
            } else {
                let mut stderr = String::new();
                let _ = channel.stderr().read_to_string(&mut stderr);
                TransportError::Command {
                    host: host.name.clone(),
                    what: "taking the lock".into(),
                    status,
                    stderr: format!("{holder} {stderr}").trim().to_string(),
                }
            })
        })
    }

    fn unlock(&self, host: &Host) {
        let _ = self.with_remote(host, |remote| {
            if let Some(mut channel) = remote.lock.take() {
                let _ = channel.send_eof();
                let _ = channel.wait_close();
            }
            Ok(())
        });
    }
}

fn authenticate(session: &Session, host: &Host) -> Result<(), TransportError> {
    let user = &host.connection.user;
    let result = match &host.connection.identity_file {
        Some(key) => session.userauth_pubkey_file(user, None, key, None),
        None => session.userauth_agent(user),
    };
    match result {
        Ok(()) if session.authenticated() => Ok(()),
        Ok(()) => Err("the server did not accept the key".to_string()),
        Err(e) => Err(e.to_string()),
    }
    .map_err(|message| TransportError::Auth {
        host: host.name.clone(),
        user: user.clone(),
        message,
    })
}

fn read_line(channel: &mut Channel) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while channel.read(&mut byte)? == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

fn default_known_hosts() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/"), PathBuf::from);
    home.join(".ssh").join("known_hosts")
}

fn millis(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX)
}
