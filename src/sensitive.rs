//! Values that may carry secret material, and what stands in for them wherever f3s shows,
//! stores or compares state. A sensitive value prints as `(sensitive)` plus a short keyed
//! fingerprint in every format, so no code path can leak it by formatting it.
//!
//! The digest model: a host is asked for the sha256 of a secret's content, which stays in
//! memory. Whatever is printed or recorded is a *fingerprint*: HMAC-SHA256, under the run's
//! digest key, of that sha256. Without the key nobody can test a guess against a fingerprint.
//! The key is the inventory's `digest_key` (kept with the admin's secrets, never printed);
//! an inventory without one gets a fresh random key per run, so fingerprints still tell two
//! values apart in one plan but nothing recorded under it can be compared later.
//!
//! The run's key and secret values are set once, after the inventory is loaded
//! ([`install`]): they are needed by `Display` and `Serialize` impls deep inside plans,
//! which have no other way to reach them.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, RwLock};

use hmac::{KeyInit as _, Mac as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::text_store;

/// `sha256:<hex>` of some content. Compared freely; printed only for content that is not
/// secret. Held as its 32 bytes: a plan holds one for every file it probes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest([u8; 32]);

impl Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The digest of `value` as JSON, hashed as it is written out rather than held whole.
    pub fn of_json(value: &impl Serialize) -> Result<Self, serde_json::Error> {
        struct Hashing(Sha256);
        impl std::io::Write for Hashing {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.update(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut hashing = Hashing(Sha256::new());
        serde_json::to_writer(&mut hashing, value)?;
        Ok(Self(hashing.0.finalize().into()))
    }

    /// A digest given as hex (as `sha256sum` prints it).
    pub fn from_hex(hex: &str) -> Option<Self> {
        let mut sha256 = [0; 32];
        hex::decode_to_slice(hex, &mut sha256).ok()?;
        Some(Self(sha256))
    }

    /// The first eight hex digits: enough to tell two values apart in a plan.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Digest").field(&self.to_string()).finish()
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `sha256:<hex>`, as it is written.
impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.strip_prefix("sha256:")
            .and_then(Self::from_hex)
            .ok_or_else(|| serde::de::Error::custom("not a digest (sha256:<64 hex digits>)"))
    }
}

fn first_eight(hex: &str) -> &str {
    let end = hex.char_indices().nth(8).map_or(hex.len(), |(at, _)| at);
    &hex[..end]
}

/// `hmac-sha256:<hex>`: the keyed stand-in for a secret that may be printed and recorded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

const FINGERPRINT_PREFIX: &str = "hmac-sha256:";

impl Fingerprint {
    /// The fingerprint of the content whose sha256 is `digest`, under the run's key.
    pub fn of(digest: &Digest) -> Self {
        Self::under(&run().key.bytes, digest)
    }

    fn under(key: &[u8], digest: &Digest) -> Self {
        let mut mac =
            hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
        mac.update(digest.to_string().as_bytes());
        Self(format!(
            "{FINGERPRINT_PREFIX}{}",
            hex::encode(mac.finalize().into_bytes())
        ))
    }

    pub fn short(&self) -> &str {
        first_eight(&self.0[FINGERPRINT_PREFIX.len()..])
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.strip_prefix(FINGERPRINT_PREFIX) {
            Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(Self(
                format!("{FINGERPRINT_PREFIX}{}", hex.to_ascii_lowercase()),
            )),
            _ => Err(serde::de::Error::custom(format!(
                "expected `{FINGERPRINT_PREFIX}` and 64 hex digits"
            ))),
        }
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key fingerprints are made under.
struct DigestKey {
    bytes: Vec<u8>,
    /// Given by the admin (the same in every run), not drawn for this run alone.
    persistent: bool,
}

impl DigestKey {
    /// 256 random bits, for this run alone.
    fn random() -> Self {
        Self {
            bytes: crate::random::bytes(32),
            persistent: false,
        }
    }
}

/// What the run knows about its secrets.
struct Run {
    key: Arc<DigestKey>,
    /// Every secret value of the inventory, longest first.
    secrets: Arc<Vec<String>>,
}

static RUN: RwLock<Option<Run>> = RwLock::new(None);

fn run() -> Run {
    let shared = |run: &Run| Run {
        key: Arc::clone(&run.key),
        secrets: Arc::clone(&run.secrets),
    };
    if let Some(run) = RUN.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
        return shared(run);
    }
    // Nothing installed (a library caller, a unit test): a key for this process alone.
    let mut guard = RUN.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    shared(guard.get_or_insert_with(|| Run {
        key: Arc::new(DigestKey::random()),
        secrets: Arc::default(),
    }))
}

/// Sets the run's digest key (`None`: a random one, for this run only) and its secret values.
pub fn install(digest_key: Option<&[u8]>, secrets: impl IntoIterator<Item = String>) {
    let key = match digest_key {
        Some(bytes) => DigestKey {
            bytes: bytes.to_vec(),
            persistent: true,
        },
        None => DigestKey::random(),
    };
    let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    *RUN.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Run {
        key: Arc::new(key),
        secrets: Arc::new(secrets),
    });
}

/// Whether fingerprints of this run can be compared with those of a later one.
pub fn digest_key_is_persistent() -> bool {
    run().key.persistent
}

/// Whether `text` holds the text of a secret of this run, or is private key material: then
/// it is shown masked, whatever marked it (or failed to mark it) sensitive. A check on data
/// before it is formatted, behind the sensitivity that follows the data from the inventory.
pub fn holds_secret(text: &[u8]) -> bool {
    is_key_material(text)
        || run()
            .secrets
            .iter()
            .any(|secret| contains(text, secret.as_bytes()))
}

/// Text quoted from a host or a tool (an error message, a command's output), or `None` when
/// it holds a secret. Whole or not at all: masking part of it would spell the secret by
/// where the mask lands.
pub fn quotable(text: &str) -> Option<&str> {
    (!holds_secret(text.as_bytes())).then_some(text)
}

/// What stands for a host's words that quote a secret.
pub const WITHHELD: &str = "(withheld: it quotes a secret)";

/// A host's words as they may be shown on any channel (text, JSON, a saved plan, apply's
/// output): `text`, or [`WITHHELD`] in its place when it quotes a secret.
pub fn quoted(text: &str) -> &str {
    quotable(text).unwrap_or(WITHHELD)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

/// A PEM private key (`-----BEGIN … PRIVATE KEY-----`, RFC 7468 labels such as `RSA PRIVATE
/// KEY`, `EC PRIVATE KEY`, `OPENSSH PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`): never shown.
pub fn is_key_material(text: &[u8]) -> bool {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let mut rest = text;
    while let Some(at) = memchr::memmem::find(rest, BEGIN) {
        let label = &rest[at + BEGIN.len()..];
        let end = memchr::memmem::find(label, b"-----").unwrap_or(label.len());
        if contains(&label[..end.min(80)], b"PRIVATE KEY") {
            return true;
        }
        rest = label;
    }
    false
}

/// How a masked value appears: `(sensitive)` and the short fingerprint.
pub fn masked(fingerprint: &Fingerprint) -> String {
    format!("(sensitive) {}", fingerprint.short())
}

/// A desired value: plain, or sensitive (then never shown, only its fingerprint). Bytes, not
/// text, so a copied key file arrives byte for byte; shared, so the plan, a batch and a
/// predicted state hold one copy of a file's content between them. A long value the plan may
/// show is kept in the run's text store rather than in memory (it is mostly compared by its
/// digest, known here); a secret one never is.
#[derive(Clone)]
pub struct Text {
    value: Held,
    sha256: [u8; 32],
    sensitive: bool,
    /// The bytes are UTF-8: known once, so a prediction made from the value need not read it
    /// back from the store to tell.
    utf8: bool,
}

#[derive(Clone)]
enum Held {
    Memory(Arc<[u8]>),
    Stored(text_store::Stored),
}

/// Values shorter than this stay in memory: storing them saves less than it costs.
const STORE_FROM: usize = 512;

impl Text {
    pub fn plain(value: impl Into<Vec<u8>>) -> Self {
        Self::new(value, false)
    }

    /// Private key material is sensitive whatever the caller says.
    pub fn new(value: impl Into<Vec<u8>>, sensitive: bool) -> Self {
        let value: Vec<u8> = value.into();
        let sensitive = sensitive || is_key_material(&value);
        let shown = !sensitive && value.len() >= STORE_FROM && !holds_secret(&value);
        let stored = shown.then(|| text_store::put(&value)).flatten();
        Self {
            sha256: Sha256::digest(&value).into(),
            utf8: std::str::from_utf8(&value).is_ok(),
            value: match stored {
                Some(stored) => Held::Stored(stored),
                None => Held::Memory(Arc::from(value)),
            },
            sensitive,
        }
    }

    /// The value itself, for the transport that writes it to a host. Never for display.
    pub fn expose(&self) -> Cow<'_, [u8]> {
        match &self.value {
            Held::Memory(bytes) => Cow::Borrowed(bytes),
            Held::Stored(stored) => Cow::Owned(text_store::get(*stored)),
        }
    }

    pub fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    pub fn digest(&self) -> Digest {
        Digest(self.sha256)
    }

    /// How the value appears in a plan: masked when sensitive, holding a secret, or not text.
    pub fn shown(&self) -> String {
        let value = self.expose();
        match std::str::from_utf8(&value) {
            Ok(text) if !self.sensitive && !holds_secret(&value) => text.to_string(),
            _ => masked(&Fingerprint::of(&self.digest())),
        }
    }
}

/// The same bytes (by digest) with the same sensitivity.
impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.sha256 == other.sha256 && self.sensitive == other.sensitive
    }
}

