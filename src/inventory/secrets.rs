//! Secrets: declared by name in the inventory, read from the environment or a file outside
//! it, and referenced from vars as `{ secret: NAME }`.
//!
//! A reference does not put the value into the vars: it puts a *token*, a word made with a
//! nonce drawn for this run, so no inventory, module or template can forge one. Templates
//! render tokens like any text; [`Secrets::reveal`] then swaps each token in a rendered value
//! for the secret and marks the value sensitive. So sensitivity follows the data, and a
//! secret is never itself read as a template: it arrives exactly as written.

use std::collections::BTreeMap;
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
    /// By name: the value, or `None` once its absence has been reported (once, however many
    /// hosts refer to it).
    resolved: BTreeMap<String, Option<String>>,
    nonce: String,
}

impl Default for Secrets {
    fn default() -> Self {
        Self {
            declared: BTreeMap::new(),
            resolved: BTreeMap::new(),
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

    /// The token standing for secret `name`, referenced at `reference`. `Err(None)` when the
    /// secret's fault was already reported.
    pub fn resolve(
        &mut self,
        name: &str,
        reference: &Origin,
    ) -> Result<String, Option<CompileError>> {
        match self.resolved.get(name) {
            Some(Some(_)) => return Ok(self.token(name)),
            Some(None) => return Err(None),
            None => {}
        }
        let Some(declaration) = self.declared.get(name) else {
            let kind = CompileErrorKind::UnknownSecret {
                name: name.to_string(),
                known: self.declared.keys().cloned().collect(),
            };
            return Err(Some(CompileError::new(kind, reference, "no such secret")));
        };
        let value = read(declaration).map_err(|reason| {
            CompileError::new(
                CompileErrorKind::SecretUnavailable {
                    name: name.to_string(),
                    reason,
                },
                &declaration.origin,
                "declared here",
            )
        });
        self.resolved
            .insert(name.to_string(), value.as_ref().ok().cloned());
        value.map(|_| self.token(name)).map_err(Some)
    }

    fn token(&self, name: &str) -> String {
        format!("\u{27e6}secret {name} {}\u{27e7}", self.nonce)
    }

    /// `text` with every token replaced by its secret.
    pub fn reveal(&self, text: &str) -> Revealed {
        if !text.contains(&self.nonce) {
            return Revealed {
                value: text.to_string(),
                sensitive: false,
            };
        }
        let mut value = text.to_string();
        for (name, secret) in &self.resolved {
            if let Some(secret) = secret {
                value = value.replace(&self.token(name), secret);
            }
        }
        Revealed {
            value,
            sensitive: true,
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
    if value.trim().is_empty() {
        return Err(match value.is_empty() {
            true => "it is empty".into(),
            false => "it is only whitespace".into(),
        });
    }
    Ok(value)
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
    fn a_missing_secret_is_reported_once_and_an_empty_one_is_refused() {
        let (mut secrets, origin) = secrets_with("p", "F3S_TEST_SECRET_UNSET");
        assert!(matches!(secrets.resolve("p", &origin), Err(Some(_))));
        assert!(matches!(secrets.resolve("p", &origin), Err(None)));
        // SAFETY: the variable name is this test's own.
        unsafe { std::env::set_var("F3S_TEST_SECRET_BLANK", " \t") };
        let (mut secrets, origin) = secrets_with("q", "F3S_TEST_SECRET_BLANK");
        let error = secrets.resolve("q", &origin).unwrap_err().unwrap();
        assert!(error.to_string().contains("whitespace"), "{error}");
    }
}
