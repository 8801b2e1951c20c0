//! Command-line interface: clap arguments, one file per subcommand, and the
//! terminal UI. Everything printed or prompted lives here.

mod completions;
mod display;
mod doctor;
mod enhance;
mod evolve;
mod export;
mod history;
mod import;
mod interrupt;
mod migrate;
mod prefer;
mod prompts;
mod rate;
mod report;
mod serve;
mod show;
mod simulate;
mod simulate_knobs;
mod simulate_reward;
mod simulate_studio;
mod status;
mod suggest;
mod term_image;
mod ui;
mod workspace;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

pub use display::printable;
pub use ui::Ui;

/// Exit code for any failure.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for a command-line usage error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code after Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Photorealistic room renders that learn from your ratings.
#[derive(Debug, Parser)]
#[command(
    name = "latina",
    version,
    about,
    propagate_version = true,
    args_override_self = true
)]
pub struct Cli {
    /// Flags every subcommand accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted by every subcommand.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Config file [default: ./latina.toml, else ~/.config/latina/latina.toml]
    #[arg(long, global = true, env = "LATINA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// SQLite file, or a studio's postgres://user@host:port/db [default: <data-dir>/latina.db]
    #[arg(long, global = true, env = "LATINA_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Where renders, originals and previews go [default: ~/.local/share/latina]
    #[arg(long, global = true, env = "LATINA_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep image files in an S3 bucket, s3://bucket/prefix (keys from AWS_* variables)
    #[arg(long, global = true, env = "LATINA_STORAGE", value_name = "URL")]
    pub storage: Option<crate::config::StorageUrl>,
    /// Print machine-readable JSON on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// More detail on stderr (-v, -vv)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Seed for the optimizer's random choices (reproducible suggestions)
    #[arg(long, global = true, env = "LATINA_SEED", value_name = "N")]
    pub seed: Option<u64>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render variants of room photos and rate them
    Enhance(enhance::EnhanceArgs),
    /// Rate a variant, or walk through the unrated ones
    Rate(rate::RateArgs),
    /// Record which of two variants of one photo is better (or that they are the same)
    Prefer(prefer::PreferArgs),
    /// Show how far the learning has come
    Status(status::StatusArgs),
    /// Propose parameters to try, without an image
    Suggest(suggest::SuggestArgs),
    /// Measure the optimizer on simulated designers
    Simulate(simulate::SimulateArgs),
    /// Check the config, database and providers (keys, reachability)
    Doctor(doctor::DoctorArgs),
    /// Evolve the prompt from recent comments when due (cron-safe)
    Evolve(evolve::EvolveArgs),
    /// Prompt versions: list, show, diff, activate, rollback, export
    Prompts(prompts::PromptsArgs),
    /// Experiments with their parameters, ratings and comments (filters, --json)
    History(history::HistoryArgs),
    /// One experiment in full: parameters, prompt, why it was chosen, ratings, files
    Show(show::ShowArgs),
    /// Write the learning state as one self-contained HTML file with charts
    Report(report::ReportArgs),
    /// Write the whole history as JSON Lines, and the ratings as CSV
    Export(export::ExportArgs),
    /// Read an export into the database (all of it or nothing)
    Import(import::ImportArgs),
    /// Move the whole history into another store (a studio's PostgreSQL) and verify it
    Migrate(migrate::MigrateArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell)
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff) on stdout
    Man,
    /// Serve the rating queue, history and dashboard as a local web page
    Serve(serve::ServeArgs),
}

/// Runs a parsed command line.
///
/// # Errors
/// Whatever the command failed with; `main` prints it once.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ui = Ui::new(&cli.global);
    ui.init_logging(cli.global.verbose);
    // These two describe the command line itself: no config, no store.
    match &cli.command {
        Command::Completions(args) => return completions::completions(args),
        Command::Man => return completions::man(),
        _ => {}
    }
    let ws = workspace::resolve(&cli.global)?;
    match cli.command {
        Command::Enhance(args) => enhance::run(&ws, &ui, args),
        Command::Rate(args) => rate::run(&ws, &ui, args),
        Command::Prefer(args) => prefer::run(&ws, &ui, args),
        Command::Status(args) => status::run(&ws, &ui, args),
        Command::Suggest(args) => suggest::run(&ws, &ui, args),
        Command::Simulate(args) => simulate::run(&ws, &ui, args),
        Command::Doctor(args) => doctor::run(&ws, &ui, args),
        Command::Evolve(args) => evolve::run(&ws, &ui, args),
        Command::Prompts(args) => prompts::run(&ws, &ui, args),
        Command::History(args) => history::run(&ws, &ui, args),
        Command::Show(args) => show::run(&ws, &ui, args),
        Command::Report(args) => report::run(&ws, &ui, args),
        Command::Export(args) => export::run(&ws, &ui, args),
        Command::Import(args) => import::run(&ws, &ui, args),
        Command::Migrate(args) => migrate::run(&ws, &ui, args),
        Command::Completions(_) | Command::Man => Ok(ExitCode::SUCCESS),
        Command::Serve(args) => serve::run(&ws, &ui, args),
    }
}

/// Whether the error is a closed stdout (e.g. `latina status | head`), which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
