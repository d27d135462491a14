//! Handlebars rendering in strict mode with HTML escaping off: a variable with no value is an
//! error that names the template, the line and the variable, never an empty string in a config.
//! A shell command a module writes (a `validate` check) is rendered with shell quoting in place
//! of HTML escaping, so an inventory value reaches the host's shell only quoted.
//! Rendering takes a `handlebars::Context` built once per scope: handing handlebars a plain
//! value would copy it whole for every string rendered.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use handlebars::{Context, Handlebars, RenderError, RenderErrorReason};

use serde_json::Value;

use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::source::{Origin, SourceFile};
use crate::yaml;

pub struct Renderer {
    /// Every template parsed so far, registered under its text (inline) or path (files), so
    /// a string rendered for each of thousands of items is parsed once.
    registry: Mutex<Handlebars<'static>>,
    /// As `registry`, with every `{{value}}` quoted for a POSIX shell (`{{{value}}}` is the
    /// module author's explicit way around it, as it is around HTML escaping elsewhere).
    quoting: Mutex<Handlebars<'static>>,
    /// Template files read so far, so each is read once however many hosts use it.
    files: Mutex<BTreeMap<PathBuf, Arc<SourceFile>>>,
    /// By key as `registry`: each template split into text and names once, where it is
    /// only that (`None` where handlebars must render it).
    substitutions: Mutex<HashMap<String, Option<Arc<Substitution>>>>,
}

impl Default for Renderer {
    fn default() -> Self {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        let mut quoting = registry.clone();
        registry.register_escape_fn(handlebars::no_escape);
        quoting.register_escape_fn(crate::shell_words::quote);
        Self {
            registry: Mutex::new(registry),
            quoting: Mutex::new(quoting),
            files: Mutex::default(),
            substitutions: Mutex::default(),
        }
    }
}

