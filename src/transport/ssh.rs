//! The SSH transport (libssh2 through ssh2): one session per host, opened on first use and
//! reused for the whole run; host keys checked against known_hosts; `TCP_NODELAY` on the
//! socket, since every observation and operation is a small request waiting on its answer.
//! Hosts are not trusted: the handshake and each remote command have a wall-clock deadline
//! (`watchdog.rs`), and all a host sends is read through caps (`bounded.rs`). Where and as
//! whom a host is reached comes from ssh_config and the inventory (`ssh_config.rs`), through
//! jump hosts where ProxyJump names them (`relay.rs`), each hop's host key checked.

use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::fs::DirBuilderExt as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use ssh2::{Channel, CheckResult, HashType, KnownHostFileKind, Session};

use crate::batch::{Batch, UnitOutcome};
use crate::host_state::HostState;
use crate::inventory::host::Host;
use crate::probe::Probe;
use crate::status_check::{Reading, StatusRead, Unread};
use crate::transport::bounded::{self, ANSWER_LIMIT, Capped, STDERR_LIMIT};
use crate::transport::error::Worded;
use crate::transport::shell::{self, BatchReadError, LOCK_HELD, ObservationError};
use crate::transport::ssh_config::{ConfigFiles, Endpoint, NewHostKeys, SshConfig};
use crate::transport::watchdog::{Watchdog, Wire};
use crate::transport::{CommandRun, Transport, TransportError};
use crate::transport::{identity, relay};

/// What a connection takes when neither `--connect-timeout` nor ConnectTimeout says.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct SshOptions {
    /// `--connect-timeout`; without it, ssh_config's ConnectTimeout, else `CONNECT_TIMEOUT`.
    pub connect_timeout: Option<Duration>,
    /// How long one command may run (and the connection stay silent).
    pub command_timeout: Duration,
    /// Add keys of hosts not yet in known_hosts (never replace a changed key).
    pub accept_new_host_keys: bool,
    pub ssh_config: Arc<SshConfig>,
}

impl Default for SshOptions {
    fn default() -> Self {
        Self {
            connect_timeout: None,
            command_timeout: Duration::from_secs(300),
            accept_new_host_keys: false,
            ssh_config: Arc::new(SshConfig::load(&ConfigFiles::Nothing).unwrap_or_default()),
        }
    }
}

struct Remote {
    session: Session,
    /// The session's socket, which a watchdog shuts down when a deadline passes.
    socket: Wire,
    /// The channel whose remote process holds the apply lock.
    lock: Option<Channel>,
    /// Whom the session logged in as (the inventory's user, else ssh_config's, else root).
    user: String,
}

/// A host's connection, or why the one opened ahead (`connect_ahead`) could not be made: the
/// first use reports that rather than waiting out a second attempt.
#[derive(Default)]
struct Slot {
    remote: Option<Remote>,
    failed_ahead: Option<TransportError>,
}

/// How a remote command ended.
struct Exit {
    status: i32,
    stderr: String,
}

impl Exit {
    fn checked(self, host: &Host, what: &str) -> Result<(), TransportError> {
        if self.status == 0 {
            Ok(())
        } else {
            Err(TransportError::Command {
                host: host.name.clone(),
                what: what.to_string(),
                status: self.status,
                stderr: self.stderr,
            })
        }
    }
}

#[derive(Default)]
pub struct SshTransport {
    options: SshOptions,
    remotes: Mutex<HashMap<String, Arc<Mutex<Slot>>>>,
    /// Who holds the lock of each host this run locked: to take it again after a reconnect.
    holders: Mutex<HashMap<String, String>>,
    /// Hosts whose lock was lost with their connection: nothing more runs on them.
    stopped: Mutex<HashMap<String, String>>,
}

impl SshTransport {
    pub fn new(options: SshOptions) -> Self {
        Self {
            options,
            ..Self::default()
        }
    }

