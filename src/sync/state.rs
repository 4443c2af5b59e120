//! The sync state of one target: per managed user, its key, tenant id, last known
//! version, anchor, whether it is active, how many complete runs it has been
//! missing from the source, and the user scimport last applied (only what the
//! tenant acknowledged); plus the entry count of the last good sync.
//!
//! Stored as JSON lines (a header line, then one line per user, sorted by key) so
//! a million users stream in and out without one giant document. Written crash-
//! safely: a temporary file beside it, fsync, rename, fsync of the directory; a
//! crash leaves the old state or the new one, never a mix. A lock file beside it
//! keeps two syncs of one target apart. Deciding what to do with it is `decide`'s.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader, BufWriter};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::mapping::{DesiredUser, MatchKey};

/// The format version written in the header line.
const FORMAT: u32 = 1;

/// One managed user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// The user's key (see [`key_of`]).
    pub key: String,
    /// The tenant's id of the user.
    pub id: String,
    /// Its `meta.version` when last acknowledged (If-Match of the next PATCH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The anchor of the source entry it was synced from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
    /// Hash of the desired user last applied.
    pub hash: String,
    /// Whether scimport left it active.
    pub active: bool,
    /// Complete runs in a row the source lacked it.
    #[serde(default)]
    pub absent: u32,
    /// The desired user last applied (the mapping's attributes, as the source
    /// spells them), for the next run's comparisons.
    pub applied: Box<RawValue>,
}

/// The header line.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Head {
    scimport_sync_state: u32,
    target: String,
    #[serde(default)]
    last_good_count: Option<u64>,
    #[serde(default)]
    runs: u64,
    #[serde(default)]
    updated_at: Option<String>,
}

/// A target's state.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// The target it describes.
    pub target: String,
    /// Entries read from the source by the last sync that was not refused.
    pub last_good_count: Option<u64>,
    /// Syncs recorded.
    pub runs: u64,
    /// Managed users by key.
    pub entries: HashMap<String, Entry>,
}

/// Problems with the state file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// It could not be read or written.
    #[error("sync state {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line is not what scimport writes.
    #[error(
        "sync state {} is damaged at line {line}: {message}; restore it from a backup, or move it away and run `scimport sync --full` to rebuild it from the tenant (users synced before are then matched by their keys)",
        path.display()
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// It describes another target.
    #[error(
        "sync state {} belongs to target {found}, not {wanted}; give each target its own --state",
        path.display()
    )]
    OtherTarget {
        /// The file.
        path: PathBuf,
        /// The target it records.
        found: String,
        /// This run's target.
        wanted: String,
    },
    /// Another sync holds it.
    #[error(
        "sync state {} is in use by another scimport sync of this target; wait for it to end, then try again",
        path.display()
    )]
    Locked {
        /// The file.
        path: PathBuf,
    },
}

impl State {
    /// An empty state for `target` (a first sync).
    pub fn new(target: &str) -> State {
        State {
            target: target.to_string(),
            ..State::default()
        }
    }

    /// Reads the state at `path`; `None` when there is none yet.
    pub fn load(path: &Path, target: &str) -> Result<Option<State>, StateError> {
        let io = |source| StateError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let damaged = |line: usize, message: String| StateError::Damaged {
            path: path.to_path_buf(),
            line,
            message,
        };
        let mut lines = BufReader::new(file).lines();
        let head: Head = match lines.next() {
            None => return Err(damaged(1, "the file is empty".into())),
            Some(l) => serde_json::from_str(&l.map_err(io)?)
                .map_err(|e| damaged(1, format!("not a scimport sync state ({e})")))?,
        };
        if head.scimport_sync_state != FORMAT {
            return Err(damaged(
                1,
                format!("format {} is not {FORMAT}", head.scimport_sync_state),
            ));
        }
        if head.target != target {
            return Err(StateError::OtherTarget {
                path: path.to_path_buf(),
                found: head.target,
                wanted: target.to_string(),
            });
        }
        let mut entries = HashMap::new();
        for (i, line) in lines.enumerate() {
            let line = line.map_err(io)?;
            if line.is_empty() {
                continue;
            }
            let e: Entry =
                serde_json::from_str(&line).map_err(|e| damaged(i + 2, e.to_string()))?;
            entries.insert(e.key.clone(), e);
        }
        Ok(Some(State {
            target: head.target,
            last_good_count: head.last_good_count,
            runs: head.runs,
            entries,
        }))
    }

    /// Writes the state to `path` crash-safely (temporary file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io = |source| StateError::Io {
            path: path.to_path_buf(),
            source,
        };
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(d) = dir {
            std::fs::create_dir_all(d).map_err(io)?;
        }
        let tmp = path.with_extension("tmp");
        let file = private_file(&tmp).map_err(io)?;
        let mut w = BufWriter::new(file);
        let head = Head {
            scimport_sync_state: FORMAT,
            target: self.target.clone(),
            last_good_count: self.last_good_count,
            runs: self.runs,
            updated_at: Some(chrono::Utc::now().to_rfc3339()),
        };
        let line = |w: &mut BufWriter<File>, v: &dyn erased_line::Line| v.write_line(w);
        line(&mut w, &head).map_err(io)?;
        let mut keys: Vec<&String> = self.entries.keys().collect();
        keys.sort();
        for k in keys {
            line(&mut w, &self.entries[k]).map_err(io)?;
        }
        let file = w.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Some(d) = dir
            && let Ok(f) = File::open(d)
        {
            let _ = f.sync_all();
        }
        Ok(())
    }
}

