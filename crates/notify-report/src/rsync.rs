//! The rsync reader (to be written): for now the generic reader.

use crate::{generic, EnvLookup, Findings, Invocation, Reader};

/// The reader for one rsync run.
pub(crate) fn reader(
    _invocation: &Invocation,
    _env: EnvLookup<'_>,
    _found: &mut Findings,
) -> Box<dyn Reader> {
    Box::new(generic::Generic)
}
