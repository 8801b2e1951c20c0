//! `latina completions <shell>` and `latina man`: the command line
//! described for the shell and for `man`, generated from the clap
//! definition so they cannot drift from it.

use clap::{Args, CommandFactory, ValueEnum};
use std::io::Write;
use std::process::ExitCode;

use super::Cli;

/// The shells `latina completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash (`source <(latina completions bash)`)
    Bash,
    /// Zsh (write it as `_latina` into a directory on `$fpath`)
    Zsh,
    /// Fish (write it to `~/.config/fish/completions/latina.fish`)
    Fish,
    /// PowerShell (`latina completions powershell | Out-String | Invoke-Expression`)
    Powershell,
}

/// Arguments of `latina completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Which shell to write the script for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script for `args.shell` on stdout.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    use clap_complete::Shell as S;
    let shell = match args.shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Powershell => S::PowerShell,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "latina", &mut out);
    // Written at once, so a closed pipe is one error, reported as such.
    std::io::stdout().lock().write_all(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the man page (roff, section 1) on stdout: synopsis, global
/// options and the subcommands with what each does (`latina help <cmd>`
/// has each one's options).
pub fn man() -> anyhow::Result<ExitCode> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .title("LATINA")
        .manual("latina manual")
        .render(&mut out)?;
    std::io::stdout().lock().write_all(&out)?;
    Ok(ExitCode::SUCCESS)
}
