//! What f3s does before it replaces a file, on lab hosts: a `validate` command checks the new
//! content first (a refused check leaves the old file byte for byte), and the replaced
//! content is kept as a backup that is named in the apply's output and can be put back.

mod common;
mod lab;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Case, HOSTS, assert_code, stdout};
use lab::{Lab, LabHost, Os, sh_ok};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const ZREPL_YML: &str = "/usr/local/etc/zrepl/zrepl.yml";

/// One lab host, and an inventory rewritten per apply with the host's section.
struct Setup {
    lab: Lab,
    inventory: PathBuf,
    modules: PathBuf,
}

impl Setup {
    fn new(name: &str, os: Os) -> Self {
        let lab = Lab::start(&[(name, os)]);
        let inventory = lab.dir().join("inventory.yml");
        let modules = lab.dir().join("modules");
        Setup {
            lab,
            inventory,
            modules,
        }
    }

    fn host(&self) -> &LabHost {
        &self.lab.hosts[0]
    }

    /// Writes the inventory with `section` (vars and modules of the host) and runs f3s.
    fn f3s(&self, section: &str, args: &[&str]) -> Output {
        let yaml = format!(
            "module_path: [{}, {ROOT}/modules]\n{}",
            self.modules.display(),
            self.lab.inventory_hosts(&|_| section.to_string())
        );
        std::fs::write(&self.inventory, yaml).unwrap();
        let mut full: Vec<&str> = vec![args[0], "-i", self.inventory.to_str().unwrap()];
        full.extend_from_slice(&args[1..]);
        common::f3s(&full)
    }

    fn module(&self, name: &str, text: &str) {
        let dir = self.modules.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("module.yml"), text).unwrap();
    }
}

/// f0's zrepl_source section, keeping `keep` snapshots (0 is what zrepl refuses).
fn zrepl_source(keep: u32) -> String {
    format!(
        "    vars:\n      zrepl_sink_address: \"192.168.2.131:8888\"\n      zrepl_push_jobs:\n        - {{ name: f0_to_f1_nfsdata, filesystem: zdata/enc/nfsdata, interval: 1m }}\n    modules:\n      - module: zrepl_source\n        params: {{ zrepl_keep: {keep} }}\n"
    )
}

/// The backups of `path` on `host` under `dir`, oldest first.
fn backups(host: &LabHost, dir: &str, path: &str) -> Vec<String> {
    let (parent, name) = path.rsplit_once('/').unwrap();
    sh_ok(
        host,
        &format!("ls -1 '{dir}{parent}' 2>/dev/null | grep '^{name}\\.[0-9]*T[0-9]*Z$' || true"),
    )
    .lines()
    .map(|line| format!("{dir}{parent}/{line}"))
    .collect()
}

/// The line of the apply's output about `address`.
fn line_of<'a>(output: &'a str, address: &str) -> &'a str {
    output
        .lines()
        .rfind(|line| line.starts_with(&format!("{address}: ")) && !line.ends_with("applying"))
        .unwrap_or_else(|| panic!("no line for {address}:\n{output}"))
}

#[test]
fn a_refused_check_leaves_the_old_file_byte_for_byte_and_a_passed_one_keeps_it() {
    let setup = Setup::new("f0", Os::Freebsd);
    let f0 = setup.host();
    assert_code(&setup.f3s(&zrepl_source(10), &["apply", "--yes"]), 0);
    // The zrepl.yml as an admin has since edited it by hand: bytes f3s never wrote.
    f0.write(
        ZREPL_YML,
        "# tuned by hand\t \n  jobs: [not, zrepl's, shape\n\n# no newline",
    );
    let before = f0.read(ZREPL_YML).unwrap();
    let calls_before = f0.calls().len();

    // zrepl refuses `count: 0` ("field count is required but has zero value").
    let refused = setup.f3s(&zrepl_source(0), &["apply", "--yes"]);
    assert_code(&refused, 1);
    let text = stdout(&refused);
    let failure = line_of(&text, "f0/file:/usr/local/etc/zrepl/zrepl.yml");
    assert!(failure.contains("FAILED"), "{text}");
    assert!(
        failure.contains("count is required but has zero value"),
        "zrepl's words: {text}"
    );
    assert!(failure.contains("is left as it was"), "{text}");
    assert!(
        line_of(&text, "f0/service:zrepl").contains("skipped"),
        "no restart onto a refused config: {text}"
    );
    assert_eq!(f0.read(ZREPL_YML).unwrap(), before, "byte for byte");
    let calls = f0.calls().split_off(calls_before);
    assert!(
        calls.iter().any(
            |c| c.starts_with("zrepl --config /usr/local/etc/zrepl/.f3s.")
                && c.ends_with(" configcheck")
        ),
        "the checker ran on the new file beside the old: {calls:?}"
    );
    assert!(
        !calls
            .iter()
            .any(|c| c == "service zrepl restart" || c == "service zrepl start"),
        "{calls:?}"
    );
    assert_eq!(
        sh_ok(f0, "find /usr/local/etc/zrepl -name '.f3s.*'"),
        "",
        "no temporary file left"
    );
    assert!(
        backups(f0, "/var/backups/f3s", ZREPL_YML).is_empty(),
        "nothing replaced"
    );

    let passed = setup.f3s(&zrepl_source(5), &["apply", "--yes"]);
    assert_code(&passed, 0);
    let text = stdout(&passed);
    let kept = backups(f0, "/var/backups/f3s", ZREPL_YML);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        line_of(&text, "f0/file:/usr/local/etc/zrepl/zrepl.yml")
            .contains(&format!("done, replaced content kept in {}", kept[0])),
        "the backup is named: {text}"
    );
    assert_eq!(f0.read(&kept[0]).unwrap(), before);
    assert!(f0.read_text(ZREPL_YML).unwrap().contains("count: 5"));
    assert_eq!(
        sh_ok(f0, "stat -f '%Lp %Su' /var/backups/f3s").trim(),
        "700 root"
    );

    // rc.conf, edited by the first apply (zrepl_enable), was kept as the bare host had it.
    let rc_conf = backups(f0, "/var/backups/f3s", "/etc/rc.conf");
    assert_eq!(rc_conf.len(), 1, "{rc_conf:?}");
    let bare = std::fs::read(Path::new(ROOT).join("tests/lab/bare/freebsd/etc/rc.conf")).unwrap();
    assert_eq!(f0.read(&rc_conf[0]).unwrap(), bare);
}

