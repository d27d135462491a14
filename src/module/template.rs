//! Handlebars rendering in strict mode with HTML escaping off: a variable with no value is an
//! error that names the template, the line and the variable, never an empty string in a config.
//! Rendering takes a `handlebars::Context` built once per scope: handing handlebars a plain
//! value would copy it whole for every string rendered.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use handlebars::{Context, Handlebars, RenderError, RenderErrorReason};

use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::source::{Origin, SourceFile};
use crate::yaml;

pub struct Renderer {
    /// Every template parsed so far, registered under its text (inline) or path (files), so
    /// a string rendered for each of thousands of items is parsed once.
    registry: Mutex<Handlebars<'static>>,
    /// Template files read so far, so each is read once however many hosts use it.
    files: Mutex<BTreeMap<PathBuf, Arc<SourceFile>>>,
}

impl Default for Renderer {
    fn default() -> Self {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        Self {
            registry: Mutex::new(registry),
            files: Mutex::default(),
        }
    }
}

impl Renderer {
    /// Renders a string from a module.yml; faults point at the value in that file.
    pub fn inline(
        &self,
        text: &str,
        origin: &Origin,
        context: &Context,
    ) -> Result<String, CompileError> {
        if !text.contains("{{") {
            return Ok(text.to_string());
        }
        self.render(&format!("inline:{text}"), text, context)
            .map_err(|error| {
                fault(
                    &error,
                    &format!("value in {}", origin.file.name),
                    origin,
                    None,
                )
            })
    }

    /// Renders a template file; faults point into the file, and mention where it is used.
    pub fn file(
        &self,
        path: &Path,
        context: &Context,
        used_at: &Origin,
    ) -> Result<String, CompileError> {
        let file = self.source(path).map_err(|error| CompileError {
            origin: Some(used_at.clone()),
            label: "used here".into(),
            ..error
        })?;
        self.render(&format!("file:{}", path.display()), &file.text, context)
            .map_err(|error| {
                let origin = match (error.line_no, error.column_no) {
                    (Some(line), Some(column)) => Origin::at_line(&file, line, column),
                    _ => position(&error).map_or_else(
                        || Origin::whole(&file),
                        |(line, column)| Origin::at_line(&file, line, column),
                    ),
                };
                fault(&error, &file.name, &origin, Some(used_at))
            })
    }

    /// Renders the template `text`, parsed once and kept under `key`.
    fn render(&self, key: &str, text: &str, context: &Context) -> Result<String, RenderError> {
        let mut registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !registry.has_template(key) {
            registry.register_template_string(key, text)?;
        }
        // Handlebars renders into an 8 KiB buffer; a name kept per resource must not keep it.
        let mut rendered = registry.render_with_context(key, context)?;
        rendered.shrink_to_fit();
        Ok(rendered)
    }

    fn source(&self, path: &Path) -> Result<Arc<SourceFile>, CompileError> {
        let mut files = self
            .files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(file) = files.get(path) {
            return Ok(Arc::clone(file));
        }
        let file = yaml::read_source(path)?;
        files.insert(path.to_path_buf(), Arc::clone(&file));
        Ok(file)
    }
}

fn position(error: &RenderError) -> Option<(usize, usize)> {
    match error.reason() {
        RenderErrorReason::TemplateError(template) => template.pos(),
        _ => None,
    }
}

fn fault(
    error: &RenderError,
    template: &str,
    origin: &Origin,
    used_at: Option<&Origin>,
) -> CompileError {
    let (kind, label) = match error.reason() {
        RenderErrorReason::MissingVariable(variable) => {
            let variable = variable.clone().unwrap_or_else(|| "?".into());
            let label = format!("`{variable}` is not defined here");
            (
                CompileErrorKind::MissingTemplateVariable {
                    template: template.to_string(),
                    variable,
                },
                label,
            )
        }
        reason => (
            CompileErrorKind::Template {
                template: template.to_string(),
                message: reason.to_string(),
            },
            "here".to_string(),
        ),
    };
    let error = CompileError::new(kind, origin, label);
    match used_at {
        Some(used_at) => error.with_also(used_at, "rendered for the resource"),
        None => error,
    }
}
