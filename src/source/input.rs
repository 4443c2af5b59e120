//! Opening an input: a file, `-` (stdin, spooled to a temporary file when the input
//! must be read twice), with transparent gzip (by magic bytes, so `.csv.gz` and a
//! gzipped stdin both work), and the format hint from the file extension.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::{Format, SourceError};

/// An opened input that can hand out readers over its (decompressed) bytes.
#[derive(Debug)]
pub struct Input {
    label: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    File(PathBuf),
    Spooled(tempfile::NamedTempFile),
    Stdin { taken: bool },
}

impl Input {
    /// Opens `path` (`-` is stdin). With `reread`, stdin is first copied to a
    /// temporary file so that [`Input::reader`] can be called more than once.
    pub fn open(path: &Path, reread: bool) -> Result<Self, SourceError> {
        let label = path.display().to_string();
        if path.as_os_str() == "-" {
            if reread {
                let io = |source| SourceError::Io {
                    path: "-".into(),
                    source,
                };
                let mut tmp = tempfile::NamedTempFile::new().map_err(io)?;
                std::io::copy(&mut std::io::stdin().lock(), tmp.as_file_mut()).map_err(io)?;
                return Ok(Self {
                    label,
                    kind: Kind::Spooled(tmp),
                });
            }
            return Ok(Self {
                label,
                kind: Kind::Stdin { taken: false },
            });
        }
        // Fail early (before any thread starts) when the file is not there.
        File::open(path).map_err(|source| SourceError::Io {
            path: label.clone(),
            source,
        })?;
        Ok(Self {
            label,
            kind: Kind::File(path.to_path_buf()),
        })
    }

    /// How to name the input in messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The format suggested by the file extension (`.csv`, `.tsv`, `.ndjson`,
    /// `.jsonl`, `.json`, each optionally followed by `.gz`).
    pub fn format_hint(&self) -> Option<Format> {
        format_from_name(&self.label)
    }

    /// A fresh reader over the decompressed bytes, from the start. Plain stdin can
    /// be read only once; a second call returns an error.
    pub fn reader(&mut self) -> Result<Box<dyn Read + Send>, SourceError> {
        let io = |source| SourceError::Io {
            path: self.label.clone(),
            source,
        };
        let raw: Box<dyn Read + Send> = match &mut self.kind {
            Kind::File(p) => Box::new(File::open(p).map_err(io)?),
            Kind::Spooled(t) => Box::new(t.reopen().map_err(io)?),
            Kind::Stdin { taken } => {
                if *taken {
                    return Err(io(std::io::Error::other("stdin can be read only once")));
                }
                *taken = true;
                Box::new(std::io::stdin())
            }
        };
        let mut buffered = BufReader::with_capacity(256 * 1024, raw);
        let head = buffered.fill_buf().map_err(io)?;
        if head.starts_with(&[0x1f, 0x8b]) {
            Ok(Box::new(MultiGzDecoder::new(buffered)))
        } else {
            Ok(Box::new(buffered))
        }
    }
}

/// The format named by a file name's extension, if any.
pub fn format_from_name(name: &str) -> Option<Format> {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    let ext = stem.rsplit_once('.').map(|(_, e)| e)?;
    match ext {
        "csv" | "tsv" | "psv" | "txt" => Some(Format::Csv),
        "ndjson" | "jsonl" | "json" => Some(Format::Ndjson),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extensions() {
        assert_eq!(format_from_name("a/b.csv"), Some(Format::Csv));
        assert_eq!(format_from_name("b.CSV.gz"), Some(Format::Csv));
        assert_eq!(format_from_name("b.tsv"), Some(Format::Csv));
        assert_eq!(format_from_name("b.ndjson"), Some(Format::Ndjson));
        assert_eq!(format_from_name("b.jsonl.gz"), Some(Format::Ndjson));
        assert_eq!(format_from_name("-"), None);
        assert_eq!(format_from_name("export"), None);
    }

    #[test]
    fn gzip_is_decompressed_by_magic() {
        use std::io::Write;
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"a,b\n1,2\n").unwrap();
        tmp.write_all(&enc.finish().unwrap()).unwrap();
        let mut input = Input::open(tmp.path(), false).unwrap();
        let mut s = String::new();
        input.reader().unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(s, "a,b\n1,2\n");
        // A file can be read again.
        let mut again = String::new();
        input.reader().unwrap().read_to_string(&mut again).unwrap();
        assert_eq!(again, s);
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let err = Input::open(Path::new("/nonexistent/x.csv"), false).unwrap_err();
        assert!(matches!(err, SourceError::Io { .. }));
    }
}
