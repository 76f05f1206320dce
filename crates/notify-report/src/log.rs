//! The cleaned output of a run, bounded: the last lines, for the log tail
//! and the log attachment.

/// The last `max_bytes` of a run's cleaned output (up to an eighth more:
/// the front is trimmed in batches), always starting at a line boundary,
/// whatever the output's size: amortized O(1) per byte, at most about twice
/// the limit in memory.
#[derive(Debug, Clone)]
pub struct Log {
    buf: Vec<u8>,
    /// Where the kept lines start in `buf` (a line boundary).
    start: usize,
    max_bytes: usize,
    /// Bytes of cleaned output dropped from the front.
    dropped: u64,
    /// The command line's secrets, masked in what is read out.
    redactor: crate::Redactor,
}

impl Log {
    /// A log keeping about `max_bytes` (at least 8 KiB, so that the longest
    /// line fits).
    pub fn new(max_bytes: usize) -> Log {
        let max_bytes = max_bytes.max(2 * crate::MAX_LINE);
        Log {
            buf: Vec::with_capacity(max_bytes.min(64 * 1024)),
            start: 0,
            max_bytes,
            dropped: 0,
            redactor: crate::Redactor::default(),
        }
    }

    /// This log, masking `redactor`'s secrets in its text, last lines and
    /// attachment.
    pub fn with_redactor(mut self, redactor: crate::Redactor) -> Log {
        self.redactor = redactor;
        self
    }

    /// The secrets this log masks.
    pub fn redactor(&self) -> &crate::Redactor {
        &self.redactor
    }

    /// Appends one line (without its line end).
    pub fn push_line(&mut self, line: &[u8]) {
        self.reserve(line.len() + 1);
        self.buf.extend_from_slice(line);
        self.buf.push(b'\n');
        self.trim();
    }

    /// Appends whole lines, each ending with `\n`, in one copy.
    pub fn push_lines(&mut self, lines: &[u8]) {
        self.reserve(lines.len());
        self.buf.extend_from_slice(lines);
        self.trim();
    }

    /// Makes room for `more` bytes: never more than about twice the limit
    /// and a line, reserved exactly once, instead of letting the buffer
    /// double past it.
    fn reserve(&mut self, more: usize) {
        if self.buf.len() + more > self.buf.capacity() {
            let most = self
                .max_bytes
                .saturating_mul(2)
                .saturating_add(self.slack())
                .saturating_add(more);
            self.buf.reserve_exact(most.saturating_sub(self.buf.len()));
        }
    }

    /// Drops whole lines from the front once the kept lines are more than
    /// the limit and its slack, down to the limit.
    fn trim(&mut self) {
        let kept = self.buf.len() - self.start;
        if kept > self.max_bytes.saturating_add(self.slack()) {
            let excess = kept - self.max_bytes;
            let from = self.start + excess;
            let next = memchr::memchr(b'\n', &self.buf[from..])
                .map(|p| from + p + 1)
                .unwrap_or(self.buf.len());
            self.dropped += (next - self.start) as u64;
            self.start = next;
            if self.start > self.max_bytes {
                self.buf.drain(..self.start);
                self.start = 0;
            }
        }
    }

    /// How far the kept lines may grow past `max_bytes` before the front is
    /// trimmed: trimming per line would search for a line end per line.
    fn slack(&self) -> usize {
        self.max_bytes / 8
    }

    /// The kept lines, each ending with `\n`, as the job printed them
    /// (secrets not masked: for the text, use [`Log::text`]).
    pub fn bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// How many bytes of earlier output are not kept.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Whether nothing was printed at all.
    pub fn is_empty(&self) -> bool {
        self.buf.len() == self.start && self.dropped == 0
    }

    /// The last `n` lines that are not blank, without their line ends
    /// (invalid UTF-8 replaced with U+FFFD), oldest first.
    pub fn last_lines(&self, n: usize) -> Vec<String> {
        let mut lines: Vec<String> = self
            .bytes()
            .split(|&b| b == b'\n')
            .rev()
            .map(|l| {
                let text = String::from_utf8_lossy(l);
                self.redactor.text(text.trim_end()).into_owned()
            })
            .filter(|l| !l.trim().is_empty())
            .take(n)
            .collect();
        lines.reverse();
        lines
    }

