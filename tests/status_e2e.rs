//! `f3s status` on the lab cluster (the real inventory and modules on six lab hosts, as
//! tests/storage_e2e.rs starts them): all OK once converged, read in one read-only exec per
//! host; then a failover, a split brain, a stalled replication (the replica's newest snapshot
//! against the source's, across f0 and f1), an unloaded key, a stopped client stunnel and a
//! host gone each turn their row, with what to do, and the exit code follows. A hung check is
//! killed at its timeout.

mod common;
mod lab;

use std::path::PathBuf;
use std::process::Output;

use common::{LAB_CARP_PASSWORD, LAB_DIGEST_KEY, assert_code, stdout};
use lab::{Lab, LabHost, Os, sh_ok};
use serde_json::Value;

const HOSTS: [&str; 6] = ["f0", "f1", "f2", "r0", "r1", "r2"];
const CARP: &str = "carp 192.168.1.138 vhid 1";
const NFS_SOURCE: &str = "zdata/enc/nfsdata";
const NFS_REPLICA: &str = "zdata/sink/f0/zdata/enc/nfsdata";
const VM_SOURCE: &str = "zroot/bhyve/fedora";
const VM_REPLICA: &str = "zdata/sink/f0/zroot/bhyve/fedora";
const NFS_JOB: &str = "replication f0_to_f1_nfsdata";
/// The first snapshot of each job, as zrepl names them (prefix, then the UTC time).
const FIRST: &str = "zrepl_20261207_101500_000";

struct Cluster {
    lab: Lab,
    inventory: PathBuf,
}

impl Cluster {
    /// The lab cluster, converged, with the VM's dataset on f0 (the admin's, not f3s's), a
    /// snapshot of each job's filesystem taken on f0 and received on f1 (and the replicas'
    /// keys loaded by a second apply, as the standby_replica module does).
    fn converged() -> Self {
        let (lab, inventory) = Lab::real_cluster(LAB_CARP_PASSWORD, LAB_DIGEST_KEY);
        let cluster = Cluster { lab, inventory };
        assert_code(&cluster.f3s(&["apply", "--yes"]), 0);
        sh_ok(cluster.host("f0"), &format!("zfs create {VM_SOURCE}"));
        for (source, replica) in [(NFS_SOURCE, NFS_REPLICA), (VM_SOURCE, VM_REPLICA)] {
            cluster.snapshot(source, FIRST);
            cluster.receive(source, replica);
        }
        assert_code(&cluster.f3s(&["apply", "--yes"]), 0);
        cluster
    }

    /// What zrepl's snapshotting does on f0: `zfs snapshot SOURCE@NAME`.
    fn snapshot(&self, source: &str, name: &str) {
        sh_ok(self.host("f0"), &format!("zfs snapshot {source}@{name}"));
    }

    /// What zrepl's replication does: f0's newest snapshot of `source` received on f1, with
    /// its name and creation time.
    fn receive(&self, source: &str, replica: &str) {
        let listed = sh_ok(
            self.host("f0"),
            &format!("zfs list -H -p -t snapshot -o name,creation -s creation -d 1 {source}"),
        );
        let newest = listed.lines().last().expect("a snapshot on f0");
        let (name, creation) = newest.split_once('\t').expect("NAME<TAB>CREATION");
        let name = name.strip_prefix(&format!("{source}@")).unwrap();
        sh_ok(
            self.host("f1"),
            &format!("zfs lab-receive {replica} {name} {creation}"),
        );
    }

    /// Sets the snapshots the lab's zfs keeps of `dataset` on `host`: each NAME taken
    /// `seconds` before `now`, oldest first.
    fn snapshots_at(&self, host: &str, dataset: &str, now: u64, snapshots: &[(&str, u64)]) {
        let lines: String = snapshots
            .iter()
            .map(|(name, ago)| format!("{} {name}\n", now - ago))
            .collect();
        let file = format!("/var/lib/lab/zfs/snap/{}", dataset.replace('/', "%"));
        sh_ok(
            self.host(host),
            &format!("printf '%s' '{lines}' > '{file}'"),
        );
    }

    fn f3s(&self, args: &[&str]) -> Output {
        common::f3s_on(&self.inventory, args)
    }

    fn host(&self, name: &str) -> &LabHost {
        self.lab.host(name)
    }

