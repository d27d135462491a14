//! The tools f3s calls on a host, as their upstream sources say they behave, and f3s converging
//! with them: each test shows the lab's stand-in doing what the real tool does (the sources are
//! cited in the stand-ins), then f3s planning, applying and planning again with no change.

mod common;
mod lab;

use std::path::PathBuf;
use std::process::Output;

use common::{assert_code, stdout};
use lab::{Lab, LabHost, Os};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A lab of `hosts`, each with one module of its own (`resources` is the module's resources
/// section).
fn lab_with(hosts: &[(&str, Os)], resources: &str) -> (Lab, PathBuf) {
    let lab = Lab::start(hosts);
    let module = lab.dir().join("modules/under_test");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(
        module.join("module.yml"),
        format!("resources:\n{resources}"),
    )
    .unwrap();
    let modules = |_: &LabHost| "    modules:\n      - module: under_test\n".to_string();
    let yaml = format!(
        "module_path: [{}, {ROOT}/modules]\n{}",
        lab.dir().join("modules").display(),
        lab.inventory_hosts(&modules)
    );
    let inventory = lab.dir().join("inventory.yml");
    std::fs::write(&inventory, yaml).unwrap();
    (lab, inventory)
}

/// A lab of one host with the module.
fn host_with(name: &str, os: Os, resources: &str) -> (Lab, PathBuf) {
    lab_with(&[(name, os)], resources)
}

fn f3s(inventory: &std::path::Path, args: &[&str]) -> Output {
    let mut full = vec![args[0], "-i", inventory.to_str().unwrap()];
    full.extend_from_slice(&args[1..]);
    common::f3s(&full)
}

/// Applies, then plans again: nothing is left to do.
fn converges(inventory: &std::path::Path) -> String {
    let applied = f3s(inventory, &["apply", "--yes"]);
    assert_code(&applied, 0);
    let again = f3s(inventory, &["plan", "--detailed-exitcode"]);
    assert_code(&again, 0);
    stdout(&again)
}

/// Runs `script` on the host, giving its exit code and what it printed (stdout, stderr).
fn run(host: &LabHost, script: &str) -> (i32, String, String) {
    let output = host.sh(script);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// FreeBSD's service(8) and rc.subr, as libexec/rc/rc.subr's run_rc_command has them: a
/// service whose rcvar is not YES is not started, stopped (unless it runs), restarted or
/// reloaded, with a message and exit status 0; the `one` prefix acts anyway; `enabled` reads
/// the script's rcvar (nfsd's is nfs_server_enable) after /etc/defaults/rc.conf; a script
/// with neither a command nor a status_cmd (rc.d/ntpdate) has no `status` at all.
#[test]
fn freebsd_service_does_nothing_for_a_service_not_enabled_unless_told_one() {
    let lab = Lab::start(&[("f0", Os::Freebsd)]);
    let f0 = lab.host("f0");

    let (code, out, _) = run(f0, "service mountd start");
    assert_eq!(code, 0, "the quiet failure exits 0");
    assert_eq!(
        out,
        "Cannot 'start' mountd. Set mountd_enable to YES in /etc/rc.conf or use 'onestart' instead of 'start'.\n"
    );
    let (code, out, _) = run(f0, "service mountd onestatus");
    assert_eq!((code, out.as_str()), (1, "mountd is not running.\n"));
    for verb in ["restart", "reload"] {
        let (code, out, _) = run(f0, &format!("service mountd {verb}"));
        assert_eq!(code, 0);
        assert!(
            out.starts_with(&format!("Cannot '{verb}' mountd.")),
            "{out}"
        );
    }

    // required_files: mountd starts only with /etc/exports there.
    let (code, _, err) = run(f0, "service mountd onestart");
    assert_eq!(code, 1);
    assert!(err.contains("/etc/exports is not readable."), "{err}");
    f0.write("/etc/exports", "V4: /\n");
    let (code, out, _) = run(f0, "service mountd onestart");
    assert_eq!((code, out.as_str()), (0, "Starting mountd.\n"));
    let (code, _, err) = run(f0, "service mountd onestart");
    assert_eq!(code, 1);
    assert_eq!(err, "mountd already running?  (pid=4242).\n");
    let (code, out, _) = run(f0, "service mountd status");
    assert_eq!(
        (code, out.as_str()),
        (0, "mountd is running as pid 4242.\n")
    );
    // A stop of what runs does not ask the rcvar.
    let (code, out, _) = run(f0, "service mountd stop");
    assert_eq!((code, out.as_str()), (0, "Stopping mountd.\n"));
    let (code, out, _) = run(f0, "service mountd stop");
    assert_eq!(code, 0);
    assert!(out.starts_with("Cannot 'stop' mountd."), "{out}");

    // `enabled` is the rcvar's word: devd's default is YES, nfsd's rcvar is not nfsd_enable.
    assert_eq!(run(f0, "service devd enabled").0, 0);
    assert_eq!(run(f0, "service nfsd enabled").0, 1);
    run(f0, "sysrc nfsd_enable=YES");
    assert_eq!(run(f0, "service nfsd enabled").0, 1);
    run(f0, "sysrc nfs_server_enable=YES");
    assert_eq!(run(f0, "service nfsd enabled").0, 0);

    let (code, _, err) = run(f0, "service ntpdate onestatus");
    assert_eq!(code, 1);
    assert!(
        err.starts_with("/etc/rc.d/ntpdate: unknown directive 'status'.\nUsage: /etc/rc.d/ntpdate [fast|force|one|quiet](start|stop|restart|rcvar|enable|disable|delete|enabled|describe|extracommands)"),
        "{err}"
    );
    let (code, out, _) = run(f0, "service nonesuch onestart");
    assert_eq!(code, 1);
    assert!(
        out.starts_with("nonesuch does not exist in /etc/rc.d"),
        "{out}"
    );
}

/// f3s runs services with the `one` verbs, so a service kept running but not enabled at boot
/// runs; a service whose rcvar is not NAME_enable is enabled by its own rcvar; a script-only
/// service (no status) is neither started on every apply nor reported as a change, and a
/// notify still restarts it.
#[test]
fn services_converge_whatever_starts_at_boot() {
    let resources = "  - service: mountd\n    enabled: false\n  - service: nfsd\n    state: stopped\n  - service: ntpdate\n  - file: /etc/ntp.conf\n    content: \"server 127.0.0.1\\n\"\n    notify: service:ntpdate\n";
    let (lab, inventory) = host_with("f0", Os::Freebsd, resources);
    let f0 = lab.host("f0");
    f0.write("/etc/exports", "V4: /\n");

    let plan = stdout(&f3s(&inventory, &["plan"]));
    assert!(plan.contains("state: stopped -> running"), "{plan}");
    assert!(
        plan.contains("has no status to tell whether it runs"),
        "{plan}"
    );
    let again = converges(&inventory);
    assert!(
        again.contains("has no status to tell whether it runs"),
        "{again}"
    );

    assert_eq!(run(f0, "service mountd onestatus").0, 0, "mountd runs");
    assert_eq!(run(f0, "service mountd enabled").0, 1, "and is not enabled");
    assert_eq!(run(f0, "service nfsd enabled").0, 0);
    let rc_conf = f0.read_text("/etc/rc.conf").unwrap();
    assert!(rc_conf.contains("nfs_server_enable=\"YES\""), "{rc_conf}");
    assert!(rc_conf.contains("ntpdate_enable=\"YES\""), "{rc_conf}");
    let calls = f0.calls();
    let count = |call: &str| calls.iter().filter(|c| *c == call).count();
    assert_eq!(
        count("service ntpdate onerestart"),
        1,
        "for its new ntp.conf: {calls:?}"
    );
    assert_eq!(count("service ntpdate onestart"), 0, "{calls:?}");
}

/// sysrc(8) reads a variable by sourcing /etc/defaults/rc.conf and then rc_conf_files
/// (f_sysrc_get), so a fresh host reads FreeBSD's defaults (libexec/rc/rc.conf): devd_enable
/// is YES, nfs_server_enable NO; a variable with no default at all is "unknown". f3s
/// converges the effective value: a default that is already what is wanted is not copied
/// into rc.conf, one that is not is written, and the next plan is empty.
#[test]
fn rc_conf_defaults_count_and_are_not_copied_into_rc_conf() {
    let resources = "  - sysrc: devd_enable\n    value: \"YES\"\n  - sysrc: mountd_enable\n    value: \"NO\"\n  - sysrc: nfs_server_enable\n    value: \"YES\"\n  - sysrc: zfskeys_enable\n    value: \"YES\"\n";
    let (lab, inventory) = host_with("f0", Os::Freebsd, resources);
    let f0 = lab.host("f0");
    assert_eq!(run(f0, "sysrc -n devd_enable").1, "YES\n");
    assert_eq!(run(f0, "sysrc -n nfs_server_enable").1, "NO\n");
    let (code, _, err) = run(f0, "sysrc -n zfskeys_enable");
    assert_eq!(
        (code, err.as_str()),
        (1, "sysrc: unknown variable 'zfskeys_enable'\n")
    );

    let plan = stdout(&f3s(&inventory, &["plan"]));
    assert!(plan.contains("value: NO -> YES"), "{plan}");
    assert!(plan.contains("value: (unset) -> YES"), "{plan}");
    assert!(
        !plan.contains("devd_enable") && !plan.contains("mountd_enable"),
        "{plan}"
    );
    converges(&inventory);
    let rc_conf = f0.read_text("/etc/rc.conf").unwrap();
    assert!(
        !rc_conf.contains("devd_enable") && !rc_conf.contains("mountd_enable"),
        "{rc_conf}"
    );
    assert!(rc_conf.contains("nfs_server_enable=\"YES\"\n"), "{rc_conf}");
    assert!(rc_conf.contains("zfskeys_enable=\"YES\"\n"), "{rc_conf}");
}

/// FreeBSD stat(1) (usr.bin/stat/stat.c, format1): `%Lp` masks the mode to 0777, so it never
/// shows a set-user-ID, set-group-ID or sticky bit; `%OMp` is those bits and `%03OLp` the rest
/// padded. An owner the host has no name for is `(ID)` for `%Su` (GNU stat: UNKNOWN).
#[test]
fn freebsd_stat_shows_special_bits_only_in_the_middle_piece() {
    let lab = Lab::start(&[("f0", Os::Freebsd)]);
    let f0 = lab.host("f0");
    run(
        f0,
        "touch /tmp/s /tmp/o && chmod 4755 /tmp/s && chmod 0005 /tmp/o && chown 4321:4322 /tmp/o",
    );
    assert_eq!(run(f0, "stat -f %Lp /tmp/s").1, "755\n");
    assert_eq!(run(f0, "stat -f %OMp%03OLp /tmp/s").1, "4755\n");
    assert_eq!(run(f0, "stat -f %Lp /tmp/o").1, "5\n");
    assert_eq!(run(f0, "stat -f %OMp%03OLp /tmp/o").1, "0005\n");
    assert_eq!(
        run(f0, "stat -f '%u %Su %g %Sg' /tmp/o").1,
        "4321 (4321) 4322 (4322)\n"
    );
    assert_eq!(run(f0, "stat -f '%u %Su' /tmp/s").1, "0 root\n");
}

/// Modes with set-user-ID, set-group-ID and sticky bits converge on both families, and a file
/// whose owner has no name on the host keeps it (as its id) when only its mode is managed.
#[test]
fn special_mode_bits_and_unnamed_owners_converge() {
    let resources = "  - file: /usr/local/bin/setuid-tool\n    content: \"#!/bin/sh\\n\"\n    mode: \"4755\"\n  - directory: /srv/drop\n    mode: \"1777\"\n  - directory: /srv/shared\n    mode: \"2775\"\n  - file: /srv/foreign\n    mode: \"0640\"\n";
    let (lab, inventory) = lab_with(&[("f0", Os::Freebsd), ("r0", Os::Rocky)], resources);
    for host in &lab.hosts {
        run(
            host,
            "mkdir -p /srv && printf x > /srv/foreign && chown 4321:4322 /srv/foreign && chmod 0644 /srv/foreign",
        );
    }
    let plan = stdout(&f3s(&inventory, &["plan"]));
    assert!(plan.contains("mode: 0644 -> 0640"), "{plan}");
    converges(&inventory);
    for host in &lab.hosts {
        let modes = run(
            host,
            "for p in /usr/local/bin/setuid-tool /srv/drop /srv/shared /srv/foreign; do /usr/libexec/lab/real-stat -c '%a %u' \"$p\" 2>/dev/null || stat -c '%a %u' \"$p\"; done",
        )
        .1;
        assert_eq!(modes, "4755 0\n1777 0\n2775 0\n640 4321\n", "{}", host.name);
    }
}

const BOOT_UNIT: &str = "[Unit]\nDescription=lab\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n";
const STATIC_UNIT: &str = "[Unit]\nDescription=lab\n[Service]\nExecStart=/bin/true\n";

/// systemctl(1) is-enabled prints the unit file state and exits 0 for enabled, and also for
/// enabled-runtime, static, indirect, alias and generated (src/systemctl/systemctl-is-enabled.c;
/// the lab runs the real systemctl for it, offline).
#[test]
fn systemctl_is_enabled_succeeds_for_units_that_are_not_enabled() {
    let lab = Lab::start(&[("r0", Os::Rocky)]);
    let r0 = lab.host("r0");
    r0.write("/etc/systemd/system/boot.service", BOOT_UNIT);
    r0.write("/etc/systemd/system/helper.service", STATIC_UNIT);
    assert_eq!(run(r0, "systemctl is-enabled boot.service").0, 1);
    assert_eq!(run(r0, "systemctl is-enabled boot.service").1, "disabled\n");
    assert_eq!(
        run(r0, "systemctl is-enabled helper.service"),
        (0, "static\n".to_string(), String::new())
    );
    run(r0, "systemctl enable --runtime boot.service");
    assert_eq!(
        run(r0, "systemctl is-enabled boot.service").0,
        0,
        "enabled-runtime"
    );
    assert_eq!(
        run(r0, "systemctl is-enabled boot.service").1,
        "enabled-runtime\n"
    );
    run(r0, "systemctl enable boot.service");
    assert_eq!(run(r0, "systemctl is-enabled boot.service").1, "enabled\n");
}

/// f3s reads is-enabled's word: a unit enabled only until the next boot (enabled-runtime) is
/// enabled for good; one whose unit file decides (static) is refused when asked to be enabled
/// or disabled, and left alone with `enabled: ignore`.
#[test]
fn enablement_is_read_from_the_word_and_converges() {
    let resources = format!(
        "  - systemd: boot.service\n    content: {:?}\n  - systemd: helper.service\n    content: {:?}\n    enabled: ignore\n    state: ignore\n  - service: runtime.service\n",
        BOOT_UNIT, STATIC_UNIT
    );
    let (lab, inventory) = host_with("r0", Os::Rocky, &resources);
    let r0 = lab.host("r0");
    r0.write("/usr/lib/systemd/system/runtime.service", BOOT_UNIT);
    run(r0, "systemctl enable --runtime runtime.service");

    let plan = stdout(&f3s(&inventory, &["plan"]));
    assert!(plan.contains("service:runtime.service  change"), "{plan}");
    assert!(plan.contains("enabled: no -> yes"), "{plan}");
    converges(&inventory);
    for unit in ["boot.service", "runtime.service"] {
        assert_eq!(
            run(r0, &format!("systemctl is-enabled {unit}")).1,
            "enabled\n"
        );
    }
    assert_eq!(run(r0, "systemctl is-enabled helper.service").1, "static\n");

    // A static unit asked to be disabled would be "disabled" again on every apply.
    let module = lab.dir().join("modules/under_test/module.yml");
    let text = std::fs::read_to_string(&module).unwrap();
    std::fs::write(&module, text.replace("enabled: ignore", "enabled: false")).unwrap();
    let refused = f3s(&inventory, &["plan"]);
    assert_code(&refused, 1);
    let said = common::stderr(&refused);
    assert!(said.contains("say `enabled: ignore`"), "{said}");
}

/// doas asks for a password where the rule lacks `nopass`; nothing could type one, and a
/// prompt reading stdin would eat the script. f3s runs `doas -n`, which refuses at once
/// (doas.c main: `if (nflag) errx(1, "Authorization required")`; OpenDoas, the lab's, says
/// "Authentication required" from its PAM code), and f3s says what to change.
#[test]
fn a_doas_rule_asking_for_a_password_fails_at_once_with_what_to_change() {
    let (lab, inventory) = host_with(
        "f0",
        Os::Freebsd,
        "  - file: /etc/motd\n    content: \"lab\\n\"\n",
    );
    let f0 = lab.host("f0");
    f0.write("/etc/doas.conf", "permit paul as root\n");
    for command in [&["plan"][..], &["apply", "--yes"]] {
        let refused = f3s(&inventory, command);
        assert_code(&refused, 1);
        let said = common::stderr(&refused);
        assert!(
            said.contains("f0: doas refused to run f3s's commands as root: doas: Auth")
                && said.contains(" required\n"),
            "{said}"
        );
        assert!(said.contains("permit nopass paul as root"), "{said}");
    }
    assert_ne!(
        f0.read_text("/etc/motd").as_deref(),
        Some("lab\n"),
        "nothing ran"
    );
}

/// A fresh FreeBSD has only pkg's bootstrapper (usr.sbin/pkg/pkg.c): without a terminal it
/// installs nothing unless ASSUME_ALWAYS_YES says yes. Then pkg query (src/query.c) answers
/// 69 for a package not installed, and pkg install refuses a package the repository lacks
/// (libpkg/pkg_jobs.c).
#[test]
fn freebsd_pkg_bootstraps_only_when_told_yes() {
    let lab = Lab::start(&[("f0", Os::Freebsd)]);
    let f0 = lab.host("f0");
    let not_yet = "The package management tool is not yet installed on your system.\nPlease set ASSUME_ALWAYS_YES=yes environment variable to be able to bootstrap in non-interactive (stdin not being a tty)\n";
    assert_eq!(
        run(f0, "pkg query %v zrepl"),
        (1, String::new(), not_yet.to_string())
    );
    assert_eq!(
        run(f0, "pkg install -y zrepl"),
        (1, String::new(), not_yet.to_string())
    );
    assert_eq!(
        run(f0, "pkg -N info"),
        (1, String::new(), "pkg: pkg is not installed\n".to_string())
    );
    let (code, _, err) = run(f0, "ASSUME_ALWAYS_YES=yes pkg install -y nonesuch");
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "pkg: No packages available to install matching 'nonesuch' have been found in the repositories\n"
    );
    assert_eq!(
        run(f0, "pkg query %v zrepl"),
        (69, String::new(), String::new())
    );
    assert_eq!(run(f0, "pkg query %v pkg").1, "1.0\n", "bootstrapped");
}

/// f3s reads a host without pkg as having no packages, bootstraps it when it installs one,
/// and converges; a package database pkg cannot read fails the plan rather than reading as
/// "not installed".
#[test]
fn packages_install_on_a_host_without_pkg_and_an_unreadable_database_is_no_absence() {
    let (lab, inventory) = host_with("f0", Os::Freebsd, "  - package: zrepl\n");
    let f0 = lab.host("f0");
    let plan = stdout(&f3s(&inventory, &["plan"]));
    assert!(plan.contains("run: install package zrepl"), "{plan}");
    converges(&inventory);
    assert_eq!(
        run(f0, "pkg query %v zrepl"),
        (0, "1.0\n".to_string(), String::new())
    );

    f0.write(
        "/usr/local/sbin/pkg",
        "#!/bin/sh\necho 'pkg: Cannot get a read lock on a database, it is locked by another process' >&2\nexit 75\n",
    );
    let refused = f3s(&inventory, &["plan"]);
    assert_code(&refused, 1);
    let said = common::stderr(&refused);
    assert!(
        said.contains("cannot tell whether package zrepl is installed: pkg: Cannot get a read lock on a database"),
        "{said}"
    );
}

/// FreeBSD crontab(1) (usr.sbin/cron/crontab/crontab.c): -l for a user with no crontab is
/// "no crontab for USER", for a user the system lacks "user `NAME' unknown", both exit 1; an
/// installed crontab carries a three-line header that -l leaves out.
#[test]
fn freebsd_crontab_says_why_it_lists_nothing_and_hides_its_header() {
    let lab = Lab::start(&[("f0", Os::Freebsd)]);
    let f0 = lab.host("f0");
    assert_eq!(
        run(f0, "crontab -u root -l"),
        (
            1,
            String::new(),
            "crontab: no crontab for root\n".to_string()
        )
    );
    assert_eq!(
        run(f0, "crontab -u ghost -l"),
        (
            1,
            String::new(),
            "crontab: user `ghost' unknown\n".to_string()
        )
    );
    assert_eq!(
        run(f0, "printf 'not a crontab line\\n' | crontab -u root -").0,
        1
    );
    assert_eq!(
        run(f0, "printf '# mine\\n@daily true\\n' | crontab -u root -").0,
        0
    );
    let stored = f0.read_text("/var/cron/tabs/root").unwrap();
    assert!(
        stored.starts_with("# DO NOT EDIT THIS FILE - edit the master and reinstall.\n"),
        "{stored}"
    );
    assert_eq!(stored.lines().count(), 5, "{stored}");
    assert_eq!(run(f0, "crontab -u root -l").1, "# mine\n@daily true\n");
}

/// f3s takes only "no crontab" for an empty crontab and converges; a crontab it cannot read
/// (its user unknown) fails the plan instead of being replaced.
#[test]
fn a_cron_entry_converges_and_an_unreadable_crontab_is_not_replaced() {
    let resources = "  - cron: stamp\n    schedule: \"*/5 * * * *\"\n    command: /usr/bin/true\n";
    let (lab, inventory) = host_with("f0", Os::Freebsd, resources);
    let f0 = lab.host("f0");
    run(f0, "printf 'MAILTO=ops\\n' | crontab -u root -");
    converges(&inventory);
    assert_eq!(
        run(f0, "crontab -u root -l").1,
        "MAILTO=ops\n# f3s: stamp\n*/5 * * * * /usr/bin/true\n"
    );

    let module = lab.dir().join("modules/under_test/module.yml");
    let text = std::fs::read_to_string(&module).unwrap();
    std::fs::write(&module, format!("{text}    user: ghost\n")).unwrap();
    let refused = f3s(&inventory, &["plan"]);
    assert_code(&refused, 1);
    let said = common::stderr(&refused);
    assert!(
        said.contains("cannot read the crontab of ghost: crontab: user `ghost' unknown"),
        "{said}"
    );
}

/// FreeBSD kldload(8) (sbin/kldload/kldload.c): loading a module already there is an error
/// ("module already loaded or in kernel") unless -n; a file not in the module path is one
/// too. kldstat -q -m answers by exit status alone (kldstat.8). f3s loads with -n and
/// converges.
#[test]
fn freebsd_kldload_refuses_a_loaded_module_unless_told_n() {
    let (lab, inventory) = host_with("f0", Os::Freebsd, "  - kmod: carp\n");
    let f0 = lab.host("f0");
    assert_eq!(
        run(f0, "kldstat -q -m carp"),
        (1, String::new(), String::new())
    );
    assert_eq!(run(f0, "kldstat -q -m zfs").0, 0, "loaded at boot");
    assert_eq!(
        run(f0, "kldload zfs"),
        (
            1,
            String::new(),
            "kldload: can't load zfs: module already loaded or in kernel\n".to_string()
        )
    );
    assert_eq!(run(f0, "kldload -n zfs"), (0, String::new(), String::new()));
    assert_eq!(
        run(f0, "kldload -n nonesuch"),
        (
            1,
            String::new(),
            "kldload: can't load nonesuch: No such file or directory\n".to_string()
        )
    );
    converges(&inventory);
    assert_eq!(run(f0, "kldstat -q -m carp").0, 0);
    assert!(f0.calls().contains(&"kldload -n carp".to_string()));
}

/// The Rocky hosts run util-linux's own findmnt over the lab's mount table: nothing mounted is
/// exit 1 and no output; mounts stacked on one path are listed in mount order.
#[test]
fn rocky_findmnt_is_the_real_one() {
    let lab = Lab::start(&[("r0", Os::Rocky)]);
    let r0 = lab.host("r0");
    let probe = "findmnt -n -o SOURCE,FSTYPE --mountpoint /mnt/data";
    assert_eq!(run(r0, probe), (1, String::new(), String::new()));
    r0.write(
        "/var/lib/lab/mounts",
        "/dev/sdb1 /mnt/data xfs\n127.0.0.1:/data /mnt/data nfs4\n",
    );
    let (code, out, _) = run(r0, probe);
    assert_eq!(code, 0);
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines,
        [vec!["/dev/sdb1", "xfs"], vec!["127.0.0.1:/data", "nfs4"]]
    );
}