    /// Refuses to work on a host whose lock was lost mid-apply.
    fn check_not_stopped(&self, host: &Host) -> Result<(), TransportError> {
        let stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        match stopped.get(&host.name) {
            Some(cause) => Err(TransportError::Stopped {
                host: host.name.clone(),
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// After the connection holding `host`'s lock broke: the lock went with it, and another
    /// apply could have taken it and changed the host since it was observed. So the host is
    /// stopped for the rest of the run, and its lock taken again (on a new connection) so no
    /// other apply starts on it before this one ends, as the lock promises.
    fn lost_connection(&self, host: &Host, cause: &TransportError) {
        self.forget(host);
        let holder = self
            .holders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&host.name)
            .cloned();
        let Some(holder) = holder else {
            return;
        };
        self.stopped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host.name.clone(), cause.to_string());
        // Best effort: if it fails (the host is gone, or another apply took the lock), the
        // host stays stopped all the same.
        let _ = self.take_lock(host, &holder);
    }

    /// Runs `f` with the host's session, connecting first if need be.
    fn with_remote<T>(
        &self,
        host: &Host,
        f: impl FnOnce(&mut Remote) -> Result<T, TransportError>,
    ) -> Result<T, TransportError> {
        let slot = self.slot(host);
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        if slot.remote.is_none() {
            if let Some(failed) = slot.failed_ahead.take() {
                return Err(failed);
            }
            slot.remote = Some(connect(&self.options, host)?);
        }
        f(slot.remote.as_mut().expect("connected above"))
    }

    fn slot(&self, host: &Host) -> Arc<Mutex<Slot>> {
        let mut remotes = self.remotes.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(remotes.entry(host.name.clone()).or_default())
    }

    /// Runs `script` with the host's privilege escalation, sending it on stdin, and hands
    /// `read` the command's output, capped at `ANSWER_LIMIT`. The whole exchange has
    /// `--command-timeout` as its deadline; an `interruptible` one also ends at Ctrl-C.
    fn run_script<T>(
        &self,
        host: &Host,
        script: &str,
        what: &str,
        interruptible: bool,
        read: impl FnOnce(&mut Capped<&mut Channel>) -> Result<T, TransportError>,
    ) -> Result<(T, Exit), TransportError> {
        let send = |to: &mut dyn Write| to.write_all(script.as_bytes());
        self.run_sent(host, send, what, interruptible, read)
    }

    /// As `run_script`, with the script written to stdin by `send` as it is made.
    fn run_sent<T>(
        &self,
        host: &Host,
        send: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
        what: &str,
        interruptible: bool,
        read: impl FnOnce(&mut Capped<&mut Channel>) -> Result<T, TransportError>,
    ) -> Result<(T, Exit), TransportError> {
        self.check_not_stopped(host)?;
        let command = shell::stdin_command_line(host.connection.become_method);
        let io_error = |e: &dyn Worded| TransportError::io(host, what, e);
        let limit = self.options.command_timeout;
        let result = self.with_remote(host, |remote| {
            let deadline = Deadline {
                limit,
                option: "--command-timeout",
                interruptible,
            };
            let user = remote.user.clone();
            deadline.over(host, what, remote, |remote| {
                let mut channel = remote.session.channel_session().map_err(|e| io_error(&e))?;
                channel.exec(&command).map_err(|e| io_error(&e))?;
                send(&mut channel).map_err(|e| io_error(&e))?;
                channel.send_eof().map_err(|e| io_error(&e))?;
                let value = read(&mut Capped::new(
                    &mut channel,
                    ANSWER_LIMIT,
                    "in one answer",
                ))?;
                let mut stderr = Vec::new();
                Capped::new(channel.stderr(), STDERR_LIMIT, "on standard error")
                    .read_to_end(&mut stderr)
                    .map_err(|e| io_error(&e))?;
                channel.wait_close().map_err(|e| io_error(&e))?;
                let status = channel.exit_status().map_err(|e| io_error(&e))?;
                let stderr = String::from_utf8_lossy(&stderr).trim_end().to_string();
                Ok((value, Exit { status, stderr }, user))
            })
        });
        if let Err(error @ (TransportError::Io { .. } | TransportError::Cut { .. })) = &result {
            self.lost_connection(host, error);
        }
        let (value, exit, user) = result?;
        refused_escalation(host, &user, exit.status, &exit.stderr)?;
        Ok((value, exit))
    }

    /// Runs a script and reads all it prints; fails unless it exits 0.
    fn run_to_end(&self, host: &Host, script: &str, what: &str) -> Result<Vec<u8>, TransportError> {
        let (stdout, exit) = self.run_script(host, script, what, false, |channel| {
            let mut stdout = Vec::new();
            channel
                .read_to_end(&mut stdout)
                .map_err(|e| TransportError::io(host, what, &e))?;
            Ok(stdout)
        })?;
        exit.checked(host, what)?;
        Ok(stdout)
    }

    /// One observation round trip, its answer parsed as it streams in (never held whole).
    fn observe_once(&self, host: &Host, probes: &[Probe]) -> Result<HostState, TransportError> {
        let what = "observing the host";
        let script = shell::observe_script(host.os, probes);
        let io_error = |e: &std::io::Error| TransportError::io(host, what, e);
        let (read, exit) = self.run_script(host, &script, what, false, |channel| {
            let mut answer = BufReader::new(channel);
            match shell::parse_observation(host.os, probes, &mut answer) {
                Err(ObservationError::Io(e)) => Err(io_error(&e)),
                read => {
                    // What an unreadable answer left unread is drained, kept nowhere, so the
                    // script can finish and its exit status be read.
                    std::io::copy(&mut answer, &mut std::io::sink()).map_err(|e| io_error(&e))?;
                    Ok(read)
                }
            }
        })?;
        exit.checked(host, what)?;
        read.map_err(|error| match error {
            ObservationError::WrongKernel(found) => TransportError::WrongOs {
                host: host.name.clone(),
                found,
                declared: format!("{} ({})", host.os, shell::kernel_name(host.os)),
            },
            ObservationError::Unreadable(message) => TransportError::Protocol {
                host: host.name.clone(),
                message,
            },
            ObservationError::Io(e) => io_error(&e),
        })
    }

    /// Drops the host's connection; its socket is shut down first, so nothing waits on a host
    /// that is still sending.
    fn forget(&self, host: &Host) {
        let remotes = self.remotes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = remotes.get(&host.name) {
            let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(remote) = slot.remote.take() {
                remote.socket.shutdown();
            }
        }
    }
}

/// Opens a session to `host`: through each jump host ssh_config names, then to the host
/// itself; at every hop TCP (or the jump's channel), handshake, host key, authentication.
/// The whole of it has one deadline (`--connect-timeout`, else ConnectTimeout, else 10 s).
fn connect(options: &SshOptions, host: &Host) -> Result<Remote, TransportError> {
    let route = options
        .ssh_config
        .route(&host.address, &host.connection)
        .map_err(|message| TransportError::SshConfig {
            host: host.name.clone(),
            message,
        })?;
    let (limit, option) = match (options.connect_timeout, route.target.connect_timeout) {
        (Some(limit), _) => (limit, "--connect-timeout"),
        (None, Some(limit)) => (limit, "ConnectTimeout in ssh_config"),
        (None, None) => (CONNECT_TIMEOUT, "--connect-timeout"),
    };
    let deadline = Instant::now() + limit;
    let hops: Vec<(&Endpoint, String)> = route
        .jumps
        .iter()
        .map(|jump| (jump, format!("{}: jump host {}", host.name, jump.name)))
        .chain([(&route.target, host.name.clone())])
        .collect();
    // ServerAliveInterval: see `keep_alive`.
    let alive = route
        .jumps
        .first()
        .and_then(|jump| jump.server_alive_interval)
        .or(route.target.server_alive_interval);
    let mut before: Option<Session> = None;
    for (i, (endpoint, label)) in hops.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        let through = i.checked_sub(1).map(|j| hops[j].0);
        let (mut session, socket) = match (before.take(), through) {
            (Some(jump), Some(via)) => through_jump(host, jump, via, endpoint, left, option)?,
            _ => open_tcp(host, endpoint, left, alive)?,
        };
        session.set_timeout(millis(left));
        // The handshake and authentication together, however slowly the host trickles them.
        let watchdog = Watchdog::arm(&socket, left, false);
        let opened = session
            .handshake()
            .map_err(|e| TransportError::Handshake {
                host: label.clone(),
                message: e.worded_for(option),
            })
            .and_then(|()| check_host_key(options, &session, endpoint, label))
            .and_then(|()| {
                identity::authenticate(&session, endpoint, options.ssh_config.home()).map_err(
                    |message| TransportError::Auth {
                        host: label.clone(),
                        user: endpoint.user.clone(),
                        message,
                    },
                )
            });
        if let Some(cut) = watchdog.disarm() {
            let what = format!("the SSH handshake with {}", endpoint.shown());
            return Err(TransportError::cut(host, &what, cut, limit, option));
        }
        opened?;
        if i + 1 == hops.len() {
            session.set_timeout(millis(options.command_timeout));
            return Ok(Remote {
                session,
                socket,
                lock: None,
                user: endpoint.user.clone(),
            });
        }
        before = Some(session);
    }
    unreachable!("a route ends at its target")
}

/// A TCP connection to `endpoint`, its session not yet started.
fn open_tcp(
    host: &Host,
    endpoint: &Endpoint,
    limit: Duration,
    alive: Option<Duration>,
) -> Result<(Session, Wire), TransportError> {
    let connect_error = |message: String| TransportError::Connect {
        host: host.name.clone(),
        address: endpoint.shown(),
        message,
    };
    let socket = (endpoint.hostname.as_str(), endpoint.port)
        .to_socket_addrs()
        .map_err(|e| connect_error(e.to_string()))?
        .next()
        .ok_or_else(|| connect_error("the address resolves to nothing".into()))?;
    let tcp = TcpStream::connect_timeout(&socket, limit.max(Duration::from_millis(1)))
        .map_err(|e| connect_error(e.to_string()))?;
    tcp.set_nodelay(true)
        .map_err(|e| connect_error(e.to_string()))?;
    if let Some(interval) = alive {
        keep_alive(&tcp, interval).map_err(|e| connect_error(e.to_string()))?;
    }
    let socket = tcp.try_clone().map_err(|e| connect_error(e.to_string()))?;
    let mut session = Session::new().map_err(|e| connect_error(e.message().to_string()))?;
    session.set_tcp_stream(tcp);
    Ok((session, Wire::Tcp(socket)))
}

/// ServerAliveInterval: ssh asks the server for an answer after that long without a word, and
/// gives up after ServerAliveCountMax (3) unanswered (ssh_config(5)). libssh2 cannot send while
/// a blocking read holds the session, so f3s asks the kernel the same of the TCP connection:
/// probes after `interval` of silence, every `interval`, 3 of them. A command that is only
/// silent goes on (its bound is `--command-timeout`); a host that is gone is noticed.
fn keep_alive(tcp: &TcpStream, interval: Duration) -> std::io::Result<()> {
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(interval)
        .with_interval(interval)
        .with_retries(3);
    socket2::SockRef::from(tcp).set_tcp_keepalive(&keepalive)
}

/// A session to `endpoint` through `jump`'s `direct-tcpip` channel (ssh_config(5) ProxyJump);
/// the jump host (`via`) resolves the name and opens the TCP connection itself.
fn through_jump(
    host: &Host,
    jump: Session,
    via: &Endpoint,
    endpoint: &Endpoint,
    limit: Duration,
    option: &str,
) -> Result<(Session, Wire), TransportError> {
    let address = format!("{} through jump host {}", endpoint.shown(), via.name);
    let connect_error = |message: String| TransportError::Connect {
        host: host.name.clone(),
        address: address.clone(),
        message,
    };
    jump.set_timeout(millis(limit));
    let channel = jump
        .channel_direct_tcpip(&endpoint.hostname, endpoint.port, None)
        .map_err(|e| match e.code() {
            // LIBSSH2_ERROR_CHANNEL_FAILURE: the jump host's sshd could not connect, or
            // does not forward (AllowTcpForwarding).
            ssh2::ErrorCode::Session(-21) => {
                connect_error("the jump host could not open a connection to it".into())
            }
            _ => connect_error(e.worded_for(option)),
        })?;
    let near = relay::start(jump, channel).map_err(|e| connect_error(e.to_string()))?;
    let socket = near.try_clone().map_err(|e| connect_error(e.to_string()))?;
    let mut session = Session::new().map_err(|e| connect_error(e.message().to_string()))?;
    session.set_tcp_stream(near);
    Ok((session, Wire::Relay(socket)))
}

/// Checks the key `session`'s server showed against `endpoint`'s known hosts files, under the
/// name it was reached by (HostName, as ssh checks it); a new key is added to the first file
/// with `--accept-new-host-keys` or StrictHostKeyChecking accept-new. `label` names the hop.
fn check_host_key(
    options: &SshOptions,
    session: &Session,
    endpoint: &Endpoint,
    label: &str,
) -> Result<(), TransportError> {
    let shown = match endpoint.known_hosts.first() {
        Some(file) => file.display().to_string(),
        None => "no known hosts file (UserKnownHostsFile none)".to_string(),
    };
    let file_error = |message: String| TransportError::KnownHosts {
        host: label.to_string(),
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
        .map_err(|e| file_error(e.message().to_string()))?;
    for file in endpoint.known_hosts.iter().filter(|file| file.exists()) {
        known
            .read_file(file, KnownHostFileKind::OpenSSH)
            .map_err(|e| TransportError::KnownHosts {
                host: label.to_string(),
                known_hosts: file.display().to_string(),
                message: e.message().to_string(),
            })?;
    }
    let accept_new =
        options.accept_new_host_keys || endpoint.new_host_keys == Some(NewHostKeys::Accept);
    match known.check_port(&endpoint.hostname, endpoint.port, key) {
        CheckResult::Match => Ok(()),
        CheckResult::Mismatch => Err(TransportError::ChangedHostKey {
            host: label.to_string(),
            fingerprint,
            known_hosts: shown,
        }),
        CheckResult::NotFound if accept_new => {
            let Some(file) = endpoint.known_hosts.first() else {
                return Err(file_error("there is none to add the key to".into()));
            };
            let entry = match endpoint.port {
                22 => endpoint.hostname.clone(),
                port => format!("[{}]:{port}", endpoint.hostname),
            };
            // A fresh account has no ~/.ssh yet: made as ssh makes it, for its owner only.
            if let Some(dir) = file.parent()
                && !dir.as_os_str().is_empty()
                && !dir.exists()
            {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| file_error(format!("cannot make {}: {e}", dir.display())))?;
            }
            // Only the first file's lines are written back, with the new one.
            let mut first = session
                .known_hosts()
                .map_err(|e| file_error(e.message().to_string()))?;
            if file.exists() {
                first
                    .read_file(file, KnownHostFileKind::OpenSSH)
                    .map_err(|e| file_error(e.message().to_string()))?;
            }
            first
                .add(&entry, key, "added by f3s", key_type.into())
                .and_then(|()| first.write_file(file, KnownHostFileKind::OpenSSH))
                .map_err(|e| file_error(e.message().to_string()))
        }
        CheckResult::NotFound => Err(TransportError::UnknownHostKey {
            host: label.to_string(),
            fingerprint,
            known_hosts: shown,
        }),
        CheckResult::Failure => Err(file_error("libssh2 could not check the key".into())),
    }
}

impl Transport for SshTransport {
    fn connect_ahead(&self, hosts: &[Host]) {
        for host in hosts {
            let (slot, options, host) = (self.slot(host), self.options.clone(), host.clone());
            // Not joined: a run that stops early (a fault in the inventory) does not wait
            // for connections it no longer needs.
            std::thread::spawn(move || {
                let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
                if slot.remote.is_none() && slot.failed_ahead.is_none() {
                    match connect(&options, &host) {
                        Ok(remote) => slot.remote = Some(remote),
                        Err(failed) => slot.failed_ahead = Some(failed),
                    }
                }
            });
        }
    }

