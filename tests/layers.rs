//! The layer rule, read from the code: every file of `src/` imports only from its own layer or
//! below (the layers are the table in docs/ARCHITECTURE.md), and no files import each other in
//! a circle. Imports are read as the compiler resolves them: `use` trees, `crate::`/`super::`
//! paths in code, and a parent's paths into its own child modules. Test modules count too: a
//! drawing of the code makes no exception for them, and neither does this.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One file's reference to another: the path as written, resolved to the file it lands in.
#[derive(Debug, Clone)]
struct Import {
    from: String,
    to: String,
    name: String,
    line: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Punct(char),
    PathSep,
}

/// Rust source as tokens with their lines, with comments, strings and character literals left
/// out (their text is not code, and `"file://"` must not read as a path).
fn tokens(source: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let (mut at, mut line) = (0, 1);
    let count_lines = |from: usize, to: usize, line: &mut usize| {
        *line += chars[from..to].iter().filter(|c| **c == '\n').count();
    };
    while at < chars.len() {
        let c = chars[at];
        let next = chars.get(at + 1).copied();
        if c == '\n' {
            line += 1;
            at += 1;
        } else if c.is_whitespace() {
            at += 1;
        } else if c == '/' && next == Some('/') {
            while at < chars.len() && chars[at] != '\n' {
                at += 1;
            }
        } else if c == '/' && next == Some('*') {
            let start = at;
            let mut depth = 0;
            while at < chars.len() {
                if chars[at] == '/' && chars.get(at + 1) == Some(&'*') {
                    depth += 1;
                    at += 2;
                } else if chars[at] == '*' && chars.get(at + 1) == Some(&'/') {
                    depth -= 1;
                    at += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    at += 1;
                }
            }
            count_lines(start, at, &mut line);
        } else if c == '"' || ((c == 'r' || c == 'b') && raw_string_start(&chars, at).is_some()) {
            let start = at;
            at = string_end(&chars, at);
            count_lines(start, at, &mut line);
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{1F}') or a lifetime ('a), which has no end.
            if next == Some('\\') {
                at += 2;
                while at < chars.len() && chars[at] != '\'' {
                    at += 1;
                }
                at += 1;
            } else if chars.get(at + 2) == Some(&'\'') {
                at += 3;
            } else {
                at += 1;
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = at;
            while at < chars.len() && (chars[at].is_alphanumeric() || chars[at] == '_') {
                at += 1;
            }
            out.push((Token::Ident(chars[start..at].iter().collect()), line));
        } else if c == ':' && next == Some(':') {
            out.push((Token::PathSep, line));
            at += 2;
        } else {
            out.push((Token::Punct(c), line));
            at += 1;
        }
    }
    out
}

/// Where a raw or byte string starting at `at` opens (`r"`, `r#"`, `b"`, `br#"`), if one does.
fn raw_string_start(chars: &[char], at: usize) -> Option<usize> {
    if at > 0 && (chars[at - 1].is_alphanumeric() || chars[at - 1] == '_') {
        return None;
    }
    let mut i = at;
    if chars[i] == 'b' {
        i += 1;
    }
    if chars.get(i) == Some(&'r') {
        i += 1;
        while chars.get(i) == Some(&'#') {
            i += 1;
        }
    }
    (i > at && chars.get(i) == Some(&'"')).then_some(i)
}