impl Eq for Text {}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

/// Serialized as shown: a plan or saved plan carries only the short fingerprint of a secret.
impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.shown())
    }
}

/// Read back from a saved plan, a value is what was shown of it: a secret's mask stays a
/// mask, to be shown again and never written (`SavedPlan` gives a plan only to show).
impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::plain)
    }
}

/// What is known of a value f3s may not see: the sha256 a host gave for it (in memory only),
/// or the fingerprint a recording keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hidden {
    Sha256(Digest),
    Recorded(Fingerprint),
}

impl Hidden {
    pub fn fingerprint(&self) -> Fingerprint {
        match self {
            Self::Sha256(digest) => Fingerprint::of(digest),
            Self::Recorded(fingerprint) => fingerprint.clone(),
        }
    }

    /// Whether this is the value whose sha256 is `digest`.
    pub fn is(&self, digest: &Digest) -> bool {
        match self {
            Self::Sha256(own) => own == digest,
            Self::Recorded(fingerprint) => *fingerprint == Fingerprint::of(digest),
        }
    }

    fn same_as(&self, other: &Hidden) -> bool {
        match (self, other) {
            (Self::Sha256(a), Self::Sha256(b)) => a == b,
            (a, b) => a.fingerprint() == b.fingerprint(),
        }
    }
}

