//! The conformance suite: what any [`Store`] backend must do. A backend is done when `run` passes.
//!
//! Each check starts from an empty store the caller provides (a fresh temporary directory).

use crate::Store;

/// Runs every check against a fresh, empty store; panics (test failure) on the first violation.
pub async fn run(store: &dyn Store) {
    let _ = store;
    todo!("TODO(#2)")
}
