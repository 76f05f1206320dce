//! The pipeline with injected transports and stores: every branch of what
//! happens after a delivery, without a network, a keychain or a desktop.
//! (The real transports are tested against a real SMTP server, keychain
//! and notification daemon in `tests/`.)

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use notify_core::{
    Delivery, ErrorKind, MockTransport, Notification, Outcome, StubTransport, TaskResult,
    Transport, TransportError,
};
use notify_queue::Queue;
use notify_secrets::{MemoryStore, MockSecretStore, SecretRef, SecretStore, SecretString};
use notify_smtp::SmtpConfig;

use super::{notify, retry, Caller, Connect};
use crate::app::cli::DeliveryArgs;
use crate::app::config::{self, Loaded};
use crate::app::error::exit;
use crate::app::{Env, Ui};

/// Builds each account's transport anew on request, as the real wiring
/// does.
type Factory = Box<dyn Fn() -> Box<dyn Transport> + Send + Sync>;

/// Stubs for every transport; the SMTP ones per account name.
struct Fake {
    smtp: BTreeMap<String, Factory>,
    maildir: StubTransport,
    desktop: StubTransport,
    dry_run: StubTransport,
    /// Every HTTP destination.
    http: StubTransport,
    store: Arc<dyn SecretStore>,
    /// The accounts whose transport was asked for, in order.
    opened: Mutex<Vec<String>>,
}

impl Fake {
    fn new() -> Self {
        let store = MemoryStore::new();
        for name in ["work", "other"] {
            store.set(name, &SecretString::from("pw")).unwrap();
        }
        Fake {
            smtp: BTreeMap::new(),
            maildir: StubTransport::new_ok(),
            desktop: StubTransport::new_ok(),
            dry_run: StubTransport::new_ok(),
            http: StubTransport::new_ok(),
            store: Arc::new(store),
            opened: Mutex::new(Vec::new()),
        }
    }

    /// Account `name` delivers through clones of `stub` (one record).
    fn smtp(mut self, name: &str, stub: &StubTransport) -> Self {
        let stub = stub.clone();
        self.smtp
            .insert(name.to_owned(), Box::new(move || Box::new(stub.clone())));
        self
    }

    fn opened(&self) -> Vec<String> {
        self.opened.lock().unwrap().clone()
    }
}

/// Hands out one shared store.
struct Shared(Arc<dyn SecretStore>);

impl SecretStore for Shared {
    fn get(&self, account: &str) -> Result<SecretString, notify_secrets::Error> {
        self.0.get(account)
    }
    fn set(&self, account: &str, secret: &SecretString) -> Result<(), notify_secrets::Error> {
        self.0.set(account, secret)
    }
    fn delete(&self, account: &str) -> Result<(), notify_secrets::Error> {
        self.0.delete(account)
    }
}

impl Connect for Fake {
    fn oauth(
        &self,
        endpoints: notify_http::oauth::Endpoints,
        client_id: &str,
        client_secret: Option<notify_secrets::SecretString>,
    ) -> notify_http::oauth::OAuthClient {
        // Never asked here: no test account signs in with OAuth.
        let tls = notify_smtp::tls_client_config(None, &notify_smtp::SystemRoots::Compiled, false)
            .unwrap();
        let http = notify_http::HttpClient::new(tls, std::time::Duration::from_secs(1));
        notify_http::oauth::OAuthClient::new(http, endpoints, client_id, client_secret)
    }

    fn secret_store(&self, _reference: &SecretRef) -> Option<Box<dyn SecretStore>> {
        Some(Box::new(Shared(self.store.clone())))
    }

    fn smtp(&self, name: &str, config: SmtpConfig) -> Result<Box<dyn Transport>, TransportError> {
        assert!(config.credentials.is_some(), "the secret was added");
        self.opened.lock().unwrap().push(name.to_owned());
        let factory = self
            .smtp
            .get(name)
            .unwrap_or_else(|| panic!("no transport for account {name}"));
        Ok(factory())
    }

    fn maildir(&self) -> Box<dyn Transport> {
        Box::new(self.maildir.clone())
    }

