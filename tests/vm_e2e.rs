//! f3s against the real tools: each case converges a virtual machine (tests/lab/vm.rs) whose
//! `zpool`, `zfs` and systemd are real, and then the same case on a chroot lab host, whose
//! stand-ins must come to the same observable state as the real tools did. A disagreement
//! fails the case: the stand-in is wrong, since the real tool is the reference.
//!
//! The guests boot once for all cases (a boot is half a minute of emulation or more), the
//! first time a case needs them, and are stopped when every case is done; so this binary has
//! its own harness (libtest-mimic: the usual filters and output) and runs the cases one at a
//! time. Each storage case has a pool and a disk of its own, and runs twice: on bookworm's
//! OpenZFS 2.1 and, as `NAME_on_openzfs_2_3`, on a guest with bookworm-backports' 2.3
//! (scripts/vm-image-openzfs-2.3). With F3S_SKIP_VM_TESTS set, every case is reported
//! ignored. Beside the cases, two trials of the lab itself: how a QEMU that dies is told (it
//! needs no guest, so it runs even then), and `boot_reliability`, a measurement run only when
//! asked for (docs/vm-boot-reliability.md).
//!
//! What is compared: the plans' change lines, whole `zfs get -H -p` rows (name, property,
//! value, source) of every dataset a case touched and `zpool get -H -p` rows of its pool, and
//! for each refusal the exit status and the whole first line of stderr. The chroot host
//! plays the guest's OpenZFS: its release (what the guest's `zfs version` prints) and
//! platform (Linux), so where they differ by release or platform the stand-in must follow
//! the guest.

mod common;
mod lab;

use std::panic::catch_unwind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{assert_code, stderr, stdout};
use lab::vm::{self, Image, Vm};
use lab::{Lab, LabHost, Os};
use libtest_mimic::{Arguments, Failed, Trial};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Where a case runs: on a guest, with the real tools, or on a chroot lab host, with the
/// stand-ins.
enum Side<'a> {
    Real(&'a Vm),
    StandIn(&'a Lab),
}

impl Side<'_> {
    fn label(&self) -> &'static str {
        match self {
            Side::Real(_) => "real",
            Side::StandIn(_) => "stand-in",
        }
    }

    fn sh(&self, script: &str) -> Output {
        match self {
            Side::Real(vm) => vm.sh(script),
            Side::StandIn(lab) => lab.hosts[0].sh(script),
        }
    }

    /// Runs `script` as root, which must succeed; its standard output.
    fn sh_ok(&self, script: &str) -> String {
        let output = self.sh(script);
        assert!(
            output.status.success(),
            "{script} ({}): {}{}",
            self.label(),
            stdout(&output),
            stderr(&output)
        );
        stdout(&output)
    }

    /// The `index`th blank disk of this side (one per storage case).
    fn disk(&self, index: usize) -> String {
        match self {
            Side::Real(vm) => vm.disks[index].clone(),
            Side::StandIn(_) => format!("/dev/da{}", index + 1),
        }
    }

    /// An inventory of this side's one host with one module, `case`, whose module.yml is
    /// `module` and whose templates are `templates` (name, text).
    fn inventory(&self, dir: &Path, module: &str, templates: &[(&str, String)]) -> PathBuf {
        let module_dir = dir.join("modules/case");
        std::fs::create_dir_all(module_dir.join("templates")).unwrap();
        std::fs::write(module_dir.join("module.yml"), module).unwrap();
        for (name, text) in templates {
            std::fs::write(module_dir.join("templates").join(name), text).unwrap();
        }
        let modules = "    modules:\n      - module: case\n";
        let hosts = match self {
            Side::Real(vm) => format!("hosts:\n{}", vm.inventory_host(modules)),
            Side::StandIn(lab) => lab.inventory_hosts(&|_: &LabHost| modules.to_string()),
        };
        let inventory = dir.join("inventory.yml");
        std::fs::write(
            &inventory,
            format!("module_path: [{}]\n{hosts}", dir.join("modules").display()),
        )
        .unwrap();
        inventory
    }
}

