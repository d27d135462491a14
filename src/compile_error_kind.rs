//! Everything that can be wrong with an inventory, a module or a recorded host state, as
//! distinct kinds with their message and the help that goes with it.

use thiserror::Error;

use crate::names::NameKind;
use crate::shell_context::ShellContext;
use crate::values::ValueKind;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum CompileErrorKind {
    #[error("cannot read {path}: {message}")]
    Unreadable { path: String, message: String },
    #[error("invalid YAML: {message}")]
    Yaml { message: String },
    /// A key the file's place does not take (the YAML itself is fine).
    #[error("unknown key `{name}`")]
    UnknownKey { name: String, known: Vec<String> },
    /// A value of the wrong kind where the file's place wants another.
    #[error("{expected} expected here, found {found}")]
    WrongValue { expected: String, found: String },
    #[error("unknown host `{name}`")]
    UnknownHost { name: String, known: Vec<String> },
    #[error("unknown module `{name}`")]
    UnknownModule { name: String, searched: Vec<String> },
    #[error("module `{module}` has no parameter `{name}`")]
    UnknownParameter {
        module: String,
        name: String,
        known: Vec<String>,
    },
    #[error("module `{module}` needs parameter `{name}`, and no value was given")]
    MissingParameter { module: String, name: String },
    #[error("`{kind}` resources have no attribute `{name}`")]
    UnknownAttribute {
        kind: String,
        name: String,
        known: Vec<String>,
    },
    #[error("`{kind}` resource needs attribute `{name}`")]
    MissingAttribute { kind: String, name: String },
    #[error("`{kind}` resource takes only one of {}", names.join(", "))]
    ConflictingAttributes { kind: String, names: Vec<String> },
    #[error("resource names no kind it is")]
    NoResourceKind { known: Vec<String> },
    #[error("resource names two kinds: `{first}` and `{second}`")]
    TwoResourceKinds {
        first: String,
        second: String,
        known: Vec<String>,
    },
    #[error("expected {expected}, found {found}")]
    WrongType { expected: String, found: String },
    #[error("invalid {what} `{}`: {reason}", printable(value))]
    InvalidName {
        what: NameKind,
        value: String,
        reason: String,
    },
    /// Never holds the value itself: it may be a secret.
    #[error("rc.conf variable `{name}` cannot be set to this value: {reason}")]
    UnwritableRcValue { name: String, reason: String },
    /// The value itself is in the label (or `(sensitive)` there), not in the message.
    #[error("invalid {what}: {reason}")]
    InvalidValue { what: ValueKind, reason: String },
    #[error("the block's content holds one of its own marker lines")]
    MarkerInContent,
    #[error("template `{template}` uses `{variable}`, which has no value here")]
    MissingTemplateVariable { template: String, variable: String },
    #[error("template `{template}` does not render: {message}")]
    Template { template: String, message: String },
    #[error("template `{template}` is too large to parse: {reason}")]
    TemplateTooLarge { template: String, reason: String },
    /// `what` is the `{{…}}` tag as written, or "a value" where only the rendered command
    /// shows the fault.
    #[error(
        "{what} lands {place} in a shell command, where f3s's quoting of the value does not hold"
    )]
    MisplacedCommandValue { what: String, place: ShellContext },
    #[error("`{tag}` puts text into a shell command as written, unquoted")]
    UnquotedCommandText { tag: String },
    #[error("`{reference}` names no resource")]
    UnknownResource { reference: String },
    #[error("`{address}` is declared twice")]
    DuplicateResource { address: String, first: String },
    #[error("dependency cycle: {}", members.join(" -> "))]
    Cycle { members: Vec<String> },
    #[error("unknown secret `{name}`")]
    UnknownSecret { name: String, known: Vec<String> },
    #[error(
        "`{attribute}` of `{kind}` is rendered from a secret, and it is shown in plans and logs"
    )]
    SecretInAttribute { kind: String, attribute: String },
    #[error("secret `{name}` has no value: {reason}")]
    SecretUnavailable { name: String, reason: String },
    #[error("`{name}` is read from {path}, whose permissions {mode:04o} are too open")]
    OpenSecretFile {
        name: String,
        path: String,
        mode: u32,
    },
    /// `from` is a file's path or `$VARIABLE`.
    #[error("`{name}` is read from {from}, which holds bytes that are not UTF-8 text")]
    SecretNotText { name: String, from: String },
    #[error("the digest key is read from {path}, which is {what}")]
    DigestKeyFileInUse { path: String, what: String },
    /// Never holds either value.
    #[error("the digest key {how} the value of secret `{secret}`")]
    DigestKeyHoldsSecret { secret: String, how: &'static str },
    #[error("`{path}` has its whole content managed by `{owner}`, and `{other}` edits it too")]
    ContentConflict {
        path: String,
        owner: String,
        other: String,
    },
    #[error("no recorded state for host `{host}`: {path} is missing")]
    MissingHostState { host: String, path: String },
    #[error("recorded state of `{host}` is for {recorded}, but the inventory says {declared}")]
    OsMismatch {
        host: String,
        recorded: String,
        declared: String,
    },
    #[error("`{host}` is in the rollout of group `{group}`, but not a host of that group")]
    RolloutStranger { host: String, group: String },
    #[error("`{host}` is rolled out twice: in {first}, and again here")]
    RolloutTwice { host: String, first: String },
    #[error("`{host}` of group `{group}` is in no batch of the group's rollout")]
    RolloutMissing { host: String, group: String },
}

