//! Mutations of a seed file: byte-level damage (flips, deletions, duplications, splices from
//! other seeds, truncation), hostile tokens put where they hurt most (anywhere, in place of a
//! YAML value, in place of a number), and edits of the YAML document itself (a value replaced,
//! extended, retyped, removed, repeated, renamed), written back as well-formed YAML so that the
//! hostile value reaches the stages after parsing. Positions are `Index`es, fractions of
//! whatever length the text or document has by then, so a mutation list applies to any seed
//! and shrinks well.

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

#[derive(Debug, Clone)]
pub enum Mutation {
    FlipBit {
        at: Index,
        bit: u8,
    },
    Delete {
        at: Index,
        len: usize,
    },
    /// Repeats the stretch at `at` so that it appears `times` more times.
    Duplicate {
        at: Index,
        len: usize,
        times: usize,
    },
    /// Removes whole lines (a key, a list item, a line of a block), which mostly leaves YAML
    /// well-formed and its meaning short of something.
    DeleteLines {
        at: Index,
        lines: usize,
    },
    /// Repeats whole lines: a key twice, a list item or a resource again.
    DuplicateLines {
        at: Index,
        lines: usize,
        times: usize,
    },
    /// Copies a stretch of another seed (the `donor`) in.
    Splice {
        at: Index,
        donor: Index,
        from: Index,
        len: usize,
    },
    Insert {
        at: Index,
        token: Index,
    },
    /// Replaces the rest of a line after `: `, `- `, `{{` or `=` (a YAML value, a list item, a
    /// template expression, an rc.conf value) with a token: wrong types, bombs, hostile text.
    /// Quoted, the token is a well-formed YAML string, so it reaches what reads the value.
    ReplaceValue {
        nth: Index,
        token: Index,
        quoting: Quoting,
    },
    /// Replaces a number (a port, a mode, a size, an index, a length) with a number out of
    /// some range.
    ReplaceNumber {
        nth: Index,
        number: Index,
    },
    Truncate {
        at: Index,
    },
    /// Edits one node of the file read as a YAML document (a file that is not one is left as
    /// it is), then writes the document back.
    Document {
        node: Index,
        edit: Edit,
    },
}

/// An edit of one node of a YAML document.
#[derive(Debug, Clone)]
pub enum Edit {
    /// The node becomes a token (a string).
    Token(Index),
    /// A string node gets a token appended: mostly still what was meant, plus the hostile part.
    Append(Index),
    /// The node becomes a value of another type.
    Retype(Odd),
    /// The node leaves its mapping or sequence.
    Remove,
    /// The node appears twice in its sequence, or again under a new key in its mapping.
    Repeat,
    /// The node's key in its mapping becomes a token.
    Rename(Index),
    /// The node goes one level down, into a sequence or mapping of its own.
    Wrap,
}

/// Values of the types a field does not expect.
#[derive(Debug, Clone)]
pub enum Odd {
    Integer(i64),
    Huge,
    Float(f64),
    Bool(bool),
    Null,
    EmptySequence,
    EmptyMapping,
}

/// How a token replacing a value is written.
#[derive(Debug, Clone, Copy)]
pub enum Quoting {
    Raw,
    /// A YAML double-quoted scalar: any text, escaped.
    Double,
    /// A YAML single-quoted scalar (a newline in it folds, as YAML says).
    Single,
}