/// The sensitive file's key text at each apply, and a line edit of /etc/hosts.
fn key_module(setup: &Setup) {
    setup.module(
        "kept",
        "params:\n  key_text: {}\nresources:\n  - directory: /etc/f3s-test\n    mode: \"0755\"\n  - file: /etc/f3s-test/key\n    content: \"{{key_text}}\"\n    sensitive: true\n    mode: \"0400\"\n  - line: test-vip\n    path: /etc/hosts\n    text: \"192.0.2.1 f3s-test-vip\"\n",
    );
}

fn key_section(text: &str) -> String {
    format!("    modules:\n      - module: kept\n        params: {{ key_text: \"{text}\" }}\n")
}

#[test]
fn backups_keep_the_originals_mode_and_put_back_as_the_readme_says() {
    let setup = Setup::new("r0", Os::Rocky);
    key_module(&setup);
    let r0 = setup.host();
    let bare_hosts = r0.read("/etc/hosts").unwrap();
    let first = setup.f3s(&key_section("first-key-text"), &["apply", "--yes"]);
    assert_code(&first, 0);
    let text = stdout(&first);
    assert_eq!(
        line_of(&text, "r0/file:/etc/f3s-test/key"),
        line_of(&text, "r0/file:/etc/f3s-test/key").replace(", replaced content kept", ""),
        "a file f3s creates has nothing to keep: {text}"
    );
    let hosts_kept = backups(r0, "/var/lib/f3s/backup", "/etc/hosts");
    assert_eq!(hosts_kept.len(), 1, "an edited file is kept too");
    assert_eq!(r0.read(&hosts_kept[0]).unwrap(), bare_hosts);
    assert!(
        line_of(&text, "r0/line:test-vip").contains(&hosts_kept[0]),
        "{text}"
    );

    let second = setup.f3s(&key_section("second-key-text"), &["apply", "--yes"]);
    assert_code(&second, 0);
    let kept = backups(r0, "/var/lib/f3s/backup", "/etc/f3s-test/key");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(line_of(&stdout(&second), "r0/file:/etc/f3s-test/key").contains(&kept[0]));
    assert!(
        !stdout(&second).contains("first-key-text"),
        "a name, not the content"
    );
    assert_eq!(r0.read(&kept[0]).unwrap(), b"first-key-text");
    assert_eq!(
        sh_ok(r0, &format!("stat -c '%a %U %G' '{}'", kept[0])).trim(),
        "400 root root"
    );
    assert_eq!(
        sh_ok(
            r0,
            "stat -c '%a' /var/lib/f3s/backup /var/lib/f3s/backup/etc/f3s-test"
        ),
        "700\n700\n",
        "nobody but root reaches a backup"
    );

    // docs/guide.md, "Before f3s replaces a file": copy beside the file, keeping mode and owner, then rename over it.
    sh_ok(
        r0,
        &format!(
            "cp -p '{}' /etc/f3s-test/.key.restore && mv /etc/f3s-test/.key.restore /etc/f3s-test/key",
            kept[0]
        ),
    );
    assert_eq!(r0.read("/etc/f3s-test/key").unwrap(), b"first-key-text");
    assert_eq!(
        sh_ok(r0, "stat -c '%a %U' /etc/f3s-test/key").trim(),
        "400 root"
    );
    // Put back, the old content is what the inventory must say too, or f3s replaces it again.
    assert_code(
        &setup.f3s(
            &key_section("second-key-text"),
            &["plan", "--detailed-exitcode"],
        ),
        2,
    );
    assert_code(
        &setup.f3s(
            &key_section("first-key-text"),
            &["plan", "--detailed-exitcode"],
        ),
        0,
    );
}

#[test]
fn a_validate_command_names_the_new_file_once_and_holds_no_secret() {
    let module = |validate: &str| {
        format!(
            "params:\n  token: {{ default: none }}\nresources:\n  - file: /etc/x\n    content: x\n    validate: {validate}\n"
        )
    };
    let inventory = format!("{HOSTS}    modules:\n      - module: m\n");
    Case::new(&inventory)
        .module("m", &module("sh -n"))
        .fails_with(&[("module.yml:6", "does not name the file to check as {new}")]);
    Case::new(&inventory)
        .module("m", &module("\"sh -n '{new}'\""))
        .fails_with(&[("module.yml:6", "{new} is quoted")]);
    let with_secret = format!(
        "secrets:\n  token:\n    file: {ROOT}/examples/fixture/secrets/carp_password\n{HOSTS}    vars:\n      token: {{ secret: token }}\n    modules:\n      - module: m\n"
    );
    Case::new(&with_secret)
        .module("m", &module("\"check --token {{token}} {new}\""))
        .fails_with(&[("module.yml:6", "rendered from a secret")]);
}