    fn desktop(&self) -> Box<dyn Transport> {
        Box::new(self.desktop.clone())
    }

    fn dry_run(&self) -> Box<dyn Transport> {
        Box::new(self.dry_run.clone())
    }

    fn http(
        &self,
        _spec: super::http::HttpSpec,
        _start: bool,
    ) -> Result<Box<dyn Transport>, TransportError> {
        Ok(Box::new(self.http.clone()))
    }
}

/// A data directory and a config file written from `toml`.
struct Setup {
    dir: tempfile::TempDir,
    loaded: Loaded,
    ui: Ui,
}

const ACCOUNTS: &str = r#"
[email]
account = "work"
to = ["ops@example.com"]
level = "always"

[accounts.work]
from = "Backups <backup@example.com>"
server = "smtp.example.com:587"
password = "keychain"

[accounts.other]
from = "Other <other@example.org>"
server = "smtp.example.org:587"
password = "keychain"
"#;

impl Setup {
    fn new(extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, format!("{ACCOUNTS}\n{extra}")).unwrap();
        let loaded = config::load(&path, true).unwrap();
        Setup {
            dir,
            loaded,
            ui: Ui::silent(),
        }
    }

    fn env(&self) -> Env<'_> {
        Env {
            loaded: &self.loaded,
            config_path: self.dir.path(),
            data_dir: self.dir.path(),
            offset: time::UtcOffset::UTC,
            ui: &self.ui,
            notices: Vec::new(),
        }
    }

    fn queue(&self) -> Queue {
        Queue::new(self.dir.path())
    }

    fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

fn failed_run() -> TaskResult {
    let mut r = TaskResult::new("Nightly", Outcome::Failure);
    r.exit_code = Some(2);
    r
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn send(setup: &Setup, fake: &Fake, flags: &DeliveryArgs) -> Result<u8, u8> {
    block_on(notify(
        &setup.env(),
        fake,
        &failed_run(),
        flags,
        None,
        Caller::Send,
        None,
    ))
    .map_err(|e| e.code())
}

#[test]
fn a_delivered_mail_goes_through_the_accounts_transport_only() {
    let setup = Setup::new("");
    let smtp = StubTransport::new_ok();
    let fake = Fake::new().smtp("work", &smtp);
    assert_eq!(send(&setup, &fake, &DeliveryArgs::default()), Ok(exit::OK));
    let sent = smtp.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, ["ops@example.com"]);
    assert!(sent[0].subject.contains("Nightly"), "{}", sent[0].subject);
    assert!(fake.maildir.messages().is_empty());
    assert!(setup.queue().list().0.is_empty());
}

#[test]
fn a_temporary_failure_is_queued_and_nothing_else() {
    let setup = Setup::new("");
    let smtp = StubTransport::new_error(ErrorKind::Temporary, "451 4.3.0 try later");
    let fake = Fake::new().smtp("work", &smtp);
    assert_eq!(
        send(&setup, &fake, &DeliveryArgs::default()),
        Err(exit::TEMPORARY)
    );
    let queued = setup.queue().list().0;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].account.as_deref(), Some("work"));
    assert!(
        queued[0].last_error.contains("451"),
        "{}",
        queued[0].last_error
    );
    assert!(
        fake.maildir.messages().is_empty(),
        "no local copy when queued"
    );
}

#[test]
fn a_permanent_failure_is_reported_with_a_local_copy() {
    let setup = Setup::new("");
    let smtp = StubTransport::new_error(ErrorKind::Permanent, "550 5.1.1 no such user");
    let fake = Fake::new().smtp("work", &smtp);
    assert_eq!(
        send(&setup, &fake, &DeliveryArgs::default()),
        Err(exit::PERMANENT)
    );
    assert!(setup.queue().list().0.is_empty());
    let copies = fake.maildir.messages();
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0].subject, smtp.messages()[0].subject);
}

