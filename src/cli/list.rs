//! `pushcheck list`: the catalogue and the coverage of every spec section.

use crate::conformance::{registry, spec};

/// The `list` output.
pub fn list() -> String {
    let mut out = String::new();
    for c in registry() {
        out.push_str(&format!(
            "{:7} {}  {}\n",
            c.level.as_str(),
            c.id,
            c.requirement
        ));
    }
    out.push_str(&spec::matrix());
    out
}
