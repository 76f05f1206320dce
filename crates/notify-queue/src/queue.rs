//! The delivery queue: notifications whose delivery failed temporarily, kept
//! on disk until a later `notify` run delivers them (SPEC section 10).
//!
//! Layout of `$DATA_DIR/queue/`:
//!
//! - `<id>.json`: one pending notification per file, JSON with
//!   `"version": 1`, mode 0600. Written atomically: a temporary file in the
//!   same directory, fsync, rename (or link), fsync of the directory.
//! - `.tmp-*`: a file being written. Never read as an entry; removed once
//!   it is an hour old and nobody holds it (left behind by a crash).
//! - `failed/<id>.json`: given up (too old, or failed permanently) and not
//!   yet reported; `failed/reported/<id>.json` once reported.
//! - `corrupt/<name>`: files that could not be parsed, moved aside.
//!
//! An id is `<nanos>-<pid>-<counter>`: `nanos` (20 digits) is the creation
//! time written in notify's own Message-IDs (`<hex nanos.pid.count.…@host>`)
//! or, for any other Message-ID, the time the entry was queued; `pid` and
//! `counter` make it unique. Ordering file names therefore orders entries by
//! Message-ID creation time, without reading them.
//!
//! Claims are exclusive locks on the open file taken without waiting
//! ([`files::try_lock`]: `flock` on Unix): the kernel releases the lock when
//! the process exits, even after `kill -9`, so a crashed run leaves nothing
//! to clean up. Only the holder of a file's lock
//! changes it, and a replacement is locked *before* it is renamed over the
//! old file, so no one else can claim it in between; a process that locked
//! a file which was replaced or removed meanwhile notices (different inode)
//! and skips it.
//!
//! The time a pending file is due is also its modification time: a claim
//! skips files whose mtime lies after `now` without opening them, so a big
//! queue of entries that are not due costs a directory listing and a `stat`
//! per file. The mtime is only a hint to skip reads; the JSON decides.
//!
//! Nothing here ever holds a secret: a [`Notification`] has none, and error
//! texts come from errors that never contain one.

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, File};
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use notify_core::text::one_line;
use notify_core::Notification;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::error::{Error, Op, Result};
use crate::files::{self, Durability, TempFile, TEMP_PREFIX};

/// How long a notification is retried before it is given up (the
/// `queue_max_age` default).
pub const DEFAULT_MAX_AGE: Duration = Duration::days(7);

/// The `version` written in every queue file.
const FORMAT_VERSION: u32 = 1;
/// The first retry comes this long after the first failure.
const BACKOFF_FIRST: Duration = Duration::minutes(1);
/// Retries are never further apart than this (before jitter).
const BACKOFF_CAP: Duration = Duration::hours(6);
/// A temporary file this old, which nobody holds, was left by a crash.
const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(3600);
/// Error texts are cut to this many characters.
const MAX_ERROR_CHARS: usize = 500;

const SUFFIX: &str = ".json";
const FAILED: &str = "failed";
const REPORTED: &str = "reported";
const CORRUPT: &str = "corrupt";

/// Makes names of files written by this process unique.
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The id of a queued notification: its file name without `.json`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueuedId(pub String);

impl fmt::Display for QueuedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `queue list` shows of a queued (or given-up) notification.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The file name without `.json`.
    pub id: String,
    /// The account to deliver through; `None` for the local Maildir.
    pub account: Option<String>,
    /// The task the notification is about.
    pub task: String,
    /// The notification's subject.
    pub subject: String,
    /// Every address it goes to: To, then Cc, then Bcc.
    pub recipients: Vec<String>,
    /// The notification's Message-ID, kept across retries.
    pub message_id: Option<String>,
    /// Delivery attempts so far (1 after the failure that queued it).
    pub attempts: u32,
    /// When the first delivery failed.
    pub first_failed_at: OffsetDateTime,
    /// When the next attempt is due.
    pub next_attempt_at: OffsetDateTime,
    /// The last error, one line.
    pub last_error: String,
}

/// A queued notification claimed by this process for delivery. No other
/// process (nor another [`Queue`]) can claim it until it is passed to
/// [`Queue::done`], [`Queue::retry_later`] or [`Queue::give_up`], or is
/// dropped (which leaves it queued as it was), or the process dies.
#[derive(Debug)]
pub struct Claimed {
    /// What is queued.
    pub entry: Entry,
    /// The notification to deliver, Message-ID included.
    pub notification: Notification,
    /// Held until the verdict; dropping it releases the claim.
    _lock: Lock,
}

/// What [`Queue::retry_later`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Rescheduled for this time.
    Later(OffsetDateTime),
    /// Older than the maximum age: moved to `queue/failed/`.
    GaveUp,
}

/// The on-disk form of an entry. `N` is the notification, or a summary of
/// it when only listing.
#[derive(Serialize, Deserialize)]
struct Record<N> {
    version: u32,
    #[serde(default)]
    account: Option<String>,
    task: String,
    attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    first_failed_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_attempt_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    next_attempt_at: OffsetDateTime,
    last_error: String,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    gave_up_at: Option<OffsetDateTime>,
    notification: N,
}

/// The parts of a notification that [`Entry`] shows.
#[derive(Deserialize)]
struct Summary {
    subject: String,
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
    #[serde(default)]
    bcc: Vec<String>,
}

/// Just the version, to tell a newer format from a damaged file.
#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
}

enum Parsed<T> {
    Ok(T),
    /// Written by a newer notify: left alone.
    Newer(u32),
    /// Damaged: moved aside.
    Corrupt(String),
}

fn parse<N: DeserializeOwned>(bytes: &[u8]) -> Parsed<Record<N>> {
    match serde_json::from_slice::<Record<N>>(bytes) {
        Ok(r) if r.version == FORMAT_VERSION => Parsed::Ok(r),
        Ok(r) if r.version > FORMAT_VERSION => Parsed::Newer(r.version),
        Ok(r) => Parsed::Corrupt(format!("unknown version {}", r.version)),
        Err(e) => match serde_json::from_slice::<VersionOnly>(bytes) {
            Ok(v) if v.version > FORMAT_VERSION => Parsed::Newer(v.version),
            _ => Parsed::Corrupt(e.to_string()),
        },
    }
}

impl Record<Summary> {
    fn into_entry(self, id: &str) -> Entry {
        let n = &self.notification;
        let recipients = all_recipients(&n.to, &n.cc, &n.bcc);
        entry(
            id,
            &self,
            n.subject.clone(),
            recipients,
            n.message_id.clone(),
        )
    }
}

/// To, then Cc, then Bcc.
fn all_recipients(to: &[String], cc: &[String], bcc: &[String]) -> Vec<String> {
    to.iter().chain(cc).chain(bcc).cloned().collect()
}

fn entry<N>(
    id: &str,
    r: &Record<N>,
    subject: String,
    recipients: Vec<String>,
    message_id: Option<String>,
) -> Entry {
    Entry {
        id: id.to_owned(),
        account: r.account.clone(),
        task: r.task.clone(),
        subject,
        recipients,
        message_id,
        attempts: r.attempts,
        first_failed_at: r.first_failed_at,
        next_attempt_at: r.next_attempt_at,
        last_error: r.last_error.clone(),
    }
}

impl Claimed {
    fn file_name(&self) -> String {
        format!("{}{SUFFIX}", self.entry.id)
    }

    fn record(
        &self,
        attempts: u32,
        error: Option<&str>,
        last_attempt_at: OffsetDateTime,
        next_attempt_at: OffsetDateTime,
        gave_up_at: Option<OffsetDateTime>,
    ) -> Record<&Notification> {
        Record {
            version: FORMAT_VERSION,
            account: self.entry.account.clone(),
            task: self.entry.task.clone(),
            attempts,
            first_failed_at: self.entry.first_failed_at,
            last_attempt_at,
            next_attempt_at,
            last_error: error.map_or_else(
                || self.entry.last_error.clone(),
                |e| one_line(e, Some(MAX_ERROR_CHARS)),
            ),
            gave_up_at,
            notification: &self.notification,
        }
    }
}

