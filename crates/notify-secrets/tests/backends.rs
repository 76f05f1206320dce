//! The env, file and command backends, for real: real files with real
//! permissions, real child processes. Secrets are canaries that must never
//! show up in an error or a Debug print.
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

use notify_secrets::{
    store_for, store_for_in, CommandStore, EnvStore, Error, ErrorKind, ExposeSecret, FileKind,
    FileStore, SecretRef, SecretStore, SecretString, SECRET_LIMIT,
};
use std::time::Duration;

const CANARY: &str = "canary-Pa55-w0rd";

fn no_canary(e: &Error) {
    assert!(!e.to_string().contains(CANARY), "{e}");
    assert!(!format!("{e:?}").contains(CANARY), "{e:?}");
}

#[test]
fn env_store() {
    std::env::set_var("NOTIFY_TEST_SECRET_SET", CANARY);
    std::env::set_var("NOTIFY_TEST_SECRET_EMPTY", "");
    let s = EnvStore::new("NOTIFY_TEST_SECRET_SET");
    assert_eq!(s.get("work").unwrap().expose_secret(), CANARY);
    assert!(!format!("{s:?}").contains(CANARY));
    let e = EnvStore::new("NOTIFY_TEST_SECRET_UNSET_X")
        .get("work")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the environment variable NOTIFY_TEST_SECRET_UNSET_X is not set"
    );
    assert!(
        matches!(&e, Error::EnvNotSet { var, empty: false } if var == "NOTIFY_TEST_SECRET_UNSET_X"),
        "{e:?}"
    );
    let e = EnvStore::new("NOTIFY_TEST_SECRET_EMPTY")
        .get("work")
        .unwrap_err();
    assert!(e.to_string().ends_with("is empty"), "{e}");
    let e = s.set("work", &SecretString::from(CANARY)).unwrap_err();
    assert!(matches!(e, Error::Unsupported(_)));
    no_canary(&e);
}