/// OpenZFS's zfs(8), as the stand-in's header cites it: `zfs get -p` prints sizes in bytes
/// (quota 0 for none) under the property's own name, whatever name (`compress`, `recsize`) it
/// was asked by; `zfs set` reads sizes as zfs_nicestrtonum does, keeps an index by the first
/// word of its value (xattr=sa is on from 2.3, the lab's 2.2 keeps it sa), and refuses what
/// zprop_parse_value and zfs_valid_proplist refuse, exit status 255 from 2.2 (set_callback
/// returns zfs_prop_set_list_flags' -1).
#[test]
fn zfs_get_p_prints_bytes_and_canonical_names() {
    let lab = Lab::start(&[("f0", Os::Freebsd)]);
    let f0 = lab.host("f0");
    let get = |props: &str| {
        run(
            f0,
            &format!("zfs get -H -p -o property,value {props} zroot/t"),
        )
    };
    assert_eq!(run(f0, "zfs create zroot/t").0, 0);
    assert_eq!(
        get("quota,compress,recsize,atime").1,
        "quota\t0\ncompression\ton\nrecordsize\t131072\natime\ton\n"
    );
    for set in [
        "quota=10G",
        "compress=lz4",
        "recsize=1M",
        "xattr=sa",
        "refquota=1.5g",
    ] {
        assert_eq!(run(f0, &format!("zfs set {set} zroot/t")).0, 0, "{set}");
    }
    assert_eq!(
        get("quota,compression,recordsize,xattr,refquota").1,
        "quota\t10737418240\ncompression\tlz4\nrecordsize\t1048576\nxattr\tsa\nrefquota\t1610612736\n"
    );
    assert_eq!(run(f0, "zfs set quota=none zroot/t").0, 0);
    assert_eq!(get("quota").1, "quota\t0\n");

    let refusals = [
        ("quota=0", "use 'none' to disable quota/refquota"),
        ("quota=10X", "invalid numeric suffix 'X'"),
        ("quota=ten", "bad numeric value 'ten'"),
        (
            "recordsize=100K",
            "'recordsize' must be power of 2 from 512B to 16M",
        ),
        (
            "compression=LZ4",
            "'compression' must be one of 'on | off | lzjb",
        ),
        ("encryption=on", "'encryption' is readonly"),
        ("used=1G", "'used' is readonly"),
        ("nosuch=1", "invalid property 'nosuch'"),
    ];
    for (set, reason) in refusals {
        let (code, _, err) = run(f0, &format!("zfs set {set} zroot/t"));
        assert_eq!(code, 255, "{set}");
        assert!(
            err.starts_with(&format!("cannot set property for 'zroot/t': {reason}")),
            "{set}: {err}"
        );
    }
    let (code, _, err) = get("quota,nosuch");
    assert_eq!(
        (code, err.as_str()),
        (2, "bad property list: invalid property 'nosuch'\n")
    );
}