/// One to three mutations, mostly of the kinds that keep a file well-formed enough for its
/// value to reach the stages after parsing.
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let at = any::<Index>;
    let quoting = prop_oneof![
        1 => Just(Quoting::Raw),
        3 => Just(Quoting::Double),
        1 => Just(Quoting::Single),
    ];
    let mutation = prop_oneof![
        1 => (at(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        1 => (at(), 1usize..64).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => (at(), 1usize..256, 1usize..8)
            .prop_map(|(at, len, times)| Mutation::Duplicate { at, len, times }),
        2 => (at(), 1usize..4).prop_map(|(at, lines)| Mutation::DeleteLines { at, lines }),
        2 => (at(), 1usize..6, 1usize..4)
            .prop_map(|(at, lines, times)| Mutation::DuplicateLines { at, lines, times }),
        1 => (at(), at(), at(), 1usize..512)
            .prop_map(|(at, donor, from, len)| Mutation::Splice { at, donor, from, len }),
        2 => (at(), at()).prop_map(|(at, token)| Mutation::Insert { at, token }),
        8 => (at(), at(), quoting)
            .prop_map(|(nth, token, quoting)| Mutation::ReplaceValue { nth, token, quoting }),
        5 => (at(), at()).prop_map(|(nth, number)| Mutation::ReplaceNumber { nth, number }),
        1 => at().prop_map(|at| Mutation::Truncate { at }),
        16 => (at(), edit()).prop_map(|(node, edit)| Mutation::Document { node, edit }),
    ];
    // Each mutation may break the file; one alone lets more cases reach the later stages.
    prop_oneof![
        3 => prop::collection::vec(mutation.clone(), 1..=1),
        1 => prop::collection::vec(mutation, 2..=3),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    let odd = prop_oneof![
        any::<i64>().prop_map(Odd::Integer),
        Just(Odd::Huge),
        any::<f64>().prop_map(Odd::Float),
        any::<bool>().prop_map(Odd::Bool),
        Just(Odd::Null),
        Just(Odd::EmptySequence),
        Just(Odd::EmptyMapping),
    ];
    prop_oneof![
        3 => any::<Index>().prop_map(Edit::Token),
        3 => any::<Index>().prop_map(Edit::Append),
        2 => odd.prop_map(Edit::Retype),
        1 => Just(Edit::Remove),
        1 => Just(Edit::Repeat),
        1 => any::<Index>().prop_map(Edit::Rename),
        1 => Just(Edit::Wrap),
    ]
}

/// `seed` after `mutations`; `donors` are the texts a splice may copy from.
pub fn apply(seed: &[u8], mutations: &[Mutation], donors: &[&[u8]]) -> Vec<u8> {
    let mut text = seed.to_vec();
    for mutation in mutations {
        apply_one(&mut text, mutation, donors);
    }
    text
}

fn apply_one(text: &mut Vec<u8>, mutation: &Mutation, donors: &[&[u8]]) {
    let tokens = hostile_tokens();
    // A position in the text (`inside`) or between its bytes, either end included (`between`).
    let inside = |at: &Index, text: &[u8]| (!text.is_empty()).then(|| at.index(text.len()));
    let between = |at: &Index, text: &[u8]| at.index(text.len() + 1);
    match mutation {
        Mutation::FlipBit { at, bit } => {
            if let Some(i) = inside(at, text) {
                text[i] ^= 1 << bit;
            }
        }
        Mutation::Delete { at, len } => {
            if let Some(i) = inside(at, text) {
                let end = (i + len).min(text.len());
                text.drain(i..end);
            }
        }
        Mutation::Duplicate { at, len, times } => {
            if let Some(i) = inside(at, text) {
                let stretch = text[i..(i + len).min(text.len())].to_vec();
                let copies = stretch.repeat(*times);
                text.splice(i..i, copies);
            }
        }
        Mutation::DeleteLines { at, lines } => {
            if let Some(i) = inside(at, text) {
                let (start, end) = line_span(text, i, *lines);
                text.drain(start..end);
            }
        }
        Mutation::DuplicateLines { at, lines, times } => {
            if let Some(i) = inside(at, text) {
                let (start, end) = line_span(text, i, *lines);
                let copies = text[start..end].repeat(*times);
                text.splice(end..end, copies);
            }
        }
        Mutation::Splice {
            at,
            donor,
            from,
            len,
        } => {
            if donors.is_empty() {
                return;
            }
            let donor = donors[donor.index(donors.len())];
            if let Some(start) = inside(from, donor) {
                let stretch = &donor[start..(start + len).min(donor.len())];
                let i = between(at, text);
                text.splice(i..i, stretch.iter().copied());
            }
        }
        Mutation::Insert { at, token } => {
            let i = between(at, text);
            let token = tokens[token.index(tokens.len())].as_bytes();
            text.splice(i..i, token.iter().copied());
        }
        Mutation::ReplaceValue {
            nth,
            token,
            quoting,
        } => {
            let starts = value_starts(text);
            if let Some(&start) = starts.get(nth.index(starts.len().max(1))) {
                let end = line_end(text, start);
                let token = quoted(&tokens[token.index(tokens.len())], *quoting);
                text.splice(start..end, token.bytes());
            }
        }
        Mutation::ReplaceNumber { nth, number } => {
            let runs = numbers(text);
            if let Some(&(start, end)) = runs.get(nth.index(runs.len().max(1))) {
                let number = NUMBERS[number.index(NUMBERS.len())].as_bytes();
                text.splice(start..end, number.iter().copied());
            }
        }
        Mutation::Truncate { at } => {
            let i = between(at, text);
            text.truncate(i);
        }
        Mutation::Document { node, edit } => {
            let Ok(source) = std::str::from_utf8(text) else {
                return;
            };
            let Ok(mut document) = serde_saphyr::from_str::<Value>(source) else {
                return;
            };
            // A value edit goes to a scalar (a field's value, not the structure around it).
            let paths: Vec<Vec<Step>> = node_paths(&document)
                .into_iter()
                .filter(|(_, scalar)| *scalar || !edit.is_of_value())
                .map(|(path, _)| path)
                .collect();
            let Some(path) = paths.get(node.index(paths.len().max(1))) else {
                return;
            };
            edit_node(&mut document, path, edit, tokens);
            if let Ok(written) = serde_saphyr::to_string(&document) {
                *text = written.into_bytes();
            }
        }
    }
}

/// One step from a node to a child: a key of a mapping or a position in a sequence.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Item(usize),
}

impl Edit {
    /// Whether the edit changes a value in place (rather than moving nodes about).
    fn is_of_value(&self) -> bool {
        matches!(self, Edit::Token(_) | Edit::Append(_) | Edit::Retype(_))
    }
}

/// The path of every node, with whether it is a scalar; the document itself first, parents
/// before children.
fn node_paths(document: &Value) -> Vec<(Vec<Step>, bool)> {
    fn walk(value: &Value, path: &mut Vec<Step>, paths: &mut Vec<(Vec<Step>, bool)>) {
        paths.push((path.clone(), !value.is_object() && !value.is_array()));
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    path.push(Step::Key(key.clone()));
                    walk(child, path, paths);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    path.push(Step::Item(i));
                    walk(child, path, paths);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut paths = Vec::new();
    walk(document, &mut Vec::new(), &mut paths);
    paths
}

fn edit_node(document: &mut Value, path: &[Step], edit: &Edit, tokens: &[String]) {
    let token = |index: &Index| tokens[index.index(tokens.len())].clone();
    let Some((last, parent_path)) = path.split_last() else {
        // The document itself: only what replaces it whole applies.
        match edit {
            Edit::Token(index) => *document = Value::String(token(index)),
            Edit::Retype(odd) => *document = odd_value(odd),
            Edit::Wrap => *document = Value::Array(vec![document.take()]),
            _ => {}
        }
        return;
    };
    let Some(parent) = parent_path.iter().try_fold(document, child) else {
        return;
    };
    match (parent, last, edit) {
        (Value::Object(map), Step::Key(key), Edit::Remove) => {
            map.remove(key);
        }
        (Value::Array(items), Step::Item(i), Edit::Remove) => {
            items.remove(*i);
        }
        (Value::Object(map), Step::Key(key), Edit::Repeat) => {
            let copy = map[key].clone();
            map.insert(format!("{key}2"), copy);
        }
        (Value::Array(items), Step::Item(i), Edit::Repeat) => {
            let copy = items[*i].clone();
            items.insert(*i, copy);
        }
        (Value::Object(map), Step::Key(key), Edit::Rename(index)) => {
            if let Some(value) = map.remove(key) {
                map.insert(token(index), value);
            }
        }
        (parent, last, edit) => {
            let Some(node) = child(parent, last) else {
                return;
            };
            match edit {
                Edit::Token(index) => *node = Value::String(token(index)),
                Edit::Append(index) => match node {
                    Value::String(text) => text.push_str(&token(index)),
                    other => *other = Value::String(format!("{other}{}", token(index))),
                },
                Edit::Retype(odd) => *node = odd_value(odd),
                Edit::Wrap => {
                    let inner = node.take();
                    *node = match last {
                        Step::Key(key) => {
                            Value::Object([(key.clone(), inner)].into_iter().collect())
                        }
                        Step::Item(_) => Value::Array(vec![inner]),
                    };
                }
                Edit::Remove | Edit::Repeat | Edit::Rename(_) => {}
            }
        }
    }
}

fn child<'a>(value: &'a mut Value, step: &Step) -> Option<&'a mut Value> {
    match (value, step) {
        (Value::Object(map), Step::Key(key)) => map.get_mut(key),
        (Value::Array(items), Step::Item(i)) => items.get_mut(*i),
        _ => None,
    }
}

