//! Words for a POSIX shell: every value f3s puts in a script goes through here, quoted.

/// Quotes a word for a POSIX shell (and for csh, which reads `'\''` the same way).
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// `items` quoted, as the words of a command line.
pub fn words<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|item| quote(item.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `printf` builtin call writing exactly `bytes` (any bytes, NUL included) to stdout: the
/// format is single-quoted, with `%`, `\`, `'` and everything outside printable ASCII (or,
/// with `all_octal`, every byte) as octal escapes, which POSIX printf decodes.
pub fn print_bytes(bytes: &[u8], all_octal: bool) -> String {
    let mut format = String::with_capacity(bytes.len() + bytes.len() / 16 + 16);
    format.push_str("printf '");
    // Each escape written in place: a line break in every line of thousands of files.
    let octal = |format: &mut String, byte: u8| {
        format.push('\\');
        for shift in [6, 3, 0] {
            format.push(char::from(b'0' + ((byte >> shift) & 7)));
        }
    };
    for &byte in bytes {
        match byte {
            _ if all_octal => octal(&mut format, byte),
            b'%' => format.push_str("%%"),
            b'\\' => format.push_str("\\\\"),
            b'\'' => format.push_str("\\047"),
            b' '..=b'~' => format.push(char::from(byte)),
            other => octal(&mut format, other),
        }
    }
    format.push('\'');
    format
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes_and_metacharacters() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's; rm -rf /"), "'it'\\''s; rm -rf /'");
    }
}