    /// One round trip, and a second only where a file's text is wanted for a diff.
    fn observe(&self, host: &Host, probes: &[Probe]) -> Result<HostState, TransportError> {
        shell::observe_with_texts(probes, |probes| self.observe_once(host, probes))
    }

    fn run_batch(
        &self,
        host: &Host,
        batch: &Batch,
        report: &mut dyn FnMut(usize, UnitOutcome),
    ) -> Result<(), TransportError> {
        // A fresh word for the markers, so nothing an operation prints can pass for one.
        let nonce = crate::random::word(8);
        // Sent as it is made: 24 hosts' scripts of 4 MiB each are never all held at once.
        let send = |to: &mut dyn Write| shell::write_batch_script(host.os, batch, &nonce, to);
        let what = match batch.units.len() {
            1 => "applying 1 resource".to_string(),
            n => format!("applying {n} resources"),
        };
        let io_error = |e: &std::io::Error| TransportError::io(host, &what, e);
        let (read, exit) = self.run_sent(host, send, &what, false, |channel| {
            let mut stdout = BufReader::new(channel);
            Ok(shell::read_batch_output(
                &nonce,
                || {
                    let mut line = Vec::new();
                    match bounded::read_line(&mut stdout, &mut line)? {
                        0 => Ok(None),
                        _ => {
                            line.pop();
                            Ok(Some(line))
                        }
                    }
                },
                report,
            ))
        })?;
        match read {
            Ok(()) => exit.checked(host, &what),
            Err(BatchReadError::Io(e)) => Err(io_error(&e)),
            Err(BatchReadError::Protocol(message)) => Err(TransportError::Command {
                host: host.name.clone(),
                what,
                status: exit.status,
                stderr: if exit.stderr.is_empty() {
                    message
                } else {
                    exit.stderr
                },
            }),
        }
    }

