//! Rolling apply over real SSH: two FreeBSD-like lab hosts f0 and f1 in a group whose rollout
//! applies f1 (the standby) first, then f0, with a health command the test can make fail.
//! A failed check, a batch that does not converge, or a batch host not reached stops the
//! rollout, and f0 is left byte for byte as it was; a check's output quoting a secret is
//! withheld.

mod common;
mod lab;

use std::path::PathBuf;
use std::process::Output;

use common::{assert_code, stderr, stdout};
use lab::{Lab, LabHost, Os};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Fails, printing why, while /var/lib/lab/unhealthy exists. Logs each run to the call log
/// (which the lab leaves out of a host's changes), saying whether the host was converged.
const HEALTH: &str = "echo health-check $([ -e /etc/exports ] && echo after || echo before) convergence >> /var/log/lab/calls.log; if [ -e /var/lib/lab/unhealthy ]; then cat /var/lib/lab/unhealthy; exit 1; fi";

/// The call log's line of a health check run on a converged host.
const CHECKED: &str = "health-check after convergence";

struct Setup {
    lab: Lab,
    inventory: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let lab = Lab::start(&[("f0", Os::Freebsd), ("f1", Os::Freebsd)]);
        let yaml = format!(
            "module_path: [{ROOT}/modules]\n\
             secrets:\n  carp_password:\n    file: {ROOT}/examples/fixture/secrets/carp_password\n\
             defaults:\n  vars:\n    domain: lan.buetow.org\n    vip: 192.168.1.138\n    vip_names: [f3s-storage-ha, f3s-storage-ha.lan]\n    carp_password: {{ secret: carp_password }}\n  \
             modules:\n    - module: vip_hosts\n\
             groups:\n  nfs-servers:\n    hosts: [f0, f1]\n    modules:\n      - module: nfs_server\n    \
             rollout:\n      batches: [[f1], [f0]]\n      health: '{HEALTH}'\n{}",
            lab.inventory_hosts(&|_| String::new())
        );
        let inventory = lab.dir().join("inventory.yml");
        std::fs::write(&inventory, yaml).unwrap();
        Setup { lab, inventory }
    }

    fn apply(&self) -> Output {
        common::f3s(&["apply", "-i", self.inventory.to_str().unwrap(), "--yes"])
    }

    fn host(&self, name: &str) -> &LabHost {
        self.lab.host(name)
    }
}

/// The position of the first line of `text` that starts with `prefix` and contains `word`.
fn first_line(text: &str, prefix: &str, word: &str) -> usize {
    text.lines()
        .position(|line| line.starts_with(prefix) && line.contains(word))
        .unwrap_or_else(|| panic!("no `{prefix}…{word}` line in:\n{text}"))
}

/// Asserts that `run` left f0 exactly as it was (observing it and taking its lock only
/// read), and did not even check it.
fn assert_untouched(f0: &LabHost, run: impl FnOnce()) {
    let changes = f0.changes();
    run();
    assert_eq!(f0.changes(), changes, "f0 is byte-identical");
    let calls = f0.calls();
    assert!(
        !calls.iter().any(|call| call.starts_with("health-check")),
        "f0 was checked: {calls:?}"
    );
}

#[test]
fn a_rolling_apply_converges_the_standby_batch_first() {
    let setup = Setup::new();
    let plan = common::f3s(&["plan", "-i", setup.inventory.to_str().unwrap()]);
    assert!(
        stdout(&plan).contains("Rollout of `nfs-servers`: f1, then f0; health check after each batch: echo health-check"),
        "{}",
        stdout(&plan)
    );

    let applied = setup.apply();
    assert_code(&applied, 0);
    let text = stdout(&applied);
    // Every resource of f1 finished, and f1 passed its check, before anything of f0 started.
    let lines: Vec<&str> = text.lines().collect();
    let last_f1 = lines.iter().rposition(|l| l.starts_with("f1/")).unwrap();
    let checked_f1 = first_line(
        &text,
        "rollout of `nfs-servers`: health check on f1",
        "passed",
    );
    let first_f0 = first_line(&text, "f0/", "applying");
    assert!(last_f1 < checked_f1 && checked_f1 < first_f0, "{text}");
    // The last batch is checked too.
    let checked_f0 = first_line(
        &text,
        "rollout of `nfs-servers`: health check on f0",
        "passed",
    );
    assert!(checked_f0 > first_f0, "{text}");
    for host in ["f0", "f1"] {
        let calls = setup.host(host).calls();
        assert!(calls.contains(&CHECKED.to_string()), "{host}: {calls:?}");
    }
    assert!(setup.host("f0").read_text("/etc/exports").is_some());
    let again = common::f3s(&[
        "plan",
        "-i",
        setup.inventory.to_str().unwrap(),
        "--detailed-exitcode",
    ]);
    assert_code(&again, 0);
}