/// What a case saw on one side, line by line, for comparing the sides.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn note(&mut self, what: impl Into<String>) {
        self.0.push(what.into());
    }

    /// The whole `zfs get -H -p` rows (name, property, value, source) of `ROW_PROPERTIES` of
    /// `datasets`.
    fn rows(&mut self, side: &Side, datasets: &[&str]) {
        let answer = side.sh_ok(&format!(
            "zfs get -H -p {ROW_PROPERTIES} {}",
            datasets.join(" ")
        ));
        for line in answer.lines() {
            self.note(line);
        }
    }

    /// The `zpool get -H -p` rows of `pool`.
    fn pool_rows(&mut self, side: &Side, pool: &str) {
        let answer = side.sh_ok(&format!(
            "zpool get -H -p name,health,readonly,failmode,altroot {pool}"
        ));
        for line in answer.lines() {
            self.note(line);
        }
    }

    /// The exit status of `command` and the whole first line it printed on stderr (the first
    /// `lines` lines, where more are compared); the command is noted with the disk's name
    /// left out, and so is what it said.
    fn refusal(&mut self, side: &Side, command: &str, disk: Option<&str>, lines: usize) {
        let output = side.sh(command);
        let hide = |text: &str| disk.map_or(text.to_string(), |disk| text.replace(disk, "DISK"));
        let said: Vec<String> = stderr(&output)
            .lines()
            .take(lines.max(1))
            .map(hide)
            .collect();
        self.note(format!(
            "{}: {:?} {said:?}",
            hide(command),
            output.status.code()
        ));
    }

    /// A plan's changes, without what differs between the sides by construction: the
    /// header (the inventory's path, the host's address) and the disk's name.
    fn plan(&mut self, text: &str, disk: Option<&str>) {
        for line in text.lines().skip(1) {
            if line.starts_with("f0  ") || line.starts_with("r0  ") || line.is_empty() {
                continue;
            }
            self.note(match disk {
                Some(disk) => line.replace(disk, "DISK"),
                None => line.to_string(),
            });
        }
    }
}

/// The properties of a dataset's rows: what f3s manages or reads, each as real OpenZFS and
/// the stand-in both print it.
const ROW_PROPERTIES: &str = "type,mountpoint,canmount,mounted,encryption,keyformat,keylocation,\
    keystatus,encryptionroot,compression,quota,readonly,xattr,atime,acltype";

/// A case on one side: it asserts what must hold there and notes what both sides must agree on.
type Case = fn(&Side, &Path, &mut Seen);

fn f3s(inventory: &Path, args: &[&str]) -> Output {
    let mut full = vec![args[0], "-i", inventory.to_str().unwrap()];
    full.extend_from_slice(&args[1..]);
    common::f3s(&full)
}

/// Plans (noting the plan: both sides must find the same changes), applies, then plans
/// again: nothing is left to change.
fn converge(inventory: &Path, disk: Option<&str>, seen: &mut Seen) {
    let plan = f3s(inventory, &["plan"]);
    assert_code(&plan, 0);
    seen.plan(&stdout(&plan), disk);
    let apply = f3s(inventory, &["apply", "--yes"]);
    assert_code(&apply, 0);
    let again = f3s(inventory, &["plan", "--detailed-exitcode"]);
    assert_code(&again, 0);
    assert!(stdout(&again).contains("No changes."), "{}", stdout(&again));
    seen.note("converged; the next plan has no changes");
}

/// A 32-byte raw key at `path`, root's only.
fn make_key(side: &Side, path: &str) {
    side.sh_ok(&format!(
        "mkdir -p \"$(dirname {path})\" && head -c 32 /dev/urandom > {path} && chmod 600 {path}"
    ));
}

/// Converges a pool named `pool` on this case's disk (`index`), mounted at /`pool`, with the
/// resources `datasets` (module YAML, list items) in it.
fn converge_pool(
    side: &Side,
    dir: &Path,
    index: usize,
    pool: &str,
    datasets: &str,
    seen: &mut Seen,
) {
    let disk = side.disk(index);
    let inventory = side.inventory(
        dir,
        &format!(
            "resources:\n  - zpool: {pool}\n    devices: [{disk}]\n    mountpoint: /{pool}\n{datasets}"
        ),
        &[],
    );
    converge(&inventory, Some(&disk), seen);
}

/// zpool create on a device holding an exported pool's label is refused without -f, as
/// OpenZFS refuses it (zpool_vdev.c, check_in_use / is_spare … "use '-f' to override"); f3s
/// finds the label (by its bytes on the real disk, by fstyp on the stand-in's), plans the
/// creation as destructive and creates only when allowed by name.
fn a_device_holding_an_exported_pool_is_written_only_when_allowed(
    side: &Side,
    dir: &Path,
    seen: &mut Seen,
) {
    let disk = side.disk(0);
    side.sh_ok(&format!(
        "zpool create -m none old {disk} && zpool export old"
    ));
    seen.refusal(
        side,
        &format!("zpool create -m /guarded guarded {disk}"),
        Some(&disk),
        2,
    );

    let inventory = side.inventory(
        dir,
        &format!(
            "resources:\n  - zpool: guarded\n    devices: [{disk}]\n    mountpoint: /guarded\n"
        ),
        &[],
    );
    let plan = f3s(&inventory, &["plan"]);
    assert_code(&plan, 0);
    assert!(
        stdout(&plan).contains("zpool:guarded  DESTRUCTIVE"),
        "{}",
        stdout(&plan)
    );
    let refused = f3s(&inventory, &["apply", "--yes"]);
    assert_code(&refused, 1);
    assert!(
        stderr(&refused).contains("--allow-destructive f0/zpool:guarded"),
        "{}",
        stderr(&refused)
    );
    let untouched = side.sh("zpool list -H -o health guarded");
    seen.note(format!(
        "refused, no pool guarded: {}",
        !untouched.status.success()
    ));
    let allowed = f3s(
        &inventory,
        &["apply", "--yes", "--allow-destructive", "f0/zpool:guarded"],
    );
    assert_code(&allowed, 0);
    seen.note(format!(
        "allowed: {}",
        side.sh_ok("zpool list -H -o health guarded").trim()
    ));
    seen.rows(side, &["guarded"]);
    seen.pool_rows(side, "guarded");
    // A device of an active pool is refused even with -f; on Linux before anything else, as
    // a disk in use (zpool_vdev_os.c check_disk), which the stand-in plays too.
    seen.refusal(
        side,
        &format!("zpool create -f -m /again again {disk}"),
        Some(&disk),
        1,
    );
}

