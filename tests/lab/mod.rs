//! The lab: test hosts that are real OpenSSH servers on loopback addresses (127.10.x.y), each
//! chrooted into a private copy-on-write overlay of this machine's root, in a mount namespace
//! of its own, so a test can change anything on a host and nothing on the machine.
//!
//! FreeBSD-like hosts log in as `paul` and use doas; Rocky-like hosts log in as root. The
//! tools f3s calls are stand-ins (tests/lab/standins) at their real paths, keeping state in
//! files and logging every call to /var/log/lab/calls.log; every exec is counted in
//! /var/log/lab/sessions.log. Every sshd is stopped by its PID when the `Lab` is dropped, pass
//! or fail, and dies with the test process otherwise (parent-death signal).

#![allow(dead_code)] // each test binary uses its own part of the lab

pub mod vm;
pub mod workload;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Freebsd,
    Rocky,
}

pub struct LabHost {
    pub name: String,
    pub os: Os,
    pub address: String,
    pub port: u16,
    dir: PathBuf,
    sshd: Child,
}

pub struct Lab {
    dir: PathBuf,
    pub hosts: Vec<LabHost>,
    pub key: PathBuf,
    pub known_hosts: PathBuf,
}

static LABS: AtomicU32 = AtomicU32::new(0);

const STANDINS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lab/standins");

