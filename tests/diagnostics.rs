//! Broken inventories and modules: each is reported as a diagnostic that names the file and
//! line of the fault, with exit code 1 and no panic.

mod common;

use common::{Case, HOSTS, f3s_in, stderr};

fn with_module(module: &str) -> String {
    format!("{HOSTS}    modules:\n      - module: {module}\n")
}

/// f0 with module `m`, given `param: value`; the value is on line 8 of inventory.yml.
fn with_param(param: &str, value: &str) -> String {
    format!(
        "{}        params:\n          {param}: {value}\n",
        with_module("m")
    )
}

#[test]
fn yaml_syntax_error() {
    Case::new("hosts:\n  f0:\n    os: freebsd\n    address: [192.168.1.130\n")
        .fails_with(&[("inventory.yml:4", "invalid YAML")]);
}

#[test]
fn wrong_type_in_the_inventory() {
    Case::new("hosts:\n  f0:\n    os: windows\n    address: 192.168.1.130\n").fails_with(&[(
        "inventory.yml:3",
        "one of `freebsd`, `rocky` expected here, found `windows`",
    )]);
}

#[test]
fn unknown_host_in_a_reference() {
    Case::new(&with_module("m"))
        .module(
            "m",
            "
resources:
  - file: /etc/motd
    content: hello
    requires: f9/file:/etc/hosts
",
        )
        .fails_with(&[("module.yml:4", "unknown host `f9`")]);
}

#[test]
fn unknown_resource_in_a_reference() {
    Case::new(&with_module("m"))
        .module(
            "m",
            "
resources:
  - file: /etc/motd
    content: hello
    notify: service:nope
",
        )
        .fails_with(&[("module.yml:4", "`f0/service:nope` names no resource")]);
}

#[test]
fn unknown_module() {
    Case::new(&with_module("nope")).fails_with(&[("inventory.yml:6", "unknown module `nope`")]);
}

#[test]
fn unknown_parameter() {
    Case::new(&with_param("colour", "red"))
        .module("m", "params:\n  color: {}\nresources: []\n")
        .fails_with(&[("inventory.yml:8", "module `m` has no parameter `colour`")]);
}

#[test]
fn missing_parameter() {
    Case::new(&with_module("m"))
        .module("m", "params:\n  vip: {}\nresources: []\n")
        .fails_with(&[("inventory.yml:6", "module `m` needs parameter `vip`")]);
}

#[test]
fn unknown_attribute() {
    Case::new(&with_module("m"))
        .module("m", "resources:\n  - file: /etc/motd\n    contents: typo\n")
        .fails_with(&[(
            "module.yml:3",
            "`file` resources have no attribute `contents`",
        )]);
}

#[test]
fn missing_template_variable_in_a_template_file() {
    let err = Case::new(&with_module("m"))
        .module(
            "m",
            "resources:\n  - file: /etc/motd\n    template: motd.hbs\n",
        )
        .file(
            "modules/m/templates/motd.hbs",
            "Welcome to {{host.name}}\nServed by {{vip}}\n",
        )
        .fails_with(&[("motd.hbs:2", "uses `vip`, which has no value here")]);
    assert!(
        err.contains("module.yml:3"),
        "says where the template is used:\n{err}"
    );
}

#[test]
fn missing_template_variable_inline() {
    Case::new(&with_module("m"))
        .module(
            "m",
            "resources:\n  - sysrc: zrepl_enable\n    value: \"{{enabled}}\"\n",
        )
        .fails_with(&[("module.yml:3", "uses `enabled`")]);
}

#[test]
fn invalid_dataset_name() {
    Case::new(&with_param("dataset", "zdata//enc"))
        .module(
            "m",
            "params:\n  dataset: { type: dataset }\nresources: []\n",
        )
        .fails_with(&[("inventory.yml:8", "invalid dataset name `zdata//enc`")]);
}

