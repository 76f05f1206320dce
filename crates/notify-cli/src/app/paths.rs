//! Where notify keeps things: the config file and the data directory.

use std::path::PathBuf;

use crate::app::env_vars;

/// The local Maildir in the data directory: notifications without an
/// account, and copies of those a server refused.
pub const MAILDIR: &str = "maildir";

/// When the scheduled digest last went out, in the data directory.
pub const DIGEST_STAMP: &str = "digest.stamp";
use crate::app::error::CliError;

/// The config file to read, and whether the user named it (then it must
/// exist): `--config`, else `$NOTIFY_CONFIG`, else the platform config dir's
/// `notify/config.toml`.
pub fn config_file(flag: Option<PathBuf>) -> (PathBuf, bool) {
    if let Some(path) = flag {
        return (path, true);
    }
    if let Some(path) = std::env::var_os(env_vars::NOTIFY_CONFIG).filter(|v| !v.is_empty()) {
        return (PathBuf::from(path), true);
    }
    let base = dirs::config_dir().unwrap_or_else(|| PathBuf::from("."));
    (base.join("notify").join("config.toml"), false)
}

/// The data directory: `--data-dir`, else `$NOTIFY_DATA_DIR`, else the
/// platform data dir's `notify/`.
pub fn data_dir(flag: Option<PathBuf>) -> Result<PathBuf, CliError> {
    if let Some(path) = flag {
        return Ok(path);
    }
    if let Some(path) = std::env::var_os(env_vars::NOTIFY_DATA_DIR).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    dirs::data_dir().map(|d| d.join("notify")).ok_or_else(|| {
        CliError::config("cannot tell where the data directory is (no home directory?)")
            .hint("set NOTIFY_DATA_DIR or pass --data-dir DIR")
    })
}

/// The default config file as the manual writes it (what [`config_file`]
/// finds with neither flag nor variable: the `dirs` crate's config dir).
pub fn config_file_default() -> String {
    if cfg!(target_os = "macos") {
        "~/Library/Application Support/notify/config.toml".to_owned()
    } else if cfg!(windows) {
        "%APPDATA%\\notify\\config.toml".to_owned()
    } else {
        "${XDG_CONFIG_HOME:-~/.config}/notify/config.toml".to_owned()
    }
}

/// The default data directory as the manual writes it (what [`data_dir`]
/// finds with neither flag nor variable).
pub fn data_dir_default() -> String {
    if cfg!(target_os = "macos") {
        "~/Library/Application Support/notify".to_owned()
    } else if cfg!(windows) {
        "%APPDATA%\\notify".to_owned()
    } else {
        "${XDG_DATA_HOME:-~/.local/share}/notify".to_owned()
    }
}
