use clap::Parser;

fn main() -> std::process::ExitCode {
    scimport::cli::run(scimport::cli::Cli::parse()).into()
}
