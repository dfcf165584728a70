//! `generate` (hidden): the man pages, the shell completions and the packaged first-boot unit,
//! made from the command line's definition, written under DIR (packaging/, the release
//! artefacts).

use std::path::Path;

use crate::error::{Result, exit};

pub fn run(out: &Path) -> Result<i32> {
    crate::docs::write_all(out).map(|()| exit::OK)
}
