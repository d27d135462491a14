//! Text that came from a host or from a command's output, made safe to print. A host can put
//! anything in a file, an error message or an answer line; printed raw, `ESC[2A ESC[2K` erases
//! the lines above it (a DESTRUCTIVE line among them), OSC 0 and OSC 52 set the window title
//! and write the clipboard, and a bidi override shows a line in another order than it reads.
//! So every character that moves the cursor, starts a terminal command or changes how text
//! around it is drawn is printed visibly escaped (`\x1b[2A`), and f3s's own colours are the
//! only escapes it writes. The one list of such characters is [`is_hidden`]; text, diagnostics
//! and JSON all escape by it.
//!
//! Escaping changes only how the text is printed, never what f3s compares or records: plans
//! and recordings keep the host's bytes; JSON carries them as JSON escapes (`\u001b`), which
//! a reader decodes back to the same text.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::io;

use miette::{Diagnostic, LabeledSpan, Severity, SourceCode};
use serde::Serialize;

/// Whether `c` is printed escaped: C0 controls (but tab, which only moves right) and DEL,
/// C1 controls (U+009B is CSI to a terminal that reads 8-bit controls), bidi embeddings,
/// overrides, isolates and marks, zero-width characters, line and paragraph separators, the
/// byte order mark, interlinear annotation characters and Unicode tags: each either drives a
/// terminal or shows text other than it is.
pub fn is_hidden(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{8}'
            | '\u{a}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e007f}'
    )
}

/// `text` as one line: every hidden character escaped, a line break too (a host's words
/// cannot start a line of their own in a plan, an apply's progress or a log).
pub fn line(text: &str) -> Cow<'_, str> {
    escaped(text, false)
}

/// `text` of several lines (a diagnostic, a command's output): as [`line`], with its line
/// breaks kept.
pub fn lines(text: &str) -> Cow<'_, str> {
    escaped(text, true)
}

fn escaped(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let kept = |c: char| c == '\t' || (keep_newlines && c == '\n');
    let Some(first) = text.find(|c: char| is_hidden(c) && !kept(c)) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        match c {
            c if !is_hidden(c) || kept(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// `value` as pretty JSON, every hidden character of its strings a JSON escape: serde_json
/// escapes C0 controls itself but writes DEL, C1 controls and bidi characters raw.
pub fn json_pretty(value: &impl Serialize) -> serde_json::Result<String> {
    let mut out = Vec::new();
    let formatter = EscapingFormatter(serde_json::ser::PrettyFormatter::new());
    value.serialize(&mut serde_json::Serializer::with_formatter(
        &mut out, formatter,
    ))?;
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// serde_json's pretty layout, with the string fragments it leaves unescaped escaped by
/// [`is_hidden`] (as `\uXXXX`, in UTF-16 units as JSON has it).
struct EscapingFormatter<'a>(serde_json::ser::PrettyFormatter<'a>);

impl serde_json::ser::Formatter for EscapingFormatter<'_> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (at, c) in fragment.char_indices().filter(|(_, c)| is_hidden(*c)) {
            writer.write_all(&fragment.as_bytes()[start..at])?;
            for unit in c.encode_utf16(&mut [0; 2]) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = at + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

/// A diagnostic as it may be printed: its words (message, help, labels, causes and related
/// diagnostics) escaped as [`lines`], the rest as it is. A message may quote a host's stderr
/// or answer; miette prints it into its own coloured frame, so it is escaped before, not
/// after.
pub struct VisibleDiagnostic<'a> {
    inner: &'a dyn Diagnostic,
    message: String,
    help: Option<String>,
    cause: Option<Box<Cause>>,
    diagnostic_source: Option<Box<VisibleDiagnostic<'a>>>,
    related: Vec<VisibleDiagnostic<'a>>,
}

impl<'a> VisibleDiagnostic<'a> {
    pub fn new(inner: &'a dyn Diagnostic) -> Self {
        Self {
            inner,
            message: lines(&inner.to_string()).into_owned(),
            help: inner
                .help()
                .map(|help| lines(&help.to_string()).into_owned()),
            cause: inner.source().map(Cause::of),
            diagnostic_source: inner
                .diagnostic_source()
                .map(|source| Box::new(Self::new(source))),
            related: inner
                .related()
                .map(|related| related.map(Self::new).collect())
                .unwrap_or_default(),
        }
    }
}

/// An error's cause chain, in words escaped as [`lines`].
#[derive(Debug)]
struct Cause {
    message: String,
    source: Option<Box<Cause>>,
}

impl Cause {
    fn of(error: &(dyn std::error::Error + 'static)) -> Box<Self> {
        Box::new(Self {
            message: lines(&error.to_string()).into_owned(),
            source: error.source().map(Self::of),
        })
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|cause| cause as _)
    }
}

impl fmt::Debug for VisibleDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for VisibleDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for VisibleDiagnostic<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|cause| cause as _)
    }
}

