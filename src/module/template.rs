//! Handlebars rendering in strict mode with HTML escaping off: a variable with no value is an
//! error that names the template, the line and the variable, never an empty string in a config.
//! A shell command a module writes (a `validate` check, a cron command) is rendered with shell
//! quoting in place of HTML escaping, so an inventory value reaches the host's shell only
//! quoted; and since that quoting holds only where the shell reads the command unquoted, a
//! command that puts a `{{…}}` inside its own quotes (or after a backslash or `$`, or in a
//! command substitution) is refused, at the tag (`crate::shell_context`).
//! Rendering takes a `handlebars::Context` built once per scope: handing handlebars a plain
//! value would copy it whole for every string rendered.
//! Handlebars' parser finds the line of every tag from the start of the text (pest's
//! `Position::line_col`), so it takes time growing with a template's tags times its length:
//! 5,000 `{{#if}}` blocks took 5.7 s. A template past `MAX_TEMPLATE_BYTES` or
//! `MAX_TEMPLATE_TAGS` is refused before it is parsed, at the place past the bound.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use handlebars::{Context, Handlebars, RenderError, RenderErrorReason};

use serde_json::Value;

use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::shell_context::{Reader, ShellContext};
use crate::source::{Origin, SourceFile};
use crate::yaml;

pub struct Renderer {
    /// Every template parsed so far, registered under its text (inline) or path (files), so
    /// a string rendered for each of thousands of items is parsed once.
    registry: Mutex<Handlebars<'static>>,
    /// As `registry`, with every `{{value}}` quoted for a POSIX shell and marked (`mark`), for
    /// the shell commands of a module; only templates whose tags all stand unquoted in the
    /// command (`values_in_place`) are registered.
    quoting: Mutex<Handlebars<'static>>,
    /// What the quoting registry puts before (`MARK[`) and after (`MARK]`) each value it
    /// renders, so the rendered command shows where each value landed: a control character
    /// and a word drawn for this run, which no value holds but by guessing it.
    mark: String,
    /// Template files read so far, so each is read once however many hosts use them.
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
        let mark = format!("\u{1}{}", crate::random::word(16));
        let (open, close) = (format!("{mark}["), format!("{mark}]"));
        quoting.register_escape_fn(move |value| {
            format!("{open}{}{close}", crate::shell_words::quote(value))
        });
        Self {
            registry: Mutex::new(registry),
            quoting: Mutex::new(quoting),
            mark,
            files: Mutex::default(),
            substitutions: Mutex::default(),
        }
    }
}

/// Why a template did not render.
#[derive(Debug)]
enum Failure {
    Render(RenderError),
    /// Refused before it was parsed, for what stands at this range of its text.
    Refused {
        kind: Refusal,
        at: Range<usize>,
    },
    /// A command refused once rendered: where the value came from in the template is not known.
    Misplaced(ShellContext),
}

#[derive(Debug)]
enum Refusal {
    /// The reason, and the label of the place past the bound.
    TooLarge(String, String),
    Misplaced {
        tag: String,
        place: ShellContext,
    },
    Unquoted {
        tag: String,
    },
}

/// The message alone, as the tests read it.
#[cfg(test)]
impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Render(error) => write!(f, "{error}"),
            Self::Misplaced(place) => write!(f, "a value lands {place}"),
            Self::Refused { kind, .. } => match kind {
                Refusal::TooLarge(reason, _) => f.write_str(reason),
                Refusal::Misplaced { tag, place } => write!(f, "`{tag}` lands {place}"),
                Refusal::Unquoted { tag } => write!(f, "`{tag}` puts text in as written"),
            },
        }
    }
}

impl From<RenderError> for Failure {
    fn from(error: RenderError) -> Self {
        Self::Render(error)
    }
}

