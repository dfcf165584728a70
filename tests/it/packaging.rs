//! The generated files kept in packaging/ (man pages, completions, the packaged unit) are the
//! ones `swarmnode generate` makes from the command line's definition now.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::bin;

fn tree(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for sub in ["man", "completions", "systemd"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
            for e in rd.flatten() {
                out.insert(format!("{sub}/{}", e.file_name().to_string_lossy()));
            }
        }
    }
    out
}

#[test]
fn the_generated_files_in_packaging_are_not_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(bin())
        .args(["generate", "--out"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging");
    let fix = "run `cargo run -- generate --out packaging` and commit the result";
    let made = tree(tmp.path());
    assert_eq!(
        made,
        tree(&kept),
        "packaging/ has other files than generated: {fix}"
    );
    assert!(made.contains("man/swarmnode.8") && made.contains("completions/swarmnode.bash"));
    for f in &made {
        let a = std::fs::read(tmp.path().join(f)).unwrap();
        let b = std::fs::read(kept.join(f)).unwrap();
        assert!(a == b, "packaging/{f} is stale: {fix}");
    }
}

#[test]
fn the_packaged_unit_runs_the_packaged_binary() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/systemd/swarmnode-firstboot.service"),
    )
    .unwrap();
    assert!(
        unit.contains("\nExecStart=/usr/sbin/swarmnode apply\n"),
        "{unit}"
    );
}