    /// The last `lines` lines as text (invalid UTF-8 replaced with U+FFFD),
    /// with a first line `[...]` when earlier output was left out, or an
    /// empty string when the run printed nothing but blank lines.
    pub fn text(&self, lines: usize) -> String {
        let text = String::from_utf8_lossy(self.bytes());
        let trimmed = text.trim_end_matches('\n');
        if trimmed.trim().is_empty() && self.dropped == 0 {
            return String::new();
        }
        let all: Vec<&str> = trimmed.split('\n').collect();
        let skip = all.len().saturating_sub(lines);
        let mut out = String::new();
        if skip > 0 || self.dropped > 0 {
            out.push_str("[...]\n");
        }
        for line in &all[skip..] {
            out.push_str(line);
            out.push('\n');
        }
        self.redactor.text(&out).into_owned()
    }

    /// The log as an attachment of at most `max_bytes` (besides a first
    /// line saying what was cut): the last whole lines that fit, cut at a
    /// line boundary, or inside a line only at a UTF-8 character boundary.
    pub fn attachment(&self, max_bytes: usize) -> Vec<u8> {
        let bytes = self.bytes();
        let mut from = bytes.len().saturating_sub(max_bytes);
        if from > 0 {
            match memchr::memchr(b'\n', &bytes[from - 1..]) {
                // The byte before `from` ends a line, or a later one does.
                Some(p) if from - 1 + p + 1 < bytes.len() => from = from - 1 + p + 1,
                _ => {
                    while from < bytes.len() && bytes[from] & 0xc0 == 0x80 {
                        from += 1;
                    }
                }
            }
        }
        let cut = self.dropped + from as u64;
        let mut out = Vec::with_capacity(bytes.len() - from + 48);
        if cut > 0 {
            out.extend_from_slice(format!("[… {cut} bytes of earlier output cut]\n").as_bytes());
        }
        out.extend_from_slice(&self.redactor.bytes(&bytes[from..]));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_whole_lines_within_bound() {
        let mut log = Log::new(0);
        let max = 2 * crate::MAX_LINE;
        for i in 0..100_000u32 {
            log.push_line(format!("line {i}").as_bytes());
            assert!(log.buf.len() <= 2 * max + max / 8 + 16);
            assert!(log.bytes().len() <= max + max / 8);
        }
        let text = String::from_utf8_lossy(log.bytes()).into_owned();
        assert!(text.starts_with("line "), "{}", &text[..20]);
        assert!(text.ends_with("line 99999\n"));
        assert_eq!(
            log.dropped() + log.bytes().len() as u64,
            (0..100_000u32)
                .map(|i| format!("line {i}\n").len() as u64)
                .sum::<u64>()
        );
    }

    #[test]
    fn text_takes_the_last_lines() {
        let mut log = Log::new(1 << 20);
        for l in ["one", "two", "thr\u{fffd}ee", "four"] {
            log.push_line(l.as_bytes());
        }
        assert_eq!(log.text(2), "[...]\nthr\u{fffd}ee\nfour\n");
        assert_eq!(log.text(10), "one\ntwo\nthr\u{fffd}ee\nfour\n");
        assert_eq!(Log::new(10).text(5), "");
        let mut blank = Log::new(10);
        blank.push_line(b"");
        assert_eq!(blank.text(5), "");
        assert!(!blank.is_empty());
    }

    #[test]
    fn attachment_is_cut_at_a_line_boundary() {
        let mut log = Log::new(1 << 20);
        for i in 0..10 {
            log.push_line(format!("line {i}").as_bytes());
        }
        // 10 lines of 7 bytes; 20 bytes hold lines 7..=9 (21 bytes) only in part.
        let a = log.attachment(20);
        assert_eq!(
            String::from_utf8(a).unwrap(),
            "[… 56 bytes of earlier output cut]\nline 8\nline 9\n"
        );
        assert_eq!(log.attachment(1000), log.bytes());
        // One long line: cut inside it, at a character boundary.
        let mut log = Log::new(1 << 20);
        log.push_line("é".repeat(100).as_bytes());
        let a = log.attachment(11);
        let text = String::from_utf8(a).expect("valid UTF-8");
        assert_eq!(text, "[… 190 bytes of earlier output cut]\nééééé\n");
    }
}