    /// `f3s status --json`, its exit code checked, parsed.
    fn status(&self, code: i32) -> Value {
        let output = self.f3s(&["status", "--json"]);
        assert_code(&output, code);
        serde_json::from_str(&stdout(&output)).expect("status --json is JSON")
    }
}

/// The row of `check` on `host` in a JSON report.
fn row<'a>(report: &'a Value, host: &str, check: &str) -> &'a Value {
    report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == host)
        .and_then(|h| {
            h["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["check"] == check)
        })
        .unwrap_or_else(|| panic!("no row {check} on {host}: {report:#}"))
}

/// The row of `check` across hosts in a JSON report.
fn across<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["across"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["check"] == check)
        .unwrap_or_else(|| panic!("no {check} across hosts: {report:#}"))
}

/// The rows that are not OK, as `host check`.
fn failing(report: &Value) -> Vec<String> {
    let mut rows = Vec::new();
    for host in report["hosts"].as_array().unwrap() {
        for check in host["checks"].as_array().unwrap() {
            if check["level"] != "OK" {
                rows.push(format!("{} {}", host["host"], check["check"]));
            }
        }
    }
    for across in report["across"].as_array().unwrap() {
        if across["level"] != "OK" {
            rows.push(format!("across {}", across["check"]));
        }
    }
    rows
}

/// What the stand-ins log for a status read: each only reads.
const READ_ONLY: &[&str] = &[
    "ifconfig re0",
    "service rpcbind onestatus",
    "service mountd onestatus",
    "service nfsd onestatus",
    "service nfsuserd onestatus",
    "service stunnel onestatus",
    "zfs list -H -p -t snapshot -o name,creation -s creation -d 1 ",
    "zpool list -H -o health ",
    "zfs get -H -p -o value keystatus ",
    "systemctl is-active --quiet -- stunnel",
    "findmnt -n -o FSTYPE --mountpoint ",
];

fn read_only(call: &str) -> bool {
    READ_ONLY
        .iter()
        .any(|prefix| call == *prefix || (prefix.ends_with(' ') && call.starts_with(prefix)))
}

#[test]
fn the_read_only_check_catches_a_mutating_call() {
    assert!(read_only("service nfsd onestatus"));
    assert!(read_only("ifconfig re0"));
    assert!(!read_only("ifconfig re0 vhid 1 state master"));
    assert!(!read_only("service nfsd onestart"));
    assert!(!read_only(
        "systemctl is-active --quiet -- stunnel; systemctl stop stunnel"
    ));
}