/// An encrypted dataset whose raw key is a file: created with it, key loaded, mounted.
fn an_encrypted_dataset_with_a_key_file_is_created_and_mounted(
    side: &Side,
    dir: &Path,
    seen: &mut Seen,
) {
    make_key(side, "/keys/f0-secure.key");
    converge_pool(
        side,
        dir,
        1,
        "secure",
        "  - zfs: secure/enc\n    encryption: \"on\"\n    keyformat: raw\n\
         \x20   keylocation: file:///keys/f0-secure.key\n",
        seen,
    );
    seen.rows(side, &["secure", "secure/enc"]);
    seen.pool_rows(side, "secure");
    // What a second load, mount or unload of a mounted dataset's key says.
    for command in ["load-key", "mount", "unload-key"] {
        seen.refusal(side, &format!("zfs {command} secure/enc"), None, 1);
    }
}

/// What zrepl does on a sink: an encrypted dataset received raw (`zfs send -w | zfs recv`),
/// its key not loaded. f3s points its keylocation at the primary's key file, loads the key,
/// mounts it where the primary's is, and makes it read-only.
fn a_received_replica_is_unlocked_mounted_and_read_only(side: &Side, dir: &Path, seen: &mut Seen) {
    let disk = side.disk(2);
    make_key(side, "/keys/f0-sink.key");
    match side {
        Side::Real(_) => side.sh_ok(&format!(
            "set -e; zpool create -m /sink sink {disk}\n\
             zfs create -o encryption=on -o keyformat=raw -o keylocation=file:///keys/f0-sink.key sink/primary\n\
             echo replicated > /sink/primary/file; zfs snapshot sink/primary@1\n\
             zfs send -w sink/primary@1 | zfs recv sink/replica"
        )),
        Side::StandIn(_) => side.sh_ok(&format!(
            "zpool create -m /sink sink {disk} && zfs lab-receive sink/replica"
        )),
    };
    seen.rows(side, &["sink/replica"]);
    let inventory = side.inventory(
        dir,
        "resources:\n  - zfs: sink/replica\n    create: false\n\
         \x20   keylocation: file:///keys/f0-sink.key\n\
         \x20   properties:\n      mountpoint: /export/replica\n      readonly: \"on\"\n",
        &[],
    );
    converge(&inventory, None, seen);
    seen.rows(side, &["sink", "sink/replica"]);
    if let Side::Real(_) = side {
        assert_eq!(side.sh_ok("cat /export/replica/file"), "replicated\n");
        let write = side.sh("touch /export/replica/stray");
        assert!(
            !write.status.success(),
            "a read-only replica takes no write"
        );
    }
}

/// Datasets that are not to be mounted by `zfs mount`: mountpoint=none, mountpoint=legacy,
/// canmount=off. zfs-mount(8) refuses all three, so f3s must not ask.
fn datasets_without_a_zfs_mountpoint_are_not_mounted(side: &Side, dir: &Path, seen: &mut Seen) {
    converge_pool(
        side,
        dir,
        3,
        "shape",
        "  - zfs: shape/none\n    properties:\n      mountpoint: none\n\
         \x20 - zfs: shape/legacy\n    properties:\n      mountpoint: legacy\n\
         \x20 - zfs: shape/off\n    properties:\n      canmount: \"off\"\n",
        seen,
    );
    seen.rows(side, &["shape", "shape/none", "shape/legacy", "shape/off"]);
}

/// A size-valued property is given as people write it (10G) and read back as the exact
/// number `zfs get -p` prints: the two must be understood as the same.
fn a_size_valued_property_converges(side: &Side, dir: &Path, seen: &mut Seen) {
    converge_pool(
        side,
        dir,
        4,
        "sized",
        "  - zfs: sized/quota\n    properties:\n      quota: 10G\n",
        seen,
    );
    seen.rows(side, &["sized", "sized/quota"]);
}