#[cfg(unix)]
#[test]
fn file_store_checks_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pw");
    let s = FileStore::new(&path);
    let e = s.get("work").unwrap_err();
    assert!(matches!(e, Error::FileMissing { .. }), "{e}");
    assert!(
        matches!(&e, Error::FileMissing { path: p } if *p == path),
        "{e:?}"
    );

    s.set("work", &SecretString::from(CANARY)).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(s.get("work").unwrap().expose_secret(), CANARY);

    std::fs::write(&path, format!("{CANARY}\nsecond line\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = s.get("work").unwrap_err();
    assert!(
        e.to_string().contains("readable by others (mode 644)"),
        "{e}"
    );
    assert!(e.to_string().contains(path.to_str().unwrap()), "{e}");
    assert!(
        matches!(&e, Error::UnsafePermissions { path: p, mode: 0o644 } if *p == path),
        "{e:?}"
    );
    no_canary(&e);

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    assert_eq!(
        s.get("work").unwrap().expose_secret(),
        CANARY,
        "first line only"
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&path, "\nsecond line\n").unwrap();
    let e = s.get("work").unwrap_err();
    assert!(matches!(e, Error::FileEmpty { .. }), "{e}");
    assert!(e.to_string().contains("first line"), "{e}");

    s.delete("work").unwrap();
    s.delete("work").unwrap();
    assert!(!path.exists());
}

#[test]
fn file_store_expands_home() {
    let s = FileStore::new("~/x/pw");
    if let Some(home) = std::env::var_os("HOME") {
        assert_eq!(s.path(), std::path::Path::new(&home).join("x/pw"));
    }
}

#[test]
fn command_store() {
    let s = CommandStore::new(format!("printf '%s\\nmore\\n' {CANARY}"));
    assert_eq!(s.get("work").unwrap().expose_secret(), CANARY);

    let s = CommandStore::new(format!(
        "sh -c 'echo {CANARY} >/dev/null; echo no such entry >&2; exit 3'"
    ));
    let e = s.get("work").unwrap_err();
    let text = e.to_string();
    assert!(text.contains("exit status: 3"), "{text}");
    assert!(text.contains("no such entry"), "{text}");

    let e = CommandStore::new("true").get("work").unwrap_err();
    assert!(e.to_string().contains("printed nothing"), "{e}");
    no_canary(&e);

    let e = CommandStore::new("/nonexistent/helper --x")
        .get("work")
        .unwrap_err();
    assert!(
        e.to_string().contains("cannot start `/nonexistent/helper`"),
        "{e}"
    );

    let e = CommandStore::new("sleep 5")
        .with_timeout(Duration::from_millis(200))
        .get("work")
        .unwrap_err();
    assert!(e.to_string().contains("no answer within"), "{e}");

    let e = CommandStore::new("echo 'unclosed").get("work").unwrap_err();
    assert!(e.to_string().contains("not closed"), "{e}");
}

#[test]
fn references_pick_stores() {
    // With the `keychain` feature (the default) `keychain` is the OS
    // keychain; without it there is no store for it.
    assert_eq!(
        store_for(&SecretRef::Keychain).is_some(),
        cfg!(feature = "keychain")
    );
    std::env::set_var("NOTIFY_TEST_SECRET_REF", CANARY);
    let r: SecretRef = "env:NOTIFY_TEST_SECRET_REF".parse().unwrap();
    let store = store_for(&r).unwrap();
    assert_eq!(store.get("a").unwrap().expose_secret(), CANARY);
}

#[cfg(unix)]
#[test]
fn unreadable_password_files_are_not_keychain_errors() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let check = |e: &Error, path: &std::path::Path, reason: &str| {
        assert!(
            matches!(e, Error::FileUnreadable { path: p, .. } if p == path),
            "{e:?}"
        );
        let text = e.to_string();
        assert!(text.contains(path.to_str().unwrap()), "{text}");
        assert!(text.contains(reason), "{text}");
        assert!(!text.contains("keychain"), "{text}");
        no_canary(e);
    };

    // A directory, whatever its mode: not "readable by others", not the keychain.
    let sub = dir.path().join("pwdir");
    std::fs::create_dir(&sub).unwrap();
    for mode in [0o755, 0o700] {
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(mode)).unwrap();
        let e = FileStore::new(&sub).get("work").unwrap_err();
        assert!(
            matches!(&e, Error::NotAFile { path, kind: FileKind::Directory } if path == &sub),
            "{e:?}"
        );
        assert!(e.to_string().contains("is a directory"), "{e}");
        assert!(!e.to_string().contains("keychain"), "{e}");
    }
    // Writing over a directory fails the same way.
    let e = FileStore::new(&sub)
        .set("work", &SecretString::from(CANARY))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotAFile {
                kind: FileKind::Directory,
                ..
            }
        ),
        "{e:?}"
    );
    no_canary(&e);

    // A dangling symlink exists, so it is not "missing".
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(dir.path().join("gone"), &link).unwrap();
    let e = FileStore::new(&link).get("work").unwrap_err();
    check(&e, &link, "symlink");
    assert!(e.to_string().contains("gone"), "{e}");

    // A path through a regular file (ENOTDIR): an OS error, named.
    let file = dir.path().join("plain");
    std::fs::write(&file, format!("{CANARY}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let through = file.join("pw");
    let e = FileStore::new(&through).get("work").unwrap_err();
    check(&e, &through, "os error");

    // Permission denied: only observable when not running as root.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&file).is_err() {
        let e = FileStore::new(&file).get("work").unwrap_err();
        check(&e, &file, "ermission denied");
    }
}

#[cfg(unix)]
#[test]
fn command_store_does_not_wait_for_background_processes() {
    let t = std::time::Instant::now();
    let s = CommandStore::new(format!("sh -c 'echo {CANARY}; sleep 8 &'"));
    assert_eq!(s.get("work").unwrap().expose_secret(), CANARY);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());

    // Same for a failing helper: its exit status and stderr, promptly.
    let t = std::time::Instant::now();
    let e = CommandStore::new("sh -c 'echo locked >&2; sleep 8 & exit 4'")
        .get("work")
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let text = e.to_string();
    assert!(text.contains("exit status: 4"), "{text}");
    assert!(text.contains("locked"), "{text}");
}

/// Whether `pid` is gone (or a zombie nobody reaped yet: it no longer runs).
#[cfg(target_os = "linux")]
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