/// One JSON line, for the header and the entries alike.
mod erased_line {
    use std::io::Write;

    pub trait Line {
        fn write_line(&self, w: &mut dyn Write) -> std::io::Result<()>;
    }

    impl<T: serde::Serialize> Line for T {
        fn write_line(&self, w: &mut dyn Write) -> std::io::Result<()> {
            serde_json::to_writer(&mut *w, self).map_err(std::io::Error::other)?;
            w.write_all(b"\n")
        }
    }
}

/// A new file only its owner may read (the state names people).
fn private_file(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// The lock that keeps two syncs of one target apart; released on drop (and by
/// the kernel when the process dies).
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Locks the state at `path` (its `.lock` file), at once or not at all.
    pub fn acquire(path: &Path) -> Result<StateLock, StateError> {
        let lock = lock_path(path);
        let io = |source| StateError::Io {
            path: lock.clone(),
            source,
        };
        if let Some(d) = lock.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(d).map_err(io)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(StateLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(StateError::Locked {
                path: path.to_path_buf(),
            }),
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// The key a desired user is remembered by: its first match key that is set
/// (`externalId:` + the value, or `userName:` + the value lower-cased).
pub fn key_of(d: &DesiredUser, keys: &[MatchKey]) -> Option<String> {
    keys.iter().find_map(|k| match k {
        MatchKey::ExternalId => d
            .external_id()
            .filter(|s| !s.is_empty())
            .map(|x| format!("externalId:{x}")),
        MatchKey::UserName => d
            .user_name()
            .filter(|s| !s.is_empty())
            .map(|n| format!("userName:{}", n.to_lowercase())),
    })
}

/// The hash of a desired user as applied: its attributes and group names.
pub fn desired_hash(d: &DesiredUser) -> String {
    let mut bytes = serde_json::to_vec(&d.user).unwrap_or_default();
    if let Some(g) = &d.groups {
        bytes.push(0);
        bytes.extend(g.join("\u{1f}").as_bytes());
    }
    format!("{:032x}", twox_hash::XxHash3_128::oneshot(&bytes))
}

/// The default state file of a target: `<runs_dir>/sync-state/<slug>.jsonl`, the
/// slug naming the target's host and a short hash of its whole name.
pub fn default_path(runs_dir: &Path, target: &str) -> PathBuf {
    let host: String = target
        .split("://")
        .nth(1)
        .unwrap_or(target)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    let h = crate::mapping::hash64(target);
    runs_dir
        .join("sync-state")
        .join(format!("{host}-{:08x}.jsonl", h as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> Entry {
        Entry {
            key: key.into(),
            id: format!("id-{key}"),
            version: Some("W/\"3\"".into()),
            anchor: Some("a".into()),
            hash: "h".into(),
            active: true,
            absent: 0,
            applied: RawValue::from_string(r#"{"userName":"a@b.test"}"#.into()).unwrap(),
        }
    }

    #[test]
    fn issue_16_state_round_trips_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s/state.jsonl");
        let mut s = State::new("https://api.example.test");
        s.last_good_count = Some(2);
        for k in ["externalId:2", "externalId:1"] {
            s.entries.insert(k.into(), entry(k));
        }
        s.save(&path).unwrap();
        let back = State::load(&path, "https://api.example.test")
            .unwrap()
            .unwrap();
        assert_eq!(back.last_good_count, Some(2));
        assert_eq!(back.entries.len(), 2);
        assert_eq!(
            back.entries["externalId:1"].applied.get(),
            r#"{"userName":"a@b.test"}"#
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let first_entry = text.lines().nth(1).unwrap();
        assert!(
            first_entry.contains("externalId:1"),
            "sorted by key: {text}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        assert!(!path.with_extension("tmp").exists());
    }

    #[test]
    fn issue_16_state_of_another_target_or_damaged_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.jsonl");
        assert!(State::load(&path, "t").unwrap().is_none());
        State::new("t1").save(&path).unwrap();
        let e = State::load(&path, "t2").unwrap_err();
        assert!(matches!(e, StateError::OtherTarget { .. }), "{e}");
        std::fs::write(
            &path,
            "{\"scimport_sync_state\":1,\"target\":\"t\"}\n{oops\n",
        )
        .unwrap();
        let e = State::load(&path, "t").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("--full"), "{e}");
    }

    #[test]
    fn issue_16_a_second_lock_is_refused_until_the_first_goes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.jsonl");
        let first = StateLock::acquire(&path).unwrap();
        assert!(matches!(
            StateLock::acquire(&path),
            Err(StateError::Locked { .. })
        ));
        drop(first);
        StateLock::acquire(&path).unwrap();
    }

    #[test]
    fn issue_16_keys_follow_the_mapping_order() {
        let mut d = DesiredUser::default();
        d.user.user_name = Some("Ana@X.test".into());
        assert_eq!(
            key_of(&d, &[MatchKey::ExternalId, MatchKey::UserName]).as_deref(),
            Some("userName:ana@x.test")
        );
        d.user.external_id = Some("E1".into());
        assert_eq!(
            key_of(&d, &[MatchKey::ExternalId, MatchKey::UserName]).as_deref(),
            Some("externalId:E1")
        );
        assert_eq!(key_of(&DesiredUser::default(), &[MatchKey::UserName]), None);
    }
}