/// Text that is not secret and may be shown: what a host showed of a file or a value, or what
/// a predicted state holds. Kept as a plain [`Text`] is (a long one in the run's text store,
/// not in memory) and compared by its digest: a plan predicts every file it writes, and 24
/// hosts of 2,000 files of 1 KiB held as strings would be 50 MB.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainText(Text);

impl PlainText {
    /// The text (read back from the store when it is kept there).
    pub fn as_str(&self) -> Cow<'_, str> {
        match self.0.expose() {
            Cow::Borrowed(bytes) => String::from_utf8_lossy(bytes),
            // Made from a `str`, so never lossy; read back whole from the store.
            Cow::Owned(bytes) => Cow::Owned(
                String::from_utf8(bytes)
                    .unwrap_or_else(|bad| String::from_utf8_lossy(bad.as_bytes()).into_owned()),
            ),
        }
    }

    pub fn digest(&self) -> Digest {
        self.0.digest()
    }
}

impl From<String> for PlainText {
    fn from(text: String) -> Self {
        Self(Text::plain(text))
    }
}

impl From<&str> for PlainText {
    fn from(text: &str) -> Self {
        Self(Text::plain(text))
    }
}

impl fmt::Debug for PlainText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.as_str(), f)
    }
}

/// A value as read from a host: the text itself, only what stands in for it (for sensitive
/// values), or, in a predicted state, not knowable until apply has run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    Plain(PlainText),
    Hidden(Hidden),
    KnownAfterApply,
}

