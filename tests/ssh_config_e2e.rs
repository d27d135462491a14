//! f3s connecting the way ssh does, against lab hosts: an alias known only to ssh_config, the
//! inventory's `connection:` over ssh_config, a host reached only through a jump host (host
//! keys checked at both hops, a stalled hop cut at the deadline), and the default identity
//! in ~/.ssh with no agent. Each run has its own HOME, ssh_config (F3S_SSH_CONFIG) and no
//! SSH_AUTH_SOCK, so nothing of the machine's own SSH setup takes part.

mod common;
mod lab;

use std::net::ToSocketAddrs as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{assert_code, stderr, stdout};
use lab::{Lab, LabHost, Os};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// An inventory of one host `name` at `address` with `connection` (YAML lines, may be empty),
/// managing one line of /etc/hosts.
fn inventory(lab: &Lab, name: &str, os: &str, address: &str, connection: &str) -> PathBuf {
    let yaml = format!(
        "module_path: [{ROOT}/modules]\n\
         defaults:\n  vars:\n    vip: 192.168.1.138\n    vip_names: [f3s-storage-ha]\n  modules:\n    - module: vip_hosts\n\
         hosts:\n  {name}:\n    os: {os}\n    address: {address}\n{connection}"
    );
    let path = lab.dir().join(format!("inventory-{name}.yml"));
    std::fs::write(&path, yaml).unwrap();
    path
}

/// A HOME of its own for one run (empty unless a test puts something in it).
fn home(lab: &Lab, name: &str) -> PathBuf {
    let home = lab.dir().join(name);
    std::fs::create_dir_all(&home).unwrap();
    home
}

/// Runs `f3s plan` on `inventory` with `ssh_config`, `home` as HOME, no agent.
fn plan(inventory: &Path, ssh_config: &Path, home: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_f3s"))
        .args(["plan", "--detailed-exitcode", "-i"])
        .arg(inventory)
        .args(extra)
        .env("NO_COLOR", "1")
        .env("F3S_SSH_CONFIG", ssh_config)
        .env("HOME", home)
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .expect("f3s runs")
}

/// A plan that reached its host: changes pending (the VIP's line is not in /etc/hosts yet).
fn assert_planned(output: &Output) {
    assert_code(output, 2);
    assert!(
        stdout(output).contains("vip-name"),
        "{}\n{}",
        stdout(output),
        stderr(output)
    );
}

fn sshd_log(lab: &Lab, host: &str) -> String {
    std::fs::read_to_string(lab.dir().join(host).join("sshd.log")).unwrap_or_default()
}

/// The host's public key as a known_hosts line for `name` (a HostName) and its port.
fn known_line(lab: &Lab, host: &LabHost, name: &str) -> String {
    let public = std::fs::read_to_string(
        lab.dir()
            .join(&host.name)
            .join("files/etc/ssh/lab_host_key.pub"),
    )
    .unwrap();
    let key: Vec<&str> = public.split_whitespace().take(2).collect();
    format!("[{name}]:{} {}\n", host.port, key.join(" "))
}

/// A key line that is not the host's: another freshly made host key.
fn wrong_known_line(lab: &Lab, name: &str, port: u16) -> String {
    let key = lab
        .dir()
        .join(format!("wrong_key_{}", name.replace('.', "_")));
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let public = std::fs::read_to_string(format!("{}.pub", key.display())).unwrap();
    let key: Vec<&str> = public.split_whitespace().take(2).collect();
    format!("[{name}]:{port} {}\n", key.join(" "))
}

#[test]
fn an_alias_known_only_to_ssh_config_is_reached_with_its_user_port_and_identity() {
    let lab = Lab::start(&[("f0", Os::Freebsd)]);
    let f0 = lab.host("f0");
    let config = lab.dir().join("ssh_config");
    // The alias's block first (first value wins), then defaults that would not work.
    std::fs::write(
        &config,
        format!(
            "Host labalias\n  HostName {}\n  Port {}\n  User paul\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n\
             Host *\n  User nobody\n  Port 1\n",
            f0.address,
            f0.port,
            lab.key.display(),
            lab.known_hosts.display()
        ),
    )
    .unwrap();
    let inventory = inventory(
        &lab,
        "f0",
        "freebsd",
        "labalias",
        "    connection:\n      become: doas\n",
    );
    let output = plan(&inventory, &config, &home(&lab, "home"), &[]);
    assert_planned(&output);
    // As ssh_config's user, not f3s's default (root may log in to the lab's hosts too).
    let log = sshd_log(&lab, "f0");
    assert!(log.contains("Accepted publickey for paul"), "{log}");
    assert!(!log.contains("Accepted publickey for root"), "{log}");

    // Without the file, the alias is only a name that does not resolve.
    let none = plan(&inventory, Path::new("none"), &home(&lab, "home"), &[]);
    assert_code(&none, 1);
    assert!(stderr(&none).contains("labalias"), "{}", stderr(&none));
}

