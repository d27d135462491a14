//! The probe kinds a tool answers many at a time: packages, pools, datasets, mounts, kernel
//! modules and CARP addresses. Each kind is one section of the observe script, asking its
//! tool once for all probes of the kind (once per interface for CARP), and one section of the
//! answer: a header line, the tool's own lines as it printed them, an `end` line. What the
//! lines mean is read here (or by the OS family's dialect, for a tool of its own), so the
//! tool's output needs no reshaping on the host, which would cost processes.
//!
//!     K                       packages: what `Dialect::package_query` prints, then
//!     K end STDERR… STATUS    its stderr (as one line) and exit status
//!     Z                       pools: `zpool list -H -o name,health NAME…`
//!     Z end
//!     V                       OpenZFS's release, where datasets are asked: `zfs version`
//!     V end                   (read once per host, before the datasets)
//!     Y                       datasets: `zfs list -H -o name NAME…` (the existing ones),
//!     Y get                   `zfs get -H -p -o name,property,value PROPERTY,… NAME…` over
//!     Y end                   those, the properties any dataset probe asks for
//!     M                       mounts: `Dialect::mount_listing`, every mount
//!     M end
//!     L                       kernel modules: `Dialect::module_listing`
//!     L end
//!     A if INTERFACE          CARP: `Dialect::interface_status` of one interface
//!     A end
//!
//! No line a tool prints can pass for an `end` line: package lines start with `+ `, zfs and
//! zpool lines hold tabs, `zfs version` prints `zfs-…` lines, mount lines three fields or more, kldstat's and ifconfig's lines
//! never read `L end` or `A end`. A line that cannot be read is an error, never skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::BufRead;

use super::dialect::Dialect;
use super::reader::{ObservationError, Reader};
use crate::host_state::{CarpState, DatasetState, HostState, MountState};
use crate::probe::Probe;
use crate::sensitive::Observed;
use crate::shell_words::{quote, words};
use crate::zfs_property::{self, OpenZfs, Platform};

