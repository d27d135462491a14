//! The real inventory (inventory/f3s.yml and modules/) converging six lab hosts from bare:
//! keys, pools, encrypted datasets, replication, CARP, PKI, stunnel and the NFS clients.
//! The lab hosts stand in for f0 f1 f2 (FreeBSD-like) and r0 r1 r2 (Rocky-like); only their
//! addresses and connections differ from the real cluster's.

mod common;
mod lab;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{LAB_CARP_PASSWORD as CARP_PASSWORD, LAB_DIGEST_KEY, assert_code, stderr, stdout};
use lab::{Lab, LabHost, Os, sh_ok};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const KEYS: [&str; 6] = [
    "/keys/f0.lan.buetow.org:zdata.key",
    "/keys/f1.lan.buetow.org:zdata.key",
    "/keys/f2.lan.buetow.org:zdata.key",
    "/keys/f0.lan.buetow.org:bhyve.key",
    "/keys/f1.lan.buetow.org:bhyve.key",
    "/keys/f2.lan.buetow.org:bhyve.key",
];

struct Cluster {
    lab: Lab,
    inventory: PathBuf,
}

impl Cluster {
    fn start() -> Self {
        let (lab, inventory) = Lab::real_cluster(CARP_PASSWORD, LAB_DIGEST_KEY);
        Cluster { lab, inventory }
    }

    fn f3s(&self, args: &[&str]) -> Output {
        let mut full: Vec<&str> = vec![args[0], "-i", self.inventory.to_str().unwrap()];
        full.extend_from_slice(&args[1..]);
        common::f3s(&full)
    }

    fn host(&self, name: &str) -> &LabHost {
        self.lab.host(name)
    }

    fn apply(&self) -> Output {
        let output = self.f3s(&["apply", "--yes"]);
        assert_code(&output, 0);
        output
    }

    /// `zfs get` of one property, as the host's zfs reports it.
    fn zfs_get(&self, host: &str, property: &str, dataset: &str) -> String {
        let output = self.host(host).sh(&format!(
            "zfs get -H -p -o property,value {property} {dataset}"
        ));
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.trim()
            .split_once('\t')
            .map(|(_, value)| value.to_string())
            .unwrap_or_else(|| panic!("no {property} of {dataset} on {host}: {text}"))
    }
}

