//! What a host may send. Every answer f3s reads from a host goes through these caps, so a host
//! that sends without end (or announces a size it never means to keep to) costs a bounded
//! amount of memory and is reported as unreadable, with the limit in words, while the other
//! hosts go on. The limits are far above what a managed host sends (docs/guide.md, "Commands in depth").

use std::io::{self, BufRead, Read};

/// One remote command's standard output, all of it.
pub const ANSWER_LIMIT: u64 = 64 << 20;
/// One remote command's standard error: words for an error message.
pub const STDERR_LIMIT: u64 = 64 << 10;
/// One line of an answer (a stat line with the longest path is under 5 KiB).
pub const LINE_LIMIT: usize = 64 << 10;
/// One file's content in an answer (an edited config file, a certificate, a key to copy).
pub const CONTENT_LIMIT: usize = 16 << 20;

/// A host sent more than a limit allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the host sent more than f3s reads {what} ({})", size(*.limit))]
pub struct Exceeded {
    /// Where, in words ("in one line").
    pub what: &'static str,
    pub limit: u64,
}

impl Exceeded {
    pub fn new(what: &'static str, limit: u64) -> Self {
        Self { what, limit }
    }

    /// The same, as the I/O error a reader returns.
    pub fn into_io(self) -> io::Error {
        io::Error::other(self)
    }

    /// The limit an I/O error reports as passed, if that is what it is.
    pub fn of(error: &io::Error) -> Option<&Exceeded> {
        error.get_ref()?.downcast_ref::<Exceeded>()
    }
}

/// A size in words: `64 MiB`, `64 KiB`.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// A reader that fails once more than `limit` bytes came through it.
pub struct Capped<R> {
    inner: R,
    left: u64,
    what: &'static str,
    limit: u64,
}

impl<R: Read> Capped<R> {
    pub fn new(inner: R, limit: u64, what: &'static str) -> Self {
        Self {
            inner,
            left: limit,
            what,
            limit,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // Exactly at the limit is fine if the answer ends there.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(Exceeded::new(self.what, self.limit).into_io()),
            };
        }
        let room = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let read = self.inner.read(&mut buf[..room])?;
        self.left -= read as u64;
        Ok(read)
    }
}

/// As `BufRead::read_until(b'\n', line)`, failing rather than growing `line` past
/// `LINE_LIMIT`: appends up to and with the next newline, or to the end; returns how many
/// bytes it appended (0 at the end).
pub fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<usize> {
    let start = line.len();
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(line.len() - start);
        }
        let (taken, done) = match memchr::memchr(b'\n', available) {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        if line.len() - start + taken > LINE_LIMIT + 1 {
            return Err(Exceeded::new("in one line", LINE_LIMIT as u64).into_io());
        }
        line.extend_from_slice(&available[..taken]);
        reader.consume(taken);
        if done {
            return Ok(line.len() - start);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capped_reader_passes_the_limit_exactly_and_fails_past_it() {
        let mut exact = Vec::new();
        Capped::new(&[7u8; 10][..], 10, "in all")
            .read_to_end(&mut exact)
            .unwrap();
        assert_eq!(exact.len(), 10);
        let error = Capped::new(&[7u8; 11][..], 10, "in all")
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(Exceeded::of(&error), Some(&Exceeded::new("in all", 10)));
    }

    #[test]
    fn a_line_without_end_fails_at_the_line_limit_without_holding_more() {
        let endless = std::io::repeat(b'x');
        let mut reader = std::io::BufReader::new(endless);
        let mut line = Vec::new();
        let error = read_line(&mut reader, &mut line).unwrap_err();
        assert!(Exceeded::of(&error).is_some(), "{error}");
        assert!(line.len() <= LINE_LIMIT + 1, "{} bytes held", line.len());
    }

    #[test]
    fn lines_are_read_as_read_until_reads_them() {
        let mut reader = &b"one\ntwo"[..];
        let mut line = Vec::new();
        assert_eq!(read_line(&mut reader, &mut line).unwrap(), 4);
        assert_eq!(line, b"one\n");
        line.clear();
        assert_eq!(read_line(&mut reader, &mut line).unwrap(), 3);
        assert_eq!(line, b"two");
        line.clear();
        assert_eq!(read_line(&mut reader, &mut line).unwrap(), 0);
    }

    #[test]
    fn the_limit_is_said_in_words() {
        let words = Exceeded::new("in one answer", ANSWER_LIMIT).to_string();
        assert_eq!(
            words,
            "the host sent more than f3s reads in one answer (64 MiB)"
        );
    }
}
