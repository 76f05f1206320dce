use std::fmt;

/// A word that should have named one of a fixed set of choices did not.
///
/// Its message names the kind of thing, the value given and every accepted
/// value, e.g. ``unknown level `sometimes`; expected one of: never, always,
/// errors, warnings, changes``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    what: &'static str,
    value: String,
    expected: &'static [&'static str],
}

impl ParseError {
    /// An error for `value`, which should have been one of `expected`
    /// (`what` names the kind of thing, e.g. `level`).
    pub fn new(what: &'static str, value: &str, expected: &'static [&'static str]) -> Self {
        ParseError {
            what,
            value: value.to_owned(),
            expected,
        }
    }

    /// The value that was not understood.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The values that would have been accepted.
    pub fn expected(&self) -> &'static [&'static str] {
        self.expected
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} `{}`; expected one of: {}",
            self.what,
            self.value,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for ParseError {}