    fn remove_leftovers(&self, host: &Host, paths: &[String]) -> Result<(), TransportError> {
        let script = shell::remove_script(host.os, paths);
        self.run_to_end(host, &script, "removing leftover temporary files")
            .map(drop)
    }

    fn read_file(&self, host: &Host, path: &str) -> Result<Vec<u8>, TransportError> {
        self.run_to_end(
            host,
            &shell::read_script(host.os, path),
            &format!("reading {path}"),
        )
    }

    fn run_command(
        &self,
        host: &Host,
        command: &str,
    ) -> Result<Option<CommandRun>, TransportError> {
        let what = "running the health check";
        // Ctrl-C cuts a health check short rather than waiting for it.
        let (output, exit) = self.run_script(
            host,
            &shell::command_script(host.os, command),
            what,
            true,
            |channel| {
                let mut output = Vec::new();
                channel
                    .read_to_end(&mut output)
                    .map_err(|e| TransportError::io(host, what, &e))?;
                Ok(output)
            },
        )?;
        Ok(Some(CommandRun {
            status: exit.status,
            output: String::from_utf8_lossy(&output).into_owned(),
        }))
    }

    fn read_status(
        &self,
        host: &Host,
        reads: &[(&StatusRead, u32)],
    ) -> Result<Option<Vec<Result<Reading, Unread>>>, TransportError> {
        let what = "reading the status checks";
        // A fresh word for the markers, so nothing a check prints can pass for one.
        let nonce = crate::random::word(8);
        let script = shell::status_script(host.os, reads, &nonce);
        let (output, exit) = self.run_script(host, &script, what, true, |channel| {
            let mut output = Vec::new();
            channel
                .read_to_end(&mut output)
                .map_err(|e| TransportError::io(host, what, &e))?;
            Ok(output)
        })?;
        exit.checked(host, what)?;
        let output = String::from_utf8_lossy(&output);
        Ok(Some(shell::read_status(reads, &nonce, &output)))
    }

