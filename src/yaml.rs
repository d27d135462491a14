//! Reading YAML with positions: parse errors become diagnostics at their line, and maps keep
//! the place of every key and value so later checks can point at them.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::{Deserialize, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

use crate::compile_error::CompileError;
use crate::compile_error_kind::CompileErrorKind;
use crate::source::{Origin, SourceFile};

/// Reads a file for later diagnostics; an unreadable file is itself a diagnostic.
pub fn read_source(path: &std::path::Path) -> Result<Arc<SourceFile>, CompileError> {
    std::fs::read_to_string(path)
        .map(|text| SourceFile::new(path.display().to_string(), text))
        .map_err(|error| {
            CompileError::unplaced(CompileErrorKind::Unreadable {
                path: path.display().to_string(),
                message: error.to_string(),
            })
        })
}

/// Parses a whole file; a syntax or type error points at its place.
pub fn parse<T: DeserializeOwned>(file: &Arc<SourceFile>) -> Result<T, CompileError> {
    serde_saphyr::from_str::<T>(&file.text).map_err(|error| {
        let origin = error
            .location()
            .map_or_else(|| Origin::whole(file), |at| Origin::at(file, &at));
        let span = origin.span();
        let at = file
            .text
            .get(span.offset()..span.offset() + span.len())
            .filter(|text| !text.is_empty() && text.len() <= 80 && !text.contains('\n'));
        let kind = in_words(&first_line(&error.to_string()), at);
        CompileError::new(kind, &origin, "here")
    })
}

/// serde's message as a fault of the file: an unknown key (with the keys the place takes)
/// and a value of the wrong kind in words; anything else is the YAML's own.
fn in_words(message: &str, at: Option<&str>) -> CompileErrorKind {
    let message = message.strip_prefix("error: ").unwrap_or(message);
    let message = match message.split_once(": ") {
        Some((place, rest)) if place.starts_with("line ") => rest,
        _ => message,
    };
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((name, rest)) = rest.split_once('`')
    {
        let known = rest
            .split_once("expected one of ")
            .or_else(|| rest.split_once("expected "))
            .map(|(_, list)| {
                list.split(", ")
                    .map(|key| key.trim().trim_matches('`').to_string())
                    .filter(|key| !key.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        return CompileErrorKind::UnknownKey {
            name: name.to_string(),
            known,
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant `")
        && let Some((found, rest)) = rest.split_once('`')
    {
        let choices: Vec<String> = rest
            .split_once("expected one of ")
            .or_else(|| rest.split_once("expected "))
            .map(|(_, list)| {
                list.split(", ")
                    .map(|choice| format!("`{}`", choice.trim().trim_matches('`')))
                    .collect()
            })
            .unwrap_or_default();
        return CompileErrorKind::WrongValue {
            expected: format!("one of {}", choices.join(", ")),
            found: format!("`{found}`"),
        };
    }
    let number = |bits: &str, signed: bool| match (bits, signed) {
        ("8", false) => "a whole number from 0 to 255",
        ("16", false) => "a whole number from 0 to 65535 (a port: 1 to 65535)",
        ("32", false) => "a whole number from 0 to 4294967295",
        (_, false) => "a whole number, 0 or more",
        (_, true) => "a whole number",
    };
    if let Some(kind) = message.strip_prefix("invalid ")
        && let Some(bits) = kind.strip_prefix('u').or_else(|| kind.strip_prefix('i'))
        && bits.chars().all(|c| c.is_ascii_digit())
        && !bits.is_empty()
    {
        return CompileErrorKind::WrongValue {
            expected: number(bits, kind.starts_with('i')).into(),
            found: at.map_or_else(|| "something else".into(), |text| format!("`{text}`")),
        };
    }
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        let expected = match expected.trim() {
            "u8" | "u16" | "u32" | "u64" | "usize" => {
                number(expected.trim().trim_start_matches('u'), false).to_string()
            }
            "a boolean" | "bool" => "true or false".to_string(),
            other => other.to_string(),
        };
        return CompileErrorKind::WrongValue {
            expected,
            found: found.to_string(),
        };
    }
    CompileErrorKind::Yaml {
        message: message.to_string(),
    }
}

/// serde-saphyr's message carries its own snippet after the first line; miette draws ours.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message);
    match line.find(" at line ") {
        Some(index) => line[..index].to_string(),
        None => line.to_string(),
    }
}

pub fn origin_of<T>(file: &Arc<SourceFile>, spanned: &Spanned<T>) -> Origin {
    Origin::at(file, &spanned.referenced)
}

/// A YAML mapping in file order, with the position of every key.
#[derive(Debug, Clone)]
pub struct SpannedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for SpannedMap<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<V> SpannedMap<V> {
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, value)| value)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Spanned<String>, &V)> {
        self.0.iter().map(|(key, value)| (key, value))
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for SpannedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = SpannedMap<V>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<Spanned<String>, V>()? {
                    entries.push(entry);
                }
                Ok(SpannedMap(entries))
            }

            // `key:` with nothing after it is an empty mapping, not an error.
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(SpannedMap(Vec::new()))
            }
        }

        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}
