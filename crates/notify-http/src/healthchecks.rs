//! Healthchecks pings (`[healthchecks]`): `/start` when a job starts, then
//! success, `/fail` or `/<exit code>` with the log tail, all of one run
//! under one run id (`rid`). Works with healthchecks.io, a self-hosted
//! Healthchecks and anything speaking its ping API.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Uri};
use notify_core::{Delivery, Notification, Outcome, Transport, TransportError};
use secrecy::SecretString;

use crate::client::{site_of, Call, HttpClient};
use crate::error::HttpError;

/// The body limit healthchecks.io and a default self-hosted Healthchecks
/// keep (`PING_BODY_LIMIT`), used until a server says its own in the
/// `Ping-Body-Limit` header of an answer.
pub const DEFAULT_BODY_LIMIT: usize = 100_000;

/// Which check the pings go to.
pub enum Check {
    /// One check by its ping URL (`https://hc-ping.com/<uuid>`, or a
    /// self-hosted `https://hc.example.com/ping/<uuid>`).
    Url(Uri),
    /// A check of the project with `ping_key`, by slug:
    /// `<server>/ping/<ping_key>/<slug>`, created on its first ping when
    /// `create` is set (`?create=1`).
    Slug {
        /// The ping server (`https://hc-ping.com`, or a self-hosted
        /// Healthchecks' `https://hc.example.com/ping`).
        server: Uri,
        /// The project's ping key.
        ping_key: SecretString,
        /// The check's slug ([`slug`] of the task name by default).
        slug: String,
        /// Create the check when it does not exist yet.
        create: bool,
    },
}

/// Pings one check.
pub struct HealthchecksTransport {
    client: HttpClient,
    check: Check,
}

/// The body limits servers said, by check (its ping URL without a
/// suffix): the start ping's answer tells the end ping of the same run,
/// through whichever transport sends it.
static LIMITS: std::sync::Mutex<BTreeMap<String, usize>> = std::sync::Mutex::new(BTreeMap::new());

impl std::fmt::Debug for HealthchecksTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A ping URL or ping key lets anyone ping the check: only the site.
        let site = match &self.check {
            Check::Url(u) => site_of(u),
            Check::Slug { server, .. } => site_of(server),
        };
        f.debug_struct("HealthchecksTransport")
            .field("site", &site)
            .finish_non_exhaustive()
    }
}

/// What kind of ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ping {
    /// The job started.
    Start,
    /// It worked.
    Success,
    /// It failed (no exit code known).
    Fail,
    /// It ended with this exit code (0 is a success to Healthchecks).
    Exit(i32),
}

impl Ping {
    /// The ping for how a run went: a success or a warning is a success
    /// (the job did its work); a failure or a cancelled run `/<exit code>`
    /// when it has a non-zero one, else `/fail`.
    pub fn of(outcome: Outcome, exit_code: Option<i32>) -> Ping {
        match outcome {
            Outcome::Success | Outcome::Warning => Ping::Success,
            _ => match exit_code {
                Some(code) if (1..=255).contains(&code) => Ping::Exit(code),
                _ => Ping::Fail,
            },
        }
    }

    fn suffix(self) -> String {
        match self {
            Ping::Start => "/start".into(),
            Ping::Success => String::new(),
            Ping::Fail => "/fail".into(),
            Ping::Exit(code) => format!("/{code}"),
        }
    }
}

impl HealthchecksTransport {
    /// Pings `check` through `client`.
    pub fn new(client: HttpClient, check: Check) -> Self {
        HealthchecksTransport { client, check }
    }