impl Observed {
    /// What a host holding `value` shows: the text, or only its digest when `hide` is set,
    /// the bytes are not text (a key file, say) or are private key material.
    pub fn of(value: &[u8], hide: bool) -> Self {
        match std::str::from_utf8(value) {
            Ok(text) if !hide && !is_key_material(value) => Self::Plain(text.into()),
            _ => Self::Hidden(Hidden::Sha256(Digest::of(value))),
        }
    }

    /// A value a host gave only the sha256 of.
    pub fn digest(digest: Digest) -> Self {
        Self::Hidden(Hidden::Sha256(digest))
    }

    /// What a host holds once `text` is written: the same value, shared rather than copied.
    pub fn from_text(text: &Text) -> Self {
        if text.sensitive || !text.utf8 {
            Self::digest(text.digest())
        } else {
            Self::Plain(PlainText(text.clone()))
        }
    }

    /// Whether the host holds exactly `desired`. Unknown values never match.
    pub fn matches(&self, desired: &Text) -> bool {
        match self {
            Self::Plain(value) => value.0.sha256 == desired.sha256,
            Self::Hidden(hidden) => hidden.is(&desired.digest()),
            Self::KnownAfterApply => false,
        }
    }

    /// Whether this is the content whose sha256 is `digest`.
    pub fn holds(&self, digest: &Digest) -> bool {
        self.concealed().is_some_and(|hidden| hidden.is(digest))
    }

    /// Whether two observed values hold the same bytes, comparing digests if either is hidden.
    pub fn same_as(&self, other: &Observed) -> bool {
        match (self, other) {
            (Self::Plain(a), Self::Plain(b)) => a == b,
            _ => match (self.concealed(), other.concealed()) {
                (Some(a), Some(b)) => a.same_as(&b),
                _ => false,
            },
        }
    }

    /// The same value with its text replaced by the digest, as secrets are observed.
    pub fn hidden(&self) -> Self {
        self.concealed().map_or(Self::KnownAfterApply, Self::Hidden)
    }

    /// What stands in for the value when it is not shown; `None` when it is not known yet.
    fn concealed(&self) -> Option<Hidden> {
        match self {
            Self::Plain(value) => Some(Hidden::Sha256(value.digest())),
            Self::Hidden(hidden) => Some(hidden.clone()),
            Self::KnownAfterApply => None,
        }
    }

    /// The text, where it may be shown (it holds no secret).
    pub fn plain(&self) -> Option<Cow<'_, str>> {
        match self {
            Self::Plain(value) => {
                Some(value.as_str()).filter(|text| !holds_secret(text.as_bytes()))
            }
            _ => None,
        }
    }

    /// A one-line stand-in for content that cannot be shown as a diff.
    pub fn summary(&self) -> String {
        match self.plain() {
            Some(value) => format!(
                "sha256 {} ({} lines)",
                Digest::of(value.as_bytes()).short(),
                value.lines().count()
            ),
            None => self.shown(),
        }
    }

    pub fn shown(&self) -> String {
        match (self.plain(), self.concealed()) {
            (Some(value), _) => value.into_owned(),
            (None, Some(hidden)) => masked(&hidden.fingerprint()),
            (None, None) => "(known after apply)".into(),
        }
    }
}

