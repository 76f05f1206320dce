//! Runs the fuzz target's body over every seed in `fuzz/corpus/parse/`, so
//! the seeds (unclosed values, escapes, German names, non-UTF-8 bytes, CRLF,
//! ...) are checked by plain `cargo test` on a stable toolchain. With a
//! nightly toolchain and cargo-fuzz, `cargo fuzz run parse` in this crate
//! explores further from the same seeds.
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

use std::path::Path;

#[test]
fn every_seed_parses_and_renders() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            let run = std::panic::catch_unwind(|| {
                notify_template::fuzzing::parse_and_render(&data);
            });
            assert!(run.is_ok(), "seed {} breaks an invariant", path.display());
            seeds += 1;
        }
    }
    assert!(
        seeds >= 10,
        "expected at least 10 seeds in {}",
        dir.display()
    );
}
