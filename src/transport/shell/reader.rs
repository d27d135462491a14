//! The observation answer as it streams in from a host, and why it could not be read.

use std::io::{BufRead, Read as _};

use crate::transport::bounded::{self, CONTENT_LIMIT, Exceeded};

/// Why an observation answer could not be read.
#[derive(Debug)]
pub enum ObservationError {
    /// The answer starts with another kernel's name (`(no answer)` for none): the host runs
    /// another OS, and the script stopped before observing anything.
    WrongKernel(String),
    /// The answer is not what the script prints.
    Unreadable(String),
    /// The answer could not be read from the host.
    Io(std::io::Error),
}

impl std::fmt::Display for ObservationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::WrongKernel(kernel) => write!(f, "the host runs {kernel}"),
            Self::Unreadable(message) => f.write_str(message),
            Self::Io(error) => error.fmt(f),
        }
    }
}

impl From<String> for ObservationError {
    fn from(message: String) -> Self {
        Self::Unreadable(message)
    }
}

impl From<&str> for ObservationError {
    fn from(message: &str) -> Self {
        Self::Unreadable(message.to_string())
    }
}

/// The answer as it streams in: a line or a counted run of bytes at a time, so it is never
/// held whole. Only what the host has sent is ever allocated for, whatever sizes it prints.
pub(super) struct Reader<R> {
    answer: R,
}

impl<R: BufRead> Reader<R> {
    pub(super) fn new(answer: R) -> Self {
        Self { answer }
    }

    /// The bytes up to and with the next newline, or to the end of the answer.
    pub(super) fn raw_line(&mut self) -> Result<Vec<u8>, ObservationError> {
        let mut line = Vec::new();
        bounded::read_line(&mut self.answer, &mut line).map_err(ObservationError::Io)?;
        Ok(line)
    }

    pub(super) fn line(&mut self) -> Result<String, ObservationError> {
        let mut line = self.raw_line()?;
        if line.pop() != Some(b'\n') {
            return Err("the answer ended early".into());
        }
        String::from_utf8(line).map_err(|_| "an answer line is not UTF-8".into())
    }

    /// The next `n` bytes. `n` is a size the host printed, so it may be anything: more than
    /// `CONTENT_LIMIT` is refused before anything is read, past the end of the answer is an
    /// error, and the buffer grows only with what arrives.
    pub(super) fn bytes(&mut self, n: usize) -> Result<Vec<u8>, ObservationError> {
        if n > CONTENT_LIMIT {
            let exceeded = Exceeded::new("in one file's content", CONTENT_LIMIT as u64);
            return Err(ObservationError::Io(exceeded.into_io()));
        }
        let mut bytes = Vec::new();
        let wanted = u64::try_from(n).unwrap_or(u64::MAX);
        (&mut self.answer)
            .take(wanted)
            .read_to_end(&mut bytes)
            .map_err(ObservationError::Io)?;
        if bytes.len() != n {
            return Err("the answer ended early".into());
        }
        Ok(bytes)
    }

    /// `n` bytes of content and the newline after them.
    pub(super) fn content(&mut self, n: usize) -> Result<Vec<u8>, ObservationError> {
        let content = self.bytes(n)?;
        match self.bytes(1) {
            Ok(newline) if newline == b"\n" => {}
            Err(ObservationError::Io(error)) => return Err(ObservationError::Io(error)),
            _ => return Err("content length does not match".into()),
        }
        Ok(content)
    }
}
