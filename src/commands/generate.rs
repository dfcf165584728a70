//! `generate` (hidden): the man pages, the shell completions and the packaged first-boot unit,
//! made from the command line's definition, written under DIR (packaging/, the release
//! artefacts); with `--docs DIR`, the markdown reference too (docs/reference/).

use std::path::Path;

use crate::error::{Result, exit};

pub fn run(out: &Path, docs: Option<&Path>) -> Result<i32> {
    crate::docs::write_all(out, &crate::docs::files())?;
    if let Some(d) = docs {
        crate::docs::write_all(d, &crate::docs::reference())?;
    }
    Ok(exit::OK)
}
