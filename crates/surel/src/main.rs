//! The `surel` command: parses the command line and hands over to [`cli::run`].

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole context chain on one line: "cannot add account x: ...".
            eprintln!("surel: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