#[cfg(target_os = "linux")]
#[test]
fn command_store_timeout_kills_the_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let s = CommandStore::new(format!(
        "sh -c 'sleep 60 & echo $$ $! > {}; wait'",
        pids.display()
    ))
    .with_timeout(Duration::from_millis(500));
    let t = std::time::Instant::now();
    let e = s.get("work").unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let text = e.to_string();
    assert!(text.contains("no answer within 500 ms"), "{text}");
    let pids: Vec<u32> = std::fs::read_to_string(&pids)
        .unwrap()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "{pids:?}");
    let t = std::time::Instant::now();
    while !pids.iter().all(|&p| gone(p)) {
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "still running: {pids:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn command_store_limits_stdout() {
    let t = std::time::Instant::now();
    let e = CommandStore::new("head -c 1000000 /dev/zero")
        .get("work")
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let text = e.to_string();
    assert!(text.contains("printed more than 64 KiB"), "{text}");
    // Exactly at the limit is fine.
    let e = CommandStore::new(format!(
        "sh -c 'echo {CANARY}; head -c {} /dev/zero'",
        64 * 1024 - CANARY.len() - 1
    ))
    .get("work");
    assert_eq!(e.unwrap().expose_secret(), CANARY);
}

#[test]
fn relative_password_files_follow_the_config_directory() {
    let config_dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(config_dir.path().join("secrets/pw"));
    store.set("work", &SecretString::from(CANARY)).unwrap();

    let r: SecretRef = "file:secrets/pw".parse().unwrap();
    let resolved = r.resolve_relative(config_dir.path());
    assert_eq!(
        resolved,
        SecretRef::File(config_dir.path().join("secrets/pw"))
    );
    // Whatever the current directory is (the test runner's, not the
    // temporary one), the file next to the config is found.
    assert_ne!(std::env::current_dir().unwrap(), config_dir.path());
    let s = store_for_in(&r, config_dir.path()).unwrap();
    assert_eq!(s.get("work").unwrap().expose_secret(), CANARY);
    // Plain store_for keeps the old meaning: the current directory.
    let e = store_for(&r).unwrap().get("work").unwrap_err();
    assert!(matches!(e, Error::FileMissing { .. }), "{e}");

    // Other references are untouched.
    let env: SecretRef = "env:NOTIFY_TEST_SECRET_IN".parse().unwrap();
    assert_eq!(env.resolve_relative(config_dir.path()), env);
}

/// A `cmd:` helper gets the configured words as arguments and notify's own
/// environment: never a secret. The secret handed to `set` (the only one a
/// `CommandStore` ever sees) does not start the helper at all.
#[cfg(unix)]
#[test]
fn command_helpers_never_see_secrets() {
    // Its own canary: other tests here put theirs in the process environment.
    let canary = "canary-cmd-0nly-in-SecretString";
    let secret = SecretString::from(canary.to_owned());
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen");
    let s = CommandStore::new(format!(
        "sh -c 'printf \"%s\\n\" \"$0\" \"$@\" >> {0}; env >> {0}; echo pw' arg0 arg1",
        seen.display()
    ));

    let e = s.set("work", &secret).unwrap_err();
    assert!(matches!(e, Error::Unsupported(_)), "{e}");
    assert!(!e.to_string().contains(canary), "{e}");
    assert!(!seen.exists(), "set must not run the helper");
    assert!(matches!(s.delete("work"), Err(Error::Unsupported(_))));
    assert!(!seen.exists(), "delete must not run the helper");

    assert_eq!(s.get("acct-7f3q").unwrap().expose_secret(), "pw");
    let seen = std::fs::read_to_string(&seen).unwrap();
    assert!(seen.contains("arg1"), "{seen}");
    assert!(seen.contains("PATH="), "{seen}");
    assert!(!seen.contains(canary), "{seen}");
    assert!(
        !seen.contains("acct-7f3q"),
        "not even the account name: {seen}"
    );
    drop(secret);
}

/// `get` on a helper thread, failing (instead of hanging the test run)
/// when it does not answer within a few seconds.
fn get_soon(store: FileStore) -> Result<SecretString, Error> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(store.get("a"));
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("reading the password file blocked")
}

