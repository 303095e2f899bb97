//! patchdeck: command line, runtime, and dispatch to the console or the simulator server.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "patchdeck", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the simulated fleet as patchdeck API v1 (several consoles can share it).
    Serve(patchdeck::api::server::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(Command::Serve(args)) = cli.command else {
        eprintln!("patchdeck: the console is not wired in yet; try `patchdeck serve --help`");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("patchdeck: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(patchdeck::api::server::run_serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("patchdeck: {error:#}");
            // A token file the user must fix is a configuration error.
            if error
                .downcast_ref::<patchdeck::api::tokens::TokenFileError>()
                .is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
