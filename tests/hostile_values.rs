//! Values that would not read back from where they land on a host (an fstab field, a crontab
//! line, a marker comment, a `zfs get -H` line, a path spelled two ways, a template outside
//! its module, an ssh connection setting, a value inside a shell command's own quotes) are
//! each refused by `f3s check`, before any connection, with a diagnostic at their line that
//! names the value (or says `(sensitive)`).

mod common;

use common::{Case, HOSTS, f3s_in, stdout};

/// The one diagnostic that points at `place` (`file:line`); miette separates reports with a
/// blank line.
fn diagnostic<'a>(err: &'a str, place: &str) -> &'a str {
    err.split("\n\n")
        .find(|report| report.contains(&format!("{place}:")))
        .unwrap_or_else(|| panic!("no diagnostic at {place}:\n{err}"))
}

/// Runs `f3s check` and asserts it fails with exactly these `(file:line, message, label)`
/// diagnostics, each message and label in the report for its line.
fn rejects(case: &Case, expected: &[(&str, &str, &str)]) -> String {
    let places: Vec<(&str, &str)> = expected.iter().map(|(p, m, _)| (*p, *m)).collect();
    let err = case.fails_with(&places);
    for (place, message, label) in expected {
        let report = diagnostic(&err, place);
        assert!(
            report.contains(message),
            "{place} says {message:?}:\n{report}"
        );
        assert!(
            report.contains(label),
            "{place} is labelled {label:?}:\n{report}"
        );
    }
    match expected.len() {
        1 => assert!(!err.contains(" errors"), "one error only:\n{err}"),
        n => assert!(err.contains(&format!("\n{n} errors")), "{n} errors:\n{err}"),
    }
    err
}

/// f0 using module `m`.
fn with_module_m() -> Case {
    Case::new(&format!("{HOSTS}    modules:\n      - module: m\n"))
}

#[test]
fn fstab_fields_that_would_split_or_be_decoded() {
    let case = with_module_m().module(
        "m",
        r##"
resources:
  - mount: /keys
    device: "/dev/da0 /etc"
    fstype: ufs
  - mount: /data
    device: /dev/da1
    fstype: ufs
    options: "rw\n/x"
  - mount: /mnt/a
    device: 'server:/a\040b'
    fstype: nfs
  - mount: /mnt/b
    device: "#/dev/da3"
    fstype: ufs
  - mount: /mnt/c
    device: /dev/da4
    fstype: ufs
    pass: "2 0"
"##,
    );
    rejects(
        &case,
        &[
            (
                "module.yml:3",
                "invalid fstab device: it contains a blank",
                r#"found "/dev/da0 /etc""#,
            ),
            (
                "module.yml:8",
                "invalid fstab field: it holds a line break",
                r#"found "rw\n/x""#,
            ),
            (
                "module.yml:10",
                "fstab readers decode as an escape",
                r#"found "server:/a\\040b""#,
            ),
            (
                "module.yml:13",
                "which makes the line a comment",
                r##"found "#/dev/da3""##,
            ),
            (
                "module.yml:18",
                "invalid fstab number: it is not a whole number",
                r#"found "2 0""#,
            ),
        ],
    );
}

