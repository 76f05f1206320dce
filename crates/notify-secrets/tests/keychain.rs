//! The keychain backend against a real Secret Service (gnome-keyring on a
//! private session D-Bus, started by `cargo xtask ci` or by hand with
//! `cargo xtask keychain -- cargo test -p notify-secrets --test keychain --
//! --include-ignored`).
//!
//! A plain `cargo test` ignores these tests (they need the keychain);
//! `cargo xtask ci` runs them, and where no Secret Service is reachable then
//! they fail, saying why: never a silent pass.
//!
//! Persistence is checked across processes and with `secret-tool`, because
//! keyring built without a store feature silently keeps secrets in memory.
//! Every test uses its own account names (pid + counter) and deletes them,
//! also when it fails. Secrets are canaries that must never show up in an
//! error or a Debug print.
#![cfg(all(feature = "keychain", target_os = "linux"))]
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use notify_secrets::{
    store_for, Error, ExposeSecret, KeychainStore, SecretRef, SecretStore, SecretString,
    KEYCHAIN_SERVICE,
};

const CANARY: &str = "canary-Pa55-w0rd";

/// Set in a child process (see [`keychain_child`]) to what it should do.
const CHILD_MODE: &str = "NOTIFY_KEYCHAIN_TEST_CHILD";

/// Why no Secret Service is reachable on the session bus, if it is not.
fn unreachable_reason() -> Option<String> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|a| a.is_empty()) {
        return Some("DBUS_SESSION_BUS_ADDRESS is not set: there is no session D-Bus".into());
    }
    let out = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.secrets",
        ])
        .output();
    match out {
        Err(e) => Some(format!(
            "cannot run dbus-send ({e}); it is in the dbus package"
        )),
        Ok(out) if !out.status.success() => Some(format!(
            "the session D-Bus does not answer: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(out) if !String::from_utf8_lossy(&out.stdout).contains("boolean true") => Some(
            "nothing owns org.freedesktop.secrets on the session D-Bus (no Secret Service)".into(),
        ),
        Ok(_) => None,
    }
}

/// The keychain; panics, saying why, when no Secret Service is reachable.
fn keychain() -> KeychainStore {
    static REASON: OnceLock<Option<String>> = OnceLock::new();
    if let Some(reason) = REASON.get_or_init(unreachable_reason) {
        panic!(
            "the keychain tests need a Secret Service, but {reason}; `cargo xtask ci` starts one \
             (by hand: `cargo xtask keychain -- cargo test -p notify-secrets --test keychain -- \
             --include-ignored`)"
        );
    }
    KeychainStore::new().with_timeout(Duration::from_secs(30))
}

/// An account name no other test (or test run) uses; its keychain item is
/// deleted when this is dropped, also when the test fails.
struct Account {
    name: String,
    store: KeychainStore,
}

impl Account {
    fn new(store: &KeychainStore, tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Account {
            name: format!("notify-test-{}-{n}-{tag}", std::process::id()),
            store: store.clone(),
        }
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        let _ = self.store.delete(&self.name);
    }
}

fn no_canary(e: &Error) {
    assert!(!e.to_string().contains(CANARY), "{e}");
    assert!(!format!("{e:?}").contains(CANARY), "{e:?}");
}

/// What `secret-tool lookup service notify username ACCOUNT` prints.
fn secret_tool_lookup(account: &str) -> Output {
    Command::new("secret-tool")
        .args(["lookup", "service", KEYCHAIN_SERVICE, "username", account])
        .output()
        .expect("secret-tool runs (libsecret-tools)")
}

/// Runs [`keychain_child`] in a new process of this test binary with
/// `mode`, changes to its environment, and optionally a wrapper command
/// (e.g. `dbus-run-session --`). Returns its stdout; panics with its
/// output when it fails or did not run the child test.
fn run_child(mode: &str, wrapper: &[&str], set: &[(&str, &str)], remove: &[&str]) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut cmd = Command::new(program);
            cmd.args(args).arg(&exe);
            cmd
        }
        None => Command::new(&exe),
    };
    cmd.args([
        "keychain_child",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_MODE, mode);
    for (k, v) in set {
        cmd.env(k, v);
    }
    for k in remove {
        cmd.env_remove(k);
    }
    let out = cmd.output().expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child `{mode}` failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}

/// The `REASON: ...` line a child printed.
fn child_reason(stdout: &str) -> &str {
    let reason = stdout
        .lines()
        .find_map(|l| l.strip_prefix("REASON: "))
        .unwrap_or_else(|| panic!("no REASON line in:\n{stdout}"));
    println!("the child was told: {reason}");
    reason
}

