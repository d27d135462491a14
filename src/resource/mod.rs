//! Resources: the kinds, one file each, and a resource as the compiler makes it (its address,
//! its kind's spec, its links). The interface every kind implements is `kind.rs`; this file
//! is the folder's top, the only one that knows every kind.

pub mod address;
mod block;
mod carp;
mod cron;
mod directory;
mod edit;
pub mod file;
mod kind;
mod kmod;
mod line;
mod mount;
pub mod ownership;
mod package;
mod secret;
pub mod service;
pub mod sysrc;
mod systemd;
mod ufs;
mod x509;
mod zfs;
mod zpool;

use std::sync::Arc;

use crate::inventory::host::OsFamily;
use crate::managed::{Entry, Rule};
use crate::module::attrs::Attrs;
use crate::names::NameKind;
use crate::source::Origin;
use crate::values::ValueKind;
pub use address::Address;
pub use kind::{AttributeChange, Claim, ContentChange, Decision, Implied, Kind, View};

/// The kinds, each defined in its own file; boxed, so a resource holds a pointer rather than
/// room for the largest kind (a host of 4,000 resources holds 4,000 of them).
#[derive(Debug, Clone)]
pub enum Spec {
    File(Box<file::File>),
    Directory(Box<directory::Directory>),
    Line(Box<line::Line>),
    Block(Box<block::Block>),
    Sysrc(Box<sysrc::Sysrc>),
    Package(Box<package::Package>),
    Service(Box<service::Service>),
    Secret(Box<secret::Secret>),
    Ufs(Box<ufs::Ufs>),
    Zpool(Box<zpool::Zpool>),
    Zfs(Box<zfs::Zfs>),
    Mount(Box<mount::Mount>),
    Kmod(Box<kmod::Kmod>),
    Cron(Box<cron::Cron>),
    Systemd(Box<systemd::Systemd>),
    X509(Box<x509::X509>),
    Carp(Box<carp::Carp>),
}

/// Kind names as written in module.yml, with the attributes each accepts.
pub const KINDS: &[(&str, &[&str])] = &[
    ("file", file::ATTRIBUTES),
    ("directory", directory::ATTRIBUTES),
    ("line", line::ATTRIBUTES),
    ("block", block::ATTRIBUTES),
    ("sysrc", sysrc::ATTRIBUTES),
    ("package", package::ATTRIBUTES),
    ("service", service::ATTRIBUTES),
    ("secret", secret::ATTRIBUTES),
    ("ufs", ufs::ATTRIBUTES),
    ("zpool", zpool::ATTRIBUTES),
    ("zfs", zfs::ATTRIBUTES),
    ("mount", mount::ATTRIBUTES),
    ("kmod", kmod::ATTRIBUTES),
    ("cron", cron::ATTRIBUTES),
    ("systemd", systemd::ATTRIBUTES),
    ("x509", x509::ATTRIBUTES),
    ("carp", carp::ATTRIBUTES),
];

/// Attributes every kind accepts.
pub const COMMON_ATTRIBUTES: &[&str] = &["requires", "notify", "for_each"];

