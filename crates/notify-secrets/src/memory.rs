use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use secrecy::{ExposeSecret, SecretString};

use crate::{Error, SecretStore};

/// An in-memory [`SecretStore`] for tests, with failures on demand.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    secrets: HashMap<String, SecretString>,
    fail_next: Option<Error>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next call (of any method) fail with `error`.
    pub fn fail_next(&self, error: Error) {
        self.lock().fail_next = Some(error);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take_failure(inner: &mut Inner) -> Result<(), Error> {
        inner.fail_next.take().map_or(Ok(()), Err)
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, account: &str) -> Result<SecretString, Error> {
        let mut inner = self.lock();
        Self::take_failure(&mut inner)?;
        inner
            .secrets
            .get(account)
            .map(|s| SecretString::from(s.expose_secret().to_owned()))
            .ok_or_else(|| Error::NoEntry {
                account: account.to_owned(),
            })
    }

    fn set(&self, account: &str, secret: &SecretString) -> Result<(), Error> {
        let mut inner = self.lock();
        Self::take_failure(&mut inner)?;
        inner.secrets.insert(
            account.to_owned(),
            SecretString::from(secret.expose_secret().to_owned()),
        );
        Ok(())
    }

    fn delete(&self, account: &str) -> Result<(), Error> {
        let mut inner = self.lock();
        Self::take_failure(&mut inner)?;
        inner.secrets.remove(account);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_and_fails_on_demand() {
        let store = MemoryStore::new();
        assert!(matches!(store.get("work"), Err(Error::NoEntry { .. })));
        store.set("work", &SecretString::from("canary-pw")).unwrap();
        assert_eq!(store.get("work").unwrap().expose_secret(), "canary-pw");
        store.fail_next(Error::Inaccessible {
            reason: "locked".into(),
        });
        assert!(matches!(store.get("work"), Err(Error::Inaccessible { .. })));
        assert_eq!(store.get("work").unwrap().expose_secret(), "canary-pw");
        store.delete("work").unwrap();
        store.delete("work").unwrap();
        assert!(matches!(store.get("work"), Err(Error::NoEntry { .. })));
        assert!(!format!("{store:?}").contains("canary-pw"));
    }
}