    fn lock(&self, host: &Host, holder: &str) -> Result<(), TransportError> {
        self.take_lock(host, holder)?;
        self.holders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host.name.clone(), holder.to_string());
        Ok(())
    }

    fn unlock(&self, host: &Host) {
        self.holders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&host.name);
        let _ = self.with_remote(host, |remote| {
            if let Some(mut channel) = remote.lock.take() {
                let _ = channel.send_eof();
                let _ = channel.wait_close();
            }
            Ok(())
        });
    }
}

impl SshTransport {
    /// Takes `host`'s lock on its current connection (opening one if need be).
    fn take_lock(&self, host: &Host, holder: &str) -> Result<(), TransportError> {
        let command =
            shell::command_line(host.connection.become_method, &shell::lock_script(host.os));
        let what = "taking the lock";
        let limit = self.options.connect_timeout.unwrap_or(CONNECT_TIMEOUT);
        // Taking a lock is one short round trip: it has the connection's deadline.
        let deadline = Deadline {
            limit,
            option: "--connect-timeout",
            interruptible: false,
        };
        self.with_remote(host, |remote| {
            deadline.over(host, what, remote, |remote| {
                lock_exchange(host, remote, &command, holder)
            })
        })
    }
}

/// A wall-clock bound on an exchange with a host: `limit`, set by `option`; an
/// `interruptible` one also ends at Ctrl-C.
struct Deadline {
    limit: Duration,
    option: &'static str,
    interruptible: bool,
}

