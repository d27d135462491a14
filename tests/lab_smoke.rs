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