/// The queue in `$DATA_DIR/queue`.
///
/// A `Queue` claims each entry at most once in its life, so a loop such as
/// `while !queue.claim_due(now, true, 50).0.is_empty()` ends after one pass
/// even when an entry keeps failing or cannot be rescheduled (disk full).
/// Make one per run (or per `queue flush`); a new `Queue` sees everything.
#[derive(Debug)]
pub struct Queue {
    dir: PathBuf,
    claimed: Mutex<HashSet<String>>,
    reads: AtomicUsize,
}

impl Queue {
    /// The queue under `data_dir/queue`. Touches nothing on disk: the
    /// directories are created when something is first queued.
    pub fn new(data_dir: &Path) -> Queue {
        Queue {
            dir: data_dir.join(crate::layout::QUEUE),
            claimed: Mutex::new(HashSet::new()),
            reads: AtomicUsize::new(0),
        }
    }

    /// The queue's directory, for messages.
    #[allow(dead_code)] // An extra beyond what the wiring was planned with.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn failed_dir(&self) -> PathBuf {
        self.dir.join(FAILED)
    }

    fn reported_dir(&self) -> PathBuf {
        self.dir.join(FAILED).join(REPORTED)
    }

    fn corrupt_dir(&self) -> PathBuf {
        self.dir.join(CORRUPT)
    }

    /// Stores a notification whose delivery failed temporarily: attempts 1,
    /// next attempt after [`backoff`]`(1)`. `account` is the route to retry
    /// through (`None`: the local Maildir); `error` is the failure's
    /// message (made one line). The notification should carry its
    /// Message-ID, which is kept across retries.
    pub fn enqueue(
        &self,
        account: Option<&str>,
        task: &str,
        notification: &Notification,
        error: &str,
        now: OffsetDateTime,
    ) -> Result<QueuedId> {
        let now = utc(now);
        let next = add(now, backoff(1));
        let record = Record {
            version: FORMAT_VERSION,
            account: account.map(str::to_owned),
            task: task.to_owned(),
            attempts: 1,
            first_failed_at: now,
            last_attempt_at: now,
            next_attempt_at: next,
            last_error: one_line(error, Some(MAX_ERROR_CHARS)),
            gave_up_at: None,
            notification,
        };
        let (id, _file) = self.publish(&record, now, Durability::Synced)?;
        files::sync_dir(&self.dir).map_err(|e| context(e, Op::Sync, &self.dir))?;
        Ok(QueuedId(id))
    }

    /// Writes `record` as a new entry, locked before it appears, named
    /// after its notification's Message-ID (else `now`), with its next
    /// attempt as the file's mtime (only a hint for claim_due; the JSON has
    /// the real time). Returns its id and the locked file.
    fn publish(
        &self,
        record: &Record<&Notification>,
        now: OffsetDateTime,
        durability: Durability,
    ) -> Result<(String, File)> {
        let bytes = to_json(record, &self.dir)?;
        files::create_private_dir(&self.dir).map_err(|e| context(e, Op::Create, &self.dir))?;
        let key = record
            .notification
            .message_id
            .as_deref()
            .and_then(|m| message_id_nanos(m, now))
            .unwrap_or_else(|| unix_nanos(now));
        let mut temp = self.write_temp_with(&bytes, durability)?;
        let id = publish_new(&mut temp, &self.dir, key)?;
        let file = temp.into_file();
        if let Some(t) = system_time(record.next_attempt_at) {
            let _ = file.set_modified(t);
        }
        Ok((id, file))
    }

    /// Stores a notification that is about to be delivered, claimed by this
    /// process (write-ahead): if the process dies during the delivery (kill
    /// -9, a crash), the entry is there for the next notify, due at once.
    /// Settle it like any claim: [`done`](Self::done) once delivered,
    /// [`retry_later`](Self::retry_later) after a temporary failure (the
    /// first attempt; that makes it durable), [`discard`](Self::discard)
    /// when it is not to be retried.
    ///
    /// The file is not synced to disk: it guards against the process
    /// dying, which the page cache survives, and costs a write and a rename
    /// instead of two fsyncs on every delivery.
    pub fn hold(
        &self,
        account: Option<&str>,
        task: &str,
        notification: &Notification,
        now: OffsetDateTime,
    ) -> Result<Claimed> {
        let now = utc(now);
        let record = Record {
            version: FORMAT_VERSION,
            account: account.map(str::to_owned),
            task: task.to_owned(),
            attempts: 0,
            first_failed_at: now,
            last_attempt_at: now,
            next_attempt_at: now,
            last_error: "the delivery was interrupted before the server confirmed it".to_owned(),
            gave_up_at: None,
            notification,
        };
        let (id, file) = self.publish(&record, now, Durability::Lazy)?;
        self.claimed_ids().insert(id.clone());
        let n = notification;
        Ok(Claimed {
            entry: entry(
                &id,
                &record,
                n.subject.clone(),
                all_recipients(&n.to, &n.cc, &n.bcc),
                n.message_id.clone(),
            ),
            notification: n.clone(),
            _lock: Lock { file },
        })
    }

    /// Not to be retried (delivered elsewhere, or failed for good and kept
    /// as a local copy): removes the entry, like [`done`](Self::done).
    pub fn discard(&self, claimed: Claimed) -> Result<()> {
        self.done(&claimed)
    }

    /// Every pending entry (for `queue list`), oldest first (by
    /// first failure, then id). A file that cannot be parsed is moved to
    /// `queue/corrupt/`; it and any file that cannot be read are reported
    /// in the warnings, and the rest are listed all the same.
    pub fn list(&self) -> (Vec<Entry>, Vec<String>) {
        let mut warnings = Vec::new();
        let entries = self.list_dir(&self.dir, true, &mut warnings);
        (entries, warnings)
    }

    /// How many notifications are queued for a retry (held ones included),
    /// from the directory's names alone; 0 when it cannot be read.
    pub fn pending_count(&self) -> usize {
        scan_dir(&self.dir).map_or(0, |scan| scan.entries.len())
    }

    /// Every entry given up, reported or not (for `queue list`), oldest
    /// first, and warnings about files that could not be read or parsed
    /// (left in place).
    #[allow(dead_code)] // An extra beyond what the wiring was planned with.
    pub fn list_failed(&self) -> (Vec<Entry>, Vec<String>) {
        let mut warnings = Vec::new();
        let mut entries = self.list_dir(&self.failed_dir(), false, &mut warnings);
        entries.extend(self.list_dir(&self.reported_dir(), false, &mut warnings));
        sort_entries(&mut entries);
        (entries, warnings)
    }

    fn list_dir(&self, dir: &Path, pending: bool, warnings: &mut Vec<String>) -> Vec<Entry> {
        let names = match scan_dir(dir) {
            Ok(scan) => scan.entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => {
                warnings.push(format!("cannot read {}: {e}", dir.display()));
                return Vec::new();
            }
        };
        let mut entries = Vec::new();
        for name in names {
            let path = dir.join(&name);
            let bytes = match self.read_path(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    warnings.push(format!("cannot read {}: {e}", path.display()));
                    continue;
                }
            };
            match parse::<Summary>(&bytes) {
                Parsed::Ok(r) => entries.push(r.into_entry(id_of(&name))),
                Parsed::Newer(v) => warnings.push(newer_warning(&path, v)),
                Parsed::Corrupt(_) if pending => {
                    if let Some(w) = self.quarantine_unlocked(&path, &name) {
                        warnings.push(w);
                    }
                }
                Parsed::Corrupt(why) => warnings.push(format!(
                    "skipping damaged queue file {}: {why}",
                    path.display()
                )),
            }
        }
        sort_entries(&mut entries);
        entries
    }

    /// Claims up to `limit` pending entries that are due at `now` (every
    /// entry, due or not, when `all`), in Message-ID order, for this
    /// process alone until they are released.
    ///
    /// Reads only the files it claims (and a due-looking file it then finds
    /// not due), one at a time; entries that other processes hold are
    /// skipped. A damaged file is moved to `queue/corrupt/` with a warning.
    pub fn claim_due(
        &self,
        now: OffsetDateTime,
        all: bool,
        limit: usize,
    ) -> (Vec<Claimed>, Vec<String>) {
        let now = utc(now);
        let mut claimed = Vec::new();
        let mut warnings = Vec::new();
        let scan = match scan_dir(&self.dir) {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return (claimed, warnings),
            Err(e) => {
                warnings.push(format!("cannot read {}: {e}", self.dir.display()));
                return (claimed, warnings);
            }
        };
        for name in &scan.entries {
            if claimed.len() >= limit {
                break;
            }
            let id = id_of(name);
            if self.claimed_ids().contains(id) {
                continue;
            }
            let path = self.dir.join(name);
            if !all && mtime_after(&path, now) {
                continue;
            }
            match self.try_claim(&path, name, now, all) {
                Ok(Some(c)) => {
                    self.claimed_ids().insert(id.to_owned());
                    claimed.push(c);
                }
                Ok(None) => {}
                Err(w) => warnings.push(w),
            }
        }
        self.remove_stale_temps(&scan.temps);
        (claimed, warnings)
    }

    fn try_claim(
        &self,
        path: &Path,
        name: &str,
        now: OffsetDateTime,
        all: bool,
    ) -> Result<Option<Claimed>, String> {
        let cannot = |e: io::Error| format!("cannot read queue file {}: {e}", path.display());
        let Some(lock) = Lock::acquire(path).map_err(cannot)? else {
            return Ok(None);
        };
        let bytes = self.read_locked(&lock).map_err(cannot)?;
        match parse::<Notification>(&bytes) {
            Parsed::Ok(r) => {
                if !all && r.next_attempt_at > now {
                    return Ok(None);
                }
                let n = &r.notification;
                let subject = n.subject.clone();
                let recipients = all_recipients(&n.to, &n.cc, &n.bcc);
                let message_id = n.message_id.clone();
                Ok(Some(Claimed {
                    entry: entry(id_of(name), &r, subject, recipients, message_id),
                    notification: r.notification,
                    _lock: lock,
                }))
            }
            Parsed::Newer(v) => Err(newer_warning(path, v)),
            Parsed::Corrupt(why) => Err(self.quarantine_locked(path, name, &why)),
        }
    }

    /// Delivered: removes the entry for good. Call it as soon as the
    /// server has accepted the message, so that an interruption right
    /// after repeats nothing; the claim itself ends when `claimed` is
    /// dropped.
    pub fn done(&self, claimed: &Claimed) -> Result<()> {
        let path = self.dir.join(claimed.file_name());
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(context(e, Op::Remove, &path)),
        }
        // The directory is synced once per batch ([`Queue::sync`]), not per
        // message: a removal lost to a crash means one duplicate delivery,
        // recognisable by its Message-ID, never a lost one.
        Ok(())
    }

    /// Makes the removals of [`Queue::done`] durable: call it once after a
    /// batch.
    pub fn sync(&self) -> Result<()> {
        files::sync_dir(&self.dir).map_err(|e| context(e, Op::Sync, &self.dir))
    }

    /// Failed temporarily again: one more attempt counted, `error` kept,
    /// next attempt after [`backoff`]`(attempts)`; or, once the first
    /// failure is more than `max_age` before `now`, moved to
    /// `queue/failed/` ([`Retry::GaveUp`]). Releases the claim.
    pub fn retry_later(
        &self,
        claimed: Claimed,
        error: &str,
        now: OffsetDateTime,
        max_age: Duration,
    ) -> Result<Retry> {
        let now = utc(now);
        let attempts = claimed.entry.attempts.saturating_add(1);
        if now - claimed.entry.first_failed_at > max_age {
            self.move_to_failed(claimed, attempts, error, now)?;
            return Ok(Retry::GaveUp);
        }
        let next = add(now, backoff(attempts));
        let bytes = to_json(
            &claimed.record(attempts, Some(error), now, next, None),
            &self.dir,
        )?;
        let path = self.dir.join(claimed.file_name());
        let replaced = self.replace_locked(&path, &bytes, system_time(next))?;
        drop(replaced);
        drop(claimed);
        Ok(Retry::Later(next))
    }

    /// Failed permanently: moved to `queue/failed/` with `error`, counted
    /// as one more attempt. Releases the claim.
    pub fn give_up(&self, claimed: Claimed, error: &str) -> Result<()> {
        let attempts = claimed.entry.attempts.saturating_add(1);
        self.move_to_failed(claimed, attempts, error, OffsetDateTime::now_utc())
    }

    fn move_to_failed(
        &self,
        claimed: Claimed,
        attempts: u32,
        error: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let failed = self.failed_dir();
        files::create_private_dir(&failed).map_err(|e| context(e, Op::Create, &failed))?;
        let bytes = to_json(
            &claimed.record(
                attempts,
                Some(error),
                now,
                claimed.entry.next_attempt_at,
                Some(now),
            ),
            &self.dir,
        )?;
        let name = claimed.file_name();
        let path = self.dir.join(&name);
        // Update in place first (a crash now leaves it queued, up to date),
        // then move it: one rename, so it is never both queued and failed.
        let replaced = self.replace_locked(&path, &bytes, None)?;
        let dest = failed.join(&name);
        fs::rename(&path, &dest).map_err(|e| context(e, Op::Move, &path))?;
        files::sync_dir(&failed).map_err(|e| context(e, Op::Sync, &failed))?;
        files::sync_dir(&self.dir).map_err(|e| context(e, Op::Sync, &self.dir))?;
        drop(replaced);
        drop(claimed);
        Ok(())
    }

    /// The entries in `queue/failed/` not yet reported, oldest first,
    /// without marking them (see [`Queue::mark_reported`]). Files that
    /// cannot be read or parsed are skipped.
    pub fn unreported_failures(&self) -> Result<Vec<Entry>> {
        let dir = self.failed_dir();
        let names = match scan_dir(&dir) {
            Ok(s) => s.entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(context(e, Op::Read, &dir)),
        };
        let mut entries = Vec::new();
        for name in names {
            if let Ok(bytes) = self.read_path(&dir.join(&name)) {
                if let Parsed::Ok(r) = parse::<Summary>(&bytes) {
                    entries.push(r.into_entry(id_of(&name)));
                }
            }
        }
        sort_entries(&mut entries);
        Ok(entries)
    }

    /// Marks failures as reported (moves them to `queue/failed/reported/`)
    /// and returns those this call marked: of concurrent callers, exactly
    /// one marks each entry.
    pub fn mark_reported(&self, entries: Vec<Entry>) -> Result<Vec<Entry>> {
        if entries.is_empty() {
            return Ok(entries);
        }
        let failed = self.failed_dir();
        let reported = self.reported_dir();
        files::create_private_dir(&reported).map_err(|e| context(e, Op::Create, &reported))?;
        let mut marked = Vec::new();
        for e in entries {
            let name = format!("{}{SUFFIX}", e.id);
            match fs::rename(failed.join(&name), reported.join(&name)) {
                Ok(()) => marked.push(e),
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(context(err, Op::Move, &failed.join(&name))),
            }
        }
        files::sync_dir(&reported).map_err(|e| context(e, Op::Sync, &reported))?;
        files::sync_dir(&failed).map_err(|e| context(e, Op::Sync, &failed))?;
        Ok(marked)
    }

    #[cfg(test)]
    /// The entries in `queue/failed/` not yet reported, marked reported:
    /// each is returned once, across all processes.
    pub fn take_unreported_failures(&self) -> Result<Vec<Entry>> {
        let entries = self.unreported_failures()?;
        self.mark_reported(entries)
    }

    /// Removes pending entries (all, or those whose first failure is more
    /// than `older_than` before `now`) and likewise given-up ones, and
    /// returns how many. Entries being delivered right now by another
    /// process are left alone. Damaged files are removed only by a purge of
    /// all; `queue/corrupt/` is left alone.
    pub fn purge(&self, older_than: Option<Duration>, now: OffsetDateTime) -> Result<usize> {
        let now = utc(now);
        let old_enough = |bytes: &[u8]| match (older_than, parse::<Summary>(bytes)) {
            (None, _) => true,
            (Some(age), Parsed::Ok(r)) => now - r.first_failed_at > age,
            (Some(_), _) => false,
        };
        let mut removed = 0;
        let scan = match scan_dir(&self.dir) {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(context(e, Op::Read, &self.dir)),
        };
        for name in &scan.entries {
            let path = self.dir.join(name);
            let Some(lock) = Lock::acquire(&path).map_err(|e| context(e, Op::Read, &path))? else {
                continue;
            };
            if older_than.is_some() {
                let bytes = self
                    .read_locked(&lock)
                    .map_err(|e| context(e, Op::Read, &path))?;
                if !old_enough(&bytes) {
                    continue;
                }
            }
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(context(e, Op::Remove, &path)),
            }
        }
        files::sync_dir(&self.dir).map_err(|e| context(e, Op::Sync, &self.dir))?;
        for dir in [self.failed_dir(), self.reported_dir()] {
            let names = match scan_dir(&dir) {
                Ok(s) => s.entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(context(e, Op::Read, &dir)),
            };
            for name in names {
                let path = dir.join(&name);
                if older_than.is_some() {
                    match self.read_path(&path) {
                        Ok(bytes) if old_enough(&bytes) => {}
                        _ => continue,
                    }
                }
                match fs::remove_file(&path) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(context(e, Op::Remove, &path)),
                }
            }
        }
        self.remove_stale_temps(&scan.temps);
        Ok(removed)
    }

    fn claimed_ids(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.claimed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read_path(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        fs::read(path)
    }

    fn read_locked(&self, lock: &Lock) -> io::Result<Vec<u8>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let mut bytes = Vec::new();
        (&lock.file).read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// Writes `bytes` to a new temporary file in the queue directory,
    /// synced and locked before anyone can see it under an entry's name.
    fn write_temp(&self, bytes: &[u8]) -> Result<TempFile> {
        self.write_temp_with(bytes, Durability::Synced)
    }

    fn write_temp_with(&self, bytes: &[u8], durability: Durability) -> Result<TempFile> {
        let temp = files::TempFile::write(&self.dir, bytes, durability)
            .map_err(|e| context(e, Op::Write, &self.dir))?;
        match files::try_lock(temp.file()) {
            Ok(true) => Ok(temp),
            Ok(false) => Err(context(
                io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "a file just created is locked by someone else",
                ),
                Op::Create,
                temp.path(),
            )),
            Err(e) => Err(context(e, Op::Create, temp.path())),
        }
    }

    /// Atomically replaces `path` (whose lock the caller holds) with a file
    /// holding `bytes`, locked before it appears; returns its lock.
    fn replace_locked(&self, path: &Path, bytes: &[u8], mtime: Option<SystemTime>) -> Result<Lock> {
        let mut temp = self.write_temp(bytes)?;
        temp.replace(path)
            .map_err(|e| context(e, Op::Replace, path))?;
        let file = temp.into_file();
        if let Some(t) = mtime {
            // Only a hint for claim_due; the JSON has the real time.
            let _ = file.set_modified(t);
        }
        files::sync_dir(&self.dir).map_err(|e| context(e, Op::Sync, &self.dir))?;
        Ok(Lock { file })
    }

    /// Moves a damaged file, whose lock the caller holds, to
    /// `queue/corrupt/`; returns the warning to show.
    fn quarantine_locked(&self, path: &Path, name: &str, why: &str) -> String {
        let dir = self.corrupt_dir();
        let dest = dir.join(name);
        let moved = files::create_private_dir(&dir).and_then(|()| fs::rename(path, &dest));
        match moved {
            Ok(()) => {
                let _ = files::sync_dir(&self.dir);
                format!(
                    "damaged queue file {} ({why}): moved to {}",
                    path.display(),
                    dest.display()
                )
            }
            Err(e) => format!(
                "damaged queue file {} ({why}): skipped; cannot move it to {}: {e}",
                path.display(),
                dir.display()
            ),
        }
    }

    /// Like [`Queue::quarantine_locked`] for a file read without its lock:
    /// locks it and checks again, as it may have been replaced meanwhile.
    fn quarantine_unlocked(&self, path: &Path, name: &str) -> Option<String> {
        let lock = match Lock::acquire(path) {
            Ok(Some(lock)) => lock,
            Ok(None) => return None,
            Err(e) => return Some(format!("cannot read queue file {}: {e}", path.display())),
        };
        let bytes = match self.read_locked(&lock) {
            Ok(b) => b,
            Err(e) => return Some(format!("cannot read queue file {}: {e}", path.display())),
        };
        match parse::<Summary>(&bytes) {
            Parsed::Corrupt(why) => Some(self.quarantine_locked(path, name, &why)),
            Parsed::Newer(v) => Some(newer_warning(path, v)),
            Parsed::Ok(_) => None,
        }
    }

    /// Removes temporary files left by a crash: an hour old and unlocked.
    fn remove_stale_temps(&self, temps: &[String]) {
        let now = SystemTime::now();
        for name in temps {
            let path = self.dir.join(name);
            let stale = fs::symlink_metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > STALE_TEMP);
            if stale {
                if let Ok(Some(_lock)) = Lock::acquire(&path) {
                    let _ = fs::remove_file(&path);
                }
            }
        }
    }

    /// How many files this queue has read, for tests.
    #[cfg(test)]
    fn files_read(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }
}