#[test]
fn the_cluster_is_all_ok_once_converged_and_each_fault_turns_its_row() {
    let cluster = Cluster::converged();
    let before: Vec<_> = HOSTS
        .iter()
        .map(|h| {
            let host = cluster.host(h);
            (host.changes(), host.calls().len(), host.execs())
        })
        .collect();

    let output = cluster.f3s(&["status"]);
    assert_code(&output, 0);
    let text = stdout(&output);
    for shown in [
        "f0\n",
        &format!("OK    {CARP}"),
        "MASTER\n",
        "newest snapshot ",
        "(warn > 5 min, fail > 30 min)",
        "answers in ",
        "expires in 3,6",
        "(warn < 30 days, fail < 1 day)",
        "key available",
        "across hosts\n",
        "MASTER on f0",
        &format!(
            "OK    {NFS_JOB} [f0 f1]  holds f0's newest snapshot {FIRST} (warn > 5 min, fail > 30 min behind)"
        ),
    ] {
        assert!(text.contains(shown), "{shown:?} in:\n{text}");
    }
    assert!(
        !text.contains("WARN  ") && !text.contains("FAIL  "),
        "{text}"
    );

    // Read-only, one exec per host: nothing changed, only reading calls.
    for (name, (changes, calls, execs)) in HOSTS.iter().zip(before) {
        let host = cluster.host(name);
        assert_eq!(host.changes(), changes, "{name} unchanged by status");
        assert_eq!(host.execs(), execs + 1, "one exec on {name}");
        let new_calls = host.calls().split_off(calls);
        assert!(!new_calls.is_empty(), "status read {name}");
        let mutating: Vec<_> = new_calls.iter().filter(|c| !read_only(c)).collect();
        assert!(mutating.is_empty(), "status ran on {name}: {mutating:?}");
    }

    let report = cluster.status(0);
    assert_eq!(report["summary"]["exit_code"], 0);
    assert_eq!(report["summary"]["fail"], 0);
    assert_eq!(row(&report, "f0", CARP)["value"], "MASTER");
    assert_eq!(row(&report, "f1", CARP)["value"], "BACKUP");
    for host in ["f0", "f1", "f2"] {
        assert_eq!(row(&report, host, "pool zdata")["value"], "ONLINE");
        assert_eq!(row(&report, host, "key zroot/bhyve")["level"], "OK");
    }
    assert_eq!(
        row(&report, "f1", &format!("key {NFS_REPLICA}"))["value"],
        "key available"
    );
    assert_eq!(row(&report, "f1", "service nfsd")["value"], "stopped");
    assert_eq!(row(&report, "f0", "service nfsd")["value"], "running");
    assert_eq!(row(&report, "r1", "service stunnel")["value"], "running");
    assert_eq!(
        across(&report, "replication f0_to_f1_fedora")["value"],
        format!("holds f0's newest snapshot {FIRST} (warn > 30 min, fail > 2 h behind)")
    );

    // A failover: CARP moves MASTER to f1, and nothing ran carpcontrol.sh. One MASTER still,
    // but NFS and stunnel run on the BACKUP and not on the MASTER.
    sh_ok(cluster.host("f1"), "ifconfig re0 vhid 1 state master");
    let report = cluster.status(1);
    assert_eq!(report["across"][0]["value"], "MASTER on f1");
    let nfsd = row(&report, "f0", "service nfsd");
    assert_eq!(nfsd["level"], "FAIL");
    assert_eq!(nfsd["value"], "running");
    assert_eq!(
        nfsd["problem"],
        format!("expected stopped where `{CARP}` reads BACKUP")
    );
    assert!(
        nfsd["help"]
            .as_str()
            .unwrap()
            .contains("/usr/local/bin/carpcontrol.sh"),
        "{nfsd}"
    );
    assert_eq!(row(&report, "f1", "service nfsd")["level"], "FAIL");
    assert_eq!(row(&report, "f1", "service stunnel")["level"], "FAIL");
    sh_ok(cluster.host("f0"), "ifconfig re0 vhid 1 state master");
    assert_eq!(failing(&cluster.status(0)), Vec::<String>::new());

    // A split brain: both members MASTER (each stopped hearing the other).
    sh_ok(
        cluster.host("f1"),
        "echo MASTER > /var/lib/lab/net/carp/1-192.168.1.138/f1",
    );
    let report = cluster.status(1);
    let carp = across(&report, CARP);
    assert_eq!(carp["level"], "FAIL");
    assert_eq!(carp["value"], "MASTER on f0, f1");
    assert_eq!(carp["problem"], "2 hosts read MASTER, exactly one should");
    sh_ok(
        cluster.host("f1"),
        "echo BACKUP > /var/lib/lab/net/carp/1-192.168.1.138/f1",
    );

    // The replica against its source, across f0 and f1. A snapshot zrepl took on f0 and has
    // not sent yet: one behind, by moments, is how zrepl runs (OK).
    let second = "zrepl_20261207_102000_000";
    cluster.snapshot(NFS_SOURCE, second);
    let report = cluster.status(0);
    let replica = across(&report, NFS_JOB);
    assert_eq!(replica["level"], "OK", "{replica}");
    assert_eq!(replica["hosts"], serde_json::json!(["f0", "f1"]));
    assert!(
        replica["value"].as_str().unwrap().starts_with(&format!(
            "1 snapshot behind f0 (newest on f1 {FIRST}, on f0 {second}; "
        )),
        "{replica}"
    );
    assert_eq!(row(&report, "f0", NFS_JOB)["level"], "OK");

    // A stalled replication: f0 took a snapshot every 5 minutes and f1 received none of the
    // last three: 15 minutes behind (WARN), and the newest on f1 as old.
    let taken = [
        (FIRST, 900),
        (second, 600),
        ("zrepl_20261207_102500_000", 300),
        ("zrepl_20261207_103000_000", 0),
    ];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    cluster.snapshots_at("f0", NFS_SOURCE, now, &taken);
    cluster.snapshots_at("f1", NFS_REPLICA, now, &taken[..1]);
    let report = cluster.status(2);
    let replica = across(&report, NFS_JOB);
    assert_eq!(replica["level"], "WARN");
    assert_eq!(
        replica["value"],
        format!(
            "3 snapshots behind f0 (newest on f1 {FIRST}, on f0 zrepl_20261207_103000_000; \
             15 min behind; warn > 5 min, fail > 30 min)"
        )
    );
    assert_eq!(
        replica["problem"],
        format!(
            "past the warn bound: {NFS_REPLICA} on f1 lacks the last 3 snapshots of \
             {NFS_SOURCE} on f0"
        )
    );
    assert!(
        replica["help"]
            .as_str()
            .unwrap()
            .contains("`zrepl status` on f0 and f1"),
        "{replica}"
    );
    assert_eq!(row(&report, "f1", NFS_JOB)["level"], "WARN");
    assert_eq!(
        failing(&report),
        vec![
            format!("\"f1\" \"{NFS_JOB}\""),
            format!("across \"{NFS_JOB}\""),
        ]
    );
    let output = cluster.f3s(&["status"]);
    assert_code(&output, 2);
    let text = stdout(&output);
    assert!(
        text.contains(&format!("WARN  {NFS_JOB} [f0 f1]  3 snapshots behind f0 (")),
        "{text}"
    );

    // Two hours behind, the newest on f1 one f0 no longer has (pruned): FAIL both.
    cluster.snapshots_at(
        "f1",
        NFS_REPLICA,
        now,
        &[("zrepl_20261207_081500_000", 7200)],
    );
    let report = cluster.status(1);
    let replication = row(&report, "f1", NFS_JOB);
    assert_eq!(replication["level"], "FAIL");
    assert_eq!(
        replication["value"],
        "newest snapshot 2 h old (warn > 5 min, fail > 30 min)"
    );
    assert!(
        replication["help"]
            .as_str()
            .unwrap()
            .contains("`zrepl status` on f0 and f1"),
        "{replication}"
    );
    let replica = across(&report, NFS_JOB);
    assert_eq!(replica["level"], "FAIL");
    assert!(
        replica["value"]
            .as_str()
            .unwrap()
            .starts_with("4 snapshots behind f0 (newest on f1 zrepl_20261207_081500_000, on f0 zrepl_20261207_103000_000; 2 h behind;"),
        "{replica}"
    );
    // The VM job has thresholds of its own.
    assert!(
        row(&report, "f1", "replication f0_to_f1_fedora")["value"]
            .as_str()
            .unwrap()
            .ends_with("(warn > 30 min, fail > 2 h)")
    );
    // None on f1 at all.
    cluster.snapshots_at("f1", NFS_REPLICA, now, &[]);
    let report = cluster.status(1);
    assert_eq!(row(&report, "f1", NFS_JOB)["value"], "no snapshot");
    let replica = across(&report, NFS_JOB);
    assert_eq!(
        replica["value"],
        "no snapshot on f1 (newest on f0 zrepl_20261207_103000_000)"
    );
    // Replicated again: f1 holds f0's newest.
    cluster.receive(NFS_SOURCE, NFS_REPLICA);
    let report = cluster.status(0);
    assert_eq!(
        across(&report, NFS_JOB)["value"],
        "holds f0's newest snapshot zrepl_20261207_103000_000 (warn > 5 min, fail > 30 min behind)"
    );

    // An unloaded key on f2.
    sh_ok(
        cluster.host("f2"),
        "echo unavailable > /var/lib/lab/zfs/ds/zroot%bhyve/keystatus",
    );
    let report = cluster.status(1);
    let key = row(&report, "f2", "key zroot/bhyve");
    assert_eq!(key["value"], "key unavailable");
    assert_eq!(key["problem"], "expected available");
    assert!(
        key["help"]
            .as_str()
            .unwrap()
            .contains("`zfs load-key zroot/bhyve`")
    );
    assert_eq!(failing(&report).len(), 1, "{:?}", failing(&report));
    sh_ok(cluster.host("f2"), "zfs load-key zroot/bhyve");

    // A stopped client stunnel on r1.
    sh_ok(cluster.host("r1"), "systemctl stop stunnel");
    let output = cluster.f3s(&["status"]);
    assert_code(&output, 1);
    let text = stdout(&output);
    assert!(text.contains("FAIL  service stunnel"), "{text}");
    assert!(text.contains("expected running"), "{text}");
    assert!(
        text.contains(
            "help: the NFS mount reaches the server through this stunnel: `systemctl start stunnel`"
        ),
        "{text}"
    );
    let report = cluster.status(1);
    assert_eq!(
        failing(&report),
        vec!["\"r1\" \"service stunnel\"".to_string()]
    );
    sh_ok(cluster.host("r1"), "systemctl start stunnel");
    assert_eq!(failing(&cluster.status(0)), Vec::<String>::new());

    // A host gone: its row says so, the others are read all the same.
    cluster.host("r2").stop();
    let report = cluster.status(1);
    let gone = row(&report, "r2", "reachable");
    assert_eq!(gone["level"], "FAIL");
    assert_eq!(gone["value"], "not reached");
    assert_eq!(row(&report, "r0", "service stunnel")["level"], "OK");

    // --host reads only those hosts; the CARP check across hosts needs both members.
    let output = cluster.f3s(&["status", "--host", "f1", "--json"]);
    assert_code(&output, 0);
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["hosts"].as_array().unwrap().len(), 1);
    assert_eq!(report["across"].as_array().unwrap().len(), 0);

    // The CARP password is in no output.
    for output in [cluster.f3s(&["status"]), cluster.f3s(&["status", "--json"])] {
        assert!(!stdout(&output).contains(LAB_CARP_PASSWORD));
        assert!(!common::stderr(&output).contains(LAB_CARP_PASSWORD));
    }
}