/// The sections of the observe script for `probes`' kinds that are asked many at a time.
pub(super) fn sections(d: &dyn Dialect, probes: &[Probe]) -> String {
    let mut packages = Vec::new();
    let mut pools = Vec::new();
    let mut datasets = Vec::new();
    let mut properties = BTreeSet::new();
    let mut mounts = false;
    let mut modules = Vec::new();
    let mut interfaces: Vec<&str> = Vec::new();
    for probe in probes {
        match probe {
            Probe::Package { name } => packages.push(name.as_str()),
            Probe::Pool { name } => pools.push(name.as_str()),
            Probe::Dataset {
                name,
                properties: asked,
            } => {
                datasets.push(name.as_str());
                properties.extend(asked.iter().map(String::as_str));
            }
            Probe::Mount { .. } => mounts = true,
            Probe::KernelModule { name } => modules.push(name.as_str()),
            Probe::Carp { interface, .. } if !interfaces.contains(&interface.as_str()) => {
                interfaces.push(interface);
            }
            _ => {}
        }
    }
    let mut script = String::new();
    if !packages.is_empty() {
        // The query's stdout goes to the answer as it comes (fd 3); its stderr and exit
        // status come back through the pipe, joined into one line by tr.
        script.push_str(&format!(
            "printf 'K\\n'\n{{ f3s_k=$( {{ {} 2>&1 >&3 3>&-; echo \"$?\"; }} | tr '\\n' ' '); }} 3>&1\nprintf 'K end %s\\n' \"$f3s_k\"\n",
            d.package_query(&packages)
        ));
    }
    if !pools.is_empty() {
        // zpool_main.c, zpool_do_list through pool_list_get (zpool_iter.c): each name is
        // opened in turn, one that is no pool says so on stderr and makes the exit status 1,
        // and the others are listed all the same, sorted by name.
        script.push_str(&format!(
            "printf 'Z\\n'\nzpool list -H -o name,health {} 2>/dev/null\nprintf 'Z end\\n'\n",
            words(&pools)
        ));
    }
    if !datasets.is_empty() {
        // zfs_main.c, zfs_do_list and zfs_do_get through zfs_for_each (zfs_iter.c): each
        // name is opened in turn, one that is no dataset says so on stderr and makes the
        // exit status 1, and the others are listed all the same, once each, sorted by name;
        // get prints a NAME PROPERTY VALUE line per property of each (`-` for a user property
        // not set). get asks only for the datasets list found (their names are the asked
        // ones, which hold no blank or glob character: names.rs), so every line it prints is
        // of an existing dataset, as when each was asked on its own. Its output is a line per
        // dataset and property of all asked: linear as long as the datasets share their
        // properties, as resources of one module do.
        // Only what this host's zfs registers is asked: one name it does not know makes
        // `zfs get` refuse the whole list ("bad property list", zfs_main.c zfs_do_get through
        // zprop_get_list) and answer nothing. A platform's names are known here; a release's
        // are chosen on the host, by what `zfs version` printed (an unknown release asks them:
        // zfs says), and the zfs kind refuses what was left out (zfs_property::supported).
        let platform = match d.kernel() {
            "FreeBSD" => Platform::FreeBsd,
            _ => Platform::Linux,
        };
        let (mut later, always): (Vec<&str>, Vec<&str>) = properties
            .into_iter()
            .filter(|name| zfs_property::registered_on(name, platform))
            .partition(|name| zfs_property::since(name).is_some());
        later.sort_by_key(|name| zfs_property::since(name));
        let asks = !(always.is_empty() && later.is_empty());
        let mut list = format!("f3s_p={}\n", quote(&always.join(",")));
        for name in later {
            let from = zfs_property::since(name).expect("a later property");
            let _ = writeln!(
                list,
                "case $f3s_zv in {}) ;; *) f3s_p=${{f3s_p:+$f3s_p,}}{} ;; esac",
                older_than(from),
                quote(name)
            );
        }
        let get = match asks {
            false => String::new(),
            true => format!(
                "{list}if [ -n \"$f3s_d\" ] && [ -n \"$f3s_p\" ]; then set -f; zfs get -H -p -o name,property,value \"$f3s_p\" $f3s_d 2>/dev/null; set +f; fi\n"
            ),
        };
        // The release first: its lines, as zfs prints them.
        script.push_str(
            "printf 'V\\n'\nf3s_zv=$(zfs version 2>/dev/null)\n[ -z \"$f3s_zv\" ] || printf '%s\\n' \"$f3s_zv\"\nprintf 'V end\\n'\n",
        );
        script.push_str(&format!(
            "printf 'Y\\n'\nf3s_d=$(zfs list -H -o name {} 2>/dev/null)\n[ -z \"$f3s_d\" ] || printf '%s\\n' \"$f3s_d\"\nprintf 'Y get\\n'\n{get}printf 'Y end\\n'\n",
            words(&datasets),
        ));
    }
    if mounts {
        script.push_str(&format!(
            "printf 'M\\n'\n{} 2>/dev/null\nprintf 'M end\\n'\n",
            d.mount_listing()
        ));
    }
    if !modules.is_empty() {
        script.push_str(&format!(
            "printf 'L\\n'\n{{\n{}\n}} 2>/dev/null\nprintf 'L end\\n'\n",
            d.module_listing(&modules)
        ));
    }
    for interface in interfaces {
        match d.interface_status(interface) {
            Some(status) => script.push_str(&format!(
                "printf 'A if %s\\n' {}\n{status} 2>/dev/null\nprintf 'A end\\n'\n",
                quote(interface)
            )),
            None => {
                let unsupported: String = probes
                    .iter()
                    .enumerate()
                    .filter(
                        |(_, p)| matches!(p, Probe::Carp { interface: i, .. } if i == interface),
                    )
                    .map(|(i, _)| format!("A {i} unsupported\n"))
                    .collect();
                script.push_str(&format!("printf '%s' {}\n", quote(&unsupported)));
            }
        }
    }
    script
}

