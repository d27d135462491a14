//! Where a word lands in a command line that a POSIX shell reads: at the command level and
//! unquoted, or inside quotes, after a backslash, in a command substitution.
//!
//! f3s puts a value into a command as one single-quoted word (`shell_words::quote`), which
//! reads back as the value only where the shell is at the command level, unquoted. Inside the
//! author's own single quotes, f3s's first quote ends them and the value is bare; inside double
//! quotes, single quotes are ordinary characters, so `$(…)` or `` `…` `` in the value expands
//! (XCU 2.2.2, 2.2.3); after a backslash the opening quote is escaped (2.2.1), after `$` it
//! opens a `$'…'` string that reads backslash escapes (2.2.4); and in `` `…` ``, `$(…)` or
//! `${…}` the shell reads the text a second time (2.6.2, 2.6.3). [`Reader`] follows the quoting
//! of a command line character by character, as XCU 2.2 Quoting and 2.3 Token Recognition
//! (POSIX.1-2024) describe it, to tell which of these places a point of the line is in. Where
//! it cannot follow (a `case` inside `$(…)`, whose patterns end in an unbalanced `)`; a
//! here-document's body) it says so for the rest of the line, and nothing is unquoted there.

use std::fmt;

/// A place in a command line, as it matters to a word put there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellContext {
    /// At the command level, unquoted: a single-quoted word reads back as written.
    Unquoted,
    SingleQuotes,
    DoubleQuotes,
    /// `$'…'`, which reads backslash escapes.
    DollarQuotes,
    /// Right after an unquoted backslash.
    Backslash,
    /// Right after an unquoted `$`.
    Dollar,
    Backquotes,
    /// `$(…)`, or `$((…))` arithmetic.
    CommandSubstitution,
    /// `${…}`.
    ParameterExpansion,
    Comment,
    HereDocument,
    /// After a construct the reader does not follow (`case` inside `$(…)`).
    Unknown,
}

impl fmt::Display for ShellContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unquoted => "unquoted",
            Self::SingleQuotes => "inside single quotes",
            Self::DoubleQuotes => "inside double quotes",
            Self::DollarQuotes => "inside $'…' quotes",
            Self::Backslash => "right after a backslash",
            Self::Dollar => "right after `$`",
            Self::Backquotes => "inside a `…` command substitution",
            Self::CommandSubstitution => "inside a $(…) command substitution",
            Self::ParameterExpansion => "inside a ${…} parameter expansion",
            Self::Comment => "inside a comment",
            Self::HereDocument => "in a here-document",
            Self::Unknown => "after a `case` inside $(…), which f3s does not follow",
        })
    }
}

impl ShellContext {
    /// Whether the author's own quoting (quotes, a backslash, `$`) makes the place what it is:
    /// then taking that quoting away is the remedy.
    pub fn is_quoting(self) -> bool {
        matches!(
            self,
            Self::SingleQuotes
                | Self::DoubleQuotes
                | Self::DollarQuotes
                | Self::Backslash
                | Self::Dollar
        )
    }
}

/// What the reader is inside of, innermost last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Single,
    DollarSingle,
    Double,
    Backquote,
    /// `$(`: the `(` read inside it and not yet closed.
    Substitution {
        open: u32,
    },
    Brace,
    Comment,
}

/// Reads a command line piece by piece and tells where the next character lands.
#[derive(Debug, Clone)]
pub struct Reader {
    frames: Vec<Frame>,
    /// The last character was an active backslash: the next one is quoted by it.
    escaped: bool,
    /// The last character was an active `$`: `(`, `{` or `'` next starts an expansion.
    dollar: bool,
    /// The next character starts a word (a `#` there starts a comment).
    word_start: bool,
    /// The unquoted word being read, up to a few characters: enough to see `case`.
    word: String,
    /// `<<` was read on this line: its next line is a here-document's body.
    here_document: bool,
    previous: char,
    /// Set for good once the reader cannot follow the line.
    lost: Option<ShellContext>,
}

impl Default for Reader {
    fn default() -> Self {
        Self {
            frames: Vec::new(),
            escaped: false,
            dollar: false,
            word_start: true,
            word: String::new(),
            here_document: false,
            previous: '\n',
            lost: None,
        }
    }
}

