//! The lab's virtual machines: test hosts whose kernel is real, so their tools can be too.
//! A guest is Debian bookworm built by scripts/vm-image (cached outside the work tree; a
//! second storage guest, with OpenZFS 2.3 from bookworm-backports, by
//! scripts/vm-image-openzfs-2.3), booted
//! under QEMU's TCG (pure emulation: this machine's /dev/kvm runs no stock kernel) with its
//! image read-only underneath (`snapshot=on`: every write is thrown away with the guest), sshd
//! forwarded to a port of 127.0.0.1 and user-mode networking restricted to that forward, so
//! the guest reaches nothing.
//!
//! A FreeBSD-like guest is a storage host: `zpool` and `zfs` are real OpenZFS, on virtual
//! disks of its own (/dev/vdb, /dev/vdc, …), while the FreeBSD-only tools f3s calls (sysrc,
//! service, fstyp, gpart, diskinfo, kldload, stat -f, sha256 …) are the lab's stand-ins at
//! their real paths, as on a chroot lab host. A Rocky-like guest is a client whose systemd is
//! real (PID 1), with the lab's rpm and dnf. Users and login are the chroot lab's: `paul`
//! with doas on FreeBSD-like hosts, root on Rocky-like ones.
//!
//! QEMU is stopped by its PID when the `Vm` is dropped, pass or fail, and dies with the test
//! process otherwise (parent-death signal). One that dies while its guest boots is reported in
//! words: the signal or exit status, when, what the host kernel logged about it, its own log
//! and the guest's console.
//!
//! The CPU model QEMU emulates and the QEMU it runs are the image's unless `F3S_VM_CPU` or
//! `F3S_VM_QEMU` names others: docs/vm-boot-reliability.md measures them against each other.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::os::unix::fs::OpenOptionsExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::{Os, STANDINS, free_port, inventory_entry, run};

/// Set to skip every test that needs a virtual machine (they pass without running).
pub const SKIP_VARIABLE: &str = "F3S_SKIP_VM_TESTS";

/// How long a guest may take from QEMU's start to sshd answering. Emulation on a shared
/// machine of two cores: ~35 s when idle, far more while the rest of the suite runs.
pub const BOOT_DEADLINE: Duration = Duration::from_secs(600);

/// How often a guest is booted before its QEMU's death fails the tests. QEMU's TCG (software
/// emulation) has been seen to die of SIGSEGV a few seconds into a boot, about one boot in
/// six, on a loaded two-core machine (issue 21; none in 36 boots measured later, in
/// docs/vm-boot-reliability.md); a boot that dies is tried again, and said so.
const BOOT_ATTEMPTS: u32 = 3;

/// The CPU model QEMU emulates unless `CPU_VARIABLE` names another: no other booted more
/// reliably (docs/vm-boot-reliability.md).
const CPU: &str = "max";

/// Names another CPU model for QEMU (`-cpu`).
pub const CPU_VARIABLE: &str = "F3S_VM_CPU";

/// Names another QEMU to run in place of the image's `qemu-system` (same arguments).
pub const QEMU_VARIABLE: &str = "F3S_VM_QEMU";

static VMS: AtomicU32 = AtomicU32::new(0);

pub struct Vm {
    pub name: String,
    pub os: Os,
    pub address: String,
    pub port: u16,
    /// The key that logs in as root (and as paul), made with the image.
    pub key: PathBuf,
    pub known_hosts: PathBuf,
    /// The extra disks, as the guest names them.
    pub disks: Vec<String>,
    /// From QEMU's start to the guest's sshd answering.
    pub booted_in: Duration,
    qemu: Qemu,
}

/// Why a boot gave no guest.
pub enum BootFailure {
    /// QEMU died before the guest answered (how, in words): worth another boot.
    Died(String),
    /// The guest's sshd did not answer within `BOOT_DEADLINE` (what the logs say).
    Silent(String),
}

/// Whether the VM tests are to be skipped (`F3S_SKIP_VM_TESTS` set and not empty).
pub fn skipped() -> bool {
    std::env::var_os(SKIP_VARIABLE).is_some_and(|value| !value.is_empty())
}