#[test]
fn the_inventorys_connection_overrides_ssh_config() {
    let lab = Lab::start(&[("r0", Os::Rocky)]);
    let r0 = lab.host("r0");
    let config = lab.dir().join("ssh_config");
    // Right address, everything else wrong: a dead port, a user that does not exist, a key
    // and known hosts file that are not there.
    std::fs::write(
        &config,
        format!(
            "Host r0alias\n  HostName {}\n  Port 1\n  User nosuchuser\n  IdentityFile /nonexistent/key\n  UserKnownHostsFile /nonexistent/known_hosts\n",
            r0.address
        ),
    )
    .unwrap();
    let home = home(&lab, "home");
    let bare = inventory(&lab, "r0", "rocky", "r0alias", "");
    let refused = plan(&bare, &config, &home, &["--connect-timeout", "5"]);
    assert_code(&refused, 1);
    assert!(
        stderr(&refused).contains(&format!("{}:1", r0.address)),
        "ssh_config's port is used when the inventory names none: {}",
        stderr(&refused)
    );

    let overriding = inventory(
        &lab,
        "r0",
        "rocky",
        "r0alias",
        &format!(
            "    connection:\n      port: {}\n      user: root\n      identity_file: {}\n      known_hosts: {}\n",
            r0.port,
            lab.key.display(),
            lab.known_hosts.display()
        ),
    );
    assert_planned(&plan(&overriding, &config, &home, &[]));
    assert!(sshd_log(&lab, "r0").contains("Accepted publickey for root"));
}

/// j0 is the jump host; t0 is reached by a name only j0 can resolve (its own /etc/hosts), so
/// the only way to it is j0's `direct-tcpip`.
struct Jump {
    lab: Lab,
    config: PathBuf,
    known_hosts: PathBuf,
    inventory: PathBuf,
    home: PathBuf,
}

const BEHIND: &str = "lab-behind-jump";

impl Jump {
    fn new() -> Self {
        let lab = Lab::start(&[("j0", Os::Rocky), ("t0", Os::Rocky)]);
        let (j0, t0) = (lab.host("j0"), lab.host("t0"));
        assert!(
            (BEHIND, 22).to_socket_addrs().is_err(),
            "{BEHIND} must not resolve here"
        );
        let hosts = j0.read_text("/etc/hosts").unwrap_or_default();
        j0.write("/etc/hosts", &format!("{hosts}{} {BEHIND}\n", t0.address));
        let known_hosts = lab.dir().join("jump_known_hosts");
        std::fs::write(
            &known_hosts,
            known_line(&lab, j0, &j0.address) + &known_line(&lab, t0, BEHIND),
        )
        .unwrap();
        let config = lab.dir().join("ssh_config");
        std::fs::write(
            &config,
            format!(
                "Host target\n  HostName {BEHIND}\n  Port {}\n  ProxyJump root@jump\n\
                 Host jump\n  HostName {}\n  Port {}\n\
                 Host *\n  IdentityFile {}\n  UserKnownHostsFile {}\n",
                t0.port,
                j0.address,
                j0.port,
                lab.key.display(),
                known_hosts.display()
            ),
        )
        .unwrap();
        let inventory = inventory(&lab, "t0", "rocky", "target", "");
        let home = home(&lab, "home");
        Jump {
            lab,
            config,
            known_hosts,
            inventory,
            home,
        }
    }

    fn plan(&self, extra: &[&str]) -> Output {
        plan(&self.inventory, &self.config, &self.home, extra)
    }
}

#[test]
fn a_host_behind_a_jump_host_is_reached_through_its_direct_tcpip_channel() {
    let jump = Jump::new();
    assert_planned(&jump.plan(&[]));
    assert_eq!(
        jump.lab.host("j0").connections(),
        1,
        "one session to the jump"
    );
    assert_eq!(jump.lab.host("t0").connections(), 1);
    // What the jump's sshd forwarded (sshd at LogLevel VERBOSE logs no channel, so the
    // proof is the name: only j0 resolves it).
    let j0 = sshd_log(&jump.lab, "j0");
    assert!(j0.contains("Accepted publickey for root"), "{j0}");

    // Applying goes the same way, and a second plan finds nothing to do.
    let applied = Command::new(env!("CARGO_BIN_EXE_f3s"))
        .args(["apply", "--yes", "-i"])
        .arg(&jump.inventory)
        .env("NO_COLOR", "1")
        .env("F3S_SSH_CONFIG", &jump.config)
        .env("HOME", &jump.home)
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    assert_code(&applied, 0);
    assert!(
        jump.lab
            .host("t0")
            .read_text("/etc/hosts")
            .unwrap()
            .contains("192.168.1.138 f3s-storage-ha")
    );
    assert_code(&jump.plan(&[]), 0);
}