/// Not a test of its own: the other tests run it in a child process,
/// saying what to do in `NOTIFY_KEYCHAIN_TEST_CHILD`.
#[test]
#[ignore = "run by the other keychain tests in a child process"]
fn keychain_child() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        panic!("not a test of its own: the other keychain tests run it with {CHILD_MODE} set");
    };
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let store = KeychainStore::new().with_timeout(Duration::from_secs(30));
    match mode.as_str() {
        // Reads what the parent stored, stores something for it to read.
        "read-write" => {
            let got = store
                .get(&var("NOTIFY_KEYCHAIN_TEST_READ"))
                .unwrap_or_else(|e| panic!("child get: {e}"));
            assert!(
                got.expose_secret() == var("NOTIFY_KEYCHAIN_TEST_EXPECT"),
                "the child read a different secret (length {})",
                got.expose_secret().len()
            );
            store
                .set(
                    &var("NOTIFY_KEYCHAIN_TEST_WRITE"),
                    &SecretString::from(var("NOTIFY_KEYCHAIN_TEST_EXPECT")),
                )
                .unwrap_or_else(|e| panic!("child set: {e}"));
        }
        // The keychain cannot be reached: every call says so, clearly.
        "inaccessible" => {
            let account = var("NOTIFY_KEYCHAIN_TEST_READ");
            let e = store.get(&account).expect_err("get must fail");
            no_canary(&e);
            let Error::Inaccessible { reason } = &e else {
                panic!("expected Inaccessible, got {e:?}");
            };
            println!("\nREASON: {reason}");
            assert_eq!(e.kind(), notify_secrets::ErrorKind::Unavailable);
            let e = store
                .set(&account, &SecretString::from(CANARY))
                .expect_err("set must fail");
            assert!(matches!(e, Error::Inaccessible { .. }), "{e:?}");
            no_canary(&e);
            let e = store.delete(&account).expect_err("delete must fail");
            assert!(matches!(e, Error::Inaccessible { .. }), "{e:?}");
        }
        // There is no keychain here at all: a configuration matter, not
        // something waiting fixes.
        "absent" => {
            let account = var("NOTIFY_KEYCHAIN_TEST_READ");
            let e = store.get(&account).expect_err("get must fail");
            no_canary(&e);
            let Error::NoKeychain { reason } = &e else {
                panic!("expected NoKeychain, got {e:?}");
            };
            println!("\nREASON: {reason}");
            assert_eq!(e.kind(), notify_secrets::ErrorKind::Config);
            let e = store
                .set(&account, &SecretString::from(CANARY))
                .expect_err("set must fail");
            assert!(matches!(e, Error::NoKeychain { .. }), "{e:?}");
            no_canary(&e);
        }
        other => panic!("unknown child mode {other}"),
    }
}

#[test]
#[ignore = "needs gnome-keyring on a private D-Bus; `cargo xtask ci` runs it"]
fn set_get_replace_delete() {
    let store = keychain();
    let account = Account::new(&store, "round-trip");
    let name = account.name.as_str();

    let e = store.get(name).expect_err("nothing stored yet");
    assert!(
        matches!(&e, Error::NoEntry { account } if account == name),
        "{e:?}"
    );

    store.set(name, &SecretString::from(CANARY)).unwrap();
    assert_eq!(store.get(name).unwrap().expose_secret(), CANARY);

    // Setting again replaces (one item, not two: a second would make the
    // entry ambiguous).
    store.set(name, &SecretString::from("second-Pa55")).unwrap();
    assert_eq!(store.get(name).unwrap().expose_secret(), "second-Pa55");

    store.delete(name).unwrap();
    let e = store.get(name).expect_err("deleted");
    assert!(
        matches!(&e, Error::NoEntry { account } if account == name),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!("no secret stored for account `{name}`")
    );
    // Removing nothing is not an error.
    store.delete(name).unwrap();
    assert!(!secret_tool_lookup(name).status.success());
}

/// `with_service` keeps its items apart from notify's own: `secret-tool`
/// finds them under that service, and the default store does not see them.
#[test]
#[ignore = "needs gnome-keyring on a private D-Bus; `cargo xtask ci` runs it"]
fn another_service_keeps_its_items_apart() {
    let store = keychain();
    let service = format!("notify-test-service-{}", std::process::id());
    let other = store.clone().with_service(service.clone());
    assert_eq!(other.service(), service);
    assert_eq!(store.service(), KEYCHAIN_SERVICE);
    let account = Account::new(&other, "service");
    let name = account.name.as_str();

    other.set(name, &SecretString::from(CANARY)).unwrap();
    assert_eq!(other.get(name).unwrap().expose_secret(), CANARY);
    let e = store.get(name).expect_err("not under notify's service");
    assert!(matches!(e, Error::NoEntry { .. }), "{e:?}");
    let out = Command::new("secret-tool")
        .args(["lookup", "service", &service, "username", name])
        .output()
        .expect("secret-tool runs (libsecret-tools)");
    assert_eq!(String::from_utf8_lossy(&out.stdout), CANARY);
    assert!(!secret_tool_lookup(name).status.success());
}

