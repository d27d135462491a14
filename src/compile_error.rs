//! A diagnostic about the user's files: a kind of fault plus the places it points at, rendered
//! by miette with the source text.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, SourceCode};

use crate::compile_error_kind::CompileErrorKind;
use crate::source::Origin;
use crate::values::ValueKind;

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

    /// The diagnostic for `value` at `origin`, if it breaks `kind`'s rule. A sensitive value
    /// is never shown, and neither is the reason, which may quote the character at fault.
    pub fn for_value(
        kind: ValueKind,
        value: &str,
        sensitive: bool,
        origin: &Origin,
    ) -> Option<Self> {
        let reason = kind.check(value).err()?;
        Some(Self::refused_value(kind, reason, value, sensitive, origin))
    }

    /// The diagnostic for `value` at `origin`, refused for `reason` under `kind`'s rule.
    pub fn refused_value(
        kind: ValueKind,
        reason: String,
        value: &str,
        sensitive: bool,
        origin: &Origin,
    ) -> Self {
        let (reason, label) = if sensitive {
            (
                "it breaks the rule below (the value is sensitive, so no more is shown)"
                    .to_string(),
                "(sensitive)".to_string(),
            )
        } else {
            // Debug formatting shows a line break or an escape sequence as such.
            (reason, format!("found {value:?}"))
        };
        Self::new(
            CompileErrorKind::InvalidValue { what: kind, reason },
            origin,
            label,
        )
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
        let main = LabeledSpan::new_primary_with_span(Some(one_line(&self.label)), origin.span());
        let others = self
            .also
            .iter()
            .filter(|(other, _)| other.file.name == origin.file.name)
            .map(|(other, label)| LabeledSpan::new_with_span(Some(one_line(label)), other.span()));
        Some(Box::new(std::iter::once(main).chain(others)))
    }
}

/// A label as miette draws it. A label that quotes a value holding newlines is replaced: miette
/// lays a label out in time quadratic in its lines (a value of 20,000 lines took minutes), and
/// the message quotes the value already. Replaced whole, not cut: a cut could show part of a
/// secret where the redactor, looking for the whole, would not find it.
fn one_line(label: &str) -> String {
    if label.contains('\n') {
        "here (the value spans lines: see the message)".into()
    } else {
        label.to_string()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::NameKind;
    use crate::source::SourceFile;

    #[test]
    fn a_label_quoting_lines_is_drawn_as_one_line_and_the_message_keeps_the_value() {
        let file = SourceFile::new("m.yml", "path: \"{{dir}}/x\"\n");
        let value = "/keys/f0.x\nx\n".repeat(3_000);
        let kind = CompileErrorKind::InvalidName {
            what: NameKind::Path,
            value: value.clone(),
            reason: "it contains the control character '\\n'".into(),
        };
        let error = CompileError::new(kind, &Origin::new(&file, (6, 13).into()), value.clone())
            .with_also(&Origin::new(&file, (0, 4).into()), value.clone());
        let labels: Vec<_> = error.labels().unwrap().collect();
        assert!(
            labels
                .iter()
                .all(|label| !label.label().unwrap().contains('\n'))
        );
        let mut text = String::new();
        // Unwrapped, so each quoted line can be counted whole.
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(usize::MAX)
            .render_report(&mut text, &error)
            .unwrap();
        assert!(text.contains("see the message"), "{text}");
        // Each line of the value once, in the message; none in a label.
        assert_eq!(text.matches("/keys/f0.x").count(), 3_000);
    }
}
