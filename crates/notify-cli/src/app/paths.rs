//! Where notify keeps things: the config file and the data directory.

use std::path::PathBuf;

use crate::app::env_vars;
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