#[test]
fn cycle_of_three_resources_names_every_member() {
    let err = Case::new(&with_module("m"))
        .module(
            "m",
            "
resources:
  - file: /etc/a
    content: a
    requires: file:/etc/c
  - file: /etc/b
    content: b
    requires: file:/etc/a
  - file: /etc/c
    content: c
    requires: file:/etc/b
",
        )
        .fails_with(&[("module.yml:2", "dependency cycle")]);
    for member in ["f0/file:/etc/a", "f0/file:/etc/b", "f0/file:/etc/c"] {
        assert!(err.contains(member), "names {member}:\n{err}");
    }
}

#[test]
fn shell_metacharacters_where_a_name_is_expected() {
    Case::new(&with_module("m"))
        .module("m", "resources:\n  - service: \"mountd; reboot\"\n")
        .fails_with(&[(
            "module.yml:2",
            "invalid service name `mountd; reboot`: it contains `;`",
        )]);
}

#[test]
fn shell_metacharacters_in_an_inventory_value_for_a_typed_parameter() {
    Case::new(&with_param("pkg", "\"stunnel && curl x\""))
        .module(
            "m",
            "params:\n  pkg: { type: package }\nresources:\n  - package: \"{{pkg}}\"\n",
        )
        .fails_with(&[(
            "inventory.yml:8",
            "invalid package name `stunnel && curl x`",
        )]);
}

#[test]
fn mode_written_as_a_number_is_refused() {
    Case::new(&with_module("m"))
        .module("m", "resources:\n  - file: /etc/motd\n    mode: 0644\n")
        .fails_with(&[("module.yml:3", "quoted octal string")]);
}

#[test]
fn whole_file_and_line_edits_of_one_file_conflict() {
    Case::new(&with_module("m"))
        .module(
            "m",
            "
resources:
  - file: /etc/hosts
    content: x
  - line: vip
    path: /etc/hosts
    text: 10.0.0.1 vip
",
        )
        .fails_with(&[(
            "module.yml:4",
            "has its whole content managed by `f0/file:/etc/hosts`",
        )]);
}

#[test]
fn several_faults_are_reported_together() {
    let err = Case::new(&with_module("m"))
        .module(
            "m",
            "
resources:
  - service: \"bad name\"
  - file: relative/path
  - package: stunnel
    colour: red
",
        )
        .fails_with(&[
            ("module.yml:2", "invalid service name"),
            ("module.yml:3", "invalid path `relative/path`"),
            ("module.yml:5", "no attribute `colour`"),
        ]);
    assert!(err.contains("3 errors"), "{err}");
}

/// A module's default may only use `host` and `hosts`: one that refers to a parameter (its
/// own, say) is a diagnostic at the default, never a loop or an empty string.
#[test]
fn a_default_that_refers_to_itself() {
    Case::new(&with_module("m"))
        .module(
            "m",
            "
params:
  motd:
    default: \"{{motd}}!\"
resources:
  - file: /etc/motd
    content: \"{{motd}}\"
",
        )
        .fails_with(&[("module.yml:2", "uses `motd`, which has no value here")]);
}

/// What the inventory gives is a value: a var that looks like a template (even one naming
/// itself) arrives as written, never rendered.
#[test]
fn an_inventory_value_is_never_rendered() {
    let case = Case::new(&with_param("motd", "\"{{host.vars.motd}} {{motd}}\""))
        .module(
            "m",
            "
params:
  motd: {}
resources:
  - file: /etc/motd
    content: \"{{motd}}\"
",
        )
        .file("state/f0.yml", "os: freebsd\n");
    let output = f3s_in(
        case.path(),
        &["plan", "-i", "inventory.yml", "--state", "state"],
    );
    let text = common::stdout(&output) + &stderr(&output);
    assert!(
        text.contains("+{{host.vars.motd}} {{motd}}"),
        "the value as written:\n{text}"
    );
}

