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
