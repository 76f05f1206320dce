//! Keeping secrets out of the mail: passwords in a command line
//! (`env RESTIC_PASSWORD=…`, `--password …`, `https://user:PASS@host`,
//! rclone's `secret_access_key=…`) are masked there, and wherever they
//! appear again in what the job printed.

use std::borrow::Cow;

/// What a masked secret is shown as.
pub const MASK: &str = "***";

/// The secrets of a command line, to mask in any text from the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    secrets: Vec<String>,
}

/// Secrets shorter than this are masked where they stand in the command
/// line, but not looked for in other text (a password `ab` would mask every
/// `ab` of the log).
const MIN_SECRET: usize = 4;

impl Redactor {
    /// Masks the secrets of `argv`: returns the words with each secret
    /// replaced by [`MASK`], and a redactor that masks the same secrets in
    /// other text.
    pub fn for_command<S: AsRef<str>>(argv: &[S]) -> (Vec<String>, Redactor) {
        let mut redactor = Redactor::default();
        let mut out = Vec::with_capacity(argv.len());
        let mut next_is_secret = false;
        for word in argv.iter().map(AsRef::as_ref) {
            if next_is_secret {
                next_is_secret = false;
                redactor.learn(word);
                out.push(MASK.to_owned());
                continue;
            }
            // `--password SECRET`: the option alone, the value next.
            if let Some(name) = word.strip_prefix("--").filter(|n| !n.contains('=')) {
                if is_secret_name(name) {
                    next_is_secret = true;
                }
            }
            let (masked, found) = mask_word(word);
            for secret in found {
                redactor.learn(&secret);
            }
            out.push(masked.into_owned());
        }
        (out, redactor)
    }

    fn learn(&mut self, secret: &str) {
        // A path is masked where it stands, but not looked for elsewhere:
        // it would mask every mention of that file.
        let looked_for = secret.len() >= MIN_SECRET && !secret.starts_with('/');
        if looked_for && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
        }
    }

    /// Whether there is no secret to look for.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every known secret, every URL password and every value of
    /// a secret-looking `name=value` replaced by [`MASK`].
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), MASK));
            }
        }
        match mask_word(&out) {
            (Cow::Borrowed(_), _) => out,
            (Cow::Owned(masked), _) => Cow::Owned(masked),
        }
    }

    /// [`Redactor::text`] of bytes that may not be UTF-8: only the known
    /// secrets are masked.
    pub fn bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let mut out = Cow::Borrowed(bytes);
        for secret in &self.secrets {
            let needle = secret.as_bytes();
            if memchr::memmem::find(&out, needle).is_none() {
                continue;
            }
            let mut masked = Vec::with_capacity(out.len());
            let mut rest: &[u8] = &out;
            while let Some(at) = memchr::memmem::find(rest, needle) {
                masked.extend_from_slice(&rest[..at]);
                masked.extend_from_slice(MASK.as_bytes());
                rest = &rest[at + needle.len()..];
            }
            masked.extend_from_slice(rest);
            out = Cow::Owned(masked);
        }
        out
    }
}

/// Whether an option or variable name names a secret: it says pass, secret,
/// token, key, credential or auth, and is not the name of a file, a
/// command or a directory holding it (`--password-file` is not a secret).
fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    const WORDS: [&str; 6] = ["pass", "secret", "token", "key", "credential", "auth"];
    const NOT: [&str; 7] = ["file", "command", "cmd", "dir", "path", "from", "id"];
    WORDS.iter().any(|w| name.contains(w))
        && !NOT
            .iter()
            .any(|n| name.ends_with(n) && name.len() > n.len())
        && !name.ends_with("keys")
}