/// A compression named by a synonym converges: zfs get -p prints an index by the first name
/// of its entry in zfs_prop.c's compress_table, `gzip` for gzip-6 and `zstd-fast` for
/// zstd-fast-1 (zprop_index_to_string).
fn a_compression_read_back_by_another_name_converges(side: &Side, dir: &Path, seen: &mut Seen) {
    converge_pool(
        side,
        dir,
        7,
        "packed",
        "  - zfs: packed/g\n    properties:\n      compression: gzip-6\n\
         \x20 - zfs: packed/z\n    properties:\n      compression: zstd-fast-1\n",
        seen,
    );
    seen.rows(side, &["packed", "packed/g", "packed/z"]);
}

/// Many operands in one call, one of which does not exist, as f3s observes pools and datasets:
/// zfs list and get (zfs_main.c through zfs_for_each) and zpool list (pool_list_get) say so
/// on stderr and answer the others all the same, each once, sorted by name; zfs exits 1,
/// zpool only when it listed no pool (zpool_do_list).
fn many_operands_in_one_call_are_answered_alike(side: &Side, dir: &Path, seen: &mut Seen) {
    converge_pool(
        side,
        dir,
        5,
        "many",
        "  - zfs: many/b\n  - zfs: many/a\n",
        seen,
    );
    seen.rows(side, &["many/a", "many/b"]);
    for command in [
        "zfs list -H -o name many/b many/nope many/a many/b",
        "zfs get -H -p -o name,property,value quota,user:x many/b many/nope many/a",
        "zpool list -H -o name,health nope many",
    ] {
        let output = side.sh(command);
        seen.note(format!(
            "{command}: {:?}\n{}{}",
            output.status.code(),
            stdout(&output),
            stderr(&output)
        ));
    }
}

/// A dataset created under an encryption root without options of its own shares the root's
/// key, as the post's zdata/enc/nfsdata does: zfs names the root as its encryptionroot,
/// reads its keylocation as none, refuses to set one (libzfs_util.c zfs_setprop_error) and
/// to load its key but at the root (libzfs_crypto.c zfs_crypto_load_key). A module wanting
/// the root's keylocation for it is met as it is: the plan has no change.
fn a_dataset_sharing_its_roots_key_is_planned_as_it_is(side: &Side, dir: &Path, seen: &mut Seen) {
    let disk = side.disk(6);
    make_key(side, "/keys/f0-shared.key");
    side.sh_ok(&format!(
        "zpool create -m /shared shared {disk} && \
         zfs create -o encryption=on -o keyformat=raw -o keylocation=file:///keys/f0-shared.key shared/enc && \
         zfs create shared/enc/data"
    ));
    seen.rows(side, &["shared/enc", "shared/enc/data"]);
    for command in [
        "zfs set keylocation=file:///keys/f0-shared.key shared/enc/data",
        "zfs load-key shared/enc/data",
    ] {
        seen.refusal(side, command, None, 1);
    }
    let inventory = side.inventory(
        dir,
        "resources:\n  - zfs: shared/enc/data\n    encryption: \"on\"\n    keyformat: raw\n\
         \x20   keylocation: file:///keys/f0-shared.key\n",
        &[],
    );
    let plan = f3s(&inventory, &["plan", "--detailed-exitcode"]);
    assert_code(&plan, 0);
    seen.note("the module's keylocation is met by the root's key");
}

/// A dataset sharing its root's key whose module wants a key of its own: ZFS refuses `zfs
/// set keylocation` on it (libzfs_util.c zfs_setprop_error), so the plan refuses too, naming
/// the way out; the way out it names (`zfs change-key -l`, zfs-change-key(8)) makes the
/// dataset an encryption root of its own, the data below it following, and the module is then
/// met as it is.
fn a_child_wanting_a_key_of_its_own_is_shown_the_way_out(side: &Side, dir: &Path, seen: &mut Seen) {
    let disk = side.disk(8);
    make_key(side, "/keys/f0-own.key");
    make_key(side, "/keys/f0-own-data.key");
    side.sh_ok(&format!(
        "zpool create -m /own own {disk} && \
         zfs create -o encryption=on -o keyformat=raw -o keylocation=file:///keys/f0-own.key own/enc && \
         zfs create own/enc/data && zfs create own/enc/data/below"
    ));
    let wanted = "file:///keys/f0-own-data.key";
    seen.refusal(
        side,
        &format!("zfs set keylocation={wanted} own/enc/data"),
        None,
        1,
    );
    let inventory = side.inventory(
        dir,
        &format!(
            "resources:\n  - zfs: own/enc/data\n    encryption: \"on\"\n    keyformat: raw\n\
             \x20   keylocation: {wanted}\n"
        ),
        &[],
    );
    let plan = f3s(&inventory, &["plan"]);
    assert_code(&plan, 1);
    let said = stderr(&plan);
    let way_out =
        format!("zfs change-key -l -o keyformat=raw -o keylocation={wanted} own/enc/data");
    assert!(
        said.contains("shares the key of its encryption root own/enc"),
        "{said}"
    );
    assert!(said.contains(&way_out), "{said}");
    seen.note("the plan refuses, naming zfs change-key");
    side.sh_ok(&way_out);
    let again = f3s(&inventory, &["plan", "--detailed-exitcode"]);
    assert_code(&again, 0);
    seen.note("after zfs change-key the module is met");
    seen.rows(side, &["own/enc", "own/enc/data", "own/enc/data/below"]);
}

