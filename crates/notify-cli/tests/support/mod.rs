//! A temporary home for one test: config file, data dir, and readers for the
//! Maildir the binary delivers into.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

pub struct TestEnv {
    dir: TempDir,
}

impl TestEnv {
    pub fn new() -> Self {
        TestEnv {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.path().join("config.toml")
    }

    /// Writes the config file the commands read.
    pub fn config(&self, text: &str) {
        std::fs::write(self.config_path(), text).expect("write config");
    }

    /// `notify` with a clean environment: HOME and XDG dirs in the temp dir,
    /// no NOTIFY_* variables, a fixed timezone, and `--data-dir DIR/data`.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    pub fn cmd_without_data_dir(&self) -> Command {
        Command::from_std(self.std_cmd_without_data_dir())
    }

    /// [`TestEnv::cmd`] as a std `Command`, for tests that set stdio.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = self.std_cmd_without_data_dir();
        cmd.arg("--data-dir").arg(self.path().join("data"));
        cmd
    }

    pub fn std_cmd_without_data_dir(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("notify"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("NOTIFY_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("xdg-config"))
            .env("XDG_DATA_HOME", self.path().join("xdg-data"))
            .env("TZ", "UTC")
            .env("USER", "tester")
            .env_remove("NO_COLOR");
        if self.config_path().exists() {
            cmd.env("NOTIFY_CONFIG", self.config_path());
        }
        cmd
    }

    pub fn describe(&self, out: &Output) -> String {
        format!(
            "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// The messages delivered to DIR/data/maildir/new, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        mails_in(&self.path().join("data/maildir"))
    }
}

/// A free 127.0.0.1 port nothing listens on: a mail server that is down.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

pub fn mails_in(maildir: &Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    // Delivery order: Maildir names start `SECONDS.MMICROS...`, the
    // microseconds not zero-padded, so they sort as numbers, not as text.
    let order = |p: &PathBuf| {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let (secs, rest) = name.split_once(".M").unwrap_or((&name, ""));
        let micros: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (
            secs.parse::<u64>().unwrap_or(0),
            micros.parse::<u64>().unwrap_or(0),
            name.clone(),
        )
    };
    files.sort_by_key(order);
    let tmp_left = std::fs::read_dir(maildir.join("tmp"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(tmp_left, 0, "nothing may be left in tmp/");
    files
        .into_iter()
        .map(|p| Mail {
            raw: String::from_utf8(std::fs::read(&p).unwrap()).expect("mail is 7-bit/UTF-8 text"),
        })
        .collect()
}

pub struct Mail {
    pub raw: String,
}

impl Mail {
    fn split(&self) -> (&str, &str) {
        let raw = self.raw.as_str();
        raw.split_once("\n\n")
            .or_else(|| raw.split_once("\r\n\r\n"))
            .unwrap_or((raw, ""))
    }

    /// A header's value as written (unfolded), or None.
    pub fn raw_header(&self, name: &str) -> Option<String> {
        let (head, _) = self.split();
        let mut value: Option<String> = None;
        let mut current: Option<String> = None;
        for line in head.lines() {
            let line = line.trim_end_matches('\r');
            if line.starts_with([' ', '\t']) {
                if let Some(c) = current.as_mut() {
                    c.push_str(line);
                }
                continue;
            }
            if let Some(c) = current.take() {
                if value.is_none() {
                    value = Some(c);
                }
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case(name) {
                    current = Some(v.trim_start().to_owned());
                }
            }
        }
        value.or(current)
    }

    /// A header's decoded value.
    pub fn header(&self, name: &str) -> Option<String> {
        self.raw_header(name).map(|v| decode_header(&v))
    }

    /// The text body, decoded from quoted-printable or base64; for multipart
    /// messages, every text part joined.
    pub fn body_text(&self) -> String {
        decode_parts(&self.raw)
    }
}

fn decode_parts(entity: &str) -> String {
    let (head, body) = entity
        .split_once("\n\n")
        .or_else(|| entity.split_once("\r\n\r\n"))
        .unwrap_or((entity, ""));
    let m = Mail {
        raw: format!("{head}\n\n"),
    };
    let ctype = m.raw_header("Content-Type").unwrap_or_default();
    if let Some(b) = ctype.split("boundary=").nth(1) {
        let boundary = b.trim_matches('"').split([';', '"']).next().unwrap_or("");
        let delim = format!("--{boundary}");
        return body
            .split(delim.as_str())
            .skip(1)
            .filter(|p| !p.starts_with("--"))
            .map(|p| decode_parts(p.trim_start_matches(['\r', '\n'])))
            .collect::<Vec<_>>()
            .join("\n");
    }
    let cte = m
        .raw_header("Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let bytes = match cte.as_str() {
        "base64" => base64(&body.replace(['\r', '\n'], "")),
        "quoted-printable" => quoted_printable(body, false),
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
}

/// Decodes RFC 2047 encoded-words (B and Q) in a header value.
pub fn decode_header(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let before = &rest[..start];
        let after = &rest[start + 2..];
        let parts: Vec<&str> = after.splitn(3, '?').collect();
        if parts.len() < 3 {
            break;
        }
        let Some(end) = parts[2].find("?=") else {
            break;
        };
        let (charset_ok, enc, text) = (
            parts[0].eq_ignore_ascii_case("utf-8") || parts[0].eq_ignore_ascii_case("us-ascii"),
            parts[1],
            &parts[2][..end],
        );
        if !(last_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let bytes = match enc {
            "B" | "b" => base64(text),
            _ => quoted_printable(text, true),
        };
        assert!(charset_ok, "unexpected charset in {value}");
        out.push_str(&String::from_utf8_lossy(&bytes));
        let consumed = start + 2 + parts[0].len() + 1 + parts[1].len() + 1 + end + 2;
        rest = &rest[consumed..];
        last_was_word = true;
    }
    out.push_str(rest);
    out
}

fn base64(text: &str) -> Vec<u8> {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let Some(v) = ALPHA.iter().position(|&a| a == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn quoted_printable(text: &str, underscore_is_space: bool) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'=' if i + 1 < b.len() && (b[i + 1] == b'\n' || b[i + 1] == b'\r') => {
                i += 1;
                while i < b.len() && (b[i] == b'\r' || b[i] == b'\n') {
                    i += 1;
                    if b[i - 1] == b'\n' {
                        break;
                    }
                }
                continue;
            }
            b'=' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'='),
                }
            }
            b'_' if underscore_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

impl TestEnv {
    /// Runs `notify ARGS` (see [`TestEnv::cmd`]) and returns its output.
    pub fn notify(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run notify")
    }
}