/// What `zfs set` would refuse is refused at its line: a size zfs_nicestrtonum cannot read, a
/// word not in the property's table (index words are exact), a read-only or unknown property,
/// one property under two names, and `mounted: true` where `zfs mount` refuses the dataset.
#[test]
fn zfs_properties_zfs_would_refuse() {
    let dataset = |lines: &str| format!("\nresources:\n  - zfs: zroot/data\n{lines}");
    let cases = [
        (
            "    properties:\n      quota: 10X\n",
            "module.yml:4",
            "invalid ZFS size: invalid numeric suffix `X`",
        ),
        (
            "    properties:\n      quota: \"0\"\n",
            "module.yml:4",
            "use `none` to disable quota/refquota",
        ),
        (
            "    properties:\n      recsize: 100K\n",
            "module.yml:4",
            "`recordsize` must be power of 2 from 512B to 16M",
        ),
        (
            "    properties:\n      compress: LZ4\n",
            "module.yml:4",
            "`compression` takes one of on, off, lzjb",
        ),
        (
            "    properties:\n      used: 1G\n",
            "module.yml:4",
            "`used` is read-only",
        ),
        (
            "    properties:\n      compresion: lz4\n",
            "module.yml:4",
            "`compresion` is not a ZFS dataset property",
        ),
        (
            "    properties:\n      compress: lz4\n      compression: lz4\n",
            "module.yml:4",
            "`zfs` resource takes only one of compression, compress",
        ),
        (
            "    properties:\n      mountpoint: legacy\n    mounted: true\n",
            "module.yml:2",
            "`zfs` resource takes only one of mounted: true, mountpoint: legacy",
        ),
    ];
    for (lines, place, message) in cases {
        Case::new(&with_module("m"))
            .module("m", &dataset(lines))
            .fails_with(&[(place, message)]);
    }
}

/// Hosts compile side by side, yet faults read in inventory order: host by host, a module
/// that cannot be found in its place among the host's modules.
#[test]
fn faults_of_many_hosts_come_in_inventory_order() {
    let mut inventory = String::from("hosts:\n");
    for n in 0..6 {
        inventory.push_str(&format!(
            "  f{n}:\n    os: freebsd\n    address: 192.168.1.{n}\n    modules:\n      - module: m\n"
        ));
        if n == 3 {
            inventory.push_str("      - module: missing\n");
        }
    }
    let err = Case::new(&inventory)
        .module("m", "\nresources:\n  - file: \"relative/{{host.name}}\"\n")
        .fails_with(&[("module.yml:2", "invalid path `relative/f0`")]);
    let places: Vec<usize> = (0..6)
        .map(|n| format!("invalid path `relative/f{n}`"))
        .chain(["unknown module `missing`".to_string()])
        .map(|message| {
            err.find(&message)
                .unwrap_or_else(|| panic!("says {message}:\n{err}"))
        })
        .collect();
    let (hosts, missing) = (&places[..6], places[6]);
    assert!(hosts.is_sorted(), "host order:\n{err}");
    assert!(
        hosts[3] < missing && missing < hosts[4],
        "in f3's place:\n{err}"
    );
}

/// `{{#if}}` blocks one a line, `count` of them.
fn blocks(count: usize) -> String {
    "{{#if host.name}}x{{/if}}\n".repeat(count)
}

#[test]
fn a_template_of_twenty_thousand_blocks_is_refused_at_the_tag_past_the_bound() {
    // Handlebars' parser takes time growing with the square of a template's tags (5,000
    // blocks took 5.7 s); f3s refuses before it parses. Two tags a line: the 501st, the first
    // past the bound, opens line 251.
    let err = Case::new(&with_module("m"))
        .module(
            "m",
            "resources:\n  - file: /etc/motd\n    template: motd.hbs\n",
        )
        .file("modules/m/templates/motd.hbs", &blocks(20_000))
        .fails_with(&[(
            "motd.hbs:251",
            "templates/motd.hbs` is too large to parse: it holds more than 500 `{{…}}` tags",
        )]);
    assert!(err.contains("motd.hbs:251:1]"), "at the tag:\n{err}");
    assert!(err.contains("tag 501"), "labelled:\n{err}");
    assert!(
        err.contains("module.yml:3"),
        "says where the template is used:\n{err}"
    );
}

