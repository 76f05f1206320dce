//! The Maildir transport on a real file system.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use notify_core::{ErrorKind, Transport, TransportError};
use notify_smtp::{format_message, Error, Hint, MaildirProblem, MaildirTransport};

use crate::util::{fixed_notification, notification, Part};

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[tokio::test]
async fn delivery_creates_the_layout_and_one_file_in_new() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data").join("maildir");
    let transport = MaildirTransport::new(&root).with_hostname("backup-host");
    assert_eq!(transport.root(), root);

    let delivery = transport.send(&notification()).await.unwrap();

    for sub in ["tmp", "new", "cur"] {
        assert!(root.join(sub).is_dir(), "{sub} missing");
    }
    let new = files_in(&root.join("new"));
    assert_eq!(new.len(), 1);
    assert_eq!(delivery.detail, new[0].display().to_string());
    assert!(files_in(&root.join("tmp")).is_empty());
    assert!(files_in(&root.join("cur")).is_empty());

    let name = new[0].file_name().unwrap().to_str().unwrap();
    let (secs, rest) = name.split_once(".M").unwrap();
    assert!(secs.parse::<u64>().unwrap() > 1_600_000_000, "{name}");
    let (micros, rest) = rest.split_once('P').unwrap();
    assert!(micros.parse::<u32>().unwrap() < 1_000_000, "{name}");
    let (pid, rest) = rest.split_once('Q').unwrap();
    assert_eq!(pid.parse::<u32>().unwrap(), std::process::id());
    let (counter, host) = rest.split_once('.').unwrap();
    assert!(counter.parse::<u64>().is_ok(), "{name}");
    assert_eq!(host, "backup-host");
}

#[cfg(unix)]
#[test]
fn directories_are_0700_and_files_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("maildir");
    let path = MaildirTransport::new(&root)
        .deliver(&notification())
        .unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for d in [
        root.clone(),
        root.join("tmp"),
        root.join("new"),
        root.join("cur"),
    ] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn existing_directories_are_used_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["tmp", "new", "cur"] {
        fs::create_dir(dir.path().join(sub)).unwrap();
    }
    fs::write(dir.path().join("cur").join("old-mail"), "x").unwrap();
    let path = MaildirTransport::new(dir.path())
        .deliver(&notification())
        .unwrap();
    assert_eq!(path.parent().unwrap(), dir.path().join("new"));
    assert!(dir.path().join("cur").join("old-mail").exists());
}

#[test]
fn the_file_is_the_message_with_lf_line_endings_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let n = fixed_notification();
    let path = MaildirTransport::new(dir.path()).deliver(&n).unwrap();
    let stored = fs::read(&path).unwrap();
    assert!(!stored.contains(&b'\r'), "CR left in the Maildir file");
    let expected = String::from_utf8(format_message(&n).unwrap())
        .unwrap()
        .replace("\r\n", "\n");
    assert_eq!(String::from_utf8(stored).unwrap(), expected);
    assert!(expected.starts_with("Date: "), "nothing before the headers");
}

#[test]
fn a_multipart_message_round_trips_through_the_maildir() {
    let dir = tempfile::tempdir().unwrap();
    let n = {
        let mut built = notification();
        built.html = Some("<p>ok</p>".into());
        built.attachments = vec![crate::util::attachment("a.log", "text/plain", b"1\n2\n")];
        built
    };
    let path = MaildirTransport::new(dir.path()).deliver(&n).unwrap();
    let stored = fs::read_to_string(&path).unwrap();
    // Read it back the way a client would: local line endings to CRLF.
    let crlf = stored.replace('\n', "\r\n");
    let mail = Part::parse(crlf.as_bytes());
    let parts = mail.parts();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1].decoded_body(), b"1\n2\n");
}

#[test]
fn deliver_raw_converts_crlf_and_keeps_lone_line_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let path = MaildirTransport::new(dir.path())
        .deliver_raw(b"Subject: x\r\n\r\nbody\r\nlone\rcr\n")
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), b"Subject: x\n\nbody\nlone\rcr\n");
}

