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
//! value, and a plan leaves out only what is rendered from it (`Revealed::missing`).

use std::collections::{BTreeMap, BTreeSet};
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
}

impl Default for Secrets {
    fn default() -> Self {
        Self {
            declared: BTreeMap::new(),
            resolved: BTreeMap::new(),
            unknown: BTreeSet::new(),
            nonce: crate::random::word(16),
        }
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

impl Secrets {
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
            let value = read_raw(declaration);
            // A value that is there but unusable is a mistake to report (once); one that is
            // not there only leaves out what needs it.
            if let Some(reason) = value.as_deref().ok().and_then(unusable) {
                self.resolved.insert(name.to_string(), Err(reason.clone()));
                let kind = CompileErrorKind::SecretUnavailable {
                    name: name.to_string(),
                    reason,
                };
                return Err(Some(CompileError::new(
                    kind,
                    &declaration.origin,
                    "declared here",
                )));
            }
            self.resolved.insert(name.to_string(), value);
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

/// The inventory's `digest_key`: the key of every fingerprint f3s prints or records
/// (see `crate::sensitive`). Read like a secret.
pub fn read_digest_key(
    env: Option<String>,
    file: Option<&str>,
    base: &Path,
    origin: &Origin,
) -> Result<String, CompileError> {
    let declaration = Declaration {
        env,
        file: file.map(|file| base.join(file)),
        origin: origin.clone(),
    };
    let fault = |reason: String| {
        CompileError::new(
            CompileErrorKind::SecretUnavailable {
                name: "digest_key".into(),
                reason,
            },
            origin,
            "declared here",
        )
    };
    let key = read(&declaration).map_err(fault)?;
    if key.chars().count() < 16 {
        return Err(fault(
            "it is shorter than 16 characters: too easy to guess (make one with `head -c 32 /dev/urandom | base64`)".into(),
        ));
    }
    Ok(key)
}

/// The value of a declaration; an empty one, or one of only whitespace, is a fault (an unset
/// password is not a password).
fn read(declaration: &Declaration) -> Result<String, String> {
    let value = read_raw(declaration)?;
    match unusable(&value) {
        Some(reason) => Err(reason),
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

fn read_raw(declaration: &Declaration) -> Result<String, String> {
    if let Some(value) = declaration
        .env
        .as_ref()
        .and_then(|var| std::env::var(var).ok())
    {
        return Ok(value);
    }
    match &declaration.file {
        Some(path) => std::fs::read_to_string(path)
            .map(|text| text.trim_end_matches(['\r', '\n']).to_string())
            .map_err(|error| match &declaration.env {
                Some(var) => format!(
                    "${var} is not set and {} cannot be read ({error})",
                    path.display()
                ),
                None => format!("{} cannot be read ({error})", path.display()),
            }),
        None => match &declaration.env {
            Some(var) => Err(format!("${var} is not set")),
            None => Err("the declaration names neither `env` nor `file`".into()),
        },
    }
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
