//! Per-task policy state, one JSON file per task in `$DATA_DIR/state/`.

use std::path::{Path, PathBuf};

use notify_core::TaskState;

use crate::error::{at, Error, Op, Result};
use crate::files::{self, Durability};

/// Reads and writes [`TaskState`]s.
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    /// A store under `data_dir/state`: the memory of a task's email.
    pub fn new(data_dir: &Path) -> Self {
        StateStore {
            dir: data_dir.join(crate::layout::STATE),
        }
    }

    /// A store under `data_dir/state/CHANNEL`: the memory of another
    /// destination (`desktop`, an `[[also]]` email), kept apart so that each
    /// destination's level decides on its own history.
    pub fn channel(data_dir: &Path, channel: &str) -> Self {
        StateStore {
            dir: data_dir.join(crate::layout::STATE).join(channel),
        }
    }

    /// The file of `task`: its name with everything but ASCII letters,
    /// digits, `-`, `_` and `.` percent-encoded, so any task name is a safe,
    /// distinct file name. Long names keep a readable prefix and end in a
    /// hash of the whole name, to stay within file-name limits (255 bytes).
    pub fn path(&self, task: &str) -> PathBuf {
        self.dir.join(format!("{}.json", task_file_stem(task)))
    }

    /// The state of `task`; `Ok(None)` before its first run. A damaged file
    /// is reported as an error message and treated as absent.
    pub fn load(&self, task: &str) -> (Option<TaskState>, Option<String>) {
        let path = self.path(task);
        match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(state) => (Some(state), None),
                Err(e) => (
                    None,
                    Some(format!(
                        "ignoring damaged task state {}: {e}",
                        path.display()
                    )),
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, None),
            Err(e) => (
                None,
                Some(format!("cannot read task state {}: {e}", path.display())),
            ),
        }
    }

    /// Saves the state of `task` atomically (temporary file, then rename),
    /// synced to disk only when `durable`.
    ///
    /// An `fsync` on every run would cost more than the rest of a
    /// notification (milliseconds on a disk, more on a busy one), so the
    /// caller asks for it only when the task turns from working to failing
    /// or back. Losing any other update in a power cut makes the next run
    /// compare with a state of the same kind: a count or a reminder time is
    /// off, a notice may come once more, none is held back. A file damaged
    /// anyway (some file systems can leave an empty one) is reported and
    /// treated as absent, like a first run ([`StateStore::load`]).
    pub fn save(&self, task: &str, state: &TaskState, durable: bool) -> Result<()> {
        files::create_private_dir(&self.dir).map_err(at(Op::Create, &self.dir))?;
        let path = self.path(task);
        let json = serde_json::to_vec_pretty(state)
            .map_err(|e| Error::new(Op::Encode, &path, std::io::Error::other(e)))?;
        let durability = if durable {
            Durability::Synced
        } else {
            Durability::Lazy
        };
        files::write_atomic(&path, &json, durability).map_err(at(Op::Replace, &path))
    }
}

/// A task's state held by this process for one read-decide-write
/// ([`StateStore::try_lock`]); released when dropped (or when the process
/// ends, however it ends: the kernel holds the lock, not a file's presence).
#[derive(Debug)]
pub struct StateLock {
    _file: std::fs::File,
}

impl StateStore {
    /// The lock file of `task`: beside its state, `NAME.lock`.
    fn lock_path(&self, task: &str) -> PathBuf {
        self.path(task).with_extension("lock")
    }

    /// Takes `task`'s lock if no other process holds it (`Ok(None)` when one
    /// does). Hold it from [`load`](Self::load) to [`save`](Self::save), so
    /// that runs of one task at the same time decide one after the other
    /// instead of each from the same old state (which would send a notice
    /// per run and count one failure where there were ten).
    pub fn try_lock(&self, task: &str) -> Result<Option<StateLock>> {
        files::create_private_dir(&self.dir).map_err(at(Op::Create, &self.dir))?;
        let path = self.lock_path(task);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(at(Op::Lock, &path))?;
        if files::try_lock(&file).map_err(at(Op::Lock, &path))? {
            Ok(Some(StateLock { _file: file }))
        } else {
            Ok(None)
        }
    }
}

