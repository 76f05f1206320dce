//! Splitting output into clean lines: carriage-return progress collapsed to
//! each line's final state, ANSI escape sequences and other control
//! characters removed, very long lines cut with a marker. Bytes stay bytes:
//! output that is not UTF-8 passes through unchanged.

use crate::Stream;

/// The most bytes of one line that are kept; the rest of a longer line is
/// replaced by a marker ` [… N bytes cut]`.
pub const MAX_LINE: usize = 4096;

/// Where the lines go: the stream, the line's bytes, and its text when it
/// is known to be UTF-8 already.
pub(crate) type Emit<'a> = dyn FnMut(Stream, &[u8], Option<&str>) + 'a;

/// One partial line per stream.
#[derive(Debug, Default)]
pub(crate) struct Splitter {
    stdout: Line,
    stderr: Line,
}

impl Splitter {
    /// Splits `chunk` into lines, calling `emit` with each complete one
    /// (and its text, when it is known to be UTF-8 already).
    pub(crate) fn feed(&mut self, stream: Stream, chunk: &[u8], emit: &mut Emit<'_>) {
        let line = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        line.feed(chunk, &mut |l, t| emit(stream, l, t));
    }

    /// Emits what is left of each stream's last line.
    pub(crate) fn finish(&mut self, emit: &mut Emit<'_>) {
        for (stream, line) in [
            (Stream::Stdout, &mut self.stdout),
            (Stream::Stderr, &mut self.stderr),
        ] {
            if line.started {
                line.end(&mut |l, t| emit(stream, l, t));
            }
        }
    }
}

/// How many bytes at the start of `bytes` are plain text (no control
/// character, no DEL), 32 and then 8 at a time where it can.
fn text_run(bytes: &[u8]) -> usize {
    let mut i = 0;
    while let Some(block) = bytes.get(i..i + 32) {
        let special = block
            .chunks_exact(8)
            .fold(0, |acc, word| acc | special_bytes(word));
        if special != 0 {
            break;
        }
        i += 32;
    }
    while let Some(word) = bytes.get(i..i + 8) {
        if special_bytes(word) != 0 {
            break;
        }
        i += 8;
    }
    i + bytes[i..]
        .iter()
        .position(|&b| b < 0x20 || b == 0x7f)
        .unwrap_or(bytes.len() - i)
}

/// Not zero when one of the 8 bytes of `word` is a control character or
/// DEL: a byte below 0x20, or equal to 0x7f, sets its high bit in one of
/// the two masks (the classic "has a byte less than n" and "has a zero
/// byte" tricks; bytes at or above 0x80 are excluded from both).
fn special_bytes(word: &[u8]) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut eight = [0u8; 8];
    eight.copy_from_slice(&word[..8.min(word.len())]);
    let w = u64::from_le_bytes(eight);
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    let x = w ^ (ONES * 0x7f);
    let del = x.wrapping_sub(ONES) & !x & HIGHS;
    below_space | del
}

/// How many bytes at the start of `bytes` are control characters that are
/// only dropped; NUL (binary output, `/dev/zero`) eight at a time.
fn dropped_run(bytes: &[u8]) -> usize {
    let mut i = 0;
    while bytes.get(i..i + 8).is_some_and(|w| w == [0u8; 8]) {
        i += 8;
    }
    i + bytes[i..]
        .iter()
        .position(|&b| !is_dropped(b))
        .unwrap_or(bytes.len() - i)
}