/// One Rocky lab host with a module of `status:` entries, and the inventory reaching it.
fn one_host_with(status: &str) -> (Lab, PathBuf) {
    let lab = Lab::start(&[("r0", Os::Rocky)]);
    let modules = lab.dir().join("modules");
    std::fs::create_dir_all(modules.join("checks")).unwrap();
    std::fs::write(modules.join("checks/module.yml"), status).unwrap();
    let host_modules = |_: &LabHost| "    modules:\n      - module: checks\n".to_string();
    let inventory = lab.dir().join("inventory.yml");
    std::fs::write(
        &inventory,
        format!(
            "module_path: [{}]\n{}",
            modules.display(),
            lab.inventory_hosts(&host_modules)
        ),
    )
    .unwrap();
    (lab, inventory)
}

/// A check that hangs (a stat on a hung NFS mount) is killed at its timeout: its row says so,
/// the host's other checks are read.
#[test]
fn a_hung_check_is_a_fail_row_at_its_timeout() {
    let (_lab, inventory) = one_host_with(
        "status:\n  - check: hung mount\n    read: command\n    command: sleep 600\n    timeout: 1\n    \
         help: see what holds it\n  - check: echo\n    read: command\n    command: echo fine\n    expect: [fine]\n",
    );
    let output = common::f3s_on(&inventory, &["status", "--json"]);
    assert_code(&output, 1);
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let hung = row(&report, "r0", "hung mount");
    assert_eq!(hung["level"], "FAIL");
    assert!(
        hung["problem"]
            .as_str()
            .unwrap()
            .starts_with("did not answer within 1 s"),
        "{hung}"
    );
    assert_eq!(row(&report, "r0", "echo")["level"], "OK");
}

