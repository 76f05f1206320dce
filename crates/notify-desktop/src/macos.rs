//! Notification Center through `osascript` (macOS).
//!
//! Plain `std::process`, so it builds (and is type-checked) everywhere; it
//! is only called on macOS.

use std::process::Command;

use notify_core::{ErrorKind, TransportError};

use crate::content::{applescript_string, Content};

/// Shows `content` with `display notification`.
pub(crate) fn notify(content: &Content) -> Result<(), TransportError> {
    let script = format!(
        "display notification {} with title {}",
        applescript_string(&content.body),
        applescript_string(&content.summary)
    );
    let output = Command::new("osascript")
        .arg("-e")
        .arg(script)
        .output()
        .map_err(|e| {
            TransportError::new(ErrorKind::Permanent, format!("cannot run osascript: {e}"))
        })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reason = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    Err(TransportError::new(
        ErrorKind::Permanent,
        format!("osascript failed ({}): {reason}", output.status),
    ))
}
