//! Secrets: declared by name in the inventory, read from the environment or a file outside
//! it, and referenced from vars as `{ secret: NAME }`.
//!
//! A reference does not put the value into the vars: it puts a *token*, a word made with a
//! nonce drawn for this run, so no inventory, module or template can forge one. Templates
//! render tokens like any text; [`Secrets::reveal`] then swaps each token in a rendered value
//! for the secret and marks the value sensitive. So sensitivity follows the data, and a
//! secret is never itself read as a template: it arrives exactly as written.
//!
//! A declared secret without a value is not an error here: compiling and graphing need no
//! value, and a plan leaves out only what is rendered from it (`Revealed::missing`). A value
//! that is there but cannot be one is: an empty one, one that is not UTF-8 text, or one in a
//! file others than its owner may read (as OpenSSH refuses such a private key), unless the
//! command line allows open files. The digest key is read the same way, and must be a key of
//! its own (see [`Secrets::digest_key`]).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::source::Origin;

#[derive(Debug)]
struct Declaration {
    env: Option<String>,
    file: Option<PathBuf>,
    origin: Origin,
}

#[derive(Debug)]
pub struct Secrets {
    declared: BTreeMap<String, Declaration>,
    /// By name: the value, or why there is none.
    resolved: BTreeMap<String, Result<String, String>>,
    /// Undeclared names already reported (once, however many hosts refer to them).
    unknown: BTreeSet<String>,
    nonce: String,
    /// Whether a file that group or others may read is read anyway
    /// (`--allow-open-secret-files`).
    allow_open_files: bool,
}

impl Default for Secrets {
    fn default() -> Self {
        Self::new(false)
    }
}

/// A rendered value with its secrets put back.
#[derive(Debug, PartialEq, Eq)]
pub struct Revealed {
    pub value: String,
    /// Whether any secret went into it.
    pub sensitive: bool,
    /// A secret it needs that has no value: then `value` holds a stand-in, never to be used.
    pub missing: Option<String>,
}

/// A declared secret without a value.
#[derive(Debug)]
pub struct Unavailable<'a> {
    pub name: &'a str,
    pub reason: &'a str,
    pub origin: &'a Origin,
}

impl Unavailable<'_> {
    pub fn error(&self) -> CompileError {
        CompileError::new(
            CompileErrorKind::SecretUnavailable {
                name: self.name.to_string(),
                reason: self.reason.to_string(),
            },
            self.origin,
            "declared here",
        )
    }
}

/// Why a declaration gives no value.
enum NoValue {
    /// None was given (its variable unset, its file absent or unreadable): only what needs
    /// the value is left out.
    Absent(String),
    /// One was given that cannot be a secret: an error at the declaration.
    Refused(CompileErrorKind),
}

/// Why the digest key cannot be had.
#[derive(Debug)]
pub enum KeyFault {
    /// It has no value in this run: an error only for what shows or records fingerprints.
    Absent(CompileError),
    /// It is declared or given wrong: an error for every command.
    Refused(CompileError),
}

impl Secrets {
    /// No secrets yet; `allow_open_files` reads files that group or others may read.
    pub fn new(allow_open_files: bool) -> Self {
        Self {
            declared: BTreeMap::new(),
            resolved: BTreeMap::new(),
            unknown: BTreeSet::new(),
            nonce: crate::random::word(16),
            allow_open_files,
        }
    }

    pub fn declare(
        &mut self,
        name: &str,
        env: Option<String>,
        file: Option<&str>,
        base: &Path,
        origin: Origin,
    ) {
        self.declared.insert(
            name.to_string(),
            Declaration {
                env,
                file: file.map(|file| base.join(file)),
                origin,
            },
        );
    }