#[test]
fn a_template_past_64_kib_is_refused_at_the_byte_past_the_bound() {
    let line = format!("{}\n", "x".repeat(63));
    Case::new(&with_module("m"))
        .module(
            "m",
            "resources:\n  - file: /etc/motd\n    template: motd.hbs\n",
        )
        .file("modules/m/templates/motd.hbs", &line.repeat(1_100))
        .fails_with(&[(
            "motd.hbs:1025",
            "it is 70400 bytes, past the 65536 f3s parses in one template",
        )]);
}

#[test]
fn an_inline_template_of_twenty_thousand_blocks_is_refused_at_its_value() {
    Case::new(&with_module("m"))
        .module(
            "m",
            &format!(
                "resources:\n  - file: /etc/motd\n    content: {:?}\n",
                blocks(20_000)
            ),
        )
        .fails_with(&[("module.yml:3", "more than 500 `{{…}}` tags")]);
}

#[test]
fn a_template_at_the_bounds_renders() {
    let case = Case::new(&with_module("m"))
        .module(
            "m",
            "resources:\n  - file: /etc/motd\n    template: motd.hbs\n",
        )
        .file("modules/m/templates/motd.hbs", &blocks(250));
    let output = f3s_in(case.path(), &["check", "-i", "inventory.yml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

/// A broken `status:` entry is a diagnostic at its line, as a broken resource is: an unknown
/// read, an unknown attribute, a threshold on a read that gives a word, a host it cannot
/// read on, an `expect_by` naming no check of the host.
#[test]
fn broken_status_entries_are_diagnostics_at_their_lines() {
    Case::new(&with_module("m"))
        .module(
            "m",
            "
status:
  - check: one
    read: uptime
  - check: two
    read: pool_health
    pool: zdata
    colour: red
  - check: three
    read: pool_health
    pool: zdata
    warn_above: 3
  - check: four
    read: key_status
    dataset: zdata/enc
    on: f9
  - check: five
    read: service
    service: nfsd
    expect_by: { check: carp, MASTER: running }
",
        )
        .fails_with(&[
            ("module.yml:3", "one of carp_role, snapshot_age"),
            ("module.yml:7", "unknown"),
            ("module.yml:8", "a read that gives a number"),
            ("module.yml:12", "a host of the inventory"),
            ("module.yml:16", "the name of a status check read on f0"),
        ]);
}

/// A key the YAML has but the place does not take is named as such, with the key that was
/// surely meant; a value of the wrong kind is said in words.
#[test]
fn a_misspelled_key_is_named_with_what_was_meant() {
    let text = Case::new("hosts:\n  f0:\n    os: freebsd\n    adress: 192.168.1.130\n")
        .fails_with(&[("inventory.yml:4", "unknown key `adress`")]);
    assert!(text.contains("did you mean `address`?"), "{text}");
    assert!(!text.contains("YAML syntax"), "the YAML is fine: {text}");
    let text = Case::new(
        "hosts:\n  f0:\n    os: freebsd\n    address: 192.168.1.130\n    connection:\n      port: twentytwo\n",
    )
    .fails_with(&[("inventory.yml:6", "a whole number from 0 to 65535")]);
    assert!(text.contains("found `twentytwo`"), "{text}");
    assert!(!text.contains("u16"), "{text}");
}

/// A typo in a module used by three hosts is one fault, reported once, with the attribute
/// that was meant.
#[test]
fn a_module_typo_is_reported_once_for_all_its_hosts() {
    let inventory = "defaults:\n  modules:\n    - module: m\nhosts:\n  f0: { os: freebsd, address: 192.168.1.130 }\n  f1: { os: freebsd, address: 192.168.1.131 }\n  f2: { os: freebsd, address: 192.168.1.132 }\n";
    let text = Case::new(inventory)
        .module("m", "resources:\n  - file: /etc/x\n    contnet: x\n")
        .fails_with(&[("module.yml:3", "contnet")]);
    assert_eq!(text.matches("contnet").count(), 2, "one diagnostic: {text}");
    assert!(text.contains("did you mean `content`?"), "{text}");
}