impl Diagnostic for VisibleDiagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.inner.code()
    }

    fn severity(&self) -> Option<Severity> {
        self.inner.severity()
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display + 'b>)
    }

    fn url<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.inner.url()
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.inner.source_code()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let labels = self.inner.labels()?;
        Some(Box::new(labels.map(|label| {
            let text = label.label().map(|text| lines(text).into_owned());
            let span = *label.inner();
            if label.primary() {
                LabeledSpan::new_primary_with_span(text, span)
            } else {
                LabeledSpan::new_with_span(text, span)
            }
        })))
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related
                .iter()
                .map(|related| related as &dyn Diagnostic),
        ))
    }

    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.diagnostic_source
            .as_deref()
            .map(|source| source as &dyn Diagnostic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_shown_escaped() {
        assert_eq!(
            line("a\x1b[2A\x1b[2Kb"),
            "a\\x1b[2A\\x1b[2Kb",
            "CSI cursor up and erase line"
        );
        assert_eq!(
            line("\x1b]0;owned\x07\x1b]52;c;ZWNobw==\x07"),
            "\\x1b]0;owned\\x07\\x1b]52;c;ZWNobw==\\x07",
            "OSC 0 (title) and OSC 52 (clipboard)"
        );
        assert_eq!(line("a\rb\0c\x7f"), "a\\rb\\x00c\\x7f");
        assert_eq!(
            line("\u{9b}2A\u{85}"),
            "\\u{9b}2A\\u{85}",
            "C1: CSI and NEL"
        );
        for bidi in ['\u{202a}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2069}'] {
            assert_eq!(
                line(&format!("x{bidi}y")),
                format!("x\\u{{{:x}}}y", bidi as u32)
            );
        }
        assert_eq!(
            line("zero\u{200b}width\u{feff}"),
            "zero\\u{200b}width\\u{feff}"
        );
        assert_eq!(line("tag\u{e0041}"), "tag\\u{e0041}");
    }

    #[test]
    fn a_line_has_no_break_and_lines_keep_theirs() {
        assert_eq!(line("one\ntwo"), "one\\ntwo");
        assert_eq!(lines("one\ntwo\x1b[1m"), "one\ntwo\\x1b[1m");
        assert_eq!(lines("a\r\nb"), "a\\r\nb");
    }

    #[test]
    fn printable_text_is_left_alone_and_not_copied() {
        for text in [
            "plain text",
            "tab\tseparated",
            "é中😀 \\x1b literal",
            "",
            "\u{a0}",
        ] {
            assert!(
                matches!(line(text), Cow::Borrowed(t) if t == text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn json_carries_every_hidden_character_as_an_escape() {
        let text = "\x1b[2A\x7f\u{9b}\u{202e}\u{2066}\u{2028}\u{e0041}é";
        let json = json_pretty(&serde_json::json!({ "diff": text, "n": [1] })).unwrap();
        assert!(!json.chars().any(|c| is_hidden(c) && c != '\n'), "{json:?}");
        for escape in [
            "\\u001b[2A",
            "\\u007f",
            "\\u009b",
            "\\u202e",
            "\\u2066",
            "\\u2028",
            "\\udb40\\udc41",
        ] {
            assert!(json.contains(escape), "{escape} in {json}");
        }
        assert!(json.contains('é'), "printable text stays as it is: {json}");
        let read: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(read["diff"], text, "the same text once read");
        let plain = serde_json::json!({ "a": ["b", 1], "c": { "d": null } });
        assert_eq!(
            json_pretty(&plain).unwrap(),
            serde_json::to_string_pretty(&plain).unwrap(),
            "the same layout as serde_json's"
        );
    }

    #[derive(Debug, thiserror::Error, Diagnostic)]
    #[error("{0}: cannot connect")]
    #[diagnostic(help("the host said {0}"))]
    struct Quoting(String, #[source] std::io::Error);

    #[test]
    fn a_diagnostic_shows_its_words_escaped() {
        let hostile = "h\x1b[2Ki\u{202e}";
        let error = Quoting(
            hostile.into(),
            std::io::Error::other(format!("cause {hostile}")),
        );
        let visible = VisibleDiagnostic::new(&error);
        let mut printed = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .render_report(&mut printed, &visible)
            .unwrap();
        assert!(
            !printed.chars().any(|c| is_hidden(c) && c != '\n'),
            "{printed:?}"
        );
        assert_eq!(
            printed.matches("h\\x1b[2Ki\\u{202e}").count(),
            3,
            "{printed}"
        );
    }
}