    /// The token standing for secret `name`, referenced at `reference`; its value is read
    /// now (a missing one shows where it is used). `Err(None)` when an undeclared name was
    /// reported already.
    pub fn resolve(
        &mut self,
        name: &str,
        reference: &Origin,
    ) -> Result<String, Option<CompileError>> {
        let Some(declaration) = self.declared.get(name) else {
            if !self.unknown.insert(name.to_string()) {
                return Err(None);
            }
            let kind = CompileErrorKind::UnknownSecret {
                name: name.to_string(),
                known: self.declared.keys().cloned().collect(),
            };
            return Err(Some(CompileError::new(kind, reference, "no such secret")));
        };
        if !self.resolved.contains_key(name) {
            // A value that is there but unusable is a mistake to report (once); one that is
            // not there only leaves out what needs it.
            match read(declaration, name, self.allow_open_files) {
                Ok(value) => {
                    self.resolved.insert(name.to_string(), Ok(value));
                }
                Err(NoValue::Absent(reason)) => {
                    self.resolved.insert(name.to_string(), Err(reason));
                }
                Err(NoValue::Refused(kind)) => {
                    self.resolved
                        .insert(name.to_string(), Err(kind.to_string()));
                    return Err(Some(CompileError::new(
                        kind,
                        &declaration.origin,
                        "declared here",
                    )));
                }
            }
        }
        Ok(self.token(name))
    }

    /// The declared secrets referenced but without a value.
    pub fn unavailable(&self) -> Vec<Unavailable<'_>> {
        self.resolved
            .iter()
            .filter_map(|(name, value)| {
                Some(Unavailable {
                    name,
                    reason: value.as_ref().err()?,
                    origin: &self.declared.get(name)?.origin,
                })
            })
            .collect()
    }

    fn token(&self, name: &str) -> String {
        format!("\u{27e6}secret {name} {}\u{27e7}", self.nonce)
    }

    /// `text` with every token replaced by its secret (or, for a secret without a value, a
    /// stand-in naming it).
    pub fn reveal(&self, text: &str) -> Revealed {
        self.reveal_as(text, |secret| secret.to_string())
    }

    /// As [`Secrets::reveal`], for a shell command whose every value f3s quoted
    /// (`shell_words::quote`): each token stands inside single quotes there, so its secret
    /// goes in with every `'` written `'\''`, and stays one quoted word whatever it holds.
    pub fn reveal_quoted(&self, text: &str) -> Revealed {
        self.reveal_as(text, |secret| secret.replace('\'', "'\\''"))
    }

    fn reveal_as(&self, text: &str, written: impl Fn(&str) -> String) -> Revealed {
        if !text.contains(&self.nonce) {
            return Revealed {
                value: text.to_string(),
                sensitive: false,
                missing: None,
            };
        }
        let mut value = text.to_string();
        let mut missing = None;
        for (name, secret) in &self.resolved {
            let token = self.token(name);
            if !value.contains(&token) {
                continue;
            }
            match secret {
                Ok(secret) => value = value.replace(&token, &written(secret)),
                Err(_) => {
                    value = value.replace(&token, &format!("(secret {name})"));
                    missing.get_or_insert_with(|| name.clone());
                }
            }
        }
        Revealed {
            value,
            sensitive: true,
            missing,
        }
    }

    /// Every secret value read, for [`crate::sensitive::install`].
    pub fn values(&self) -> impl Iterator<Item = &String> {
        self.resolved.values().flatten()
    }
}