/// A property of a later OpenZFS than the host's: f3s reads the release with the datasets
/// (`zfs version`, whatever its suffix) and refuses `direct` (2.3) at plan time on 2.1, as
/// that zfs refuses it in every command that names it; on 2.3 the same module converges.
fn a_property_of_a_later_openzfs_is_refused_by_the_plan(side: &Side, dir: &Path, seen: &mut Seen) {
    let disk = side.disk(9);
    side.sh_ok(&format!("zpool create -m /later later {disk}"));
    let release = side
        .sh_ok("zfs version")
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    seen.note(format!("zfs version: {release}"));
    let has_direct = !(release.starts_with("zfs-0.")
        || release.starts_with("zfs-1.")
        || ["zfs-2.0.", "zfs-2.1.", "zfs-2.2."]
            .iter()
            .any(|older| release.starts_with(older)));
    let inventory = side.inventory(
        dir,
        "resources:\n  - zfs: later/direct\n    properties:\n      direct: always\n",
        &[],
    );
    if has_direct {
        converge(&inventory, None, seen);
        let direct = side.sh_ok("zfs get -H -p direct later/direct");
        seen.note(direct.trim());
    } else {
        for command in [
            "zfs set direct=always later",
            "zfs create -o direct=always later/d",
            "zfs get -H -p direct later",
        ] {
            seen.refusal(side, command, None, 1);
        }
        let plan = f3s(&inventory, &["plan"]);
        assert_code(&plan, 1);
        let said = stderr(&plan);
        let line = said
            .lines()
            .find(|line| line.contains("is a property from OpenZFS"))
            .unwrap_or_else(|| panic!("no refusal naming the release:\n{said}"));
        seen.note(line.trim());
    }
    seen.rows(side, &["later"]);
}

/// The NFS client's mount monitor (modules/nfs_client's templates): its service and timer
/// installed, the timer enabled and active, as the real systemd reports them.
fn the_mount_monitor_timer_is_enabled_and_active(side: &Side, dir: &Path, seen: &mut Seen) {
    let templates: Vec<(&str, String)> = [
        "check-nfs-mount.sh.hbs",
        "nfs-mount-monitor.service.hbs",
        "nfs-mount-monitor.timer.hbs",
    ]
    .iter()
    .map(|name| {
        let path = Path::new(ROOT)
            .join("modules/nfs_client/templates")
            .join(name);
        (*name, std::fs::read_to_string(path).unwrap())
    })
    .collect();
    let inventory = side.inventory(
        dir,
        "params:\n  client_mount:\n    default: /data/nfs/k3svolumes\n\
         \x20 monitor_seconds:\n    type: int\n    default: 10\n\
         resources:\n  - directory: \"{{client_mount}}\"\n    mode: \"0755\"\n\
         \x20 - file: /usr/local/bin/check-nfs-mount.sh\n    template: check-nfs-mount.sh.hbs\n\
         \x20   mode: \"0755\"\n\
         \x20 - systemd: nfs-mount-monitor.service\n    template: nfs-mount-monitor.service.hbs\n\
         \x20   enabled: ignore\n    state: ignore\n\
         \x20   requires: [file:/usr/local/bin/check-nfs-mount.sh]\n\
         \x20 - systemd: nfs-mount-monitor.timer\n    template: nfs-mount-monitor.timer.hbs\n\
         \x20   requires: [\"systemd:nfs-mount-monitor.service\"]\n",
        &templates,
    );
    converge(&inventory, None, seen);
    // One unit at a time, and many in one call as f3s observes them: a line per unit, in
    // order, up to a unit is-enabled (systemd 252) cannot find. (The service's activity is
    // never asked: its timer starts it every 10 s, and the real one is then `activating` for
    // a moment, whenever that falls.)
    let questions = [
        "is-enabled nfs-mount-monitor.timer",
        "is-active nfs-mount-monitor.timer",
        "is-enabled nfs-mount-monitor.service",
        "is-enabled nfs-mount-monitor.timer no-such.service nfs-mount-monitor.service",
        "is-active no-such.service nfs-mount-monitor.timer",
    ];
    for question in questions {
        let answer = side.sh(&format!("systemctl {question}"));
        seen.note(format!(
            "{question}: {} ({:?})",
            stdout(&answer).trim(),
            answer.status.code()
        ));
    }
}