/// The delay before attempt `attempts + 1`, given `attempts` so far: one
/// minute doubling per attempt, capped at six hours, each ±10% at random so
/// that retries of many notifications spread out.
pub fn backoff(attempts: u32) -> Duration {
    jittered(backoff_base(attempts), random_u64())
}

/// [`backoff`] without jitter: 1 min, 2 min, 4 min … 6 h.
pub fn backoff_base(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    let delay = BACKOFF_FIRST * (1_i32 << doublings);
    delay.min(BACKOFF_CAP)
}

/// `base` ±10%, the offset picked by `random`.
fn jittered(base: Duration, random: u64) -> Duration {
    let ms = i64::try_from(base.whole_milliseconds()).unwrap_or(i64::MAX / 2);
    let tenth = ms / 10;
    let span = u64::try_from(2 * tenth + 1).unwrap_or(1);
    let offset = i64::try_from(random % span).unwrap_or(0) - tenth;
    Duration::milliseconds(ms + offset)
}

fn random_u64() -> u64 {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    RandomState::new().hash_one((
        unix_nanos(OffsetDateTime::now_utc()),
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed),
    ))
}

/// The creation time in a Message-ID made by notify
/// (`<hex nanos.hex pid.hex count.hex random@host>`), when it is one and
/// plausible (within ten years before `now` and a day after).
fn message_id_nanos(message_id: &str, now: OffsetDateTime) -> Option<u128> {
    let local = message_id.trim().strip_prefix('<')?;
    let first = local.split(['.', '@']).next()?;
    if first.is_empty() || first.len() > 32 || !first.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let nanos = u128::from_str_radix(first, 16).ok()?;
    let now = unix_nanos(now);
    let earliest = now.saturating_sub(unix_nanos_of(Duration::days(3653)));
    let latest = now.saturating_add(unix_nanos_of(Duration::days(1)));
    (earliest..=latest).contains(&nanos).then_some(nanos)
}

