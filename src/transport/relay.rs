//! A jump host's `direct-tcpip` channel (RFC 4254, 7.2; ssh_config(5) ProxyJump) as a local
//! socket. libssh2 runs a session over a file descriptor, not over a channel of another
//! session, so a thread pumps bytes between the channel and one end of a socket pair, and the
//! next session handshakes over the other end.
//!
//! Nothing here waits without end: the thread stops when either side closes, and the session
//! on the near end keeps its deadlines (`watchdog.rs`): shutting the near end down, as a
//! watchdog does, ends the relay, and with it the jump host's session.

use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

use ssh2::{BlockDirections, Channel, Session};

/// How long the thread sleeps in `poll` when neither side has anything: only a bound, since
/// either side's data or closing wakes it.
const IDLE_POLL_MS: i32 = 1000;

/// Starts relaying `channel` (opened on `session`, which the relay now owns) to the socket
/// returned, for the next session to run over.
pub fn start(session: Session, channel: Channel) -> io::Result<UnixStream> {
    let (near, far) = UnixStream::pair()?;
    far.set_nonblocking(true)?;
    // The jump session does nothing else from now on: non-blocking, so one thread serves
    // both directions.
    session.set_blocking(false);
    std::thread::Builder::new()
        .name("f3s-jump-relay".into())
        .spawn(move || pump(&session, channel, far))?;
    Ok(near)
}

fn pump(session: &Session, mut channel: Channel, mut far: UnixStream) {
    let mut buffer = vec![0u8; 32 << 10];
    // What one side sent that the other has not taken yet.
    let mut to_far: Vec<u8> = Vec::new();
    let mut to_channel: Vec<u8> = Vec::new();
    loop {
        let mut moved = false;
        if to_far.is_empty() {
            match channel.read(&mut buffer) {
                // The host behind the jump closed the connection.
                Ok(0) => break,
                Ok(n) => {
                    to_far.extend_from_slice(&buffer[..n]);
                    moved = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        if !to_far.is_empty() {
            match far.write(&to_far) {
                Ok(n) => {
                    to_far.drain(..n);
                    moved = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        if to_channel.is_empty() {
            match far.read(&mut buffer) {
                // The session over the relay closed (or a watchdog shut it down).
                Ok(0) => break,
                Ok(n) => {
                    to_channel.extend_from_slice(&buffer[..n]);
                    moved = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        if !to_channel.is_empty() {
            match channel.write(&to_channel) {
                Ok(n) => {
                    to_channel.drain(..n);
                    moved = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        if !moved && !wait(session, &far, !to_far.is_empty(), !to_channel.is_empty()) {
            break;
        }
    }
    let _ = far.shutdown(std::net::Shutdown::Both);
}

/// Sleeps until the jump session's socket or the far end can move something (only what can
/// be taken now is waited for, so a side that is full is not polled as ready over and over);
/// false if `poll` itself fails.
fn wait(session: &Session, far: &UnixStream, far_pending: bool, channel_pending: bool) -> bool {
    let mut session_events = 0;
    if !far_pending || channel_pending {
        // The channel's data, or the window adjustment a pending write waits for.
        session_events |= libc::POLLIN;
    }
    if matches!(
        session.block_directions(),
        BlockDirections::Outbound | BlockDirections::Both
    ) {
        session_events |= libc::POLLOUT;
    }
    let mut far_events = 0;
    if !channel_pending {
        far_events |= libc::POLLIN;
    }
    if far_pending {
        far_events |= libc::POLLOUT;
    }
    let mut fds = [
        pollfd(session.as_raw_fd(), session_events),
        pollfd(far.as_raw_fd(), far_events),
    ];
    // SAFETY: `fds` is a valid array of two pollfd for the length given.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), 2, IDLE_POLL_MS) };
    ready >= 0 || io::Error::last_os_error().kind() == ErrorKind::Interrupted
}

fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}
