//! Whether the process of a recorded run is still there: the same pid,
//! started at the same time (a pid reused by another process has another
//! start time), in the same boot.

use notify_core::Running;

/// The start time (clock ticks since boot) and the boot id of process
/// `pid`, as far as this system tells them.
pub fn identity(pid: u32) -> (Option<u64>, Option<String>) {
    (start_time(pid), boot_id())
}

/// Whether the process that recorded `run` is still running. Where the
/// system cannot tell, it is taken to be (a check never reports a run that
/// may be going on).
pub fn is_running(run: &Running) -> bool {
    if let (Some(then), Some(now)) = (run.boot_id.as_deref(), boot_id()) {
        if then != now {
            return false;
        }
    }
    match alive(run.pid) {
        Some(false) => false,
        Some(true) => run.same_process(run.pid, start_time(run.pid), boot_id().as_deref()),
        None => true,
    }
}

#[cfg(target_os = "linux")]
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces or
    // parentheses itself: count the fields after its last `)`. The start
    // time is field 22, the 20th after it.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(not(target_os = "linux"))]
fn start_time(_pid: u32) -> Option<u64> {
    None
}

#[cfg(target_os = "linux")]
fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(id.trim().to_owned()).filter(|id| !id.is_empty())
}

#[cfg(not(target_os = "linux"))]
fn boot_id() -> Option<String> {
    None
}

/// Whether a process `pid` exists; `None` when that cannot be told.
#[cfg(unix)]
#[allow(
    unsafe_code,
    reason = "kill(2) with signal 0 only asks whether the process exists"
)]
fn alive(pid: u32) -> Option<bool> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    if pid <= 0 {
        return Some(false);
    }
    // SAFETY: signal 0 sends nothing; kill only checks the pid.
    let r = unsafe { libc::kill(pid, 0) };
    if r == 0 {
        return Some(true);
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::ESRCH) => Some(false),
        // It exists, and belongs to someone else.
        Some(libc::EPERM) => Some(true),
        _ => None,
    }
}

#[cfg(not(unix))]
fn alive(_pid: u32) -> Option<bool> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn this_process_is_running_and_a_reused_pid_is_not() {
        let pid = std::process::id();
        let (start, boot) = identity(pid);
        let me =
            Running::new("1", pid, datetime!(2026-12-05 03:00 UTC)).identity(start, boot.clone());
        assert!(is_running(&me));
        if cfg!(target_os = "linux") {
            assert!(start.is_some() && boot.is_some());
            // The same pid, but a process that started at another time.
            let reused = Running::new("1", pid, datetime!(2026-12-05 03:00 UTC))
                .identity(start.map(|s| s + 1), boot.clone());
            assert!(!is_running(&reused));
            // Another boot.
            let before = Running::new("1", pid, datetime!(2026-12-05 03:00 UTC))
                .identity(start, Some("another-boot".into()));
            assert!(!is_running(&before));
        }
    }

    #[test]
    fn a_process_that_ended_is_not_running() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let (start, boot) = identity(pid);
        child.wait().unwrap();
        let run = Running::new("1", pid, datetime!(2026-12-05 03:00 UTC)).identity(start, boot);
        assert!(!is_running(&run));
    }
}
