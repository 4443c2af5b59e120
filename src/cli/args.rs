//! Value enums several subcommands share (`--format`, `--lookup`) and their
//! conversions into the library's types, so `clap` derives stay in `cli`.

use crate::apply::lookup::LookupMode;
use crate::source::Format;

/// `--format` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    /// Comma/semicolon/tab/pipe separated values with a header row.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

impl From<FormatArg> for Format {
    fn from(a: FormatArg) -> Format {
        match a {
            FormatArg::Csv => Format::Csv,
            FormatArg::Ndjson => Format::Ndjson,
        }
    }
}

/// `--lookup` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LookupArg {
    /// Whichever costs fewer calls.
    Auto,
    /// Page through the tenant first.
    Prefetch,
    /// One filter query per row.
    Filter,
}

impl From<LookupArg> for LookupMode {
    fn from(a: LookupArg) -> LookupMode {
        match a {
            LookupArg::Auto => LookupMode::Auto,
            LookupArg::Prefetch => LookupMode::Prefetch,
            LookupArg::Filter => LookupMode::Filter,
        }
    }
}