/// Which probes have been answered: each exactly once.
pub(super) struct Answered(Vec<bool>);

impl Answered {
    pub(super) fn new(probes: &[Probe]) -> Self {
        Self(vec![false; probes.len()])
    }

    pub(super) fn mark(&mut self, index: usize, probe: &Probe) -> Result<(), String> {
        match self.0.get_mut(index) {
            Some(seen) if !*seen => {
                *seen = true;
                Ok(())
            }
            _ => Err(format!("a second answer about {}", subject(probe))),
        }
    }

    /// Marks every probe of `asked` (as `asked` picks them) answered.
    fn mark_each<T>(&mut self, asked: &[(usize, T)], probes: &[Probe]) -> Result<(), String> {
        asked
            .iter()
            .try_for_each(|(i, _)| self.mark(*i, &probes[*i]))
    }

    /// Fails naming the first probe (a path aside: those are answered by their absence from
    /// the stat lines) nothing answered.
    pub(super) fn all(&self, probes: &[Probe]) -> Result<(), String> {
        match probes
            .iter()
            .zip(&self.0)
            .find(|(probe, seen)| !**seen && !matches!(probe, Probe::Path { .. }))
        {
            Some((probe, _)) => Err(format!("the answer says nothing of {}", subject(probe))),
            None => Ok(()),
        }
    }
}

/// A `case` pattern matching what `zfs version` prints for a release older than `from`:
/// `zfs-X.Y…` with X or Y below it (releases are numbered with one digit each so far; a
/// longer number fails these patterns and counts as newer, as it is).
fn older_than(from: OpenZfs) -> String {
    let mut patterns = Vec::new();
    if from.major > 0 {
        patterns.push(format!("zfs-[0-{}].*", from.major - 1));
    }
    if from.minor > 0 {
        patterns.push(format!("zfs-{}.[0-{}].*", from.major, from.minor - 1));
    }
    patterns.join("|")
}

/// What a probe asks about, in words.
fn subject(probe: &Probe) -> String {
    match probe {
        Probe::Path { path, .. } => format!("path {path}"),
        Probe::RcVar { name, .. } => format!("rc.conf variable {name}"),
        Probe::Package { name } => format!("package {name}"),
        Probe::Service { name } => format!("service {name}"),
        Probe::Device { path } => format!("device {path}"),
        Probe::Pool { name } => format!("pool {name}"),
        Probe::Occupied { path } => format!("what is at {path}"),
        Probe::Dataset { name, .. } => format!("dataset {name}"),
        Probe::Mount { path } => format!("what is mounted at {path}"),
        Probe::KernelModule { name } => format!("kernel module {name}"),
        Probe::Carp { interface, address } => format!("CARP address {address} on {interface}"),
        Probe::Crontab { user } => format!("the crontab of {user}"),
        Probe::Certificate { path } => format!("certificate {path}"),
    }
}

/// Reads a section after its header: its lines up to `end` (the `end` line itself is not
/// given to `each`; for one that carries words, see `read_packages`).
fn read_until(
    reader: &mut Reader<impl BufRead>,
    end: &str,
    mut each: impl FnMut(String) -> Result<(), ObservationError>,
) -> Result<(), ObservationError> {
    loop {
        let line = reader.line()?;
        if line == end {
            return Ok(());
        }
        each(line)?;
    }
}

/// The probes `pick` takes, with their indices.
fn asked<'p, T>(probes: &'p [Probe], pick: impl Fn(&'p Probe) -> Option<T>) -> Vec<(usize, T)> {
    probes
        .iter()
        .enumerate()
        .filter_map(|(i, probe)| pick(probe).map(|t| (i, t)))
        .collect()
}

