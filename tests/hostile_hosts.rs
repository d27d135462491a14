//! Hosts that lie, stall or die, over real SSH: a lab host made to lie (`LabHost::lie_with`)
//! answers f3s's scripts as an attacker who owns it would. Whatever it sends is bounded, every
//! exchange has a wall-clock deadline, and the honest host beside it is planned and applied
//! all the same.

mod common;
mod lab;

use std::io::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use common::stderr;
use lab::{Lab, Os};

/// Two Rocky-like hosts, r0 honest and r1 the liar, each managing one small file.
struct Setup {
    lab: Lab,
    inventory: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let lab = Lab::start(&[("r0", Os::Rocky), ("r1", Os::Rocky)]);
        let modules = lab.dir().join("modules");
        std::fs::create_dir_all(modules.join("note")).unwrap();
        std::fs::write(
            modules.join("note/module.yml"),
            "resources:\n  - file: /etc/f3s-note\n    content: \"managed by f3s\\n\"\n",
        )
        .unwrap();
        let yaml = format!(
            "module_path: [{}]\n{}",
            modules.display(),
            lab.inventory_hosts(&|_| "    modules:\n      - module: note\n".to_string())
        );
        let inventory = lab.dir().join("inventory.yml");
        std::fs::write(&inventory, yaml).unwrap();
        Setup { lab, inventory }
    }

    /// Runs f3s to its end: a run that does not end by itself within `LIVENESS` is killed
    /// and the test fails (a hang is the bug these tests look for; it is no timing claim).
    fn f3s(&self, args: &[&str]) -> Output {
        let child = common::spawn(
            &[
                &[args[0], "-i", self.inventory.to_str().unwrap()],
                &args[1..],
            ]
            .concat(),
        );
        finish(child)
    }
}

const LIVENESS: Duration = Duration::from_secs(120);

fn finish(mut child: std::process::Child) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > LIVENESS {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "f3s did not end by itself:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// The largest resident size of any child this process has waited for, in bytes.
fn children_peak_rss() -> u64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) },
        0
    );
    u64::try_from(usage.ru_maxrss).unwrap() * 1024
}

/// A liar that answers a script holding `pattern` with `answer` (a shell fragment writing to
/// stdout) and runs every other command as asked. The lock command (its script on the command
/// line, its stdin open to the end of the apply) goes through untouched.
fn liar(pattern: &str, answer: &str) -> String {
    format!(
        "#!/bin/sh\ncase \"$1\" in *LOCKED*) exec /bin/sh -c \"$1\" ;; esac\nscript=$(cat)\ncase \"$script\" in\n  *'{pattern}'*) {answer} ;;\n  *) printf '%s\\n' \"$script\" | /bin/sh -c \"$1\" ;;\nesac\n"
    )
}

/// A liar that answers the observation with `answer`.
fn lying_observation(answer: &str) -> String {
    liar("uname -s", answer)
}

/// A plan that left the liar r1 out, saying `why`, planned the honest r0 all the same, and
/// held less than 100 MiB whatever r1 sent.
fn assert_only_the_liar_left_out(output: &Output, why: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains(why), "{err}");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        out.contains("+ file:/etc/f3s-note  create"),
        "r0 is planned:\n{out}"
    );
    let peak = children_peak_rss();
    assert!(peak < 100 << 20, "f3s peaked at {} MiB", peak >> 20);
}

#[test]
fn an_answer_line_without_end_leaves_that_host_unread_and_the_others_planned() {
    let setup = Setup::new();
    setup.lab.host("r1").lie_with(&lying_observation(
        "printf 'U Linux\\nF\\n'; while :; do printf 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'; done",
    ));
    let output = setup.f3s(&["plan"]);
    assert_only_the_liar_left_out(
        &output,
        "r1: the host sent more than f3s reads in one line (64 KiB)",
    );
}

#[test]
fn an_answer_without_end_is_refused_at_the_answer_limit() {
    let setup = Setup::new();
    // Well-formed lines, forever: each is short, the answer is not.
    setup
        .lab
        .host("r1")
        .lie_with(&lying_observation("printf 'U Linux\\n'; yes 'F'"));
    let output = setup.f3s(&["plan"]);
    assert_only_the_liar_left_out(
        &output,
        "r1: the host sent more than f3s reads in one answer (64 MiB)",
    );
}

#[test]
fn a_host_that_trickles_is_cut_at_the_command_deadline() {
    let setup = Setup::new();
    setup.lab.host("r1").lie_with(&lying_observation(
        "printf 'U Linux\\n'; while :; do printf F; sleep 0.5; done",
    ));
    let output = setup.f3s(&["plan", "--command-timeout", "3"]);
    assert_only_the_liar_left_out(
        &output,
        "r1: observing the host did not finish within 3 s (--command-timeout)",
    );
}

