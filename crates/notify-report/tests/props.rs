//! Properties of every reader: no panic and bounded memory, whatever the
//! bytes. A counting allocator measures the memory the report holds.
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]
#![allow(
    unsafe_code,
    reason = "tests send signals with kill(2) and count allocations"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use notify_core::{Outcome, TaskResult};
use notify_report::{Invocation, Report, Stream, ToolChoice, MAX_LINE, MAX_LINES};
use proptest::prelude::*;

/// Counts the bytes allocated and not yet freed, and the peak since reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// One measurement at a time: the counters are process-wide.
static MEASURE: Mutex<()> = Mutex::new(());

const COMMANDS: [&[&str]; 6] = [
    &["restic", "-r", "/r", "backup", "/home"],
    &["restic", "--json", "backup", "/home"],
    &["borg", "create", "--json", "--log-json", "/r::a", "/home"],
    &["rsync", "-a", "--stats", "/src/", "/dst/"],
    &["rclone", "sync", "--use-json-log", "-v", "a:", "b:"],
    &["pg_dump", "db"],
];

/// Fragments that look like the tools' output, so that the readers' own
/// paths are exercised, not only "unknown line".
const FRAGMENTS: [&str; 16] = [
    "{\"message_type\":\"summary\",\"files_new\":",
    "{\"message_type\":\"error\",\"error\":{\"message\":\"x\"},\"item\":\"/a\"}",
    "processed 22 files, 3.098 MiB in 0:00",
    "Added to the repository: 3.107 MiB (3.110 MiB stored)",
    "Fatal: unable to open config file",
    "error: open /x: permission denied",
    "{\"type\": \"log_message\", \"levelname\": \"WARNING\", \"message\": \"",
    "{\n  \"archive\": {\n    \"stats\": {\"nfiles\": 1",
    "This archive:                3.25 MB              3.25 MB",
    "Number of regular files transferred: 1,2",
    "Total transferred file size: 99999999999999999999999 bytes",
    "rsync error: some files/attrs were not transferred (code 23)",
    "{\"level\":\"error\",\"msg\":\"",
    "Transferred:   \t    1.234 MiB / 1.234 MiB, 100%",
    "\r\x1b[2K 45% \x1b]0;t\x07",
    "\n",
];

fn output() -> impl Strategy<Value = Vec<(bool, Vec<u8>)>> {
    let piece = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        prop::sample::select(FRAGMENTS.to_vec()).prop_map(|f| f.as_bytes().to_vec()),
        (0u64..u64::MAX).prop_map(|n| n.to_string().into_bytes()),
    ];
    prop::collection::vec((any::<bool>(), piece), 0..200)
}

/// Feeds `chunks` through a report for `argv` and checks its bounds.
fn feed(argv: &[&str], chunks: &[(bool, Vec<u8>)], outcome: Outcome) -> TaskResult {
    let invocation = Invocation::parse(argv, ToolChoice::Auto);
    let mut report = Report::new(&invocation, &|_| Some("/env-repo".to_owned()), 64 * 1024);
    for (err, chunk) in chunks {
        let stream = if *err { Stream::Stderr } else { Stream::Stdout };
        report.feed(stream, chunk);
    }
    let mut result = TaskResult::new("t", outcome);
    let log = report.finish(&mut result);
    assert!(log.bytes().len() <= 64 * 1024 + 8 * 1024);
    assert!(result.errors.len() <= MAX_LINES + 10);
    assert!(result.warnings.len() <= MAX_LINES + 10);
    for line in result.errors.iter().chain(&result.warnings) {
        assert!(
            line.len() <= MAX_LINE + 64,
            "a kept line of {} bytes",
            line.len()
        );
    }
    assert!(result.error_count >= result.errors.len() as u64);
    assert!(result.warning_count >= result.warnings.len() as u64);
    if outcome == Outcome::Failure {
        assert!(result.error_count >= 1, "a failure without errors");
    }
    result
}

/// The log holds the cleaned lines in order, however the output is cut
/// into chunks (lines copied a block at a time or one by one alike).
#[test]
fn the_log_is_the_same_for_any_chunking() {
    let output: &[u8] = b"plain one\nplain two\n\x1b[1mbold\x1b[0m\n 10%\r100%\nlast plain\nno end";
    let want = "plain one\nplain two\nbold\n100%\nlast plain\nno end\n";
    for size in 1..=output.len() {
        let invocation = Invocation::parse(&["restic", "backup"], ToolChoice::Auto);
        let mut report = Report::new(&invocation, &|_| None, 1 << 16);
        for chunk in output.chunks(size) {
            report.feed(Stream::Stdout, chunk);
        }
        let mut result = TaskResult::new("t", Outcome::Success);
        let log = report.finish(&mut result);
        assert_eq!(
            String::from_utf8_lossy(log.bytes()),
            want,
            "chunks of {size}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn readers_never_panic_and_stay_bounded(chunks in output(), which in 0usize..COMMANDS.len(), fail in any::<bool>()) {
        let outcome = if fail { Outcome::Failure } else { Outcome::Success };
        feed(COMMANDS[which], &chunks, outcome);
    }
}

/// Megabytes of output, in many shapes, never make a report hold more than
/// its log (64 KiB, up to twice that before it trims), a few lines, and
/// borg's `--json` document (at most 512 KiB): the peak of live memory stays
/// under 1.5 MiB while 4 MiB (2 MiB of each stream) pass through.
#[test]
fn memory_stays_bounded_whatever_the_output() {
    let _guard = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    let mut shapes: Vec<(&str, Vec<u8>)> = vec![
        ("one endless line", vec![b'x'; 8 << 20]),
        ("endless progress", b"\r 12% ".repeat(1 << 20)),
        (
            "endless escape",
            [b"\x1b]0;".as_slice(), &vec![b'y'; 8 << 20]].concat(),
        ),
        (
            "an open JSON document",
            [b"{\n".as_slice(), &b"  \"k\": 1,\n".repeat(1 << 20)].concat(),
        ),
    ];
    for fragment in FRAGMENTS {
        let mut line = fragment.as_bytes().to_vec();
        line.push(b'\n');
        shapes.push((fragment, line.repeat((2 << 20) / line.len())));
    }
    for argv in COMMANDS {
        for (what, bytes) in &shapes {
            let invocation = Invocation::parse(argv, ToolChoice::Auto);
            let base = LIVE.load(Ordering::Relaxed);
            PEAK.store(base, Ordering::Relaxed);
            let mut report = Report::new(&invocation, &|_| None, 64 * 1024);
            for chunk in bytes.chunks(16 * 1024) {
                report.feed(Stream::Stderr, chunk);
                report.feed(Stream::Stdout, chunk);
            }
            let mut result = TaskResult::new("t", Outcome::Failure);
            let log = report.finish(&mut result);
            let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
            assert!(
                peak < 3 << 19,
                "{argv:?} on {what:?}: {peak} bytes at the peak"
            );
            drop((log, result));
        }
    }
}