/// Recorded as the text, or `hmac: <fingerprint>`: a plain sha256 of a secret would let
/// anyone holding the recording test guesses offline.
impl Serialize for Observed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Keyed<'a> {
            hmac: &'a Fingerprint,
        }
        match (self.plain(), self.concealed()) {
            (Some(value), _) => serializer.serialize_str(&value),
            (None, Some(hidden)) => Keyed {
                hmac: &hidden.fingerprint(),
            }
            .serialize(serializer),
            (None, None) => Err(serde::ser::Error::custom(
                "a value known only after apply cannot be recorded",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Observed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Recorded {
            Plain(String),
            Keyed {
                hmac: Fingerprint,
            },
            Unkeyed {
                #[serde(rename = "sha256")]
                _sha256: serde::de::IgnoredAny,
            },
        }
        match Recorded::deserialize(deserializer)? {
            Recorded::Plain(value) => Ok(Self::Plain(value.into())),
            Recorded::Keyed { hmac } => Ok(Self::Hidden(Hidden::Recorded(hmac))),
            Recorded::Unkeyed { .. } => Err(serde::de::Error::custom(
                "a plain `sha256` of a hidden value lets anyone test guesses of it offline; \
                 record the host again with `f3s facts --save` (it keeps `hmac` fingerprints \
                 under the inventory's digest_key)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_of_json_is_that_of_its_text() {
        let value = serde_json::json!({ "files": { "/etc/motd": "hi\n" }, "n": [1, 2.5, null] });
        let text = serde_json::to_vec(&value).unwrap();
        assert_eq!(Digest::of_json(&value).unwrap(), Digest::of(&text));
        assert_ne!(Digest::of_json(&value).unwrap(), Digest::of(b""));
    }

    /// Every test of this module runs under one fixed key, whatever the order.
    fn with_test_key() {
        install(Some(b"test-digest-key-not-real"), ["s3cr3t".to_string()]);
    }

    #[test]
    fn sensitive_text_never_formats_its_value_or_its_plain_digest() {
        with_test_key();
        let secret = Text::new("testpass", true);
        assert!(!format!("{secret:?}").contains("testpass"));
        let json = serde_json::to_string(&secret).unwrap();
        assert!(!json.contains("testpass"), "{json}");
        let plain = secret.digest().to_string();
        assert!(!json.contains(&plain[7..15]), "no plain sha256: {json}");
        assert!(json.contains("(sensitive) "));
        assert!(json.contains(Fingerprint::of(&secret.digest()).short()));
    }

    #[test]
    fn a_fingerprint_depends_on_the_key() {
        with_test_key();
        let digest = Digest::of(b"testpass");
        let under_test_key = Fingerprint::of(&digest);
        assert!(
            !under_test_key
                .to_string()
                .contains(&digest.to_string()[7..])
        );
        assert_eq!(
            under_test_key,
            Fingerprint::under(b"test-digest-key-not-real", &digest)
        );
        assert_ne!(Fingerprint::under(b"another key", &digest), under_test_key);
    }

    #[test]
    fn a_recorded_fingerprint_of_any_text_never_panics() {
        let junk: Result<Fingerprint, _> = serde_json::from_str("\"hmac-sha256:éé\"");
        assert!(junk.is_err());
        assert_eq!(Digest::from_hex("éé"), None);
        let hex = "Ab".repeat(32);
        assert_eq!(Digest::from_hex(&hex).unwrap().short(), "abababab");
    }

    #[test]
    fn hidden_observations_compare_by_digest_or_fingerprint() {
        with_test_key();
        let secret = Text::new("testpass", true);
        assert!(Observed::of(b"testpass", true).matches(&secret));
        assert!(!Observed::of(b"other", true).matches(&secret));
        assert!(!Observed::KnownAfterApply.matches(&secret));
        let recorded: Observed =
            serde_json::from_str(&serde_json::to_string(&Observed::from_text(&secret)).unwrap())
                .unwrap();
        assert!(matches!(recorded, Observed::Hidden(Hidden::Recorded(_))));
        assert!(recorded.matches(&secret));
        assert!(recorded.same_as(&Observed::of(b"testpass", true)));
        assert!(!recorded.same_as(&Observed::of(b"other", true)));
    }

    #[test]
    fn a_recording_with_a_plain_sha256_is_refused() {
        let hex = "0".repeat(64);
        let error = serde_json::from_str::<Observed>(&format!("{{\"sha256\": \"sha256:{hex}\"}}"))
            .unwrap_err();
        assert!(error.to_string().contains("offline"), "{error}");
    }

    #[test]
    fn text_holding_a_secret_or_a_private_key_is_never_shown() {
        with_test_key();
        let line = Observed::Plain("ifconfig_re0=\"pass s3cr3t\"\n".into());
        assert_eq!(line.plain(), None);
        assert!(!line.shown().contains("s3cr3t"));
        assert!(!serde_json::to_string(&line).unwrap().contains("s3cr3t"));
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        assert!(Text::plain(key).is_sensitive());
        assert!(matches!(
            Observed::of(key.as_bytes(), false),
            Observed::Hidden(_)
        ));
        assert!(!is_key_material(b"-----BEGIN CERTIFICATE-----\n"));
        assert_eq!(quotable("no such file"), Some("no such file"));
        assert_eq!(quotable("bad value s3cr3t"), None);
    }
}
