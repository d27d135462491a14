//! Property tests over hostile input (issue 9): mutated inventories, module definitions,
//! templates, recorded host states, secrets, saved plans, host replies and command lines, each
//! through the stages that read it (load, compile, graph, plan, render, apply). Every case must
//! end without a panic and within `harness::HANG_AFTER`, and every error must render and name
//! where it came from: a file of the case, or for a host's reply, the host.
//!
//! Deterministic: each property draws its inputs from a seed fixed by its name.
//! `F3S_FUZZ_CASES` sets the cases per property (48 by default); `F3S_FUZZ_SEED` (any text)
//! makes a long run explore other inputs,
//!
//!     F3S_FUZZ_CASES=5000 F3S_FUZZ_SEED=$RANDOM cargo test --test fuzz
//!
//! in the debug build, where an arithmetic overflow panics rather than wrapping unnoticed.

#[path = "fuzz/harness.rs"]
mod harness;
#[path = "fuzz/mutate.rs"]
mod mutate;
#[path = "fuzz/replies.rs"]
mod replies;
#[path = "fuzz/workspace.rs"]
mod workspace;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory as _, Parser as _};
use f3s::cli::Cli;
use f3s::transport::fixture::FixtureTransport;
use proptest::prelude::*;
use proptest::sample::{Index, select};

use harness::{Outcome, Ran};
use mutate::Mutation;
use replies::ReplyTransport;
use workspace::{CLUSTER, CLUSTER_BARE, Corpus, EXAMPLE, Scenario, change, scenario_of};

/// Runs the corpus files that `wanted` selects, one mutated per case, through the scenario
/// that reads them.
fn fuzz_files(property: &str, wanted: fn(&str) -> bool) -> Result<(), String> {
    let corpus = Corpus::get();
    let seeds = corpus.select(wanted);
    assert!(!seeds.is_empty(), "{property}: the corpus has no such file");
    let strategy = (any::<Index>(), mutate::mutations());
    let mutated = move |(pick, mutations): &(Index, Vec<Mutation>)| {
        let seed = &corpus.seeds[seeds[pick.index(seeds.len())]];
        (
            seed,
            mutate::apply(&seed.bytes, mutations, &corpus.donors()),
        )
    };
    let describe = {
        let mutated = mutated.clone();
        move |input: &(Index, Vec<Mutation>)| {
            let (seed, bytes) = mutated(input);
            format!("{}, {}", seed.path, change(&seed.bytes, &bytes))
        }
    };
    harness::check(property, strategy, describe, move |input| {
        let (seed, bytes) = mutated(&input);
        let root = corpus.lay_out(Some((&seed.path, &bytes)));
        workspace::run_scenario(root.path(), scenario_of(&seed.path))
    })
}