/// zfs_main.c share_mount_one: an explicit `zfs mount` refuses a legacy or `none` mountpoint
/// and canmount=off, and a dataset already mounted; `zfs create` mounts only with canmount=on
/// (zfs_mount_and_share), while an explicit mount takes canmount=noauto; a mountpoint of
/// `none` unmounts (libzfs_changelist.c).
#[test]
fn zfs_mount_refuses_what_zfs_cannot_mount() {
    let lab = Lab::start(&[("f0", Os::Freebsd)]);
    let f0 = lab.host("f0");
    for (dataset, option) in [
        ("legacy", "mountpoint=legacy"),
        ("hidden", "mountpoint=none"),
        ("off", "canmount=off"),
        ("later", "canmount=noauto"),
    ] {
        assert_eq!(
            run(f0, &format!("zfs create -o {option} zroot/{dataset}")).0,
            0
        );
        let mounted = run(
            f0,
            &format!("zfs get -H -p -o value mounted zroot/{dataset}"),
        );
        assert_eq!(mounted.1, "no\n", "{dataset} is not mounted by create");
    }
    let refusals = [
        (
            "legacy",
            "cannot mount 'zroot/legacy': legacy mountpoint\nuse mount(8) to mount this filesystem\n",
        ),
        ("hidden", "cannot mount 'zroot/hidden': no mountpoint set\n"),
        (
            "off",
            "cannot mount 'zroot/off': 'canmount' property is set to 'off'\n",
        ),
    ];
    for (dataset, said) in refusals {
        let (code, _, err) = run(f0, &format!("zfs mount zroot/{dataset}"));
        assert_eq!((code, err.as_str()), (1, said));
    }
    assert_eq!(run(f0, "zfs mount zroot/later").0, 0);
    let (code, _, err) = run(f0, "zfs mount zroot/later");
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "cannot mount 'zroot/later': filesystem already mounted\n"
        )
    );
    run(f0, "zfs set mountpoint=none zroot/later");
    assert_eq!(
        run(f0, "zfs get -H -p -o value mounted zroot/later").1,
        "no\n"
    );
}