/// Puts `temp` at a new, unique entry name (never replacing a file);
/// returns the id.
fn publish_new(temp: &mut TempFile, dir: &Path, key: u128) -> Result<String> {
    let pid = std::process::id();
    for _ in 0..1000 {
        let id = format!(
            "{key:020}-{pid:07}-{:06}",
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir.join(format!("{id}{SUFFIX}"));
        match temp.publish_new(&path) {
            Ok(()) => return Ok(id),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(context(e, Op::Create, &path)),
        }
    }
    Err(context(
        io::Error::new(io::ErrorKind::AlreadyExists, "no free file name"),
        Op::Create,
        dir,
    ))
}

/// A directory's entry files (sorted) and temporary files.
struct Scan {
    entries: Vec<String>,
    temps: Vec<String>,
}

fn scan_dir(dir: &Path) -> io::Result<Scan> {
    let mut entries = Vec::new();
    let mut temps = Vec::new();
    for item in fs::read_dir(dir)? {
        let item = item?;
        let Ok(name) = item.file_name().into_string() else {
            continue;
        };
        if !item.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        if name.starts_with(TEMP_PREFIX) {
            temps.push(name);
        } else if !name.starts_with('.') && name.len() > SUFFIX.len() && name.ends_with(SUFFIX) {
            entries.push(name);
        }
    }
    entries.sort_unstable();
    Ok(Scan { entries, temps })
}

fn id_of(name: &str) -> &str {
    name.strip_suffix(SUFFIX).unwrap_or(name)
}

fn sort_entries(entries: &mut [Entry]) {
    entries.sort_by(|a, b| (a.first_failed_at, &a.id).cmp(&(b.first_failed_at, &b.id)));
}

fn newer_warning(path: &Path, version: u32) -> String {
    format!(
        "skipping queue file {}: written by a newer notify (format version {version})",
        path.display()
    )
}

/// Whether `path`'s modification time (the entry's due time) is after `now`.
fn mtime_after(path: &Path, now: OffsetDateTime) -> bool {
    fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| system_nanos(t) > now.unix_timestamp_nanos())
}