/// The file name of `task` without its extension: everything but ASCII
/// letters, digits, `-`, `_` and `.` percent-encoded, so any task name is a
/// safe, distinct file name. Long names keep a readable prefix and end in a
/// hash of the whole name, to stay within file-name limits (255 bytes).
pub(crate) fn task_file_stem(task: &str) -> String {
    const MAX: usize = 100;
    let mut name = String::with_capacity(task.len() + 5);
    for b in task.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_') || (b == b'.' && !name.is_empty())
        {
            name.push(b as char);
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    if name.len() > MAX {
        // Cut on a character boundary of the encoded form (never inside
        // a %XX escape), then add the hash of the full task name.
        let mut cut = MAX;
        while cut > 0
            && name
                .as_bytes()
                .get(cut.saturating_sub(2)..cut)
                .is_some_and(|w| w.contains(&b'%'))
        {
            cut -= 1;
        }
        name.truncate(cut);
        name.push_str(&format!("~{:016x}", stable_hash(task.as_bytes())));
    }
    name
}

/// FNV-1a, 64 bit: a stable hash (the same in every version and on every
/// platform, unlike std's `DefaultHasher`), for names derived from
/// settings, such as a channel's.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_of_a_task_s_lock_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let held = store.try_lock("nightly").unwrap();
        assert!(held.is_some());
        assert!(store.try_lock("nightly").unwrap().is_none(), "held");
        assert!(store.try_lock("other").unwrap().is_some(), "per task");
        drop(held);
        assert!(store.try_lock("nightly").unwrap().is_some(), "released");
        // The lock file is not a state.
        assert_eq!(store.load("nightly"), (None, None));
    }
    use notify_core::Outcome;

    #[test]
    fn names_are_safe_and_distinct() {
        let s = StateStore::new(Path::new("/d"));
        assert_eq!(
            s.path("Daily Backup"),
            PathBuf::from("/d/state/Daily%20Backup.json")
        );
        assert_eq!(
            s.path("../etc/passwd"),
            PathBuf::from("/d/state/%2E.%2Fetc%2Fpasswd.json")
        );
        assert_ne!(s.path("a/b"), s.path("a%2Fb"));
        assert_eq!(s.path("Ü").file_name().unwrap(), "%C3%9C.json");
    }

    #[test]
    fn long_names_stay_short_and_distinct() {
        let s = StateStore::new(Path::new("/d"));
        let a = "Ü ".repeat(200);
        let b = format!("{a}x");
        let pa = s.path(&a);
        let name = pa.file_name().unwrap().to_str().unwrap();
        assert!(name.len() <= 130, "{} bytes: {name}", name.len());
        assert!(name.starts_with("%C3%9C%20"), "{name}");
        assert_ne!(pa, s.path(&b));
        assert_eq!(pa, s.path(&a), "stable");
        // Saving really works with such a name.
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let st = TaskState::new(
            Outcome::Success,
            time::macros::datetime!(2026-11-21 02:00 UTC),
        );
        store.save(&"長".repeat(100), &st, false).unwrap();
        assert_eq!(store.load(&"長".repeat(100)).0, Some(st));
    }

    #[test]
    fn round_trip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::new(dir.path());
        assert_eq!(s.load("t"), (None, None));
        let mut st = TaskState::new(
            Outcome::Failure,
            time::macros::datetime!(2026-11-21 02:00 UTC),
        );
        st.suppressed = 3;
        st.failed_runs = 2;
        s.save("t", &st, true).unwrap();
        assert_eq!(s.load("t"), (Some(st), None));
        std::fs::write(s.path("t"), b"{garbage").unwrap();
        let (state, warning) = s.load("t");
        assert!(state.is_none());
        assert!(warning.unwrap().contains("ignoring damaged task state"));
    }
}
