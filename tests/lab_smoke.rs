//! The lab itself: hosts start, answer over SSH, look like their OS, and stop.

mod lab;

use lab::{Lab, Os};

#[test]
fn hosts_answer_as_their_os() {
    let lab = Lab::start(&[("f0", Os::Freebsd), ("r0", Os::Rocky)]);
    let f0 = lab.host("f0");
    assert_eq!(
        String::from_utf8_lossy(&f0.sh("uname -s").stdout).trim(),
        "FreeBSD"
    );
    f0.write("/etc/lab-probe", "hello");
    assert_eq!(f0.read_text("/etc/lab-probe").as_deref(), Some("hello"));
    assert!(
        !std::path::Path::new("/etc/lab-probe").exists(),
        "the machine itself is untouched"
    );
    assert!(
        lab.host("r0").read_text("/etc/lab-probe").is_none(),
        "hosts are apart"
    );
    let ssh = std::process::Command::new("ssh")
        .args([
            "-i",
            lab.key.to_str().unwrap(),
            "-o",
            &format!("UserKnownHostsFile={}", lab.known_hosts.display()),
        ])
        .args([
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-p",
            &f0.port.to_string(),
        ])
        .arg(format!("paul@{}", f0.address))
        .arg("doas sh -c 'id -u; uname -s'")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ssh.stdout),
        "0\nFreeBSD\n",
        "{}",
        String::from_utf8_lossy(&ssh.stderr)
    );
    assert_eq!(f0.execs(), 1);
}

/// The CARP stand-in follows ip_carp.c's timers: a new vhid is BACKUP until its master-down
/// timer (3 × advbase + advskew/256 s) expires with no MASTER heard, then MASTER; a member
/// added while another is MASTER stays BACKUP; a MASTER set to backup hands over when the
/// other's timer expires first. The lab's clock is moved on rather than waited for (advbase
/// 255: 765 s and a half, far past any test's run), so nothing here depends on how fast
/// the machine is.
#[test]
fn carp_is_backup_until_its_master_down_timer_expires() {
    let lab = Lab::start(&[("f0", Os::Freebsd), ("f1", Os::Freebsd)]);
    let sh = |host: &str, script: &str| {
        let output = lab.host(host).sh(script);
        assert!(
            output.status.success(),
            "{host}: {script}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let state = |host: &str| {
        let shown = sh(host, "ifconfig re0");
        shown
            .lines()
            .find(|line| line.starts_with("\tcarp: "))
            .unwrap_or_default()
            .to_string()
    };
    let advance = |ms: u64| lab.advance_carp_clock(ms);
    let add = "kldload carp && ifconfig re0 inet vhid 3 advbase 255 advskew 128 pass lab alias 10.0.0.3/32";
    let refused = lab
        .host("f0")
        .sh("ifconfig re0 inet vhid 3 pass lab alias 10.0.0.3/32");
    assert!(
        !refused.status.success(),
        "no vhid before carp(4) is loaded"
    );
    sh("f0", add);
    assert_eq!(state("f0"), "\tcarp: BACKUP vhid 3 advbase 255 advskew 128");
    advance(765_000);
    assert!(state("f0").starts_with("\tcarp: BACKUP"), "765 s: not yet");
    advance(500);
    assert_eq!(state("f0"), "\tcarp: MASTER vhid 3 advbase 255 advskew 128");
    sh("f1", add);
    advance(1_000_000);
    assert!(state("f1").starts_with("\tcarp: BACKUP"), "it hears f0");
    assert!(state("f0").starts_with("\tcarp: MASTER"));
    // Set to backup, f0 stops advertising: f1's timer, restarted by f0's last advertisement
    // (before the call), expires before f0's own, restarted by the call.
    sh("f0", "ifconfig re0 vhid 3 state backup");
    assert!(state("f0").starts_with("\tcarp: BACKUP"));
    assert!(state("f1").starts_with("\tcarp: BACKUP"));
    advance(765_500);
    assert!(state("f1").starts_with("\tcarp: MASTER"), "{}", state("f1"));
    assert!(state("f0").starts_with("\tcarp: BACKUP"));
    sh("f0", "ifconfig re0 vhid 3 state master");
    assert!(state("f0").starts_with("\tcarp: MASTER"));
    assert!(state("f1").starts_with("\tcarp: BACKUP"), "it heard f0");
    let invalid = lab
        .host("f1")
        .sh("ifconfig re0 inet vhid 4 advbase 0 pass lab alias 10.0.0.4/32");
    assert!(!invalid.status.success(), "advbase 0 is EINVAL");
}