#[test]
fn cron_entries_that_would_not_be_one_entry() {
    let case = with_module_m().module(
        "m",
        r#"
resources:
  - cron: "stamp\n* * * * * id"
    schedule: "@daily"
    command: /bin/true
  - cron: six
    schedule: "* * * * * *"
    command: /bin/true
  - cron: newline
    schedule: "@daily"
    command: "/bin/true\n* * * * * id"
  - cron: option
    schedule: "@daily"
    command: "-q /bin/true"
  - cron: escaped
    schedule: "@daily"
    command: 'date +\%F'
  - cron: range
    schedule: "0 24 * * *"
    command: /bin/true
"#,
    );
    rejects(
        &case,
        &[
            (
                "module.yml:2",
                "invalid label: it holds a line break",
                r#"found "stamp\n* * * * * id""#,
            ),
            (
                "module.yml:6",
                "invalid cron schedule: it has 6 fields, not five",
                r#"found "* * * * * *""#,
            ),
            (
                "module.yml:10",
                "invalid cron command: it holds a line break",
                r#"found "/bin/true\n* * * * * id""#,
            ),
            (
                "module.yml:13",
                "reads as its own option",
                r#"found "-q /bin/true""#,
            ),
            ("module.yml:16", "write `%` alone", r#"found "date +\\%F""#),
            (
                "module.yml:18",
                "hour: `24` is not a number from 0 to 23",
                r#"found "0 24 * * *""#,
            ),
        ],
    );
}

#[test]
fn a_percent_sign_reaches_the_command_escaped() {
    let case = with_module_m()
        .module(
            "m",
            "
resources:
  - cron: stamp
    schedule: \"@daily\"
    command: \"date +%F > /tmp/stamp\"
",
        )
        .file("state/f0.yml", "os: freebsd\n");
    let output = f3s_in(
        case.path(),
        &["plan", "-i", "inventory.yml", "--state", "state"],
    );
    let plan = stdout(&output);
    assert!(
        plan.contains("+@daily date +\\%F > /tmp/stamp\n"),
        "cron would read an unescaped % as the start of stdin:\n{plan}"
    );
}

#[test]
fn block_and_line_labels_that_would_break_their_markers() {
    let case = with_module_m().module(
        "m",
        r##"
resources:
  - block: "carp\n# END f3s carp"
    path: /etc/devd.conf
    content: hello
  - line: "vip\nname"
    path: /etc/hosts
    text: 10.0.0.1 vip
  - line: two
    path: /etc/hosts
    text: "10.0.0.1 vip\n10.0.0.2 evil"
  - block: notify
    path: /etc/devd.conf
    content: "a\n# END f3s notify\nb"
  - block: spaced
    path: /etc/rc.local
    comment: "# x"
    content: a
"##,
    );
    rejects(
        &case,
        &[
            (
                "module.yml:2",
                "invalid label: it holds a line break",
                r#"found "carp\n# END f3s carp""#,
            ),
            (
                "module.yml:5",
                "invalid label: it holds a line break",
                r#"found "vip\nname""#,
            ),
            (
                "module.yml:10",
                "invalid line text: it holds a line break",
                r#"found "10.0.0.1 vip\n10.0.0.2 evil""#,
            ),
            (
                "module.yml:13",
                "the block's content holds one of its own marker lines",
                "this content",
            ),
            (
                "module.yml:16",
                "invalid comment marker: it contains a blank",
                r##"found "# x""##,
            ),
        ],
    );
}

#[test]
fn zfs_property_names_and_values_outside_the_zfs_rules() {
    let case = with_module_m().module(
        "m",
        r#"
resources:
  - zfs: zdata/a
    properties:
      "atime=off": "on"
  - zfs: zdata/b
    properties:
      Compression: lz4
  - zfs: zdata/c
    properties:
      "org.f3s:note": "one\ntwo"
  - zfs: zdata/d
    properties:
      mountpoint: /data//nfs
  - zfs: zdata/e
    keylocation: "file:///keys/../etc/master.passwd"
  - zfs: zdata/f
    properties:
      "-o:x": "y"
"#,
    );
    rejects(
        &case,
        &[
            (
                "module.yml:4",
                "invalid ZFS property name: it contains `=`",
                r#"found "atime=off""#,
            ),
            (
                "module.yml:7",
                "invalid ZFS property name: it contains `C`",
                r#"found "Compression""#,
            ),
            (
                "module.yml:10",
                "invalid ZFS property value: it holds a line break",
                r#"found "one\ntwo""#,
            ),
            (
                "module.yml:13",
                "invalid ZFS mountpoint: it contains `//`",
                r#"found "/data//nfs""#,
            ),
            (
                "module.yml:15",
                "invalid ZFS keylocation: it contains `..`",
                r#"found "file:///keys/../etc/master.passwd""#,
            ),
            (
                "module.yml:18",
                "invalid ZFS property name: it starts with `-`",
                r#"found "-o:x""#,
            ),
        ],
    );
}

#[test]
fn paths_spelled_more_than_one_way() {
    let case = with_module_m().module(
        "m",
        "
resources:
  - file: /etc//exports
    content: x
  - directory: /data/./nfs
  - line: hosts
    path: /etc/hosts/
    text: x
  - zpool: zdata
    devices: [/dev/ada1]
    mountpoint: /data/..
",
    );
    rejects(
        &case,
        &[
            (
                "module.yml:2",
                "invalid path `/etc//exports`: it contains `//`",
                "renders to `/etc//exports`",
            ),
            (
                "module.yml:4",
                "invalid path `/data/./nfs`: it contains a `.` part",
                "renders to `/data/./nfs`",
            ),
            (
                "module.yml:6",
                "invalid path `/etc/hosts/`: it ends with `/`",
                "renders to `/etc/hosts/`",
            ),
            (
                "module.yml:10",
                "invalid path `/data/..`: it contains `..`",
                "renders to `/data/..`",
            ),
        ],
    );
}

#[test]
fn a_path_parameter_spelled_two_ways_is_refused_in_the_inventory() {
    let case = Case::new(&format!(
        "{HOSTS}    modules:\n      - module: m\n        params:\n          dir: /data//nfs\n"
    ))
    .module(
        "m",
        "params:\n  dir: { type: path }\nresources:\n  - directory: \"{{dir}}\"\n",
    );
    rejects(
        &case,
        &[(
            "inventory.yml:8",
            "invalid path `/data//nfs`: it contains `//`",
            "not a valid path",
        )],
    );
}

#[test]
fn templates_outside_the_module_are_never_read() {
    let case = Case::new(&format!(
        "{HOSTS}    modules:\n      - module: m\n        params:\n          name: ../../../secret\n"
    ))
    .module(
        "m",
        r#"
params:
  name: {}
resources:
  - file: /etc/a
    template: ../../../secret.hbs
  - file: /etc/b
    template: /etc/passwd
  - file: /etc/c
    template: "{{name}}.hbs"
"#,
    )
    .file("secret.hbs", "TOPSECRET {{missing}}\n");
    let err = rejects(
        &case,
        &[
            (
                "module.yml:5",
                "invalid template path: it contains `..`",
                r#"found "../../../secret.hbs""#,
            ),
            (
                "module.yml:7",
                "invalid template path: it is absolute",
                r#"found "/etc/passwd""#,
            ),
            (
                "module.yml:9",
                "invalid template path: it contains `..`",
                r#"found "../../../secret.hbs""#,
            ),
        ],
    );
    assert!(
        !err.contains("TOPSECRET") && !err.contains("missing"),
        "the file outside was read:\n{err}"
    );
}

#[test]
fn connection_values_that_ssh_would_misread() {
    let case = Case::new(
        r#"
defaults:
  connection:
    user: "root;id"
hosts:
  f0:
    os: freebsd
    address: "-oProxyCommand=id"
  f1:
    os: freebsd
    address: "f1 -p 2222"
    connection:
      port: 0
  f2:
    os: rocky
    address: 127.0.0.2
    connection:
      user: "paul id"
"#,
    );
    // The defaults' user is reported once, where it is written, not once per host.
    rejects(
        &case,
        &[
            (
                "inventory.yml:3",
                "invalid user or group name `root;id`: it contains `;`",
                "invalid",
            ),
            (
                "inventory.yml:7",
                "invalid host address `-oProxyCommand=id`",
                "invalid",
            ),
            (
                "inventory.yml:10",
                "invalid host address `f1 -p 2222`: it contains ` `",
                "invalid",
            ),
            (
                "inventory.yml:12",
                "expected a port from 1 to 65535, found 0",
                "no TCP connection goes to port 0",
            ),
            (
                "inventory.yml:17",
                "invalid user or group name `paul id`",
                "invalid",
            ),
        ],
    );
}

#[test]
fn a_rejected_name_never_reaches_the_terminal_raw() {
    let case = Case::new("hosts:\n  f0:\n    os: freebsd\n    address: \"f0\\e]0;owned\\a\"\n");
    let err = rejects(
        &case,
        &[(
            "inventory.yml:4",
            "invalid host address `f0\\u{1b}]0;owned\\u{7}`",
            "invalid",
        )],
    );
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{7}'),
        "control characters printed raw:\n{err:?}"
    );
}

