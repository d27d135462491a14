//! Where a run keeps long plain texts (rendered file contents, files after an edit) while it
//! needs them: in a temporary file of its own, unlinked as soon as it is made, rather than in
//! memory. A plan mostly compares contents by digest, and needs a text again only for a diff
//! or a write; 24 hosts of 2,000 files of 1 KiB would otherwise hold 50 MB. Only text a plan
//! may show comes here: secret values stay in memory (`sensitive::Text` decides).

use std::fs::File;
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
use std::sync::{Mutex, OnceLock};

/// Where one text is in the store.
#[derive(Debug, Clone, Copy)]
pub struct Stored {
    at: u64,
    len: usize,
}

struct Store {
    file: File,
    /// Bytes written to the file so far.
    written: u64,
    /// Bytes put but not yet written, which follow them.
    pending: Vec<u8>,
}

/// How much is gathered before it is written, so a text costs no system call of its own.
const WRITE_AT: usize = 1 << 20;

static STORE: OnceLock<Option<Mutex<Store>>> = OnceLock::new();

/// The run's store, made on first use; `None` where no temporary file can be made (the texts
/// then stay in memory).
fn store() -> Option<&'static Mutex<Store>> {
    STORE.get_or_init(|| open().map(Mutex::new)).as_ref()
}

fn open() -> Option<Store> {
    let path = std::env::temp_dir().join(format!(
        "f3s-texts-{}-{}",
        std::process::id(),
        hex::encode(crate::random::bytes(8))
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .ok()?;
    // Gone from the directory at once: nothing is left behind, however the run ends.
    std::fs::remove_file(&path).ok()?;
    Some(Store {
        file,
        written: 0,
        pending: Vec::new(),
    })
}

/// Keeps `bytes`; `None` when there is no store. What cannot be written (a full disk) stays
/// pending, in memory, and is tried again with the next.
pub fn put(bytes: &[u8]) -> Option<Stored> {
    let mut store = store()?.lock().unwrap_or_else(|p| p.into_inner());
    let at = store.written + store.pending.len() as u64;
    store.pending.extend_from_slice(bytes);
    if store.pending.len() >= WRITE_AT {
        store.flush();
    }
    Some(Stored {
        at,
        len: bytes.len(),
    })
}

/// The bytes `stored` keeps: still pending, or written (the pending bytes are written all at
/// once, so a text is wholly one or the other). The store is this run's own unlinked file:
/// failing to read back what was written there is a broken machine, not a fault of the
/// inventory or a host.
pub fn get(stored: Stored) -> Vec<u8> {
    let store = store()
        .expect("a text was stored")
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(start) = stored.at.checked_sub(store.written) {
        let start = start as usize;
        return store.pending[start..start + stored.len].to_vec();
    }
    let mut bytes = vec![0; stored.len];
    store
        .file
        .read_exact_at(&mut bytes, stored.at)
        .expect("the run's temporary text store can be read back");
    bytes
}

impl Store {
    fn flush(&mut self) {
        if self.file.write_all_at(&self.pending, self.written).is_ok() {
            self.written += self.pending.len() as u64;
            self.pending.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_back_what_was_put_before_and_after_it_is_written() {
        let early = put(b"first").unwrap();
        let big = vec![7u8; WRITE_AT + 3];
        let written = put(&big).unwrap();
        let late = put(b"last").unwrap();
        assert_eq!(get(late), b"last");
        assert_eq!(get(early), b"first");
        assert_eq!(get(written), big);
        assert_eq!(get(put(b"").unwrap()), b"");
    }
}