impl Secrets {
    /// The inventory's `digest_key`, declared at `origin`: the key of every fingerprint f3s
    /// prints or records (see `crate::sensitive`). Read like a secret, and a key of its own:
    /// a fingerprint keyed with a secret's value (or with a text that holds it) is again an
    /// offline test of a guess of that secret, and one keyed with a file the inventory uses
    /// for something else (a secret's file, the inventory itself, an SSH key or known_hosts)
    /// is a key of another purpose, or none. `used` names those other files and what each is.
    /// Call it after every secret is declared.
    pub fn digest_key(
        &self,
        env: Option<String>,
        file: Option<&str>,
        base: &Path,
        origin: &Origin,
        used: &[(PathBuf, String)],
    ) -> Result<String, KeyFault> {
        let refused = |kind| KeyFault::Refused(CompileError::new(kind, origin, "declared here"));
        let declaration = Declaration {
            env,
            file: file.map(|file| base.join(file)),
            origin: origin.clone(),
        };
        if let Some(path) = &declaration.file {
            let own = same_file_key(path);
            let secrets = self.declared.iter().filter_map(|(name, declared)| {
                Some((
                    declared.file.as_ref()?,
                    format!("the file of secret `{name}`"),
                ))
            });
            let others = used.iter().map(|(path, what)| (path, what.clone()));
            if let Some((_, what)) = secrets
                .chain(others)
                .find(|(other, _)| same_file_key(other) == own)
            {
                return Err(refused(CompileErrorKind::DigestKeyFileInUse {
                    path: path.display().to_string(),
                    what,
                }));
            }
        }
        let key = match read(&declaration, DIGEST_KEY, self.allow_open_files) {
            Ok(key) => key,
            Err(NoValue::Refused(kind)) => return Err(refused(kind)),
            Err(NoValue::Absent(reason)) => {
                return Err(KeyFault::Absent(CompileError::new(
                    CompileErrorKind::SecretUnavailable {
                        name: DIGEST_KEY.into(),
                        reason,
                    },
                    origin,
                    "declared here",
                )));
            }
        };
        if key.chars().count() < 16 {
            return Err(refused(CompileErrorKind::SecretUnavailable {
                name: DIGEST_KEY.into(),
                reason: "it is shorter than 16 characters: too easy to guess (make one with `openssl rand -hex 32`)".into(),
            }));
        }
        if let Some((secret, how)) = self.overlap(&key) {
            return Err(refused(CompileErrorKind::DigestKeyHoldsSecret {
                secret: secret.to_string(),
                how,
            }));
        }
        Ok(key)
    }

    /// The first declared secret whose value `key` is, holds, or is part of, and which of
    /// the three. Every declared secret counts, used or not: a fingerprint under the key
    /// tests a guess of any of them. One not read yet is read for this alone, files open or
    /// not (its value goes nowhere); one without a value cannot be compared.
    fn overlap(&self, key: &str) -> Option<(&str, &'static str)> {
        self.declared.iter().find_map(|(name, declaration)| {
            let value = match self.resolved.get(name) {
                Some(value) => value.as_ref().ok().cloned(),
                None => read(declaration, name, true).ok(),
            }?;
            let how = if key == value {
                "is"
            } else if key.contains(&value) {
                "holds"
            } else if value.contains(key) {
                "is part of"
            } else {
                return None;
            };
            Some((name.as_str(), how))
        })
    }
}

/// The digest key's name in messages: it is declared like a secret, under this key.
const DIGEST_KEY: &str = "digest_key";

/// What tells two paths of one file apart from two files.
#[derive(PartialEq, Eq)]
enum FileIdentity {
    /// A file that exists: its device and inode, the same however a path reaches it (a
    /// symlink, `..`, a hard link).
    Inode(u64, u64),
    /// One that does not (CI checks an inventory without its secrets): its absolute path as
    /// written, so two declarations of one missing file still match.
    Absent(PathBuf),
}