#[test]
fn certificate_subjects_that_openssl_prints_back_differently() {
    let case = with_module_m().module(
        "m",
        "
resources:
  - x509: /etc/ssl/a.pem
    key: /etc/ssl/a-key.pem
    subject: /O=a+b/CN=x
",
    );
    rejects(
        &case,
        &[(
            "module.yml:4",
            "invalid certificate subject: the value of `O` contains `+`",
            r#"found "/O=a+b/CN=x""#,
        )],
    );
}

#[test]
fn a_sensitive_value_is_never_shown_in_the_diagnostic() {
    let case = Case::new(
        "
secrets:
  token:
    file: token.txt
hosts:
  f0:
    os: freebsd
    address: 192.168.1.130
    modules:
      - module: m
        params:
          token: { secret: token }
",
    )
    .secret_file("token.txt", "s3cr3t-first\ns3cr3t-second\n")
    .module(
        "m",
        r#"
params:
  token: {}
resources:
  - cron: push
    schedule: "@hourly"
    command: "send {{token}}"
"#,
    );
    let err = rejects(
        &case,
        &[(
            "module.yml:6",
            "invalid cron command: it breaks the rule below",
            "(sensitive)",
        )],
    );
    assert!(!err.contains("s3cr3t"), "the secret is shown:\n{err}");
}