fn passes(result: Result<(), String>) {
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn mutated_inventories() {
    passes(fuzz_files("inventories", |path| {
        path == EXAMPLE.inventory || path == CLUSTER.inventory
    }));
}

#[test]
fn mutated_module_definitions() {
    passes(fuzz_files("module definitions", |path| {
        path.ends_with("/module.yml")
    }));
}

#[test]
fn mutated_templates() {
    passes(fuzz_files("templates", |path| path.ends_with(".hbs")));
}

#[test]
fn mutated_recorded_states() {
    passes(fuzz_files("recorded states", |path| {
        path.starts_with(EXAMPLE.state) || path.starts_with("examples/f3s-state/")
    }));
}

#[test]
fn mutated_secrets() {
    passes(fuzz_files("secrets", |path| path.contains("/secrets/")));
}

/// The scenarios whose hosts' replies are fuzzed, with their recorded states.
fn reply_scenarios(root: &Path) -> Vec<(Scenario, Vec<String>)> {
    [EXAMPLE, CLUSTER, CLUSTER_BARE]
        .into_iter()
        .map(|scenario| {
            let hosts = ReplyTransport::recorded(&root.join(scenario.state))
                .into_keys()
                .collect();
            (scenario, hosts)
        })
        .collect()
}

/// Observation and batch replies of one host, mutated, read by the SSH transport's parsers
/// while plan and apply run; an error must name the host whose reply it was.
#[test]
fn mutated_host_replies() {
    let root = Arc::new(Corpus::get().lay_out(None));
    let scenarios = reply_scenarios(root.path());
    let strategy = (
        any::<Index>(),
        any::<Index>(),
        mutate::mutations(),
        prop::option::of(mutate::mutations()),
    );
    let pick = move |scenario: &Index, victim: &Index| {
        let (scenario, hosts) = &scenarios[scenario.index(scenarios.len())];
        (*scenario, hosts[victim.index(hosts.len())].clone())
    };
    let describe = {
        let pick = pick.clone();
        move |(scenario, victim, observation, batch): &(_, _, _, _)| {
            let (scenario, victim) = pick(scenario, victim);
            format!(
                "{}: the replies of {victim}, observations mutated by {observation:?}, \
                 batch outputs by {batch:?}",
                scenario.inventory
            )
        }
    };
    passes(harness::check(
        "host replies",
        strategy,
        describe,
        move |(scenario, victim, observation, batch)| {
            let (scenario, victim) = pick(&scenario, &victim);
            let transport = ReplyTransport {
                states: ReplyTransport::recorded(&root.path().join(scenario.state)),
                victim: victim.clone(),
                observation,
                batch: batch.unwrap_or_default(),
            };
            match workspace::plan_and_apply(&root.path().join(scenario.inventory), &transport) {
                Ok(_) => Ok(()),
                Err(reports) => {
                    workspace::each_names(&reports, &victim, |text| text.contains(&victim))
                }
            }
        },
    ));
}

/// The files of the case laid out with every address of the example moved onto loopback: the
/// runs below always pass `--state`, so nothing connects anyway, but a run that somehow did
/// would reach nothing but this machine.
fn loopback_example() -> tempfile::TempDir {
    let corpus = Corpus::get();
    let inventory = &corpus.seeds[corpus.select(|path| path == EXAMPLE.inventory)[0]];
    let moved = String::from_utf8_lossy(&inventory.bytes).replace("192.168.", "127.0.");
    corpus.lay_out(Some((EXAMPLE.inventory, moved.as_bytes())))
}

fn f3s_args<'a>(words: impl IntoIterator<Item = &'a str>) -> Vec<OsString> {
    words.into_iter().map(OsString::from).collect()
}

/// A saved plan, mutated, given to `apply PLANFILE`: it is never applied (stale, unreadable,
/// or unconfirmed without a terminal), and an error about it names the plan file. `show
/// PLANFILE` prints it or refuses it, naming the file, and never panics.
#[test]
fn mutated_saved_plans() {
    let root = Arc::new(loopback_example());
    let inventory = root.path().join(EXAMPLE.inventory).display().to_string();
    let state = root.path().join(EXAMPLE.state).display().to_string();
    let saved = root.path().join("saved.json").display().to_string();
    let made = harness::run_f3s(
        root.path(),
        &f3s_args(["plan", "-i", &inventory, "--state", &state, "-o", &saved]),
        None,
    );
    assert!(
        made.as_ref().is_some_and(|ran| ran.status.success()),
        "the example plans: {made:?}"
    );
    let seed = Arc::new(std::fs::read(&saved).expect("the saved plan"));
    let mutated = {
        let seed = Arc::clone(&seed);
        move |mutations: &Vec<Mutation>| mutate::apply(&seed, mutations, &Corpus::get().donors())
    };
    let describe = {
        let (seed, mutated) = (Arc::clone(&seed), mutated.clone());
        move |mutations: &Vec<Mutation>| change(&seed, &mutated(mutations))
    };
    passes(harness::check(
        "saved plans",
        mutate::mutations(),
        describe,
        move |mutations| {
            let bytes = mutated(&mutations);
            let file = tempfile::NamedTempFile::new_in(root.path()).expect("a plan file");
            std::fs::write(file.path(), &bytes).expect("the mutated plan");
            let planfile = file.path().display().to_string();
            let args = ["apply", "-i", &inventory, "--state", &state, &planfile];
            let ran = harness::run_f3s(root.path(), &f3s_args(args), None)
                .ok_or("f3s apply PLANFILE hung")?;
            if let Some(fault) = ran.fault() {
                return Err(fault);
            }
            if ran.status.code() != Some(1) {
                return Err(format!("applied: {ran:?}"));
            }
            if bytes != *seed && !ran.stderr.contains(&planfile) {
                return Err(format!(
                    "the error does not name the plan file:\n{}",
                    ran.stderr
                ));
            }
            let shown = harness::run_f3s(root.path(), &f3s_args(["show", &planfile]), None)
                .ok_or("f3s show PLANFILE hung")?;
            if let Some(fault) = shown.fault() {
                return Err(fault);
            }
            match shown.status.code() {
                Some(0) => {}
                Some(1) if shown.stderr.contains(&planfile) => {}
                _ => return Err(format!("show: {shown:?}")),
            }
            Ok(())
        },
    ));
}