fn same_file_key(path: &Path) -> FileIdentity {
    match std::fs::metadata(path) {
        Ok(metadata) => FileIdentity::Inode(metadata.dev(), metadata.ino()),
        Err(_) => {
            FileIdentity::Absent(std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
        }
    }
}

/// The value of `declaration` (of secret `name`); an empty one, or one of only whitespace,
/// is refused (an unset password is not a password).
fn read(declaration: &Declaration, name: &str, allow_open: bool) -> Result<String, NoValue> {
    let value = read_raw(declaration, name, allow_open)?;
    match unusable(&value) {
        Some(reason) => Err(NoValue::Refused(CompileErrorKind::SecretUnavailable {
            name: name.to_string(),
            reason,
        })),
        None => Ok(value),
    }
}

/// Why a value given for a secret cannot be one.
fn unusable(value: &str) -> Option<String> {
    match (value.is_empty(), value.trim().is_empty()) {
        (true, _) => Some("it is empty".into()),
        (false, true) => Some("it is only whitespace".into()),
        _ => None,
    }
}

/// The value as given: the environment variable if it is set, else the file (its trailing
/// line break dropped). A file is checked on the descriptor it is read from, so what is
/// checked is what is read.
fn read_raw(declaration: &Declaration, name: &str, allow_open: bool) -> Result<String, NoValue> {
    if let Some(var) = &declaration.env {
        match std::env::var(var) {
            Ok(value) => return Ok(value),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(NoValue::Refused(CompileErrorKind::SecretNotText {
                    name: name.to_string(),
                    from: format!("${var}"),
                }));
            }
            Err(std::env::VarError::NotPresent) => {}
        }
    }
    let Some(path) = &declaration.file else {
        return Err(NoValue::Absent(match &declaration.env {
            Some(var) => format!("${var} is not set"),
            None => "the declaration names neither `env` nor `file`".into(),
        }));
    };
    let unreadable = |error: std::io::Error| {
        NoValue::Absent(match &declaration.env {
            Some(var) => format!(
                "${var} is not set and {} cannot be read ({error})",
                path.display()
            ),
            None => format!("{} cannot be read ({error})", path.display()),
        })
    };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let metadata = file.metadata().map_err(unreadable)?;
    let mode = metadata.permissions().mode();
    // Only a regular file has a mode that says who may read the secret; a directory fails
    // below, as unreadable.
    if metadata.is_file() && mode & 0o077 != 0 && !allow_open {
        return Err(NoValue::Refused(CompileErrorKind::OpenSecretFile {
            name: name.to_string(),
            path: path.display().to_string(),
            mode: mode & 0o7777,
        }));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(unreadable)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        NoValue::Refused(CompileErrorKind::SecretNotText {
            name: name.to_string(),
            from: path.display().to_string(),
        })
    })?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn secrets_with(name: &str, var: &str) -> (Secrets, Origin) {
        let file = SourceFile::new("inventory.yml", "x");
        let origin = Origin::whole(&file);
        let mut secrets = Secrets::default();
        secrets.declare(name, Some(var.into()), None, Path::new("."), origin.clone());
        (secrets, origin)
    }

    #[test]
    fn a_secret_that_looks_like_a_template_comes_back_exactly() {
        let value = "{{!x}} {{NAME}} pa$$\"w\\0rd é";
        // SAFETY: the variable name is this test's own.
        unsafe { std::env::set_var("F3S_TEST_SECRET_TEMPLATE", value) };
        let (mut secrets, origin) = secrets_with("p", "F3S_TEST_SECRET_TEMPLATE");
        let token = secrets.resolve("p", &origin).unwrap();
        assert!(!token.contains(value) && !token.contains("{{"));
        let revealed = secrets.reveal(&format!("pass {token} alias"));
        assert_eq!(revealed.value, format!("pass {value} alias"));
        assert!(revealed.sensitive);
        assert!(!secrets.reveal("pass alias").sensitive);
    }

    #[test]
    fn a_secret_without_a_value_is_named_where_it_is_needed() {
        let (mut secrets, origin) = secrets_with("p", "F3S_TEST_SECRET_UNSET");
        let token = secrets.resolve("p", &origin).unwrap();
        let revealed = secrets.reveal(&format!("pass {token}"));
        assert_eq!(revealed.missing.as_deref(), Some("p"));
        assert_eq!(revealed.value, "pass (secret p)");
        let unavailable = secrets.unavailable();
        assert_eq!(unavailable.len(), 1);
        assert!(unavailable[0].reason.contains("F3S_TEST_SECRET_UNSET"));
        assert!(matches!(secrets.resolve("nope", &origin), Err(Some(_))));
        assert!(matches!(secrets.resolve("nope", &origin), Err(None)));
    }

    #[test]
    fn an_empty_secret_is_reported_once() {
        // SAFETY: the variable name is this test's own.
        unsafe { std::env::set_var("F3S_TEST_SECRET_BLANK", " \t") };
        let (mut secrets, origin) = secrets_with("q", "F3S_TEST_SECRET_BLANK");
        let error = secrets.resolve("q", &origin).unwrap_err().unwrap();
        assert!(error.to_string().contains("whitespace"), "{error}");
        assert!(secrets.resolve("q", &origin).is_ok());
    }
}