fn odd_value(odd: &Odd) -> Value {
    match odd {
        Odd::Integer(n) => Value::from(*n),
        Odd::Huge => Value::from(u64::MAX),
        Odd::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        Odd::Bool(b) => Value::Bool(*b),
        Odd::Null => Value::Null,
        Odd::EmptySequence => Value::Array(Vec::new()),
        Odd::EmptyMapping => Value::Object(serde_json::Map::new()),
    }
}

/// Where values start: after `: `, `- `, `{{` and `=`.
fn value_starts(text: &[u8]) -> Vec<usize> {
    let markers: [&[u8]; 4] = [b": ", b"- ", b"{{", b"="];
    (0..text.len())
        .filter_map(|i| {
            markers
                .iter()
                .find(|marker| text[i..].starts_with(marker))
                .map(|marker| i + marker.len())
        })
        .collect()
}

/// `token` written as `quoting` says.
fn quoted(token: &str, quoting: Quoting) -> String {
    match quoting {
        Quoting::Raw => token.to_string(),
        Quoting::Single => format!("'{}'", token.replace('\'', "''")),
        Quoting::Double => {
            let mut text = String::from("\"");
            for c in token.chars() {
                match c {
                    '"' | '\\' => {
                        text.push('\\');
                        text.push(c);
                    }
                    c if c.is_control() || c == '\u{feff}' => {
                        text.push_str(&format!("\\u{:04x}", u32::from(c)));
                    }
                    c => text.push(c),
                }
            }
            text.push('"');
            text
        }
    }
}

