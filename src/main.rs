//! patchdeck: command line, runtime, and dispatch to the console or the simulator server.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::SUCCESS
}
