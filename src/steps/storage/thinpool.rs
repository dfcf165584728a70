//! The devicemapper direct-lvm thin pool: `VG/thinpool`, made by one `lvcreate --type thin-pool`
//! (data as %VG, metadata as a size worked out from %VG, chunk size, zeroing off, the LVM profile
//! `docker-thinpool` with its autoextend settings attached, monitored, tagged). An existing pool
//! is never converted, recreated or given new metadata; what it lacks (the profile, zeroing off,
//! activation, monitoring) is set on it.
//!
//! That `lvcreate` is one command but not one step for LVM, and a run killed while it runs (power
//! lost, SIGKILL) can leave, as seen in the guest: LVM's untagged metadata volume `lvol0` while it
//! is being zeroed (refused: it carries no tag, so it is not proven ours); the tagged data volume
//! `thinpool` still linear (removed and made again: it never held anything); or the pool made but
//! inactive with its two hidden components active (they are deactivated, then the pool activated).

use crate::error::{Refusal, Result};
use crate::host::cmd::Cmd;
use crate::host::lvm::{Lv, Lvm};
use crate::host::{Action, Host};
use crate::profile::{Storage, ThinPool};
use crate::steps::plan::StepPlan;

use super::volumes::{
    DATA_LV, LVM_PROFILE, LVM_PROFILE_PATH, META_LV, POOL_LV, TAG, Tags, foreign_lv, human,
    other_layout,
};

/// `device_bytes`: the disk's size, to work out the metadata size before its VG exists.
pub fn add(
    host: &Host,
    s: &Storage,
    lvm: &Lvm,
    device_bytes: u64,
    tags: &Tags,
    p: &mut StepPlan,
) -> Result<()> {
    let vg = s.volume_group.as_str();
    if let Some(l) = lvm.lv(vg, DATA_LV) {
        return Err(other_layout(vg, &l.lv_name, "a devicemapper thin pool"));
    }
    // The profile first: the pool is made with it attached.
    crate::steps::plan::add_write(
        host,
        p,
        "storage.lvm-profile",
        "autoextend settings",
        LVM_PROFILE_PATH,
        0o644,
        lvm_profile_text(s),
    )?;
    let pool_name = format!("{vg}/{POOL_LV}");
    let pool = lvm.lv(vg, POOL_LV).filter(|l| l.segtype == "thin-pool");
    match pool {
        None => {
            add_half_made(vg, lvm, p)?;
            p.actions
                .push(create(vg, &s.thinpool, lvm, device_bytes, tags));
        }
        Some(l) => {
            if l.lv_profile != LVM_PROFILE {
                p.actions.push(Action::run(
                    "storage.lvchange-profile",
                    "attach the autoextend profile to the pool",
                    Cmd::new("lvchange").args(["--metadataprofile", LVM_PROFILE, &pool_name]),
                ));
            }
            add_existing(vg, l, lvm, &s.thinpool, p);
        }
    }
    if let Some(w) = autoextend_warning(vg, &s.thinpool, lvm, pool) {
        p.warnings.push(w);
    }
    Ok(())
}

/// No pool yet: what an interrupted run left in the VG is removed when it carries the tag (plain
/// volumes named `thinpool`/`thinpoolmeta`: this version's lvcreate killed before the conversion,
/// or an older version's two volumes; nothing was ever put in them), refused when it does not.
fn add_half_made(vg: &str, lvm: &Lvm, p: &mut StepPlan) -> Result<()> {
    let mut remove = Vec::new();
    for name in [POOL_LV, META_LV] {
        let Some(l) = lvm.lv(vg, name) else { continue };
        if !l.has_tag(TAG) {
            return Err(foreign_lv(vg, l, "a thin pool"));
        }
        if l.is_open() {
            return Err(Refusal::new(
                "storage",
                format!("{vg}/{name}"),
                format!("it is a plain {} volume that something has open", l.segtype),
            )
            .remedy("find what uses it (lsblk, findmnt), stop that, and run again")
            .into());
        }
        remove.push(format!("{vg}/{name}"));
    }
    if let Some(l) = lvm
        .visible_lvs(vg)
        .into_iter()
        .find(|l| is_lvm_temporary(l))
    {
        return Err(lvm_temporary(vg, l));
    }
    if !remove.is_empty() {
        p.facts.push(format!(
            "{} left half-made by an interrupted run (tagged '{TAG}', never used)",
            remove.join(" and ")
        ));
        p.actions.push(Action::run(
            "storage.lvremove-half-made",
            "remove what the interrupted run left, then make the pool whole",
            Cmd::new("lvremove").arg("--yes").args(remove),
        ));
    }
    Ok(())
}

