//! Secrets: declared by name in the inventory, read from the environment or a file outside
//! it, and referenced from vars as `{ secret: NAME }`. Their values only ever leave this
//! module as rendered config content, which the plan shows masked.

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

#[derive(Debug, Default)]
pub struct Secrets {
    declared: BTreeMap<String, Declaration>,
    resolved: BTreeMap<String, String>,
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

    /// The value of secret `name`, referenced at `reference`.
    pub fn resolve(&mut self, name: &str, reference: &Origin) -> Result<String, CompileError> {
        if let Some(value) = self.resolved.get(name) {
            return Ok(value.clone());
        }
        let Some(declaration) = self.declared.get(name) else {
            let kind = CompileErrorKind::UnknownSecret {
                name: name.to_string(),
                known: self.declared.keys().cloned().collect(),
            };
            return Err(CompileError::new(kind, reference, "no such secret"));
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
        })?;
        self.resolved.insert(name.to_string(), value.clone());
        Ok(value)
    }

    /// Every secret value read so far, for scrubbing output.
    pub fn values(&self) -> impl Iterator<Item = &String> {
        self.resolved.values()
    }
}

fn read(declaration: &Declaration) -> Result<String, String> {
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