#[test]
fn a_configuration_failure_is_reported_with_a_local_copy() {
    let setup = Setup::new("");
    let smtp = StubTransport::new_error(ErrorKind::Config, "bad address");
    let fake = Fake::new().smtp("work", &smtp);
    assert_eq!(
        send(&setup, &fake, &DeliveryArgs::default()),
        Err(exit::CONFIG)
    );
    assert!(setup.queue().list().0.is_empty());
    assert_eq!(fake.maildir.messages().len(), 1);
}

#[test]
fn a_locked_keychain_queues_without_connecting() {
    let setup = Setup::new("");
    let smtp = StubTransport::new_ok();
    let mut fake = Fake::new().smtp("work", &smtp);
    let mut store = MockSecretStore::new();
    store.expect_get().times(1).returning(|_| {
        Err(notify_secrets::Error::Inaccessible {
            reason: "the keychain is locked".into(),
        })
    });
    fake.store = Arc::new(store);
    assert_eq!(
        send(&setup, &fake, &DeliveryArgs::default()),
        Err(exit::TEMPORARY)
    );
    assert!(fake.opened().is_empty(), "no connection without the secret");
    assert_eq!(setup.queue().list().0.len(), 1);
    assert!(fake.maildir.messages().is_empty());
}

#[test]
fn a_missing_secret_is_a_configuration_error_with_a_local_copy() {
    let setup = Setup::new("");
    let smtp = StubTransport::new_ok();
    let fake = Fake::new().smtp("work", &smtp);
    fake.store.delete("work").unwrap();
    assert_eq!(
        send(&setup, &fake, &DeliveryArgs::default()),
        Err(exit::CONFIG)
    );
    assert!(fake.opened().is_empty());
    assert!(smtp.messages().is_empty());
    assert!(setup.queue().list().0.is_empty());
    assert_eq!(fake.maildir.messages().len(), 1);
}

#[test]
fn one_destination_failing_does_not_stop_another() {
    let setup = Setup::new(
        r#"
[[email.also]]
account = "other"
to = ["boss@example.org"]
"#,
    );
    let mut failing = MockTransport::new();
    failing
        .expect_send()
        .times(1)
        .returning(|_| Err(TransportError::new(ErrorKind::Permanent, "554 rejected")));
    let failing = Mutex::new(Some(failing));
    let mut working = MockTransport::new();
    working
        .expect_send()
        .withf(|n: &Notification| n.to == ["boss@example.org"])
        .times(1)
        .returning(|_| Ok(Delivery::new("250 ok")));
    let working = Mutex::new(Some(working));
    let mut fake = Fake::new();
    fake.smtp.insert(
        "work".into(),
        Box::new(move || Box::new(failing.lock().unwrap().take().unwrap())),
    );
    fake.smtp.insert(
        "other".into(),
        Box::new(move || Box::new(working.lock().unwrap().take().unwrap())),
    );
    // The worst failure is the result; the other destination was served.
    assert_eq!(
        send(&setup, &fake, &DeliveryArgs::default()),
        Err(exit::PERMANENT)
    );
    assert_eq!(fake.opened(), ["work", "other"]);
    assert_eq!(fake.maildir.messages().len(), 1, "a copy of the failed one");
}

#[test]
fn a_broken_template_falls_back_to_the_default_and_says_so() {
    let setup = Setup::new("");
    let mut loaded = setup.loaded.clone();
    loaded.config.email.subject = Some("##Nope## of ##Task Name##".into());
    let setup = Setup { loaded, ..setup };
    let smtp = StubTransport::new_ok();
    let fake = Fake::new().smtp("work", &smtp);
    assert_eq!(send(&setup, &fake, &DeliveryArgs::default()), Ok(exit::OK));
    let sent = smtp.messages();
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].subject.contains("##"), "{}", sent[0].subject);
    assert!(sent[0].subject.contains("Nightly"), "{}", sent[0].subject);
    assert!(
        sent[0].text.contains("Nope"),
        "the mail names the problem: {}",
        sent[0].text
    );
}

#[test]
fn a_dry_run_shows_the_mail_and_sends_nothing() {
    let setup = Setup::new("");
    let smtp = StubTransport::new_ok();
    let fake = Fake::new().smtp("work", &smtp);
    let flags = DeliveryArgs {
        dry_run: true,
        ..DeliveryArgs::default()
    };
    assert_eq!(send(&setup, &fake, &flags), Ok(exit::OK));
    assert_eq!(fake.dry_run.messages().len(), 1);
    assert!(fake.opened().is_empty());
    assert!(smtp.messages().is_empty());
}

