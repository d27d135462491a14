//! f3s over real SSH against lab hosts (one FreeBSD-like, one Rocky-like): converging,
//! read-only planning, one exec per observation, host keys, dropped connections, failures,
//! saved plans and the apply lock.

mod common;
mod lab;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_code, stderr, stdout};
use lab::{Lab, LabHost, Os};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A lab of f0 (FreeBSD-like) and r0 (Rocky-like) with the example's modules.
struct Setup {
    lab: Lab,
    inventory: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let lab = Lab::start(&[("f0", Os::Freebsd), ("r0", Os::Rocky)]);
        let modules = |host: &LabHost| {
            match host.os {
            Os::Freebsd => "    modules:\n      - module: nfs_server\n      - module: carp\n      - module: carpcontrol\n",
            Os::Rocky => "    modules:\n      - module: nfs_client\n",
        }
        .to_string()
        };
        let yaml = format!(
            "module_path: [{ROOT}/examples/fixture/modules, {ROOT}/modules]\n\
             secrets:\n  carp_password:\n    file: {ROOT}/examples/fixture/secrets/carp_password\n\
             digest_key:\n  file: {ROOT}/examples/fixture/secrets/digest_key\n\
             defaults:\n  vars:\n    domain: lan.buetow.org\n    vip: 192.168.1.138\n    vip_names: [f3s-storage-ha, f3s-storage-ha.lan]\n    carp_password: {{ secret: carp_password }}\n  \
             modules:\n    - module: vip_hosts\n{}",
            lab.inventory_hosts(&modules)
        );
        let inventory = lab.dir().join("inventory.yml");
        std::fs::write(&inventory, yaml).unwrap();
        Setup { lab, inventory }
    }

    fn f3s(&self, args: &[&str]) -> Output {
        common::f3s_on(&self.inventory, args)
    }

    fn spawn(&self, args: &[&str]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_f3s"))
            .args([args[0], "-i", self.inventory.to_str().unwrap()])
            .args(&args[1..])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn host(&self, name: &str) -> &LabHost {
        self.lab.host(name)
    }
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn apply_converges_and_repairs_drift() {
    let setup = Setup::new();
    assert_code(&setup.f3s(&["plan", "--detailed-exitcode"]), 2);
    let applied = setup.f3s(&["apply", "--yes"]);
    assert_code(&applied, 0);
    assert!(
        stdout(&applied).contains("0 failed, 0 skipped"),
        "{}",
        stdout(&applied)
    );

    let again = setup.f3s(&["plan", "--detailed-exitcode"]);
    assert_code(&again, 0);
    assert!(stdout(&again).contains("No changes."));

    let f0 = setup.host("f0");
    assert!(
        f0.read_text("/etc/exports")
            .unwrap()
            .contains("-network 127.0.0.1")
    );
    // devd starts at boot by FreeBSD's default (devd_enable="YES" in /etc/defaults/rc.conf),
    // which f3s leaves there rather than copy into rc.conf; and it runs now.
    assert!(
        !f0.read_text("/etc/rc.conf")
            .unwrap()
            .contains("devd_enable")
    );
    assert!(f0.sh("service devd enabled").status.success());
    assert!(f0.sh("service devd status").status.success());
    let r0 = setup.host("r0");
    assert!(
        r0.read_text("/etc/stunnel/stunnel.conf")
            .unwrap()
            .contains("connect = 192.168.1.138:2323")
    );
    assert_eq!(
        r0.sh("stat -c %a /etc/stunnel/stunnel.conf").stdout,
        b"640\n"
    );

    f0.write(
        "/etc/exports",
        "V4: /data/nfs -sec=sys\n/data/nfs -network 10.0.0.0\n",
    );
    let drift = setup.f3s(&["plan", "--detailed-exitcode"]);
    assert_code(&drift, 2);
    let text = stdout(&drift);
    assert!(text.contains("-/data/nfs -network 10.0.0.0"), "{text}");
    // mountd is CARP's to run (state: ignore); where it does not run, it is not reloaded.
    assert!(
        text.contains("no refresh: it is not running here"),
        "{text}"
    );

    f0.sh("service mountd onestart");
    assert!(stdout(&setup.f3s(&["plan"])).contains("run: reload service mountd"));
    assert_code(&setup.f3s(&["apply", "--yes"]), 0);
    assert!(f0.calls().contains(&"service mountd onereload".to_string()));
    assert_eq!(f0.read_text("/etc/exports"), Some(desired_exports()));
    assert_code(&setup.f3s(&["plan", "--detailed-exitcode"]), 0);
}

fn desired_exports() -> String {
    "V4: /data/nfs -sec=sys\n/data/nfs -alldirs -maproot=root -network 127.0.0.1 -mask 255.255.255.255\n".into()
}

/// Stand-in calls that only read.
const READ_ONLY: &[&str] = &[
    "uname -s",
    "stat -L -f ",
    "sha256 -q",
    "sha256 -r ",
    "sysrc -n ",
    "pkg query ",
    "rpm -q ",
    "systemctl is-enabled ",
    "systemctl is-active ",
];

fn read_only(call: &str) -> bool {
    READ_ONLY.iter().any(|prefix| call.starts_with(prefix))
        || (call.starts_with("service ")
            && (call.ends_with(" enabled") || call.ends_with(" onestatus")))
}

#[test]
fn plan_changes_nothing_and_runs_nothing_mutating() {
    let setup = Setup::new();
    let hosts = [setup.host("f0"), setup.host("r0")];
    let before: Vec<_> = hosts
        .iter()
        .map(|h| (h.changes(), h.calls().len()))
        .collect();
    assert_code(&setup.f3s(&["plan"]), 0);
    for (host, (changes, calls)) in hosts.iter().zip(before) {
        assert_eq!(
            host.changes(),
            changes,
            "{} is byte-identical after plan",
            host.name
        );
        let new_calls = host.calls().split_off(calls);
        assert!(!new_calls.is_empty(), "the plan read {}", host.name);
        let mutating: Vec<_> = new_calls.iter().filter(|c| !read_only(c)).collect();
        assert!(
            mutating.is_empty(),
            "plan ran mutating calls on {}: {mutating:?}",
            host.name
        );
    }
}

#[test]
fn the_read_only_check_catches_a_mutating_call() {
    assert!(read_only("service mountd onestatus"));
    assert!(!read_only("service mountd onestart"));
    assert!(!read_only("sysrc zrepl_enable=YES"));
}

#[test]
fn observing_a_host_is_one_exec_whatever_the_number_of_resources() {
    let setup = Setup::new();
    let f0 = setup.host("f0");
    for scope in [
        &["--target", "f0/sysrc:nfsv4_server_enable"][..],
        &["--host", "f0"][..],
    ] {
        let before = f0.execs();
        let mut args = vec!["plan"];
        args.extend_from_slice(scope);
        assert_code(&setup.f3s(&args), 0);
        assert_eq!(f0.execs() - before, 1, "one exec for {scope:?}");
    }
}

/// Connections open while the inventory compiles, one per host named in scope, and each is
/// the one the run then uses: none is opened twice, none to a host left out by `--host`.
#[test]
fn a_run_connects_once_to_each_host_in_scope() {
    let setup = Setup::new();
    let (f0, r0) = (setup.host("f0"), setup.host("r0"));
    let count = || (f0.connections(), r0.connections());
    let before = count();
    assert_code(&setup.f3s(&["plan"]), 0);
    assert_eq!(count(), (before.0 + 1, before.1 + 1), "one each for a plan");
    let before = count();
    assert_code(&setup.f3s(&["plan", "--host", "f0"]), 0);
    assert_eq!(
        count(),
        (before.0 + 1, before.1),
        "none to r0 when only f0 is asked"
    );
    let before = count();
    assert_code(&setup.f3s(&["apply", "--yes"]), 0);
    assert_eq!(
        count(),
        (before.0 + 1, before.1 + 1),
        "one each for an apply"
    );
}

#[test]
fn unknown_and_changed_host_keys_are_refused() {
    let setup = Setup::new();
    let f0 = setup.host("f0");
    let known = std::fs::read_to_string(&setup.lab.known_hosts).unwrap();
    let entry = format!("[{}]:{}", f0.address, f0.port);

    let without_f0: String = known
        .lines()
        .filter(|l| !l.starts_with(&entry))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&setup.lab.known_hosts, &without_f0).unwrap();
    let unknown = setup.f3s(&["plan", "--host", "f0"]);
    assert_code(&unknown, 1);
    let err = stderr(&unknown);
    assert!(err.contains("f0: unknown host key SHA256:"), "{err}");
    assert!(
        err.contains("--accept-new-host-keys"),
        "says what to do: {err}"
    );

    assert_code(
        &setup.f3s(&["plan", "--host", "f0", "--accept-new-host-keys"]),
        0,
    );
    assert!(
        std::fs::read_to_string(&setup.lab.known_hosts)
            .unwrap()
            .contains(&entry)
    );

    let other = setup.lab.dir().join("other_key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(keygen.success());
    let other_key = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let other_key: Vec<&str> = other_key.split_whitespace().take(2).collect();
    std::fs::write(
        &setup.lab.known_hosts,
        format!("{without_f0}{entry} {}\n", other_key.join(" ")),
    )
    .unwrap();
    for extra in [&[][..], &["--accept-new-host-keys"][..]] {
        let mut args = vec!["plan", "--host", "f0"];
        args.extend_from_slice(extra);
        let changed = setup.f3s(&args);
        assert_code(&changed, 1);
        let err = stderr(&changed);
        assert!(err.contains("f0: HOST KEY CHANGED"), "{err}");
        assert!(
            err.contains("remove the old line"),
            "says what to do: {err}"
        );
    }
    // A host refusing its key does not stop the others: r0 is applied, f0 named.
    let apply = setup.f3s(&["apply", "--yes"]);
    assert_code(&apply, 1);
    let text = stdout(&apply);
    assert!(text.contains("r0/line:vip-name: done"), "{text}");
    assert!(text.contains("not reached  f0: HOST KEY CHANGED"), "{text}");
    assert!(stderr(&apply).contains("f0: HOST KEY CHANGED"));
}

fn leftover_temp_files(host: &LabHost) -> String {
    let found = host.sh("find /etc /usr/local /data -name '.f3s.*' 2>/dev/null");
    String::from_utf8_lossy(&found.stdout).into_owned()
}

#[test]
fn a_dropped_connection_is_reported_and_the_next_apply_converges() {
    let setup = Setup::new();
    let f0 = setup.host("f0");
    f0.sh("touch /var/lib/lab/slow/service-start-devd");
    let apply = setup.spawn(&["apply", "--yes", "--host", "f0"]);
    wait_for("devd to start", || {
        f0.calls().iter().any(|c| c == "service devd onestart")
    });
    f0.drop_connections();
    f0.sh("rm /var/lib/lab/slow/service-start-devd");
    let output = apply.wait_with_output().unwrap();
    assert_code(&output, 1);
    let text = stdout(&output);
    // The host may have started devd before the connection went: not called failed.
    assert!(text.contains("f0/service:devd: UNKNOWN"), "{text}");
    let failure = text
        .lines()
        .find(|line| line.contains("f0/service:devd: UNKNOWN"))
        .unwrap_or_default();
    assert!(
        failure.contains("f0: the connection") && !failure.contains("Session("),
        "the cause in words, with the host: {failure}"
    );
    assert!(
        text.contains("f0/file:/etc/exports: done"),
        "what completed is named: {text}"
    );
    assert!(text.contains("Apply summary"), "{text}");
    assert_eq!(leftover_temp_files(f0), "", "no half-written file");
    assert_code(&setup.f3s(&["apply", "--yes", "--host", "f0"]), 0);
    assert_code(
        &setup.f3s(&["plan", "--detailed-exitcode", "--host", "f0"]),
        0,
    );
}

/// The lock holds for the whole apply: when the connection holding it breaks, f3s applies
/// nothing more to that host and takes its lock again, so a second apply stays refused until
/// the first ends.
#[test]
fn a_lock_lost_with_its_connection_is_taken_again_and_the_host_stopped() {
    let setup = Setup::new();
    let f0 = setup.host("f0");
    let r0 = setup.host("r0");
    f0.sh("touch /var/lib/lab/slow/service-start-devd");
    // r0 keeps the first apply running after f0's connection is gone.
    r0.sh("touch /var/lib/lab/slow/dnf-install-stunnel");
    let first = setup.spawn(&["apply", "--yes"]);
    wait_for("devd to start and stunnel to install", || {
        f0.calls().iter().any(|c| c == "service devd onestart")
            && r0
                .calls()
                .iter()
                .any(|c| c.starts_with("dnf") && c.contains("stunnel"))
    });
    f0.drop_connections();
    f0.sh("rm /var/lib/lab/slow/service-start-devd");
    let f0_changes = f0.changes();
    wait_for("the first apply to hold f0's lock again", || {
        let second = setup.f3s(&["apply", "--yes", "--host", "f0"]);
        second.status.code() == Some(1) && stderr(&second).contains("locked by another apply")
    });
    assert_eq!(
        f0.changes(),
        f0_changes,
        "nothing is written to f0 after its lock was lost"
    );
    r0.sh("rm /var/lib/lab/slow/dnf-install-stunnel");
    let output = first.wait_with_output().unwrap();
    assert_code(&output, 1);
    let text = stdout(&output);
    assert!(
        text.contains(
            "f0/service:devd: UNKNOWN, plan again to see whether it ran: f0: the connection"
        ),
        "{text}"
    );
    assert!(
        text.contains("r0/package:stunnel: done"),
        "r0 goes on: {text}"
    );
    assert_eq!(leftover_temp_files(f0), "", "no half-written file");
    assert_code(&setup.f3s(&["apply", "--yes", "--host", "f0"]), 0);
    assert_code(
        &setup.f3s(&["plan", "--detailed-exitcode", "--host", "f0"]),
        0,
    );
}

/// A host that is down is named and skipped with what depends on it; the others plan and
/// apply, and the run exits 1.
#[test]
fn an_unreachable_host_is_reported_and_the_others_converge() {
    let setup = Setup::new();
    setup.host("r0").stop();
    let plan = setup.f3s(&["plan"]);
    assert_code(&plan, 1);
    let text = stdout(&plan);
    assert!(text.contains("f0  freebsd"), "f0 is planned: {text}");
    assert!(text.contains("Not planned"), "{text}");
    assert!(text.contains("r0: cannot connect to"), "{text}");
    assert_eq!(
        stderr(&plan).matches("r0: cannot connect to").count(),
        1,
        "said once: {}",
        stderr(&plan)
    );
    let apply = setup.f3s(&["apply", "--yes"]);
    assert_code(&apply, 1);
    let text = stdout(&apply);
    assert!(text.contains("f0/file:/etc/exports: done"), "{text}");
    assert!(
        text.contains("not reached  r0: cannot connect to"),
        "{text}"
    );
    assert!(text.contains("1 host(s) not reached"), "{text}");
    assert_code(
        &setup.f3s(&["plan", "--detailed-exitcode", "--host", "f0"]),
        0,
    );
}

/// Ctrl-C during an apply: what is under way finishes, nothing new starts, the summary says
/// which is which, the lock is freed and the exit code is 130.
#[test]
fn an_interrupt_stops_new_work_and_reports_what_was_done() {
    for signal in ["-INT", "-TERM"] {
        interrupted_apply(signal);
    }
}

fn interrupted_apply(signal: &str) {
    let setup = Setup::new();
    // r0 gets a file that waits for f0's devd, so it is not started while devd runs.
    let modules = setup.lab.dir().join("modules");
    std::fs::create_dir_all(modules.join("after_devd")).unwrap();
    std::fs::write(
        modules.join("after_devd/module.yml"),
        "resources:\n  - file: /etc/after-devd\n    content: x\n    requires: f0/service:devd\n",
    )
    .unwrap();
    let inventory = std::fs::read_to_string(&setup.inventory).unwrap();
    let inventory = inventory
        .replacen(
            "module_path: [",
            &format!("module_path: [{}, ", modules.display()),
            1,
        )
        .replacen(
            "      - module: nfs_client\n",
            "      - module: nfs_client\n      - module: after_devd\n",
            1,
        );
    std::fs::write(&setup.inventory, inventory).unwrap();
    let f0 = setup.host("f0");
    f0.sh("touch /var/lib/lab/slow/service-start-devd");
    let apply = setup.spawn(&["apply", "--yes"]);
    wait_for("devd to start", || {
        f0.calls().iter().any(|c| c == "service devd onestart")
    });
    // Our own child, by its PID.
    let status = Command::new("kill")
        .args([signal, &apply.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(300));
    f0.sh("rm /var/lib/lab/slow/service-start-devd");
    let output = apply.wait_with_output().unwrap();
    let text = stdout(&output);
    assert_eq!(
        output.status.code(),
        Some(130),
        "{text}\n{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("Interrupted"),
        "{}",
        stderr(&output)
    );
    assert!(
        text.contains("f0/service:devd: done"),
        "under way, finished: {text}"
    );
    assert!(text.contains("Apply summary"), "{text}");
    assert!(
        text.contains("r0/file:/etc/after-devd  not started: interrupted"),
        "{text}"
    );
    assert!(text.contains("1 not started"), "{text}");
    assert_eq!(setup.host("r0").read_text("/etc/after-devd"), None);
    assert_eq!(leftover_temp_files(f0), "", "no half-written file");
    assert_code(&setup.f3s(&["apply", "--yes"]), 0);
}

/// A second Ctrl-C does not wait: f3s exits at once, and the lock goes with its connection.
#[test]
fn a_second_interrupt_exits_at_once() {
    let setup = Setup::new();
    let f0 = setup.host("f0");
    f0.sh("touch /var/lib/lab/slow/service-start-devd");
    let mut apply = setup.spawn(&["apply", "--yes", "--host", "f0"]);
    wait_for("devd to start", || {
        f0.calls().iter().any(|c| c == "service devd onestart")
    });
    for _ in 0..2 {
        // Our own child, by its PID.
        let status = Command::new("kill")
            .args(["-INT", &apply.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(200));
    }
    // devd is still starting (its stand-in waits), yet f3s ends.
    wait_for("f3s to exit", || apply.try_wait().unwrap().is_some());
    let output = apply.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    assert!(!stdout(&output).contains("Apply summary"));
    f0.sh("rm /var/lib/lab/slow/service-start-devd");
    assert_code(&setup.f3s(&["apply", "--yes", "--host", "f0"]), 0);
}

#[test]
fn a_failing_command_skips_its_dependents_only() {
    let setup = Setup::new();
    let r0 = setup.host("r0");
    r0.sh("touch /var/lib/lab/fail/dnf-install-stunnel");
    let output = setup.f3s(&["apply", "--yes"]);
    assert_code(&output, 1);
    let text = stdout(&output);
    assert!(text.contains("r0/package:stunnel: FAILED"), "{text}");
    assert!(text.contains("injected failure"), "says why: {text}");
    assert!(
        text.contains("r0/service:stunnel: skipped: r0/package:stunnel did not converge"),
        "{text}"
    );
    assert!(
        text.contains("r0/line:vip-name: done"),
        "unrelated resources on r0 converge: {text}"
    );
    assert!(
        !text.contains("f0/") || !text.contains("f0/file:/etc/exports: FAILED"),
        "{text}"
    );
    assert_code(
        &setup.f3s(&["plan", "--detailed-exitcode", "--host", "f0"]),
        0,
    );
}

#[test]
fn a_saved_plan_applies_only_without_drift() {
    let setup = Setup::new();
    let planfile = setup.lab.dir().join("plan.json");
    let planfile = planfile.to_str().unwrap();
    assert_code(&setup.f3s(&["plan", "-o", planfile]), 0);
    setup
        .host("f0")
        .write("/etc/motd", "drift elsewhere is not drift\n");
    setup.host("f0").write(
        "/usr/local/bin/carpcontrol.sh",
        "#!/bin/sh\n# edited by hand\n",
    );
    let stale = setup.f3s(&["apply", "--yes", planfile]);
    assert_code(&stale, 1);
    let err = stderr(&stale);
    assert!(
        err.contains("the saved plan is stale: f0 changed since it was made"),
        "{err}"
    );
    assert_eq!(
        setup.host("r0").read_text("/etc/stunnel/stunnel.conf"),
        None,
        "nothing was applied"
    );

    assert_code(&setup.f3s(&["plan", "-o", planfile]), 0);
    assert_code(&setup.f3s(&["apply", "--yes", planfile]), 0);
    assert_code(&setup.f3s(&["plan", "--detailed-exitcode"]), 0);
}

/// A first run from an account that has never used ssh: no ~/.ssh at all. The unknown key is
/// reported as such (not as an unreadable file), and --accept-new-host-keys makes the
/// directory (0700, as ssh does) and the file.
#[test]
fn a_first_run_on_a_fresh_account_makes_its_known_hosts() {
    use std::os::unix::fs::PermissionsExt as _;
    let setup = Setup::new();
    let fresh = setup.lab.dir().join("fresh-home/.ssh/known_hosts");
    let text = std::fs::read_to_string(&setup.inventory).unwrap();
    let known = setup.lab.known_hosts.display().to_string();
    std::fs::write(
        &setup.inventory,
        text.replace(&known, &fresh.display().to_string()),
    )
    .unwrap();
    let unknown = setup.f3s(&["plan", "--host", "f0"]);
    assert_code(&unknown, 1);
    assert!(
        stderr(&unknown).contains("f0: unknown host key SHA256:"),
        "{}",
        stderr(&unknown)
    );
    assert_code(
        &setup.f3s(&["plan", "--host", "f0", "--accept-new-host-keys"]),
        0,
    );
    let f0 = setup.host("f0");
    let written = std::fs::read_to_string(&fresh).unwrap();
    assert!(
        written.contains(&format!("[{}]:{}", f0.address, f0.port)),
        "{written}"
    );
    let dir = std::fs::metadata(fresh.parent().unwrap()).unwrap();
    assert_eq!(dir.permissions().mode() & 0o777, 0o700);
    assert_code(&setup.f3s(&["plan", "--host", "f0"]), 0);
}

#[test]
fn a_second_apply_on_a_locked_host_names_the_holder() {
    let setup = Setup::new();
    let f0 = setup.host("f0");
    f0.sh("touch /var/lib/lab/slow/service-start-devd");
    let first = setup.spawn(&["apply", "--yes", "--host", "f0"]);
    wait_for("the first apply to hold the lock", || {
        f0.calls().iter().any(|c| c == "service devd onestart")
    });
    let second = setup.f3s(&["apply", "--yes", "--host", "f0"]);
    assert_code(&second, 1);
    let err = stderr(&second);
    assert!(
        err.contains("f0 is locked by another apply: f3s apply by"),
        "{err}"
    );
    assert!(
        err.contains(&format!("(pid {})", first.id())),
        "names the holder: {err}"
    );
    f0.sh("rm /var/lib/lab/slow/service-start-devd");
    assert_code(&first.wait_with_output().unwrap(), 0);
}

#[test]
fn apply_refuses_without_yes_when_not_on_a_terminal() {
    let setup = Setup::new();
    let output = setup.f3s(&["apply"]);
    assert_code(&output, 1);
    assert!(
        stderr(&output).contains("standard input is not a terminal"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        setup.host("r0").read_text("/etc/stunnel/stunnel.conf"),
        None
    );
}

#[test]
fn facts_record_every_host_in_one_command_so_a_plan_from_them_matches_the_live_one() {
    let setup = Setup::new();
    assert_code(&setup.f3s(&["apply", "--yes", "--host", "f0"]), 0);
    assert!(
        setup
            .host("f0")
            .read_text("/etc/rc.conf")
            .unwrap()
            .contains(&common::example_secret())
    );
    let recorded = setup.lab.dir().join("recorded");
    let recorded = recorded.to_str().unwrap();
    // Every host of the inventory, in one command.
    assert_code(&setup.f3s(&["facts", "--save", recorded]), 0);
    let r0 = std::fs::read_to_string(format!("{recorded}/r0.yml")).unwrap();
    assert!(r0.contains("os: rocky"), "{r0}");
    let facts = std::fs::read_to_string(format!("{recorded}/f0.yml")).unwrap();
    assert!(facts.contains("os: freebsd"), "{facts}");
    assert!(
        facts.contains("ifconfig_re0_alias0:\n    hmac: hmac-sha256:"),
        "secrets as keyed fingerprints: {facts}"
    );
    assert!(!facts.contains(&common::example_secret()));
    let live = setup.f3s(&["plan", "--json"]);
    let replayed = setup.f3s(&["plan", "--json", "--state", recorded]);
    assert_code(&replayed, 0);
    assert_eq!(stdout(&live), stdout(&replayed));
}

#[test]
fn facts_record_the_hosts_reached_and_name_the_one_that_is_down() {
    let setup = Setup::new();
    setup.host("r0").stop();
    let recorded = setup.lab.dir().join("recorded");
    let saved = setup.f3s(&["facts", "--save", recorded.to_str().unwrap()]);
    assert_code(&saved, 1);
    assert!(
        stderr(&saved).contains("r0: cannot connect to"),
        "{}",
        stderr(&saved)
    );
    let f0 = std::fs::read_to_string(recorded.join("f0.yml")).unwrap();
    assert!(f0.contains("os: freebsd"), "{f0}");
    assert!(!recorded.join("r0.yml").exists());

    let printed = setup.f3s(&["facts", "--host", "f0,r0"]);
    assert_code(&printed, 1);
    assert_eq!(stdout(&printed), f0);
    assert!(stderr(&printed).contains("r0: cannot connect to"));
}

#[test]
fn a_host_running_another_os_than_declared_is_stopped() {
    let lab = Lab::start(&[("f0", Os::Freebsd)]);
    let hosts = lab
        .inventory_hosts(&|_| String::new())
        .replace("os: freebsd", "os: rocky");
    let yaml = format!(
        "module_path: [{ROOT}/modules]\ndefaults:\n  vars:\n    domain: lan\n    vip: 192.168.1.138\n    vip_names: [f3s-storage-ha, f3s-storage-ha.lan]\n  modules:\n    - module: vip_hosts\n{hosts}"
    );
    let inventory = lab.dir().join("inventory.yml");
    std::fs::write(&inventory, yaml).unwrap();
    let output = common::f3s(&["plan", "-i", inventory.to_str().unwrap()]);
    assert_code(&output, 1);
    let err = stderr(&output);
    assert!(
        err.contains("f0: the host runs FreeBSD, but the inventory says rocky (Linux)"),
        "{err}"
    );
}