#[test]
fn bare_hosts_converge_in_one_apply_and_the_next_plan_is_empty() {
    let cluster = Cluster::start();
    let plan = cluster.f3s(&["plan", "--detailed-exitcode"]);
    assert_code(&plan, 2);
    cluster.apply();
    let again = cluster.f3s(&["plan", "--detailed-exitcode"]);
    assert_code(&again, 0);
    assert!(stdout(&again).contains("No changes."), "{}", stdout(&again));

    // The key files: the same 32 bytes on every holder, root's, readable by root only.
    for key in KEYS {
        let copies: Vec<Vec<u8>> = ["f0", "f1", "f2"]
            .iter()
            .map(|h| cluster.host(h).read(key).expect("key present"))
            .collect();
        assert_eq!(copies[0].len(), 32, "{key}");
        assert!(copies.iter().all(|c| *c == copies[0]), "{key} differs");
        for h in ["f0", "f1", "f2"] {
            let owner = sh_ok(cluster.host(h), &format!("stat -f '%Lp %Su' '{key}'"));
            assert_eq!(owner.trim(), "400 root", "{key} on {h}");
        }
    }
    assert_ne!(
        cluster.host("f0").read(KEYS[0]),
        cluster.host("f0").read(KEYS[1]),
        "each key is its own random bytes"
    );

    // Encrypted datasets with the host's own key; f0's NFS dataset writable.
    assert_eq!(
        cluster.zfs_get("f1", "keylocation", "zdata/enc"),
        "file:///keys/f1.lan.buetow.org:zdata.key"
    );
    assert_eq!(
        cluster.zfs_get("f0", "encryption", "zroot/bhyve"),
        "aes-256-gcm"
    );
    assert_eq!(
        cluster.zfs_get("f0", "mountpoint", "zdata/enc/nfsdata"),
        "/data/nfs"
    );
    assert_eq!(
        cluster.zfs_get("f0", "readonly", "zdata/enc/nfsdata"),
        "off"
    );
    assert!(
        cluster
            .host("f0")
            .read("/data/nfs/nfs.DO_NOT_REMOVE")
            .is_some()
    );
    let mounts = sh_ok(cluster.host("f2"), "mount -p");
    assert!(mounts.contains("/dev/da0\t\t/keys\t\tufs"), "{mounts}");

    // r0's client certificate is signed by f0's CA, and its key is the certificate's.
    let r0 = cluster.host("r0");
    let verified = sh_ok(
        r0,
        "openssl verify -CAfile /etc/stunnel/ca-cert.pem /etc/stunnel/r0-cert.pem",
    );
    assert!(verified.contains(": OK"), "{verified}");
    let cert_key = sh_ok(
        r0,
        "openssl x509 -noout -pubkey -in /etc/stunnel/r0-cert.pem",
    );
    let own_key = sh_ok(r0, "openssl pkey -pubout -in /etc/stunnel/r0-key.pem");
    assert_eq!(cert_key, own_key);
    assert_eq!(
        cluster
            .host("f0")
            .read("/usr/local/etc/stunnel/ca/ca-cert.pem"),
        r0.read("/etc/stunnel/ca-cert.pem")
    );
    let subject = sh_ok(
        r0,
        "openssl x509 -noout -subject -nameopt compat -in /etc/stunnel/r0-cert.pem",
    );
    assert_eq!(
        subject.trim(),
        "subject=/C=US/ST=State/L=City/O=F3S Storage/CN=r0.lan.buetow.org"
    );
    let fstab = r0.read_text("/etc/fstab").unwrap();
    assert!(fstab.ends_with(
        "127.0.0.1:/data/nfs/k3svolumes /data/nfs/k3svolumes nfs4 port=2323,_netdev 0 0\n"
    ));
    assert!(fstab.starts_with("/dev/mapper/rl-root"), "the rest is kept");
    let crontab = sh_ok(cluster.host("f0"), "crontab -u root -l");
    assert_eq!(
        crontab,
        "# f3s: carp-auto-failback\n* * * * * /usr/local/bin/carp-auto-failback.sh\n"
    );

    // Serving, live, without a reboot: the VIP on the primary, CARP MASTER there and BACKUP
    // on the standby; NFS and stunnel running on the MASTER only; every client mounted
    // through its own stunnel.
    let vip_line = "\tinet 192.168.1.138 netmask 0xffffffff broadcast 192.168.1.138 vhid 1\n";
    // A vhid added is BACKUP until its master-down timer (3 × advbase s, advbase 1) expires
    // with no MASTER heard (ip_carp.c carp_setrun); f0's, added first, expires first. The
    // lab's clock is moved past it rather than waited for.
    cluster.lab.advance_carp_clock(3_000);
    for (host, state) in [("f0", "MASTER"), ("f1", "BACKUP")] {
        let ifconfig = sh_ok(cluster.host(host), "ifconfig re0");
        assert!(ifconfig.contains(vip_line), "{host}: {ifconfig}");
        assert!(
            ifconfig.contains(&format!("\tcarp: {state} vhid 1 advbase 1 advskew 0\n")),
            "{host}: {ifconfig}"
        );
        // The address was added to the running interface, which was never restarted.
        let calls = cluster.host(host).calls();
        assert!(
            calls
                .iter()
                .all(|c| !c.contains("netif") && !c.contains(" down")),
            "{host}: {calls:?}"
        );
    }
    assert!(!sh_ok(cluster.host("f2"), "ifconfig re0").contains("carp:"));
    for service in ["rpcbind", "mountd", "nfsd", "nfsuserd", "stunnel"] {
        let status = sh_ok(cluster.host("f0"), &format!("service {service} onestatus"));
        assert!(status.contains("is running"), "f0: {status}");
        let standby = cluster
            .host("f1")
            .sh(&format!("service {service} onestatus"));
        assert!(!standby.status.success(), "{service} runs on the BACKUP");
    }
    for client in ["r0", "r1", "r2"] {
        let client = cluster.host(client);
        assert_eq!(sh_ok(client, "systemctl is-active stunnel"), "active\n");
        let mounted = sh_ok(
            client,
            "findmnt -n -o SOURCE,FSTYPE --mountpoint /data/nfs/k3svolumes",
        );
        assert!(
            mounted.starts_with("127.0.0.1:/data/nfs/k3svolumes") && mounted.ends_with("nfs4\n"),
            "{}: {mounted}",
            client.name
        );
    }

    // A power cycle forgets every key; at boot, rc.d/zfskeys loads them again on every
    // storage host, f2 (which serves no NFS) included.
    for host in ["f0", "f1", "f2"] {
        let boot = sh_ok(
            cluster.host(host),
            "/usr/libexec/lab/lab-boot --power-cycle",
        );
        for dataset in ["zdata/enc", "zroot/bhyve"] {
            assert!(
                boot.contains(&format!("Loading key for {dataset}.")),
                "{host}: {boot}"
            );
            assert_eq!(
                cluster.zfs_get(host, "keystatus", dataset),
                "available",
                "{host}"
            );
        }
    }
}