#[test]
fn without_an_account_the_mail_goes_to_the_maildir() {
    let setup = Setup::new("");
    let mut loaded = setup.loaded.clone();
    loaded.config.email.account = None;
    let setup = Setup { loaded, ..setup };
    let fake = Fake::new();
    assert_eq!(send(&setup, &fake, &DeliveryArgs::default()), Ok(exit::OK));
    assert_eq!(fake.maildir.messages().len(), 1);
    assert!(fake.opened().is_empty());
}

#[test]
fn the_desktop_gets_its_own_notice_and_an_unreachable_one_is_no_error() {
    let setup = Setup::new("");
    let smtp = StubTransport::new_ok();
    let fake = Fake::new().smtp("work", &smtp);
    fake.desktop
        .fail_next(ErrorKind::Temporary, "no session bus");
    let flags = DeliveryArgs {
        desktop: true,
        ..DeliveryArgs::default()
    };
    assert_eq!(send(&setup, &fake, &flags), Ok(exit::OK));
    assert_eq!(fake.desktop.messages().len(), 1);
    assert_eq!(smtp.messages().len(), 1);
}

#[test]
fn the_retry_sends_each_account_as_one_batch_and_settles_each_entry() {
    let setup = Setup::new("");
    let queue = setup.queue();
    let now = time::OffsetDateTime::now_utc();
    for subject in ["a", "b", "c"] {
        let n = {
            let mut built = Notification::default();
            built.subject = subject.into();
            built
        };
        queue.enqueue(Some("work"), "T", &n, "451", now).unwrap();
    }
    let local = {
        let mut built = Notification::default();
        built.subject = "local".into();
        built
    };
    queue.enqueue(None, "L", &local, "disk full", now).unwrap();

    let mut batched = MockTransport::new();
    batched
        .expect_send_batch()
        .times(1)
        .returning(|notifications, report| {
            let subjects: Vec<&str> = notifications.iter().map(|n| n.subject.as_str()).collect();
            assert_eq!(subjects, ["a", "b", "c"]);
            report(0, Ok(Delivery::new("250")));
            report(
                1,
                Err(TransportError::new(ErrorKind::Temporary, "421 busy")),
            );
            report(2, Err(TransportError::new(ErrorKind::Permanent, "550 no")));
        });
    let batched = Mutex::new(Some(batched));
    let mut fake = Fake::new();
    fake.smtp.insert(
        "work".into(),
        Box::new(move || Box::new(batched.lock().unwrap().take().unwrap())),
    );
    let flushed = block_on(retry::retry(&setup.env(), &fake, true, usize::MAX));
    assert_eq!(
        (flushed.delivered, flushed.still_queued, flushed.gave_up),
        (2, 1, 1)
    );
    assert_eq!(fake.opened(), ["work"], "one transport for the account");
    assert_eq!(fake.maildir.messages()[0].subject, "local");
    let left = Queue::new(setup.data_dir()).list().0;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].subject, "b");
    assert_eq!(left[0].attempts, 2);
    let failed = Queue::new(setup.data_dir()).list_failed().0;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].subject, "c");
}

#[test]
fn a_queued_entry_whose_secret_is_locked_stays_queued() {
    let setup = Setup::new("");
    let n = {
        let mut built = Notification::default();
        built.subject = "a".into();
        built
    };
    setup
        .queue()
        .enqueue(
            Some("work"),
            "T",
            &n,
            "451",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    let mut fake = Fake::new();
    let store = MemoryStore::new();
    store.fail_next(notify_secrets::Error::Inaccessible {
        reason: "locked".into(),
    });
    fake.store = Arc::new(store);
    let flushed = block_on(retry::retry(&setup.env(), &fake, true, usize::MAX));
    assert_eq!((flushed.delivered, flushed.still_queued), (0, 1));
    assert!(fake.opened().is_empty());
}