/// `word` with URL passwords and secret `name=value` values masked, and
/// the secrets found.
fn mask_word(word: &str) -> (Cow<'_, str>, Vec<String>) {
    let mut secrets = Vec::new();
    let mut out = String::new();
    let mut copied = 0;
    let bytes = word.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // `scheme://user:PASSWORD@host`
        if bytes[i..].starts_with(b"://") {
            let start = i + 3;
            let end = word[start..]
                .find(['/', ' ', '\t', '\'', '"'])
                .map_or(word.len(), |p| start + p);
            if let Some(at) = word[start..end].rfind('@') {
                let userinfo = &word[start..start + at];
                if let Some(colon) = userinfo.find(':') {
                    let from = start + colon + 1;
                    let to = start + at;
                    if to > from {
                        secrets.push(word[from..to].to_owned());
                        out.push_str(&word[copied..from]);
                        out.push_str(MASK);
                        copied = to;
                    }
                }
            }
            i = end.max(i + 3);
            continue;
        }
        // `NAME=VALUE`, `--password=VALUE`, `secret_access_key=VALUE`
        if bytes[i] == b'=' {
            let name_start = word[..i]
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || "_-.".contains(*c)))
                .map_or(0, |(p, c)| p + c.len_utf8());
            let name = word[name_start..i].trim_start_matches('-');
            let from = i + 1;
            let to = word[from..]
                .find([',', ':', '@', ' ', '\t', ';', '&', '\'', '"'])
                .map_or(word.len(), |p| from + p);
            if !name.is_empty() && is_secret_name(name) && to > from && from >= copied {
                secrets.push(word[from..to].to_owned());
                out.push_str(&word[copied..from]);
                out.push_str(MASK);
                copied = to;
                i = to;
                continue;
            }
        }
        i += 1;
    }
    if copied == 0 {
        return (Cow::Borrowed(word), secrets);
    }
    out.push_str(&word[copied..]);
    (Cow::Owned(out), secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(argv: &str, expect: &str) {
        let words: Vec<&str> = argv.split(' ').collect();
        let (masked, _) = Redactor::for_command(&words);
        assert_eq!(masked.join(" "), expect, "{argv}");
    }

    #[test]
    fn command_lines() {
        check("restic backup /home", "restic backup /home");
        check(
            "env RESTIC_PASSWORD=hunter22 restic backup /",
            "env RESTIC_PASSWORD=*** restic backup /",
        );
        check(
            "BORG_PASSPHRASE=x1 borg create",
            "BORG_PASSPHRASE=*** borg create",
        );
        check(
            "restic --password-file /etc/pw -r /r backup /",
            "restic --password-file /etc/pw -r /r backup /",
        );
        check("tool --password hunter22 x", "tool --password *** x");
        check("tool --password=hunter22 x", "tool --password=*** x");
        check("tool --api-token abcd x", "tool --api-token *** x");
        check(
            "restic -r rest:https://me:hunter22@host:8000/repo backup /",
            "restic -r rest:https://me:***@host:8000/repo backup /",
        );
        check(
            "rclone sync :s3,access_key_id=AKIA1,secret_access_key=s3cr3t:bucket /d",
            "rclone sync :s3,access_key_id=AKIA1,secret_access_key=***:bucket /d",
        );
        check(
            "rsync -a /src/ rsync://me@host/mod/",
            "rsync -a /src/ rsync://me@host/mod/",
        );
        check(
            "RSYNC_PASSWORD=abc rsync a b",
            "RSYNC_PASSWORD=*** rsync a b",
        );
        check("sh -c 'mysqldump x'", "sh -c 'mysqldump x'");
        check("tool --keys 3 --monkey=1", "tool --keys 3 --monkey=***");
        check("tool --key-file /k x=1", "tool --key-file /k x=1");
    }

    #[test]
    fn any_text_is_read_without_panic() {
        for text in [
            "/'\u{10d7c2}^Ѩ=PȺ?",
            "é=é",
            "://",
            "a://é:é@é",
            "=",
            "ключ=значение",
        ] {
            let _ = mask_word(text);
            let (_, r) = Redactor::for_command(&[text, "--password", text]);
            let _ = r.text(text);
        }
    }

    #[test]
    fn secrets_are_masked_in_other_text() {
        let (_, r) = Redactor::for_command(&[
            "env",
            "RESTIC_PASSWORD=hunter22",
            "X_TOKEN=ab",
            "restic",
            "-r",
            "sftp://u:pa55word@nas/r",
        ]);
        assert_eq!(
            r.text("Fatal: wrong password hunter22 for sftp://u:pa55word@nas/r"),
            "Fatal: wrong password *** for sftp://u:***@nas/r"
        );
        // Too short to look for elsewhere, masked where it stands.
        assert_eq!(r.text("ab cd"), "ab cd");
        // Patterns are masked even when the secret came from elsewhere.
        assert_eq!(
            r.text("repo https://x:other@h/ and secret_key=zzz"),
            "repo https://x:***@h/ and secret_key=***"
        );
        assert_eq!(r.bytes(b"a hunter22 b\xff"), &b"a *** b\xff"[..]);
        assert!(matches!(r.text("nothing here"), Cow::Borrowed(_)));
        assert!(Redactor::default().is_empty());
    }
}
