//! The devicemapper direct-lvm thin pool: `VG/thinpool` from two tagged linear volumes joined by
//! `lvconvert` (data and metadata as %VG, chunk size, zeroing off), the LVM profile
//! `docker-thinpool` (autoextend) attached, the pool active and monitored. A half-made pool (tagged
//! volumes an interrupted run left) is finished; an existing pool is never converted, recreated or
//! given new metadata.

use crate::error::Result;
use crate::host::cmd::Cmd;
use crate::host::lvm::{Lv, Lvm};
use crate::host::{Action, Host};
use crate::profile::{Storage, ThinPool};
use crate::steps::plan::StepPlan;

use super::volumes::{
    DATA_LV, LVM_PROFILE, LVM_PROFILE_PATH, META_LV, POOL_LV, TAG, foreign_lv, human, lvcreate,
    other_layout,
};

pub fn plan(host: &Host, s: &Storage, lvm: &Lvm, p: &mut StepPlan) -> Result<()> {
    let vg = s.volume_group.as_str();
    if let Some(l) = lvm.lv(vg, DATA_LV) {
        return Err(other_layout(vg, &l.lv_name, "a devicemapper thin pool"));
    }
    let pool = lvm.lv(vg, POOL_LV).filter(|l| l.segtype == "thin-pool");
    if pool.is_none() {
        plan_creation(vg, &s.thinpool, lvm, p)?;
    }
    crate::steps::plan::plan_write(
        host,
        p,
        "storage.lvm-profile",
        "autoextend settings",
        LVM_PROFILE_PATH,
        0o644,
        lvm_profile_text(s),
    )?;
    let pool_name = format!("{vg}/{POOL_LV}");
    if pool.is_none_or(|l| l.lv_profile != LVM_PROFILE) {
        p.actions.push(Action::run(
            "storage.lvchange-profile",
            "attach the autoextend profile to the pool",
            Cmd::new("lvchange").args(["--metadataprofile", LVM_PROFILE, &pool_name]),
        ));
    }
    if let Some(l) = pool {
        plan_existing(&pool_name, l, &s.thinpool, p);
    }
    if let Some(w) = autoextend_warning(vg, &s.thinpool, lvm, pool) {
        p.warnings.push(w);
    }
    Ok(())
}

/// Not a pool yet: fresh, or left half-made by an interrupted run (tagged linear volumes).
fn plan_creation(vg: &str, t: &ThinPool, lvm: &Lvm, p: &mut StepPlan) -> Result<()> {
    let pool_name = format!("{vg}/{POOL_LV}");
    let half_made = |l: &Lv| l.has_tag(TAG) && l.segtype == "linear" && !l.is_open();
    match lvm.lv(vg, POOL_LV) {
        None => p.actions.push(lvcreate(
            "storage.lvcreate-data",
            "thin pool data volume",
            vg,
            POOL_LV,
            t.data_percent,
        )),
        Some(l) if half_made(l) => p.facts.push(format!(
            "{pool_name} was left as a plain volume by an interrupted run: finishing it"
        )),
        Some(l) => return Err(foreign_lv(vg, l, "a thin pool")),
    }
    match lvm.lv(vg, META_LV) {
        None => p.actions.push(lvcreate(
            "storage.lvcreate-meta",
            "thin pool metadata volume",
            vg,
            META_LV,
            t.metadata_percent,
        )),
        Some(l) if half_made(l) => {}
        Some(l) => return Err(foreign_lv(vg, l, "thin pool metadata")),
    }
    p.actions.push(Action::run(
        "storage.lvconvert",
        "join data and metadata into the thin pool (only ever on volumes made by this step)",
        Cmd::new("lvconvert").args([
            "--yes",
            "--zero",
            "n",
            "--chunksize",
            t.chunk_size.as_str(),
            "--thinpool",
            &pool_name,
            "--poolmetadata",
            &format!("{vg}/{META_LV}"),
        ]),
    ));
    Ok(())
}

/// An existing pool: zeroing off, active, monitored; its chunk size can only be reported.
fn plan_existing(pool_name: &str, l: &Lv, t: &ThinPool, p: &mut StepPlan) {
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
            Cmd::new("lvchange").args(["--zero", "n", pool_name]),
        ));
    }
    if !l.is_active() {
        p.actions.push(Action::run(
            "storage.activate",
            "the pool is inactive: activate it (never re-convert)",
            Cmd::new("lvchange").args(["--activate", "y", pool_name]),
        ));
    } else if l.seg_monitor != "monitored" {
        p.actions.push(Action::run(
            "storage.monitor",
            "autoextend only happens while dmeventd monitors the pool",
            Cmd::new("lvchange").args(["--monitor", "y", pool_name]),
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
