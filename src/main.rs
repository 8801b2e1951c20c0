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
            let message = format!("{err:#}").replace(['\n', '\r'], " ");
            eprintln!("latina: {message}");
            ExitCode::from(latina::cli::EXIT_FAILURE)
        }
    }
}
