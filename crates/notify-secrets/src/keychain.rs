//! The OS keychain backend (`password = "keychain"`), through the `keyring`
//! crate: the Secret Service over D-Bus on Linux (gnome-keyring, KWallet,
//! KeePassXC), the Keychain on macOS, Credential Manager on Windows. Items
//! are stored under service [`KEYCHAIN_SERVICE`] with the account name as
//! user.
//!
//! The native store is picked here, per target, never through keyring's
//! process-wide default: keyring built without a store feature (or on a
//! system it has no store for) silently falls back to an in-memory mock
//! that forgets everything when the process ends. Where notify has no
//! native store, every call fails with [`Error::Inaccessible`] instead.
//!
//! Calls are synchronous and may block on D-Bus (or on an unlock prompt),
//! so each runs on a helper thread and gives up after a timeout
//! ([`KEYCHAIN_TIMEOUT`]): a cron job never hangs on a keychain. Calling
//! them from inside a tokio runtime is fine (they do not need one).

use std::sync::mpsc;
use std::time::Duration;

use secrecy::SecretString;

use crate::{Error, SecretStore};

/// The keychain service every notify secret is stored under.
pub const KEYCHAIN_SERVICE: &str = "notify";

/// How long a keychain call may take (an unlock prompt included) before
/// [`KeychainStore`] gives up with [`Error::Inaccessible`].
pub const KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// `keychain`: the OS keychain, service `notify` (or another, see
/// [`KeychainStore::with_service`]), user = the account name.
///
/// Its `Debug` shows the service and the timeout only; no secret is ever
/// kept in it.
#[derive(Debug, Clone)]
pub struct KeychainStore {
    service: String,
    timeout: Duration,
}

impl Default for KeychainStore {
    fn default() -> Self {
        Self::new()
    }
}

impl KeychainStore {
    /// The OS keychain, with [`KEYCHAIN_TIMEOUT`].
    pub fn new() -> Self {
        KeychainStore {
            service: KEYCHAIN_SERVICE.to_owned(),
            timeout: KEYCHAIN_TIMEOUT,
        }
    }

    /// Stores under `service` instead of [`KEYCHAIN_SERVICE`]: for a
    /// program of your own that uses this crate, or tests that must not
    /// touch notify's items.
    pub fn with_service(mut self, service: impl Into<String>) -> Self {
        self.service = service.into();
        self
    }

    /// The keychain service the items are stored under.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Changes how long a call may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs `op` on a helper thread, so a keychain that never answers
    /// costs [`Self::with_timeout`] at most. A thread that does not answer
    /// in time is left behind; it holds no secret of ours beyond what it
    /// was given.
    fn call<T: Send + 'static>(
        &self,
        account: &str,
        op: impl FnOnce(&str, &str) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (tx, rx) = mpsc::channel();
        let owned = account.to_owned();
        let service = self.service.clone();
        let spawned = std::thread::Builder::new()
            .name("notify-keychain".into())
            .spawn(move || {
                let _ = tx.send(op(&service, &owned));
            });
        if let Err(e) = spawned {
            return Err(Error::Inaccessible {
                reason: format!("cannot start a thread for the keychain call: {e}"),
            });
        }
        match rx.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::Inaccessible {
                reason: format!(
                    "the keychain did not answer within {} s (is it waiting for an unlock \
                     prompt nobody can see?)",
                    self.timeout.as_secs()
                ),
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::Inaccessible {
                reason: "the keychain call failed unexpectedly (its thread panicked)".into(),
            }),
        }
    }
}

impl SecretStore for KeychainStore {
    fn get(&self, account: &str) -> Result<SecretString, Error> {
        self.call(account, native::get)
    }

    fn set(&self, account: &str, secret: &SecretString) -> Result<(), Error> {
        // The helper thread needs its own copy (zeroized when dropped).
        let secret = secret.clone();
        self.call(account, move |service, account| {
            native::set(service, account, &secret)
        })
    }

    fn delete(&self, account: &str) -> Result<(), Error> {
        self.call(account, native::delete)
    }
}

#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
mod native {
    use keyring::Entry;
    use secrecy::{ExposeSecret, SecretSlice, SecretString};

    use crate::Error;

    /// The platform's own store, named explicitly (see the module docs).
    fn entry(service: &str, account: &str) -> Result<Entry, Error> {
        #[cfg(target_os = "linux")]
        let builder = keyring::secret_service::default_credential_builder();
        #[cfg(target_os = "macos")]
        let builder = keyring::macos::default_credential_builder();
        #[cfg(target_os = "windows")]
        let builder = keyring::windows::default_credential_builder();
        let credential = builder
            .build(None, service, account)
            .map_err(|e| map_error(e, service, account))?;
        Ok(Entry::new_with_credential(credential))
    }

    pub(super) fn get(service: &str, account: &str) -> Result<SecretString, Error> {
        let entry = entry(service, account)?;
        match entry.get_password() {
            Ok(password) => Ok(SecretString::from(password)),
            Err(e) => Err(map_error(e, service, account)),
        }
    }