impl Reader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Where a character read next lands.
    pub fn context(&self) -> ShellContext {
        if let Some(lost) = self.lost {
            return lost;
        }
        match self.frames.last() {
            Some(Frame::Single) => ShellContext::SingleQuotes,
            Some(Frame::DollarSingle) => ShellContext::DollarQuotes,
            Some(Frame::Double) => ShellContext::DoubleQuotes,
            Some(Frame::Backquote) => ShellContext::Backquotes,
            Some(Frame::Substitution { .. }) => ShellContext::CommandSubstitution,
            Some(Frame::Brace) => ShellContext::ParameterExpansion,
            Some(Frame::Comment) => ShellContext::Comment,
            None if self.escaped => ShellContext::Backslash,
            None if self.dollar => ShellContext::Dollar,
            None => ShellContext::Unquoted,
        }
    }

    /// A backslash or `$` waiting for the next character, wherever the reader is: what comes
    /// next is read with it.
    pub fn pending(&self) -> Option<ShellContext> {
        match (self.escaped, self.dollar) {
            (true, _) => Some(ShellContext::Backslash),
            (_, true) => Some(ShellContext::Dollar),
            _ => None,
        }
    }

    pub fn read(&mut self, text: &str) {
        for c in text.chars() {
            self.char(c);
        }
    }

    fn char(&mut self, c: char) {
        if self.lost.is_some() {
            return;
        }
        let top = self.frames.last().copied();
        let previous = std::mem::replace(&mut self.previous, c);
        match top {
            Some(Frame::Single) => {
                if c == '\'' {
                    self.frames.pop();
                }
            }
            Some(Frame::Comment) => {
                if c == '\n' {
                    self.frames.pop();
                    self.end_word(c);
                }
            }
            Some(Frame::DollarSingle | Frame::Backquote) if self.escaped => self.escaped = false,
            Some(Frame::DollarSingle) => match c {
                '\\' => self.escaped = true,
                '\'' => {
                    self.frames.pop();
                }
                _ => {}
            },
            // XCU 2.6.3: the end is the first backquote not quoted by a backslash; quotes
            // inside do not count (a backquote in them makes the result undefined).
            Some(Frame::Backquote) => match c {
                '\\' => self.escaped = true,
                '`' => {
                    self.frames.pop();
                }
                _ => {}
            },
            Some(Frame::Double) => self.in_double_quotes(c),
            None | Some(Frame::Substitution { .. } | Frame::Brace) => {
                self.unquoted(c, top, previous)
            }
        }
    }

    fn in_double_quotes(&mut self, c: char) {
        if self.escaped {
            self.escaped = false;
            return;
        }
        let dollar = std::mem::take(&mut self.dollar);
        match c {
            '(' if dollar => self.frames.push(Frame::Substitution { open: 0 }),
            '{' if dollar => self.frames.push(Frame::Brace),
            '\\' => self.escaped = true,
            '"' => {
                self.frames.pop();
            }
            '`' => self.frames.push(Frame::Backquote),
            '$' => self.dollar = true,
            _ => {}
        }
    }

    /// At the command level, in `$(…)` or in `${…}`, where every kind of quoting is active.
    fn unquoted(&mut self, c: char, top: Option<Frame>, previous: char) {
        if self.escaped {
            self.escaped = false;
            self.word_start = false;
            // A quoted character makes the word no reserved word (`\case` is not `case`).
            self.word.push('\\');
            return;
        }
        let dollar = std::mem::take(&mut self.dollar);
        let starts_word = std::mem::replace(&mut self.word_start, false);
        let opens = match c {
            '(' if dollar => Some(Frame::Substitution { open: 0 }),
            '{' if dollar => Some(Frame::Brace),
            '\'' if dollar => Some(Frame::DollarSingle),
            '\'' => Some(Frame::Single),
            '"' => Some(Frame::Double),
            '`' => Some(Frame::Backquote),
            '#' if starts_word && top != Some(Frame::Brace) => Some(Frame::Comment),
            _ => None,
        };
        if let Some(frame) = opens {
            self.frames.push(frame);
            return;
        }
        match c {
            '\\' => {
                self.escaped = true;
                return;
            }
            '$' => {
                self.dollar = true;
                return;
            }
            '}' if top == Some(Frame::Brace) => {
                self.frames.pop();
                return;
            }
            _ => {}
        }
        if let Some(Frame::Substitution { open }) = self.frames.last_mut() {
            match c {
                '(' => *open += 1,
                ')' if *open == 0 => {
                    self.end_word(c);
                    self.frames.pop();
                    return;
                }
                ')' => *open -= 1,
                _ => {}
            }
        }
        if c == '<' && previous == '<' {
            self.here_document = true;
        }
        if c == '\n' && std::mem::take(&mut self.here_document) {
            self.lost = Some(ShellContext::HereDocument);
            return;
        }
        if is_delimiter(c) {
            self.end_word(c);
        } else if self.word.len() < 8 {
            self.word.push(c);
        }
    }

    /// A blank, a newline or an operator character ends the word being read.
    fn end_word(&mut self, c: char) {
        let word = std::mem::take(&mut self.word);
        // A `case` pattern ends in `)` (`case $x in a) …`), which would close the `$(` for a
        // reader counting parentheses: past that, this reader no longer knows where it is.
        if word == "case"
            && self
                .frames
                .iter()
                .any(|frame| matches!(frame, Frame::Substitution { .. }))
        {
            self.lost = Some(ShellContext::Unknown);
        }
        self.word_start = is_delimiter(c);
    }
}

