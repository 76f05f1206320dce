//! The one error type of the binary, and the exit codes of SPEC section 8.

use std::fmt;

/// Exit codes of `send`, `test` and `queue flush` (and, for `run`, of notify's
/// own failures before the command started).
pub mod exit {
    /// Delivered, or nothing to send.
    pub const OK: u8 = 0;
    /// Permanent delivery failure (5xx, authentication refused, rejected
    /// recipient, an unwritable Maildir).
    pub const PERMANENT: u8 = 1;
    /// Usage error (bad flags).
    pub const USAGE: u8 = 2;
    /// Could neither deliver nor keep a copy (queue and local Maildir both
    /// unwritable); the whole notification went to stderr (EX_IOERR).
    pub const UNKEPT: u8 = 74;
    /// Queued for retry after a temporary failure (EX_TEMPFAIL).
    pub const TEMPORARY: u8 = 75;
    /// Configuration error, including a secret that cannot be obtained
    /// (EX_CONFIG).
    pub const CONFIG: u8 = 78;

    /// Each code with what it means: the manual page's EXIT STATUS.
    pub const MEANINGS: &[(u8, &str)] = &[
        (OK, "Delivered, or nothing to send (send, test, queue flush, sendmail); the check passed."),
        (PERMANENT, "Permanent delivery failure: a 5xx reply, authentication refused, a rejected recipient (a copy is kept in the local Maildir); doctor: a check failed."),
        (USAGE, "Usage error: bad flags."),
        (UNKEPT, "Could neither deliver nor keep a copy (the queue and the local Maildir cannot be written); the whole notification is on stderr."),
        (TEMPORARY, "Queued for retry after a temporary failure (EX_TEMPFAIL): the next notify run or notify queue flush delivers it."),
        (CONFIG, "Configuration error, including a password or token that cannot be obtained (EX_CONFIG)."),
    ];
}

/// An error reported once, at the edge, with an exit code and a hint.
#[derive(Debug)]
pub struct CliError {
    code: u8,
    message: String,
    hint: Option<String>,
}

impl CliError {
    /// An error with an explicit exit code.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
            hint: None,
        }
    }

    /// A configuration error (exit 78).
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(exit::CONFIG, message)
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(exit::USAGE, message)
    }

    /// The same error with another exit code.
    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }

    /// Adds a hint line.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Puts `context: ` before the message.
    pub fn prefixed(mut self, context: &str) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// The message, without `error: `.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The hint, if there is one.
    pub fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The exit code.
    pub fn code(&self) -> u8 {
        self.code
    }

    /// Writes the error the way notify reports every error: `error: ...`,
    /// then a blank line and `hint: ...` when there is one.
    pub fn report(&self) {
        super::diag(&self.to_string());
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CliError {}

/// Converts an error of a library transport into a CLI error with the right
/// exit code.
impl From<notify_core::TransportError> for CliError {
    fn from(e: notify_core::TransportError) -> Self {
        use notify_core::ErrorKind;
        let code = match e.kind() {
            ErrorKind::Temporary => exit::TEMPORARY,
            ErrorKind::Config => exit::CONFIG,
            _ => exit::PERMANENT,
        };
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        let err = CliError::new(code, message);
        match super::hints::transport(&e) {
            Some(h) => err.hint(h),
            None => err,
        }
    }
}
