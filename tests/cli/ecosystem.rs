//! Issue 16, item 4: latina fits its ecosystem: shell completions and a
//! man page generated from the command-line definition.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::harness::{Env, stdout_of};

const SUBCOMMANDS: [&str; 6] = [
    "enhance",
    "rate",
    "prefer",
    "status",
    "history",
    "completions",
];

#[test]
fn bash_completion_offers_the_subcommands() {
    let env = Env::new();
    let out = env.latina().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let script = stdout_of(&out);
    assert!(script.contains("complete -F _latina"), "{script}");
    // bash itself accepts the script: defining the function is no error.
    let mut bash = Command::new("bash")
        .args(["--norc", "--noprofile", "-s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    bash.stdin
        .take()
        .unwrap()
        .write_all(format!("{script}\nCOMP_WORDS=(latina \"\"); COMP_CWORD=1; _latina latina \"\" latina; printf '%s\\n' \"${{COMPREPLY[@]}}\"\n").as_bytes())
        .unwrap();
    let run = bash.wait_with_output().unwrap();
    let offered = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let offered: Vec<&str> = offered.lines().collect();
    for sub in SUBCOMMANDS.iter().chain(&["man"]) {
        assert!(offered.contains(sub), "{sub} not offered: {offered:?}");
    }
}

#[test]
fn every_shell_gets_a_script_and_an_unknown_shell_is_a_usage_error() {
    let env = Env::new();
    for shell in ["zsh", "fish", "powershell"] {
        let out = env.latina().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        assert!(stdout_of(&out).contains("enhance"), "{shell}");
    }
    let out = env.latina().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_prints_a_roff_page_that_lists_the_subcommands() {
    let env = Env::new();
    let out = env.latina().arg("man").output().unwrap();
    assert!(out.status.success());
    let roff = stdout_of(&out);
    assert!(roff.contains(".TH LATINA 1"), "{roff}");
    // groff parses it (warnings as errors) and the rendered text names
    // every subcommand.
    let mut groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    groff
        .stdin
        .take()
        .unwrap()
        .write_all(roff.as_bytes())
        .unwrap();
    let checked = groff.wait_with_output().unwrap();
    assert!(checked.status.success());
    assert_eq!(String::from_utf8_lossy(&checked.stderr), "");
    let text = Command::new("sh")
        .args(["-c", "groff -man -Tutf8 | col -b"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(roff.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("SUBCOMMANDS"), "{text}");
    for sub in SUBCOMMANDS {
        assert!(text.contains(&format!("latina-{sub}(1)")), "{sub}: {text}");
    }
}
