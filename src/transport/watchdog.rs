//! Wall-clock deadlines for blocking SSH exchanges. libssh2's timeout bounds each blocking
//! call, not a command: a host that sends a byte every half second never trips it. A watchdog
//! thread shuts the connection's socket down when the deadline passes (or, for work Ctrl-C
//! may cut short, once an interrupt is requested), which ends every blocking call on it at
//! once; the caller then reports what cut it short rather than a lost connection.

use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What cut an exchange short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    Deadline,
    Interrupted,
}

/// A connection's socket: TCP to the host, or this end of the relay through a jump host
/// (`relay.rs`). Shutting it down ends every blocking call of the session on it.
#[derive(Debug)]
pub enum Wire {
    Tcp(TcpStream),
    Relay(UnixStream),
}

impl Wire {
    pub fn try_clone(&self) -> std::io::Result<Self> {
        Ok(match self {
            Self::Tcp(socket) => Self::Tcp(socket.try_clone()?),
            Self::Relay(socket) => Self::Relay(socket.try_clone()?),
        })
    }

    pub fn shutdown(&self) {
        let _ = match self {
            Self::Tcp(socket) => socket.shutdown(Shutdown::Both),
            Self::Relay(socket) => socket.shutdown(Shutdown::Both),
        };
    }
}

/// How often an interruptible exchange looks for Ctrl-C.
const INTERRUPT_POLL: Duration = Duration::from_millis(100);

pub struct Watchdog {
    stop: Option<mpsc::Sender<()>>,
    cut: Arc<Mutex<Option<Cut>>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Watches `socket` for `limit` from now; with `interruptible`, also for Ctrl-C. A socket
    /// that cannot be cloned is not watched (libssh2's own timeout still bounds each call).
    pub fn arm(socket: &Wire, limit: Duration, interruptible: bool) -> Self {
        let cut = Arc::new(Mutex::new(None));
        let Ok(socket) = socket.try_clone() else {
            return Self {
                stop: None,
                cut,
                thread: None,
            };
        };
        let (stop, stopped) = mpsc::channel::<()>();
        let deadline = Instant::now() + limit;
        let seen = Arc::clone(&cut);
        let thread = std::thread::spawn(move || {
            let reason = loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let wait = if interruptible {
                    left.min(INTERRUPT_POLL)
                } else {
                    left
                };
                match stopped.recv_timeout(wait) {
                    Err(RecvTimeoutError::Timeout) if Instant::now() >= deadline => {
                        break Cut::Deadline;
                    }
                    Err(RecvTimeoutError::Timeout) if crate::interrupt::requested() => {
                        break Cut::Interrupted;
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    // Disarmed: the exchange ended in time.
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            };
            *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
            socket.shutdown();
        });
        Self {
            stop: Some(stop),
            cut,
            thread: Some(thread),
        }
    }

    /// Stops watching; what cut the exchange short, if anything did.
    pub fn disarm(mut self) -> Option<Cut> {
        self.stop_thread();
        *self.cut.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stop_thread(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;
    use std::net::TcpListener;

    /// A connected pair of sockets on loopback.
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    #[test]
    fn a_read_that_never_ends_is_cut_at_the_deadline() {
        let (mut client, _server) = pair();
        let wire = Wire::Tcp(client.try_clone().unwrap());
        let watchdog = Watchdog::arm(&wire, Duration::from_millis(200), false);
        let mut byte = [0u8; 1];
        // Blocks: the server never writes. The watchdog's shutdown ends it.
        let read = client.read(&mut byte);
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        assert_eq!(watchdog.disarm(), Some(Cut::Deadline));
    }

    #[test]
    fn an_exchange_that_ends_in_time_is_left_alone() {
        let (mut client, mut server) = pair();
        let wire = Wire::Tcp(client.try_clone().unwrap());
        let watchdog = Watchdog::arm(&wire, Duration::from_secs(60), false);
        std::io::Write::write_all(&mut server, b"x").unwrap();
        let mut byte = [0u8; 1];
        client.read_exact(&mut byte).unwrap();
        assert_eq!(watchdog.disarm(), None);
        std::io::Write::write_all(&mut server, b"y").unwrap();
        client.read_exact(&mut byte).unwrap();
        assert_eq!(
            &byte, b"y",
            "the socket still works after the watchdog stood down"
        );
    }
}
