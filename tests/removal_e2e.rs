//! Taking things away, on lab hosts: `state: absent` for each kind that has it, and what
//! left the inventory, which each host's record of what f3s manages names: listed by a plan,
//! removed by `apply --prune`, with what the admin has beside it left as it is.

mod common;
mod lab;

use std::path::PathBuf;
use std::process::Output;

use common::{assert_code, stdout};
use lab::{Lab, LabHost, Os};

/// f0's resources, all there.
const F0_PRESENT: &str = r##"resources:
  - directory: /usr/local/etc/extra
  - file: /usr/local/etc/extra/a.conf
    content: "a = 1\n"
  - file: /usr/local/etc/gone.conf
    content: "gone\n"
  - line: alias
    path: /etc/hosts
    text: "10.0.0.9 extra-alias"
  - block: notes
    path: /etc/devd.conf
    content: "# extra notes\n# second line"
  - sysrc: extra_enable
    value: "YES"
  - cron: extra-job
    schedule: "0 4 * * *"
    command: /usr/local/bin/extra.sh
  - package: zrepl
  - service: ntpdate
    state: ignore
"##;

/// f0's resources afterwards: some said to be absent, the rest left out of the module.
const F0_ABSENT: &str = r#"resources:
  - file: /usr/local/etc/gone.conf
    state: absent
  - line: alias
    path: /etc/hosts
    text: "10.0.0.9 extra-alias"
    state: absent
  - sysrc: extra_enable
    state: absent
  - service: ntpdate
    state: absent
"#;

const R0_PRESENT: &str = r#"resources:
  - systemd: extra.service
    content: "[Unit]\nDescription=extra\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
  - directory: /mnt/scratch
  - mount: /mnt/scratch
    device: tmpfs
    fstype: tmpfs
"#;

const R0_ABSENT: &str = r#"resources:
  - systemd: extra.service
    state: absent
"#;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Setup {
    lab: Lab,
    inventory: PathBuf,
    modules: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let lab = Lab::start(&[("f0", Os::Freebsd), ("r0", Os::Rocky)]);
        let inventory = lab.dir().join("inventory.yml");
        let modules = lab.dir().join("modules");
        Self {
            lab,
            inventory,
            modules,
        }
    }

    /// Writes each host's module as given and the inventory using them, and runs f3s.
    fn f3s(&self, f0: &str, r0: &str, args: &[&str]) -> Output {
        for (name, text) in [("extra_f0", f0), ("extra_r0", r0)] {
            let dir = self.modules.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("module.yml"), text).unwrap();
        }
        let yaml = format!(
            "module_path: [{}, {ROOT}/modules]\n{}",
            self.modules.display(),
            self.lab.inventory_hosts(&|host| format!(
                "    modules:\n      - module: extra_{}\n",
                host.name
            ))
        );
        std::fs::write(&self.inventory, yaml).unwrap();
        let mut full: Vec<&str> = vec![args[0], "-i", self.inventory.to_str().unwrap()];
        full.extend_from_slice(&args[1..]);
        common::f3s(&full)
    }
}

fn text(host: &LabHost, path: &str) -> String {
    host.read_text(path).unwrap_or_default()
}

fn exists(host: &LabHost, path: &str) -> bool {
    host.sh(&format!("[ -e '{path}' ]")).status.success()
}