/// zpool_main.c zpool_do_create: a mountpoint that exists and holds an entry is refused, with
/// or without -f; an empty directory is taken.
#[test]
fn zpool_create_refuses_a_mountpoint_that_is_not_empty() {
    let lab = Lab::start(&[("f0", Os::Freebsd)]);
    let f0 = lab.host("f0");
    run(f0, "mkdir -p /tank && touch /tank/notes");
    for force in ["", "-f "] {
        let (code, _, err) = run(f0, &format!("zpool create {force}-m /tank tank /dev/da0"));
        assert_eq!(
            (code, err.as_str()),
            (
                1,
                "mountpoint '/tank' exists and is not empty\nuse '-m' option to provide a different default\n"
            )
        );
    }
    run(f0, "rm /tank/notes");
    assert_eq!(run(f0, "zpool create -m /tank tank /dev/da0").0, 0);
}

/// Datasets zfs does not mount (legacy, `none`, canmount=off or noauto) are not mounted on
/// every apply; sizes and column names converge: the second plan is empty.
#[test]
fn unmounted_datasets_sizes_and_aliases_converge() {
    let resources = "  - zfs: zroot/legacy\n    properties:\n      mountpoint: legacy\n  - zfs: zroot/hidden\n    properties:\n      mountpoint: none\n  - zfs: zroot/off\n    properties:\n      canmount: \"off\"\n  - zfs: zroot/later\n    properties:\n      canmount: noauto\n  - zfs: zroot/manual\n    properties:\n      canmount: noauto\n    mounted: true\n  - zfs: zroot/data\n    properties:\n      quota: 10G\n      compress: lz4\n      recsize: 1M\n      atime: \"off\"\n      refquota: none\n      xattr: \"on\"\n";
    let (lab, inventory) = host_with("f0", Os::Freebsd, resources);
    let f0 = lab.host("f0");
    // Two exist already: one unmounted with its mountpoint none, one with the defaults.
    run(
        f0,
        "zfs create -o mountpoint=none zroot/hidden && zfs create zroot/data",
    );

    let plan = stdout(&f3s(&inventory, &["plan"]));
    for change in [
        "quota: none -> 10G",
        "compression: on -> lz4",
        "recordsize: 128K -> 1M",
        "atime: on -> off",
    ] {
        assert!(plan.contains(change), "{change}: {plan}");
    }
    // refquota=none is its default (0), xattr=on is sa, its default.
    assert!(
        !plan.contains("refquota") && !plan.contains("xattr"),
        "{plan}"
    );
    assert!(!plan.contains("zroot/hidden"), "nothing to do: {plan}");
    converges(&inventory);
    let mounted = |dataset: &str| {
        run(
            f0,
            &format!("zfs get -H -p -o value mounted zroot/{dataset}"),
        )
        .1
    };
    for dataset in ["legacy", "hidden", "off", "later"] {
        assert_eq!(mounted(dataset), "no\n", "{dataset}");
    }
    assert_eq!(mounted("manual"), "yes\n");
    assert_eq!(mounted("data"), "yes\n");
    assert_eq!(
        run(
            f0,
            "zfs get -H -p -o property,value quota,compression,recordsize zroot/data"
        )
        .1,
        "quota\t10737418240\ncompression\tlz4\nrecordsize\t1048576\n"
    );
    let calls = f0.calls();
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("zfs mount zroot/") && !c.ends_with("manual")),
        "{calls:?}"
    );
}