/// `--watch 1` reads again and prints again, each reading what the host says then, until it
/// is stopped.
#[test]
fn watch_reads_again_until_stopped() {
    use std::io::{BufRead as _, BufReader};
    let (lab, inventory) = one_host_with(
        "status:\n  - check: flag\n    read: command\n    command: cat /tmp/flag\n    expect: [up]\n",
    );
    let r0 = lab.host("r0");
    r0.write("/tmp/flag", "down\n");
    let mut watch = common::spawn(&["status", "-i", inventory.to_str().unwrap(), "--watch", "1"]);
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let mut summaries: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    // Up to 10 readings, so a watch that never sees the change fails rather than hangs.
    while summaries.len() < 10
        && (summaries.len() < 2 || !summaries.last().unwrap().starts_with("1 OK"))
    {
        let line = lines.next().expect("watch prints on").unwrap();
        if line.contains("FAIL  flag") && summaries.is_empty() {
            // Seen failing once: the next readings see the flag up.
            r0.write("/tmp/flag", "up\n");
        }
        if line.ends_with("FAIL.") {
            summaries.push(line.clone());
        }
        seen.push(line);
    }
    // Only the f3s this test started, by its PID.
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(summaries[0], "0 OK, 0 WARN, 1 FAIL.", "{seen:#?}");
    assert_eq!(
        summaries.last().unwrap(),
        "1 OK, 0 WARN, 0 FAIL.",
        "{seen:#?}"
    );
}