#[test]
#[ignore = "needs gnome-keyring on a private D-Bus; `cargo xtask ci` runs it"]
fn a_second_process_reads_what_we_stored() {
    let store = keychain();
    let ours = Account::new(&store, "parent");
    let theirs = Account::new(&store, "child");
    store.set(&ours.name, &SecretString::from(CANARY)).unwrap();

    run_child(
        "read-write",
        &[],
        &[
            ("NOTIFY_KEYCHAIN_TEST_READ", &ours.name),
            ("NOTIFY_KEYCHAIN_TEST_WRITE", &theirs.name),
            ("NOTIFY_KEYCHAIN_TEST_EXPECT", CANARY),
        ],
        &[],
    );
    // And what the child stored outlives it.
    assert_eq!(store.get(&theirs.name).unwrap().expose_secret(), CANARY);
}

#[test]
#[ignore = "needs gnome-keyring on a private D-Bus; `cargo xtask ci` runs it"]
fn secret_tool_reads_what_we_stored_and_we_read_what_it_stored() {
    let store = keychain();
    let account = Account::new(&store, "secret-tool");
    store
        .set(&account.name, &SecretString::from(CANARY))
        .unwrap();
    let out = secret_tool_lookup(&account.name);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end_matches('\n'),
        CANARY
    );

    // An item stored by hand (as a user might on a headless server) is
    // found too: keyring falls back to service + username in the default
    // collection.
    let by_hand = Account::new(&store, "by-hand");
    let mut child = Command::new("secret-tool")
        .args([
            "store",
            "--label=notify test",
            "service",
            KEYCHAIN_SERVICE,
            "username",
            &by_hand.name,
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("secret-tool runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"stored-by-hand-Pa55").unwrap();
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(
        store.get(&by_hand.name).unwrap().expose_secret(),
        "stored-by-hand-Pa55"
    );
}

#[test]
#[ignore = "needs gnome-keyring on a private D-Bus; `cargo xtask ci` runs it"]
fn unicode_long_and_odd_secrets_round_trip() {
    let store = keychain();
    let long: String = "Pa55-wörd-🔑-".repeat(700); // ~10 KB
    let secrets = [
        "pässwörd-🔑-日本語-ελληνικά",
        " leading and trailing spaces ",
        "quotes ' \" and \\ backslash; $HOME `x`",
        "two\nlines",
        "x",
        long.as_str(),
    ];
    let account = Account::new(&store, "unicode");
    for secret in secrets {
        store
            .set(&account.name, &SecretString::from(secret))
            .unwrap();
        let got = store.get(&account.name).unwrap();
        assert!(
            got.expose_secret() == secret,
            "a {}-byte secret came back as {} bytes",
            secret.len(),
            got.expose_secret().len()
        );
    }
    // A unicode account name works too.
    let unicode = Account::new(&store, "kontö-日本");
    store
        .set(&unicode.name, &SecretString::from(CANARY))
        .unwrap();
    assert_eq!(store.get(&unicode.name).unwrap().expose_secret(), CANARY);
}

#[test]
#[ignore = "needs gnome-keyring on a private D-Bus; `cargo xtask ci` runs it"]
fn debug_and_errors_never_show_the_secret() {
    let store = keychain();
    let account = Account::new(&store, "canary");
    store
        .set(&account.name, &SecretString::from(CANARY))
        .unwrap();
    let got = store.get(&account.name).unwrap();
    assert_eq!(got.expose_secret(), CANARY);
    for text in [format!("{store:?}"), format!("{got:?}")] {
        assert!(!text.contains(CANARY), "{text}");
    }
    let boxed = store_for(&SecretRef::Keychain).expect("the keychain feature is on");
    assert_eq!(boxed.get(&account.name).unwrap().expose_secret(), CANARY);

    let missing = Account::new(&store, "missing");
    let e = store.get(&missing.name).expect_err("nothing stored");
    no_canary(&e);
    assert!(
        matches!(&e, Error::NoEntry { account } if *account == missing.name),
        "{e:?}"
    );
}

#[test]
#[ignore = "needs gnome-keyring on a private D-Bus; `cargo xtask ci` runs it"]
fn works_inside_a_current_thread_tokio_runtime() {
    let store = keychain();
    let account = Account::new(&store, "tokio");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // Plain sync calls, as the CLI makes them.
        store
            .set(&account.name, &SecretString::from(CANARY))
            .unwrap();
        assert_eq!(store.get(&account.name).unwrap().expose_secret(), CANARY);
        tokio::task::yield_now().await;
        store.delete(&account.name).unwrap();
        assert!(matches!(
            store.get(&account.name),
            Err(Error::NoEntry { .. })
        ));
    });
}

