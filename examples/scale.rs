//! The scale benchmark (docs/performance.md): starts K sshd test hosts on loopback (the
//! lab of tests/lab, Rocky-like), writes the scale workload with N resources per host, and
//! times f3s beside the floor, a bare `ssh host true` to every host in parallel:
//!
//!   scripts/bench [--hosts 6,24] [--resources 80,800,4000] [--runs 5] [--plan-only] [--markdown]
//!   scripts/bench --runs 3 --doc docs/performance.md   # measures and rewrites its table
//!
//! For each K and N: the floor; `check` (load and compile, no connection); `apply` to empty
//! hosts (the workload removed before each run); a no-op `plan`. It prints median (min–max) seconds, the ratio to the floor, SSH
//! sessions per host, f3s's own CPU seconds (user + system, median) and its peak RSS. A
//! benchmark, not a test: it asserts nothing.

#[path = "../tests/lab/mod.rs"]
mod lab;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lab::{Lab, Os, workload};

#[derive(Clone)]
struct Options {
    hosts: Vec<usize>,
    resources: Vec<usize>,
    runs: usize,
    /// Time apply to empty hosts too (else one untimed apply prepares the no-op plan).
    time_apply: bool,
    /// Print a Markdown table (docs/performance.md) rather than aligned columns.
    markdown: bool,
    /// Measure the table of docs/performance.md and write it into this file.
    doc: Option<PathBuf>,
    f3s: PathBuf,
}

/// One scenario's runs.
#[derive(Default)]
struct Sample {
    seconds: Vec<f64>,
    /// f3s's own CPU time (user + system) of each run: on a machine busy with other work, a
    /// steadier measure of f3s's cost than its wall time.
    cpu_seconds: Vec<f64>,
    peak_rss_kib: i64,
    sessions_per_host: f64,
}

impl Sample {
    fn median(&self) -> f64 {
        median(&self.seconds)
    }

    fn range(&self) -> String {
        let min = self.seconds.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.seconds.iter().copied().fold(0.0, f64::max);
        format!("{:.3} ({min:.3}–{max:.3})", self.median())
    }
}

/// Where the lab keeps its hosts' files: a tmpfs (/dev/shm) where there is one with room, as
/// each real host writes to a disk of its own. On one shared ext4, creating a host's 3,000
/// inodes right after the last lab deleted its hosts' tens of thousands is slow for reasons
/// no host of its own has: ext4 skips inodes deleted in the last minutes (`recently_deleted`
/// in fs/ext4/ialloc.c), which took a quarter of the machine's CPU in `perf` of the 24-host
/// apply. f3s itself keeps its temporary files where it always does.
fn lab_base() -> PathBuf {
    const ROOM: u64 = 4 << 30;
    let shm = Path::new("/dev/shm");
    let free = std::ffi::CString::new("/dev/shm").ok().and_then(|path| {
        // SAFETY: statvfs fills in the plain struct given for a NUL-terminated path.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        (unsafe { libc::statvfs(path.as_ptr(), &mut stat) } == 0)
            .then(|| stat.f_bavail as u64 * stat.f_frsize as u64)
    });
    match free {
        Some(free) if free >= ROOM => shm.to_path_buf(),
        _ => std::env::temp_dir(),
    }
}

/// The middle value; of an even count, the mean of the two in the middle.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => f64::NAN,
        len if len % 2 == 0 => (sorted[middle - 1] + sorted[middle]) / 2.0,
        _ => sorted[middle],
    }
}

fn main() {
    let options = parse_args();
    println!(
        "f3s scale benchmark: {} run(s) each, median (min–max) seconds; floor = `ssh host true` to all hosts in parallel; hosts' files in {}\n",
        options.runs,
        lab_base().display()
    );
    if let Some(doc) = options.doc.clone() {
        return write_doc_table(&options, &doc);
    }
    if options.markdown {
        println!("{}", markdown_head());
    } else {
        let names: Vec<String> = COLUMNS.iter().map(|(name, _)| name.to_string()).collect();
        println!("{}", aligned_line(&names));
    }
    measure(&options, &mut |row| {
        println!(
            "{}",
            if options.markdown {
                row.markdown()
            } else {
                row.aligned()
            }
        )
    });
}