/// A FIFO, a device, a socket or a huge file is refused at once, by kind:
/// reading one would block forever, never end, or fill the memory (and the
/// AUTH line).
#[cfg(unix)]
#[test]
fn file_store_reads_only_small_regular_files() {
    use std::os::unix::fs::PermissionsExt;
    let private = |p: &std::path::Path| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    private(&fifo);
    // No writer ever opens it: a blocking open or read would never end.
    let e = get_soon(FileStore::new(&fifo)).unwrap_err();
    assert!(
        matches!(&e, Error::NotAFile { path, kind: FileKind::Fifo } if path == &fifo),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("is a named pipe (FIFO), not a regular file"),
        "{e}"
    );
    assert_eq!(e.kind(), ErrorKind::Config);

    let e = get_soon(FileStore::new("/dev/zero")).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotAFile {
                kind: FileKind::Device,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("a device, not a regular file"),
        "{e}"
    );

    let socket = dir.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    private(&socket);
    let e = get_soon(FileStore::new(&socket)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotAFile {
                kind: FileKind::Socket,
                ..
            }
        ),
        "{e:?}"
    );

    let big = dir.path().join("big");
    std::fs::write(&big, "x".repeat(200_000)).unwrap();
    private(&big);
    let e = get_soon(FileStore::new(&big)).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::FileTooLarge { path, size: 200_000, limit }
                if path == &big && *limit == SECRET_LIMIT as u64
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("200000 bytes long"), "{e}");
    assert!(!e.to_string().contains("xxxx"), "{e}");

    // The limit itself is fine: one line of 64 KiB with nothing after it.
    let edge = dir.path().join("edge");
    std::fs::write(&edge, "z".repeat(SECRET_LIMIT)).unwrap();
    private(&edge);
    assert_eq!(
        get_soon(FileStore::new(&edge))
            .unwrap()
            .expose_secret()
            .len(),
        SECRET_LIMIT
    );
    std::fs::write(&edge, "z".repeat(SECRET_LIMIT + 1)).unwrap();
    assert!(matches!(
        get_soon(FileStore::new(&edge)),
        Err(Error::FileTooLarge { .. })
    ));

    let ok = dir.path().join("ok");
    std::fs::write(&ok, format!("{}\n", "y".repeat(60_000))).unwrap();
    private(&ok);
    assert_eq!(
        get_soon(FileStore::new(&ok)).unwrap().expose_secret().len(),
        60_000
    );
}

/// A symlink to a FIFO is judged by what it points to.
#[cfg(unix)]
#[test]
fn file_store_follows_a_symlink_to_read_and_still_refuses_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let link = dir.path().join("pw");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    let e = get_soon(FileStore::new(&link)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotAFile {
                kind: FileKind::Fifo,
                ..
            }
        ),
        "{e:?}"
    );
}

/// `set` and `delete` leave a FIFO or a device node where it is: run as
/// root with `password = "file:/dev/null"`, a rename would replace
/// /dev/null with a file holding the password.
#[cfg(unix)]
#[test]
fn file_store_never_replaces_or_removes_a_special_file() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let store = FileStore::new(&fifo);
    let e = store
        .set("a", &SecretString::from(CANARY.to_owned()))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotAFile {
                kind: FileKind::Fifo,
                ..
            }
        ),
        "{e:?}"
    );
    no_canary(&e);
    let e = store.delete("a").unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotAFile {
                kind: FileKind::Fifo,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "no temporary file left");

    // A symlink is removed, never what it points to.
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep\n").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    FileStore::new(&link).delete("a").unwrap();
    assert!(std::fs::symlink_metadata(&link).is_err());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep\n");
}

/// `set` never writes through a symlink: the link is replaced by a new
/// private file, and the file it pointed to is untouched.
#[cfg(unix)]
#[test]
fn file_store_set_replaces_a_symlink_instead_of_following_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("someone-elses-file");
    std::fs::write(&victim, "original\n").unwrap();
    let link = dir.path().join("pw");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    FileStore::new(&link)
        .set("a", &SecretString::from(CANARY.to_owned()))
        .unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "original\n");
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_file(), "the link itself was replaced");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(
        FileStore::new(&link).get("a").unwrap().expose_secret(),
        CANARY
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 2, "no temporary file left");
}