/// The post makes zdata/enc/nfsdata a child of the encryption root zdata/enc, sharing its
/// key. ZFS refuses a keylocation on such a dataset (the zfs stand-in as OpenZFS does), so
/// the module's keylocation is met by the root's key: nothing is planned to set, and the
/// dataset's key loads at its root.
#[test]
fn a_dataset_sharing_its_roots_key_is_planned_as_it_is() {
    let cluster = Cluster::start();
    cluster.apply();
    let f0 = cluster.host("f0");
    // nfsdata as the post leaves it: no encryption options of its own.
    sh_ok(
        f0,
        "cd /var/lib/lab/zfs/ds/zdata%enc%nfsdata && rm -f encryption keyformat keylocation keystatus",
    );
    assert_eq!(
        cluster.zfs_get("f0", "encryptionroot", "zdata/enc/nfsdata"),
        "zdata/enc"
    );
    let refused = f0.sh("zfs set keylocation=file:///keys/x zdata/enc/nfsdata");
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("keylocation may only be set on encryption roots"),
        "the stand-in refuses as OpenZFS does"
    );
    let plan = cluster.f3s(&["plan", "--detailed-exitcode", "--host", "f0"]);
    assert_code(&plan, 0);
    // After a power cycle the key loads at the root, and the child opens with it.
    sh_ok(f0, "zfs lab-power-off");
    cluster.apply();
    assert_eq!(
        cluster.zfs_get("f0", "keystatus", "zdata/enc/nfsdata"),
        "available"
    );
    assert_code(
        &cluster.f3s(&["plan", "--detailed-exitcode", "--host", "f0"]),
        0,
    );
}

/// A CARP password changed in the inventory is rotated where it runs, not only in rc.conf for
/// the next boot: the plan shows the running key of both members changing (as sensitive) with
/// a note, apply sets it live on both in one run (`ifconfig -k` shows the new key), and the
/// next plan is clean.
#[test]
fn a_rotated_carp_password_is_rotated_where_it_runs() {
    let cluster = Cluster::start();
    cluster.apply();
    let secret = cluster.lab.dir().join("carp_password");
    let rotated = "lab-carp-rotated-not-real";
    std::fs::write(&secret, format!("{rotated}\n")).unwrap();
    let plan = cluster.f3s(&["plan", "--detailed-exitcode"]);
    assert_code(&plan, 2);
    let text = stdout(&plan);
    assert!(
        !text.contains(rotated),
        "the password is never shown:\n{text}"
    );
    for host in ["f0", "f1"] {
        let section = text
            .split("\n\n")
            .find(|part| part.starts_with(host))
            .unwrap_or_default();
        assert!(section.contains("carp:192.168.1.138  change"), "{section}");
        assert!(section.contains("key: (sensitive"), "{section}");
        assert!(
            section.contains("runs another key than the inventory's password"),
            "{section}"
        );
    }
    cluster.apply();
    for host in ["f0", "f1"] {
        let shown = sh_ok(cluster.host(host), "ifconfig -k re0");
        // The kernel keeps 19 bytes of a key (CARP_KEY_LEN - 1).
        assert!(
            shown.contains(&format!("key \"{}\"", &rotated[..19])),
            "{host}: {shown}"
        );
    }
    assert_code(&cluster.f3s(&["plan", "--detailed-exitcode"]), 0);
}

