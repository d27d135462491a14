//! A diagnostic about the user's files: a kind of fault plus the places it points at, rendered
//! by miette with the source text.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, SourceCode};

use crate::compile_error_kind::CompileErrorKind;
use crate::source::Origin;

#[derive(Debug, Clone)]
pub struct CompileError {
    /// Boxed: the kind is large, and errors travel in `Result`s everywhere.
    pub kind: Box<CompileErrorKind>,
    /// The main place, labelled with `label`.
    pub origin: Option<Origin>,
    pub label: String,
    /// Further places in the same file (the other members of a cycle, say).
    pub also: Vec<(Origin, String)>,
}

impl CompileError {
    pub fn new(kind: CompileErrorKind, origin: &Origin, label: impl Into<String>) -> Self {
        Self {
            kind: Box::new(kind),
            origin: Some(origin.clone()),
            label: label.into(),
            also: Vec::new(),
        }
    }

    /// A fault with no place in a file (a missing inventory file, say).
    pub fn unplaced(kind: CompileErrorKind) -> Self {
        Self {
            kind: Box::new(kind),
            origin: None,
            label: String::new(),
            also: Vec::new(),
        }
    }

    pub fn with_also(mut self, origin: &Origin, label: impl Into<String>) -> Self {
        self.also.push((origin.clone(), label.into()));
        self
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for CompileError {}

impl Diagnostic for CompileError {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let mut help = self.kind.help().unwrap_or_default();
        let main_file = self.origin.as_ref().map(|o| &o.file.name);
        for (origin, label) in &self.also {
            if Some(&origin.file.name) != main_file {
                help.push_str(&format!("\n{label} at {}", origin.describe()));
            }
        }
        (!help.is_empty()).then(|| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.origin
            .as_ref()
            .map(|origin| origin.file.named_source() as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let origin = self.origin.as_ref()?;
        let main = LabeledSpan::new_primary_with_span(Some(self.label.clone()), origin.span);
        let others = self
            .also
            .iter()
            .filter(|(other, _)| other.file.name == origin.file.name)
            .map(|(other, label)| LabeledSpan::new_with_span(Some(label.clone()), other.span));
        Some(Box::new(std::iter::once(main).chain(others)))
    }
}

/// Every diagnostic found in one pass, reported together.
#[derive(Debug)]
pub struct CompileErrors(pub Vec<CompileError>);

impl fmt::Display for CompileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.len() {
            1 => write!(f, "{}", self.0[0]),
            n => write!(f, "{n} errors"),
        }
    }
}

impl std::error::Error for CompileErrors {}

impl From<CompileError> for CompileErrors {
    fn from(error: CompileError) -> Self {
        Self(vec![error])
    }
}
