//! A bounded record of the last output of a job.

/// Keeps the last `max_bytes` of a stream, whatever its size, in amortized
/// O(1) per byte: the buffer may grow to twice the limit before its front is
/// dropped.
#[derive(Debug)]
pub struct Tail {
    buf: Vec<u8>,
    max_bytes: usize,
    total: u64,
}

impl Tail {
    /// A tail keeping at most `max_bytes` (at least 1).
    pub fn new(max_bytes: usize) -> Self {
        let max_bytes = max_bytes.max(1);
        Tail {
            buf: Vec::with_capacity(max_bytes.min(64 * 1024)),
            max_bytes,
            total: 0,
        }
    }

    /// Appends a chunk of output.
    pub fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        if chunk.len() >= self.max_bytes {
            self.buf.clear();
            self.buf
                .extend_from_slice(&chunk[chunk.len() - self.max_bytes..]);
            return;
        }
        self.buf.extend_from_slice(chunk);
        if self.buf.len() > 2 * self.max_bytes {
            let cut = self.buf.len() - self.max_bytes;
            self.buf.drain(..cut);
        }
    }

    /// The kept bytes (the last `max_bytes` of everything pushed).
    pub fn bytes(&self) -> &[u8] {
        let start = self.buf.len().saturating_sub(self.max_bytes);
        &self.buf[start..]
    }

    /// The last `lines` lines as text: invalid UTF-8 is replaced with U+FFFD,
    /// a line cut by the byte limit is dropped, and a note says when output
    /// was left out.
    pub fn text(&self, lines: usize) -> String {
        let bytes = self.bytes();
        let cut = self.total > bytes.len() as u64;
        let mut text = String::from_utf8_lossy(bytes).into_owned();
        if cut {
            // The first line is probably partial.
            if let Some(nl) = text.find('\n') {
                text.drain(..=nl);
            }
        }
        let trimmed = text.trim_end_matches(['\n', '\r']);
        let all: Vec<&str> = trimmed.split('\n').collect();
        let skip = all.len().saturating_sub(lines);
        let mut out = String::new();
        if skip > 0 || cut {
            out.push_str("[...]\n");
        }
        for line in &all[skip..] {
            out.push_str(line.trim_end_matches('\r'));
            out.push('\n');
        }
        if trimmed.is_empty() && !cut {
            return String::new();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_bytes_within_bound() {
        let mut t = Tail::new(10);
        for i in 0..1000u32 {
            t.push(format!("{i}\n").as_bytes());
            assert!(t.buf.len() <= 20 + 4);
        }
        assert_eq!(t.bytes(), b"7\n998\n999\n");
        assert_eq!(t.total, 3890);
        let mut t = Tail::new(4);
        t.push(b"abcdefgh");
        assert_eq!(t.bytes(), b"efgh");
    }

    #[test]
    fn text_takes_last_lines_lossily() {
        let mut t = Tail::new(1024);
        t.push(b"one\ntwo\r\nthr\xffee\nfour\n");
        assert_eq!(t.text(2), "[...]\nthr\u{fffd}ee\nfour\n");
        assert_eq!(t.text(10), "one\ntwo\nthr\u{fffd}ee\nfour\n");
        let t = Tail::new(10);
        assert_eq!(t.text(5), "");
        let mut t = Tail::new(6);
        t.push(b"aaaa\nbb\ncc\n");
        assert_eq!(t.text(5), "[...]\ncc\n");
    }
}