#[test]
fn a_lost_key_copy_is_restored_and_differing_copies_stop_the_plan() {
    let cluster = Cluster::start();
    cluster.apply();
    let key = KEYS[0];
    let original = cluster.host("f0").read(key).unwrap();

    sh_ok(cluster.host("f1"), &format!("rm '{key}'"));
    let plan = stdout(&cluster.f3s(&["plan"]));
    assert!(
        plan.contains(&format!("copy f0:{key} to {key}")),
        "restored from a holder: {plan}"
    );
    cluster.apply();
    assert_eq!(cluster.host("f1").read(key).unwrap(), original);

    sh_ok(
        cluster.host("f2"),
        &format!(
            "chmod 600 '{key}' && printf 'x' | dd of='{key}' bs=1 seek=0 conv=notrunc 2>/dev/null && chmod 400 '{key}'"
        ),
    );
    let changed = cluster.host("f2").read(key).unwrap();
    assert_ne!(changed, original);
    let plan = cluster.f3s(&["plan"]);
    assert_code(&plan, 1);
    let message = stderr(&plan);
    assert!(message.contains("copies of"), "{message}");
    assert!(message.contains("differ"), "{message}");
    let apply = cluster.f3s(&["apply", "--yes"]);
    assert_code(&apply, 1);
    for (host, expected) in [("f0", &original), ("f1", &original), ("f2", &changed)] {
        assert_eq!(
            &cluster.host(host).read(key).unwrap(),
            expected,
            "nothing overwritten on {host}"
        );
    }
}

#[test]
fn the_standby_replica_is_read_only_and_mounted_once_replicated() {
    let cluster = Cluster::start();
    cluster.apply();
    let replica = "zdata/sink/f0/zdata/enc/nfsdata";
    let plan = stdout(&cluster.f3s(&["plan"]));
    assert!(plan.contains("created by replication"), "{plan}");
    // What zrepl's first replication leaves on the sink: encrypted, key not loaded.
    sh_ok(cluster.host("f1"), &format!("zfs lab-receive {replica}"));
    cluster.apply();
    assert_eq!(cluster.zfs_get("f1", "readonly", replica), "on");
    assert_eq!(cluster.zfs_get("f1", "mountpoint", replica), "/data/nfs");
    assert_eq!(cluster.zfs_get("f1", "mounted", replica), "yes");
    assert_eq!(cluster.zfs_get("f1", "keystatus", replica), "available");
    assert_eq!(
        cluster.zfs_get("f0", "readonly", "zdata/enc/nfsdata"),
        "off"
    );
    assert_code(&cluster.f3s(&["plan", "--detailed-exitcode"]), 0);
}