fn run(command: &mut Command) -> Output {
    let output = command.output().expect("command runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

impl Lab {
    /// Starts one host per `(name, os)`, ready to accept SSH when this returns.
    pub fn start(hosts: &[(&str, Os)]) -> Lab {
        Self::start_in(&std::env::temp_dir(), hosts)
    }

    /// As `start`, the hosts' files (their overlays' upper layers) under `base`.
    pub fn start_in(base: &Path, hosts: &[(&str, Os)]) -> Lab {
        let n = LABS.fetch_add(1, Ordering::SeqCst);
        let dir = base.join(format!("f3s-lab-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("client_key");
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "f3s-lab", "-f"])
            .arg(&key));
        let mut lab = Lab {
            known_hosts: dir.join("known_hosts"),
            dir,
            hosts: Vec::new(),
            key,
        };
        let octet = 1 + (std::process::id() + n * 7) % 250;
        for (i, (name, os)) in hosts.iter().enumerate() {
            let address = format!("127.10.{octet}.{}", i + 1);
            let host = lab.start_host(name, *os, &address);
            lab.hosts.push(host);
        }
        let mut known = String::new();
        for host in &lab.hosts {
            let public =
                std::fs::read_to_string(host.dir.join("files/etc/ssh/lab_host_key.pub")).unwrap();
            let key: Vec<&str> = public.split_whitespace().take(2).collect();
            let _ = writeln!(known, "[{}]:{} {}", host.address, host.port, key.join(" "));
        }
        std::fs::write(&lab.known_hosts, known).unwrap();
        for host in &lab.hosts {
            host.wait_ready();
        }
        lab
    }

    fn start_host(&self, name: &str, os: Os, address: &str) -> LabHost {
        let dir = self.dir.join(name);
        let files = dir.join("files");
        for sub in [
            "upper",
            "work",
            "root",
            "files/etc/ssh",
            "files/usr/libexec/lab",
        ] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let host_key = files.join("etc/ssh/lab_host_key");
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&host_key));
        let client_public = std::fs::read_to_string(self.key.with_extension("pub")).unwrap();
        std::fs::write(files.join("etc/ssh/lab_authorized_keys"), client_public).unwrap();
        let port = free_port(address);
        std::fs::write(
            files.join("etc/ssh/lab_sshd_config"),
            format!(
                "Port {port}\nListenAddress {address}\nHostKey /etc/ssh/lab_host_key\nPidFile none\n\
                 AuthorizedKeysFile /etc/ssh/lab_authorized_keys\nStrictModes no\nUsePAM no\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 ForceCommand /usr/libexec/lab/lab-session\nLogLevel VERBOSE\nMaxSessions 100\nMaxStartups 100\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
        let sshd = Command::new("setpriv")
            .args([
                "--pdeathsig",
                "KILL",
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-ec",
            ])
            .arg(setup_script(&dir, os))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("unshare and sshd start");
        LabHost {
            name: name.to_string(),
            os,
            address: address.to_string(),
            port,
            dir,
            sshd,
        }
    }

    pub fn host(&self, name: &str) -> &LabHost {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .expect("a lab host")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The real cluster's six hosts (f0 f1 f2 FreeBSD-like, r0 r1 r2 Rocky-like) and
    /// inventory/f3s.yml reaching them, written to the lab's `inventory.yml`, whose path comes
    /// back with the lab.
    pub fn real_cluster(carp_password: &str, digest_key: &str) -> (Lab, PathBuf) {
        let lab = Lab::start(&[
            ("f0", Os::Freebsd),
            ("f1", Os::Freebsd),
            ("f2", Os::Freebsd),
            ("r0", Os::Rocky),
            ("r1", Os::Rocky),
            ("r2", Os::Rocky),
        ]);
        let inventory = lab.dir().join("inventory.yml");
        std::fs::write(&inventory, lab.real_inventory(carp_password, digest_key)).unwrap();
        (lab, inventory)
    }

    /// Moves the CARP stand-in's clock on by `ms` for every host of this lab, as if that much
    /// time had passed: a master-down timer (3 × advbase + advskew/256 s, ip_carp.c
    /// carp_setrun) expires without the test waiting for it.
    pub fn advance_carp_clock(&self, ms: u64) {
        let clock = self.dir.join("net/carp/.clock");
        let now: u64 = std::fs::read_to_string(&clock)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0);
        std::fs::write(&clock, format!("{}\n", now + ms)).unwrap();
    }

    /// inventory/f3s.yml reaching these hosts (the lab's addresses and connections), with its
    /// secrets in files of the lab's, as JSON (which is YAML).
    pub fn real_inventory(&self, carp_password: &str, digest_key: &str) -> String {
        use serde_json::{Value, json};
        use std::os::unix::fs::PermissionsExt as _;
        let root = env!("CARGO_MANIFEST_DIR");
        let text = std::fs::read_to_string(Path::new(root).join("inventory/f3s.yml")).unwrap();
        let mut inventory: Value = serde_saphyr::from_str(&text).expect("inventory/f3s.yml parses");
        inventory["module_path"] = json!([format!("{root}/modules")]);
        for (name, value) in [("carp_password", carp_password), ("digest_key", digest_key)] {
            let file = self.dir.join(name);
            std::fs::write(&file, format!("{value}\n")).unwrap();
            // Readable by their owner only, as f3s wants files of secrets.
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
            if name == "digest_key" {
                inventory["digest_key"] = json!({ "file": file });
            } else {
                inventory["secrets"][name] = json!({ "file": file });
            }
        }
        for host in &self.hosts {
            let (user, become_method) = match host.os {
                Os::Freebsd => ("paul", "doas"),
                Os::Rocky => ("root", "none"),
            };
            inventory["hosts"][&host.name]["address"] = json!(host.address);
            inventory["hosts"][&host.name]["connection"] = json!({
                "port": host.port,
                "user": user,
                "become": become_method,
                "identity_file": self.key,
                "known_hosts": self.known_hosts,
            });
        }
        serde_json::to_string_pretty(&inventory).unwrap()
    }

    /// The `hosts:` section of an inventory reaching these hosts, with `modules` per host.
    pub fn inventory_hosts(&self, modules: &dyn Fn(&LabHost) -> String) -> String {
        let mut yaml = String::from("hosts:\n");
        for host in &self.hosts {
            yaml.push_str(&inventory_entry(
                &host.name,
                host.os,
                &host.address,
                host.port,
                &self.key,
                &self.known_hosts,
                &modules(host),
            ));
        }
        yaml
    }
}

/// One host of an inventory's `hosts:` section: FreeBSD-like hosts are reached as paul with
/// doas, Rocky-like ones as root.
fn inventory_entry(
    name: &str,
    os: Os,
    address: &str,
    port: u16,
    key: &Path,
    known_hosts: &Path,
    modules: &str,
) -> String {
    let (os, user, become_method) = match os {
        Os::Freebsd => ("freebsd", "paul", "doas"),
        Os::Rocky => ("rocky", "root", "none"),
    };
    format!(
        "  {name}:\n    os: {os}\n    address: {address}\n    connection:\n      port: {port}\n      user: {user}\n      become: {become_method}\n      identity_file: {}\n      known_hosts: {}\n{modules}",
        key.display(),
        known_hosts.display(),
    )
}

impl Drop for Lab {
    fn drop(&mut self) {
        for host in &mut self.hosts {
            // Only the sshd this lab started, by its PID (and its sessions die with it).
            let _ = host.sshd.kill();
            let _ = host.sshd.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The script run in the host's new mount namespace: overlay root, a private /dev with only
/// the character devices a shell needs (plus the FreeBSD hosts' disks: sparse 64 MiB files,
/// zeros until written), what a fresh install holds (tests/lab/bare), stand-ins, users, sshd.
fn setup_script(dir: &Path, os: Os) -> String {
    let d = dir.display();
    let standins = match os {
        Os::Freebsd => {
            "cp /usr/bin/uname \"$R/usr/libexec/lab/real-uname\"; cp /usr/bin/stat \"$R/usr/libexec/lab/real-stat\"; \
             for t in uname stat lockf; do cp \"$S/freebsd/$t\" \"$R/usr/bin/$t\"; done; \
             for t in sha256 sysrc service pkg fstyp gpart diskinfo newfs mount umount zpool zfs kldstat kldload crontab ifconfig; do \
                 cp \"$S/freebsd/$t\" \"$R/usr/sbin/$t\"; done; \
             chroot \"$R\" groupadd wheel; chroot \"$R\" useradd -m -s /bin/sh -p '*' paul; \
             echo 'permit nopass paul as root' > \"$R/etc/doas.conf\"; chmod 600 \"$R/etc/doas.conf\"; \
             truncate -s 64M \"$R/dev/ada0\" \"$R/dev/da0\" \"$R/dev/ada1\"; \
             cp \"$S/freebsd/rc.subr\" \"$R/etc/rc.subr\"; cp \"$S/freebsd/lab-boot\" \"$R/usr/libexec/lab/\"; \
             cp -a \"$S/freebsd/packages\" \"$R/usr/libexec/lab/packages\"; \
             mkdir -p \"$R/var/lib/lab/ifconfig\"; \
             printf 're0: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1500\\n' > \"$R/var/lib/lab/ifconfig/re0\"; \
             printf 'lo0: flags=1008049<UP,LOOPBACK,RUNNING,MULTICAST,LOWER_UP> metric 0 mtu 16384\\n' > \"$R/var/lib/lab/ifconfig/lo0\"; \
             chroot \"$R\" /usr/sbin/zpool create -m /zroot zroot /dev/ada0 >/dev/null 2>&1 || true; \
             chroot \"$R\" sh -c ': > /var/log/lab/calls.log'"
        }
        Os::Rocky => {
            "cp /usr/bin/systemctl \"$R/usr/libexec/lab/real-systemctl\"; \
             for t in rpm dnf systemctl; do cp \"$S/rocky/$t\" \"$R/usr/bin/$t\"; done; \
             cp -a \"$S/rocky/packages\" \"$R/usr/libexec/lab/packages\"; \
             mkdir -p \"$R/usr/local/sbin\"; \
             for t in findmnt mount umount; do cp \"$S/rocky/$t\" \"$R/usr/local/sbin/$t\"; done"
        }
    };
    let bare = match os {
        Os::Freebsd => "freebsd",
        Os::Rocky => "rocky",
    };
    format!(
        "H={d}; R=$H/root; S={STANDINS}\n\
         mount -t overlay overlay -o lowerdir=/,upperdir=$H/upper,workdir=$H/work \"$R\"\n\
         mount -t proc proc \"$R/proc\"\n\
         for m in dev run tmp root; do mount -t tmpfs tmpfs \"$R/$m\"; done\n\
         for n in null zero full random urandom tty; do touch \"$R/dev/$n\"; mount --bind \"/dev/$n\" \"$R/dev/$n\"; done\n\
         ln -s /proc/self/fd \"$R/dev/fd\"; for i in 0 1 2; do ln -s /proc/self/fd/$i \"$R/dev/$(echo stdin stdout stderr | cut -d ' ' -f $((i + 1)))\"; done\n\
         mkdir -p \"$R/run/sshd\" \"$R/var/log/lab\" \"$R/var/lib/lab/fail\" \"$R/var/lib/lab/slow\" \"$R/usr/libexec/lab\"\n\
         basename \"$H\" > \"$R/var/lib/lab/hostname\"\n\
         mkdir -p \"$H/../net/carp\" \"$R/var/lib/lab/net\"; mount --bind \"$H/../net\" \"$R/var/lib/lab/net\"\n\
         cp -a \"$S/../bare/{bare}/.\" \"$R/\"\n\
         cp -a \"$H/files/.\" \"$R/\"\n\
         cp \"$S/common/lab-session\" \"$S/common/lab-hooks\" \"$R/usr/libexec/lab/\"\n\
         {standins}\n\
         touch \"$R/var/log/lab/calls.log\" \"$R/var/log/lab/sessions.log\"; chmod 666 \"$R/var/log/lab/\"*.log\n\
         exec chroot \"$R\" /usr/sbin/sshd -D -e -f /etc/ssh/lab_sshd_config\n"
    )
}

/// Runs `script` as root inside `host`, which must succeed (the test fails naming what it
/// printed); what it printed on stdout.
pub fn sh_ok(host: &LabHost, script: &str) -> String {
    let output = host.sh(script);
    assert!(
        output.status.success(),
        "{script} on {}: {}{}",
        host.name,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn free_port(address: &str) -> u16 {
    let listener = TcpListener::bind((address, 0)).expect("a free loopback port");
    listener.local_addr().unwrap().port()
}

impl LabHost {
    fn wait_ready(&self) {
        let address: SocketAddr = format!("{}:{}", self.address, self.port).parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default();
        panic!("lab host {} did not start:\n{log}", self.name);
    }

    pub fn pid(&self) -> u32 {
        self.sshd.id()
    }

    /// Runs a shell command as root inside the host (in its namespace and root).
    pub fn sh(&self, script: &str) -> Output {
        Command::new("nsenter")
            .args([
                "--target",
                &self.pid().to_string(),
                "--mount",
                "--",
                "chroot",
            ])
            .arg(self.dir.join("root"))
            .args(["/bin/sh", "-c", script])
            .output()
            .expect("nsenter runs")
    }

    /// The content of a file on the host, or `None` if it is not there.
    pub fn read(&self, path: &str) -> Option<Vec<u8>> {
        let output = self.sh(&format!("cat '{path}'"));
        output.status.success().then_some(output.stdout)
    }

    pub fn read_text(&self, path: &str) -> Option<String> {
        self.read(path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    pub fn write(&self, path: &str, content: &str) {
        let output = self.sh(&format!(
            "mkdir -p \"$(dirname '{path}')\" && printf '%s' '{}' > '{path}'",
            content.replace('\'', "'\\''")
        ));
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Makes the host lie: from now on every command a client runs is handed to `script` (a
    /// shell script, the command as `$1`, the command's stdin as its stdin) instead, as a
    /// compromised host answers whatever it likes.
    pub fn lie_with(&self, script: &str) {
        self.write("/etc/lab/liar", script);
        let output = self.sh("chmod 0755 /etc/lab/liar");
        assert!(output.status.success());
    }

    /// Every stand-in call so far, one line each.
    pub fn calls(&self) -> Vec<String> {
        self.read_text("/var/log/lab/calls.log")
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// How many SSH connections this host's sshd has accepted (its log, at sshd's default
    /// LogLevel INFO, says "Accepted publickey for …" once for each: auth2.c, auth_log).
    pub fn connections(&self) -> usize {
        std::fs::read_to_string(self.dir.join("sshd.log"))
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains("Accepted publickey for "))
            .count()
    }

    /// How many commands clients have executed on this host.
    pub fn execs(&self) -> usize {
        self.read_text("/var/log/lab/sessions.log")
            .unwrap_or_default()
            .lines()
            .count()
    }

    /// Every file the host has changed so far (its overlay's upper layer), with its bytes,
    /// mode and owner, leaving out the lab's own logs.
    pub fn changes(&self) -> BTreeMap<PathBuf, String> {
        let upper = self.dir.join("upper");
        let mut changes = BTreeMap::new();
        walk(&upper, &upper, &mut changes);
        changes.retain(|path, _| !path.starts_with("var/log/lab"));
        changes
    }

    /// Stops the host's sshd (the lab's own process, by its PID), as a host that went down:
    /// connections are refused from now on.
    pub fn stop(&self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.pid().to_string()])
            .status();
        // kill(2) returns before the process is gone: until its listening socket closes, a
        // connection is still accepted and then dropped (a handshake failure, not a refusal).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect((self.address.as_str(), self.port)).is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "{}: sshd still listens after SIGKILL",
                self.name
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Drops every live connection to the host, as a pulled cable would: every process under
    /// this host's sshd (sessions and what they run) is killed, the server itself stays.
    pub fn drop_connections(&self) {
        let mut pids = children(self.pid());
        let mut i = 0;
        while i < pids.len() {
            let grandchildren = children(pids[i]);
            pids.extend(grandchildren);
            i += 1;
        }
        for pid in pids {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let relative = path.strip_prefix(root).unwrap().to_path_buf();
        let content = if meta.is_file() {
            let bytes = std::fs::read(&path).unwrap_or_default();
            format!(
                "{:x}",
                bytes
                    .iter()
                    .fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(*b))
            )
        } else {
            String::new()
        };
        out.insert(
            relative,
            format!("{:o} {}:{} {content}", meta.mode(), meta.uid(), meta.gid()),
        );
        if meta.is_dir() {
            walk(root, &path, out);
        }
    }
}

/// The PIDs of a process's children (from /proc), to reach only what this lab started.
fn children(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let ppid: u32 = after_name
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if ppid == parent {
            found.push(pid);
        }
    }
    found
}