/// LVM's name for a volume made without one (`lvol0`), untagged and plain: what an lvcreate of
/// the pool killed midway leaves (its metadata volume, being zeroed).
fn is_lvm_temporary(l: &Lv) -> bool {
    l.lv_name
        .strip_prefix("lvol")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && l.segtype == "linear"
        && !l.has_tag(TAG)
}

fn lvm_temporary(vg: &str, l: &Lv) -> crate::error::Error {
    Refusal::new(
        "storage",
        format!("{vg}/{}", l.lv_name),
        format!(
            "volume group {vg} has no thin pool yet but holds this untagged plain volume ({}, made {}); \
             an lvcreate of the pool killed midway leaves one like it (the metadata volume it was \
             preparing), but without the '{TAG}' tag swarmnode cannot know it is not yours",
            human(l.lv_size),
            if l.lv_time.is_empty() { "at an unknown time" } else { l.lv_time.as_str() }
        ),
    )
    .remedy(format!(
        "if nothing of yours is in it: lvremove {vg}/{}, then run again",
        l.lv_name
    ))
    .into()
}

/// The one `lvcreate` of the pool: whole, or nothing.
fn create(vg: &str, t: &ThinPool, lvm: &Lvm, device_bytes: u64, tags: &Tags) -> Action {
    Action::run(
        "storage.lvcreate-pool",
        "the thin pool, whole in one command: profile attached, zeroing off, monitored, tagged",
        Cmd::new("lvcreate")
            .args([
                "--yes",
                "--type",
                "thin-pool",
                "--name",
                POOL_LV,
                "--extents",
                &format!("{}%VG", t.data_percent),
                "--poolmetadatasize",
                &metadata_size(vg, t, lvm, device_bytes),
                "--chunksize",
                t.chunk_size.as_str(),
                "--zero",
                "n",
                "--metadataprofile",
                LVM_PROFILE,
                "--monitor",
                "y",
            ])
            .args(tags.args())
            .arg(vg),
    )
}

/// The metadata size for `metadata_percent`% of the VG, in whole extents (at least one), as
/// `lvcreate --poolmetadatasize` takes it. Before the VG exists it is worked out from the disk the
/// way vgcreate lays it out: the first MiB for LVM's labels and metadata, then 4 MiB extents.
pub fn metadata_size(vg: &str, t: &ThinPool, lvm: &Lvm, device_bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    let (extent, count) = match lvm.vg(vg) {
        Some(g) if g.vg_extent_size > 0 => (g.vg_extent_size, g.vg_extent_count),
        _ => (4 * MIB, device_bytes.saturating_sub(MIB) / (4 * MIB)),
    };
    let extents = (count * u64::from(t.metadata_percent) / 100).max(1);
    let bytes = extents * extent;
    if bytes.is_multiple_of(MIB) {
        format!("{}m", bytes / MIB)
    } else {
        format!("{}k", bytes / 1024)
    }
}

