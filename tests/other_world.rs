//! A second cluster in the same schema (examples/other-world), planned with modules/ as they
//! are: the modules carry no string of the real cluster's world (inventory/f3s.yml) that the
//! inventory cannot replace.

mod common;

use common::{f3s, stderr, stdout};

const INVENTORY: &str = "examples/other-world/inventory.yml";
const STATE: &str = "examples/other-world/state";

fn plan(extra: &[&str]) -> std::process::Output {
    let mut args = vec!["plan", "-i", INVENTORY, "--state", STATE];
    args.extend_from_slice(extra);
    f3s(&args)
}

/// What the real cluster's world is made of: its host names (as whole words), its domain,
/// addresses (the VIP's included), interface, pool, directory and VIP names. Its vhid shows
/// only inside the CARP rc.conf value, which is masked as the password is.
const ORIGINAL_WORDS: &[&str] = &["f0", "f1", "f2", "r0", "r1", "r2", "earth", "re0", "zdata"];
const ORIGINAL_STRINGS: &[&str] = &[
    "buetow",
    "192.168.1.",
    "192.168.2.",
    "k3svolumes",
    "bhyve",
    "f3s-storage-ha",
    "F3S",
    "/data/nfs",
    "/keys/",
    ":2323",
    "every 10 seconds",
];

/// Whether `word` stands in `text` as a whole word: not inside `nfs0` or `ref0`, but in
/// `ifconfig_re0_alias0` or `f0_to_f1`.
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let part = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        !part(before) && !part(after)
    })
}

fn originals_in(text: &str) -> Vec<&'static str> {
    let words = ORIGINAL_WORDS.iter().filter(|w| has_word(text, w));
    let strings = ORIGINAL_STRINGS.iter().filter(|s| text.contains(**s));
    words.chain(strings).copied().collect()
}

#[test]
fn the_other_world_plans_its_build_out() {
    let output = plan(&["--detailed-exitcode"]);
    let code = output.status.code();
    assert!(matches!(code, Some(0 | 2)), "{code:?}: {}", stderr(&output));
    let text = stdout(&output);
    // Its own values reached the rendered files, the draft's extras included.
    for wanted in [
        "+ sysrc:ifconfig_igb1_alias0  create",
        "+10.20.0.50 nas nas.home nas.home.example.net",
        "+10.99.0.50 nas nas.tun0 nas.tun0.vpn.example.net",
        "+vfs.nfsd.async=1",
        "compression:  -> lz4",
        "atime:  -> off",
        "+ directory:/srv/share/volumes  create",
        "allow automatic failback to nasa\"",
        "+# Fast NFS mount health monitor - runs every 30 seconds via systemd timer",
        "subject:  -> /C=NL/ST=Noord/L=Dorp/O=Other World/CN=Other World NFS CA",
    ] {
        assert!(text.contains(wanted), "{wanted:?} in:\n{text}");
    }
}

#[test]
fn nothing_it_renders_names_the_original_world() {
    for extra in [&[][..], &["--json"][..]] {
        let output = plan(extra);
        assert!(output.status.success(), "{}", stderr(&output));
        let found = originals_in(&stdout(&output));
        assert!(found.is_empty(), "{extra:?} plan holds {found:?}");
    }
}

#[test]
fn the_search_would_find_the_original_world() {
    let real = common::f3s_with_lab_secret(&[
        "plan",
        "-i",
        "inventory/f3s.yml",
        "--state",
        "examples/f3s-state/bare",
    ]);
    let found = originals_in(&stdout(&real));
    for original in ORIGINAL_WORDS.iter().chain(ORIGINAL_STRINGS) {
        assert!(
            found.contains(original),
            "{original:?} is searched for in vain"
        );
    }
    assert!(!has_word("nfs0 ref0 f0x", "f0"));
}