#[test]
fn a_failed_health_check_stops_the_rollout_before_the_master() {
    let setup = Setup::new();
    let (f0, f1) = (setup.host("f0"), setup.host("f1"));
    f1.write("/var/lib/lab/unhealthy", "nfsd is not running\n");
    let mut applied = None;
    assert_untouched(f0, || applied = Some(setup.apply()));
    let applied = applied.unwrap();
    assert_code(&applied, 1);
    // f1 itself was converged, then checked.
    assert!(f1.read_text("/etc/exports").is_some());
    assert!(f1.calls().contains(&CHECKED.to_string()));
    let err = stderr(&applied);
    assert!(
        err.contains("rollout of `nfs-servers` stopped: health check on f1 failed: exit status 1: nfsd is not running"),
        "{err}"
    );
    assert!(err.contains("nothing more was started on f0"), "{err}");
    let text = stdout(&applied);
    assert!(
        text.contains("f0/file:/etc/exports  not started: rollout of `nfs-servers` stopped: health check on f1 failed"),
        "{text}"
    );
    assert!(!text.contains("f0/file:/etc/exports: applying"), "{text}");
}

#[test]
fn a_batch_that_does_not_converge_stops_the_rollout() {
    let setup = Setup::new();
    let (f0, f1) = (setup.host("f0"), setup.host("f1"));
    // mountd runs on f1 (rc.d/mountd's precmd wants a readable /etc/exports; rc.subr starts
    // a service not enabled only as `onestart`), so the new exports reload it; it fails.
    let started = f1.sh(
        "echo '/data/old' > /etc/exports && service mountd onestart && touch /var/lib/lab/fail/service-reload-mountd",
    );
    assert!(started.status.success(), "{started:?}");
    let mut applied = None;
    assert_untouched(f0, || applied = Some(setup.apply()));
    let applied = applied.unwrap();
    assert_code(&applied, 1);
    let err = stderr(&applied);
    assert!(
        err.contains("rollout of `nfs-servers` stopped: f1/service:mountd did not converge"),
        "{err}"
    );
    // Unconverged, f1 is not checked: the rollout stops all the same.
    let calls = f1.calls();
    assert!(
        !calls.iter().any(|c| c.starts_with("health-check")),
        "{calls:?}"
    );
}

#[test]
fn a_batch_host_not_reached_stops_the_rollout() {
    let setup = Setup::new();
    setup.host("f1").stop();
    let mut applied = None;
    assert_untouched(setup.host("f0"), || applied = Some(setup.apply()));
    let applied = applied.unwrap();
    assert_code(&applied, 1);
    let err = stderr(&applied);
    assert!(
        err.contains("rollout of `nfs-servers` stopped: f1 was not reached"),
        "{err}"
    );
    assert!(err.contains("f1: cannot connect"), "{err}");
}

#[test]
fn a_health_check_quoting_a_secret_is_withheld() {
    let setup = Setup::new();
    let secret = common::example_secret();
    setup.host("f1").write(
        "/var/lib/lab/unhealthy",
        &format!("bad password {secret}\n"),
    );
    let applied = setup.apply();
    assert_code(&applied, 1);
    let (out, err) = (stdout(&applied), stderr(&applied));
    assert!(
        !out.contains(&secret) && !err.contains(&secret),
        "{out}\n{err}"
    );
    assert!(
        out.contains("health check on f1: FAILED: exit status 1: (withheld: it quotes a secret)"),
        "{out}"
    );
    assert!(
        err.contains("rollout of `nfs-servers` stopped: health check on f1 failed"),
        "{err}"
    );
}

/// A health check printing terminal commands (cursor up, erase line, a window title) is shown
/// with them made visible, in apply's line for the check and in the error it stops with.
#[test]
fn a_health_checks_output_is_shown_escaped() {
    let setup = Setup::new();
    setup.host("f1").write(
        "/var/lib/lab/unhealthy",
        "\x1b[2A\x1b[2K\x1b]0;owned\x07nfsd runs\u{9b}1A\n",
    );
    let applied = setup.apply();
    assert_code(&applied, 1);
    let (out, err) = (stdout(&applied), stderr(&applied));
    let shown = "\\x1b[2A\\x1b[2K\\x1b]0;owned\\x07nfsd runs\\u{9b}1A";
    assert!(
        out.contains(&format!(
            "health check on f1: FAILED: exit status 1: {shown}\n"
        )),
        "{out}"
    );
    assert!(err.contains(shown), "{err}");
    for text in [&out, &err] {
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "no control reaches the screen raw: {text:?}"
        );
    }
}
