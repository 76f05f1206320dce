//! Every task's runs, whatever its level: one JSON file per task in
//! `$DATA_DIR/history/`, and one file per run still going on in
//! `$DATA_DIR/running/` (so that a check reads only that small directory
//! to find runs whose process is gone).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use notify_core::{History, RunRecord, Running};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{at, Error, Op, Result};
use crate::files::{self, Durability};
use crate::state::task_file_stem;

/// How long an update waits for another process's update (each holds the
/// lock for two small reads and writes) before it goes ahead without it.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// The index file in `history/` (not a task's: a task's file name never
/// starts with `.`, which is percent-encoded there).
const INDEX: &str = ".index.json";
const INDEX_LOCK: &str = ".index.lock";
const INDEX_VERSION: u32 = 2;

/// What the index keeps of a task: enough for the check and the metrics
/// textfile without reading its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Summary {
    /// When notify first heard of it.
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen_at: OffsetDateTime,
    /// When its last run started (or finished, its start unknown).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_start: Option<OffsetDateTime>,
    /// Its last run, as the history keeps it.
    #[serde(default)]
    pub last: Option<RunRecord>,
    /// When the last run that did not fail started (a cancelled run counts
    /// as failing).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_success: Option<OffsetDateTime>,
}

/// A task's first sighting and last start, as [`HistoryStore::starts`]
/// reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Starts {
    /// When notify first heard of it.
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen_at: OffsetDateTime,
    /// When its last run started (or finished, its start unknown).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_start: Option<OffsetDateTime>,
}

impl Summary {
    /// A task first seen at `first_seen_at` that has no finished run yet.
    pub fn new(first_seen_at: OffsetDateTime) -> Self {
        Summary {
            first_seen_at,
            last_start: None,
            last: None,
            last_success: None,
        }
    }

    fn of(h: &History) -> Self {
        Summary {
            first_seen_at: h.first_seen_at,
            last_start: h.last_start(),
            last: h.last().cloned(),
            last_success: h.last_success_start(),
        }
    }
}

#[derive(Deserialize)]
struct Index {
    version: u32,
    tasks: BTreeMap<String, Summary>,
}

#[derive(Serialize)]
struct IndexRef<'a> {
    version: u32,
    tasks: &'a BTreeMap<String, Summary>,
}

/// Reads and writes task histories and running records.
pub struct HistoryStore {
    dir: PathBuf,
    running: PathBuf,
}

/// A running record as stored: the task it belongs to, and the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningEntry {
    /// The task's name.
    pub task: String,
    /// The run.
    pub run: Running,
}

impl HistoryStore {
    /// The store under `data_dir` (`history/` and `running/`).
    pub fn new(data_dir: &Path) -> Self {
        HistoryStore {
            dir: data_dir.join(crate::layout::HISTORY),
            running: data_dir.join(crate::layout::RUNNING),
        }
    }

    /// The history file of `task`.
    pub fn path(&self, task: &str) -> PathBuf {
        self.dir.join(format!("{}.json", task_file_stem(task)))
    }

    /// The history of `task`; `None` before notify has heard of it. A
    /// damaged file is reported in the message and treated as absent.
    pub fn load(&self, task: &str) -> (Option<History>, Option<String>) {
        read_history(&self.path(task))
    }

    /// Changes the history of `task` (created, first seen `now`, when it
    /// has none) under its lock, and returns it as saved.
    pub fn update(
        &self,
        task: &str,
        now: OffsetDateTime,
        change: impl FnOnce(&mut History),
    ) -> Result<History> {
        files::create_private_dir(&self.dir).map_err(at(Op::Create, &self.dir))?;
        let path = self.path(task);
        // One lock for every task's file and the index: each holder reads
        // and writes two small files, so waiting on it is short.
        let lock = lock_waiting(&self.dir.join(INDEX_LOCK))?;
        let mut history = read_history(&path)
            .0
            .filter(|h| h.task == task)
            .unwrap_or_else(|| History::new(task, now));
        change(&mut history);
        let json = serde_json::to_vec(&history)
            .map_err(|e| Error::new(Op::Encode, &path, std::io::Error::other(e)))?;
        files::write_atomic(&path, &json, Durability::Lazy).map_err(at(Op::Replace, &path))?;
        self.index_set(&history)?;
        drop(lock);
        Ok(history)
    }