#[test]
fn hostnames_with_slash_and_colon_are_escaped_in_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = MaildirTransport::new(dir.path())
        .with_hostname("odd/host:name")
        .deliver(&notification())
        .unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(name.ends_with(".odd\\057host\\072name"), "{name}");
}

#[test]
fn concurrent_threads_and_tasks_deliver_distinct_files() {
    const THREADS: usize = 6;
    const TASKS: usize = 5;
    const PER_TASK: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let transport = Arc::new(MaildirTransport::new(dir.path()));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let transport = Arc::clone(&transport);
            std::thread::spawn(move || {
                block_on(async move {
                    let mut tasks = Vec::new();
                    for _ in 0..TASKS {
                        let transport = Arc::clone(&transport);
                        tasks.push(tokio::spawn(async move {
                            let mut paths = Vec::new();
                            for _ in 0..PER_TASK {
                                let d = transport.send(&notification()).await.unwrap();
                                paths.push(d.detail);
                                tokio::task::yield_now().await;
                            }
                            paths
                        }));
                    }
                    let mut paths = Vec::new();
                    for task in tasks {
                        paths.extend(task.await.unwrap());
                    }
                    paths
                })
            })
        })
        .collect();
    let mut reported = HashSet::new();
    for h in handles {
        for p in h.join().unwrap() {
            assert!(reported.insert(p.clone()), "{p} reported twice");
        }
    }
    let total = THREADS * TASKS * PER_TASK;
    assert_eq!(reported.len(), total);
    let files = files_in(&dir.path().join("new"));
    assert_eq!(files.len(), total);
    assert!(files_in(&dir.path().join("tmp")).is_empty(), "left in tmp/");
    let ids: HashSet<String> = files
        .iter()
        .map(|f| {
            let text = fs::read_to_string(f).unwrap().replace('\n', "\r\n");
            Part::parse(text.as_bytes())
                .header("Message-ID")
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), total, "Message-IDs repeated");
}

#[test]
fn concurrent_processes_deliver_distinct_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap().to_owned();
    let children: Vec<_> = (0..4)
        .map(|_| {
            let root = root.clone();
            std::thread::spawn(move || {
                crate::util::run_child_test(
                    "maildir::child_delivers_to_a_maildir",
                    &[
                        ("NOTIFY_SMTP_TEST_CHILD", "maildir"),
                        ("NOTIFY_SMTP_TEST_MAILDIR", &root),
                    ],
                )
            })
        })
        .collect();
    for c in children {
        c.join().unwrap();
    }
    // Plus this process, at the same time as nothing: just more names.
    let transport = MaildirTransport::new(dir.path());
    for _ in 0..25 {
        transport.deliver(&notification()).unwrap();
    }
    let files = files_in(&dir.path().join("new"));
    assert_eq!(files.len(), 4 * 25 + 25);
    assert!(files_in(&dir.path().join("tmp")).is_empty());
    let pids: HashSet<String> = files
        .iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_str().unwrap();
            name.split('P')
                .nth(1)
                .unwrap()
                .split('Q')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(pids.len(), 5, "expected names from five processes");
}

/// Helper for the test above: delivers 25 messages when run as a child.
#[test]
#[ignore = "the body of a child process that the test above starts"]
fn child_delivers_to_a_maildir() {
    if std::env::var("NOTIFY_SMTP_TEST_CHILD").as_deref() != Ok("maildir") {
        panic!("not a test of its own: the test above runs it with NOTIFY_SMTP_TEST_CHILD=maildir");
    }
    let root = std::env::var("NOTIFY_SMTP_TEST_MAILDIR").unwrap();
    let transport = MaildirTransport::new(root);
    for _ in 0..25 {
        transport.deliver(&notification()).unwrap();
    }
}