/// A pool whose mountpoint holds files stops the plan (zpool create would refuse it); once the
/// directory is empty the pool is created and the next plan is empty.
#[test]
fn a_pool_mountpoint_with_files_stops_the_plan() {
    let resources = "  - zpool: tank\n    devices: [/dev/da0]\n    mountpoint: /tank\n";
    let (lab, inventory) = host_with("f0", Os::Freebsd, resources);
    let f0 = lab.host("f0");
    run(f0, "mkdir -p /tank && touch /tank/notes");
    let refused = f3s(&inventory, &["plan"]);
    assert_code(&refused, 1);
    let said = format!("{}{}", stdout(&refused), common::stderr(&refused));
    assert!(
        said.contains("zpool create refuses the mountpoint /tank of pool tank"),
        "{said}"
    );
    run(f0, "rm /tank/notes");
    converges(&inventory);
    assert_eq!(run(f0, "zpool list -H -o health tank").1, "ONLINE\n");
}

/// dnf 4 (dnf/cli/commands/install.py, InstallCommand.run): a name no repository has fails the
/// whole run before any transaction, "No match for argument" on stdout and "Error: Unable to
/// find a match" on stderr, so nothing is installed, not even the names that matched; a
/// package already there is no error. And util-linux mount(8) cannot mount NFS without
/// nfs-utils' /sbin/mount.nfs helper (libmount, mnt_context_get_mount_excode).
#[test]
fn rocky_dnf_installs_nothing_when_a_name_is_unknown_and_nfs_needs_nfs_utils() {
    let lab = Lab::start(&[("r0", Os::Rocky)]);
    let r0 = lab.host("r0");
    assert_eq!(
        run(r0, "dnf install -y nfs-utils no-such-package"),
        (
            1,
            "No match for argument: no-such-package\n".to_string(),
            "Error: Unable to find a match: no-such-package\n".to_string()
        )
    );
    assert_eq!(run(r0, "rpm -q nfs-utils").0, 1, "nothing installed");
    r0.write(
        "/etc/fstab",
        "127.0.0.1:/data /mnt/data nfs4 port=2323,_netdev 0 0\n",
    );
    r0.sh("mkdir -p /mnt/data /var/lib/lab/systemd/active && touch /var/lib/lab/systemd/active/stunnel");
    let (code, _, said) = run(r0, "mount /mnt/data");
    assert_eq!(code, 32);
    assert!(
        said.contains("you might need a /sbin/mount.<type> helper program"),
        "{said}"
    );
    assert_eq!(run(r0, "dnf install -y nfs-utils").0, 0);
    let (code, out, _) = run(r0, "dnf install -y nfs-utils");
    assert_eq!(code, 0);
    assert!(
        out.contains("is already installed.\n") && out.contains("Nothing to do.\n"),
        "{out}"
    );
    assert_eq!(
        run(r0, "mount /mnt/data"),
        (0, String::new(), String::new())
    );
}