/// A unit whose start fails: a oneshot service whose command exits 1. systemctl start waits
/// for it and fails (exit 1, "Job for … failed because the control process exited with error
/// code."), the apply says so for that resource and exits 1, the unit is `failed` to
/// is-active, and the next plan wants it started again.
fn a_unit_whose_start_fails_fails_the_apply(side: &Side, dir: &Path, seen: &mut Seen) {
    let inventory = side.inventory(
        dir,
        "resources:\n  - systemd: lab-fails.service\n    content: |\n\
         \x20     [Unit]\n      Description=fails on purpose\n      [Service]\n\
         \x20     Type=oneshot\n      ExecStart=/bin/false\n      [Install]\n\
         \x20     WantedBy=multi-user.target\n\
         \x20   enabled: true\n    state: running\n",
        &[],
    );
    let plan = f3s(&inventory, &["plan"]);
    assert_code(&plan, 0);
    seen.plan(&stdout(&plan), None);
    let apply = f3s(&inventory, &["apply", "--yes"]);
    assert_code(&apply, 1);
    let text = format!("{}{}", stdout(&apply), stderr(&apply));
    let failed: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("Job for lab-fails.service failed"))
        .collect();
    assert!(!failed.is_empty(), "{text}");
    // The line ends in how long the unit took, which differs.
    let failed = failed[0].trim();
    let failed = failed.rsplit_once(" (").map_or(failed, |(line, _)| line);
    seen.note(format!("apply: {failed}"));
    seen.refusal(side, "systemctl start lab-fails.service", None, 2);
    let active = side.sh("systemctl is-active lab-fails.service");
    seen.note(format!(
        "is-active: {} ({:?})",
        stdout(&active).trim(),
        active.status.code()
    ));
    let enabled = side.sh("systemctl is-enabled lab-fails.service");
    seen.note(format!("is-enabled: {}", stdout(&enabled).trim()));
    let again = f3s(&inventory, &["plan", "--detailed-exitcode"]);
    assert_code(&again, 2);
    seen.plan(&stdout(&again), None);
}

/// The hosts the cases run on, each started the first time a case needs it.
#[derive(Default)]
struct Hosts {
    storage: Option<Result<(Vm, Lab), String>>,
    storage_2_3: Option<Result<(Vm, Lab), String>>,
    client: Option<Result<(Vm, Lab), String>>,
}

static HOSTS: Mutex<Hosts> = Mutex::new(Hosts {
    storage: None,
    storage_2_3: None,
    client: None,
});

/// A guest the cases run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guest {
    /// A storage host (FreeBSD-like, real OpenZFS) of this image.
    Storage(Image),
    /// The client (Rocky-like, real systemd).
    Client,
}

const STORAGE_CASES: &[(&str, Case)] = &[
    (
        "a_device_holding_an_exported_pool_is_written_only_when_allowed",
        a_device_holding_an_exported_pool_is_written_only_when_allowed,
    ),
    (
        "an_encrypted_dataset_with_a_key_file_is_created_and_mounted",
        an_encrypted_dataset_with_a_key_file_is_created_and_mounted,
    ),
    (
        "a_received_replica_is_unlocked_mounted_and_read_only",
        a_received_replica_is_unlocked_mounted_and_read_only,
    ),
    (
        "datasets_without_a_zfs_mountpoint_are_not_mounted",
        datasets_without_a_zfs_mountpoint_are_not_mounted,
    ),
    (
        "a_size_valued_property_converges",
        a_size_valued_property_converges,
    ),
    (
        "many_operands_in_one_call_are_answered_alike",
        many_operands_in_one_call_are_answered_alike,
    ),
    (
        "a_dataset_sharing_its_roots_key_is_planned_as_it_is",
        a_dataset_sharing_its_roots_key_is_planned_as_it_is,
    ),
    (
        "a_compression_read_back_by_another_name_converges",
        a_compression_read_back_by_another_name_converges,
    ),
    (
        "a_child_wanting_a_key_of_its_own_is_shown_the_way_out",
        a_child_wanting_a_key_of_its_own_is_shown_the_way_out,
    ),
    (
        "a_property_of_a_later_openzfs_is_refused_by_the_plan",
        a_property_of_a_later_openzfs_is_refused_by_the_plan,
    ),
];

const CLIENT_CASES: &[(&str, Case)] = &[
    (
        "the_mount_monitor_timer_is_enabled_and_active",
        the_mount_monitor_timer_is_enabled_and_active,
    ),
    (
        "a_unit_whose_start_fails_fails_the_apply",
        a_unit_whose_start_fails_fails_the_apply,
    ),
];