impl Deadline {
    /// Runs `exchange` (`what`, on `host`) on `remote` within the deadline: past it, the
    /// watchdog shuts the socket, and the exchange's error is the deadline's.
    fn over<T>(
        &self,
        host: &Host,
        what: &str,
        remote: &mut Remote,
        exchange: impl FnOnce(&mut Remote) -> Result<T, TransportError>,
    ) -> Result<T, TransportError> {
        let watchdog = Watchdog::arm(&remote.socket, self.limit, self.interruptible);
        let result = exchange(remote);
        match watchdog.disarm() {
            Some(cut) => Err(TransportError::cut(
                host,
                what,
                cut,
                self.limit,
                self.option,
            )),
            None => result,
        }
    }
}

/// Asks for the lock on `remote`'s session; the channel that holds it is kept in `remote`.
fn lock_exchange(
    host: &Host,
    remote: &mut Remote,
    command: &str,
    holder: &str,
) -> Result<(), TransportError> {
    let io_error = |e: &dyn Worded| TransportError::io(host, "taking the lock", e);
    let mut channel = remote.session.channel_session().map_err(|e| io_error(&e))?;
    channel.exec(command).map_err(|e| io_error(&e))?;
    channel
        .write_all(format!("{holder}\n").as_bytes())
        .map_err(|e| io_error(&e))?;
    let first = lock_answer_line(&mut channel).map_err(|e| io_error(&e))?;
    if first == "LOCKED" {
        remote.lock = Some(channel);
        return Ok(());
    }
    let mut rest = Vec::new();
    let _ =
        Capped::new(&mut channel, STDERR_LIMIT, "naming the lock's holder").read_to_end(&mut rest);
    let rest = String::from_utf8_lossy(&rest);
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
        let mut stderr = Vec::new();
        let _ = Capped::new(channel.stderr(), STDERR_LIMIT, "on standard error")
            .read_to_end(&mut stderr);
        let stderr = String::from_utf8_lossy(&stderr);
        refused_escalation(host, &remote.user, status, stderr.trim_end())?;
        TransportError::Command {
            host: host.name.clone(),
            what: "taking the lock".into(),
            status,
            stderr: format!("{holder} {stderr}").trim().to_string(),
        }
    })
}

/// The escalation's refusal (a password it will not ask for, a rule that does not permit) as
/// the error saying so, rather than as a failure of whatever f3s was doing.
fn refused_escalation(
    host: &Host,
    user: &str,
    status: i32,
    stderr: &str,
) -> Result<(), TransportError> {
    match shell::refusing_escalation(host.connection.become_method, status, stderr) {
        Some(program) => Err(TransportError::Escalation {
            host: host.name.clone(),
            program: program.to_string(),
            user: user.to_string(),
            stderr: stderr.to_string(),
        }),
        None => Ok(()),
    }
}

/// The lock command's first line (`LOCKED`, or the holder's name), read a byte at a time so
/// nothing after it is taken from the channel, and no longer than a line may be.
fn lock_answer_line(channel: &mut Channel) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while channel.read(&mut byte)? == 1 && byte[0] != b'\n' {
        if line.len() == bounded::LINE_LIMIT {
            return Err(
                bounded::Exceeded::new("in one line", bounded::LINE_LIMIT as u64).into_io(),
            );
        }
        line.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

fn millis(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX)
}
