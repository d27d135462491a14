//! Scale, end to end: hosts with thousands of resources plan and apply over SSH, in a few
//! execs per host, on both OS families. `F3S_SCALE_RESOURCES` sets the resources per host
//! (default 4000).

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