/// A guest and a chroot lab host for `guest`, both named as the cases' inventories name them.
fn start(guest: Guest) -> Result<(Vm, Lab), String> {
    catch_unwind(|| {
        let (name, os, disks, image) = match guest {
            Guest::Storage(image) => ("f0", Os::Freebsd, STORAGE_CASES.len(), image),
            Guest::Client => ("r0", Os::Rocky, 0, Image::Bookworm),
        };
        let vm = Vm::start_on(image, name, os, disks);
        let lab = Lab::start(&[(name, os)]);
        if os == Os::Freebsd {
            // The stand-in plays the guest's OpenZFS: its release and platform.
            let version = vm.sh("zfs version");
            let release = String::from_utf8_lossy(&version.stdout)
                .lines()
                .find_map(|line| {
                    line.strip_prefix("zfs-")
                        .filter(|r| !r.starts_with("kmod-"))
                })
                .map(str::to_string)
                .unwrap_or_else(|| panic!("the guest's zfs version: {version:?}"));
            let output = lab.hosts[0].sh(&format!(
                "mkdir -p /var/lib/lab/zfs && echo '{release}' > /var/lib/lab/zfs/release && \
                 echo linux > /var/lib/lab/zfs/platform"
            ));
            assert!(output.status.success());
        }
        for i in 0..disks {
            // The lab's /dev is its own: a disk is a sparse file, zeros until written.
            let output = lab.hosts[0].sh(&format!("truncate -s 64M /dev/da{}", i + 1));
            assert!(output.status.success());
        }
        (vm, lab)
    })
    .map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "the host did not start".into())
    })
}

/// Where this run keeps the cases' inventories and modules.
fn run_dir() -> PathBuf {
    std::env::temp_dir().join(format!("f3s-vm-e2e-{}", std::process::id()))
}

/// Runs `case` on the guest, then on the stand-in, and compares what they saw.
fn run_case(name: &str, guest: Guest, case: Case) -> Result<(), Failed> {
    let mut hosts = HOSTS.lock().unwrap_or_else(|e| e.into_inner());
    // The cases run guest by guest: one about to boot means the others are done with, and
    // stop (by their PIDs) rather than idle beside it on the machine's two cores.
    let started = match guest {
        Guest::Storage(Image::Bookworm) => hosts.storage.is_some(),
        Guest::Storage(Image::OpenZfs23) => hosts.storage_2_3.is_some(),
        Guest::Client => hosts.client.is_some(),
    };
    if !started {
        drop(std::mem::take(&mut *hosts));
    }
    let slot = match guest {
        Guest::Storage(Image::Bookworm) => &mut hosts.storage,
        Guest::Storage(Image::OpenZfs23) => &mut hosts.storage_2_3,
        Guest::Client => &mut hosts.client,
    };
    let (vm, lab) = match slot.get_or_insert_with(|| start(guest)) {
        Ok((vm, lab)) => (&*vm, &*lab),
        Err(why) => return Err(format!("no {guest:?} guest: {why}").into()),
    };
    let dir = run_dir().join(name);
    let mut seen = Vec::new();
    for side in [Side::Real(vm), Side::StandIn(lab)] {
        let side_dir = dir.join(side.label());
        std::fs::create_dir_all(&side_dir).unwrap();
        let mut notes = Seen::default();
        case(&side, &side_dir, &mut notes);
        seen.push(notes.0.join("\n"));
    }
    if seen[0] != seen[1] {
        return Err(format!(
            "the stand-in disagrees with the real tool\n--- real:\n{}\n--- stand-in:\n{}",
            seen[0], seen[1]
        )
        .into());
    }
    Ok(())
}

