//! A script sent as it is written: gathered a part at a time and passed on to the host's
//! stdin whenever the part is long enough, so a batch of thousands of files (4 MiB of script
//! a host, 24 hosts at once) is never held whole. The host's shell reads the script's
//! `{ … }` group whole before it runs any of it, so a script cut short still runs nothing.

use std::fmt;
use std::io::{self, Write};

/// How much is gathered before it is sent.
const SEND_AT: usize = 64 << 10;

pub struct Outgoing<'w> {
    gathered: String,
    to: &'w mut dyn Write,
    /// The first failure to send: what follows is dropped, and `finish` reports it.
    failed: Option<io::Error>,
}

impl<'w> Outgoing<'w> {
    pub fn new(to: &'w mut dyn Write) -> Self {
        Self {
            gathered: String::with_capacity(SEND_AT + (SEND_AT >> 2)),
            to,
            failed: None,
        }
    }

    pub fn push_str(&mut self, text: &str) {
        self.gathered.push_str(text);
        if self.gathered.len() >= SEND_AT {
            self.send();
        }
    }

    /// Sends the rest; the first failure to send, if any.
    pub fn finish(mut self) -> io::Result<()> {
        self.send();
        self.failed.map_or(Ok(()), Err)
    }

    fn send(&mut self) {
        if self.failed.is_none()
            && let Err(error) = self.to.write_all(self.gathered.as_bytes())
        {
            self.failed = Some(error);
        }
        self.gathered.clear();
    }
}

/// `write!` into the script, as into a `String`.
impl fmt::Write for Outgoing<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.push_str(text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_everything_in_order_in_parts() {
        let mut sent = Vec::new();
        let mut out = Outgoing::new(&mut sent);
        let part = "x".repeat(SEND_AT / 3 + 1);
        for _ in 0..7 {
            out.push_str(&part);
        }
        fmt::Write::write_str(&mut out, "end").unwrap();
        out.finish().unwrap();
        assert_eq!(sent, format!("{}end", part.repeat(7)).into_bytes());
    }
}
