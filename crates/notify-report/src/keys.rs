//! The keys under which readers put tool values into `TaskResult::extra`.
//! Each is also a template value (`##Snapshot ID##` reads `snapshot_id`);
//! counts and sizes are whole numbers in decimal.

/// restic's snapshot ID (short form).
pub const SNAPSHOT_ID: &str = "snapshot_id";
/// borg's archive name.
pub const ARCHIVE: &str = "archive";
/// Files that were new in this run.
pub const FILES_NEW: &str = "files_new";
/// Files that changed since the last run.
pub const FILES_CHANGED: &str = "files_changed";
/// Files that did not change since the last run.
pub const FILES_UNMODIFIED: &str = "files_unmodified";
/// Files deleted at the destination (rsync `--delete`, rclone sync).
pub const FILES_DELETED: &str = "files_deleted";
/// Files the tool looked at, changed or not.
pub const FILES_PROCESSED: &str = "files_processed";
/// Bytes the tool looked at (restic's total processed, borg's original size,
/// rsync's total file size), in bytes.
pub const DATA_PROCESSED: &str = "data_processed";
/// Bytes added to the repository (restic's "Added to the repository",
/// borg's deduplicated size of this archive), in bytes.
pub const DATA_ADDED: &str = "data_added";
/// Bytes after compression (borg's compressed size of this archive), in bytes.
pub const DATA_COMPRESSED: &str = "data_compressed";

/// Every key, in the order the template catalogue lists them.
pub const ALL: &[&str] = &[
    SNAPSHOT_ID,
    ARCHIVE,
    FILES_NEW,
    FILES_CHANGED,
    FILES_UNMODIFIED,
    FILES_DELETED,
    FILES_PROCESSED,
    DATA_PROCESSED,
    DATA_ADDED,
    DATA_COMPRESSED,
];