/// A QEMU that dies while its guest boots is told in words: the signal, the host kernel's line
/// for it, QEMU's log and the console's tail, with their paths. No image needed: a script plays
/// QEMU as the image's `qemu-system` does (a shell script that execs it), and what it execs
/// really faults, so the kernel logs it under the PID the lab holds.
fn a_dying_qemu_is_told_in_words() -> Result<(), Failed> {
    let dir = run_dir().join("dying-qemu");
    std::fs::create_dir_all(&dir).unwrap();
    let fake = dir.join("qemu-system");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\n\
             echo 'qemu-system-x86_64: a fake QEMU' >&2\n\
             echo 'Linux version 6.1 (a fake console)' > '{}'\n\
             exec /usr/bin/python3 -c 'import ctypes; ctypes.string_at(0)'\n",
            dir.join("console.log").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut qemu = vm::Qemu::start(vm::Qemu::command(&fake), dir.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    let report = loop {
        if let Some(report) = qemu.died() {
            break report;
        }
        if Instant::now() > deadline {
            return Err("the fake QEMU did not die in 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let pid = qemu.pid();
    let expected = [
        format!("QEMU (PID {pid}) was killed by SIGSEGV (signal 11) "),
        " s after it started, before the guest answered SSH; ".to_string(),
        format!("the host kernel logged:\n    python3[{pid}]: segfault at 0 "),
        format!(
            "{}:\n    qemu-system-x86_64: a fake QEMU",
            dir.join("qemu.log").display()
        ),
        format!(
            "its last 40 lines, {}:\n    Linux version 6.1 (a fake console)",
            dir.join("console.log").display()
        ),
    ];
    match expected.iter().find(|part| !report.contains(part.as_str())) {
        Some(missing) => Err(format!("the report lacks {missing:?}; it reads:\n{report}").into()),
        None => Ok(()),
    }
}

/// Busy loops that load the machine while they live: each stopped by its PID when dropped,
/// and with the test process otherwise (parent-death signal).
struct Load(Vec<std::process::Child>);

impl Load {
    fn start(loops: usize) -> Load {
        Load(
            (0..loops)
                .map(|_| {
                    Command::new("setpriv")
                        .args(["--pdeathsig", "KILL", "sh", "-c", "while :; do :; done"])
                        .spawn()
                        .expect("a busy loop starts")
                })
                .collect(),
        )
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A number from the environment, or `default`.
fn number_from_env(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |value| {
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value}: not a number"))
    })
}

/// Measures how reliably the storage guest boots (docs/vm-boot-reliability.md): boots it
/// F3S_VM_BOOTS times (10 unless set), one at a time and without retries, beside F3S_VM_LOAD
/// busy loops (2 unless set), with the QEMU and CPU model that F3S_VM_QEMU and F3S_VM_CPU
/// choose (tests/lab/vm.rs), and prints boots that answered out of those tried, QEMU's
/// deaths (each told as the lab tells it) and the boot times. Ignored unless asked for
/// (`-- --ignored boot_reliability`): it takes about a minute a boot.
fn boot_reliability() -> Result<(), Failed> {
    let boots = number_from_env("F3S_VM_BOOTS", 10);
    let loops = number_from_env("F3S_VM_LOAD", 2);
    let emulator = vm::emulator(Image::Bookworm);
    let load = Load::start(loops);
    let (mut times, mut died, mut silent) = (Vec::new(), 0, 0);
    for boot in 1..=boots {
        match Vm::boot(Image::Bookworm, "f0", Os::Freebsd, STORAGE_CASES.len()) {
            Ok(vm) => {
                eprintln!(
                    "boot {boot} of {boots}: answered in {} s",
                    vm.booted_in.as_secs()
                );
                times.push(vm.booted_in.as_secs());
            }
            Err(vm::BootFailure::Died(why)) => {
                died += 1;
                eprintln!("boot {boot} of {boots}: {why}");
            }
            Err(vm::BootFailure::Silent(why)) => {
                silent += 1;
                eprintln!("boot {boot} of {boots}: {why}");
            }
        }
    }
    drop(load);
    let load_average = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    times.sort_unstable();
    let spread = match (times.first(), times.last()) {
        (Some(min), Some(max)) => {
            format!(
                "min {min} s, median {} s, max {max} s",
                times[times.len() / 2]
            )
        }
        _ => "none".into(),
    };
    println!(
        "{emulator}, {loops} busy loops: {} of {boots} boots answered SSH; QEMU deaths: \
         {died}; guests silent for {} s: {silent}; boot times {spread}; load average at the \
         end {}",
        times.len(),
        vm::BOOT_DEADLINE.as_secs(),
        load_average
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}

fn main() {
    let mut args = Arguments::from_args();
    // One case at a time: the cases share the guests.
    args.test_threads = Some(1);
    let skipped = vm::skipped();
    let storage = |image: Image, suffix: &'static str| {
        STORAGE_CASES
            .iter()
            .map(move |&(name, case)| (format!("{name}{suffix}"), Guest::Storage(image), case))
    };
    let cases = storage(Image::Bookworm, "")
        .chain(storage(Image::OpenZfs23, "_on_openzfs_2_3"))
        .chain(
            CLIENT_CASES
                .iter()
                .map(|&(name, case)| (name.to_string(), Guest::Client, case)),
        );
    let mut trials: Vec<Trial> = cases
        .map(|(name, guest, case)| {
            let trial_name = name.clone();
            Trial::test(trial_name, move || run_case(&name, guest, case)).with_ignored_flag(skipped)
        })
        .collect();
    // Needs no guest: runs even when the VM tests are skipped.
    trials.push(Trial::test(
        "a_dying_qemu_is_told_in_words",
        a_dying_qemu_is_told_in_words,
    ));
    // A measurement, not a check: only when asked for.
    trials.push(Trial::test("boot_reliability", boot_reliability).with_ignored_flag(true));
    let conclusion = libtest_mimic::run(&args, trials);
    // Every guest and lab host stops here, by its PID, before the process exits.
    drop(std::mem::take(
        &mut *HOSTS.lock().unwrap_or_else(|e| e.into_inner()),
    ));
    let _ = std::fs::remove_dir_all(run_dir());
    conclusion.exit();
}
