//! Compiles arbitrary bytes as a template and renders it in every mode and
//! locale; the subject must stay free of control characters.
//!
//! `cargo +nightly fuzz run parse` (seeds in `corpus/parse/`, also run by
//! `tests/fuzz_corpus.rs` under plain `cargo test`).
//!
//! Without nightly, libFuzzer still works with coverage but no sanitizer;
//! from this directory:
//!
//! ```text
//! RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
//!   -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
//!   -Cllvm-args=-sanitizer-coverage-pc-table \
//!   -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing \
//!   -Cdebug-assertions -Coverflow-checks" \
//!   cargo build --release --bin parse --target x86_64-unknown-linux-gnu
//! mkdir -p /tmp/corpus && target/x86_64-unknown-linux-gnu/release/parse \
//!   /tmp/corpus corpus/parse -max_total_time=120
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    notify_template::fuzzing::parse_and_render(data);
});