#[test]
fn the_carp_password_appears_in_no_output_and_no_log() {
    let cluster = Cluster::start();
    let saved = cluster.lab.dir().join("saved.plan");
    let mut outputs = vec![
        cluster.f3s(&["plan"]),
        cluster.f3s(&["plan", "--json"]),
        cluster.f3s(&["plan", "-o", saved.to_str().unwrap()]),
    ];
    outputs.push(cluster.f3s(&["apply", "--yes", saved.to_str().unwrap()]));
    outputs.push(cluster.f3s(&["facts", "f0"]));
    let mut searched = Vec::new();
    for output in &outputs {
        searched.push(stdout(output));
        searched.push(stderr(output));
    }
    searched.push(std::fs::read_to_string(&saved).unwrap());
    for host in &cluster.lab.hosts {
        searched.push(host.calls().join("\n"));
        for log in ["/var/log/lab/sessions.log", "/var/log/messages"] {
            searched.extend(host.read_text(log));
        }
    }
    for text in &searched {
        assert!(
            !text.contains(CARP_PASSWORD),
            "the password leaked:\n{text}"
        );
    }
    assert!(searched.iter().any(|t| t.contains("(sensitive)")));
    // It did reach rc.conf, where it belongs.
    let rc_conf = cluster.host("f1").read_text("/etc/rc.conf").unwrap();
    assert!(rc_conf.contains(&format!(
        "ifconfig_re0_alias0=\"inet vhid 1 pass {CARP_PASSWORD} alias 192.168.1.138/32\""
    )));
}

/// A lab of f0 alone with one module of modules/.
fn f0_with(module: &str) -> (Lab, PathBuf) {
    let lab = Lab::start(&[("f0", Os::Freebsd)]);
    let modules = |_: &LabHost| format!("    modules:\n      - module: {module}\n");
    let yaml = format!(
        "module_path: [{ROOT}/modules]\n{}",
        lab.inventory_hosts(&modules)
    );
    let inventory = lab.dir().join("inventory.yml");
    std::fs::write(&inventory, yaml).unwrap();
    (lab, inventory)
}

/// A lab of f0 alone with the USB key store module.
fn key_store_only() -> (Lab, PathBuf) {
    f0_with("keystore")
}

#[test]
fn newfs_over_a_filesystem_is_refused_until_allowed_by_name() {
    let (lab, inventory) = key_store_only();
    let f0 = lab.host("f0");
    sh_ok(
        f0,
        "mkdir -p /var/lib/lab/devices && echo msdosfs > /var/lib/lab/devices/da0",
    );
    let inventory = inventory.to_str().unwrap();

    let plan = common::f3s(&["plan", "-i", inventory]);
    assert!(
        stdout(&plan).contains("ufs:/dev/da0  DESTRUCTIVE"),
        "{}",
        stdout(&plan)
    );
    assert!(stdout(&plan).contains("msdosfs filesystem found by fstyp"));

    let refused = common::f3s(&["apply", "-i", inventory, "--yes"]);
    assert_code(&refused, 1);
    assert!(
        stderr(&refused).contains("--allow-destructive f0/ufs:/dev/da0"),
        "says how to allow it: {}",
        stderr(&refused)
    );
    assert!(!f0.calls().iter().any(|c| c.starts_with("newfs")));
    assert_eq!(
        f0.read_text("/var/lib/lab/devices/da0").unwrap(),
        "msdosfs\n"
    );

    let allowed = common::f3s(&[
        "apply",
        "-i",
        inventory,
        "--yes",
        "--allow-destructive",
        "f0/ufs:/dev/da0",
    ]);
    assert_code(&allowed, 0);
    assert_eq!(f0.read_text("/var/lib/lab/devices/da0").unwrap(), "ufs\n");
    assert!(sh_ok(f0, "mount -p").contains("/dev/da0\t\t/keys\t\tufs"));
}

/// The stand-in fstyp answers as usr.sbin/fstyp/fstyp.c does: GELI and ZFS are in its
/// `fstypes[]` table as unmountable, so only `-u` reports them; `-l` adds a ZFS pool's name.
#[test]
fn fstyp_reports_geli_and_zfs_only_when_asked_for_unmountable_types() {
    let lab = Lab::start(&[("f0", Os::Freebsd)]);
    let f0 = lab.host("f0");
    sh_ok(f0, "echo geli > /var/lib/lab/devices/da0");
    for (device, plain, unmountable) in [
        ("/dev/da0", "fstyp -u", "geli\n"),
        ("/dev/ada0", "fstyp -u -l", "zfs zroot\n"),
    ] {
        let output = f0.sh(&format!("fstyp {device}"));
        assert!(!output.status.success());
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            format!("fstyp: {device}: filesystem not recognized\n")
        );
        assert_eq!(sh_ok(f0, &format!("{plain} {device}")), unmountable);
    }
    let output = f0.sh("fstyp -u /dev/ada1");
    assert!(!output.status.success(), "a blank disk holds nothing");
    let output = f0.sh("fstyp -u /dev/nonesuch");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "fstyp: /dev/nonesuch: No such file or directory\n"
    );
}