/// The byte range of `lines` whole lines starting with the one holding byte `at`.
fn line_span(text: &[u8], at: usize, lines: usize) -> (usize, usize) {
    let start = text[..at]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |n| n + 1);
    let mut end = start;
    for _ in 0..lines {
        end = (line_end(text, end) + 1).min(text.len());
    }
    (start, end)
}

fn line_end(text: &[u8], from: usize) -> usize {
    text[from..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(text.len(), |n| from + n)
}

/// Every number standing as a word of its own (not digits inside a name or a hex digest), as
/// `(start, end)`.
fn numbers(text: &[u8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    let word = |byte: Option<&u8>| byte.is_some_and(|b| b.is_ascii_alphanumeric());
    for (i, byte) in text.iter().chain(std::iter::once(&b' ')).enumerate() {
        match (byte.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (true, Some(_)) => {}
            (false, Some(s)) => {
                let alone = !word(s.checked_sub(1).and_then(|b| text.get(b))) && !word(Some(byte));
                if alone {
                    runs.push((s, i));
                }
                start = None;
            }
            (false, None) => {}
        }
    }
    runs
}

/// Numbers at and past the edges of every integer type f3s might read one into, and numbers
/// in forms a parser may not expect.
const NUMBERS: [&str; 22] = [
    "0",
    "-1",
    "-0",
    "00",
    "0755",
    "1",
    "65535",
    "65536",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551614",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "1e400",
    "1.5",
    ".nan",
    "0x7fffffff",
    "0o777",
];

/// Text that has broken parsers, templating, quoting or budgets somewhere: template syntax,
/// path tricks, multi-byte and control characters, digests with junk, numbers out of every
/// range, YAML's less common syntax and wrong types, shell metacharacters, and sizes and
/// nestings far beyond any real file's (a "billion laughs" alias bomb among them).
pub fn hostile_tokens() -> &'static [String] {
    static TOKENS: OnceLock<Vec<String>> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let mut tokens: Vec<String> = [
            // templates
            "{{",
            "}}",
            "{{{",
            "}}}",
            "{{#each",
            "{{/each}}",
            "{{#each this}}{{@key}}{{/each}}",
            "{{>",
            "{{> partial}}",
            "{{!",
            "{{!-- x --}}",
            "{{else}}",
            "{{#if}}",
            "{{/if}}",
            "{{lookup this \"x\"}}",
            "{{@root}}",
            "{{../x}}",
            "{{this}}",
            "{{~",
            "\\{{x}}",
            // paths
            "../",
            "../../../../../../etc/passwd",
            "/",
            "//",
            "/./",
            "/..",
            "~",
            ".",
            "",
            // characters
            "é",
            "😀",
            "\u{0}",
            "\r",
            "\r\n",
            "\n",
            "\t",
            "\u{feff}",
            "\u{202e}",
            "\u{fffd}",
            "\u{7f}",
            "\u{1}",
            "\u{1b}[31m",
            " ",
            // digests
            "sha256:",
            "sha256:é😀",
            "sha256:zz",
            "sha256:éééééééééé",
            "(sensitive)",
            // numbers
            "0",
            "-1",
            "-0",
            "00",
            "0755",
            "99999999999999999999999999",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775809",
            "4294967296",
            "65536",
            "1e400",
            "1.5",
            ".nan",
            ".inf",
            "-.inf",
            "0x7fffffff",
            "0o777",
            // YAML
            "~",
            "null",
            "true",
            "no",
            "[]",
            "{}",
            "[1, [2, [3]]]",
            "{ secret: carp_password }",
            "{ secret: nope }",
            "{ secret: [x] }",
            "!!binary aGVsbG8=",
            "!!str",
            "!!int x",
            "!!map",
            "!custom x",
            "&a",
            "*a",
            "*undefined",
            "&a x\nb: *a",
            "<<: *a",
            "? ",
            "- ",
            ": ",
            "|",
            ">-",
            "|+\n",
            "---",
            "...",
            "---\nfoo: bar\n",
            "%YAML 1.1\n---\n",
            "#",
            "'",
            "\"",
            "'\\''",
            "\"\\u0000\"",
            "\"\\ud800\"",
            // shell and rc.conf
            "$(reboot)",
            "`id`",
            "${HOME}",
            "$$",
            ";",
            "&&",
            "|",
            "\\",
            "%s%n",
            "*",
            "-rf",
            "--help",
        ]
        .map(String::from)
        .to_vec();
        tokens.extend(NUMBERS.map(String::from));
        tokens.extend([
            format!("sha256:{}", "0".repeat(64)),
            format!("sha256:{}é", "a".repeat(63)),
            format!("sha256:{}", "😀".repeat(16)),
            "A".repeat(65_536),
            "x\n".repeat(20_000),
            "é".repeat(20_000),
            "[".repeat(5_000) + &"]".repeat(5_000),
            "{a: ".repeat(1_000) + &"}".repeat(1_000),
            "- ".repeat(500) + "x",
            "{{#if x}}".repeat(2_000),
            "{{#each this}}".repeat(500) + &"{{/each}}".repeat(500),
            "../".repeat(1_000),
            billion_laughs(),
        ]);
        tokens
    })
}

/// The classic alias bomb in flow style, so it is one valid YAML value on one line: ten
/// levels of ten references each, 10^10 leaves if anything expanded it.
pub fn billion_laughs() -> String {
    let names: Vec<char> = ('a'..='j').collect();
    let mut levels = vec![format!("&a [{}]", ["lol"; 10].join(","))];
    for pair in names.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 10].join(",");
        levels.push(format!("&{} [{refs}]", pair[1]));
    }
    format!("[{}]", levels.join(", "))
}