#[test]
fn host_keys_are_checked_at_every_hop() {
    let jump = Jump::new();
    let (j0, t0) = (jump.lab.host("j0"), jump.lab.host("t0"));
    let right_target = known_line(&jump.lab, t0, BEHIND);
    let right_jump = known_line(&jump.lab, j0, &j0.address);

    // The jump host's key is not the one known: refused there, the target never reached.
    let wrong_jump = wrong_known_line(&jump.lab, &j0.address, j0.port);
    std::fs::write(&jump.known_hosts, wrong_jump + &right_target).unwrap();
    let refused = jump.plan(&[]);
    assert_code(&refused, 1);
    let err = stderr(&refused);
    assert!(err.contains("t0: jump host jump"), "{err}");
    assert!(err.contains("HOST KEY CHANGED"), "{err}");
    assert_eq!(t0.connections(), 0, "nothing went on past the jump host");

    // Also with --accept-new-host-keys: a changed key is never accepted.
    assert_code(&jump.plan(&["--accept-new-host-keys"]), 1);

    // The target's key, checked under the name it was reached by.
    let wrong_target = wrong_known_line(&jump.lab, BEHIND, t0.port);
    std::fs::write(&jump.known_hosts, right_jump.clone() + &wrong_target).unwrap();
    let refused = jump.plan(&[]);
    assert_code(&refused, 1);
    let err = stderr(&refused);
    assert!(err.contains("t0: HOST KEY CHANGED"), "{err}");
    assert!(!err.contains("jump host"), "{err}");
    assert_eq!(t0.connections(), 0);

    // An unknown target key: refused, then added with StrictHostKeyChecking accept-new.
    std::fs::write(&jump.known_hosts, &right_jump).unwrap();
    let unknown = jump.plan(&[]);
    assert_code(&unknown, 1);
    assert!(stderr(&unknown).contains("t0: unknown host key"));
    let config = std::fs::read_to_string(&jump.config).unwrap();
    std::fs::write(
        &jump.config,
        config.replace(
            "Host target\n",
            "Host target\n  StrictHostKeyChecking accept-new\n",
        ),
    )
    .unwrap();
    assert_planned(&jump.plan(&[]));
    let known = std::fs::read_to_string(&jump.known_hosts).unwrap();
    assert!(
        known.contains(&format!("[{BEHIND}]:{}", t0.port)),
        "{known}"
    );
}

#[test]
fn a_stalled_host_behind_a_jump_is_cut_at_the_connect_deadline() {
    let jump = Jump::new();
    let t0 = jump.lab.host("t0");
    // The lab's own sshd, stopped (not ended) by its PID: the kernel still accepts the jump
    // host's connection, but nothing answers on it.
    let pid = t0.pid().to_string();
    assert!(
        Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let stalled = jump.plan(&["--connect-timeout", "3"]);
    assert!(
        Command::new("kill")
            .args(["-CONT", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert_code(&stalled, 1);
    let err = stderr(&stalled);
    // Cut at the deadline: by f3s's watchdog, or by libssh2's own timeout set to it,
    // whichever fires first.
    assert!(
        err.contains("did not finish within 3 s") || err.contains("did not answer in time"),
        "{err}"
    );
    // Once it answers again, the same route works.
    assert_planned(&jump.plan(&[]));
}

#[test]
fn the_default_identity_in_home_is_used_without_an_agent() {
    let lab = Lab::start(&[("r0", Os::Rocky)]);
    let r0 = lab.host("r0");
    let connection = format!(
        "    connection:\n      port: {}\n      user: root\n",
        r0.port
    );
    let inventory = inventory(&lab, "r0", "rocky", &r0.address, &connection);

    // Without a key in ~/.ssh and without an agent: what was tried, by path.
    let empty = home(&lab, "empty-home");
    std::fs::create_dir_all(empty.join(".ssh")).unwrap();
    std::fs::copy(&lab.known_hosts, empty.join(".ssh/known_hosts")).unwrap();
    let failed = plan(&inventory, Path::new("none"), &empty, &[]);
    assert_code(&failed, 1);
    let err = stderr(&failed);
    assert!(err.contains("SSH_AUTH_SOCK is not set"), "{err}");
    assert!(
        err.contains(&format!(
            "no default identity in {}",
            empty.join(".ssh").display()
        )),
        "{err}"
    );
    assert!(!err.contains("no auth sock"), "{err}");

    let home = home(&lab, "home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::copy(&lab.key, home.join(".ssh/id_ed25519")).unwrap();
    std::fs::copy(&lab.known_hosts, home.join(".ssh/known_hosts")).unwrap();
    assert_planned(&plan(&inventory, Path::new("none"), &home, &[]));

    // A key the host does not know, in the same place: named as tried, its bytes never shown.
    let other = lab.dir().join("other_key");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::copy(&other, home.join(".ssh/id_ed25519")).unwrap();
    let refused = plan(&inventory, Path::new("none"), &home, &[]);
    assert_code(&refused, 1);
    let err = stderr(&refused);
    let key_path = home.join(".ssh/id_ed25519").display().to_string();
    assert!(err.contains(&format!("{key_path} (not accepted)")), "{err}");
    let private = std::fs::read_to_string(&other).unwrap();
    let body = private.lines().nth(1).unwrap();
    assert!(!err.contains(body), "no key bytes in the error");
}
