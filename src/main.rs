//! The `latina` binary: parse, run, print the error once, pick the exit code.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match latina::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(latina::cli::EXIT_USAGE)
            } else {
                ExitCode::SUCCESS // --help, --version
            };
        }
    };
    match latina::cli::run(cli) {
        Ok(code) => code,
        Err(err) if latina::cli::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // Final guard: no secret value reaches the terminal.
            let message = latina::http::redact::scrub(&one_line(&err));
            eprintln!("latina: {message}");
            ExitCode::from(latina::cli::EXIT_FAILURE)
        }
    }
}

/// The error and its causes on one line, each cause once: library errors
/// already include their source's text, so a cause that the message so far
/// ends with is not repeated.
fn one_line(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if message.ends_with(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    // File names and provider messages may carry escape sequences.
    latina::cli::printable(&message.replace(['\n', '\r'], " ")).into_owned()
}