#[test]
#[ignore = "needs gnome-keyring on a private D-Bus; `cargo xtask ci` runs it"]
fn an_unreachable_bus_is_inaccessible_not_a_missing_entry() {
    let store = keychain();
    let account = Account::new(&store, "unreachable");
    // Stored, so a misreport as NoEntry could not pass for the truth.
    store
        .set(&account.name, &SecretString::from(CANARY))
        .unwrap();

    let start = Instant::now();
    let out = run_child(
        "inaccessible",
        &[],
        &[
            ("NOTIFY_KEYCHAIN_TEST_READ", &account.name),
            ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus"),
        ],
        &[],
    );
    let reason = child_reason(&out);
    assert!(
        reason.contains("cannot connect to the session D-Bus")
            && reason.contains("unix:path=/nonexistent/bus"),
        "{reason}"
    );

    // No session bus at all (cron): no keychain here, not a locked one.
    let out = run_child(
        "absent",
        &[],
        &[("NOTIFY_KEYCHAIN_TEST_READ", &account.name)],
        &["DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "XDG_RUNTIME_DIR"],
    );
    let reason = child_reason(&out);
    assert!(
        reason.contains("DBUS_SESSION_BUS_ADDRESS unset"),
        "{reason}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "failing took {:?}",
        start.elapsed()
    );
}

/// A private session bus (its config, written into `dir`) that can start
/// nothing: no service directories, so D-Bus activation brings up no
/// gnome-keyring (and no unlock prompt) behind a test's back.
fn bare_bus_config(dir: &std::path::Path) -> String {
    let config = dir.join("bus.conf");
    std::fs::write(&config, notify_testkit::desktop::bus_config(dir))
        .expect("the bus config is written");
    format!("--config-file={}", config.display())
}

#[test]
#[ignore = "needs gnome-keyring on a private D-Bus; `cargo xtask ci` runs it"]
fn a_bus_without_a_secret_service_is_no_keychain() {
    let _store = keychain();
    let dir = tempfile::tempdir().unwrap();
    let config_arg = bare_bus_config(dir.path());
    let out = run_child(
        "absent",
        &["dbus-run-session", &config_arg, "--"],
        &[("NOTIFY_KEYCHAIN_TEST_READ", "notify-test-no-service")],
        &[],
    );
    let reason = child_reason(&out);
    assert!(
        reason.contains("no Secret Service is running on the session D-Bus"),
        "{reason}"
    );
}

/// Starts a gnome-keyring of its own on the bare bus (`$1` is its home),
/// stores an item, locks the login collection and runs the rest of its
/// arguments; the daemon is stopped by its PID on the way out.
const LOCKED_SESSION: &str = r#"
d=$1; shift
mkdir -p "$d/home" "$d/data" "$d/run" && chmod 700 "$d/run" || exit 1
printf %s throwaway | HOME="$d/home" XDG_DATA_HOME="$d/data" XDG_RUNTIME_DIR="$d/run" \
    gnome-keyring-daemon --foreground --unlock --components=secrets >"$d/log" 2>&1 &
k=$!
trap 'kill "$k" 2>/dev/null; wait "$k" 2>/dev/null' EXIT
n=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'
do
    n=$((n + 1))
    if [ "$n" -ge 100 ]; then echo "no gnome-keyring:" >&2; cat "$d/log" >&2; exit 1; fi
    sleep 0.1
done
printf %s stored-before-locking | secret-tool store --label=notify-test service notify \
    username "$NOTIFY_KEYCHAIN_TEST_READ" || exit 1
dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
    org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login \
    >/dev/null || exit 1
"$@"
"#;

#[test]
#[ignore = "needs gnome-keyring on a private D-Bus; `cargo xtask ci` runs it"]
fn a_locked_keychain_is_inaccessible() {
    let _store = keychain();
    // Locking the shared keychain would disturb the other tests: this one
    // gets a bus and a gnome-keyring of its own.
    let dir = tempfile::tempdir().unwrap();
    let config_arg = bare_bus_config(dir.path());
    let home = dir.path().join("keyring");
    let home = home.to_str().expect("a UTF-8 temp dir");
    let start = Instant::now();
    let out = run_child(
        "inaccessible",
        &[
            "dbus-run-session",
            &config_arg,
            "--",
            "sh",
            "-c",
            LOCKED_SESSION,
            "sh",
            home,
        ],
        &[("NOTIFY_KEYCHAIN_TEST_READ", "notify-test-locked")],
        &[],
    );
    let reason = child_reason(&out);
    assert!(reason.contains("the keychain is locked"), "{reason}");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "failing took {:?}",
        start.elapsed()
    );
}