impl Spec {
    /// Reads a resource of `kind` (one of `KINDS`) from its attributes; `None` after faults,
    /// which are in `attrs.errors`.
    pub fn parse(kind: &str, attrs: &mut Attrs, host: &str) -> Option<(String, Self)> {
        match kind {
            "file" => {
                file::File::parse(attrs).map(|(name, spec)| (name, Self::File(Box::new(spec))))
            }
            "directory" => directory::Directory::parse(attrs)
                .map(|(name, spec)| (name, Self::Directory(Box::new(spec)))),
            "line" => {
                line::Line::parse(attrs).map(|(name, spec)| (name, Self::Line(Box::new(spec))))
            }
            "block" => {
                block::Block::parse(attrs).map(|(name, spec)| (name, Self::Block(Box::new(spec))))
            }
            "sysrc" => {
                sysrc::Sysrc::parse(attrs).map(|(name, spec)| (name, Self::Sysrc(Box::new(spec))))
            }
            "package" => package::Package::parse(attrs)
                .map(|(name, spec)| (name, Self::Package(Box::new(spec)))),
            "service" => service::Service::parse(attrs)
                .map(|(name, spec)| (name, Self::Service(Box::new(spec)))),
            "secret" => secret::Secret::parse(attrs, host)
                .map(|(name, spec)| (name, Self::Secret(Box::new(spec)))),
            "ufs" => ufs::Ufs::parse(attrs).map(|(name, spec)| (name, Self::Ufs(Box::new(spec)))),
            "zpool" => {
                zpool::Zpool::parse(attrs).map(|(name, spec)| (name, Self::Zpool(Box::new(spec))))
            }
            "zfs" => zfs::Zfs::parse(attrs).map(|(name, spec)| (name, Self::Zfs(Box::new(spec)))),
            "mount" => {
                mount::Mount::parse(attrs).map(|(name, spec)| (name, Self::Mount(Box::new(spec))))
            }
            "kmod" => {
                kmod::Kmod::parse(attrs).map(|(name, spec)| (name, Self::Kmod(Box::new(spec))))
            }
            "cron" => {
                cron::Cron::parse(attrs).map(|(name, spec)| (name, Self::Cron(Box::new(spec))))
            }
            "systemd" => systemd::Systemd::parse(attrs)
                .map(|(name, spec)| (name, Self::Systemd(Box::new(spec)))),
            "x509" => {
                x509::X509::parse(attrs).map(|(name, spec)| (name, Self::X509(Box::new(spec))))
            }
            "carp" => carp::Carp::parse(attrs, host)
                .map(|(name, spec)| (name, Self::Carp(Box::new(spec)))),
            _ => None,
        }
    }

    pub fn kind(&self) -> &dyn Kind {
        match self {
            Self::File(spec) => spec.as_ref(),
            Self::Directory(spec) => spec.as_ref(),
            Self::Line(spec) => spec.as_ref(),
            Self::Block(spec) => spec.as_ref(),
            Self::Sysrc(spec) => spec.as_ref(),
            Self::Package(spec) => spec.as_ref(),
            Self::Service(spec) => spec.as_ref(),
            Self::Secret(spec) => spec.as_ref(),
            Self::Ufs(spec) => spec.as_ref(),
            Self::Zpool(spec) => spec.as_ref(),
            Self::Zfs(spec) => spec.as_ref(),
            Self::Mount(spec) => spec.as_ref(),
            Self::Kmod(spec) => spec.as_ref(),
            Self::Cron(spec) => spec.as_ref(),
            Self::Systemd(spec) => spec.as_ref(),
            Self::X509(spec) => spec.as_ref(),
            Self::Carp(spec) => spec.as_ref(),
        }
    }

    /// What the host's record keeps of this resource (`managed.rs`), to remove it once it
    /// leaves the inventory; `None` for one that is to be absent already.
    pub fn recorded(&self, kind: &str, name: &str) -> Option<Entry> {
        let mut entry = Entry::new(kind, name);
        let present = match self {
            Self::File(spec) => spec.present,
            Self::Directory(spec) => spec.present,
            Self::Line(spec) => {
                entry.path = Some(spec.path.clone());
                entry.text = Some(spec.text.clone());
                spec.present
            }
            Self::Block(spec) => {
                entry.path = Some(spec.path.clone());
                entry.comment = Some(spec.comment.clone());
                spec.present
            }
            Self::Sysrc(spec) => spec.value.is_some(),
            Self::Cron(spec) => {
                entry.user = Some(spec.user.clone());
                spec.present
            }
            Self::Package(spec) => spec.present,
            Self::Service(spec) => spec.present,
            Self::Mount(spec) => spec.present,
            Self::Systemd(spec) => spec.service.present,
            _ => true,
        };
        present.then_some(entry)
    }