/// XCU 2.3: blanks and newlines end a word, and so do the operator characters.
fn is_delimiter(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ShellContext as C;

    fn at_end(text: &str) -> ShellContext {
        let mut reader = Reader::new();
        reader.read(text);
        reader.context()
    }

    #[test]
    fn quotes_backslashes_and_substitutions_are_followed() {
        for (text, context) in [
            ("grep -q ", C::Unquoted),
            ("grep -q \"", C::DoubleQuotes),
            ("grep -q '", C::SingleQuotes),
            ("grep -q 'a' \"b\" ", C::Unquoted),
            ("echo \\", C::Backslash),
            ("echo \\\\", C::Unquoted),
            ("echo \\' ", C::Unquoted),
            ("echo \"it's ", C::DoubleQuotes),
            ("echo 'say \"", C::SingleQuotes),
            ("echo \"a\\\" ", C::DoubleQuotes),
            ("echo $", C::Dollar),
            ("echo $$ ", C::Unquoted),
            ("echo $'", C::DollarQuotes),
            ("echo $'\\'", C::DollarQuotes),
            ("echo $'\\'' ", C::Unquoted),
            ("echo \"$'", C::DoubleQuotes),
            ("echo `", C::Backquotes),
            ("echo `a\\`", C::Backquotes),
            ("echo `a` ", C::Unquoted),
            ("echo $(", C::CommandSubstitution),
            ("echo $(a (b) ", C::CommandSubstitution),
            ("echo $(a \")\" ", C::CommandSubstitution),
            ("echo $(a) ", C::Unquoted),
            ("echo $((1 + (2)) ", C::CommandSubstitution),
            ("echo $((1 + 2)) ", C::Unquoted),
            ("echo \"$(echo \")\")", C::DoubleQuotes),
            ("echo \"$(echo \")\"", C::CommandSubstitution),
            ("echo \"$(", C::CommandSubstitution),
            ("echo ${", C::ParameterExpansion),
            ("echo ${x:-'}'", C::ParameterExpansion),
            ("echo ${x:-'}'} ", C::Unquoted),
            ("echo # ", C::Comment),
            ("echo a#b ", C::Unquoted),
            ("echo $(a # )\n", C::CommandSubstitution),
            ("echo $(case x in a) ", C::Unknown),
            ("echo $(case x in a) b;; esac) ", C::Unknown),
            ("(case x in a) b;; esac) ", C::Unquoted),
            ("cat <<EOF\n", C::HereDocument),
        ] {
            assert_eq!(at_end(text), context, "{text:?}");
        }
    }

    #[test]
    fn a_backslash_or_dollar_waiting_is_pending_anywhere() {
        let mut reader = Reader::new();
        reader.read("a \"b\\");
        assert_eq!(reader.context(), C::DoubleQuotes);
        assert_eq!(reader.pending(), Some(C::Backslash));
        reader.read("\" $");
        assert_eq!(reader.pending(), Some(C::Dollar));
        reader.read("x");
        assert_eq!(reader.pending(), None);
    }
}