#[test]
fn a_stalled_apply_is_cut_and_leaves_no_lock_behind() {
    let setup = Setup::new();
    // Observes and locks honestly; stalls once it is sent a batch of operations.
    setup
        .lab
        .host("r1")
        .lie_with(&liar("kept()", "while :; do printf .; sleep 0.5; done"));
    let output = setup.f3s(&["apply", "--yes", "--command-timeout", "3"]);
    let err = stderr(&output);
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        out.contains("did not finish within 3 s (--command-timeout)"),
        "{out}\n{err}"
    );
    assert_eq!(
        setup.lab.host("r0").read_text("/etc/f3s-note").as_deref(),
        Some("managed by f3s\n"),
        "the honest host was converged"
    );
    // Neither host is left locked: a second apply takes both locks.
    let again = setup.f3s(&["apply", "--yes", "--command-timeout", "3"]);
    let err = stderr(&again);
    assert!(!err.contains("locked by another apply"), "{err}");
}

/// Two applies of different inventories started at the same moment: each locks all its hosts
/// or none, so the hosts never end up split between the two (last round: 8 times in 10).
/// Without `--lock-timeout` a loser stops with nothing applied; with it, it waits its turn.
#[test]
fn two_applies_started_together_never_split_the_hosts() {
    let setup = Setup::new();
    let modules = setup.lab.dir().join("modules");
    std::fs::create_dir_all(modules.join("other")).unwrap();
    std::fs::write(
        modules.join("other/module.yml"),
        "resources:\n  - file: /etc/f3s-note\n    content: \"managed by the other\\n\"\n",
    )
    .unwrap();
    let other = setup.lab.dir().join("other.yml");
    let text = std::fs::read_to_string(&setup.inventory).unwrap();
    std::fs::write(&other, text.replace("module: note", "module: other")).unwrap();
    let start = |inventory: &PathBuf, extra: &[&str]| {
        common::spawn(
            &[
                &["apply", "-i", inventory.to_str().unwrap(), "--yes"],
                extra,
            ]
            .concat(),
        )
    };
    let notes = || -> Vec<Option<String>> {
        ["r0", "r1"]
            .iter()
            .map(|host| setup.lab.host(host).read_text("/etc/f3s-note"))
            .collect()
    };
    for trial in 0..4 {
        for host in ["r0", "r1"] {
            setup.lab.host(host).sh("rm -f /etc/f3s-note");
        }
        let (a, b) = (start(&setup.inventory, &[]), start(&other, &[]));
        let (a, b) = (finish(a), finish(b));
        let seen = notes();
        assert_eq!(seen[0], seen[1], "trial {trial}: the hosts were split");
        for output in [&a, &b] {
            let err = stderr(output);
            match output.status.code() {
                Some(0) => {}
                Some(1) => assert!(err.contains("nothing was applied: "), "{err}"),
                other => panic!("exit {other:?}: {err}"),
            }
        }
    }
    let (a, b) = (
        start(&setup.inventory, &["--lock-timeout", "60"]),
        start(&other, &["--lock-timeout", "60"]),
    );
    for output in [finish(a), finish(b)] {
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    let seen = notes();
    assert_eq!(seen[0], seen[1], "waiting, one applied after the other");
    assert!(seen[0].is_some());
}

#[test]
fn a_handshake_that_trickles_is_cut_at_the_connect_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // A server that never finishes its banner: a byte every 300 ms, for 30 s at most.
    let server = std::thread::spawn(move || {
        if let Ok((mut socket, _)) = listener.accept() {
            for _ in 0..100 {
                if socket.write_all(b"S").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.yml");
    std::fs::create_dir_all(dir.path().join("modules/note")).unwrap();
    std::fs::write(
        dir.path().join("modules/note/module.yml"),
        "resources:\n  - directory: /srv/note\n",
    )
    .unwrap();
    std::fs::write(
        &inventory,
        format!(
            "module_path: [{0}/modules]\nhosts:\n  slow:\n    os: rocky\n    address: 127.0.0.1\n    connection:\n      port: {port}\n      user: root\n      identity_file: {0}/none\n      known_hosts: {0}/known_hosts\n    modules:\n      - module: note\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let child = common::spawn(&[
        "plan",
        "-i",
        inventory.to_str().unwrap(),
        "--connect-timeout",
        "2",
    ]);
    let output = finish(child);
    let err = stderr(&output);
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}\n{err}");
    // The watchdog or libssh2's own per-call timeout, whichever comes first: each names it.
    assert!(err.contains("--connect-timeout"), "{err}");
    assert!(!err.contains("--command-timeout"), "{err}");
    server.join().unwrap();
}

/// A write onto a full filesystem fails with the reason in words, the old file left whole
/// and no temporary file behind.
#[test]
fn a_full_disk_is_named_as_such() {
    let setup = Setup::new();
    let r0 = setup.lab.host("r0");
    let mounted = r0.sh(
        "mkdir -p /srv/full && /usr/bin/mount -t tmpfs -o size=64k tmpfs /srv/full && \
         printf old > /srv/full/note && (dd if=/dev/zero of=/srv/full/filler bs=4k count=64 2>/dev/null; true)",
    );
    assert!(
        mounted.status.success(),
        "{}",
        String::from_utf8_lossy(&mounted.stderr)
    );
    let modules = setup.lab.dir().join("modules");
    std::fs::create_dir_all(modules.join("full")).unwrap();
    std::fs::write(
        modules.join("full/module.yml"),
        format!(
            "resources:\n  - file: /srv/full/note\n    content: \"{}\"\n",
            "new content ".repeat(2000)
        ),
    )
    .unwrap();
    let text = std::fs::read_to_string(&setup.inventory).unwrap();
    std::fs::write(
        &setup.inventory,
        text.replace("module: note", "module: full"),
    )
    .unwrap();
    let output = setup.f3s(&["apply", "--yes", "--host", "r0"]);
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("no space left on the filesystem holding /srv/full"),
        "{out}"
    );
    assert_eq!(r0.read_text("/srv/full/note").as_deref(), Some("old"));
    let leftovers = r0.sh("ls -A /srv/full");
    let listed = String::from_utf8_lossy(&leftovers.stdout);
    assert!(!listed.contains(".f3s."), "{listed}");
}

/// Ctrl-C while a rollout's health check hangs: f3s stops the check rather than wait out
/// `--command-timeout` (300 s by default) or the check (150 s, past `LIVENESS`), and prints
/// its summary.
#[test]
fn ctrl_c_does_not_wait_out_a_hung_health_check() {
    let setup = Setup::new();
    let text = std::fs::read_to_string(&setup.inventory).unwrap();
    let text = text.replacen(
        "hosts:\n",
        "groups:\n  pair:\n    hosts: [r0, r1]\n    rollout:\n      batches: [[r0], [r1]]\n      health: 'echo checking > /var/log/lab/health; sleep 150'\nhosts:\n",
        1,
    );
    std::fs::write(&setup.inventory, text).unwrap();
    let child = common::spawn(&["apply", "-i", setup.inventory.to_str().unwrap(), "--yes"]);
    let r0 = setup.lab.host("r0");
    let started = Instant::now();
    while r0.read_text("/var/log/lab/health").is_none() {
        assert!(
            started.elapsed() < LIVENESS,
            "the health check never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The process this test started, by its PID.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let output = finish(child);
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(130),
        "{out}\n{}",
        stderr(&output)
    );
    assert!(out.contains("Apply summary"), "{out}");
    assert!(
        setup.lab.host("r1").read_text("/etc/f3s-note").is_none(),
        "nothing of the next batch started"
    );
    // The check's sleep, which outlives the connection, is the lab's to end.
    r0.drop_connections();
}

/// A write whose shell was killed between writing its temporary file and renaming it left
/// the file behind: the next plan finds it and says so, apply removes it first, and the plan
/// after that is clean.
#[test]
fn what_an_interrupted_write_left_is_found_and_removed() {
    let setup = Setup::new();
    let r0 = setup.lab.host("r0");
    assert_eq!(setup.f3s(&["apply", "--yes"]).status.code(), Some(0));
    r0.write("/etc/.f3s.4242.0.0", "half a file");
    let plan = setup.f3s(&["plan", "--detailed-exitcode"]);
    let out = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(plan.status.code(), Some(2), "{out}");
    assert!(
        out.contains("- /etc/.f3s.4242.0.0  left by an interrupted write; apply removes it"),
        "{out}"
    );
    let apply = setup.f3s(&["apply", "--yes"]);
    let out = String::from_utf8_lossy(&apply.stdout);
    assert_eq!(apply.status.code(), Some(0), "{out}");
    assert!(
        out.contains("r0: removed what an interrupted write left: /etc/.f3s.4242.0.0"),
        "{out}"
    );
    assert_eq!(r0.read_text("/etc/.f3s.4242.0.0"), None);
    assert_eq!(
        setup.f3s(&["plan", "--detailed-exitcode"]).status.code(),
        Some(0)
    );
}