/// What f3s would write over, by how the lab is made to hold it.
const HELD: &[(&str, &str, &str, &str)] = &[
    (
        "keystore",
        "f0/ufs:/dev/da0",
        "echo geli > /var/lib/lab/devices/da0",
        "geli filesystem found by fstyp",
    ),
    (
        "data_pool",
        "f0/zpool:zdata",
        "zpool create -m /old old /dev/ada1 && zpool export old",
        "zfs filesystem found by fstyp",
    ),
    (
        "keystore",
        "f0/ufs:/dev/da0",
        "echo GPT > /var/lib/lab/devices/da0",
        "partition-table filesystem found by fstyp",
    ),
    (
        "keystore",
        "f0/ufs:/dev/da0",
        "printf 'LABELONE' | dd of=/dev/da0 bs=512 seek=1 conv=notrunc 2>/dev/null",
        "its first or last MiB holds data",
    ),
    (
        "data_pool",
        "f0/zpool:zdata",
        "printf 'GEOM::LABEL' | dd of=/dev/ada1 bs=512 seek=131071 conv=notrunc 2>/dev/null",
        "its first or last MiB holds data",
    ),
];

/// A GELI provider, an exported pool's vdev, a partition table, or bytes no tool names, are
/// data: the plan says DESTRUCTIVE, apply refuses without `--allow-destructive` and runs
/// nothing on the device; allowed by name, it converges and the next plan is empty.
#[test]
fn a_device_holding_geli_zfs_or_unknown_data_is_never_written_unless_allowed() {
    for (module, address, setup, found) in HELD {
        let (lab, inventory) = f0_with(module);
        let inventory = inventory.to_str().unwrap();
        let f0 = lab.host("f0");
        sh_ok(f0, setup);
        let kind = address.split_once('/').unwrap().1;
        let plan = stdout(&common::f3s(&["plan", "-i", inventory]));
        assert!(
            plan.contains(&format!("{kind}  DESTRUCTIVE")),
            "{setup}: {plan}"
        );
        assert!(plan.contains(found), "{setup}: {plan}");

        let calls = f0.calls().len();
        let refused = common::f3s(&["apply", "-i", inventory, "--yes"]);
        assert_code(&refused, 1);
        assert!(
            stderr(&refused).contains(&format!("--allow-destructive {address}")),
            "{setup}: {}",
            stderr(&refused)
        );
        let ran = f0.calls().split_off(calls);
        assert!(
            !ran.iter()
                .any(|c| c.starts_with("newfs") || c.starts_with("zpool create")),
            "{setup}: {ran:?}"
        );

        let allowed = common::f3s(&[
            "apply",
            "-i",
            inventory,
            "--yes",
            "--allow-destructive",
            address,
        ]);
        assert_code(&allowed, 0);
        assert_code(
            &common::f3s(&["plan", "-i", inventory, "--detailed-exitcode"]),
            0,
        );
    }
}

#[test]
fn a_device_whose_content_cannot_be_read_counts_as_holding_data() {
    let (lab, inventory) = key_store_only();
    let f0 = lab.host("f0");
    sh_ok(f0, "touch /var/lib/lab/fail/fstyp-da0");
    let plan = common::f3s(&["plan", "-i", inventory.to_str().unwrap()]);
    let text = stdout(&plan);
    assert!(text.contains("ufs:/dev/da0  DESTRUCTIVE"), "{text}");
    assert!(text.contains("cannot tell whether it is empty"), "{text}");
}