#[test]
fn what_is_absent_goes_what_left_the_inventory_is_listed_then_pruned_and_the_rest_stays() {
    let setup = Setup::new();
    let (f0, r0) = (setup.lab.host("f0"), setup.lab.host("r0"));
    // What the admin has beside f3s's: kept through every step.
    f0.write("/etc/hosts", "127.0.0.1 localhost\n192.168.1.1 router\n");
    f0.sh("printf '0 3 * * * /root/backup.sh\\n' | crontab -u root -");
    f0.sh("printf 'hostname=\"f0\"\\n' >> /etc/rc.conf");

    let applied = setup.f3s(F0_PRESENT, R0_PRESENT, &["apply", "--yes"]);
    assert_code(&applied, 0);
    assert!(exists(f0, "/usr/local/etc/extra/a.conf"));
    assert!(text(f0, "/etc/hosts").contains("extra-alias"));
    assert!(text(r0, "/etc/fstab").contains("tmpfs /mnt/scratch"));
    for (host, record) in [(f0, "/var/db/f3s/managed"), (r0, "/var/lib/f3s/managed")] {
        let written = text(host, record);
        assert!(written.contains("\"kind\":\"directory\""), "{written}");
        let mode = host.sh(&format!("ls -ln {record} | cut -c1-10"));
        assert_eq!(String::from_utf8_lossy(&mode.stdout).trim(), "-rw-------");
    }
    let clean = setup.f3s(F0_PRESENT, R0_PRESENT, &["plan", "--detailed-exitcode"]);
    assert_code(&clean, 0);

    // Without --prune: what left the inventory is listed, and nothing of it changes.
    let listed = setup.f3s(F0_ABSENT, R0_ABSENT, &["plan"]);
    assert_code(&listed, 0);
    let shown = stdout(&listed);
    for gone in [
        "directory:/usr/local/etc/extra",
        "file:/usr/local/etc/extra/a.conf",
        "block:notes",
        "cron:extra-job",
        "package:zrepl",
        "mount:/mnt/scratch",
        "directory:/mnt/scratch",
    ] {
        let line = shown
            .lines()
            .find(|line| line.contains(&format!("? {gone} ")))
            .unwrap_or_else(|| panic!("{gone} is not listed:\n{shown}"));
        assert!(line.contains("--prune removes it"), "{line}");
    }
    assert!(shown.contains("7 resources left the inventory"), "{shown}");
    for absent in [
        "- file:/usr/local/etc/gone.conf",
        "- sysrc:extra_enable",
        "- systemd:extra.service",
    ] {
        assert!(shown.contains(absent), "{absent}:\n{shown}");
    }

    let pruned = setup.f3s(F0_ABSENT, R0_ABSENT, &["apply", "--yes", "--prune"]);
    assert_code(&pruned, 0);
    let output = stdout(&pruned);
    assert!(!exists(f0, "/usr/local/etc/extra"), "{output}");
    assert!(!exists(f0, "/usr/local/etc/gone.conf"));
    assert_eq!(
        text(f0, "/etc/hosts"),
        "127.0.0.1 localhost\n192.168.1.1 router\n"
    );
    let devd = text(f0, "/etc/devd.conf");
    assert!(
        !devd.contains("extra notes") && !devd.contains("f3s notes"),
        "{devd}"
    );
    let crontab = String::from_utf8_lossy(&f0.sh("crontab -u root -l").stdout).into_owned();
    assert_eq!(crontab, "0 3 * * * /root/backup.sh\n");
    let rc_conf = text(f0, "/etc/rc.conf");
    assert!(!rc_conf.contains("extra_enable"), "{rc_conf}");
    assert!(rc_conf.contains("hostname=\"f0\""), "{rc_conf}");
    assert!(
        !exists(f0, "/usr/local/bin/zrepl"),
        "the package's files went"
    );
    assert!(!exists(r0, "/etc/systemd/system/extra.service"));
    assert!(!text(r0, "/etc/fstab").contains("/mnt/scratch"));
    assert!(!text(r0, "/var/lib/lab/mounts").contains("/mnt/scratch"));
    assert!(!exists(r0, "/mnt/scratch"));
    // A removed file is kept as a backup, named in the apply's output.
    assert!(output.contains("gone.conf."), "{output}");

    // The records say what is left; a plan is clean and lists nothing more.
    let record = text(f0, "/var/db/f3s/managed");
    assert!(
        !record.contains("zrepl") && !record.contains("extra-job"),
        "{record}"
    );
    let after = setup.f3s(
        F0_ABSENT,
        R0_ABSENT,
        &["plan", "--prune", "--detailed-exitcode"],
    );
    assert_code(&after, 0);
    assert!(
        !stdout(&after).contains("no longer managed"),
        "{}",
        stdout(&after)
    );
}

#[test]
fn a_record_f3s_did_not_write_prunes_nothing() {
    let setup = Setup::new();
    let f0 = setup.lab.host("f0");
    f0.sh("mkdir -p /var/db/f3s");
    f0.write(
        "/var/db/f3s/managed",
        "{\"kind\":\"file\",\"name\":\"etc/passwd; rm -rf /\"}\n",
    );
    let refused = setup.f3s(F0_ABSENT, R0_ABSENT, &["plan", "--prune"]);
    assert_code(&refused, 1);
    assert!(
        common::stderr(&refused).contains("cannot prune f0"),
        "{}",
        common::stderr(&refused)
    );
    let listed = setup.f3s(F0_ABSENT, R0_ABSENT, &["plan"]);
    assert_code(&listed, 0);
    assert!(
        stdout(&listed).contains("the record of what f3s manages here"),
        "{}",
        stdout(&listed)
    );
    assert!(exists(f0, "/etc/passwd"));
}