#[test]
fn a_root_below_a_file_is_a_permanent_error_naming_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    fs::write(&file, "x").unwrap();
    for root in [file.join("maildir"), file.clone()] {
        let err = MaildirTransport::new(&root)
            .deliver(&notification())
            .unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        let t = TransportError::from(err);
        assert_eq!(t.kind(), ErrorKind::Permanent, "{t}");
        assert_eq!(
            t.detail::<Hint>(),
            Some(&Hint::Maildir {
                dir: root.clone(),
                problem: MaildirProblem::NotADirectory,
            }),
            "{t}"
        );
        assert_eq!(t.hint(), None, "the library words no hint");
        assert!(std::error::Error::source(&t).is_some());
    }
}

/// A directory made immutable with `chattr +i` (which root cannot write
/// into either), made mutable again when dropped, also when the test fails.
#[cfg(unix)]
struct Immutable(PathBuf);

#[cfg(unix)]
impl Immutable {
    /// Sets the flag and checks that it stops a write; `Err` says why not
    /// (no `chattr`, a file system without the flag, no capability).
    fn set(dir: &Path) -> Result<Immutable, String> {
        let chattr = |flag: &str| {
            std::process::Command::new("chattr")
                .arg(flag)
                .arg(dir)
                .output()
        };
        match chattr("+i") {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                return Err(format!(
                    "`chattr +i` failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
            Err(e) => return Err(format!("`chattr` cannot run: {e}")),
        }
        let immutable = Immutable(dir.to_owned());
        let probe = dir.join("probe");
        if fs::write(&probe, "x").is_ok() {
            let _ = fs::remove_file(&probe);
            return Err("`chattr +i` does not stop a write either".to_owned());
        }
        Ok(immutable)
    }
}

#[cfg(unix)]
impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status();
    }
}

#[cfg(unix)]
#[tokio::test]
async fn an_unwritable_maildir_is_a_permanent_error_with_a_hint() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("maildir");
    let transport = MaildirTransport::new(&root);
    transport.create_dirs().unwrap();
    let tmp = root.join("tmp");
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o500)).unwrap();
    let probe = tmp.join("probe");
    // Root (CAP_DAC_OVERRIDE) writes through the mode: then the directory
    // is made immutable instead (EPERM, also for root).
    let immutable = if fs::write(&probe, "x").is_ok() {
        fs::remove_file(&probe).unwrap();
        match Immutable::set(&tmp) {
            Ok(immutable) => Some(immutable),
            Err(why) => {
                fs::set_permissions(&tmp, fs::Permissions::from_mode(0o700)).unwrap();
                return notify_testkit::skip_unless_ci(&format!(
                    "mode 0500 does not stop this user (root?) from writing, and {why}"
                ));
            }
        }
    } else {
        None
    };
    let err = transport.send(&notification()).await.unwrap_err();
    drop(immutable);
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert_eq!(
        err.detail::<Hint>(),
        Some(&Hint::Maildir {
            dir: tmp,
            problem: MaildirProblem::Denied,
        }),
        "{err}"
    );
}

#[tokio::test]
async fn a_bad_message_is_a_config_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let transport = MaildirTransport::new(dir.path());
    let n = {
        let mut built = notification();
        built.to = vec!["not an address".into()];
        built
    };
    let err = transport.send(&n).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("`to`"), "{err}");
    assert_eq!(
        err.detail::<Hint>(),
        Some(&Hint::AddressForm { field: "to" })
    );
    assert!(!dir.path().join("new").exists() || files_in(&dir.path().join("new")).is_empty());
}

#[tokio::test]
async fn it_works_behind_the_trait_object() {
    let dir = tempfile::tempdir().unwrap();
    let transport: Box<dyn Transport> = Box::new(MaildirTransport::new(dir.path()));
    transport.send(&notification()).await.unwrap();
    assert_eq!(files_in(&dir.path().join("new")).len(), 1);
}