impl Failure {
    /// The diagnostic for `template`, whose text `text` is written at `origin` (the value of
    /// a module.yml, or a file's whole text with `in_file`).
    fn at(
        self,
        template: &str,
        text: &str,
        origin: &Origin,
        in_file: bool,
        used_at: Option<&Origin>,
    ) -> CompileError {
        let (kind, label, at) = match self {
            Self::Render(error) => return fault(&error, template, origin, used_at),
            Self::Misplaced(place) => (
                CompileErrorKind::MisplacedCommandValue {
                    what: "a value".into(),
                    place,
                },
                format!("renders a value {place}"),
                None,
            ),
            Self::Refused { kind, at } => {
                let (kind, label) = match kind {
                    Refusal::TooLarge(reason, label) => (
                        CompileErrorKind::TemplateTooLarge {
                            template: template.to_string(),
                            reason,
                        },
                        label,
                    ),
                    Refusal::Misplaced { tag, place } => (
                        CompileErrorKind::MisplacedCommandValue {
                            what: format!("`{tag}`"),
                            place,
                        },
                        place.to_string(),
                    ),
                    Refusal::Unquoted { tag } => (
                        CompileErrorKind::UnquotedCommandText { tag },
                        "as written".to_string(),
                    ),
                };
                (kind, label, Some(at))
            }
        };
        let origin = match at {
            Some(at) if in_file => Origin::new(&origin.file, (at.start, at.len()).into()),
            Some(at) => within_value(origin, text, at),
            None => origin.clone(),
        };
        let error = CompileError::new(kind, &origin, label);
        match used_at {
            Some(used_at) => error.with_also(used_at, "rendered for the resource"),
            None => error,
        }
    }
}

/// The place of `text[at]` in the YAML file, `text` being the value written at `origin`:
/// the same `{{` of the file, counted from the value's start (YAML writes `{{` as it is in
/// every style of scalar), if the file holds the same text there; else the whole value.
fn within_value(origin: &Origin, text: &str, at: Range<usize>) -> Origin {
    let piece = &text[at.clone()];
    let nth = text[..at.start].matches("{{").count();
    let source = origin.file.text.as_str();
    let from = origin.span().offset().min(source.len());
    let found = source[from..]
        .match_indices("{{")
        .nth(nth)
        .map(|(offset, _)| from + offset)
        .filter(|&start| piece.starts_with("{{") && source[start..].starts_with(piece));
    match found {
        Some(start) => Origin::new(&origin.file, (start, piece.len()).into()),
        None => origin.clone(),
    }
}