/// The index just past the string literal that starts at `at`.
fn string_end(chars: &[char], at: usize) -> usize {
    let quote = if chars[at] == '"' {
        at
    } else {
        raw_string_start(chars, at).expect("a string starts here")
    };
    let hashes = chars[at..quote].iter().filter(|c| **c == '#').count();
    let raw = chars[at..quote].contains(&'r');
    let mut i = quote + 1;
    while i < chars.len() {
        if !raw && chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] == '"'
            && chars[i + 1..]
                .iter()
                .take(hashes)
                .filter(|c| **c == '#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

/// The paths a `use` tree names, each in full (`a::{b, c::d}` is `a::b` and `a::c::d`).
fn use_paths(
    tokens: &[(Token, usize)],
    at: &mut usize,
    prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) {
    let mut path = prefix;
    while *at < tokens.len() {
        match &tokens[*at].0 {
            Token::Ident(name) if name == "as" => {
                *at += 2;
                break;
            }
            Token::Ident(name) => {
                path.push(name.clone());
                *at += 1;
            }
            Token::PathSep => *at += 1,
            Token::Punct('*') => {
                *at += 1;
                break;
            }
            Token::Punct('{') => {
                *at += 1;
                loop {
                    use_paths(tokens, at, path.clone(), out);
                    match tokens.get(*at).map(|(token, _)| token) {
                        Some(Token::Punct(',')) => *at += 1,
                        Some(Token::Punct('}')) => {
                            *at += 1;
                            return;
                        }
                        _ => return,
                    }
                    if let Some(Token::Punct('}')) = tokens.get(*at).map(|(token, _)| token) {
                        *at += 1;
                        return;
                    }
                }
            }
            _ => break,
        }
    }
    if path.last().is_some_and(|last| last == "self") {
        path.pop();
    }
    out.push(path);
}

/// A file's module path: `src/transport/shell/mod.rs` is `transport::shell`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    match last.as_str() {
        "mod.rs" | "lib.rs" | "main.rs" => {}
        name => parts.push(name.trim_end_matches(".rs").to_string()),
    }
    parts
}

struct Crate {
    /// Module path → file (relative to the repository, `src/…`).
    files: BTreeMap<Vec<String>, String>,
}

impl Crate {
    fn read(root: &Path) -> Crate {
        let mut files = BTreeMap::new();
        let mut pending = vec![root.join("src")];
        while let Some(dir) = pending.pop() {
            for entry in fs::read_dir(&dir).expect("read src/") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|ext| ext == "rs") {
                    let relative = path.strip_prefix(root.join("src")).unwrap();
                    if relative == Path::new("main.rs") {
                        continue; // the binary: a crate of its own above everything
                    }
                    let shown = path
                        .strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    files.insert(module_path(relative), shown);
                }
            }
        }
        Crate { files }
    }

    /// The file a module path lands in: the longest prefix that is a file's module.
    fn resolve(&self, path: &[String]) -> Option<(&String, String)> {
        (1..=path.len()).rev().find_map(|length| {
            let file = self.files.get(&path[..length])?;
            let rest = path[length..]
                .first()
                .cloned()
                .unwrap_or_else(|| path.last().cloned().unwrap_or_default());
            Some((file, rest))
        })
    }

    fn is_module(&self, path: &[String]) -> bool {
        self.files.contains_key(path)
    }

    /// Every import of every file, as the compiler would resolve it.
    fn imports(&self, root: &Path) -> Vec<Import> {
        let mut imports = Vec::new();
        for (module, file) in &self.files {
            let source = fs::read_to_string(root.join(file)).expect("read a source file");
            imports.extend(self.imports_of(file, module, &source));
        }
        imports
    }

    fn imports_of(&self, file: &str, module: &[String], source: &str) -> Vec<Import> {
        let tokens = tokens(source);
        // The module each brace sits in: a file's inline modules (`mod tests { … }`) nest
        // their `super::` one level deeper.
        let mut scopes: Vec<Option<String>> = Vec::new();
        let here = |scopes: &[Option<String>]| -> Vec<String> {
            let mut path = module.to_vec();
            path.extend(scopes.iter().flatten().cloned());
            path
        };
        let mut paths: Vec<(Vec<String>, usize)> = Vec::new();
        let mut at = 0;
        while at < tokens.len() {
            let (token, line) = &tokens[at];
            match token {
                Token::Punct('{') => {
                    let inline_module = match (
                        at.checked_sub(2).map(|i| &tokens[i].0),
                        at.checked_sub(1).map(|i| &tokens[i].0),
                    ) {
                        (Some(Token::Ident(keyword)), Some(Token::Ident(name)))
                            if keyword == "mod" =>
                        {
                            Some(name.clone())
                        }
                        _ => None,
                    };
                    scopes.push(inline_module);
                    at += 1;
                }
                Token::Punct('}') => {
                    scopes.pop();
                    at += 1;
                }
                Token::Ident(keyword) if keyword == "use" => {
                    at += 1;
                    let mut found = Vec::new();
                    use_paths(&tokens, &mut at, Vec::new(), &mut found);
                    let base = here(&scopes);
                    for path in found {
                        if let Some(absolute) = self.absolute(&base, &path) {
                            paths.push((absolute, *line));
                        }
                    }
                }
                Token::Ident(first) if matches!(tokens.get(at + 1), Some((Token::PathSep, _))) => {
                    let preceded_by_path = at > 0 && matches!(tokens[at - 1].0, Token::PathSep);
                    let mut path = vec![first.clone()];
                    let mut end = at + 1;
                    while let (Some((Token::PathSep, _)), Some((Token::Ident(next), _))) =
                        (tokens.get(end), tokens.get(end + 1))
                    {
                        path.push(next.clone());
                        end += 2;
                    }
                    if !preceded_by_path
                        && let Some(absolute) = self.absolute(&here(&scopes), &path)
                    {
                        paths.push((absolute, *line));
                    }
                    at = end.max(at + 1);
                }
                _ => at += 1,
            }
        }
        paths
            .into_iter()
            .filter_map(|(path, line)| {
                let (to, name) = self.resolve(&path)?;
                (to != file).then(|| Import {
                    from: file.to_string(),
                    to: to.clone(),
                    name,
                    line,
                })
            })
            .collect()
    }

    /// A path as written, made absolute from the module it is written in; `None` for a path
    /// into another crate. `use` paths may start at a child module by name (2018 edition); so
    /// may paths in code.
    fn absolute(&self, base: &[String], path: &[String]) -> Option<Vec<String>> {
        let first = path.first()?;
        let mut absolute: Vec<String> = match first.as_str() {
            "crate" => Vec::new(),
            "self" => base.to_vec(),
            "super" => {
                let mut parent = base.to_vec();
                let mut rest = path;
                while rest.first().is_some_and(|segment| segment == "super") {
                    parent.pop();
                    rest = &rest[1..];
                }
                parent.extend(rest.iter().cloned());
                return Some(parent);
            }
            child => {
                let mut candidate = base.to_vec();
                candidate.push(child.to_string());
                if !self.is_module(&candidate) {
                    return None;
                }
                base.to_vec()
            }
        };
        let skip = usize::from(matches!(first.as_str(), "crate" | "self"));
        absolute.extend(path[skip..].iter().cloned());
        Some(absolute)
    }
}