/// An existing pool: zeroing off, active, monitored; its chunk size can only be reported.
fn add_existing(vg: &str, l: &Lv, lvm: &Lvm, t: &ThinPool, p: &mut StepPlan) {
    let pool_name = format!("{vg}/{POOL_LV}");
    p.facts.push(format!(
        "thin pool {pool_name} exists ({}): never converted or recreated",
        human(l.lv_size)
    ));
    if l.chunk_size != t.chunk_size.bytes() {
        p.warnings.push(format!(
            "{pool_name} has chunk size {} but the profile asks for {}; a pool's chunk size cannot change: left as it is",
            human(l.chunk_size),
            t.chunk_size.as_str()
        ));
    }
    if l.zero == "1" {
        p.actions.push(Action::run(
            "storage.lvchange-zero",
            "turn zeroing of new blocks off",
            Cmd::new("lvchange").args(["--zero", "n", &pool_name]),
        ));
    }
    if !l.is_active() {
        // LVM will not activate a pool while its components are active on their own (an
        // lvcreate killed midway leaves them so).
        let parts: Vec<String> = ["tmeta", "tdata"]
            .iter()
            .filter(|c| {
                lvm.lv(vg, &format!("[{POOL_LV}_{c}]"))
                    .is_some_and(Lv::is_active)
            })
            .map(|c| format!("{pool_name}_{c}"))
            .collect();
        if !parts.is_empty() {
            p.actions.push(Action::run(
                "storage.deactivate-components",
                "the pool's components are active on their own, which keeps the pool from activating",
                Cmd::new("lvchange").args(["--activate", "n"]).args(parts),
            ));
        }
        p.actions.push(Action::run(
            "storage.activate",
            "the pool is inactive: activate it (never re-convert)",
            Cmd::new("lvchange").args(["--activate", "y", &pool_name]),
        ));
    } else if l.seg_monitor != "monitored" {
        p.actions.push(Action::run(
            "storage.monitor",
            "autoextend only happens while dmeventd monitors the pool",
            Cmd::new("lvchange").args(["--monitor", "y", &pool_name]),
        ));
    }
}

/// Will autoextend ever be able to fire? It needs free extents in the VG.
fn autoextend_warning(vg: &str, t: &ThinPool, lvm: &Lvm, pool: Option<&Lv>) -> Option<String> {
    let (free_pct, pool_pct) = match (lvm.vg(vg), pool) {
        (Some(g), Some(l)) if g.vg_size > 0 => (
            g.vg_free as f64 * 100.0 / g.vg_size as f64,
            l.lv_size as f64 * 100.0 / g.vg_size as f64,
        ),
        _ => (
            (100 - t.data_percent - 2 * t.metadata_percent) as f64,
            t.data_percent as f64,
        ),
    };
    let need = pool_pct * t.autoextend_percent as f64 / 100.0;
    (t.autoextend_threshold < 100 && free_pct < need).then(|| {
        format!(
            "autoextend cannot fire: at {}% full the pool grows by {}% (~{need:.0}% of the VG), but only ~{free_pct:.0}% of \
             volume group {vg} is free (metadata and LVM's hidden spare take the rest); add a disk (vgextend {vg} DEV) \
             or lower storage.thinpool.data_percent",
            t.autoextend_threshold, t.autoextend_percent
        )
    })
}

pub fn lvm_profile_text(s: &Storage) -> String {
    format!(
        "# written by swarmnode: autoextend of the docker thin pool\nactivation {{\n    thin_pool_autoextend_threshold={}\n    thin_pool_autoextend_percent={}\n}}\n",
        s.thinpool.autoextend_threshold, s.thinpool.autoextend_percent
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::lvm::{fullreport_cmd, parse_fullreport};

    fn report(name: &str) -> Lvm {
        let path = format!(
            "{}/tests/fixtures/bookworm/fullreport-{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        parse_fullreport(&fullreport_cmd(), &std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn metadata_size_before_the_vg_matches_what_vgcreate_lays_out() {
        let t = ThinPool::default();
        // The guest's 4 GiB disk: vgcreate made 1023 extents of 4 MiB (fixture), 1% is 10 extents.
        let vg = report("tagged-vg");
        assert_eq!(vg.vg("docker").unwrap().vg_extent_count, 1023);
        assert_eq!(metadata_size("docker", &t, &vg, 4 << 30), "40m");
        assert_eq!(metadata_size("docker", &t, &Lvm::default(), 4 << 30), "40m");
        // 1 GiB: 255 extents, 1% rounds down to 2; never below one extent.
        assert_eq!(metadata_size("docker", &t, &Lvm::default(), 1 << 30), "8m");
        let tiny = ThinPool {
            metadata_percent: 1,
            ..t
        };
        assert_eq!(
            metadata_size("docker", &tiny, &Lvm::default(), 64 << 20),
            "4m"
        );
        let ten = ThinPool {
            metadata_percent: 10,
            ..ThinPool::default()
        };
        assert_eq!(
            metadata_size("docker", &ten, &Lvm::default(), 4 << 30),
            "408m"
        );
    }
}