    /// The index: every task's first-seen time and last start, from one
    /// small file, so that a check with nothing to do reads one file
    /// however many tasks there are. Missing or damaged, it is built again
    /// from the histories (and saved).
    pub fn index(&self) -> (BTreeMap<String, Summary>, Vec<String>) {
        self.index_unlocked()
    }

    fn index_unlocked(&self) -> (BTreeMap<String, Summary>, Vec<String>) {
        let path = self.dir.join(INDEX);
        match std::fs::read(&path).map(|b| serde_json::from_slice::<Index>(&b)) {
            Ok(Ok(index)) if index.version == INDEX_VERSION => return (index.tasks, Vec::new()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !self.dir.exists() => {
                return (BTreeMap::new(), Vec::new())
            }
            _ => {}
        }
        let (all, mut warnings) = self.all();
        let tasks: BTreeMap<String, Summary> = all
            .iter()
            .map(|h| (h.task.clone(), Summary::of(h)))
            .collect();
        // Written whole (temp + rename); a rebuild at the same time in
        // another process writes the same.
        if let Err(e) = self.write_index(&tasks) {
            warnings.push(format!("cannot save the task index: {e}"));
        }
        (tasks, warnings)
    }

    /// What the check needs of the index, read without the rest of it (the
    /// last runs' details are skipped, not parsed): each task's first
    /// sighting and last start. A missing or damaged index is rebuilt as
    /// by [`index`](Self::index).
    pub fn starts(&self) -> (BTreeMap<String, Starts>, Vec<String>) {
        #[derive(Deserialize)]
        struct Lite {
            version: u32,
            tasks: BTreeMap<String, Starts>,
        }
        if let Ok(Ok(index)) =
            std::fs::read(self.dir.join(INDEX)).map(|b| serde_json::from_slice::<Lite>(&b))
        {
            if index.version == INDEX_VERSION {
                return (index.tasks, Vec::new());
            }
        }
        let (full, warnings) = self.index();
        let starts = full
            .into_iter()
            .map(|(task, s)| {
                (
                    task,
                    Starts {
                        first_seen_at: s.first_seen_at,
                        last_start: s.last_start,
                    },
                )
            })
            .collect();
        (starts, warnings)
    }

    /// Runs `f` on the index while holding the lock every update takes, so
    /// that what `f` writes from it (the metrics textfile) is never older
    /// than what another process wrote from it.
    pub fn with_index<R>(
        &self,
        f: impl FnOnce(&BTreeMap<String, Summary>) -> R,
    ) -> (R, Vec<String>) {
        let _lock = if self.dir.exists() {
            lock_waiting(&self.dir.join(INDEX_LOCK)).ok().flatten()
        } else {
            None
        };
        let (index, warnings) = self.index_unlocked();
        (f(&index), warnings)
    }

    /// Puts `history`'s summary into the index (the caller holds the lock).
    fn index_set(&self, history: &History) -> Result<()> {
        let path = self.dir.join(INDEX);
        let mut tasks = match std::fs::read(&path).map(|b| serde_json::from_slice::<Index>(&b)) {
            Ok(Ok(index)) if index.version == INDEX_VERSION => index.tasks,
            // Built again from every history (this one is saved already).
            _ => self
                .all()
                .0
                .iter()
                .map(|h| (h.task.clone(), Summary::of(h)))
                .collect(),
        };
        tasks.insert(history.task.clone(), Summary::of(history));
        self.write_index(&tasks)
    }

    fn write_index(&self, tasks: &BTreeMap<String, Summary>) -> Result<()> {
        let path = self.dir.join(INDEX);
        let index = IndexRef {
            version: INDEX_VERSION,
            tasks,
        };
        let json = serde_json::to_vec(&index)
            .map_err(|e| Error::new(Op::Encode, &path, std::io::Error::other(e)))?;
        files::write_atomic(&path, &json, Durability::Lazy).map_err(at(Op::Replace, &path))
    }

    /// Records a finished run of `task`.
    pub fn record(&self, task: &str, run: RunRecord, now: OffsetDateTime) -> Result<History> {
        self.update(task, now, |h| h.record(run))
    }

    /// Every task's history, by task name; damaged files are left out and
    /// reported in the messages.
    pub fn all(&self) -> (Vec<History>, Vec<String>) {
        let mut out = Vec::new();
        let mut warnings = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (out, warnings),
            Err(e) => {
                warnings.push(format!(
                    "cannot read the task history in {}: {e}",
                    self.dir.display()
                ));
                return (out, warnings);
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "json")
                || path.file_name().is_some_and(|n| n == INDEX)
            {
                continue;
            }
            match read_history(&path) {
                (Some(h), _) => out.push(h),
                (None, Some(w)) => warnings.push(w),
                (None, None) => {}
            }
        }
        out.sort_by(|a, b| a.task.cmp(&b.task));
        (out, warnings)
    }