#[test]
fn an_empty_device_is_formatted_without_being_named() {
    let (lab, inventory) = key_store_only();
    let plan = stdout(&common::f3s(&["plan", "-i", inventory.to_str().unwrap()]));
    assert!(plan.contains("ufs:/dev/da0  create"), "{plan}");
    assert!(plan.contains("run: newfs /dev/da0\n"), "{plan}");
    let apply = common::f3s(&["apply", "-i", inventory.to_str().unwrap(), "--yes"]);
    assert_code(&apply, 0);
    assert_eq!(
        lab.host("f0")
            .read_text("/var/lib/lab/devices/da0")
            .unwrap(),
        "ufs\n"
    );
}

/// Records the CI fixture states from the lab: every host bare, and converged (after the
/// apply and zrepl's first replication). Run by hand when the inventory's probes change:
///   cargo test --test storage_e2e -- --ignored record_fixture_states
#[test]
#[ignore = "writes examples/f3s-state; run by hand"]
fn record_fixture_states() {
    let cluster = Cluster::start();
    let record = |situation: &str| {
        let dir = Path::new(ROOT).join("examples/f3s-state").join(situation);
        let output = cluster.f3s(&["facts", "--save", dir.to_str().unwrap()]);
        assert_code(&output, 0);
    };
    record("bare");
    cluster.apply();
    sh_ok(
        cluster.host("f1"),
        "zfs lab-receive zdata/sink/f0/zdata/enc/nfsdata",
    );
    cluster.apply();
    record("converged");
}

/// A property of a later OpenZFS than the host's is refused at plan time, at the resource's
/// line, naming the release the host runs (read with `zfs version` in the observation); the
/// stand-in's zfs refuses it as an older zfs does. On a host of that release it converges.
#[test]
fn a_property_of_a_later_openzfs_is_refused_at_its_line() {
    let lab = Lab::start(&[("f0", Os::Freebsd)]);
    let f0 = lab.host("f0");
    let module_dir = lab.dir().join("modules/later");
    std::fs::create_dir_all(&module_dir).unwrap();
    std::fs::write(
        module_dir.join("module.yml"),
        "resources:\n  - zfs: zroot/direct\n    properties:\n      direct: always\n      xattr: sa\n",
    )
    .unwrap();
    let inventory = lab.dir().join("inventory.yml");
    std::fs::write(
        &inventory,
        format!(
            "module_path: [{}]\n{}",
            lab.dir().join("modules").display(),
            lab.inventory_hosts(&|_: &LabHost| "    modules:\n      - module: later\n".into())
        ),
    )
    .unwrap();
    assert_eq!(
        sh_ok(f0, "zfs version"),
        "zfs-2.2.6-FreeBSD_lab\nzfs-kmod-2.2.6-FreeBSD_lab\n"
    );
    let refused = f0.sh("zfs set direct=always zroot");
    assert_eq!(
        (refused.status.code(), stderr(&refused).as_str()),
        (
            Some(255),
            "cannot set property for 'zroot': invalid property 'direct'\n"
        )
    );
    let plan = common::f3s_on(&inventory, &["plan"]);
    assert_code(&plan, 1);
    let said = stderr(&plan);
    assert!(
        said.contains("`direct` is a property from OpenZFS 2.3 on; this host runs OpenZFS 2.2.6"),
        "{said}"
    );
    assert!(said.contains("later/module.yml:2:"), "{said}");

    sh_ok(f0, "echo 2.3.2-1 > /var/lib/lab/zfs/release");
    let apply = common::f3s_on(&inventory, &["apply", "--yes"]);
    assert_code(&apply, 0);
    // From 2.3, xattr=sa reads back `on` (its index's first name), and is the wanted value.
    assert_eq!(
        sh_ok(f0, "zfs get -H -p -o value xattr,direct zroot/direct"),
        "on\nalways\n"
    );
    let again = common::f3s_on(&inventory, &["plan", "--detailed-exitcode"]);
    assert_code(&again, 0);
}
