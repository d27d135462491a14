//! Short texts that thousands of resources repeat (a mode, an owner, a group), held once: a
//! run of 24 hosts × 4,000 paths would otherwise keep ~100,000 copies of "0644" and "root",
//! each its own allocation.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

/// The one shared copy of `text`.
pub fn intern(text: &str) -> Arc<str> {
    static TEXTS: OnceLock<Mutex<HashSet<Arc<str>>>> = OnceLock::new();
    let mut texts = TEXTS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(shared) = texts.get(text) {
        return Arc::clone(shared);
    }
    let shared: Arc<str> = Arc::from(text);
    texts.insert(Arc::clone(&shared));
    shared
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_share_one_copy() {
        let first = intern("0644");
        let second = intern(&String::from("0644"));
        assert!(Arc::ptr_eq(&first, &second));
        assert!(!Arc::ptr_eq(&first, &intern("0640")));
    }
}