/// Words of f3s's command line and values hostile to them, for arguments that are only
/// parsed: any flag, any subcommand, anywhere.
fn any_argument() -> impl Strategy<Value = OsString> {
    let words = [
        "plan",
        "apply",
        "facts",
        "check",
        "graph",
        "help",
        "completions",
        "-i",
        "--inventory",
        "--inventory=",
        "-i=",
        "--state",
        "--state=",
        "--accept-new-host-keys",
        "--connect-timeout",
        "--command-timeout=-1",
        "--host",
        "--host=,",
        "--target",
        "--target=f0/",
        "--json",
        "-o",
        "--out",
        "--out=",
        "--detailed-exitcode",
        "--yes",
        "--allow-destructive",
        "--parallelism",
        "--parallelism=0",
        "--save",
        "-h",
        "--help",
        "-V",
        "--version",
        "--",
        "-",
        "-io",
        "-oi",
        "-iii",
        "--=",
        "---",
    ];
    let tokens: Vec<OsString> = words
        .iter()
        .map(OsString::from)
        .chain(mutate::hostile_tokens().iter().map(OsString::from))
        .collect();
    prop_oneof![
        4 => select(tokens),
        1 => any::<String>().prop_map(OsString::from),
        1 => prop::collection::vec(any::<u8>(), 0..16).prop_map(OsString::from_vec),
    ]
}

/// Random command lines only ever give clap's error, never a panic.
#[test]
fn random_command_lines_parse_or_fail_cleanly() {
    passes(harness::check(
        "command lines (parsed)",
        prop::collection::vec(any_argument(), 0..8),
        |args| format!("{args:?}"),
        |args| {
            let _ = Cli::try_parse_from(std::iter::once(OsString::from("f3s")).chain(args));
            Ok(())
        },
    ));
}

/// clap's own check of the command definitions (conflicting names, bad defaults), which it
/// otherwise runs lazily only for the arguments a command line happens to use.
#[test]
fn the_command_line_definition_is_consistent() {
    Cli::command().debug_assert();
}

/// Arguments for command lines that are run: no flag that writes a file (`-o`, `--save`), no
/// free text that could become one's value, and values hostile to the ones that remain.
fn run_argument() -> impl Strategy<Value = &'static str> {
    select(vec![
        "--json",
        "--detailed-exitcode",
        "--host",
        "--target",
        "--yes",
        "--allow-destructive",
        "--parallelism",
        "--connect-timeout",
        "--command-timeout",
        "--accept-new-host-keys",
        "--host=f0",
        "--target=f0/file:/etc/hosts",
        "--",
        "f0",
        "f1",
        "r0",
        "nope",
        "f0,f1",
        ",",
        "",
        "0",
        "1",
        "-1",
        "18446744073709551615",
        "99999999999999999999",
        "f0/file:/etc/hosts",
        "f0/sysrc:nfsv4_server_enable",
        "f1/service:mountd",
        "f0/",
        "/",
        "é",
        "😀",
        "{{x}}",
        "../",
        "f0/file:",
        "r0/mount:/data/nfs/k3svolumes",
    ])
}