impl Renderer {
    /// Renders a string from a module.yml; faults point at the value in that file. With
    /// `shell_command`, the string is a shell command line: each value it interpolates is
    /// quoted for a POSIX shell, and must stand where that quoting holds.
    pub fn inline(
        &self,
        text: &str,
        origin: &Origin,
        context: &Context,
        shell_command: bool,
    ) -> Result<String, CompileError> {
        if !text.contains("{{") {
            return Ok(text.to_string());
        }
        let key = format!("inline:{text}");
        let rendered = if shell_command {
            self.command(&key, text, context)
        } else {
            self.render(&key, text, context)
        };
        rendered.map_err(|failure| {
            let template = format!("value in {}", origin.file.name);
            failure.at(&template, text, origin, false, None)
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
            .map_err(|failure| match failure {
                Failure::Render(error) => {
                    let origin = match (error.line_no, error.column_no) {
                        (Some(line), Some(column)) => Origin::at_line(&file, line, column),
                        _ => position(&error).map_or_else(
                            || Origin::whole(&file),
                            |(line, column)| Origin::at_line(&file, line, column),
                        ),
                    };
                    fault(&error, &file.name, &origin, Some(used_at))
                }
                refused => refused.at(
                    &file.name,
                    &file.text,
                    &Origin::whole(&file),
                    true,
                    Some(used_at),
                ),
            })
    }

    /// Renders the template `text`, parsed once and kept under `key`.
    fn render(&self, key: &str, text: &str, context: &Context) -> Result<String, Failure> {
        let substitution = {
            let mut substitutions = self
                .substitutions
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match substitutions.get(key) {
                Some(known) => known.clone(),
                None => {
                    within_bounds(text)?;
                    let parsed = Substitution::parse(text).map(Arc::new);
                    substitutions.insert(key.to_string(), parsed.clone());
                    parsed
                }
            }
        };
        if let Some(rendered) = substitution.and_then(|s| s.render(context.data())) {
            return Ok(rendered);
        }
        render_with(&self.registry, key, text, context, |_| Ok(()))
    }

    /// Renders the shell command `text`: each value quoted, and each where its quoting holds
    /// (checked in the template's text before it is parsed, then in the command rendered,
    /// which is what the host's shell reads).
    fn command(&self, key: &str, text: &str, context: &Context) -> Result<String, Failure> {
        let marked = render_with(&self.quoting, key, text, context, values_in_place)?;
        let (open, close) = (format!("{}[", self.mark), format!("{}]", self.mark));
        let mut reader = Reader::new();
        let mut command = String::with_capacity(marked.len());
        let mut rest = marked.as_str();
        while let Some(start) = rest.find(&open) {
            let (text, value) = (&rest[..start], &rest[start + open.len()..]);
            reader.read(text);
            let place = reader.context();
            if place != ShellContext::Unquoted {
                return Err(Failure::Misplaced(place));
            }
            let end = value.find(&close).unwrap_or(value.len());
            reader.read(&value[..end]);
            command.push_str(text);
            command.push_str(&value[..end]);
            rest = value.get(end + close.len()..).unwrap_or_default();
        }
        command.push_str(rest);
        Ok(command)
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

/// Renders `text` with `registry`, parsed once and kept under `key`; `check` sees the text
/// first, before handlebars parses it.
fn render_with(
    registry: &Mutex<Handlebars<'static>>,
    key: &str,
    text: &str,
    context: &Context,
    check: fn(&str) -> Result<(), Failure>,
) -> Result<String, Failure> {
    let mut registry = registry
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !registry.has_template(key) {
        within_bounds(text)?;
        check(text)?;
        shallow_enough(text)?;
        registry
            .register_template_string(key, text)
            .map_err(RenderError::from)?;
    }
    bounded_iterations(text, context.data())?;
    // Into a buffer of our own: handlebars' own string output starts at 8 KiB, costly to
    // allocate for every short name and wasteful to keep.
    let mut rendered = Vec::new();
    registry.render_with_context_to_write(key, context, &mut rendered)?;
    String::from_utf8(rendered).map_err(|error| {
        Failure::Render(RenderError::from(RenderErrorReason::Other(format!(
            "the template rendered bytes that are not UTF-8: {error}"
        ))))
    })
}

/// The most bytes f3s parses in one template: far beyond any configuration file's needs (the
/// largest the modules ship is 3 KiB).
const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

/// The most `{{` one template may hold. The worst template within both bounds (250 `{{#if}}`
/// blocks after 60 KiB of text) took handlebars 0.13 s to parse and render in a release build
/// (`cargo run --release --example template_bounds`); 20,000 blocks took 80 s.
const MAX_TEMPLATE_TAGS: usize = 500;

/// Refuses a template past `MAX_TEMPLATE_TAGS` or `MAX_TEMPLATE_BYTES`, at the first place
/// past either: the tag one too many, or the byte after the bound.
fn within_bounds(text: &str) -> Result<(), Failure> {
    let tag = text
        .match_indices("{{")
        .nth(MAX_TEMPLATE_TAGS)
        .map(|(at, _)| at)
        .filter(|&at| at < MAX_TEMPLATE_BYTES);
    let (reason, label, at) = match tag {
        Some(at) => (
            format!(
                "it holds more than {MAX_TEMPLATE_TAGS} `{{{{…}}}}` tags, the most f3s parses in one template"
            ),
            format!("tag {}", MAX_TEMPLATE_TAGS + 1),
            at..at + 2,
        ),
        None if text.len() > MAX_TEMPLATE_BYTES => {
            let at = (MAX_TEMPLATE_BYTES..text.len())
                .find(|&at| text.is_char_boundary(at))
                .unwrap_or(text.len());
            (
                format!(
                    "it is {} bytes, past the {MAX_TEMPLATE_BYTES} f3s parses in one template",
                    text.len()
                ),
                format!("byte {} onwards", MAX_TEMPLATE_BYTES + 1),
                at..at,
            )
        }
        None => return Ok(()),
    };
    Err(Failure::Refused {
        kind: Refusal::TooLarge(reason, label),
        at,
    })
}

/// Refuses a shell command template with a tag where f3s's quoting of a value would not hold:
/// every `{{…}}` (a value, or a block's tags, whose branches must each leave the command
/// unquoted) must stand at the command level, unquoted; a comment may stand anywhere. Text
/// between tags is read as handlebars writes it (`\{{` is text, `\\{{` a backslash and a
/// tag). Handlebars may drop whitespace next to a tag (`~`, a tag alone on its line), so a
/// backslash or `$` before whitespace before a tag counts as right before it. The command as
/// rendered is checked again (`Renderer::command`); this check finds the tag to point at.
fn values_in_place(text: &str) -> Result<(), Failure> {
    let mut reader = Reader::new();
    let mut segment = String::new();
    let mut at = 0;
    while let Some(found) = text[at..].find("{{") {
        let open = at + found;
        segment.push_str(&text[at..open]);
        let backslashes = segment.len() - segment.trim_end_matches('\\').len();
        if backslashes == 1 {
            // Handlebars' escape: `\{{` (or `\{{{{`) is that text, without the backslash.
            segment.pop();
            let literal = if text[open..].starts_with("{{{{") {
                4
            } else {
                2
            };
            segment.push_str(&text[open..open + literal]);
            at = open + literal;
            continue;
        }
        if backslashes > 1 {
            segment.pop();
        }
        let end = tag_end(text, open);
        let tag = &text[open..end];
        let kept = segment.trim_end();
        reader.read(kept);
        let pending = reader.pending();
        reader.read(&segment[kept.len()..]);
        segment.clear();
        let refused = |kind| {
            Err(Failure::Refused {
                kind,
                at: open..end,
            })
        };
        let inner = tag[2..]
            .trim_start_matches(HANDLEBARS_BLANKS)
            .trim_start_matches('~')
            .trim_start_matches(HANDLEBARS_BLANKS);
        if tag.starts_with("{{{{") || inner.starts_with(['{', '&']) {
            return refused(Refusal::Unquoted { tag: tag.into() });
        }
        let place = match pending {
            Some(place) => place,
            None if tag.starts_with("{{!") => ShellContext::Unquoted,
            None => reader.context(),
        };
        if place != ShellContext::Unquoted {
            return refused(Refusal::Misplaced {
                tag: tag.into(),
                place,
            });
        }
        if !tag.starts_with("{{!") && !is_block_tag(inner) {
            // The value, quoted: one word, read as it will be.
            reader.read("''");
        }
        at = end;
    }
    Ok(())
}

/// What pest skips between the parts of a tag (handlebars' grammar.pest, `WHITESPACE`).
const HANDLEBARS_BLANKS: &[char] = &[' ', '\t', '\n', '\r'];

/// A tag that writes nothing itself: a block's start, `else` and end, a partial, a decorator.
fn is_block_tag(inner: &str) -> bool {
    inner.starts_with(['#', '/', '^', '>', '*'])
        || inner.strip_prefix("else").is_some_and(|rest| {
            !rest.starts_with(|c: char| c.is_alphanumeric() || "-_$:".contains(c))
        })
}

/// Where the tag opening at `open` ends (past its `}}`), as handlebars' grammar reads it: a
/// comment ends at `}}` (`--}}` after `{{!--`), a raw block's tag at `}}}}`, a triple-stash
/// at `}}}`; string literals and `[…]` segments inside a tag may hold `}}`.
fn tag_end(text: &str, open: usize) -> usize {
    let from = |at: usize, end: &str| {
        text[at..]
            .find(end)
            .map_or(text.len(), |found| at + found + end.len())
    };
    let rest = &text[open..];
    if rest.starts_with("{{!--") {
        return from(open + 5, "--}}");
    }
    if rest.starts_with("{{!") {
        return from(open + 3, "}}");
    }
    if rest.starts_with("{{{{") {
        return from(open + 4, "}}}}");
    }
    let bytes = text.as_bytes();
    let mut at = open + 2;
    while at < bytes.len() {
        match bytes[at] {
            quote @ (b'"' | b'\'') => {
                at += 1;
                while at < bytes.len() && bytes[at] != quote {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                at += 1;
            }
            b'[' => at = from(at, "]"),
            b'}' if bytes.get(at + 1) == Some(&b'}') => {
                let triple = rest[2..].starts_with('{') && bytes.get(at + 2) == Some(&b'}');
                return (at + 2 + usize::from(triple)).min(text.len());
            }
            _ => at += 1,
        }
    }
    text.len()
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

    /// Values f3s puts into shell commands, chosen to run something or to split if a quote
    /// did not hold.
    const HOSTILE: &[&str] = &[
        "$(touch ran)",
        "`touch ran`",
        "'; touch ran; '",
        "\"$(touch ran)\"",
        "\\",
        "x\\'",
        "a b\tc",
        "*",
        "~",
        "%",
        "$HOME",
        "\\'; touch ran; echo \\'",
        "",
    ];

    fn command(template: &str, value: &str) -> Result<String, CompileError> {
        let data = json!({ "v": value, "list": [value, value] });
        let origin = Origin::whole(&SourceFile::new("module.yml", ""));
        Renderer::default().inline(template, &origin, &Context::from(data), true)
    }

    /// What `sh -c command` prints, run in a directory of its own, and whether it left a file.
    fn run(command: &str) -> (String, bool) {
        let dir = tempfile::tempdir().unwrap();
        let output = std::process::Command::new("sh")
            .args(["-c", command])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let ran = dir.path().join("ran").exists();
        (String::from_utf8(output.stdout).unwrap(), ran)
    }

    /// Every command template f3s lets through gives `sh` each value as written, one word,
    /// whatever the value holds; the others are refused (`None`), and none runs a value.
    #[test]
    fn a_value_reaches_sh_as_written_or_the_command_is_refused() {
        for (template, printed) in [
            ("printf '[%s]' {{v}}", Some("[V]")),
            ("printf '[%s]' x{{v}}y", Some("[xVy]")),
            ("printf '[%s]' \"a b\"{{v}}'c d'", Some("[a bVc d]")),
            ("printf '[%s]' {{ v }} {{v}}", Some("[V][V]")),
            (
                "printf '[%s]' {{#if list}}{{v}}{{else}}none{{/if}}",
                Some("[V]"),
            ),
            (
                "printf '[%s]' {{#each list}}{{this}} {{/each}}",
                Some("[V][V]"),
            ),
            ("printf '[%s]' {{v}}#{{v}}", Some("[V#V]")),
            ("printf '[%s]' {{!-- \"' --}}{{v}}", Some("[V]")),
            ("printf '[%s]' \\{{v}} {{v}}", Some("[{{v}}][V]")),
            ("(printf '[%s]' {{v}})", Some("[V]")),
            ("printf '[%s]' \"{{v}}\"", None),
            ("printf '[%s]' '{{v}}'", None),
            ("printf '[%s]' \\\\{{v}}", None),
            ("printf '[%s]' ${{v}}", None),
            ("printf '[%s]' `printf %s {{v}}`", None),
            ("printf '[%s]' \"$(printf %s {{v}})\"", None),
            ("printf '[%s]' {{{v}}}", None),
            ("printf '[%s]' # note\n{{~v}}", None),
        ] {
            for value in HOSTILE {
                let rendered = command(template, value);
                let (Some(printed), Ok(rendered)) = (printed, &rendered) else {
                    assert!(
                        printed.is_none() && rendered.is_err(),
                        "{template} with {value:?}: {rendered:?}"
                    );
                    continue;
                };
                let (stdout, ran) = run(rendered);
                assert!(!ran, "{template} with {value:?} ran the value: {rendered}");
                let expected = printed.replace('V', value);
                assert_eq!(stdout, expected, "{template} with {value:?}: {rendered}");
            }
        }
    }

    /// A tag where the shell would not read f3s's quotes as quotes is refused, at the tag.
    #[test]
    fn a_tag_where_quoting_would_not_hold_is_refused_at_the_tag() {
        use ShellContext as C;
        for (template, tag, place) in [
            ("grep -q \"{{v}}\" {new}", "{{v}}", C::DoubleQuotes),
            ("grep -q '{{v}}' {new}", "{{v}}", C::SingleQuotes),
            ("grep -q 'it''s {{v}}' {new}", "{{v}}", C::SingleQuotes),
            ("grep -q \\\\{{v}} {new}", "{{v}}", C::Backslash),
            ("grep -q \\ {{~v}} {new}", "{{~v}}", C::Backslash),
            ("grep -q ${{v}} {new}", "{{v}}", C::Dollar),
            ("grep -q $'{{v}}' {new}", "{{v}}", C::DollarQuotes),
            ("grep -q `echo {{v}}` {new}", "{{v}}", C::Backquotes),
            (
                "grep -q $(echo {{v}}) {new}",
                "{{v}}",
                C::CommandSubstitution,
            ),
            (
                "test $(( {{v}} + 1 )) {new}",
                "{{v}}",
                C::CommandSubstitution,
            ),
            ("grep -q ${x:-{{v}}} {new}", "{{v}}", C::ParameterExpansion),
            ("grep -q {new} # {{v}}", "{{v}}", C::Comment),
            (
                "grep -q \"{{#if v}}x{{/if}}\" {new}",
                "{{#if v}}",
                C::DoubleQuotes,
            ),
            (
                "grep -q {{#if v}}'{{/if}}' {new}",
                "{{/if}}",
                C::SingleQuotes,
            ),
            (
                "grep -q \"{{! a note }}{{v}}\" {new}",
                "{{v}}",
                C::DoubleQuotes,
            ),
            (
                "grep -q \"{{lookup . \"v\"}}\" {new}",
                "{{lookup . \"v\"}}",
                C::DoubleQuotes,
            ),
            (
                "grep -q {{lookup . \"}}'\"}}'{{v}}' {new}",
                "{{v}}",
                C::SingleQuotes,
            ),
        ] {
            match values_in_place(template) {
                Err(Failure::Refused {
                    kind:
                        Refusal::Misplaced {
                            tag: found,
                            place: at,
                        },
                    at: range,
                }) => {
                    assert_eq!((found.as_str(), at), (tag, place), "{template}");
                    assert_eq!(&template[range], tag, "{template}");
                }
                other => panic!("{template}: {other:?}"),
            }
            assert!(command(template, "x").is_err(), "{template}");
        }
        for template in [
            "grep -q {{{v}}} {new}",
            "grep {{&v}} {new}",
            "a {{~{v}~}} b",
        ] {
            assert!(
                matches!(
                    values_in_place(template),
                    Err(Failure::Refused {
                        kind: Refusal::Unquoted { .. },
                        ..
                    })
                ),
                "{template}"
            );
        }
    }

    /// Handlebars drops whitespace next to a `~` tag, a line break too: what the template's
    /// text shows is not always what the shell reads, so the command as rendered is checked
    /// again.
    #[test]
    fn a_value_misplaced_only_once_rendered_is_refused() {
        assert!(values_in_place("true # note\n{{~v}}").is_ok());
        let refused = command("true # note\n{{~v}}", "x").unwrap_err();
        assert_eq!(
            *refused.kind,
            CompileErrorKind::MisplacedCommandValue {
                what: "a value".into(),
                place: ShellContext::Comment,
            }
        );
    }

    /// A template past a bound is refused before handlebars parses it (20,000 blocks took
    /// handlebars minutes), at the first place past the bound; one at the bounds renders.
    #[test]
    fn a_template_past_its_bounds_is_refused_before_it_is_parsed() {
        let renderer = Renderer::default();
        let context = Context::from(json!({ "a": true }));
        let blocks = |count: usize| "{{#if a}}x{{/if}}".repeat(count);
        let refused = renderer.render("b", &blocks(20_000), &context).unwrap_err();
        match refused {
            Failure::Refused {
                kind: Refusal::TooLarge(reason, _),
                at,
            } => {
                assert!(reason.contains("more than 500"), "{reason}");
                assert_eq!(at, 250 * 17..250 * 17 + 2, "the 501st tag");
            }
            other => panic!("{other:?}"),
        }
        let at_bound = renderer.render("a", &blocks(250), &context).unwrap();
        assert_eq!(at_bound, "x".repeat(250));
        let long = "x".repeat(MAX_TEMPLATE_BYTES) + "é{{a}}";
        match renderer.render("l", &long, &context).unwrap_err() {
            Failure::Refused {
                kind: Refusal::TooLarge(reason, _),
                at,
            } => {
                assert!(reason.contains("past the 65536"), "{reason}");
                assert_eq!(at, MAX_TEMPLATE_BYTES..MAX_TEMPLATE_BYTES);
            }
            other => panic!("{other:?}"),
        }
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
            "{{~#each a}}".repeat(400),
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