/// What reading a section works with: the dialect, the answer, the probes, and the state and
/// answered probes the answer has built so far.
pub(super) struct Section<'a, R> {
    pub(super) d: &'a dyn Dialect,
    pub(super) reader: &'a mut Reader<R>,
    pub(super) probes: &'a [Probe],
    pub(super) state: &'a mut HostState,
    pub(super) answered: &'a mut Answered,
}

/// Reads the section whose header is `header` into `section.state`.
pub(super) fn read_section(
    header: &[&str],
    section: Section<'_, impl BufRead>,
) -> Result<(), ObservationError> {
    match header {
        ["K"] => section.packages(),
        ["Z"] => section.pools(),
        ["V"] => section.zfs_version(),
        ["Y"] => section.datasets(),
        ["M"] => section.mounts(),
        ["L"] => section.modules(),
        ["A", "if", interface] => section.carp(interface),
        _ => Err(format!("unexpected answer `{}`", header.join(" ")).into()),
    }
}

impl<R: BufRead> Section<'_, R> {
    fn packages(self) -> Result<(), ObservationError> {
        let asked = asked(self.probes, |p| match p {
            Probe::Package { name } => Some(name.as_str()),
            _ => None,
        });
        if asked.is_empty() {
            return Err("an answer about packages, which were not asked".into());
        }
        let mut printed = Vec::new();
        let end = loop {
            let line = self.reader.line()?;
            match line.strip_prefix("K end ") {
                Some(end) => break end.trim_end().to_string(),
                None if printed.len() > 2 * asked.len() + 64 => {
                    return Err("the package tool printed far more than was asked".into());
                }
                None => printed.push(line),
            }
        };
        let (stderr, status) = end.rsplit_once(' ').unwrap_or(("", &end));
        let status: i32 = status
            .parse()
            .map_err(|_| format!("unreadable package query status in `K end {end}`"))?;
        let names: Vec<&str> = asked.iter().map(|(_, name)| *name).collect();
        let versions = self
            .d
            .read_packages(&names, &printed, status, stderr.trim())
            .map_err(|(i, why)| {
                format!(
                    "cannot tell whether package {} is installed: {}",
                    names.get(i).copied().unwrap_or_default(),
                    why.trim()
                )
            })?;
        for ((i, name), version) in asked.into_iter().zip(versions) {
            self.answered.mark(i, &self.probes[i])?;
            if let Some(version) = version {
                self.state.packages.insert(name.to_string(), version);
            }
        }
        Ok(())
    }

    fn pools(self) -> Result<(), ObservationError> {
        let asked = asked(self.probes, |p| match p {
            Probe::Pool { name } => Some(name.as_str()),
            _ => None,
        });
        read_until(self.reader, "Z end", |line| {
            let (name, health) = line
                .split_once('\t')
                .filter(|(name, health)| {
                    !health.contains('\t') && asked.iter().any(|a| a.1 == *name)
                })
                .ok_or_else(|| format!("unreadable zpool list line `{line}`"))?;
            match self
                .state
                .pools
                .insert(name.to_string(), health.to_string())
            {
                None => Ok(()),
                Some(_) => Err(format!("zpool listed {name} twice").into()),
            }
        })?;
        Ok(self.answered.mark_each(&asked, self.probes)?)
    }

    /// What `zfs version` printed: the release it names, if any (a zfs before 0.8 has no
    /// `version` command and prints nothing here).
    fn zfs_version(self) -> Result<(), ObservationError> {
        let mut printed = String::new();
        read_until(self.reader, "V end", |line| {
            if printed.len() > 1024 {
                return Err("zfs version printed far more than a release's name".into());
            }
            printed.push_str(&line);
            printed.push('\n');
            Ok(())
        })?;
        self.state.zfs_version = OpenZfs::from_version_output(&printed);
        Ok(())
    }

    fn datasets(self) -> Result<(), ObservationError> {
        let asked = asked(self.probes, |p| match p {
            Probe::Dataset { name, properties } => Some((name.as_str(), properties)),
            _ => None,
        });
        // Each dataset's properties (two self.probes of one dataset may ask for different ones), and
        // all of them, which `zfs get` was asked for.
        let mut wanted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (_, (name, properties)) in &asked {
            let set = wanted.entry(name).or_default();
            set.extend(properties.iter().map(String::as_str));
        }
        let all: BTreeSet<&str> = wanted.values().flatten().copied().collect();
        let mut listed = BTreeMap::new();
        read_until(self.reader, "Y get", |line| {
            if !wanted.contains_key(line.as_str()) {
                return Err(format!("zfs listed `{line}`, which was not asked").into());
            }
            match listed.insert(line, DatasetState::default()) {
                None => Ok(()),
                Some(_) => Err("zfs listed a dataset twice".into()),
            }
        })?;
        read_until(self.reader, "Y end", |line| {
            let fields: Vec<&str> = line.splitn(3, '\t').collect();
            let [name, property, value] = fields[..] else {
                return Err(format!("unreadable zfs get line `{line}`").into());
            };
            let Some(dataset) = listed.get_mut(name) else {
                return Err(
                    format!("zfs get self.answered of `{name}`, which it did not list").into(),
                );
            };
            if !all.contains(property) {
                return Err(
                    format!("zfs get self.answered `{property}`, which was not asked").into(),
                );
            }
            if wanted[name].contains(property)
                && dataset
                    .properties
                    .insert(property.to_string(), value.to_string())
                    .is_some()
            {
                return Err(format!("zfs get self.answered {property} of {name} twice").into());
            }
            Ok(())
        })?;
        self.state.datasets.extend(listed);
        Ok(self.answered.mark_each(&asked, self.probes)?)
    }

    fn mounts(self) -> Result<(), ObservationError> {
        let asked = asked(self.probes, |p| match p {
            Probe::Mount { path } => Some(path.as_str()),
            _ => None,
        });
        // The last mount at a point is the one on top (mount order), as `tail -n 1` took it.
        read_until(self.reader, "M end", |line| {
            let [point, device, fstype] = self.d.mount_entry(&line)?;
            if asked.iter().any(|(_, path)| *path == point) {
                self.state
                    .mounts
                    .insert(point, MountState { device, fstype });
            }
            Ok(())
        })?;
        Ok(self.answered.mark_each(&asked, self.probes)?)
    }

    fn modules(self) -> Result<(), ObservationError> {
        let asked = asked(self.probes, |p| match p {
            Probe::KernelModule { name } => Some(name.as_str()),
            _ => None,
        });
        read_until(self.reader, "L end", |line| {
            if let Some(module) = self.d.listed_module(&line)?
                && asked.iter().any(|(_, name)| *name == module)
            {
                self.state.kernel_modules.insert(module.to_string());
            }
            Ok(())
        })?;
        Ok(self.answered.mark_each(&asked, self.probes)?)
    }

    fn carp(self, interface: &str) -> Result<(), ObservationError> {
        let asked = asked(self.probes, |p| match p {
            Probe::Carp {
                interface: on,
                address,
            } if on == interface => Some(address.as_str()),
            _ => None,
        });
        if asked.is_empty() {
            return Err(
                format!("an answer about interface {interface}, which was not asked").into(),
            );
        }
        let mut status = Vec::new();
        read_until(self.reader, "A end", |line| {
            status.push(line);
            Ok(())
        })?;
        for (i, address) in asked {
            self.answered.mark(i, &self.probes[i])?;
            if let Some(listed) = self.d.carp_address(&status, address)? {
                let carp = CarpState {
                    interface: interface.to_string(),
                    vhid: listed.vhid,
                    state: listed.role,
                    key: listed.key.map(Observed::digest),
                };
                self.state.carp.insert(address.to_string(), carp);
            }
        }
        Ok(())
    }
}