impl CompileErrorKind {
    /// What the admin can do about it.
    pub fn help(&self) -> Option<String> {
        use CompileErrorKind as K;
        let text = match self {
            K::Unreadable { .. } => "check the path and its permissions".into(),
            K::Yaml { .. } => "fix the YAML syntax at the marked place".into(),
            K::UnknownKey { name, known } => match nearest(name, known) {
                Some(near) => format!("did you mean `{near}`? keys here: {}", list(known)),
                None => format!("keys here: {}", list(known)),
            },
            K::WrongValue { .. } => "write the value as the place wants it".into(),
            K::UnknownHost { known, .. } => format!("hosts in this inventory: {}", list(known)),
            K::UnknownModule { searched, .. } => format!(
                "a module is a directory with a module.yml; looked in {}",
                list(searched)
            ),
            K::UnknownParameter { known, .. } => format!("its parameters: {}", list(known)),
            K::MissingParameter { name, .. } => format!(
                "set `{name}` in the module's `params`, or as a var of the host, its group or `defaults`"
            ),
            K::UnknownAttribute { name, known, .. } => match nearest(name, known) {
                Some(near) => format!("did you mean `{near}`? its attributes: {}", list(known)),
                None => format!("its attributes: {}", list(known)),
            },
            K::MissingAttribute { name, .. } => format!("add `{name}: ...` to the resource"),
            K::ConflictingAttributes { .. } => "keep one of them".into(),
            K::NoResourceKind { known } | K::TwoResourceKinds { known, .. } => {
                format!(
                    "a resource starts with its kind as key, one of: {}",
                    list(known)
                )
            }
            K::WrongType { .. } => "change the value to the expected type".into(),
            K::InvalidName { what, .. } => what.rule().into(),
            K::UnwritableRcValue { .. } => {
                "an rc.conf value is one line without control characters (tab aside); f3s escapes the rest".into()
            }
            K::InvalidValue { what, .. } => what.rule().into(),
            K::MarkerInContent => {
                "a block lies between `COMMENT BEGIN f3s NAME` and `COMMENT END f3s NAME` lines: rename the block or change its `comment`".into()
            }
            K::MissingTemplateVariable { .. } => {
                "declare it as a module parameter or a host var, or use `{{#if}}` around it".into()
            }
            K::Template { .. } => "see the handlebars syntax at the marked place".into(),
            K::TemplateTooLarge { .. } => {
                "handlebars' parser takes time growing with the square of a template's length: split it into smaller templates".into()
            }
            K::MisplacedCommandValue { place, .. } if place.is_quoting() => {
                "f3s quotes each value it puts in a command itself (`{{dir}}` of `/a b` reads `'/a b'`), and inside the command's own quoting those quotes are read differently: take the quotes (or the `\\` or `$`) around it away, as in `grep -q {{pattern}} {new}`".into()
            }
            K::MisplacedCommandValue { .. } => {
                "there the shell reads the text again, or not at all: put the value where the command takes its words, unquoted (`{{pattern}}`), and f3s quotes it".into()
            }
            K::UnquotedCommandText { .. } => {
                "write `{{name}}`: f3s quotes the value for the shell; `{{{…}}}`, `{{&…}}` and raw blocks put text in as written".into()
            }
            K::UnknownResource { .. } => {
                "refer to a resource as `kind:name` on the same host, or `host/kind:name`".into()
            }
            K::DuplicateResource { first, .. } => format!("first declared at {first}"),
            K::Cycle { .. } => "remove one of the `requires` or `notify` edges in the cycle".into(),
            K::UnknownSecret { known, .. } => format!("declared secrets: {}", list(known)),
            K::SecretInAttribute { .. } => {
                "a secret may go only where f3s never shows it: a file's, block's or unit's content, an rc.conf value, a line's text, a cron command".into()
            }
            K::SecretUnavailable { .. } => {
                "provide it through the environment variable or file its declaration names".into()
            }
            K::OpenSecretFile { path, .. } => format!(
                "a file of secrets must be readable by its owner only, as ssh wants of a private key: `chmod 600 {path}`, or pass --allow-open-secret-files to read it anyway"
            ),
            K::SecretNotText { .. } => {
                "a secret is text: give a binary one as hex or base64 (`base64 < FILE`)".into()
            }
            K::DigestKeyFileInUse { .. } | K::DigestKeyHoldsSecret { .. } => {
                "the digest key must be a key of its own, in a file of its own: make one with `(umask 077; openssl rand -hex 32 > secrets/digest_key)`".into()
            }
            K::ContentConflict { .. } => {
                "manage the whole file in one place, or use only `line`/`block` edits on it".into()
            }
            K::MissingHostState { host, .. } => {
                format!("record it with `f3s facts {host} --save DIR`, or write it by hand")
            }
            K::OsMismatch { .. } => "fix `os:` of the host in the inventory, or re-record".into(),
            K::RolloutStranger { group, .. } => {
                format!("a rollout orders the hosts of its group: add the host to `{group}`'s `hosts`, or take it out of the batch")
            }
            K::RolloutTwice { .. } => {
                "a host goes in one batch of one rollout: keep it in one place".into()
            }
            K::RolloutMissing { .. } => {
                "put the host in one of the batches: every host of the group is applied in one".into()
            }
        };
        Some(text)
    }
}

/// A rejected name as the terminal may print it: control characters (a newline, an escape
/// sequence) are what made it invalid, and are shown escaped rather than acted on.
fn printable(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

/// The known name nearest to a misspelled one, if one is near enough to be meant: at most a
/// third of its letters (and at least one) inserted, dropped, changed or swapped.
pub fn nearest<'k>(name: &str, known: &'k [String]) -> Option<&'k str> {
    let allowed = (name.chars().count() / 3).max(1);
    known
        .iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.as_str())
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// neighbours each cost one.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod nearest_tests {
    use super::nearest;

    #[test]
    fn a_typo_finds_what_was_meant_and_nothing_far_is_offered() {
        let known: Vec<String> = ["os", "address", "connection", "vars", "modules"]
            .iter()
            .map(|k| k.to_string())
            .collect();
        assert_eq!(nearest("adress", &known), Some("address"));
        assert_eq!(nearest("modlues", &known), Some("modules"));
        assert_eq!(nearest("conection", &known), Some("connection"));
        assert_eq!(nearest("banana", &known), None);
    }
}