    /// The resource removing what `entry` recorded; `Ok(None)` for the kinds f3s never
    /// removes (a dataset, a pool, a filesystem, a key, a certificate, a CARP address, a
    /// kernel module): pruning forgets them and leaves them on the host. Every recorded
    /// value is held to the rule it had in the inventory.
    pub fn removing(entry: &Entry) -> Result<Option<Spec>, String> {
        let name = |rule| entry.checked_name(rule);
        let path = || entry.needed(&entry.path, "path", Rule::Name(NameKind::Path));
        Ok(Some(match entry.kind.as_str() {
            "file" => Self::File(Box::new(file::File::absent(name(Rule::Name(
                NameKind::Path,
            ))?))),
            "directory" => Self::Directory(Box::new(directory::Directory::absent(name(
                Rule::Name(NameKind::Path),
            )?))),
            "line" => Self::Line(Box::new(line::Line {
                path: path()?,
                text: entry.needed(&entry.text, "text", Rule::Value(ValueKind::LineText))?,
                pattern: None,
                present: false,
                validate: None,
            })),
            "block" => Self::Block(Box::new(block::Block {
                name: name(Rule::Value(ValueKind::Label))?,
                path: path()?,
                content: String::new(),
                comment: entry.needed(
                    &entry.comment,
                    "comment",
                    Rule::Value(ValueKind::CommentMarker),
                )?,
                validate: None,
                present: false,
            })),
            "sysrc" => Self::Sysrc(Box::new(sysrc::Sysrc {
                name: name(Rule::Name(NameKind::RcVar))?,
                value: None,
            })),
            "cron" => Self::Cron(Box::new(cron::Cron {
                name: name(Rule::Value(ValueKind::Label))?,
                user: entry.needed(&entry.user, "user", Rule::Name(NameKind::User))?,
                entry: String::new(),
                present: false,
            })),
            "package" => Self::Package(Box::new(package::Package {
                name: name(Rule::Name(NameKind::Package))?,
                present: false,
            })),
            "service" => Self::Service(Box::new(service::Service::absent(name(Rule::Name(
                NameKind::Service,
            ))?))),
            "mount" => Self::Mount(Box::new(mount::Mount::absent(name(Rule::Name(
                NameKind::Path,
            ))?))),
            "systemd" => Self::Systemd(Box::new(systemd::Systemd::absent(name(Rule::Name(
                NameKind::Service,
            ))?))),
            "secret" | "x509" | "zfs" | "zpool" | "ufs" | "carp" | "kmod" => return Ok(None),
            other => return Err(format!("{}: f3s has no kind `{other}`", entry.local())),
        }))
    }

    /// Kinds that only exist on some OS families.
    pub fn supported_on(&self, os: OsFamily) -> bool {
        match self {
            Self::Sysrc(_) | Self::Ufs(_) | Self::Kmod(_) | Self::Carp(_) => {
                os == OsFamily::Freebsd
            }
            Self::Systemd(_) => os == OsFamily::Rocky,
            _ => true,
        }
    }
}

/// A resource on one host, compiled from a module for that host.
#[derive(Debug, Clone)]
pub struct Resource {
    pub address: Address,
    pub spec: Spec,
    /// The module's name, shared by all its resources.
    pub module: Arc<str>,
    /// Where it is declared (its kind key in module.yml).
    pub origin: Origin,
    /// What few resources have, behind one pointer: a run holds every resource to its end.
    links: Option<Box<Links>>,
}

#[derive(Debug, Clone, Default)]
struct Links {
    requires: Box<[Reference]>,
    notify: Box<[Reference]>,
    /// A secret this resource's values need that has no value in this run: it is compiled
    /// (for `check` and `graph`) but never planned.
    needs_secret: Option<Box<str>>,
}

impl Resource {
    pub fn new(
        address: Address,
        spec: Spec,
        module: Arc<str>,
        origin: Origin,
        requires: Vec<Reference>,
        notify: Vec<Reference>,
        needs_secret: Option<String>,
    ) -> Self {
        let links =
            (!requires.is_empty() || !notify.is_empty() || needs_secret.is_some()).then(|| {
                Box::new(Links {
                    requires: requires.into_boxed_slice(),
                    notify: notify.into_boxed_slice(),
                    needs_secret: needs_secret.map(String::into_boxed_str),
                })
            });
        Self {
            address,
            spec,
            module,
            origin,
            links,
        }
    }

    pub fn requires(&self) -> &[Reference] {
        self.links.as_ref().map_or(&[], |links| &links.requires)
    }

    pub fn notify(&self) -> &[Reference] {
        self.links.as_ref().map_or(&[], |links| &links.notify)
    }

    pub fn needs_secret(&self) -> Option<&str> {
        self.links.as_ref()?.needs_secret.as_deref()
    }
}

/// A `requires` or `notify` entry, resolved to an address, with its place.
#[derive(Debug, Clone)]
pub struct Reference {
    pub address: Address,
    pub origin: Origin,
}
