use clap::Parser;

fn main() -> std::process::ExitCode {
    scimport::cli::run(scimport::cli::Cli::parse()).into()
}

// mimalloc instead of glibc malloc: the validate hot loop builds and drops tens of
// millions of small strings on several threads, where glibc spends a third of the
// time consolidating fastbins and growing/trimming arenas (see scripts/bench-validate).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