    /// The file of a running record.
    fn running_path(&self, task: &str, id: &str) -> PathBuf {
        let id: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        self.running
            .join(format!("{}~{id}.json", task_file_stem(task)))
    }

    /// Records that a run of `task` has started (removed by
    /// [`finished`](Self::finished)).
    pub fn started(&self, task: &str, run: &Running) -> Result<()> {
        files::create_private_dir(&self.running).map_err(at(Op::Create, &self.running))?;
        let path = self.running_path(task, &run.id);
        let entry = RunningEntry {
            task: task.to_owned(),
            run: run.clone(),
        };
        let json = serde_json::to_vec(&entry)
            .map_err(|e| Error::new(Op::Encode, &path, std::io::Error::other(e)))?;
        files::write_atomic(&path, &json, Durability::Lazy).map_err(at(Op::Replace, &path))
    }

    /// The run `id` of `task` is over (finished, or found gone): its
    /// running record goes.
    pub fn finished(&self, task: &str, id: &str) -> Result<()> {
        let path = self.running_path(task, id);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::new(Op::Remove, &path, e)),
        }
    }

    /// Every run recorded as started and not yet finished; damaged records
    /// are reported in the messages (and removed: they cannot be matched
    /// to a process).
    pub fn running(&self) -> (Vec<RunningEntry>, Vec<String>) {
        let mut out = Vec::new();
        let mut warnings = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.running) else {
            return (out, warnings);
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            match std::fs::read(&path).map(|b| serde_json::from_slice::<RunningEntry>(&b)) {
                Ok(Ok(r)) => out.push(r),
                Ok(Err(e)) => {
                    warnings.push(format!(
                        "removing a damaged running record {}: {e}",
                        path.display()
                    ));
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => warnings.push(format!(
                    "cannot read the running record {}: {e}",
                    path.display()
                )),
            }
        }
        out.sort_by_key(|a| a.run.started_at);
        (out, warnings)
    }
}

fn read_history(path: &Path) -> (Option<History>, Option<String>) {
    match std::fs::read(path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(h) => (Some(h), None),
            Err(e) => (
                None,
                Some(format!(
                    "ignoring damaged task history {}: {e}",
                    path.display()
                )),
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, None),
        Err(e) => (
            None,
            Some(format!("cannot read task history {}: {e}", path.display())),
        ),
    }
}