    pub(super) fn set(service: &str, account: &str, secret: &SecretString) -> Result<(), Error> {
        entry(service, account)?
            .set_password(secret.expose_secret())
            .map_err(|e| map_error(e, service, account))
    }

    pub(super) fn delete(service: &str, account: &str) -> Result<(), Error> {
        match entry(service, account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_error(e, service, account)),
        }
    }

    /// keyring's error as ours. keyring's errors can carry secret bytes
    /// (`BadEncoding`): only what is known to be safe is kept.
    fn map_error(e: keyring::Error, service: &str, account: &str) -> Error {
        match e {
            keyring::Error::NoEntry => Error::NoEntry {
                account: account.to_owned(),
            },
            keyring::Error::NoStorageAccess(inner) => Error::Inaccessible {
                reason: no_access_reason(inner.as_ref()),
            },
            keyring::Error::PlatformFailure(inner) if absent(inner.as_ref()) => Error::NoKeychain {
                reason: failure_reason(inner.as_ref()),
            },
            keyring::Error::PlatformFailure(inner) => Error::Inaccessible {
                reason: failure_reason(inner.as_ref()),
            },
            keyring::Error::BadEncoding(bytes) => {
                drop(SecretSlice::from(bytes));
                Error::Inaccessible {
                    reason: format!(
                        "the keychain item of account `{account}` is not UTF-8 text; \
                         store the password again with `notify account set-password {account}`"
                    ),
                }
            }
            keyring::Error::TooLong(attribute, limit) => Error::Unsupported(format!(
                "the keychain refuses the {attribute} of account `{account}`: it is longer \
                 than {limit} characters"
            )),
            keyring::Error::Invalid(attribute, reason) => Error::Unsupported(format!(
                "the keychain refuses the {attribute} of account `{account}`: {reason}"
            )),
            keyring::Error::Ambiguous(items) => Error::Unsupported(format!(
                "{} keychain items match service `{service}` and account `{account}`; \
                 delete the extra ones (e.g. `secret-tool clear service {service} \
                 username {account}` on Linux removes them all) and store the password again \
                 with `notify account set-password {account}`",
                items.len()
            )),
            other => Error::Inaccessible {
                reason: format!("the keychain failed: {}", describe(&other)),
            },
        }
    }

    /// keyring's own text for errors that hold no secret.
    fn describe(e: &keyring::Error) -> String {
        match e {
            keyring::Error::BadEncoding(_) | keyring::Error::Ambiguous(_) => {
                "unexpected answer".into()
            }
            other => other.to_string(),
        }
    }

    #[cfg(target_os = "linux")]
    fn no_access_reason(inner: &(dyn std::error::Error + 'static)) -> String {
        use dbus_secret_service::Error as Ss;
        match inner.downcast_ref::<Ss>() {
            Some(Ss::Locked) => locked(),
            Some(Ss::Prompt) => "the keychain is locked and its unlock prompt was dismissed \
                                 or could not be shown (no desktop session?)"
                .into(),
            Some(Ss::NoResult) => {
                "the Secret Service found no keyring to use (is there a default collection?)".into()
            }
            _ => format!("the Secret Service refused access: {inner}"),
        }
    }

    #[cfg(target_os = "linux")]
    fn locked() -> String {
        "the keychain is locked (unlock the login keyring, e.g. by logging in to the desktop \
         or with your keyring manager)"
            .into()
    }

    #[cfg(target_os = "linux")]
    fn failure_reason(inner: &(dyn std::error::Error + 'static)) -> String {
        use dbus_secret_service::Error as Ss;
        let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS")
            .ok()
            .filter(|a| !a.is_empty());
        match inner.downcast_ref::<Ss>() {
            Some(Ss::Dbus(e)) => {
                let name = e.name().unwrap_or("");
                let message = e.message().unwrap_or("").trim();
                match name {
                    "org.freedesktop.Secret.Error.IsLocked" => locked(),
                    "org.freedesktop.DBus.Error.NoReply" | "org.freedesktop.DBus.Error.Timeout" => {
                        format!("the Secret Service did not answer{}", detail(name, message))
                    }
                    "org.freedesktop.DBus.Error.ServiceUnknown"
                    | "org.freedesktop.DBus.Error.NameHasNoOwner" => {
                        "no Secret Service is running on the session D-Bus (nothing owns \
                         org.freedesktop.secrets; start gnome-keyring, KWallet or KeePassXC's \
                         Secret Service)"
                            .into()
                    }
                    // libdbus's own words here are about X11 autolaunch.
                    _ if bus.is_none() => "no Secret Service is reachable: there is no \
                                           session D-Bus (DBUS_SESSION_BUS_ADDRESS unset, as \
                                           under cron, systemd services and ssh)"
                        .into(),
                    "org.freedesktop.DBus.Error.NoServer"
                    | "org.freedesktop.DBus.Error.FileNotFound"
                    | "org.freedesktop.DBus.Error.BadAddress"
                    | "org.freedesktop.DBus.Error.NoNetwork"
                    | "org.freedesktop.DBus.Error.Disconnected"
                    | "org.freedesktop.DBus.Error.AccessDenied"
                    | "org.freedesktop.DBus.Error.AuthFailed" => format!(
                        "cannot connect to the session D-Bus at DBUS_SESSION_BUS_ADDRESS={}{}",
                        bus.unwrap_or_default(),
                        detail(name, message)
                    ),
                    _ => format!("the Secret Service failed{}", detail(name, message)),
                }
            }
            Some(Ss::Unavailable) => {
                "no Secret Service is reachable (no session D-Bus, or nothing owns \
                 org.freedesktop.secrets)"
                    .into()
            }
            Some(Ss::Locked | Ss::Prompt | Ss::NoResult) => no_access_reason(inner),
            _ => format!("the Secret Service failed: {inner}"),
        }
    }

    /// Whether the failure says there is no keychain here at all (no Secret
    /// Service running, no session bus), as opposed to one that is locked
    /// or did not answer this time.
    #[cfg(target_os = "linux")]
    fn absent(inner: &(dyn std::error::Error + 'static)) -> bool {
        use dbus_secret_service::Error as Ss;
        let no_bus = std::env::var("DBUS_SESSION_BUS_ADDRESS")
            .ok()
            .filter(|a| !a.is_empty())
            .is_none();
        match inner.downcast_ref::<Ss>() {
            Some(Ss::Dbus(e)) => {
                let name = e.name().unwrap_or("");
                name != "org.freedesktop.Secret.Error.IsLocked"
                    && (no_bus
                        || matches!(
                            name,
                            "org.freedesktop.DBus.Error.ServiceUnknown"
                                | "org.freedesktop.DBus.Error.NameHasNoOwner"
                        ))
            }
            Some(Ss::Unavailable) => true,
            _ => false,
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn absent(_inner: &(dyn std::error::Error + 'static)) -> bool {
        false
    }

    #[cfg(target_os = "linux")]
    fn detail(name: &str, message: &str) -> String {
        match (name.is_empty(), message.is_empty()) {
            (true, true) => String::new(),
            (false, true) => format!(" ({name})"),
            (true, false) => format!(" ({message})"),
            (false, false) => format!(" ({name}: {message})"),
        }
    }

    #[cfg(target_os = "macos")]
    fn no_access_reason(inner: &(dyn std::error::Error + 'static)) -> String {
        format!("the macOS Keychain is locked or refused access: {inner}")
    }

    #[cfg(target_os = "macos")]
    fn failure_reason(inner: &(dyn std::error::Error + 'static)) -> String {
        format!("the macOS Keychain failed: {inner}")
    }

    #[cfg(target_os = "windows")]
    fn no_access_reason(inner: &(dyn std::error::Error + 'static)) -> String {
        format!("Windows Credential Manager refused access: {inner}")
    }

    #[cfg(target_os = "windows")]
    fn failure_reason(inner: &(dyn std::error::Error + 'static)) -> String {
        format!("Windows Credential Manager failed: {inner}")
    }
}

/// Systems keyring has no native store for: refuse, never fall back to a
/// store that forgets.
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
mod native {
    use secrecy::SecretString;

    use crate::Error;

    fn unsupported() -> Error {
        Error::Inaccessible {
            reason: "notify has no OS keychain backend for this system".into(),
        }
    }

    pub(super) fn get(_service: &str, _account: &str) -> Result<SecretString, Error> {
        Err(unsupported())
    }

    pub(super) fn set(_service: &str, _account: &str, _secret: &SecretString) -> Result<(), Error> {
        Err(unsupported())
    }

    pub(super) fn delete(_service: &str, _account: &str) -> Result<(), Error> {
        Err(unsupported())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keychain_that_never_answers_costs_the_timeout_only() {
        let store = KeychainStore::new().with_timeout(Duration::from_millis(50));
        let start = std::time::Instant::now();
        let e = store
            .call("work", |_, _| {
                std::thread::sleep(Duration::from_secs(2));
                Ok(())
            })
            .unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(matches!(e, Error::Inaccessible { .. }), "{e:?}");
        assert!(e.to_string().contains("did not answer"), "{e}");
    }

    #[test]
    fn a_panicking_call_is_an_error_not_a_panic() {
        let store = KeychainStore::new();
        let e = store
            .call("work", |_, _| -> Result<(), Error> { panic!("boom") })
            .unwrap_err();
        assert!(matches!(e, Error::Inaccessible { .. }), "{e:?}");
    }

    #[test]
    fn debug_shows_no_secret_and_the_account_reaches_the_call() {
        let store = KeychainStore::new();
        assert!(!format!("{store:?}").contains("canary"));
        let got = store.call("wörk", |_, a| Ok(a.to_owned())).unwrap();
        assert_eq!(got, "wörk");
        let store = store.with_service("elsewhere");
        let got = store.call("wörk", |s, _| Ok(s.to_owned())).unwrap();
        assert_eq!(got, "elsewhere");
    }
}
