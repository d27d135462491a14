//! Source files read from disk and positions inside them, for diagnostics that point at the
//! offending text.

use std::sync::Arc;

use miette::{NamedSource, SourceSpan};
use serde_saphyr::Location;

/// A file f3s read (inventory, module definition, template, host state), kept for diagnostics.
#[derive(Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: Arc<String>,
    named: NamedSource<Arc<String>>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<Self> {
        let name = name.into();
        let text = Arc::new(text.into());
        let named = NamedSource::new(name.clone(), Arc::clone(&text));
        Arc::new(Self { name, text, named })
    }

    /// The text under its file name, as miette shows it in a snippet's header.
    pub fn named_source(&self) -> &NamedSource<Arc<String>> {
        &self.named
    }

    /// Byte offset of a 1-based line and column (column counted in characters).
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let mut offset = 0;
        for (index, text_line) in self.text.split_inclusive('\n').enumerate() {
            if index + 1 == line {
                let within: usize = text_line
                    .chars()
                    .take(column.saturating_sub(1))
                    .map(char::len_utf8)
                    .sum();
                return offset + within;
            }
            offset += text_line.len();
        }
        self.text.len()
    }

    /// 1-based line number of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }
}

/// Where a value came from: a file and a byte span in it. The span is kept in 32 bits a
/// side (every compiled resource holds an origin; no YAML file nears 4 GiB).
#[derive(Debug, Clone)]
pub struct Origin {
    pub file: Arc<SourceFile>,
    offset: u32,
    len: u32,
}

impl Origin {
    pub fn new(file: &Arc<SourceFile>, span: SourceSpan) -> Self {
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Self {
            file: Arc::clone(file),
            offset: narrow(span.offset()),
            len: narrow(span.len()),
        }
    }

    pub fn span(&self) -> SourceSpan {
        (self.offset as usize, self.len as usize).into()
    }

    /// The whole file, for faults that have no narrower place (a missing file, say).
    pub fn whole(file: &Arc<SourceFile>) -> Self {
        Self::new(file, (0, 0).into())
    }

    /// The span serde-saphyr recorded for a value.
    pub fn at(file: &Arc<SourceFile>, location: &Location) -> Self {
        let span = location.span();
        let offset = span.byte_offset().map_or_else(
            || file.offset_of(location.line() as usize, location.column() as usize),
            |offset| offset as usize,
        );
        let len = span.byte_len().unwrap_or(span.len()) as usize;
        Self::new(file, (offset, trim_len(&file.text, offset, len)).into())
    }

    /// A line and column inside the file (both 1-based).
    pub fn at_line(file: &Arc<SourceFile>, line: usize, column: usize) -> Self {
        let offset = file.offset_of(line, column);
        Self::new(file, (offset, 0).into())
    }

    pub fn line(&self) -> usize {
        self.file.line_of(self.offset as usize)
    }

    /// `file:line`, for messages that mention a place outside the labelled source.
    pub fn describe(&self) -> String {
        format!("{}:{}", self.file.name, self.line())
    }
}

/// A label over a multi-line block scalar reads badly; keep it to the first line.
fn trim_len(text: &str, offset: usize, len: usize) -> usize {
    let end = (offset + len).min(text.len());
    match text.get(offset..end).and_then(|s| s.find('\n')) {
        Some(newline) if newline > 0 => newline,
        _ => end.saturating_sub(offset),
    }
}