/// Where the table of docs/performance.md starts and ends.
const TABLE_START: &str = "<!-- scale table: examples/scale.rs --doc rewrites it -->";
const TABLE_END: &str = "<!-- end of scale table -->";

/// The table of docs/performance.md: K = 6 and 24 at 80 and 4,000 resources a host (`--runs`
/// runs each), then K = 100 at 80 (one run), written between the markers of `doc` in place of
/// what was there, and printed.
fn write_doc_table(options: &Options, doc: &Path) {
    let mut table = vec![markdown_head()];
    let mut keep = |row: Row| {
        println!("{}", row.markdown());
        table.push(row.markdown());
    };
    let standard = Options {
        hosts: vec![6, 24],
        resources: vec![80, 4000],
        ..options.clone()
    };
    measure(&standard, &mut keep);
    let hundred = Options {
        hosts: vec![100],
        resources: vec![80],
        runs: 1,
        ..options.clone()
    };
    measure(&hundred, &mut keep);
    let text = std::fs::read_to_string(doc).expect("the document can be read");
    let (Some(start), Some(end)) = (text.find(TABLE_START), text.find(TABLE_END)) else {
        panic!("{} has no `{TABLE_START}` … `{TABLE_END}`", doc.display());
    };
    let rewritten = format!(
        "{}{TABLE_START}\n{}\n{}",
        &text[..start],
        table.join("\n"),
        &text[end..]
    );
    std::fs::write(doc, rewritten).expect("the document can be written");
    println!("\nwritten into {}", doc.display());
}

/// One scenario's line of the table.
struct Row {
    k: usize,
    n: usize,
    scenario: &'static str,
    range: String,
    floor: f64,
    ratio: f64,
    execs: f64,
    cpu: f64,
    rss_mib: f64,
}

/// The table's columns, and how wide each is in aligned output (the scenario's is the one
/// aligned left).
const COLUMNS: [(&str, usize); 9] = [
    ("K", 4),
    ("N", 6),
    ("scenario", 22),
    ("f3s s", 24),
    ("floor s", 8),
    ("ratio", 7),
    ("execs/host", 14),
    ("f3s CPU s", 10),
    ("peak RSS", 12),
];

impl Row {
    /// Each column's text; `times` follows the ratio.
    fn cells(&self, times: &str) -> Vec<String> {
        vec![
            self.k.to_string(),
            self.n.to_string(),
            self.scenario.to_string(),
            self.range.clone(),
            format!("{:.3}", self.floor),
            format!("{:.2}{times}", self.ratio),
            format!("{:.1}", self.execs),
            format!("{:.2}", self.cpu),
            format!("{:.1} MiB", self.rss_mib),
        ]
    }

    fn markdown(&self) -> String {
        markdown_line(&self.cells("×"))
    }

    fn aligned(&self) -> String {
        aligned_line(&self.cells("x"))
    }
}

fn markdown_line(cells: &[String]) -> String {
    format!("| {} |", cells.join(" | "))
}

