//! The env, file and command backends, for real: real files with real
//! permissions, real child processes. Secrets are canaries that must never
//! show up in an error or a Debug print.

use notify_secrets::{
    store_for, CommandStore, EnvStore, Error, ExposeSecret, FileStore, SecretRef, SecretStore,
    SecretString,
};
use std::time::Duration;

const CANARY: &str = "canary-Pa55-w0rd";

fn no_canary(e: &Error) {
    assert!(!e.to_string().contains(CANARY), "{e}");
    assert!(!format!("{e:?}").contains(CANARY), "{e:?}");
    if let Some(h) = e.hint() {
        assert!(!h.contains(CANARY), "{h}");
    }
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
    assert!(e.hint().unwrap().contains("cron"));
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
    assert!(e.hint().unwrap().contains("chmod 600"));

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
    assert_eq!(
        e.hint().unwrap(),
        format!("run `chmod 600 {}`", path.display())
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
    assert!(e.hint().unwrap().contains("first line"), "{e}");

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
