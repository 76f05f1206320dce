//! Every environment variable notify reads, in one place.

/// The configuration file to read (the `--config` flag wins).
pub const NOTIFY_CONFIG: &str = "NOTIFY_CONFIG";

/// The data directory: Maildir, per-task state, queue (the `--data-dir` flag
/// wins).
pub const NOTIFY_DATA_DIR: &str = "NOTIFY_DATA_DIR";

/// The prefix of configuration overrides: `NOTIFY_EMAIL__TO=ops@example.com`
/// sets `email.to`; `__` nests. Only keys under the top-level configuration
/// tables are read, so unrelated variables such as systemd's `NOTIFY_SOCKET`
/// are left alone.
pub const NOTIFY_PREFIX: &str = "NOTIFY_";

/// Disables colour when set to any non-empty value (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";

/// The user name used for the local Maildir's default recipient.
pub const USER: &str = "USER";

/// systemd (244 and later) sets these for a unit started by another unit's
/// `OnFailure=` or `OnSuccess=` (`notify send --from-systemd`): how the
/// monitored service ended (`success`, `exit-code`, `signal`, `core-dump`,
/// `timeout`, `watchdog`, ...).
pub const MONITOR_SERVICE_RESULT: &str = "MONITOR_SERVICE_RESULT";

/// `exited`, `killed` or `dumped`.
pub const MONITOR_EXIT_CODE: &str = "MONITOR_EXIT_CODE";

/// The exit status (a number) or the signal's name (`TERM`, `KILL`).
pub const MONITOR_EXIT_STATUS: &str = "MONITOR_EXIT_STATUS";

/// The monitored unit's name, e.g. `backup.service`.
pub const MONITOR_UNIT: &str = "MONITOR_UNIT";

/// The monitored invocation's id: its journal lines carry it as
/// `_SYSTEMD_INVOCATION_ID`.
pub const MONITOR_INVOCATION_ID: &str = "MONITOR_INVOCATION_ID";

/// The time zone `expect_cron` and the digest's `digest_at` are read in
/// (else `/etc/localtime`).
pub const TZ: &str = "TZ";