/// A package the repository lacks fails the apply with dnf's own words, and is not taken for
/// installed by the next plan.
#[test]
fn an_unknown_rocky_package_fails_with_dnfs_words() {
    let (lab, inventory) = host_with("r0", Os::Rocky, "  - package: no-such-package\n");
    let applied = f3s(&inventory, &["apply", "--yes"]);
    assert_code(&applied, 1);
    let said = format!("{}{}", stdout(&applied), common::stderr(&applied));
    assert!(
        said.contains("Unable to find a match: no-such-package"),
        "{said}"
    );
    let again = f3s(&inventory, &["plan", "--detailed-exitcode"]);
    assert_code(&again, 2);
    drop(lab);
}

/// Many operands in one call, as the FreeBSD tools take them: pkg query (src/query.c,
/// exec_query) looks each name up in turn, by name or NAME-VERSION in either case, and prints
/// nothing for one it does not find, failing (69) only when it found none; zfs list and get
/// and zpool list (zfs_for_each, pool_list_get) say on stderr which operand does not exist
/// and answer the others all the same, each once, sorted by name, zfs then exiting 1, zpool
/// only when it listed none (zpool_do_list); kldstat -v names the modules in each loaded file.
#[test]
fn freebsd_tools_answer_many_operands_at_once() {
    let lab = Lab::start(&[("f0", Os::Freebsd)]);
    let f0 = lab.host("f0");
    run(f0, "ASSUME_ALWAYS_YES=yes pkg install -y zrepl stunnel");
    assert_eq!(
        run(f0, "pkg query '+ %n %v' nope ZREPL stunnel-1.0 zrepl"),
        (
            0,
            "+ zrepl 1.0\n+ stunnel 1.0\n+ zrepl 1.0\n".to_string(),
            String::new()
        )
    );
    assert_eq!(run(f0, "pkg query '+ %n %v' nope none").0, 69);
    assert_eq!(run(f0, "pkg query '%x' zrepl").0, 64, "EX_USAGE");

    run(f0, "zfs create zroot/b && zfs create zroot/a");
    assert_eq!(
        run(f0, "zfs list -H -o name zroot/b nope zroot/a zroot/b"),
        (
            1,
            "zroot/a\nzroot/b\n".to_string(),
            "cannot open 'nope': dataset does not exist\n".to_string()
        )
    );
    let (code, out, _) = run(
        f0,
        "zfs get -H -p -o name,property,value quota,user:x zroot/b nope zroot/a",
    );
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "zroot/a\tquota\t0\nzroot/a\tuser:x\t-\nzroot/b\tquota\t0\nzroot/b\tuser:x\t-\n"
    );
    assert_eq!(
        run(f0, "zpool list -H -o name,health nope zroot"),
        (
            0,
            "zroot\tONLINE\n".to_string(),
            "cannot open 'nope': no such pool\n".to_string()
        ),
        "1 only when no pool is listed"
    );
    assert_eq!(run(f0, "zpool list -H -o name,health nope").0, 1);
    let (code, out, _) = run(f0, "kldstat -v");
    assert_eq!(code, 0);
    assert!(out.starts_with("Id Refs Address"), "{out}");
    assert!(
        out.contains(" zfs.ko (/boot/kernel/zfs.ko)\n\tContains modules:\n\t\t Id Name\n"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("\t\t") && l.ends_with(" zfs")),
        "{out}"
    );
}