/// Command lines that f3s runs (`plan`, `apply`, `facts` against the recorded states, `check`
/// and `graph`) with hostile arguments after the inventory, and sometimes a hostile CARP
/// password in the environment: they end with an exit code f3s promises, no panic, no hang.
#[test]
fn random_command_lines_run_without_panic() {
    let root = Arc::new(loopback_example());
    // What an environment variable can hold: anything but NUL.
    let passwords: Vec<&'static str> = mutate::hostile_tokens()
        .iter()
        .filter(|token| !token.contains('\0'))
        .map(String::as_str)
        .collect();
    let strategy = (
        select(vec!["plan", "apply", "facts", "check", "graph"]),
        prop::collection::vec(run_argument(), 0..6),
        prop::option::of(select(passwords)),
    );
    passes(harness::check(
        "command lines (run)",
        strategy,
        |(command, extra, password)| format!("{command} {extra:?}, F3S_CARP_PASSWORD={password:?}"),
        move |(command, extra, password)| {
            let inventory = root.path().join(EXAMPLE.inventory).display().to_string();
            let state = root.path().join(EXAMPLE.state).display().to_string();
            // The inventory and the recorded states come first, so nothing after them can
            // take their place: clap refuses a second `-i` or `--state`.
            let mut args = vec![command, "-i", &inventory];
            if matches!(command, "plan" | "apply" | "facts") {
                args.extend(["--state", &state]);
            }
            args.extend(extra);
            match harness::run_f3s(root.path(), &f3s_args(args.iter().copied()), password) {
                Some(ran) => ran.fault().map_or(Ok(()), Err),
                None => Err(format!("f3s {args:?} hung")),
            }
        },
    ));
}

/// The seeds themselves go through cleanly, and the replies written for the fuzzing of host
/// replies are what the parsers expect: planning from them gives exactly the plan the recorded
/// states give directly. (Otherwise mutations would start from inputs that fail anyway.) A
/// recording keeps hidden values as keyed fingerprints, from which no host answer can be
/// written; so the comparison is of states without them (the bare cluster holds none), and
/// the converged cluster's replies must plan, with its hidden values as changes.
#[test]
fn unmutated_inputs_plan_and_replies_match_recorded_states() {
    let root = Corpus::get().lay_out(None);
    let state = root.path().join(CLUSTER.state);
    let replies = ReplyTransport {
        states: ReplyTransport::recorded(&state),
        victim: String::new(),
        observation: Vec::new(),
        batch: Vec::new(),
    };
    let replied = workspace::plan_and_apply(&root.path().join(CLUSTER.inventory), &replies);
    replied.unwrap_or_else(|errors| panic!("{CLUSTER:?}: {errors:?}"));
    for dir in [EXAMPLE.state, CLUSTER_BARE.state] {
        without_fingerprints(&root.path().join(dir));
    }
    for scenario in [EXAMPLE, CLUSTER_BARE] {
        let inventory = root.path().join(scenario.inventory);
        let state = root.path().join(scenario.state);
        let recorded = workspace::plan_and_apply(&inventory, &FixtureTransport::new(state));
        let recorded = recorded.unwrap_or_else(|errors| panic!("{scenario:?}: {errors:?}"));
        let replies = ReplyTransport {
            states: ReplyTransport::recorded(&root.path().join(scenario.state)),
            victim: String::new(),
            observation: Vec::new(),
            batch: Vec::new(),
        };
        let replied = workspace::plan_and_apply(&inventory, &replies);
        let replied = replied.unwrap_or_else(|errors| panic!("{scenario:?}: {errors:?}"));
        // Without the real inventory's digest key each run draws its own: fingerprints differ.
        let unkeyed = |plan: &str| -> Vec<String> {
            plan.lines()
                .map(|line| match line.find("(sensitive) ") {
                    Some(at) => line[..at + "(sensitive)".len()].to_string(),
                    None => line.to_string(),
                })
                .collect()
        };
        let (recorded, replied) = (unkeyed(&recorded), unkeyed(&replied));
        let differ: Vec<(&String, &String)> = recorded
            .iter()
            .zip(replied.iter())
            .filter(|(a, b)| a != b)
            .take(5)
            .collect();
        assert!(
            differ.is_empty() && recorded.len() == replied.len(),
            "{scenario:?}: recorded vs replied differ at {differ:#?}"
        );
    }
}