fn system_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
        Err(e) => i128::try_from(e.duration().as_nanos()).map_or(i128::MIN, |n| -n),
    }
}

fn system_time(t: OffsetDateTime) -> Option<SystemTime> {
    let nanos = t.unix_timestamp_nanos();
    let magnitude = std::time::Duration::from_nanos(u64::try_from(nanos.unsigned_abs()).ok()?);
    if nanos >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
}

/// Nanoseconds since the Unix epoch; 0 before it.
fn unix_nanos(t: OffsetDateTime) -> u128 {
    u128::try_from(t.unix_timestamp_nanos()).unwrap_or(0)
}

fn unix_nanos_of(d: Duration) -> u128 {
    u128::try_from(d.whole_nanoseconds()).unwrap_or(0)
}

fn utc(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(UtcOffset::UTC)
}

fn add(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    t.checked_add(d).unwrap_or(t)
}

fn to_json<T: Serialize>(value: &T, dir: &Path) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| context(io::Error::other(e), Op::Encode, dir))
}

/// `error` with what was being done to which path.
fn context(error: io::Error, op: Op, path: &Path) -> Error {
    Error::new(op, path, error)
}

/// An exclusive claim on one queue file. Released when dropped, or by the
/// kernel when the process dies.
#[derive(Debug)]
struct Lock {
    file: File,
}

