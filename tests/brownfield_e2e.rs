//! The cluster an admin built by hand from the post, adopted: six lab hosts left as the
//! post's commands leave them (blocks appended with `tee -a`, the failback entry installed
//! with `crontab -`, scripts copied with scp and `doas mv`, keys made by hand, the clients'
//! stunnel.conf as the post lists it, no record of f3s's), then the project's own
//! inventory planned against them. The first plan destroys nothing, adds no second copy of
//! anything, and changes only what docs/guide.md lists as deliberate fixes; one apply later
//! the plan is empty. Extras the admin added by hand are kept, or flagged where a whole file
//! f3s writes would drop them.

mod common;
mod lab;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Output;

use common::{LAB_CARP_PASSWORD, LAB_DIGEST_KEY, assert_code, stdout};
use lab::{Lab, sh_ok};
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The post's devd.conf addition, as it appends it (one space of indentation).
const POST_DEVD: &str = "notify 0 {\n match \"system\" \"CARP\";\n match \"subsystem\" \"[0-9]+@[0-9a-z.]+\";\n match \"type\" \"(MASTER|BACKUP)\";\n action \"/usr/local/bin/carpcontrol.sh $subsystem $type\";\n};\n";

/// The post's client stunnel.conf for `host`: only the key named, as `cert`.
fn post_stunnel_client(host: &str) -> String {
    format!(
        "cert = /etc/stunnel/{host}-key.pem\nCAfile = /etc/stunnel/ca-cert.pem\nclient = yes\nverify = 2\n\n[nfs-ha]\naccept = 127.0.0.1:2323\nconnect = 192.168.1.138:2323\n"
    )
}

/// The changes the first plan of a hand-built cluster makes, each a deliberate fix the
/// docs/guide.md lists (section "Adopting a cluster built by hand"), as `host/kind:name`.
const DELIBERATE: &[&str] = &[
    // Markers placed around the block the admin appended: adopted, not added again.
    "f0/block:carp-notify",
    "f1/block:carp-notify",
    // devd rereads its configuration: the file changed (its markers).
    "f0/service:devd",
    "f1/service:devd",
    // The marker placed above the entry `crontab -` installed.
    "f0/cron:carp-auto-failback",
    // Scripts root runs, owned by root rather than by the admin who copied them.
    "f0/file:/usr/local/bin/carpcontrol.sh",
    "f1/file:/usr/local/bin/carpcontrol.sh",
    "f0/file:/usr/local/bin/carp",
    "f1/file:/usr/local/bin/carp",
    "f0/file:/usr/local/bin/carp-auto-failback.sh",
    // The clients' stunnel.conf names the certificate and the key (the post names the key
    // only), and stunnel restarts for it, one client at a time.
    "r0/file:/etc/stunnel/stunnel.conf",
    "r1/file:/etc/stunnel/stunnel.conf",
    "r2/file:/etc/stunnel/stunnel.conf",
    "r0/service:stunnel",
    "r1/service:stunnel",
    "r2/service:stunnel",
];

struct Cluster {
    lab: Lab,
    inventory: PathBuf,
}

impl Cluster {
    fn f3s(&self, args: &[&str]) -> Output {
        let mut full: Vec<&str> = vec![args[0], "-i", self.inventory.to_str().unwrap()];
        full.extend_from_slice(&args[1..]);
        common::f3s(&full)
    }

    fn plan_json(&self) -> Value {
        let output = self.f3s(&["plan", "--json"]);
        assert_code(&output, 0);
        serde_json::from_str(&stdout(&output)).unwrap()
    }
}

/// Leaves the converged hosts as the post's commands would have: what f3s adds of its own
/// (markers, its record) gone, the rest as the admin's hand made it.
fn built_by_hand(lab: &Lab) {
    for name in ["f0", "f1"] {
        let host = lab.host(name);
        let devd = host.read_text("/etc/devd.conf").unwrap();
        let start = devd
            .find("# BEGIN f3s carp-notify")
            .expect("the block is there");
        let end = devd.find("# END f3s carp-notify\n").unwrap() + "# END f3s carp-notify\n".len();
        host.write(
            "/etc/devd.conf",
            &format!("{}{POST_DEVD}{}", &devd[..start], &devd[end..]),
        );
        sh_ok(
            host,
            "chown paul /usr/local/bin/carpcontrol.sh /usr/local/bin/carp",
        );
    }
    let f0 = lab.host("f0");
    sh_ok(
        f0,
        "printf '* * * * * /usr/local/bin/carp-auto-failback.sh\\n' | crontab -u root - && chown paul /usr/local/bin/carp-auto-failback.sh",
    );
    // Keys made by hand (`dd if=/dev/random`), copied to every storage host: other bytes
    // than any f3s would make, the same on all three.
    let keys = f0.sh("ls /keys/*.key");
    for key in String::from_utf8_lossy(&keys.stdout).lines() {
        let bytes = String::from_utf8_lossy(
            &f0.sh("head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'")
                .stdout,
        )
        .into_owned();
        for name in ["f0", "f1", "f2"] {
            sh_ok(
                lab.host(name),
                &format!(
                    "printf \"$(printf '%s' {bytes} | sed 's/../\\\\x&/g')\" > {key} && chmod 0400 {key}"
                ),
            );
        }
    }
    for name in ["r0", "r1", "r2"] {
        lab.host(name)
            .write("/etc/stunnel/stunnel.conf", &post_stunnel_client(name));
    }
    for host in &lab.hosts {
        sh_ok(host, "rm -rf /var/db/f3s /var/lib/f3s");
    }
}