/// f0 using module `m`, with a var holding a command substitution: were it run, it would
/// leave a file behind on the host.
fn with_hostile_pattern() -> Case {
    Case::new(&format!(
        "{HOSTS}    vars:\n      pattern: \"$(touch /tmp/f3s-ran)\"\n    modules:\n      - module: m\n"
    ))
}

#[test]
fn a_value_inside_the_commands_own_quotes_is_refused_at_its_tag() {
    let module = r#"
params:
  pattern: {}
resources:
  - file: /etc/x
    content: x
    validate: "grep -q \"{{pattern}}\" {new}"
"#;
    let case = with_hostile_pattern().module("m", module);
    let err = rejects(
        &case,
        &[(
            "module.yml:6",
            "`{{pattern}}` lands inside double quotes in a shell command",
            "inside double quotes",
        )],
    );
    // The label is on the `{{…}}` itself, not on the whole value: miette's header names the
    // line and column where the span starts.
    let line = module.trim_start().lines().nth(5).unwrap();
    let column = line.find("{{").unwrap() + 1;
    assert!(
        err.contains(&format!("module.yml:6:{column}]")),
        "points at column {column}:\n{err}"
    );
    assert!(
        err.contains("f3s quotes each value it puts in a command itself"),
        "says why the quotes must go:\n{err}"
    );
}

#[test]
fn values_where_the_shell_would_not_read_their_quoting_are_refused() {
    let case = with_hostile_pattern().module(
        "m",
        r#"
params:
  pattern: {}
resources:
  - file: /etc/a
    content: a
    validate: "grep -q '{{pattern}}' {new}"
  - file: /etc/b
    content: b
    validate: 'grep -q \\{{pattern}} {new}'
  - file: /etc/c
    content: c
    validate: "grep -q `echo {{pattern}}` {new}"
  - file: /etc/d
    content: d
    validate: "grep -q $(echo {{pattern}}) {new}"
  - file: /etc/e
    content: e
    validate: "grep -q ${{pattern}} {new}"
  - file: /etc/f
    content: f
    validate: "grep -q {{{pattern}}} {new}"
  - line: g
    path: /etc/g
    text: g
    validate: "grep -q {{&pattern}} {new}"
  - cron: h
    schedule: "@daily"
    command: "logger \"{{pattern}}\""
  - cron: i
    schedule: "@daily"
    command: "logger '{{#if pattern}}{{pattern}}{{/if}}'"
"#,
    );
    rejects(
        &case,
        &[
            (
                "module.yml:6",
                "inside single quotes",
                "inside single quotes",
            ),
            (
                "module.yml:9",
                "right after a backslash",
                "right after a backslash",
            ),
            ("module.yml:12", "inside a `…` command substitution", "`…`"),
            (
                "module.yml:15",
                "inside a $(…) command substitution",
                "$(…)",
            ),
            ("module.yml:18", "right after `$`", "right after `$`"),
            (
                "module.yml:21",
                "`{{{pattern}}}` puts text into a shell command as written",
                "as written",
            ),
            (
                "module.yml:25",
                "`{{&pattern}}` puts text into a shell command as written",
                "as written",
            ),
            (
                "module.yml:28",
                "inside double quotes",
                "inside double quotes",
            ),
            (
                "module.yml:31",
                "`{{#if pattern}}` lands inside single quotes",
                "inside single quotes",
            ),
        ],
    );
}

#[test]
fn a_bare_value_reaches_the_shell_as_one_quoted_word() {
    let case = with_hostile_pattern()
        .module(
            "m",
            r#"
params:
  pattern: {}
resources:
  - file: /etc/x
    content: x
    validate: "grep -q {{pattern}} {new}"
  - cron: log
    schedule: "@daily"
    command: "logger -t f3s {{pattern}}"
"#,
        )
        .file("state/f0.yml", "os: freebsd\n");
    let output = f3s_in(
        case.path(),
        &["plan", "-i", "inventory.yml", "--state", "state"],
    );
    let plan = stdout(&output);
    assert!(
        plan.contains("checked by `grep -q '$(touch /tmp/f3s-ran)' {new}`"),
        "the check quotes the value:\n{plan}"
    );
    assert!(
        plan.contains("+@daily logger -t f3s '$(touch /tmp/f3s-ran)'\n"),
        "the cron command quotes the value:\n{plan}"
    );
}