impl Renderer {
    /// Renders a string from a module.yml; faults point at the value in that file. With
    /// `shell_quoting`, each value it interpolates is quoted for a POSIX shell.
    pub fn inline(
        &self,
        text: &str,
        origin: &Origin,
        context: &Context,
        shell_quoting: bool,
    ) -> Result<String, CompileError> {
        if !text.contains("{{") {
            return Ok(text.to_string());
        }
        let rendered = if shell_quoting {
            render_with(&self.quoting, &format!("inline:{text}"), text, context)
        } else {
            self.render(&format!("inline:{text}"), text, context)
        };
        rendered.map_err(|error| {
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
        let substitution = {
            let mut substitutions = self
                .substitutions
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match substitutions.get(key) {
                Some(known) => known.clone(),
                None => {
                    let parsed = Substitution::parse(text).map(Arc::new);
                    substitutions.insert(key.to_string(), parsed.clone());
                    parsed
                }
            }
        };
        if let Some(rendered) = substitution.and_then(|s| s.render(context.data())) {
            return Ok(rendered);
        }
        render_with(&self.registry, key, text, context)
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

/// Renders `text` with `registry`, parsed once and kept under `key`.
fn render_with(
    registry: &Mutex<Handlebars<'static>>,
    key: &str,
    text: &str,
    context: &Context,
) -> Result<String, RenderError> {
    let mut registry = registry
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !registry.has_template(key) {
        shallow_enough(text)?;
        registry.register_template_string(key, text)?;
    }
    bounded_iterations(text, context.data())?;
    // Into a buffer of our own: handlebars' own string output starts at 8 KiB, costly to
    // allocate for every short name and wasteful to keep.
    let mut rendered = Vec::new();
    registry.render_with_context_to_write(key, context, &mut rendered)?;
    String::from_utf8(rendered).map_err(|error| {
        RenderError::from(RenderErrorReason::Other(format!(
            "the template rendered bytes that are not UTF-8: {error}"
        )))
    })
}

/// A template made only of text and `{{path.to.value}}` names, split into its parts once and
/// rendered as handlebars (strict, no escaping) renders it, directly: most strings of a
/// module are such, and rendered once per `for_each` item. Anything else handlebars renders
/// or reports: helpers, blocks, whitespace control and escapes (`parse` gives `None`), a
/// value neither a string nor a number, a name not there (`render` does).
struct Substitution {
    parts: Vec<Part>,
    /// The rendered length before any value, to allocate once.
    text_len: usize,
}

enum Part {
    Text(String),
    Name(Vec<String>),
}

impl Substitution {
    fn parse(text: &str) -> Option<Self> {
        if text.contains("\\{{") {
            return None;
        }
        let mut parts = Vec::new();
        let mut text_len = 0;
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            parts.push(Part::Text(rest[..start].to_string()));
            text_len += start;
            let after = &rest[start + 2..];
            let end = after.find("}}")?;
            let path = &after[..end];
            // A lone name that is one of handlebars' helpers calls it rather than looking it up.
            if BUILTIN_HELPERS.contains(&path) {
                return None;
            }
            let mut segments = Vec::new();
            for segment in path.split('.') {
                let plain = segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if segment.is_empty() || !plain || matches!(segment, "this" | "else") {
                    return None;
                }
                segments.push(segment.to_string());
            }
            parts.push(Part::Name(segments));
            rest = &after[end + 2..];
        }
        if rest.contains("}}") {
            return None;
        }
        text_len += rest.len();
        parts.push(Part::Text(rest.to_string()));
        Some(Self { parts, text_len })
    }

    /// `None` where a name is not there or is neither a string nor a number.
    fn render(&self, data: &Value) -> Option<String> {
        let mut rendered = String::with_capacity(self.text_len);
        for part in &self.parts {
            match part {
                Part::Text(text) => rendered.push_str(text),
                Part::Name(segments) => {
                    let value = segments
                        .iter()
                        .try_fold(data, |value, segment| value.get(segment))?;
                    // As handlebars renders them (JsonRender: a string as it is, a number
                    // by its Display); anything else is left to handlebars.
                    match value {
                        Value::String(text) => rendered.push_str(text),
                        Value::Number(number) => rendered.push_str(&number.to_string()),
                        _ => return None,
                    }
                }
            }
        }
        Some(rendered)
    }
}

/// How deep blocks may nest in a template: far beyond any configuration file's needs, and far
/// short of where handlebars slows down (its parser takes time growing faster than the square
/// of the nesting: 500 levels took seconds) or its recursion nears the end of the stack.
const MAX_NESTING: usize = 32;

/// Refuses a template whose blocks (`{{#…}}`, `{{^…}}`, with `~` or not) nest deeper than
/// `MAX_NESTING`, before handlebars parses it; the error is placed at the block too many.
fn shallow_enough(text: &str) -> Result<(), RenderError> {
    let mut depth = 0usize;
    for (at, _) in text.match_indices("{{") {
        let tag = text[at + 2..]
            .trim_start_matches('{')
            .trim_start_matches('~');
        if tag.starts_with('#') || (tag.starts_with('^') && !tag[1..].starts_with("}}")) {
            depth += 1;
            if depth > MAX_NESTING {
                let before = &text[..at];
                let line_start = before.rfind('\n').map_or(0, |n| n + 1);
                let mut error = RenderError::from(RenderErrorReason::Other(format!(
                    "blocks nest more than {MAX_NESTING} deep"
                )));
                error.line_no = Some(before.matches('\n').count() + 1);
                error.column_no = Some(before[line_start..].chars().count() + 1);
                return Err(error);
            }
        } else if tag.starts_with('/') {
            depth = depth.saturating_sub(1);
        }
    }
    Ok(())
}

/// The most `#each` iterations one rendering may reach: nested `#each` blocks multiply, and
/// twelve levels over three hosts already took seconds.
const MAX_ITERATIONS: u128 = 100_000;

/// Refuses a template whose nested `#each` blocks could iterate more than `MAX_ITERATIONS`
/// times over this context (its longest list or mapping, to the power of the nesting), before
/// handlebars runs them: handlebars gives no way to stop a rendering under way.
fn bounded_iterations(text: &str, data: &Value) -> Result<(), RenderError> {
    let mut depth = 0u32;
    let mut deepest = 0u32;
    for (at, _) in text.match_indices("{{") {
        let tag = text[at + 2..]
            .trim_start_matches('{')
            .trim_start_matches('~')
            .trim_start();
        if let Some(block) = tag.strip_prefix('#') {
            depth += 1;
            if block.trim_start().starts_with("each") {
                deepest = deepest.max(depth);
            }
        } else if tag.starts_with('/') {
            depth = depth.saturating_sub(1);
        }
    }
    if deepest < 2 {
        return Ok(());
    }
    let widest = widest_collection(data) as u128;
    let iterations = widest.saturating_pow(deepest);
    if iterations <= MAX_ITERATIONS {
        return Ok(());
    }
    Err(RenderError::from(RenderErrorReason::Other(format!(
        "its blocks nest {deepest} deep over lists of up to {widest} items: up to {iterations} iterations, past the {MAX_ITERATIONS} f3s renders"
    ))))
}

/// The length of the longest list or mapping anywhere in `value`.
fn widest_collection(value: &Value) -> usize {
    match value {
        Value::Array(items) => items
            .iter()
            .map(widest_collection)
            .fold(items.len(), usize::max),
        Value::Object(map) => map
            .values()
            .map(widest_collection)
            .fold(map.len(), usize::max),
        _ => 0,
    }
}

/// The helpers handlebars 6 registers by default (registry.rs `setup_builtins`).
const BUILTIN_HELPERS: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "raw", "log", "eq", "ne", "gt", "gte", "lt", "lte",
    "and", "or", "not", "len",
];

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn substitute(text: &str, data: &Value) -> Option<String> {
        Substitution::parse(text)?.render(data)
    }

    /// In a shell command, an inventory value arrives quoted whatever it holds; the module's
    /// own text (and `{new}`) is left as written.
    #[test]
    fn values_in_a_shell_command_are_quoted() {
        let data = json!({ "name": "x'; rm -rf / #", "dir": "/usr/local/etc" });
        let renderer = Renderer::default();
        let origin = Origin::whole(&SourceFile::new("module.yml", ""));
        let rendered = renderer
            .inline(
                "check --name {{name}} --in {{dir}} {new}",
                &origin,
                &Context::from(data),
                true,
            )
            .unwrap();
        assert_eq!(
            rendered,
            "check --name 'x'\\''; rm -rf / #' --in '/usr/local/etc' {new}"
        );
    }

    /// Nested `#each` blocks that could iterate past the budget over this context are refused
    /// before they run; the same nesting over short lists renders.
    #[test]
    fn nested_each_blocks_are_bounded_by_the_context() {
        let renderer = Renderer::default();
        let nested =
            |depth: usize| "{{#each @root.a}}".repeat(depth) + "." + &"{{/each}}".repeat(depth);
        let short = Context::from(json!({ "a": [1, 2, 3] }));
        assert_eq!(
            renderer.render("n2", &nested(2), &short).unwrap(),
            ".".repeat(9)
        );
        let long = Context::from(json!({ "a": (0..400).collect::<Vec<_>>() }));
        let refused = renderer.render("n2", &nested(2), &long).unwrap_err();
        assert!(
            refused.to_string().contains("up to 160000 iterations"),
            "{refused}"
        );
        let hosts = Context::from(json!({ "a": [1, 2, 3] }));
        let refused = renderer.render("n12", &nested(12), &hosts).unwrap_err();
        assert!(refused.to_string().contains("nest 12 deep"), "{refused}");
    }

    /// A template nesting blocks past the bound is refused before handlebars parses it; one at
    /// the bound renders.
    #[test]
    fn blocks_nest_only_so_deep() {
        let renderer = Renderer::default();
        let context = Context::from(json!({ "a": true }));
        let nested = |depth: usize| "{{#if a}}".repeat(depth) + "x" + &"{{/if}}".repeat(depth);
        let at_bound = renderer.render("t32", &nested(MAX_NESTING), &context);
        assert_eq!(at_bound.unwrap(), "x");
        for deeper in [
            nested(MAX_NESTING + 1),
            "{{~#each a}}".repeat(1_000),
            "{{^a}}".repeat(99),
        ] {
            let refused = renderer.render(&deeper, &deeper, &context).unwrap_err();
            assert!(
                refused.to_string().contains("nest more than 32 deep"),
                "{refused}"
            );
        }
        let sequential = "{{#if a}}x{{^}}y{{/if}}".repeat(100);
        assert!(renderer.render("seq", &sequential, &context).is_ok());
    }

    /// Whatever the direct substitution renders, handlebars renders the same.
    #[test]
    fn direct_substitution_agrees_with_handlebars() {
        let data = json!({
            "root": "/srv", "item": "d1/f-2", "n": 3, "f": 2.5, "big": 18446744073709551615u64,
            "neg": -7, "t": true, "log": "l", "raw": "r", "and": "a",
            "host": { "name": "f0", "vars": { "a-b": "x{{y}}" } },
        });
        let renderer = Renderer::default();
        let context = Context::from(data.clone());
        for text in [
            "{{root}}/{{item}}",
            "plain",
            "# {{item}} on {{host.name}}\n",
            "{{host.vars.a-b}}",
            "{{n}}",
            "n={{n}} f={{f}} big={{big}} neg={{neg}}",
            "{{ root }}",
            "{{{root}}}",
            "\\{{root}}",
            "{{this}}",
            "a }} b",
            "{{#if root}}x{{/if}}",
            "{{log}}",
            "{{raw}}",
            "{{and}}",
        ] {
            let direct = substitute(text, &data);
            let by_handlebars = renderer
                .registry
                .lock()
                .unwrap()
                .render_template_with_context(text, &context)
                .ok();
            if let Some(direct) = direct {
                assert_eq!(Some(direct), by_handlebars, "{text}");
            }
        }
        assert_eq!(
            substitute("{{root}}/{{item}}", &data).as_deref(),
            Some("/srv/d1/f-2")
        );
        assert_eq!(substitute("{{n}}", &data).as_deref(), Some("3"));
        assert_eq!(substitute("{{f}}", &data).as_deref(), Some("2.5"));
        assert_eq!(
            substitute("{{t}}", &data),
            None,
            "booleans go to handlebars"
        );
        assert_eq!(
            substitute("{{missing}}", &data),
            None,
            "so does what is missing"
        );
    }
}
