//! `pushcheck list`: the catalogue and the coverage of every spec section.

use crate::conformance::{registry, spec};

/// Flags of `list`.
#[derive(Debug, Default, clap::Args)]
pub struct ListArgs {
    /// Print the catalogue as Markdown (what `docs/catalogue.md` holds):
    /// id, section, level, requirement and security flag of every case.
    #[arg(long)]
    pub markdown: bool,
}

/// The `list` output.
pub fn list(args: &ListArgs) -> String {
    if args.markdown {
        return crate::report::catalogue::markdown(&registry());
    }
    let mut out = String::new();
    for c in registry() {
        out.push_str(&format!(
            "{:7} {}{}  {}\n",
            c.level.as_str(),
            c.id,
            if c.security { " [security]" } else { "" },
            c.requirement
        ));
    }
    out.push_str(&spec::matrix());
    out
}