    /// The URL of a `ping` of run `rid`.
    fn url(&self, ping: Ping, rid: Option<&str>) -> Result<Uri, HttpError> {
        let mut query = Vec::new();
        let base = match &self.check {
            Check::Url(u) => {
                let text = u.to_string();
                // A query the user wrote stays after the suffix.
                let (path, q) = text.split_once('?').unwrap_or((&text, ""));
                if !q.is_empty() {
                    query.push(q.to_owned());
                }
                path.trim_end_matches('/').to_owned()
            }
            Check::Slug {
                server,
                ping_key,
                slug,
                create,
            } => {
                if *create {
                    query.push("create=1".into());
                }
                let server = server.to_string();
                format!(
                    "{}/{}/{}",
                    server.trim_end_matches('/'),
                    crate::secret::path_segment(ping_key),
                    slug
                )
            }
        };
        if let Some(rid) = rid {
            query.push(format!("rid={rid}"));
        }
        let mut url = format!("{base}{}", ping.suffix());
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        url.parse().map_err(|_| HttpError::Url {
            reason: "the ping URL, with the ping key and slug in it, is not a URL (check `ping_key` and `slug`)".into(),
        })
    }

    /// Sends `ping` of run `rid` with `body` (cut to the server's body
    /// limit, keeping its end), and learns the server's limit from its
    /// answer.
    pub async fn ping(
        &self,
        ping: Ping,
        rid: Option<&str>,
        body: &str,
    ) -> Result<Delivery, TransportError> {
        let url = self
            .url(ping, rid)
            .map_err(|e| e.into_transport("Healthchecks"))?;
        let limit = self.body_limit();
        let call = Call::new(Method::POST, url.clone())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )
            .body(tail(body, limit).to_owned().into_bytes());
        let answer = crate::accepted(&self.client, call, &url)
            .await
            .map_err(|e| e.into_transport("Healthchecks"))?;
        if let Some(limit) = answer
            .header("ping-body-limit")
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            if let Ok(key) = self.url(Ping::Success, None) {
                LIMITS
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(key.to_string(), limit);
            }
        }
        let said = String::from_utf8_lossy(&answer.body);
        let what = match ping {
            Ping::Start => "start".to_owned(),
            Ping::Success => "success".to_owned(),
            Ping::Fail => "fail".to_owned(),
            Ping::Exit(code) => format!("exit status {code}"),
        };
        Ok(Delivery::new(format!(
            "pinged Healthchecks at {} ({what}: {} {})",
            site_of(&url),
            answer.status,
            notify_core::text::one_line(said.trim(), Some(40))
        )))
    }

    /// The body limit in force (the server's, once it said it).
    pub fn body_limit(&self) -> usize {
        let Ok(key) = self.url(Ping::Success, None) else {
            return DEFAULT_BODY_LIMIT;
        };
        LIMITS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key.to_string())
            .copied()
            .unwrap_or(DEFAULT_BODY_LIMIT)
    }
}