/// Takes the lock file at `path`, waiting up to [`LOCK_WAIT`] for another
/// holder; `None` when it could not be had in time (the caller goes on: a
/// history entry is not worth a hang).
fn lock_waiting(path: &Path) -> Result<Option<std::fs::File>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(at(Op::Lock, path))?;
    let deadline = Instant::now() + LOCK_WAIT;
    let mut pause = Duration::from_millis(2);
    loop {
        if files::try_lock(&file).map_err(at(Op::Lock, path))? {
            return Ok(Some(file));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_core::{Outcome, TaskResult};
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-12-05 03:00 UTC);

    #[test]
    fn runs_are_recorded_and_listed() {
        let dir = tempfile::tempdir().unwrap();
        let store = HistoryStore::new(dir.path());
        assert_eq!(store.load("Daily Backup"), (None, None));
        let mut r = TaskResult::new("Daily Backup", Outcome::Failure);
        r.started_at = Some(T0);
        store
            .record("Daily Backup", RunRecord::of(&r, T0), T0)
            .unwrap();
        store
            .record(
                "Daily Backup",
                RunRecord::of(&TaskResult::new("Daily Backup", Outcome::Success), T0),
                T0,
            )
            .unwrap();
        store.update("other/task", T0, |_| {}).unwrap();
        let h = store.load("Daily Backup").0.unwrap();
        assert_eq!(h.runs.len(), 2);
        assert_eq!(h.first_seen_at, T0);
        let (all, warnings) = store.all();
        assert!(warnings.is_empty(), "{warnings:?}");
        let names: Vec<&str> = all.iter().map(|h| h.task.as_str()).collect();
        assert_eq!(names, ["Daily Backup", "other/task"]);
    }

    #[test]
    fn a_damaged_history_is_reported_and_started_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let store = HistoryStore::new(dir.path());
        store.update("t", T0, |_| {}).unwrap();
        std::fs::write(store.path("t"), b"{oops").unwrap();
        let (h, w) = store.load("t");
        assert!(h.is_none());
        assert!(w.unwrap().contains("ignoring damaged task history"));
        let (all, warnings) = store.all();
        assert!(all.is_empty());
        assert_eq!(warnings.len(), 1);
        let h = store.update("t", T0, |_| {}).unwrap();
        assert!(h.runs.is_empty());
    }

    #[test]
    fn the_index_follows_every_update_and_is_rebuilt_when_lost() {
        let dir = tempfile::tempdir().unwrap();
        let store = HistoryStore::new(dir.path());
        assert!(store.index().0.is_empty());
        let mut r = TaskResult::new("a", Outcome::Success);
        r.started_at = Some(T0);
        store.record("a", RunRecord::of(&r, T0), T0).unwrap();
        store.update("b", T0, |_| {}).unwrap();
        let (index, w) = store.index();
        assert!(w.is_empty(), "{w:?}");
        let (starts, w) = store.starts();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(starts["a"].last_start, index["a"].last_start);
        assert_eq!(starts["b"].first_seen_at, index["b"].first_seen_at);
        assert_eq!(index["a"].last_start, Some(T0));
        assert_eq!(index["b"].last_start, None);
        assert_eq!(index["b"].first_seen_at, T0);
        // Not a task of its own, whatever a task is called.
        store.update(".index", T0, |_| {}).unwrap();
        store.update("_index", T0, |_| {}).unwrap();
        assert_eq!(store.all().0.len(), 4);
        let index = store.index().0;
        assert_eq!(index.len(), 4);
        // Lost, or damaged: built again from the histories.
        std::fs::write(dir.path().join("history/.index.json"), b"{").unwrap();
        let (again, _) = store.index();
        assert_eq!(again, index);
        std::fs::remove_file(dir.path().join("history/.index.json")).unwrap();
        assert_eq!(store.index().0, index);
        assert!(
            dir.path().join("history/.index.json").exists(),
            "saved again"
        );
    }

    #[test]
    fn running_records_come_and_go() {
        let dir = tempfile::tempdir().unwrap();
        let store = HistoryStore::new(dir.path());
        let run = Running::new("42-1", 42, T0).identity(Some(7), Some("boot".into()));
        store.started("Long job", &run).unwrap();
        let (running, w) = store.running();
        assert!(w.is_empty());
        assert_eq!(
            running,
            vec![RunningEntry {
                task: "Long job".into(),
                run: run.clone()
            }]
        );
        store.finished("Long job", "42-1").unwrap();
        assert!(store.running().0.is_empty());
        // Finishing twice is fine; a damaged record is reported and removed.
        store.finished("Long job", "42-1").unwrap();
        std::fs::write(dir.path().join("running/x~1.json"), b"nope").unwrap();
        let (running, w) = store.running();
        assert!(running.is_empty());
        assert_eq!(w.len(), 1);
        assert!(store.running().1.is_empty(), "removed");
    }

    #[test]
    fn concurrent_updates_lose_no_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let store = HistoryStore::new(&path);
                    for _ in 0..5 {
                        let r = TaskResult::new("t", Outcome::Success);
                        store.record("t", RunRecord::of(&r, T0), T0).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let h = HistoryStore::new(&path).load("t").0.unwrap();
        assert_eq!(h.runs.len(), 40);
    }
}
