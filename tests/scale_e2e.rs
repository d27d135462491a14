//! Scale, end to end: hosts with thousands of resources plan and apply over SSH, in a few
//! execs per host, on both OS families, and many resources of every kind are observed with a
//! fixed number of calls of each kind's tool. `F3S_SCALE_RESOURCES` sets the resources per
//! host of the first (default 4000).

mod common;
mod lab;

use common::{assert_code, stdout};
use lab::{Lab, Os, workload};

fn resources_per_host() -> usize {
    std::env::var("F3S_SCALE_RESOURCES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(4000)
}

fn f3s(inventory: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut full: Vec<&str> = vec![args[0], "-i", inventory.to_str().unwrap()];
    full.extend_from_slice(&args[1..]);
    common::f3s(&full)
}

#[test]
fn thousands_of_resources_per_host_apply_and_plan_in_a_few_execs() {
    let n = resources_per_host();
    let lab = Lab::start(&[("f0", Os::Freebsd), ("r0", Os::Rocky)]);
    let inventory = workload::write(lab.dir(), &lab, n);
    let execs = |lab: &Lab| -> Vec<usize> { lab.hosts.iter().map(|h| h.execs()).collect() };

    let before = execs(&lab);
    let output = f3s(&inventory, &["apply", "--yes"]);
    assert_code(&output, 0);
    let applied = format!("Apply: {} done, 0 failed, 0 skipped", 2 * n);
    assert!(stdout(&output).contains(&applied), "{}", stdout(&output));
    for (host, (after, before)) in lab.hosts.iter().zip(execs(&lab).iter().zip(&before)) {
        // The lock, one observation, and a batch per dependency wave (the root directory,
        // then everything under it).
        assert!(
            after - before <= 5,
            "{}: {} execs to apply {n} resources",
            host.name,
            after - before
        );
    }
    for host in &lab.hosts {
        let settings = host
            .read_text(&format!("{}/settings.conf", workload::ROOT))
            .expect("the edited file");
        assert_eq!(
            settings.lines().count(),
            n - (n / 4) - n / 2,
            "every line resource wrote its line on {}",
            host.name
        );
        let file = host
            .read_text(&format!("{}/d0001/f00001.conf", workload::ROOT))
            .expect("a rendered file");
        assert!(file.starts_with(&format!("# d0001/f00001.conf on {}", host.name)));
    }

    let before = execs(&lab);
    let f0 = lab.host("f0");
    let calls_before = f0.calls().len();
    let output = f3s(&inventory, &["plan", "--detailed-exitcode"]);
    assert_code(&output, 0);
    for (host, (after, before)) in lab.hosts.iter().zip(execs(&lab).iter().zip(&before)) {
        assert_eq!(after - before, 1, "{}: one exec observes all", host.name);
    }
    // A fixed number of processes per kind, not one per path: the FreeBSD stand-ins log each
    // call (xargs may split a very long list into a few).
    let calls = f0.calls().split_off(calls_before);
    for tool in ["stat ", "sha256 "] {
        let count = calls.iter().filter(|c| c.starts_with(tool)).count();
        assert!(
            (1..=4).contains(&count),
            "{count} `{tool}` calls observe {n} resources: {:?}",
            calls
                .iter()
                .map(|c| c.chars().take(60).collect::<String>())
                .collect::<Vec<_>>()
        );
    }

    // One changed file: its text is fetched (a second round trip) and shown as a diff.
    let changed = format!("{}/d0002/f00002.conf", workload::ROOT);
    lab.host("r0").write(&changed, "drifted\n");
    let before = execs(&lab);
    let output = f3s(&inventory, &["plan", "--detailed-exitcode"]);
    assert_code(&output, 2);
    assert!(stdout(&output).contains("-drifted"), "{}", stdout(&output));
    assert_eq!(
        execs(&lab)[1] - before[1],
        2,
        "r0: observe, then fetch one text"
    );
}

/// A module `name` with `resources` (YAML lines), which take their items from its `items`
/// list.
fn many_module(dir: &std::path::Path, name: &str, resources: &str) {
    let module = dir.join("modules").join(name);
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(
        module.join("module.yml"),
        format!("params:\n  items: {{ type: list }}\nresources:\n{resources}"),
    )
    .unwrap();
}

/// The part of `plan` about `host`: from its heading line to the next host's.
fn host_plan(plan: &str, host: &str) -> String {
    let mut lines = plan
        .lines()
        .skip_while(|l| !l.starts_with(&format!("{host}  ")));
    let heading = lines.next().unwrap_or_default();
    let body: Vec<&str> = lines
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect();
    format!("{heading}\n{}", body.join("\n"))
}

/// The part of a host's plan about the resource at `address`.
fn resource_plan(plan: &str, address: &str) -> String {
    let mut lines = plan
        .lines()
        .skip_while(|l| !l.ends_with(&format!(" {address}  change")));
    let heading = lines.next().unwrap_or_default();
    let body: Vec<&str> = lines.take_while(|l| l.starts_with("    ")).collect();
    format!("{heading}\n{}", body.join("\n"))
}

/// How many of `calls` start with each of `tools`.
fn counted<'t>(calls: &[String], tools: &[&'t str]) -> Vec<(&'t str, usize)> {
    tools
        .iter()
        .map(|tool| (*tool, calls.iter().filter(|c| c.starts_with(tool)).count()))
        .collect()
}

