//! Values that may carry secret material, and the digests that stand in for them wherever
//! f3s shows, stores or compares state. A sensitive value prints as `(sensitive)` plus a short
//! digest in every format, so no code path can leak it by formatting it.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// `sha256:<hex>` of some content.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Digest(String);

impl Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Self(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
    }

    /// A digest given as hex (as `sha256sum` prints it).
    pub fn from_hex(hex: &str) -> Option<Self> {
        (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| Self(format!("sha256:{}", hex.to_ascii_lowercase())))
    }

    /// The first eight hex digits: enough to tell two values apart in a plan. (A recorded
    /// state may hold any text here; it is cut at a character, never inside one.)
    pub fn short(&self) -> &str {
        let hex = self.0.trim_start_matches("sha256:");
        let end = hex.char_indices().nth(8).map_or(hex.len(), |(at, _)| at);
        &hex[..end]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A desired value: plain, or sensitive (then never shown, only its digest). Bytes, not
/// text, so a copied key file arrives byte for byte; shared, so the plan, a batch and a
/// predicted state hold one copy of a file's content between them.
#[derive(Clone, PartialEq, Eq)]
pub struct Text {
    value: Arc<[u8]>,
    sensitive: bool,
}

impl Text {
    pub fn plain(value: impl Into<Vec<u8>>) -> Self {
        Self::new(value, false)
    }

    pub fn new(value: impl Into<Vec<u8>>, sensitive: bool) -> Self {
        Self {
            value: Arc::from(value.into()),
            sensitive,
        }
    }

    /// The value itself, for the transport that writes it to a host. Never for display.
    pub fn expose(&self) -> &[u8] {
        &self.value
    }

    pub fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    pub fn digest(&self) -> Digest {
        Digest::of(&self.value)
    }

    /// How the value appears in a plan: masked when sensitive or not text.
    pub fn shown(&self) -> String {
        match std::str::from_utf8(&self.value) {
            Ok(text) if !self.sensitive => text.to_string(),
            _ => masked(&self.digest()),
        }
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

/// Serialized as shown: a plan or saved plan carries only the short digest of a secret,
/// never enough to test guesses of a weak password against.
impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.shown())
    }
}

pub fn masked(digest: &Digest) -> String {
    format!("(sensitive) {}", digest.short())
}

/// A value as read from a host: the text itself, only its digest (for sensitive values), or,
/// in a predicted state, not knowable until apply has run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Observed {
    Plain(String),
    Hidden {
        sha256: Digest,
    },
    #[serde(skip)]
    KnownAfterApply,
}

impl Observed {
    /// What a host holding `value` shows: the text, or only the digest when `hide` is set
    /// or the bytes are not text (a key file, say).
    pub fn of(value: &[u8], hide: bool) -> Self {
        match std::str::from_utf8(value) {
            Ok(text) if !hide => Self::Plain(text.to_string()),
            _ => Self::Hidden {
                sha256: Digest::of(value),
            },
        }
    }

    pub fn from_text(text: &Text) -> Self {
        Self::of(text.expose(), text.is_sensitive())
    }

    /// Whether the host holds exactly `desired`. Unknown values never match.
    pub fn matches(&self, desired: &Text) -> bool {
        match self {
            Self::Plain(value) => value.as_bytes() == desired.expose(),
            Self::Hidden { sha256 } => *sha256 == desired.digest(),
            Self::KnownAfterApply => false,
        }
    }

    /// Whether two observed values hold the same bytes, comparing digests if either is hidden.
    pub fn same_as(&self, other: &Observed) -> bool {
        match (self, other) {
            (Self::Plain(a), Self::Plain(b)) => a == b,
            (Self::KnownAfterApply, _) | (_, Self::KnownAfterApply) => false,
            (a, b) => a.hidden() == b.hidden(),
        }
    }

    /// The same value with its text replaced by the digest, as secrets are recorded.
    pub fn hidden(&self) -> Self {
        match self {
            Self::Plain(value) => Self::of(value.as_bytes(), true),
            other => other.clone(),
        }
    }

    pub fn plain(&self) -> Option<&str> {
        match self {
            Self::Plain(value) => Some(value),
            _ => None,
        }
    }

    /// A one-line stand-in for content that cannot be shown as a diff.
    pub fn summary(&self) -> String {
        match self {
            Self::Plain(value) => {
                let digest = Digest::of(value.as_bytes());
                format!(
                    "sha256 {} ({} lines)",
                    digest.short(),
                    value.lines().count()
                )
            }
            other => other.shown(),
        }
    }

    pub fn shown(&self) -> String {
        match self {
            Self::Plain(value) => value.clone(),
            Self::Hidden { sha256 } => masked(sha256),
            Self::KnownAfterApply => "(known after apply)".into(),
        }
    }
}

/// Scrubs secret values out of any text f3s prints: the last line of defence behind the types
/// above, for messages that quote what a host or a template said.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        // Longest first, so a secret that contains another is scrubbed whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Self { secrets }
    }

    pub fn scrub(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_string(), |text, secret| {
            text.replace(secret, &masked(&Digest::of(secret.as_bytes())))
        })
    }

    /// Whether `text` contains any secret: a rendered value that does is sensitive.
    pub fn reveals_secret(&self, text: &str) -> bool {
        self.secrets.iter().any(|secret| text.contains(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_text_never_formats_its_value() {
        let secret = Text::new("testpass", true);
        assert!(!format!("{secret:?}").contains("testpass"));
        assert!(!secret.shown().contains("testpass"));
        let json = serde_json::to_string(&secret).unwrap();
        assert!(!json.contains("testpass"), "{json}");
        assert!(
            !json.contains(&secret.digest().to_string()),
            "only the short digest: {json}"
        );
        assert!(json.contains("(sensitive) "));
    }

    #[test]
    fn a_recorded_digest_of_any_text_never_panics() {
        let digest: Digest = serde_json::from_str("\"sha256:ééééééééé\"").unwrap();
        assert_eq!(digest.short(), "éééééééé");
    }

    #[test]
    fn hidden_observations_compare_by_digest() {
        let secret = Text::new("testpass", true);
        assert!(Observed::of(b"testpass", true).matches(&secret));
        assert!(!Observed::of(b"other", true).matches(&secret));
        assert!(!Observed::KnownAfterApply.matches(&secret));
    }

    #[test]
    fn redactor_scrubs_every_occurrence() {
        let redactor = Redactor::new(["s3cr3t".to_string()]);
        let scrubbed = redactor.scrub("pass s3cr3t alias s3cr3t");
        assert!(!scrubbed.contains("s3cr3t"));
        assert_eq!(scrubbed.matches("(sensitive)").count(), 2);
    }
}