/// Many operands in one call, as the Rocky tools take them: rpm -q answers each name in turn
/// (the query format per package, or "package NAME is not installed"; a name ending in .rpm
/// is opened as a file) and exits with the count of names that failed (lib/query.c;
/// tools/rpm.c); systemctl is-active prints a line per unit, in order; is-enabled (the real
/// one, 252) stops at a unit with no unit file.
#[test]
fn rocky_tools_answer_many_operands_at_once() {
    let lab = Lab::start(&[("r0", Os::Rocky)]);
    let r0 = lab.host("r0");
    run(r0, "dnf install -y stunnel");
    assert_eq!(
        run(
            r0,
            "rpm -q --qf '+ %{NAME} %{VERSION}-%{RELEASE}\\n' -- nope stunnel lost.rpm stunnel-1.0"
        ),
        (
            2,
            "package nope is not installed\n+ stunnel 1.0-1.el9\n+ stunnel 1.0-1.el9\n".to_string(),
            "error: open of lost.rpm failed: No such file or directory\n".to_string()
        )
    );
    assert_eq!(
        run(r0, "rpm -q stunnel").1,
        "stunnel-1.0-1.el9.x86_64\n",
        "the default format"
    );
    r0.sh("mkdir -p /var/lib/lab/systemd/active && touch /var/lib/lab/systemd/active/b");
    assert_eq!(
        run(r0, "systemctl is-active -- a b c"),
        (0, "inactive\nactive\ninactive\n".to_string(), String::new())
    );
    assert_eq!(run(r0, "systemctl is-active a c").0, 3);
    r0.write("/etc/systemd/system/one.service", BOOT_UNIT);
    r0.write("/etc/systemd/system/two.service", STATIC_UNIT);
    let (code, out, err) = run(r0, "systemctl is-enabled one missing two");
    assert_eq!((code, out.as_str()), (1, "disabled\n"));
    assert!(err.contains("missing.service"), "{err}");
}