/// The last at most `limit` bytes of `text`, starting at a character.
fn tail(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

#[async_trait::async_trait]
impl Transport for HealthchecksTransport {
    /// The end ping of the run the notification reports (its log tail as
    /// the body, its `run_id` as `rid`).
    async fn send(&self, n: &Notification) -> Result<Delivery, TransportError> {
        let (ping, body) = match n.result.as_deref() {
            Some(r) => (
                Ping::of(r.outcome, r.exit_code),
                r.log_tail.as_deref().unwrap_or_default(),
            ),
            None => (
                Ping::of(n.outcome.unwrap_or(Outcome::Success), None),
                n.text.as_str(),
            ),
        };
        self.ping(ping, n.run_id.as_deref(), body).await
    }

    async fn send_batch<'a>(
        &self,
        notifications: &[&'a Notification],
        report: &mut notify_core::BatchReport<'a>,
    ) {
        crate::send_each(self, notifications, report).await;
    }
}

/// A check's slug as Healthchecks makes one from a name (Django's
/// `slugify`): decomposed (NFKD) and kept to ASCII, lower case, anything
/// but letters, digits, `_`, `-` and spaces removed, runs of spaces and `-`
/// one `-`, none at the ends (`Nightly DB dump` → `nightly-db-dump`,
/// `Sicherung täglich` → `sicherung-taglich`, `backup.daily` →
/// `backupdaily`).
pub fn slug(name: &str) -> String {
    let decomposed = icu_normalizer::DecomposingNormalizerBorrowed::new_nfkd().normalize(name);
    let kept: String = decomposed
        .chars()
        .filter(char::is_ascii)
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-' || c.is_ascii_whitespace())
        .collect();
    let mut out = String::with_capacity(kept.len());
    let mut gap = false;
    for c in kept.chars() {
        if c == '-' || c.is_ascii_whitespace() {
            gap = true;
        } else {
            if gap {
                out.push('-');
            }
            gap = false;
            out.push(c);
        }
    }
    if gap {
        out.push('-');
    }
    out.trim_matches(|c| c == '-' || c == '_').to_owned()
}

/// A new run id: a random UUID (version 4), as Healthchecks wants `rid`.
pub fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 16];
    for (i, half) in bytes.chunks_mut(8).enumerate() {
        // RandomState is seeded from the OS's randomness per process; the
        // time and a counter make each call differ.
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_usize(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn client() -> HttpClient {
        let tls = notify_smtp::tls_client_config(None, &notify_smtp::SystemRoots::Platform, false)
            .unwrap();
        HttpClient::new(tls, Duration::from_secs(1))
    }

    #[test]
    fn pings_by_outcome() {
        assert_eq!(Ping::of(Outcome::Success, Some(0)), Ping::Success);
        assert_eq!(Ping::of(Outcome::Warning, Some(3)), Ping::Success);
        assert_eq!(Ping::of(Outcome::Failure, Some(2)), Ping::Exit(2));
        assert_eq!(Ping::of(Outcome::Failure, None), Ping::Fail);
        assert_eq!(Ping::of(Outcome::Cancelled, Some(-1)), Ping::Fail);
    }

    #[test]
    fn urls_of_both_forms() {
        let rid = "3f2b6c1e-0000-4000-8000-000000000000";
        let by_url = HealthchecksTransport::new(
            client(),
            Check::Url("https://hc.example.com/ping/abc-uuid".parse().unwrap()),
        );
        assert_eq!(
            by_url.url(Ping::Start, Some(rid)).unwrap().to_string(),
            format!("https://hc.example.com/ping/abc-uuid/start?rid={rid}")
        );
        assert_eq!(
            by_url.url(Ping::Exit(2), None).unwrap().to_string(),
            "https://hc.example.com/ping/abc-uuid/2"
        );
        let by_slug = HealthchecksTransport::new(
            client(),
            Check::Slug {
                server: "https://hc-ping.com/".parse().unwrap(),
                ping_key: SecretString::from("k3y"),
                slug: slug("Nightly DB dump"),
                create: true,
            },
        );
        assert_eq!(
            by_slug.url(Ping::Success, Some(rid)).unwrap().to_string(),
            format!("https://hc-ping.com/k3y/nightly-db-dump?create=1&rid={rid}")
        );
        assert!(!format!("{by_slug:?}").contains("k3y"));
        let _ = Arc::new(0);
    }

    #[test]
    fn slugs_and_run_ids() {
        // As Django's slugify (Healthchecks') makes them.
        for (name, want) in [
            ("Nightly DB dump", "nightly-db-dump"),
            ("  /srv → s3 (offsite)!", "srv-s3-offsite"),
            ("db_backup-2", "db_backup-2"),
            ("Sicherung täglich", "sicherung-taglich"),
            ("backup.daily", "backupdaily"),
            ("Ärger -- über  Maße", "arger-uber-mae"),
            ("_x_", "x"),
            ("日本", ""),
        ] {
            assert_eq!(slug(name), want, "{name}");
        }
        let a = new_run_id();
        let b = new_run_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn bodies_keep_their_end() {
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("ab", 3), "ab");
        assert_eq!(tail("aé", 1), "");
        assert_eq!(tail("aéb", 2), "b");
    }
}