/// Observing many packages, rc.conf variables, services, pools, datasets, mounts, kernel
/// modules and CARP addresses runs each kind's tool a fixed number of times, as the
/// stand-ins' call logs show, and each item is still told apart: what is there is not
/// planned, what is not is.
#[test]
fn every_kind_of_many_resources_is_observed_in_a_fixed_number_of_tool_calls() {
    const N: usize = 30;
    let lab = Lab::start(&[("f0", Os::Freebsd), ("r0", Os::Rocky)]);
    let dir = lab.dir();
    many_module(
        dir,
        "many_freebsd",
        "  - package: \"pk{{item}}\"\n    for_each: items\n\
         \x20 - sysrc: \"rc_{{item}}\"\n    for_each: items\n    value: \"v{{item}}\"\n\
         \x20 - kmod: \"km{{item}}\"\n    for_each: items\n\
         \x20 - zfs: \"zroot/ds{{item}}\"\n    for_each: items\n    properties:\n      \"user:n\": \"{{item}}\"\n\
         \x20 - mount: \"/mnt/m{{item}}\"\n    for_each: items\n    device: \"/dev/md{{item}}\"\n    fstype: ufs\n\
         \x20 - carp: \"10.0.0.{{item}}\"\n    for_each: items\n    interface: re0\n    password: lab\n\
         \x20 - zpool: tank0\n    devices: [/dev/da0]\n    mountpoint: /tank0\n\
         \x20 - zpool: tank1\n    devices: [/dev/ada1]\n    mountpoint: /tank1\n",
    );
    many_module(
        dir,
        "many_rocky",
        "  - package: \"pk{{item}}\"\n    for_each: items\n\
         \x20 - service: \"sv{{item}}\"\n    for_each: items\n\
         \x20 - mount: \"/mnt/m{{item}}\"\n    for_each: items\n    device: \"server:/m{{item}}\"\n    fstype: nfs4\n",
    );
    let items: Vec<String> = (1..=N).map(|i| i.to_string()).collect();
    let modules = |host: &lab::LabHost| {
        let module = match host.os {
            Os::Freebsd => "many_freebsd",
            Os::Rocky => "many_rocky",
        };
        format!(
            "    modules:\n      - module: {module}\n        params:\n          items: [{}]\n",
            items.join(", ")
        )
    };
    let inventory = dir.join("inventory.yml");
    std::fs::write(
        &inventory,
        format!(
            "module_path: [{}]\n{}",
            dir.join("modules").display(),
            lab.inventory_hosts(&modules)
        ),
    )
    .unwrap();
    let (f0, r0) = (lab.host("f0"), lab.host("r0"));
    // Some of each there already, so that answers of every sort come back.
    let unit = "[Unit]\nDescription=lab\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n";
    for i in 1..=N {
        r0.write(&format!("/etc/systemd/system/sv{i}.service"), unit);
    }
    r0.sh("systemctl enable sv1.service && mkdir -p /var/lib/lab/systemd/active && touch /var/lib/lab/systemd/active/sv2 && mkdir -p /var/lib/lab/rpm && echo '1.0-1.el9' > /var/lib/lab/rpm/pk3");
    r0.write("/var/lib/lab/mounts", "server:/m4 /mnt/m4 nfs4\n");
    f0.write("/etc/rc.conf.local", "rc_5=\"v5\"\n");
    f0.sh("zfs create zroot/ds6 && touch /var/lib/lab/kld/km7 && cp -a /usr/libexec/lab/packages/pkg/. / && mkdir -p /var/lib/lab/pkg && echo 2.0 > /var/lib/lab/pkg/pk8");

    let before: Vec<usize> = lab.hosts.iter().map(|h| h.calls().len()).collect();
    let output = f3s(&inventory, &["plan"]);
    assert_code(&output, 0);
    let plan = stdout(&output);
    let calls = |host: &lab::LabHost, before: usize| host.calls().split_off(before);
    let (freebsd, rocky) = (calls(f0, before[0]), calls(r0, before[1]));
    let freebsd_tools = [
        "pkg ",
        "sysrc",
        "kldstat",
        "zfs version",
        "zfs list",
        "zfs get",
        "zpool list",
        "mount -p",
        "ifconfig -k re0",
    ];
    assert_eq!(
        counted(&freebsd, &freebsd_tools),
        [
            ("pkg ", 1),
            ("sysrc", 0),
            ("kldstat", 1),
            ("zfs version", 1),
            ("zfs list", 1),
            ("zfs get", 1),
            ("zpool list", 1),
            ("mount -p", 1),
            ("ifconfig -k re0", 1)
        ],
        "{freebsd:#?}"
    );
    let rocky_tools = [
        "rpm ",
        "systemctl is-enabled",
        "systemctl is-active",
        "findmnt",
    ];
    assert_eq!(
        counted(&rocky, &rocky_tools),
        [
            ("rpm ", 1),
            ("systemctl is-enabled", 1),
            ("systemctl is-active", 1),
            ("findmnt", 1)
        ],
        "{rocky:#?}"
    );

    // What was there is seen as there, the rest as missing.
    let (freebsd, rocky) = (host_plan(&plan, "f0"), host_plan(&plan, "r0"));
    for (plan, present, absent) in [
        (&freebsd, "package:pk8", "package:pk9"),
        (&freebsd, "sysrc:rc_5", "sysrc:rc_9"),
        (&freebsd, "zfs:zroot/ds6", "zfs:zroot/ds9"),
        (&rocky, "package:pk3", "package:pk10"),
    ] {
        let created = |address: &str| plan.contains(&format!("+ {address}  create"));
        assert!(created(absent), "{absent}: {plan}");
        assert!(!created(present), "{present}: {plan}");
    }
    let mounted = |address: &str| !resource_plan(&rocky, address).contains("mounted: no -> yes");
    assert!(
        mounted("mount:/mnt/m4") && !mounted("mount:/mnt/m10"),
        "{rocky}"
    );
    let runs = |plan: &str, step: &str| plan.lines().any(|line| line.trim() == step);
    assert!(runs(&freebsd, "run: load kernel module km9"), "{freebsd}");
    assert!(!runs(&freebsd, "run: load kernel module km7"), "{freebsd}");
    assert!(
        runs(&rocky, "run: start service sv1"),
        "enabled, stopped: {rocky}"
    );
    assert!(!runs(&rocky, "run: enable service sv1"), "enabled: {rocky}");
    assert!(!runs(&rocky, "run: start service sv2"), "running: {rocky}");
    assert!(
        runs(&rocky, "run: enable service sv2"),
        "not enabled: {rocky}"
    );
}