fn aligned_line(cells: &[String]) -> String {
    cells
        .iter()
        .zip(COLUMNS)
        .map(|(cell, (name, width))| {
            if name == "scenario" {
                format!(" {cell:<width$}")
            } else {
                format!("{cell:>width$}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Markdown table's head: the columns, the scenario's aligned left.
fn markdown_head() -> String {
    let names: Vec<String> = COLUMNS.iter().map(|(name, _)| name.to_string()).collect();
    let rule: Vec<String> = COLUMNS
        .iter()
        .map(|(name, _)| if *name == "scenario" { "---" } else { "---:" }.to_string())
        .collect();
    format!("{}\n|{}|", markdown_line(&names), rule.join("|"))
}

/// Every K and N of `options`, each scenario's row given to `row` as it is measured.
fn measure(options: &Options, row: &mut dyn FnMut(Row)) {
    for &k in &options.hosts {
        let names: Vec<String> = (1..=k).map(|i| format!("h{i:03}")).collect();
        let specs: Vec<(&str, Os)> = names.iter().map(|n| (n.as_str(), Os::Rocky)).collect();
        let lab = Lab::start_in(&lab_base(), &specs);
        for &n in &options.resources {
            let dir = lab.dir().join(format!("n{n}"));
            let inventory = workload::write(&dir, &lab, n);
            let floor = floor(&lab, options.runs);
            let check = f3s_runs(options, &lab, &inventory, &["check"], false);
            let apply = if options.time_apply {
                f3s_runs(options, &lab, &inventory, &["apply", "--yes"], true)
            } else {
                let once = Options {
                    runs: 1,
                    ..options.clone()
                };
                f3s_runs(&once, &lab, &inventory, &["apply", "--yes"], true);
                Sample::default()
            };
            let plan = f3s_runs(
                options,
                &lab,
                &inventory,
                &["plan", "--detailed-exitcode"],
                false,
            );
            for (scenario, sample) in [
                ("check (no connection)", &check),
                ("apply to empty hosts", &apply),
                ("plan, nothing to do", &plan),
            ] {
                if sample.seconds.is_empty() {
                    continue;
                }
                row(Row {
                    k,
                    n,
                    scenario,
                    range: sample.range(),
                    floor: floor.median(),
                    ratio: sample.median() / floor.median(),
                    execs: sample.sessions_per_host,
                    cpu: median(&sample.cpu_seconds),
                    rss_mib: sample.peak_rss_kib as f64 / 1024.0,
                });
            }
        }
    }
}

fn parse_args() -> Options {
    let mut options = Options {
        hosts: vec![6, 24],
        resources: vec![80, 800, 4000],
        runs: 5,
        time_apply: true,
        markdown: false,
        doc: None,
        f3s: std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("f3s")))
            .unwrap_or_else(|| PathBuf::from("target/release/f3s")),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = if flag == "--plan-only" || flag == "--markdown" {
            String::new()
        } else {
            args.next().unwrap_or_default()
        };
        let list = || -> Vec<usize> {
            value
                .split(',')
                .map(|v| v.trim().parse().expect("a number"))
                .collect()
        };
        match flag.as_str() {
            "--hosts" => options.hosts = list(),
            "--resources" => options.resources = list(),
            "--runs" => options.runs = value.parse().expect("a number of runs"),
            "--plan-only" => {
                options.time_apply = false;
                continue;
            }
            "--markdown" => {
                options.markdown = true;
                continue;
            }
            "--f3s" => options.f3s = PathBuf::from(value),
            "--doc" => options.doc = Some(PathBuf::from(value)),
            other => {
                eprintln!(
                    "unknown flag {other}; usage: scale [--hosts K,…] [--resources N,…] [--runs R] [--plan-only] [--markdown] [--f3s PATH] [--doc docs/performance.md]"
                );
                std::process::exit(2);
            }
        }
    }
    assert!(
        options.hosts.iter().all(|k| (1..=100).contains(k)),
        "K from 1 to 100"
    );
    options
}

/// `ssh host true` to every host at once, `runs` times.
fn floor(lab: &Lab, runs: usize) -> Sample {
    let mut sample = Sample::default();
    for _ in 0..runs {
        let started = Instant::now();
        let children: Vec<_> = lab
            .hosts
            .iter()
            .map(|host| {
                Command::new("ssh")
                    .args(["-F", "/dev/null", "-o", "BatchMode=yes", "-i"])
                    .arg(&lab.key)
                    .arg("-o")
                    .arg(format!("UserKnownHostsFile={}", lab.known_hosts.display()))
                    .args(["-p", &host.port.to_string()])
                    .arg(format!("root@{}", host.address))
                    .arg("true")
                    .stdin(Stdio::null())
                    .spawn()
                    .expect("ssh runs")
            })
            .collect();
        for mut child in children {
            assert!(child.wait().expect("ssh ends").success(), "ssh host true");
        }
        sample.seconds.push(started.elapsed().as_secs_f64());
    }
    sample
}

/// Runs f3s `runs` times; with `reset`, the workload is moved out of the way on every host
/// first (into `/var/tmp/f3s-bench-old`, removed with the lab): deleting thousands of files
/// right before making as many is what ext4 makes slow (its inode allocator skips inodes
/// deleted in the last minutes, `recently_deleted` in fs/ext4/ialloc.c), which no host
/// being set up for the first time pays.
fn f3s_runs(options: &Options, lab: &Lab, inventory: &Path, args: &[&str], reset: bool) -> Sample {
    let mut sample = Sample::default();
    let mut sessions = 0;
    for _ in 0..options.runs {
        if reset {
            for host in &lab.hosts {
                let removed = host.sh(&format!(
                    "mkdir -p /var/tmp/f3s-bench-old && if [ -e {root} ]; then mv {root} \"$(mktemp -d /var/tmp/f3s-bench-old/XXXXXX)\"; fi",
                    root = workload::ROOT
                ));
                assert!(removed.status.success(), "reset {}", host.name);
            }
        }
        let before: usize = lab.hosts.iter().map(|h| h.execs()).sum();
        let (took, cpu, rss, code) = timed(
            Command::new(&options.f3s)
                .arg(args[0])
                .arg("-i")
                .arg(inventory)
                .args(&args[1..])
                .env("NO_COLOR", "1")
                .stdout(if std::env::var_os("F3S_BENCH_SHOW").is_some() {
                    Stdio::inherit()
                } else {
                    Stdio::null()
                }),
        );
        assert_eq!(code, 0, "f3s {args:?} succeeds");
        sessions += lab.hosts.iter().map(|h| h.execs()).sum::<usize>() - before;
        sample.seconds.push(took.as_secs_f64());
        sample.cpu_seconds.push(cpu);
        sample.peak_rss_kib = sample.peak_rss_kib.max(rss);
    }
    sample.sessions_per_host = sessions as f64 / (options.runs * lab.hosts.len()) as f64;
    sample
}

/// Wall time, CPU seconds (user + system) and peak RSS (KiB) of one command, both from
/// wait4's rusage of the child itself, and its exit code.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which also reports its rusage
fn timed(command: &mut Command) -> (Duration, f64, i64, i32) {
    let cpu_before = machine_cpu_seconds();
    let started = Instant::now();
    let child = command.spawn().expect("the command starts");
    let pid = i32::try_from(child.id()).expect("a pid");
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in; the pid is our own child's.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 reaps the child");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let cpu = usage.ru_utime.tv_sec as f64
        + usage.ru_utime.tv_usec as f64 / 1e6
        + usage.ru_stime.tv_sec as f64
        + usage.ru_stime.tv_usec as f64 / 1e6;
    if std::env::var_os("F3S_BENCH_SHOW").is_some() {
        eprintln!(
            "machine CPU {:.3} s, f3s CPU {cpu:.3} s",
            machine_cpu_seconds() - cpu_before
        );
    }
    (started.elapsed(), cpu, usage.ru_maxrss, code)
}

/// CPU seconds the whole machine has spent busy (/proc/stat: user, nice, system, irq,
/// softirq, at 100 ticks a second).
fn machine_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    [0, 1, 2, 5, 6]
        .iter()
        .filter_map(|i| ticks.get(*i))
        .sum::<f64>()
        / 100.0
}