/// Which image a guest boots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Image {
    /// scripts/vm-image: bookworm's OpenZFS 2.1.
    Bookworm,
    /// scripts/vm-image-openzfs-2.3: OpenZFS 2.3 from bookworm-backports.
    OpenZfs23,
}

impl Image {
    fn script(self) -> &'static str {
        match self {
            Image::Bookworm => "scripts/vm-image",
            Image::OpenZfs23 => "scripts/vm-image-openzfs-2.3",
        }
    }
}

/// The directory `which`'s script built (building it first if this recipe never was).
fn image(which: Image) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(which.script());
    let output = Command::new(&script)
        .output()
        .expect("the image script runs");
    // The script's standard error says what it was doing, and where its build log is.
    assert!(
        output.status.success(),
        "the lab's guest image could not be built: {} ended with {}; it said:\n{}",
        which.script(),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim_end()
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// The QEMU a guest of `image` runs: `QEMU_VARIABLE`'s, or the image's own.
fn qemu_program(image: &Path) -> PathBuf {
    std::env::var_os(QEMU_VARIABLE).map_or_else(|| image.join("qemu-system"), PathBuf::from)
}

/// The CPU model a guest's QEMU emulates: `CPU_VARIABLE`'s, or `CPU`.
fn cpu_model() -> String {
    std::env::var(CPU_VARIABLE).unwrap_or_else(|_| CPU.to_string())
}

/// What emulates a guest of `which`, in words: QEMU's version and path, and the CPU model.
pub fn emulator(which: Image) -> String {
    let qemu = qemu_program(&image(which));
    let version = run(Command::new(&qemu).arg("-version"));
    let version = String::from_utf8_lossy(&version.stdout);
    format!(
        "{} ({}), -cpu {}",
        version.lines().next().unwrap_or_default(),
        qemu.display(),
        cpu_model()
    )
}

impl Vm {
    /// Boots a guest playing `os` with `disks` blank virtual disks of 1 GiB; it answers SSH
    /// and is set up as its role when this returns. A QEMU that dies while the guest boots
    /// is started again, up to `BOOT_ATTEMPTS` times in all.
    pub fn start(name: &str, os: Os, disks: usize) -> Vm {
        Self::start_on(Image::Bookworm, name, os, disks)
    }

    /// As `start`, booting `which` image.
    pub fn start_on(which: Image, name: &str, os: Os, disks: usize) -> Vm {
        let mut attempt = 1;
        loop {
            match Self::boot(which, name, os, disks) {
                Ok(vm) => {
                    vm.set_up();
                    return vm;
                }
                Err(BootFailure::Died(died)) if attempt < BOOT_ATTEMPTS => {
                    eprintln!(
                        "{name}: boot {attempt} of {BOOT_ATTEMPTS} failed: {died}\n\
                         {name}: booting it again"
                    );
                    attempt += 1;
                }
                Err(BootFailure::Died(died)) => panic!(
                    "{name}: the guest did not boot: its QEMU died in each of {BOOT_ATTEMPTS} \
                     boots; the last time: {died}"
                ),
                Err(BootFailure::Silent(why)) => panic!("{name}: the guest did not boot: {why}"),
            }
        }
    }

    /// One boot, without retries or set-up: the guest answering SSH, or why not.
    pub fn boot(which: Image, name: &str, os: Os, disks: usize) -> Result<Vm, BootFailure> {
        let image = image(which);
        let n = VMS.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("f3s-vm-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let address = "127.0.0.1".to_string();
        let port = free_port(&address);
        let host_key = std::fs::read_to_string(image.join("host_key.pub")).unwrap();
        let host_key: Vec<&str> = host_key.split_whitespace().take(2).collect();
        let known_hosts = dir.join("known_hosts");
        std::fs::write(
            &known_hosts,
            format!("[{address}]:{port} {}\n", host_key.join(" ")),
        )
        .unwrap();
        let mut command = Qemu::command(&qemu_program(&image));
        command
            .args([
                "-accel",
                "tcg",
                "-cpu",
                &cpu_model(),
                "-smp",
                "2",
                "-m",
                "1536",
            ])
            .args(["-nodefaults", "-display", "none", "-no-reboot"])
            .arg("-serial")
            .arg(format!("file:{}", dir.join("console.log").display()))
            .arg("-kernel")
            .arg(image.join("vmlinuz"))
            .arg("-initrd")
            .arg(image.join("initrd.img"))
            .args(["-append", "root=/dev/vda rw console=ttyS0 quiet"])
            // Devices in command-line order take PCI slots in order, and the guest names its
            // disks in slot order: the root is /dev/vda, the extra disks /dev/vdb, /dev/vdc …
            .arg("-drive")
            .arg(format!(
                "file={},format=raw,if=none,id=root,snapshot=on",
                image.join("base.img").display()
            ))
            .args(["-device", "virtio-blk-pci,drive=root"])
            .arg("-netdev")
            .arg(format!(
                "user,id=net,restrict=on,hostfwd=tcp:{address}:{port}-:22"
            ))
            // No option ROM: the kernel is booted directly, nothing boots from the network.
            .args(["-device", "virtio-net-pci,netdev=net,romfile="]);
        let mut names = Vec::new();
        for i in 0..disks {
            let disk = dir.join(format!("disk{i}.img"));
            run(Command::new("truncate").args(["-s", "1G"]).arg(&disk));
            command
                .arg("-drive")
                .arg(format!(
                    "file={},format=raw,if=none,id=disk{i}",
                    disk.display()
                ))
                .arg("-device")
                .arg(format!("virtio-blk-pci,drive=disk{i},serial=lab{i}"));
            names.push(format!("/dev/vd{}", char::from(b'b' + i as u8)));
        }
        let qemu = Qemu::start(command, dir);
        let mut vm = Vm {
            name: name.to_string(),
            os,
            address,
            port,
            key: image.join("root_key"),
            known_hosts,
            disks: names,
            booted_in: Duration::ZERO,
            qemu,
        };
        vm.booted_in = vm.wait_ready()?;
        Ok(vm)
    }

    /// Waits for the guest's sshd: how long it took from QEMU's start, or why it never answered.
    fn wait_ready(&mut self) -> Result<Duration, BootFailure> {
        loop {
            if let Some(died) = self.qemu.died() {
                return Err(BootFailure::Died(died));
            }
            // The forward accepts connections before the guest listens: only a login counts.
            if self.ssh("root", "true").status.success() {
                return Ok(self.qemu.started.elapsed());
            }
            if self.qemu.started.elapsed() > BOOT_DEADLINE {
                return Err(BootFailure::Silent(format!(
                    "sshd did not answer in {} s, QEMU still running; {}",
                    BOOT_DEADLINE.as_secs(),
                    self.qemu.logs()
                )));
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// Gives the guest its role, as `setup_script` in mod.rs does for a chroot host: the
    /// stand-ins (tests/lab/standins, sent over SSH) at their real paths, except those of
    /// tools that are real here.
    fn set_up(&self) {
        let tar = Command::new("tar")
            .arg("-C")
            .arg(Path::new(STANDINS).parent().unwrap())
            .args(["-c", "standins", "bare"])
            .output()
            .expect("tar runs");
        assert!(tar.status.success());
        let script = match self.os {
            Os::Freebsd => {
                "mkdir -p /var/lib/lab/devices /var/lib/lab/zfs\n\
                 cp /usr/bin/uname /usr/libexec/lab/real-uname; cp /usr/bin/stat /usr/libexec/lab/real-stat\n\
                 for t in uname stat lockf; do cp \"$S/freebsd/$t\" /usr/bin/$t; done\n\
                 for t in sha256 sysrc service pkg fstyp gpart diskinfo kldstat kldload crontab; do \
                     cp \"$S/freebsd/$t\" /usr/sbin/$t; done\n\
                 groupadd wheel; useradd -m -s /bin/sh -p '*' paul\n\
                 install -d -o paul -m 700 ~paul/.ssh; install -o paul -m 600 /root/.ssh/authorized_keys ~paul/.ssh/\n\
                 echo 'permit nopass paul as root' > /etc/doas.conf; chmod 600 /etc/doas.conf\n\
                 # The guest keeps its own fstab and hosts: its systemd mounts by them.\n\
                 (cd \"$S/../bare/freebsd\" && tar -c --exclude ./etc/fstab --exclude ./etc/hosts .) | tar -x -C /\n\
                 cp \"$S/freebsd/rc.subr\" /etc/rc.subr; cp \"$S/freebsd/lab-boot\" /usr/libexec/lab/\n\
                 cp -a \"$S/freebsd/packages\" /usr/libexec/lab/packages\n\
                 modprobe zfs\n"
            }
            Os::Rocky => {
                "for t in rpm dnf; do cp \"$S/rocky/$t\" /usr/bin/$t; done\n\
                 cp -a \"$S/rocky/packages\" /usr/libexec/lab/packages\n"
            }
        };
        let output = self.ssh_with_input(
            "root",
            &format!(
                "set -e\nmkdir -p /usr/libexec/lab /var/log/lab /var/lib/lab/fail /var/lib/lab/slow\n\
                 rm -rf /tmp/lab && mkdir /tmp/lab && tar -x -C /tmp/lab\nS=/tmp/lab/standins\n\
                 cp \"$S/common/lab-session\" \"$S/common/lab-hooks\" /usr/libexec/lab/\n\
                 {script}\
                 touch /var/log/lab/calls.log /var/log/lab/sessions.log; chmod 666 /var/log/lab/*.log\n"
            ),
            &tar.stdout,
        );
        assert!(
            output.status.success(),
            "{}: setting up as {:?} failed: {}",
            self.name,
            self.os,
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn ssh_command(&self, user: &str, script: &str) -> Command {
        let mut command = Command::new("ssh");
        command
            .arg("-i")
            .arg(&self.key)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=10",
                "-o",
                "LogLevel=ERROR",
                "-p",
            ])
            .arg(self.port.to_string())
            .arg(format!("{user}@{}", self.address))
            .arg(script);
        command
    }

    fn ssh(&self, user: &str, script: &str) -> Output {
        self.ssh_command(user, script)
            .stdin(Stdio::null())
            .output()
            .expect("ssh runs")
    }

    fn ssh_with_input(&self, user: &str, script: &str, input: &[u8]) -> Output {
        use std::io::Write as _;
        let mut child = self
            .ssh_command(user, script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ssh runs");
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().expect("ssh finishes")
    }

    /// Runs a shell command as root on the guest.
    pub fn sh(&self, script: &str) -> Output {
        self.ssh("root", script)
    }

    /// The content of a file on the guest, or `None` if it is not there.
    pub fn read_text(&self, path: &str) -> Option<String> {
        let output = self.sh(&format!("cat '{path}'"));
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// This guest's entry in an inventory's `hosts:` section, with `modules`.
    pub fn inventory_host(&self, modules: &str) -> String {
        inventory_entry(
            &self.name,
            self.os,
            &self.address,
            self.port,
            &self.key,
            &self.known_hosts,
            modules,
        )
    }
}

/// A QEMU this lab started, watched so that its death can be told in words.
pub struct Qemu {
    child: Child,
    started: Instant,
    /// Holds its qemu.log and console.log; kept once a report has named them.
    dir: PathBuf,
    /// The host kernel's log from where it stood when QEMU started, or why it cannot be read.
    /// /dev/kmsg (what `dmesg` reads) rather than `dmesg`: opened at the start, it gives only
    /// what was logged since, where `dmesg`'s timestamps cannot be matched with this machine's
    /// clock (they start again when a machine is restored from a snapshot).
    kernel_log: Result<File, String>,
    /// QEMU's PID and every thread ID seen under it: the kernel names a thread that faults by
    /// its own ID (`qemu-system-x86[TID]: segfault at …`), and TCG runs each vCPU in a thread.
    ids: BTreeSet<u32>,
    keep: bool,
}

impl Qemu {
    /// A command that runs `program` (a QEMU, or a script that execs one) and kills it when
    /// the test process dies: setpriv execs it, so the child's PID is the program's own.
    pub fn command(program: &Path) -> Command {
        let mut command = Command::new("setpriv");
        command.args(["--pdeathsig", "KILL"]).arg(program);
        command
    }

    /// Starts `command` (from `Qemu::command`), its messages in DIR/qemu.log. The guest's
    /// console is expected in DIR/console.log.
    pub fn start(mut command: Command, dir: PathBuf) -> Qemu {
        let kernel_log = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .and_then(|mut log| log.seek(SeekFrom::End(0)).map(|_| log))
            .map_err(|e| format!("/dev/kmsg: {e}"));
        // snapshot=on keeps the image's writes in a temporary file: in this guest's directory.
        command.env("TMPDIR", &dir);
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(dir.join("qemu.log")).unwrap())
            .spawn()
            .expect("qemu starts");
        Qemu {
            ids: BTreeSet::from([child.id()]),
            child,
            started: Instant::now(),
            dir,
            kernel_log,
            keep: false,
        }
    }

    /// QEMU's PID (the program's own: see `command`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How QEMU died, in words, once it has; `None` while it runs.
    pub fn died(&mut self) -> Option<String> {
        // Threads first: once QEMU is reaped, /proc no longer lists them.
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.child.id())) {
            let ids = tasks
                .flatten()
                .filter_map(|task| task.file_name().to_str()?.parse::<u32>().ok());
            self.ids.extend(ids);
        }
        let status = self.child.try_wait().expect("qemu can be waited for")?;
        Some(self.death(status))
    }

    fn death(&mut self, status: ExitStatus) -> String {
        let how = match (status.signal(), status.code()) {
            (Some(signal), _) => format!("was killed by {} (signal {signal})", signal_name(signal)),
            (None, Some(code)) => format!("exited with status {code}"),
            (None, None) => format!("ended ({status})"),
        };
        let kernel = match self.kernel_lines() {
            Ok(lines) if lines.is_empty() => format!(
                "the host kernel logged nothing naming its PID or threads ({})",
                self.id_list()
            ),
            Ok(lines) => format!("the host kernel logged:\n    {}", lines.join("\n    ")),
            Err(why) => format!("the host kernel's log could not be read ({why})"),
        };
        format!(
            "QEMU (PID {}) {how} {:.1} s after it started, before the guest answered SSH; \
             {kernel}\n{}",
            self.pid(),
            self.started.elapsed().as_secs_f64(),
            self.logs()
        )
    }

    /// The IDs a kernel log line is matched against, for a report that found none.
    fn id_list(&self) -> String {
        let ids: Vec<String> = self.ids.iter().map(u32::to_string).collect();
        ids.join(", ")
    }

    /// What the kernel logged since QEMU started that names QEMU's PID or one of its threads.
    fn kernel_lines(&mut self) -> Result<Vec<String>, String> {
        let log = self.kernel_log.as_mut().map_err(|why| why.clone())?;
        let tags: Vec<String> = self.ids.iter().map(|id| format!("[{id}]")).collect();
        let mut lines = Vec::new();
        // One record a read: "priority,sequence,microseconds,flags;message", then lines of
        // key=value that are not the message.
        let mut record = vec![0; 16384];
        loop {
            match log.read(&mut record) {
                Ok(0) => break,
                Ok(n) => {
                    let record = String::from_utf8_lossy(&record[..n]);
                    let message = record
                        .split_once(';')
                        .and_then(|(_, message)| message.lines().next())
                        .unwrap_or_default();
                    if tags.iter().any(|tag| message.contains(tag.as_str())) {
                        lines.push(message.to_string());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                // Records overwritten since the last read: the next read gives the oldest kept.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(e) => return Err(format!("reading /dev/kmsg: {e}")),
            }
        }
        Ok(lines)
    }

    /// QEMU's messages and the end of the guest's console, each with its path (kept from now on).
    fn logs(&mut self) -> String {
        self.keep = true;
        let show = |name: &str, tail: usize| {
            let path = self.dir.join(name);
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let shown = &lines[lines.len().saturating_sub(tail)..];
            if shown.is_empty() {
                format!("{} is empty", path.display())
            } else {
                format!("{}:\n    {}", path.display(), shown.join("\n    "))
            }
        };
        format!(
            "QEMU's log, {}\nthe guest's console, its last 40 lines, {}",
            show("qemu.log", usize::MAX),
            show("console.log", 40)
        )
    }
}

/// A signal's name, as in `kill -l`: those that end a QEMU, by number otherwise.
fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGFPE => "SIGFPE".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGINT => "SIGINT".into(),
        _ => format!("signal {signal}"),
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        // Only the QEMU this lab started, by its PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.keep && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