/// A control character that only goes away: not a line end, carriage
/// return, tab, escape or backspace.
fn is_dropped(b: u8) -> bool {
    (b < 0x20 || b == 0x7f) && !matches!(b, b'\n' | b'\r' | b'\t' | 0x1b | 0x08)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Esc {
    /// Plain text.
    #[default]
    None,
    /// After ESC.
    Start,
    /// ESC followed by intermediate bytes (`ESC ( B`).
    Intermediate,
    /// A control sequence: `ESC [` parameters, final byte.
    Csi,
    /// A string (OSC, DCS, SOS, PM, APC) up to BEL or `ESC \`.
    Str,
    /// ESC inside a string.
    StrTerminator,
}

#[derive(Debug, Default)]
struct Line {
    buf: Vec<u8>,
    /// Bytes of this line beyond [`MAX_LINE`], dropped.
    cut: u64,
    /// A carriage return was seen: unless a line feed follows, the next
    /// text overwrites the line.
    cr: bool,
    esc: Esc,
    /// The parameter bytes of the control sequence being read (the first
    /// few: enough to tell `ESC[2K` from `ESC[K`).
    params: [u8; 4],
    params_len: usize,
    /// Anything arrived since the last line end.
    started: bool,
}

impl Line {
    fn feed(&mut self, chunk: &[u8], emit: &mut dyn FnMut(&[u8], Option<&str>)) {
        // The chunk's UTF-8 is checked once, not line by line.
        let utf8 = match std::str::from_utf8(chunk) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&chunk[..e.valid_up_to()]).unwrap_or_default(),
        };
        let mut i = 0;
        while i < chunk.len() {
            if self.esc == Esc::None {
                let rest = &chunk[i..];
                // Plain text runs up to the next control character, which is
                // mostly the line end.
                let run = text_run(rest);
                if !self.started && run <= MAX_LINE && rest.get(run) == Some(&b'\n') {
                    // A whole clean line inside the chunk goes out as it
                    // is, without a copy: the common case.
                    emit(&rest[..run], utf8.get(i..i + run));
                    i += run + 1;
                    continue;
                }
                if run > 0 {
                    self.text(&rest[..run]);
                    i += run;
                    continue;
                }
                // Control characters that are only dropped (NUL, BEL, ...),
                // a run at a time: binary output must not crawl.
                let dropped = dropped_run(rest);
                if dropped > 0 {
                    self.started = true;
                    i += dropped;
                    continue;
                }
            }
            self.control(chunk[i], emit);
            i += 1;
        }
    }

    /// Plain text (no control bytes).
    fn text(&mut self, run: &[u8]) {
        self.started = true;
        if self.cr {
            // A carriage return followed by text: the line starts over, as
            // a progress display redraws it.
            self.cr = false;
            self.buf.clear();
            self.cut = 0;
        }
        let room = MAX_LINE.saturating_sub(self.buf.len());
        let take = room.min(run.len());
        self.buf.extend_from_slice(&run[..take]);
        self.cut += (run.len() - take) as u64;
    }

    fn control(&mut self, b: u8, emit: &mut dyn FnMut(&[u8], Option<&str>)) {
        self.started = true;
        if b == b'\n' {
            // A line end ends any unfinished escape sequence too.
            self.esc = Esc::None;
            self.end(emit);
            return;
        }
        match self.esc {
            Esc::None => match b {
                0x1b => self.esc = Esc::Start,
                b'\r' => self.cr = true,
                b'\t' => self.text(b"\t"),
                0x08 => {
                    // Backspace: the cursor steps back over one character.
                    while let Some(last) = self.buf.pop() {
                        if last & 0xc0 != 0x80 {
                            break;
                        }
                    }
                }
                _ => {} // other control characters are dropped
            },
            Esc::Start => {
                self.params_len = 0;
                self.esc = match b {
                    b'[' => Esc::Csi,
                    b']' | b'P' | b'X' | b'^' | b'_' => Esc::Str,
                    0x20..=0x2f => Esc::Intermediate,
                    _ => Esc::None,
                }
            }
            Esc::Intermediate => {
                if !(0x20..=0x2f).contains(&b) {
                    self.esc = Esc::None;
                }
            }
            Esc::Csi => {
                if (0x40..=0x7e).contains(&b) {
                    self.esc = Esc::None;
                    self.sequence_done(b);
                } else if self.params_len < self.params.len() {
                    self.params[self.params_len] = b;
                    self.params_len += 1;
                }
            }
            Esc::Str => match b {
                0x07 => self.esc = Esc::None,
                0x1b => self.esc = Esc::StrTerminator,
                _ => {}
            },
            Esc::StrTerminator => self.esc = Esc::None,
        }
    }

    /// A control sequence ended with `last`. Erasing the whole line
    /// (`ESC[2K`) or moving the cursor up (`ESC[nA`, a display redrawing a
    /// block of lines, as `rclone -P` does) starts the line over.
    fn sequence_done(&mut self, last: u8) {
        let params = &self.params[..self.params_len];
        if (last == b'K' && params == b"2") || last == b'A' {
            self.buf.clear();
            self.cut = 0;
            self.cr = false;
        }
    }

    /// Emits the line and starts the next.
    fn end(&mut self, emit: &mut dyn FnMut(&[u8], Option<&str>)) {
        if self.cut > 0 {
            // Do not leave half a UTF-8 character before the marker.
            let valid_up_to = match std::str::from_utf8(&self.buf) {
                Ok(_) => self.buf.len(),
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                Err(_) => self.buf.len(),
            };
            self.cut += (self.buf.len() - valid_up_to) as u64;
            self.buf.truncate(valid_up_to);
            self.buf
                .extend_from_slice(format!(" [… {} bytes cut]", self.cut).as_bytes());
        }
        emit(&self.buf, None);
        self.buf.clear();
        self.cut = 0;
        self.cr = false;
        self.esc = Esc::None;
        self.started = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        for chunk in chunks {
            s.feed(Stream::Stdout, chunk, &mut |_, l, text| {
                if let Some(text) = text {
                    assert_eq!(text.as_bytes(), l, "the text given is the line's");
                }
                out.push(String::from_utf8_lossy(l).into_owned())
            });
        }
        s.finish(&mut |_, l, _| out.push(String::from_utf8_lossy(l).into_owned()));
        out
    }

    #[track_caller]
    fn check(input: &str, expect: &[&str]) {
        assert_eq!(lines(&[input.as_bytes()]), expect, "{input:?}");
        // The same, one byte at a time.
        let bytes: Vec<&[u8]> = input.as_bytes().chunks(1).collect();
        assert_eq!(lines(&bytes), expect, "{input:?} byte by byte");
    }

    #[test]
    fn cleaning() {
        check("one\ntwo\n", &["one", "two"]);
        check("one\ntwo", &["one", "two"]);
        check("crlf\r\nline\r\n", &["crlf", "line"]);
        check("  0%\r 50%\r100% done\n", &["100% done"]);
        check("  0%\r 50%\r100% done\r\nnext\n", &["100% done", "next"]);
        check("trailing cr\r", &["trailing cr"]);
        check("\x1b[1;31merror:\x1b[0m bad\n", &["error: bad"]);
        check("\x1b]0;title\x07text\n", &["text"]);
        check("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\n", &["link"]);
        check("\x1b(Bplain\x1b7\n", &["plain"]);
        check("tab\there\n", &["tab\there"]);
        check("bell\x07 nul\0 del\x7f\n", &["bell nul del"]);
        check("ab\x08c\n", &["ac"]);
        check("\n\n", &["", ""]);
        check("", &[]);
        check("\x1b[2K\r  3.1 MiB / 3.1 MiB\n", &["  3.1 MiB / 3.1 MiB"]);
        // A block redrawn in place: its unfinished last line is erased.
        check(
            "Transferred: 1 / 2\nElapsed: 1s\x1b[2K\x1b[1A\x1b[2KTransferred: 2 / 2\nElapsed: 2s\n",
            &["Transferred: 1 / 2", "Transferred: 2 / 2", "Elapsed: 2s"],
        );
        check("keep \x1b[Kthis\n", &["keep this"]);
        check("caf\u{e9}\n", &["caf\u{e9}"]);
    }

    #[test]
    fn text_runs_stop_at_every_control_character() {
        for len in 0..80 {
            for at in 0..len {
                for special in (0u8..0x20).chain([0x7f]) {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = special;
                    assert_eq!(text_run(&bytes), at, "{special:#x} at {at} of {len}");
                }
                let mut high = vec![b'a'; len];
                high[at] = 0x80 + at as u8;
                assert_eq!(text_run(&high), len);
            }
            assert_eq!(text_run(&vec![0xffu8; len]), len);
            assert_eq!(text_run(&vec![b' '; len]), len);
        }
        assert_eq!(lines(&[b"a\0\0\0b\x07\x01c\n"]), ["abc"]);
        assert_eq!(lines(&[&[0u8; 100_000], b"\n"]), [""]);
    }

    #[test]
    fn long_lines_are_cut_with_a_marker() {
        let long = "x".repeat(MAX_LINE + 100) + "\n";
        let out = lines(&[long.as_bytes()]);
        assert_eq!(out.len(), 1);
        assert!(out[0].starts_with(&"x".repeat(MAX_LINE)));
        assert!(
            out[0].ends_with(" [… 100 bytes cut]"),
            "{}",
            &out[0][MAX_LINE..]
        );
        // Not inside a UTF-8 character.
        let long = "é".repeat(MAX_LINE) + "\n";
        let out = lines(&[long.as_bytes()]);
        assert!(
            out[0].ends_with(&format!(" [… {} bytes cut]", MAX_LINE)),
            "{}",
            &out[0][MAX_LINE - 4..]
        );
        // Progress redraws do not count as a long line.
        let progress = (0..5000).map(|i| format!("\r{i:>6}")).collect::<String>() + "\n";
        assert_eq!(lines(&[progress.as_bytes()]), ["  4999"]);
    }

    #[test]
    fn not_utf8_passes_through() {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        s.feed(Stream::Stderr, b"latin1 \xe9t\xe9\n", &mut |st, l, text| {
            assert_eq!(text, None);
            out.push((st, l.to_vec()))
        });
        assert_eq!(out, [(Stream::Stderr, b"latin1 \xe9t\xe9".to_vec())]);
    }

    #[test]
    fn streams_keep_their_own_partial_lines() {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        let mut emit = |st: Stream, l: &[u8], _: Option<&str>| {
            out.push((st, String::from_utf8_lossy(l).into_owned()))
        };
        s.feed(Stream::Stdout, b"out-", &mut emit);
        s.feed(Stream::Stderr, b"err-", &mut emit);
        s.feed(Stream::Stdout, b"line\n", &mut emit);
        s.feed(Stream::Stderr, b"line", &mut emit);
        s.finish(&mut emit);
        assert_eq!(
            out,
            [
                (Stream::Stdout, "out-line".to_owned()),
                (Stream::Stderr, "err-line".to_owned())
            ]
        );
    }
}
