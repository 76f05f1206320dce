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

/// A PEM bundle to trust instead of the system's store (as for OpenSSL,
/// curl and msmtp); the account's `ca_file` still adds to it.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// Directories of PEM certificates to trust instead of the system's store
/// (`:`-separated, as for OpenSSL).
pub const SSL_CERT_DIR: &str = "SSL_CERT_DIR";

/// The variables a user sets, each with what it does: the manual page's
/// ENVIRONMENT section.
pub const DOCUMENTED: &[(&str, &str)] = &[
    (
        NOTIFY_CONFIG,
        "The configuration file (the --config flag wins); it must exist when set.",
    ),
    (
        NOTIFY_DATA_DIR,
        "The data directory: local Maildir, queue, task state and history (the --data-dir flag wins).",
    ),
    (
        "NOTIFY_SECTION__KEY",
        "Overrides a configuration key; __ nests: NOTIFY_EMAIL__TO=ops@example.com, NOTIFY_EMAIL__LEVEL=always. Between the file and the flags.",
    ),
    (
        SSL_CERT_FILE,
        "A PEM bundle of CA certificates to trust instead of the system's store (an account's ca_file still adds to it).",
    ),
    (
        SSL_CERT_DIR,
        "Directories of PEM CA certificates to trust instead of the system's store, :-separated.",
    ),
    (
        TZ,
        "The time zone of expect_cron and digest_at (else /etc/localtime).",
    ),
    (NO_COLOR, "Any non-empty value turns colour off (--color auto)."),
    (
        "MONITOR_SERVICE_RESULT, MONITOR_EXIT_CODE, MONITOR_EXIT_STATUS, MONITOR_UNIT, MONITOR_INVOCATION_ID",
        "Set by systemd for an OnFailure=/OnSuccess= unit: what notify send --from-systemd reports.",
    ),
];