/// The addresses of the plan's resources that change, with each's action.
fn changes(plan: &Value) -> BTreeSet<String> {
    plan["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|host| host["resources"].as_array().unwrap())
        .filter(|resource| resource["action"] != "unchanged")
        .map(|resource| resource["address"].as_str().unwrap().to_string())
        .collect()
}

fn resource<'p>(plan: &'p Value, address: &str) -> &'p Value {
    plan["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|host| host["resources"].as_array().unwrap())
        .find(|resource| resource["address"] == address)
        .unwrap_or_else(|| panic!("{address} is not in the plan"))
}

#[test]
fn a_cluster_built_by_hand_is_adopted_with_only_the_deliberate_fixes() {
    let (lab, inventory) = Lab::real_cluster(LAB_CARP_PASSWORD, LAB_DIGEST_KEY);
    let cluster = Cluster { lab, inventory };
    assert_code(&cluster.f3s(&["apply", "--yes"]), 0);
    built_by_hand(&cluster.lab);
    let keys_before = cluster.lab.host("f1").sh("cat /keys/*.key").stdout;

    let plan = cluster.plan_json();
    assert_eq!(plan["summary"]["destructive"], 0, "{plan:#}");
    let expected: BTreeSet<String> = DELIBERATE.iter().map(|a| a.to_string()).collect();
    assert_eq!(changes(&plan), expected, "{plan:#}");
    let readme = std::fs::read_to_string(format!("{ROOT}/docs/guide.md")).unwrap();
    for address in DELIBERATE {
        let local = address.split_once('/').unwrap().1;
        assert!(readme.contains(local), "docs/guide.md lists {local}");
    }
    // Adopted, never a second copy: the block's and the entry's diffs add markers only.
    for address in [
        "f0/block:carp-notify",
        "f1/block:carp-notify",
        "f0/cron:carp-auto-failback",
    ] {
        let diff = resource(&plan, address)["diff"].as_str().unwrap();
        let added: Vec<&str> = diff
            .lines()
            .filter(|line| line.starts_with('+') && !line.starts_with("+++"))
            .collect();
        assert!(
            added.iter().all(|line| line.contains("f3s")
                || (address.contains("block") && line.starts_with("+\t"))),
            "{address} adds more than its markers:\n{diff}"
        );
        assert!(
            !added
                .iter()
                .any(|line| line.contains("notify 0") || line.contains("* * * * *")),
            "{address} adds a second copy:\n{diff}"
        );
    }

    assert_code(&cluster.f3s(&["apply", "--yes"]), 0);
    let clean = cluster.f3s(&["plan", "--detailed-exitcode"]);
    assert_code(&clean, 0);
    assert!(stdout(&clean).contains("No changes."), "{}", stdout(&clean));
    let devd = cluster.lab.host("f1").read_text("/etc/devd.conf").unwrap();
    assert_eq!(devd.matches("notify 0").count(), 1, "{devd}");
    assert_eq!(
        cluster.lab.host("f1").sh("cat /keys/*.key").stdout,
        keys_before,
        "the keys made by hand are kept"
    );

    // Extras of the admin's own: what f3s edits in part keeps them; the whole file f3s
    // writes (exports) would drop the extra line, and the plan flags it.
    let f0 = cluster.lab.host("f0");
    sh_ok(
        f0,
        "printf '/data/backup -ro -network 192.168.1.0 -mask 255.255.255.0\\n' >> /etc/exports \
         && printf 'sendmail_enable=\"NONE\"\\n' >> /etc/rc.conf \
         && printf 'notify 10 {\\n match \"system\" \"IFNET\";\\n action \"logger ifnet\";\\n};\\n' >> /etc/devd.conf \
         && { crontab -u root -l; printf '0 3 * * * /root/backup.sh\\n'; } | crontab -u root -",
    );
    let plan = cluster.plan_json();
    let flagged: BTreeSet<String> = changes(&plan);
    assert_eq!(
        flagged,
        BTreeSet::from([
            "f0/file:/etc/exports".to_string(),
            "f0/service:mountd".to_string()
        ]),
        "only the whole file f3s writes changes: {plan:#}"
    );
    let exports = resource(&plan, "f0/file:/etc/exports");
    assert_eq!(exports["removes_lines"], 1, "{exports:#}");
    assert!(
        plan["summary"]["remove_lines"].as_u64() == Some(1),
        "{plan:#}"
    );
    let text = stdout(&cluster.f3s(&["plan"]));
    assert!(text.contains("REMOVES"), "{text}");
}