impl Lock {
    /// Opens `path` and locks it without waiting. `None` when the file is
    /// gone, is locked by someone else (another process, or another open
    /// file in this one), or was replaced between the open and the lock.
    fn acquire(path: &Path) -> io::Result<Option<Lock>> {
        match open_no_follow(path) {
            Ok(file) => Self::lock_opened(file, path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Locks `file`, opened from `path` a moment ago.
    fn lock_opened(file: File, path: &Path) -> io::Result<Option<Lock>> {
        if !files::try_lock(&file)? {
            return Ok(None);
        }
        // Locked; but is it still the file at `path`? It may have been
        // replaced or removed by the previous holder.
        match fs::symlink_metadata(path) {
            Ok(now) if same_file(&file.metadata()?, &now) => Ok(Some(Lock { file })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Opens `path` for reading, refusing a symbolic link (a foreign file in
/// the queue directory is never followed).
fn open_no_follow(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    options.open(path)
}

/// Whether two metadata describe the same file.
#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Outside Unix std has no file identity; the size and modification time
/// stand in for it (a replacement is written anew, so they differ in
/// practice).
#[cfg(not(unix))]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;

    /// Set in a child process started by a test: `mode\ndata dir\nout file`.
    const CHILD_ENV: &str = "NOTIFY_QUEUE_TEST_CHILD";

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
    }

    /// A Message-ID in notify's own form, created at `at`.
    fn mid(at: OffsetDateTime, n: u32) -> String {
        format!(
            "<{:x}.1092.{n:x}.00112233445566ff@example.com>",
            at.unix_timestamp_nanos()
        )
    }

    fn note(subject: &str, message_id: Option<String>) -> Notification {
        {
            let mut built = Notification::default();
            built.from = Some("backup@example.com".into());
            built.to = vec!["ops@example.com".into()];
            built.subject = subject.into();
            built.text = format!("body of {subject}\n");
            built.message_id = message_id;
            built
        }
    }

    #[test]
    fn a_held_entry_is_nobody_else_s_until_its_holder_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::new(dir.path());
        let held = queue
            .hold(Some("a"), "nightly", &note("s", Some(mid(t(0), 1))), t(0))
            .unwrap();
        assert_eq!(held.entry.attempts, 0);
        // Another process (another Queue) sees it but cannot claim it.
        let other = Queue::new(dir.path());
        let (got, _) = other.claim_due(t(0), true, 10);
        assert!(got.is_empty(), "claimed while held");
        // Its holder died (the claim ends with it): due at once.
        drop(held);
        let (mut got, _) = other.claim_due(t(0), false, 10);
        assert_eq!(got.len(), 1);
        let claimed = got.remove(0);
        assert_eq!(claimed.entry.attempts, 0);
        assert!(claimed.entry.last_error.contains("interrupted"));
        other.done(&claimed).unwrap();
        assert!(other.list().0.is_empty());

        // A temporary failure of the held delivery is its first attempt.
        let held = queue
            .hold(Some("a"), "nightly", &note("s", Some(mid(t(0), 2))), t(0))
            .unwrap();
        let id = held.entry.id.clone();
        match queue
            .retry_later(held, "451 try later", t(1), Duration::days(7))
            .unwrap()
        {
            Retry::Later(at) => assert!(at > t(1), "{at}"),
            Retry::GaveUp => panic!("gave up"),
        }
        let (list, _) = queue.list();
        assert_eq!((list[0].id.as_str(), list[0].attempts), (id.as_str(), 1));
        // Discarded: gone.
        let held = queue
            .hold(None, "x", &note("d", Some(mid(t(0), 3))), t(0))
            .unwrap();
        queue.discard(held).unwrap();
        assert_eq!(queue.list().0.len(), 1);
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    fn fill(q: &Queue, n: usize, now: OffsetDateTime) -> Vec<String> {
        (0..n)
            .map(|i| {
                let subject = format!("job {i}");
                let id = q
                    .enqueue(
                        Some("work"),
                        "backup",
                        &note(&subject, None),
                        "451 later",
                        now,
                    )
                    .unwrap();
                id.0
            })
            .collect()
    }

    fn ids(claimed: &[Claimed]) -> Vec<String> {
        claimed.iter().map(|c| c.entry.id.clone()).collect()
    }

    #[test]
    fn enqueue_and_list_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        assert_eq!(q.list(), (vec![], vec![]), "no queue directory yet");
        let n1 = note("Backup failed", Some(mid(t(-5), 1)));
        let id1 = q
            .enqueue(
                Some("work"),
                "backup",
                &n1,
                "connection refused\n(os error 111)",
                t(0),
            )
            .unwrap();
        let id2 = q
            .enqueue(None, "sync", &note("Sync ok", None), "maildir busy", t(10))
            .unwrap();
        assert_ne!(id1, id2);

        let (entries, warnings) = q.list();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(entries.len(), 2);
        let e = &entries[0];
        assert_eq!(e.id, id1.0);
        assert_eq!(e.account.as_deref(), Some("work"));
        assert_eq!(e.task, "backup");
        assert_eq!(e.recipients, ["ops@example.com"]);
        assert_eq!(e.subject, "Backup failed");
        assert_eq!(e.message_id, n1.message_id);
        assert_eq!(e.attempts, 1);
        assert_eq!(e.first_failed_at, t(0));
        let wait = e.next_attempt_at - t(0);
        assert!(
            wait >= Duration::seconds(54) && wait <= Duration::seconds(66),
            "{wait}"
        );
        assert_eq!(e.last_error, "connection refused (os error 111)");
        assert_eq!(entries[1].account, None);
        assert_eq!(entries[1].task, "sync");

        // One file per message, nothing else left behind; version 1; 0600.
        let files = names(q.dir());
        assert_eq!(
            files,
            vec![format!("{}.json", id1.0), format!("{}.json", id2.0)]
        );
        let path = q.dir().join(&files[0]);
        let json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["notification"]["subject"], "Backup failed");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // The notification comes back whole.
        let (claimed, _) = Queue::new(dir.path()).claim_due(t(0), true, 10);
        assert_eq!(claimed[0].notification, n1);
        assert_eq!(claimed[1].notification, note("Sync ok", None));
    }

    #[test]
    fn ids_follow_message_id_creation_time() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        let now = t(100);
        // Queued in this order, created in another.
        let c = q
            .enqueue(None, "c", &note("c", Some(mid(t(30), 0))), "x", now)
            .unwrap();
        let foreign = q
            .enqueue(
                None,
                "f",
                &note("f", Some("<abc@elsewhere>".into())),
                "x",
                now,
            )
            .unwrap();
        let none = q.enqueue(None, "n", &note("n", None), "x", t(101)).unwrap();
        let a = q
            .enqueue(None, "a", &note("a", Some(mid(t(-50), 7))), "x", now)
            .unwrap();
        let b = q
            .enqueue(None, "b", &note("b", Some(mid(t(20), 3))), "x", now)
            .unwrap();
        assert!(a
            .0
            .starts_with(&format!("{:020}-", t(-50).unix_timestamp_nanos())));

        let (claimed, _) = Queue::new(dir.path()).claim_due(t(10_000), false, 100);
        let tasks: Vec<&str> = claimed.iter().map(|c| c.entry.task.as_str()).collect();
        assert_eq!(tasks, ["a", "b", "c", "f", "n"]);
        assert_eq!(ids(&claimed), [a.0, b.0, c.0, foreign.0, none.0]);
    }

    #[test]
    fn message_id_times_are_read_from_notify_ids_only() {
        let now = OffsetDateTime::now_utc();
        // The form of notify_smtp::new_message_id: hex nanos, pid, count,
        // random (the CLI's tests check the two agree).
        let real = format!("<{:x}.3039.7.5eed@example.com>", unix_nanos(now));
        let nanos = message_id_nanos(&real, now).unwrap();
        assert!(unix_nanos(now).abs_diff(nanos) < 60_000_000_000);
        assert_eq!(message_id_nanos("<abc.def@example.com>", now), None);
        assert_eq!(message_id_nanos("<@x>", now), None);
        assert_eq!(message_id_nanos("no brackets", now), None);
        assert_eq!(message_id_nanos("<ffffffffffffffffffff.1@x>", now), None);
    }

    #[test]
    fn a_leftover_temp_file_is_ignored_and_cleaned_up_when_stale() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        let id = q
            .enqueue(None, "t", &note("whole", None), "x", t(0))
            .unwrap();
        // A crash mid-write leaves a partial temporary file, fresh or old.
        let fresh = q.dir().join(".tmp-4242-0-1");
        let old = q.dir().join(".tmp-4242-1-1");
        fs::write(&fresh, br#"{"version":1,"account":null,"task":"par"#).unwrap();
        fs::write(&old, br#"{"version":1,"task":"#).unwrap();
        File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(SystemTime::now() - std::time::Duration::from_secs(7200))
            .unwrap();

        let (entries, warnings) = q.list();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(entries.len(), 1);
        let (claimed, warnings) = q.claim_due(t(0), true, 10);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(ids(&claimed), std::slice::from_ref(&id.0));
        assert!(fresh.exists(), "a temp file in use may be young");
        assert!(!old.exists(), "an old unlocked temp file is removed");
        assert!(!q.dir().join(CORRUPT).exists());
    }

    #[test]
    fn backoff_doubles_up_to_six_hours() {
        assert_eq!(backoff_base(0), Duration::minutes(1));
        assert_eq!(backoff_base(1), Duration::minutes(1));
        assert_eq!(backoff_base(2), Duration::minutes(2));
        assert_eq!(backoff_base(3), Duration::minutes(4));
        assert_eq!(backoff_base(9), Duration::minutes(256));
        assert_eq!(backoff_base(10), Duration::hours(6));
        assert_eq!(backoff_base(u32::MAX), Duration::hours(6));

        let base = Duration::minutes(10);
        assert_eq!(jittered(base, 0), Duration::minutes(9));
        assert_eq!(jittered(base, 120_000), Duration::minutes(11));
        assert_eq!(jittered(base, 60_000), base);
        for r in [1, 7, u64::MAX, u64::MAX / 3] {
            let d = jittered(base, r);
            assert!(
                d >= Duration::minutes(9) && d <= Duration::minutes(11),
                "{d}"
            );
        }

        for attempts in [1, 2, 5, 10, 50] {
            let base = backoff_base(attempts);
            let samples: HashSet<Duration> = (0..200).map(|_| backoff(attempts)).collect();
            assert!(samples.len() > 1, "jitter varies");
            for d in samples {
                assert!(d >= base * 0.9 && d <= base * 1.1, "{attempts}: {d}");
            }
        }
    }

    #[test]
    fn claim_due_respects_next_attempt_and_all() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        let id = q.enqueue(None, "t", &note("s", None), "x", t(0)).unwrap();

        let (claimed, warnings) = q.claim_due(t(30), false, 10);
        assert!(claimed.is_empty() && warnings.is_empty());
        assert_eq!(q.files_read(), 0, "not due by its mtime: not even read");

        let (claimed, _) = Queue::new(dir.path()).claim_due(t(30), true, 10);
        assert_eq!(
            ids(&claimed),
            std::slice::from_ref(&id.0),
            "all: due or not"
        );
        drop(claimed);

        let (claimed, _) = q.claim_due(t(70), false, 10);
        assert_eq!(ids(&claimed), std::slice::from_ref(&id.0));
        assert_eq!(claimed[0].entry.attempts, 1);

        // Held: nobody else gets it, due or all.
        let other = Queue::new(dir.path());
        assert!(other.claim_due(t(70), false, 10).0.is_empty());
        assert!(other.claim_due(t(70), true, 10).0.is_empty());
        drop(claimed);
        // Dropped without a verdict: queued as it was, claimable again,
        // though not by the Queue that claimed it once.
        assert!(q.claim_due(t(70), true, 10).0.is_empty());
        assert_eq!(ids(&other.claim_due(t(70), false, 10).0), [id.0]);
    }

    #[test]
    fn limit_is_respected_and_zero_claims_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        let all = fill(&q, 5, t(0));
        assert!(q.claim_due(t(0), true, 0).0.is_empty());
        let (first, _) = q.claim_due(t(0), true, 2);
        assert_eq!(ids(&first), all[..2]);
        let (next, _) = q.claim_due(t(0), true, 2);
        assert_eq!(
            ids(&next),
            all[2..4],
            "the ones held by this queue are skipped"
        );
        let (last, _) = q.claim_due(t(0), true, 2);
        assert_eq!(ids(&last), all[4..]);
        assert!(q.claim_due(t(0), true, 2).0.is_empty());
    }

    #[test]
    fn the_mtime_is_only_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        let id = q.enqueue(None, "t", &note("s", None), "x", t(0)).unwrap();
        // Someone touched the file: it looks due, but is not.
        let path = q.dir().join(format!("{id}.json"));
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(system_time(t(-100)).unwrap())
            .unwrap();
        assert!(q.claim_due(t(10), false, 10).0.is_empty());
        assert_eq!(q.files_read(), 1);
        assert_eq!(q.claim_due(t(100), false, 10).0.len(), 1);
    }

    #[test]
    fn retry_later_counts_and_reschedules() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        let n = note("s", Some(mid(t(-1), 0)));
        let id = q.enqueue(Some("work"), "t", &n, "first", t(0)).unwrap();
        let (mut claimed, _) = q.claim_due(t(100), false, 10);
        let c = claimed.remove(0);
        let retry = q
            .retry_later(c, "451 4.3.0 try\r\nagain", t(100), DEFAULT_MAX_AGE)
            .unwrap();
        let Retry::Later(next) = retry else {
            panic!("{retry:?}")
        };
        let wait = next - t(100);
        assert!(
            wait >= Duration::seconds(108) && wait <= Duration::seconds(132),
            "{wait}"
        );

        let (entries, _) = q.list();
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!(e.id, id.0);
        assert_eq!(e.attempts, 2);
        assert_eq!(e.first_failed_at, t(0));
        assert_eq!(e.next_attempt_at, next);
        assert_eq!(e.last_error, "451 4.3.0 try again");
        assert_eq!(e.message_id, n.message_id, "the Message-ID is kept");
        assert_eq!(names(q.dir()), [format!("{id}.json")], "no temp left");

        let q2 = Queue::new(dir.path());
        assert!(q2.claim_due(t(200), false, 10).0.is_empty(), "not due yet");
        let (mut claimed, _) = q2.claim_due(next, false, 10);
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].notification, n);
        let retry = q2
            .retry_later(claimed.remove(0), "again", next, DEFAULT_MAX_AGE)
            .unwrap();
        let Retry::Later(later) = retry else {
            panic!("{retry:?}")
        };
        assert!(later - next >= Duration::seconds(216), "4 min ±10%");
        assert_eq!(q2.list().0[0].attempts, 3);
    }

    #[test]
    fn too_old_goes_to_failed() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        let id = q.enqueue(None, "t", &note("s", None), "x", t(0)).unwrap();
        let now = t(0) + DEFAULT_MAX_AGE + Duration::seconds(1);
        let (mut claimed, _) = q.claim_due(now, false, 10);
        let retry = q
            .retry_later(claimed.remove(0), "timed out", now, DEFAULT_MAX_AGE)
            .unwrap();
        assert_eq!(retry, Retry::GaveUp);
        assert_eq!(q.list(), (vec![], vec![]));
        assert!(Queue::new(dir.path()).claim_due(now, true, 10).0.is_empty());
        assert_eq!(names(&q.failed_dir()), [format!("{id}.json")]);
        let (failed, warnings) = q.list_failed();
        assert!(warnings.is_empty());
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].attempts, 2);
        assert_eq!(failed[0].last_error, "timed out");
        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(q.failed_dir().join(format!("{id}.json"))).unwrap())
                .unwrap();
        assert!(json["gave_up_at"].is_string());

        // Not yet too old: rescheduled.
        let q = Queue::new(dir.path());
        q.enqueue(None, "t", &note("s", None), "x", t(0)).unwrap();
        let now = t(0) + DEFAULT_MAX_AGE;
        let (mut claimed, _) = q.claim_due(now, false, 10);
        let retry = q
            .retry_later(claimed.remove(0), "x", now, DEFAULT_MAX_AGE)
            .unwrap();
        assert!(matches!(retry, Retry::Later(_)));
    }

    #[test]
    fn give_up_and_report_once() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        assert!(q.take_unreported_failures().unwrap().is_empty());
        let ids_ = fill(&q, 3, t(0));
        let (claimed, _) = q.claim_due(t(0), true, 2);
        for c in claimed {
            q.give_up(c, "550 5.1.1 no such user").unwrap();
        }
        let (pending, _) = q.list();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id, ids_[2]);

        let peek = q.unreported_failures().unwrap();
        assert_eq!(peek.len(), 2);
        let taken = q.take_unreported_failures().unwrap();
        assert_eq!(
            taken.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
            ids_[..2]
        );
        assert_eq!(taken[0].last_error, "550 5.1.1 no such user");
        assert_eq!(taken[0].attempts, 2);
        assert!(
            q.take_unreported_failures().unwrap().is_empty(),
            "said once"
        );
        assert!(Queue::new(dir.path())
            .take_unreported_failures()
            .unwrap()
            .is_empty());
        assert_eq!(q.list_failed().0.len(), 2, "still listed as failed");
        // Marking what someone else marked already marks nothing.
        assert!(q.mark_reported(peek).unwrap().is_empty());
    }

    #[test]
    fn purge_all_or_older_than() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        let old = q.enqueue(None, "old", &note("o", None), "x", t(0)).unwrap();
        let young = q
            .enqueue(None, "young", &note("y", None), "x", t(86_400 * 3))
            .unwrap();
        let held = q
            .enqueue(None, "held", &note("h", None), "x", t(-86_400))
            .unwrap();
        let failed = q
            .enqueue(None, "fail", &note("f", None), "x", t(0))
            .unwrap();
        let (claimed, _) = q.claim_due(t(0), true, 10);
        let mut claimed: Vec<Claimed> = claimed
            .into_iter()
            .filter_map(|c| {
                if c.entry.id == failed.0 {
                    q.give_up(c, "550").unwrap();
                    None
                } else {
                    Some(c)
                }
            })
            .collect();
        claimed.retain(|c| c.entry.id == held.0);
        assert_eq!(claimed.len(), 1, "`held` is being delivered");

        let now = t(86_400 * 4);
        let removed = q.purge(Some(Duration::days(2)), now).unwrap();
        assert_eq!(removed, 2, "old and failed; not young, not held");
        let left: Vec<String> = q.list().0.into_iter().map(|e| e.id).collect();
        assert_eq!(left, [held.0.clone(), young.0.clone()]);
        assert!(!left.contains(&old.0));
        assert!(q.list_failed().0.is_empty());

        drop(claimed);
        let c = Queue::new(dir.path()).claim_due(now, true, 10).0;
        q.give_up(c.into_iter().next().unwrap(), "x").unwrap();
        assert_eq!(q.purge(None, now).unwrap(), 2, "young and the failed one");
        assert_eq!(q.list(), (vec![], vec![]));
        assert!(q.list_failed().0.is_empty());
        assert_eq!(q.purge(None, now).unwrap(), 0);
        assert_eq!(
            Queue::new(&dir.path().join("none"))
                .purge(None, now)
                .unwrap(),
            0
        );
    }

    #[test]
    fn a_corrupt_file_is_moved_aside_and_the_rest_still_claim() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        let all = fill(&q, 3, t(0));
        let bad = q.dir().join(format!("{}.json", all[1]));
        fs::write(&bad, b"{\"version\":1,\"task\":").unwrap();
        let newer = q.dir().join("00000000000000000000-0000001-000000.json");
        fs::write(&newer, br#"{"version":2,"whatever":true}"#).unwrap();

        let (claimed, warnings) = q.claim_due(t(0), true, 10);
        assert_eq!(ids(&claimed), [all[0].clone(), all[2].clone()]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("newer notify"), "{warnings:?}");
        assert!(warnings[1].contains("damaged") && warnings[1].contains("corrupt"));
        assert!(!bad.exists());
        assert_eq!(names(&q.corrupt_dir()), [format!("{}.json", all[1])]);
        assert!(newer.exists(), "a newer format is left alone");

        // list does the same for files it finds damaged.
        fs::write(q.dir().join("junk.json"), b"not json").unwrap();
        let (entries, warnings) = q.list();
        assert_eq!(entries.len(), 2);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(q.corrupt_dir().join("junk.json").exists());
    }

    /// Another process opened a file just before its holder replaced or
    /// removed it, and locks it just after: it must not claim it.
    #[cfg(unix)]
    #[test]
    fn a_file_replaced_or_removed_after_the_open_is_not_claimed() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        let all = fill(&q, 2, t(0));
        let paths: Vec<PathBuf> = all
            .iter()
            .map(|id| q.dir().join(format!("{id}.json")))
            .collect();
        let opened_early: Vec<File> = paths.iter().map(|p| File::open(p).unwrap()).collect();
        let (mut claimed, _) = q.claim_due(t(0), true, 2);
        q.done(&claimed.remove(0)).unwrap();
        let retry = q
            .retry_later(claimed.remove(0), "x", t(0), DEFAULT_MAX_AGE)
            .unwrap();
        assert!(matches!(retry, Retry::Later(_)));
        for (file, path) in opened_early.into_iter().zip(&paths) {
            assert!(Lock::lock_opened(file, path).unwrap().is_none());
        }
        // The replacement itself is free to claim.
        assert!(Lock::acquire(&paths[1]).unwrap().is_some());
    }

    #[test]
    fn threads_claim_each_entry_once() {
        let dir = tempfile::tempdir().unwrap();
        let all = fill(&Queue::new(dir.path()), 200, t(0));
        let shared = Arc::new(Queue::new(dir.path()));
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let own = Arc::new(Queue::new(dir.path()));
                let q = if i % 2 == 0 { own } else { shared.clone() };
                std::thread::spawn(move || claim_until_empty(&q, 3))
            })
            .collect();
        let mut got: Vec<String> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        got.sort();
        assert_eq!(got, all);
        assert!(Queue::new(dir.path()).list().0.is_empty());
    }

    /// Claims and completes entries until none is left to claim; returns
    /// the ids claimed.
    fn claim_until_empty(q: &Queue, batch: usize) -> Vec<String> {
        let mut got = Vec::new();
        loop {
            let (claimed, warnings) = q.claim_due(t(0), true, batch);
            assert!(warnings.is_empty(), "{warnings:?}");
            if claimed.is_empty() {
                return got;
            }
            for c in claimed {
                got.push(c.entry.id.clone());
                std::thread::sleep(std::time::Duration::from_micros(300));
                q.done(&c).unwrap();
            }
        }
    }

    /// Runs this test binary as a child doing `mode` on the queue in
    /// `data_dir`, reporting to `out`.
    fn spawn_child(mode: &str, data_dir: &Path, out: &Path) -> KillOnDrop {
        let exe = std::env::current_exe().unwrap();
        let child = Command::new(exe)
            .args([
                "queue::tests::child_process",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(
                CHILD_ENV,
                format!("{mode}\n{}\n{}", data_dir.display(), out.display()),
            )
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        KillOnDrop(child)
    }

    struct KillOnDrop(Child);

    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Not a test by itself: the body of the child processes of the tests
    /// below; fails unless started by one of them.
    #[test]
    #[ignore = "the body of a child process that the tests below start"]
    fn child_process() {
        let Ok(spec) = std::env::var(CHILD_ENV) else {
            panic!("not a test of its own: the tests below run it with {CHILD_ENV} set");
        };
        let mut parts = spec.splitn(3, '\n');
        let (mode, data_dir, out) = (
            parts.next().unwrap(),
            PathBuf::from(parts.next().unwrap()),
            PathBuf::from(parts.next().unwrap()),
        );
        let q = Queue::new(&data_dir);
        match mode {
            "claim" => {
                let go = data_dir.join("go");
                while !go.exists() {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                let got = claim_until_empty(&q, 3);
                let tmp = out.with_extension("tmp");
                fs::write(&tmp, got.join("\n")).unwrap();
                fs::rename(tmp, out).unwrap();
            }
            "hold" => {
                let (claimed, _) = q.claim_due(t(0), true, 1);
                let tmp = out.with_extension("tmp");
                fs::write(&tmp, ids(&claimed).join("\n")).unwrap();
                fs::rename(tmp, out).unwrap();
                std::thread::sleep(std::time::Duration::from_secs(120));
                drop(claimed);
            }
            other => panic!("unknown child mode {other}"),
        }
    }

    fn wait_for(path: &Path) -> String {
        for _ in 0..3000 {
            if let Ok(s) = fs::read_to_string(path) {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the child never wrote {}", path.display());
    }

    #[test]
    fn processes_claim_each_entry_once() {
        let dir = tempfile::tempdir().unwrap();
        let all = fill(&Queue::new(dir.path()), 200, t(0));
        let outs: Vec<PathBuf> = (0..3).map(|i| dir.path().join(format!("out{i}"))).collect();
        let mut children: Vec<KillOnDrop> = outs
            .iter()
            .map(|out| spawn_child("claim", dir.path(), out))
            .collect();
        fs::write(dir.path().join("go"), b"").unwrap();
        let mine = {
            let q = Arc::new(Queue::new(dir.path()));
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let q = q.clone();
                    std::thread::spawn(move || claim_until_empty(&q, 3))
                })
                .collect();
            threads
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect::<Vec<_>>()
        };
        for c in &mut children {
            assert!(c.0.wait().unwrap().success());
        }
        let mut got = mine;
        for out in &outs {
            let text = wait_for(out);
            got.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_owned));
        }
        got.sort();
        assert_eq!(got, all, "every entry claimed exactly once");
        assert!(Queue::new(dir.path()).list().0.is_empty());
    }

    #[cfg(unix)] // Elsewhere a claim of a dead process lasts an hour.
    #[test]
    fn a_claim_of_a_killed_process_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        let id = q.enqueue(None, "t", &note("s", None), "x", t(0)).unwrap();
        let out = dir.path().join("held");
        let mut child = spawn_child("hold", dir.path(), &out);
        assert_eq!(wait_for(&out), id.0, "the child holds it");
        assert!(Queue::new(dir.path())
            .claim_due(t(0), true, 10)
            .0
            .is_empty());
        child.0.kill().unwrap(); // SIGKILL
        child.0.wait().unwrap();
        let (claimed, _) = Queue::new(dir.path()).claim_due(t(0), true, 10);
        assert_eq!(ids(&claimed), [id.0]);
    }

    #[test]
    fn ten_thousand_entries_claim_without_reading_them_all() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        let template = note("bulk", None);
        q.enqueue(None, "t", &template, "x", t(0)).unwrap();
        fs::remove_dir_all(q.dir()).unwrap();
        fs::create_dir_all(q.dir()).unwrap();
        let now = OffsetDateTime::now_utc();
        let later = now + Duration::days(1);
        let record = |next| Record {
            version: FORMAT_VERSION,
            account: None,
            task: "bulk".to_owned(),
            attempts: 1,
            first_failed_at: now - Duration::hours(1),
            last_attempt_at: now - Duration::hours(1),
            next_attempt_at: next,
            last_error: "x".to_owned(),
            gave_up_at: None,
            notification: &template,
        };
        let not_due = serde_json::to_vec(&record(later)).unwrap();
        let due = serde_json::to_vec(&record(now - Duration::minutes(1))).unwrap();
        let name = |i: usize| format!("{:020}-0000001-{i:06}.json", 1_000 + i);
        // The first 5,000 in Message-ID order are not due.
        for i in 0..10_000 {
            let path = q.dir().join(name(i));
            if i < 5_000 {
                let f = File::create(&path).unwrap();
                (&f).write_all(&not_due).unwrap();
                f.set_modified(system_time(later).unwrap()).unwrap();
            } else {
                fs::write(&path, &due).unwrap();
            }
        }
        let now = OffsetDateTime::now_utc();

        let (claimed, warnings) = q.claim_due(now, false, 50);
        assert!(warnings.is_empty(), "{warnings:?}");
        let want: Vec<String> = (5_000..5_050).map(|i| id_of(&name(i)).to_owned()).collect();
        assert_eq!(ids(&claimed), want);
        assert_eq!(q.files_read(), 50, "only what it claimed");

        let (claimed, _) = q.claim_due(now, false, 50);
        assert_eq!(claimed.len(), 50);
        assert_eq!(q.files_read(), 100);
        let q2 = Queue::new(dir.path());
        let (flush, _) = q2.claim_due(now, true, 50);
        assert_eq!(ids(&flush)[0], id_of(&name(0)));
        assert_eq!(q2.files_read(), 50);
    }

    #[test]
    fn errors_are_kept_on_one_short_line() {
        assert_eq!(
            one_line("  a\r\n\tb  c\u{1b}[0m ", Some(MAX_ERROR_CHARS)),
            "a b c [0m"
        );
        let long = one_line(&"é".repeat(2000), Some(MAX_ERROR_CHARS));
        assert_eq!(long.chars().count(), MAX_ERROR_CHARS);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn a_read_only_queue_reports_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        fs::write(&file, b"").unwrap();
        let q = Queue::new(&file);
        let err = q
            .enqueue(None, "t", &note("s", None), "x", t(0))
            .unwrap_err();
        assert!(err.to_string().contains("not-a-dir"), "{err}");
        let (claimed, warnings) = q.claim_due(t(0), true, 10);
        assert!(claimed.is_empty());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }
}