/// The layers, bottom up, as docs/ARCHITECTURE.md's table lists them: each a rank and the
/// files or folders (ending in `/`) it holds.
fn layers(root: &Path) -> Vec<(usize, String, Vec<String>)> {
    let doc =
        fs::read_to_string(root.join("docs/ARCHITECTURE.md")).expect("read docs/ARCHITECTURE.md");
    doc.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (rank, name) = cells.get(1)?.split_once(' ')?;
            let rank: usize = rank.trim_end_matches('.').parse().ok()?;
            let places = cells
                .get(2)?
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect();
            Some((rank, name.to_string(), places))
        })
        .collect()
}

/// The layer a file stands on: the longest listed place that holds it.
fn layer_of<'a>(
    layers: &'a [(usize, String, Vec<String>)],
    file: &str,
) -> Option<&'a (usize, String, Vec<String>)> {
    layers
        .iter()
        .flat_map(|layer| layer.2.iter().map(move |place| (layer, place)))
        .filter(|(_, place)| {
            if place.ends_with('/') {
                file.starts_with(place.as_str())
            } else {
                file == place.as_str()
            }
        })
        .max_by_key(|(_, place)| place.len())
        .map(|(layer, _)| layer)
}

/// Sets of files that import each other round a circle (Tarjan's strongly connected
/// components with more than one member).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, node: &'a str) {
            let number = self.index.len();
            self.index.insert(node, number);
            self.low.insert(node, number);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.edges.get(node).into_iter().flatten() {
                if !self.index.contains_key(next.as_str()) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next.as_str()]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next.as_str()) {
                    let low = self.low[node].min(self.index[next.as_str()]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut members = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    members.push(member.to_string());
                    if member == node {
                        break;
                    }
                }
                if members.len() > 1 {
                    members.sort();
                    self.found.push(members);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in edges.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.found
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_file_stands_on_a_listed_layer() {
    let root = root();
    let layers = layers(&root);
    assert!(
        layers.len() >= 5,
        "docs/ARCHITECTURE.md lists {} layers",
        layers.len()
    );
    let krate = Crate::read(&root);
    let homeless: Vec<&String> = krate
        .files
        .values()
        .filter(|file| file.as_str() != "src/lib.rs" && layer_of(&layers, file).is_none())
        .collect();
    assert!(
        homeless.is_empty(),
        "files on no layer of docs/ARCHITECTURE.md: {homeless:?}"
    );
}

#[test]
fn every_import_runs_down_or_across() {
    let root = root();
    let layers = layers(&root);
    let upward: Vec<String> = Crate::read(&root)
        .imports(&root)
        .iter()
        .filter(|import| import.from != "src/lib.rs")
        .filter_map(|import| {
            let from = layer_of(&layers, &import.from)?;
            let to = layer_of(&layers, &import.to)?;
            (to.0 > from.0).then(|| {
                format!(
                    "{}:{} ({}) imports `{}` from {} ({})",
                    import.from, import.line, from.1, import.name, import.to, to.1
                )
            })
        })
        .collect();
    assert!(
        upward.is_empty(),
        "imports that run up a layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let root = root();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let imports = Crate::read(&root).imports(&root);
    for import in imports.iter().filter(|import| import.from != "src/lib.rs") {
        edges
            .entry(import.from.clone())
            .or_default()
            .insert(import.to.clone());
    }
    let found = circles(&edges);
    let described: Vec<String> = found
        .iter()
        .map(|members| {
            let links: Vec<String> = imports
                .iter()
                .filter(|import| members.contains(&import.from) && members.contains(&import.to))
                .map(|import| {
                    format!(
                        "  {}:{} takes `{}` from {}",
                        import.from, import.line, import.name, import.to
                    )
                })
                .collect();
            format!("{}\n{}", members.join(" ↔ "), links.join("\n"))
        })
        .collect();
    assert!(
        found.is_empty(),
        "import circles:\n{}",
        described.join("\n")
    );
}

/// The reader itself, on code whose imports are known: it must see each kind of path, and
/// nothing in comments or strings.
#[test]
fn the_reader_sees_every_kind_of_import() {
    let files = [
        (vec!["a".to_string()], "src/a/mod.rs".to_string()),
        (
            vec!["a".to_string(), "child".to_string()],
            "src/a/child.rs".to_string(),
        ),
        (vec!["b".to_string()], "src/b.rs".to_string()),
        (vec!["c".to_string()], "src/c.rs".to_string()),
        (vec!["d".to_string()], "src/d.rs".to_string()),
    ];
    let krate = Crate {
        files: files.into_iter().collect(),
    };
    let parent = "use crate::{b::{self, Thing}, c::Other as O};\n\
                  // crate::d::not_code\n\
                  const S: &str = \"crate::d::not_code\";\n\
                  fn f() { child::call(); let c = 'x'; }";
    let found: BTreeSet<(String, String)> = krate
        .imports_of("src/a/mod.rs", &["a".to_string()], parent)
        .into_iter()
        .map(|import| (import.to, import.name))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("src/b.rs", "b"),
        ("src/b.rs", "Thing"),
        ("src/c.rs", "Other"),
        ("src/a/child.rs", "call"),
    ]
    .into_iter()
    .map(|(to, name)| (to.to_string(), name.to_string()))
    .collect();
    assert_eq!(found, expected);

    let child = "use super::super::d;\nmod tests { use super::super::b::Thing; }";
    let found: Vec<String> = krate
        .imports_of(
            "src/a/child.rs",
            &["a".to_string(), "child".to_string()],
            child,
        )
        .into_iter()
        .map(|import| import.to)
        .collect();
    assert_eq!(
        found,
        ["src/d.rs", "src/a/mod.rs"],
        "super:: from an inline module climbs one more"
    );
}
