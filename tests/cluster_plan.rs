//! The CI dry run: the real inventory (inventory/f3s.yml) planned against the recorded state
//! of all six hosts, bare (a fresh install: zroot, the disks, nothing else) and converged.
//! The bare plan is the whole build-out; its snapshot pins every rendered configuration file.

mod common;

use std::collections::BTreeMap;

use common::{f3s_with_lab_secret, stderr, stdout};
use serde_json::Value;

const INVENTORY: &str = "inventory/f3s.yml";

fn plan(situation: &str, extra: &[&str]) -> std::process::Output {
    let state = format!("examples/f3s-state/{situation}");
    let mut args = vec!["plan", "-i", INVENTORY, "--state", &state];
    args.extend_from_slice(extra);
    f3s_with_lab_secret(&args)
}

/// Each host's resource addresses, in apply order.
fn order(situation: &str) -> BTreeMap<String, Vec<String>> {
    let output = plan(situation, &["--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    json["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|host| {
            let addresses = host["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["address"].as_str().unwrap().to_string())
                .collect();
            (host["name"].as_str().unwrap().to_string(), addresses)
        })
        .collect()
}

/// A recorded file's content, as the converged hosts hold what f3s rendered.
fn converged_file(host: &str, path: &str) -> String {
    let file = format!(
        "{}/examples/f3s-state/converged/{host}.yml",
        env!("CARGO_MANIFEST_DIR")
    );
    let state: Value = serde_saphyr::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    state["files"][path]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("{host}:{path} is recorded"))
        .to_string()
}

#[test]
fn bare_hosts_get_the_whole_build_out() {
    let output = plan("bare", &["--detailed-exitcode"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    insta::assert_snapshot!("cluster_plan_bare", stdout(&output));
}

#[test]
fn converged_hosts_have_nothing_to_do() {
    let output = plan("converged", &["--detailed-exitcode"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("No changes."));
}

#[test]
fn the_build_out_runs_in_a_sensible_order() {
    let order = order("bare");
    let before = |host: &str, first: &str, then: &str| {
        let addresses = &order[host];
        let at = |address: &str| {
            addresses
                .iter()
                .position(|a| a == &format!("{host}/{address}"))
                .unwrap_or_else(|| panic!("{host}/{address} is planned"))
        };
        assert!(at(first) < at(then), "{host}: {first} before {then}");
    };
    for host in ["f0", "f1", "f2"] {
        before(host, "ufs:/dev/da0", "mount:/keys");
        before(
            host,
            "mount:/keys",
            "secret:/keys/f0.lan.buetow.org:zdata.key",
        );
        before(
            host,
            &format!("secret:/keys/{host}.lan.buetow.org:zdata.key"),
            "zfs:zdata/enc",
        );
        before(host, "zpool:zdata", "zfs:zdata/enc");
    }
    before("f0", "zfs:zdata/enc", "zfs:zdata/enc/nfsdata");
    before(
        "f0",
        "zfs:zdata/enc/nfsdata",
        "file:/data/nfs/nfs.DO_NOT_REMOVE",
    );
    before(
        "f0",
        "x509:/usr/local/etc/stunnel/ca/ca-cert.pem",
        "x509:/usr/local/etc/stunnel/server-cert.pem",
    );
    before("f1", "zfs:zdata/sink", "service:zrepl");
    before("r0", "service:stunnel", "mount:/data/nfs/k3svolumes");
    before(
        "r0",
        "systemd:nfs-mount-monitor.service",
        "systemd:nfs-mount-monitor.timer",
    );
}

/// zrepl's configuration as its schema nests it: the seed's listing lost its indentation.
#[test]
fn zrepl_configs_have_zrepls_structure() {
    let push: Value =
        serde_saphyr::from_str(&converged_file("f0", "/usr/local/etc/zrepl/zrepl.yml"))
            .expect("f0's zrepl.yml is YAML");
    let jobs = push["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    let nfs = &jobs[0];
    assert_eq!(nfs["name"], "f0_to_f1_nfsdata");
    assert_eq!(nfs["type"], "push");
    assert_eq!(nfs["connect"]["type"], "tcp");
    assert_eq!(nfs["connect"]["address"], "192.168.2.131:8888");
    assert_eq!(nfs["filesystems"]["zdata/enc/nfsdata"], true);
    assert_eq!(nfs["send"]["encrypted"], true);
    assert_eq!(nfs["snapshotting"]["interval"], "1m");
    assert_eq!(nfs["pruning"]["keep_sender"][0]["count"], 10);
    assert_eq!(nfs["pruning"]["keep_receiver"][0]["type"], "last_n");
    assert_eq!(jobs[1]["snapshotting"]["interval"], "10m");
    assert_eq!(push["global"]["logging"][0]["type"], "stdout");

    let sink: Value =
        serde_saphyr::from_str(&converged_file("f1", "/usr/local/etc/zrepl/zrepl.yml"))
            .expect("f1's zrepl.yml is YAML");
    let job = &sink["jobs"][0];
    assert_eq!(job["type"], "sink");
    assert_eq!(job["serve"]["listen"], "192.168.2.131:8888");
    assert_eq!(job["serve"]["clients"]["192.168.2.130"], "f0");
    assert_eq!(job["root_fs"], "zdata/sink");
    assert_eq!(job["recv"]["placeholder"]["encryption"], "inherit");
}

#[test]
fn the_client_stunnel_config_names_certificate_and_key() {
    let config = converged_file("r1", "/etc/stunnel/stunnel.conf");
    assert!(config.contains("cert = /etc/stunnel/r1-cert.pem\n"));
    assert!(config.contains("key = /etc/stunnel/r1-key.pem\n"));
}

#[test]
fn the_carp_password_is_not_in_the_recorded_states_or_the_plan() {
    let plan = stdout(&plan("bare", &[]));
    assert!(plan.contains("ifconfig_re0_alias0"));
    assert!(!plan.contains(common::LAB_CARP_PASSWORD));
    for entry in std::fs::read_dir("examples/f3s-state/converged").unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(common::LAB_CARP_PASSWORD));
    }
}

/// A CARP address is planned MASTER on one member and BACKUP on the others, however early the
/// plan has finished with the other members' own resources: the states of hosts it has done
/// with are let go, but not while a CARP member still looks for a MASTER among them.
#[test]
fn carp_members_planned_after_a_host_is_done_still_see_it() {
    let module = "
description: One CARP address.
resources:
  - carp: 10.0.0.1
    interface: re0
    vhid: 1
    password: notreal
";
    let case = common::Case::new(
        "
module_path: [modules]
defaults:
  modules:
    - module: vip
hosts:
  f0: { os: freebsd, address: 192.168.1.130 }
  f1: { os: freebsd, address: 192.168.1.131 }
  f2: { os: freebsd, address: 192.168.1.132 }
",
    )
    .module("vip", module);
    for host in ["f0", "f1", "f2"] {
        let bare = format!(
            "{}/examples/f3s-state/bare/f1.yml",
            env!("CARGO_MANIFEST_DIR")
        );
        let state = case.path().join(format!("state/{host}.yml"));
        std::fs::create_dir_all(state.parent().unwrap()).unwrap();
        std::fs::copy(bare, state).unwrap();
    }
    let output = common::f3s_in(
        case.path(),
        &["plan", "-i", "inventory.yml", "--state", "state", "--json"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let roles: Vec<String> = json["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|host| host["resources"].as_array().unwrap())
        .flat_map(|resource| resource["operations"].as_array().unwrap())
        .filter_map(|op| op["becomes"].as_str().map(str::to_string))
        .collect();
    assert_eq!(roles.len(), 3, "{roles:?}");
    assert_eq!(
        roles
            .iter()
            .filter(|role| role.as_str() == "MASTER")
            .count(),
        1,
        "one MASTER: {roles:?}"
    );
}