/// Drops every rc.conf value recorded as a keyed fingerprint from the states in `dir`.
fn without_fingerprints(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut state: f3s::host_state::HostState = serde_saphyr::from_str(&text).unwrap();
        state
            .rc_conf
            .retain(|_, value| !matches!(value, f3s::sensitive::Observed::Hidden(_)));
        assert!(
            !state.holds_hidden(),
            "only rc.conf values are hidden in {path:?}"
        );
        std::fs::write(&path, serde_saphyr::to_string(&state).unwrap()).unwrap();
    }
}

/// The "billion laughs": ten levels of ten aliases as a var is refused by the YAML budget, in
/// the inventory, quickly and by a diagnostic at its line.
#[test]
fn an_alias_bomb_is_refused_with_a_diagnostic() {
    let corpus = Corpus::get();
    let inventory = &corpus.seeds[corpus.select(|path| path == EXAMPLE.inventory)[0]];
    let bombed = String::from_utf8_lossy(&inventory.bytes).replace(
        "  vars:\n    domain:",
        &format!(
            "  vars:\n    bomb: {}\n    domain:",
            mutate::billion_laughs()
        ),
    );
    assert!(bombed.contains("bomb: "), "the example has defaults vars");
    let root = corpus.lay_out(Some((EXAMPLE.inventory, bombed.as_bytes())));
    let path = root.path().join(EXAMPLE.inventory);
    let outcome = harness::bounded(harness::HANG_AFTER, move || {
        let transport = FixtureTransport::new(Path::new("/nonexistent").to_path_buf());
        workspace::plan_and_apply(&path, &transport).map(|_| ())
    });
    let Outcome::Finished(Err(reports)) = outcome else {
        panic!("refused with a diagnostic: {outcome:?}");
    };
    let root = root.path().display().to_string();
    passes(workspace::each_names(&reports, "file", |text| {
        text.contains(&root) && text.contains("budget")
    }));
}

/// The harness can fail: a panicking case is reported with its message.
#[test]
fn the_harness_reports_a_panic() {
    let result = harness::check(
        "self-check: panic",
        mutate::mutations(),
        |mutations| format!("{} mutations", mutations.len()),
        |mutations| {
            assert!(mutations.len() > 9, "deliberate panic");
            Ok(())
        },
    );
    let failure = result.expect_err("a panicking case fails the property");
    assert!(failure.contains("panicked: deliberate panic"), "{failure}");
    assert!(
        failure.contains("mutations"),
        "describes the input: {failure}"
    );
}

/// The harness can fail: a case that does not end in time is reported as hung.
#[test]
fn the_harness_reports_a_hang() {
    let outcome = harness::bounded(Duration::from_millis(50), || {
        std::thread::sleep(Duration::from_secs(2));
    });
    assert!(matches!(outcome, Outcome::Hung), "{outcome:?}");
}

/// The harness can fail: an error that names no file of its case is reported.
#[test]
fn the_file_check_reports_a_nameless_error() {
    let report = miette::Report::msg("something is wrong somewhere");
    let checked = workspace::each_names(&[report], "file", |text| text.contains("/tmp/case"));
    assert!(checked.is_err());
}

/// The harness can fail: a crashed run of the binary is a fault.
#[test]
fn a_crashed_run_is_a_fault() {
    let ran = Ran {
        status: std::os::unix::process::ExitStatusExt::from_raw(134),
        stderr: "thread 'main' panicked at src/x.rs:1:1".into(),
    };
    assert!(ran.fault().is_some());
}
