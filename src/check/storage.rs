//! Storage health: the thin pool (how full, active, monitored by dmeventd, room in the VG for one
//! autoextend step, the autoextend profile attached) or overlay2's XFS volume (mounted at
//! /var/lib/docker with project quotas, space and inodes).

use crate::check::{Item, Metric, Status, TOOL_TIMEOUT, by_use, unobservable};
use crate::host::Host;
use crate::host::block::{self, Mount};
use crate::host::fstab;
use crate::host::lvm::{self, Lv, Lvm, Vg};
use crate::host::state::StorageRecord;
use crate::profile::{Check, Driver, Profile, Storage};
use crate::steps::storage::thinpool::lvm_profile_text;
use crate::steps::storage::volumes::{
    DOCKER_ROOT, DataVolume, LVM_PROFILE, LVM_PROFILE_PATH, POOL_LV, human,
};

pub fn check(h: &Host, profile: &Profile, c: &Check) -> Vec<Item> {
    let Some(s) = &profile.storage else {
        return vec![Item::absent("storage", "storage")];
    };
    let rec = match StorageRecord::read(h) {
        Ok(Some(r)) => r,
        Ok(None) => {
            return vec![
                Item::new(
                    "storage",
                    Status::Red,
                    format!(
                        "not set up: no record of the storage step ({})",
                        crate::host::state::STORAGE.path
                    ),
                )
                .detail("run `swarmnode apply` (or `swarmnode storage`)"),
            ];
        }
        Err(e) => return vec![unobservable("storage", &e)],
    };
    match rec.driver {
        Driver::Overlay2 => vec![volume(h, &rec, c)],
        _ => thinpool(h, s, &rec, c),
    }
}

fn read_lvm(h: &Host) -> crate::error::Result<Lvm> {
    let cmd = lvm::fullreport_cmd();
    let o = h.runner.output_timeout(&cmd, TOOL_TIMEOUT)?;
    if o.code != 0 {
        return Err(crate::error::Error::Failed(format!(
            "`lvm fullreport` exited {}: {}",
            o.code,
            o.stderr.trim()
        )));
    }
    Ok(lvm::parse_fullreport(&cmd, &o.stdout)?)
}

fn thinpool(h: &Host, s: &Storage, rec: &StorageRecord, c: &Check) -> Vec<Item> {
    let lvm = match read_lvm(h) {
        Ok(l) => l,
        Err(e) => return vec![unobservable("storage.thinpool", &e)],
    };
    let vg_name = &rec.volume_group;
    let (Some(vg), Some(pool)) = (lvm.vg(vg_name), lvm.lv(vg_name, POOL_LV)) else {
        return vec![
            Item::new(
                "storage.thinpool",
                Status::Red,
                format!("the thin pool {vg_name}/{POOL_LV} that storage recorded is missing"),
            )
            .detail(format!(
                "`lvs {vg_name}`; `swarmnode plan` says what apply would do"
            )),
        ];
    };
    let attached = h
        .read_text(LVM_PROFILE_PATH)
        .ok()
        .flatten()
        .is_some_and(|t| t == lvm_profile_text(s));
    judge_pool(vg, pool, s, attached, c)
}

/// The pool's two items from what LVM reports; `profile_file_ok`: the LVM profile file holds
/// what swarmnode writes.
pub fn judge_pool(vg: &Vg, pool: &Lv, s: &Storage, profile_file_ok: bool, c: &Check) -> Vec<Item> {
    let name = format!("{}/{}", vg.vg_name, POOL_LV);
    let pct = |t: &str| t.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    let fill = match (
        pool.is_active(),
        pct(&pool.data_percent),
        pct(&pool.metadata_percent),
    ) {
        (false, _, _) => Item::new(
            "storage.thinpool",
            Status::Red,
            format!("{name} is not active: docker cannot use it"),
        )
        .detail(format!(
            "`lvchange -ay {name}`, then `systemctl restart docker`"
        )),
        (true, Some(data), Some(meta)) => fill(vg, pool, &name, data, meta, c),
        _ => Item::new(
            "storage.thinpool",
            Status::Red,
            format!(
                "{name} reports no usage ({:?}, {:?}): is it a thin pool?",
                pool.data_percent, pool.metadata_percent
            ),
        ),
    };
    vec![fill, autoextend(vg, pool, s, profile_file_ok, &name)]
}

/// A pool that reports its use: metadata and data against the thresholds, with the metrics.
fn fill(vg: &Vg, pool: &Lv, name: &str, data: f64, meta: f64, c: &Check) -> Item {
    // Metadata first: a pool whose metadata runs out goes read-only, whatever its data.
    let status = by_use(meta, c).max(by_use(data, c));
    let mut item = Item::new(
        "storage.thinpool",
        status,
        format!(
            "metadata {meta:.1}%, data {data:.1}% of {} (warn {}%, crit {}%)",
            human(pool.lv_size),
            c.warn_percent,
            c.crit_percent
        ),
    )
    .metric(Metric::new(
        "swarmnode_thinpool_data_ratio",
        "used part of the thin pool's data (0 to 1)",
        data / 100.0,
    ))
    .metric(Metric::new(
        "swarmnode_thinpool_metadata_ratio",
        "used part of the thin pool's metadata (0 to 1)",
        meta / 100.0,
    ))
    .metric(Metric::new(
        "swarmnode_thinpool_size_bytes",
        "size of the thin pool's data",
        pool.lv_size as f64,
    ));
    if by_use(meta, c) > Status::Green {
        item = item.detail(format!(
            "metadata {meta:.1}% full: the pool goes read-only when it runs out; \
             `lvextend --poolmetadatasize +SIZE {name}` (needs free extents)"
        ));
    }
    if by_use(data, c) > Status::Green {
        item = item.detail(format!(
            "data {data:.1}% full: docker refuses new containers below dm.min_free_space \
             (10%); remove unused images (`docker system prune`) or add a disk \
             (`vgextend {} DEV`, then `lvextend -l +100%FREE {name}`)",
            vg.vg_name
        ));
    }
    item
}

/// Can autoextend fire: monitored by dmeventd, the profile attached, room for one step.
fn autoextend(vg: &Vg, pool: &Lv, s: &Storage, profile_file_ok: bool, name: &str) -> Item {
    let t = &s.thinpool;
    let monitored = pool.seg_monitor == "monitored";
    let step = pool.lv_size.saturating_mul(u64::from(t.autoextend_percent)) / 100;
    let metrics = autoextend_metrics(monitored, vg, step);
    let mut item = if !monitored {
        unmonitored(pool, name)
    } else if pool.lv_profile != LVM_PROFILE || !profile_file_ok {
        Item::new(
            "storage.autoextend",
            Status::Yellow,
            format!(
                "the autoextend settings are not attached: {name} has profile {:?}, {LVM_PROFILE_PATH} {}",
                pool.lv_profile,
                if profile_file_ok { "is as swarmnode writes it" } else { "differs from the profile's thinpool settings" }
            ),
        )
        .detail("`swarmnode storage` attaches them")
    } else if vg.vg_free < step {
        Item::new(
            "storage.autoextend",
            Status::Yellow,
            format!(
                "VG {} has {} free, one autoextend step ({}% of {}) needs {}: autoextend cannot fire",
                vg.vg_name,
                human(vg.vg_free),
                t.autoextend_percent,
                human(pool.lv_size),
                human(step)
            ),
        )
        .detail(format!(
            "add a disk: `pvcreate DEV && vgextend {} DEV`, or lower thinpool.data_percent on the next install",
            vg.vg_name
        ))
    } else {
        Item::new(
            "storage.autoextend",
            Status::Green,
            format!(
                "monitored, profile {LVM_PROFILE} (at {}% by {}%), {} free in VG {} for a step of {}",
                t.autoextend_threshold,
                t.autoextend_percent,
                human(vg.vg_free),
                vg.vg_name,
                human(step)
            ),
        )
    };
    item.metrics.extend(metrics);
    item
}

/// What check exports about autoextend, whatever it says.
fn autoextend_metrics(monitored: bool, vg: &Vg, step: u64) -> [Metric; 3] {
    [
        Metric::flag(
            "swarmnode_thinpool_monitored",
            "1 when dmeventd monitors the thin pool (autoextend can fire)",
            monitored,
        ),
        Metric::new(
            "swarmnode_vg_free_bytes",
            "free space in the volume group of the docker volumes",
            vg.vg_free as f64,
        ),
        Metric::new(
            "swarmnode_thinpool_autoextend_step_bytes",
            "what one autoextend step adds to the thin pool",
            step as f64,
        ),
    ]
}

/// A pool dmeventd does not watch: it fills up and nothing extends it.
fn unmonitored(pool: &Lv, name: &str) -> Item {
    Item::new(
        "storage.autoextend",
        Status::Red,
        format!(
            "{name} is not monitored by dmeventd ({}): autoextend cannot fire",
            if pool.seg_monitor.is_empty() {
                "no monitoring"
            } else {
                &pool.seg_monitor
            }
        ),
    )
    .detail(format!(
        "`lvchange --monitor y {name}` (and check that dm-event.socket is enabled)"
    ))
}

/// overlay2: the XFS volume at /var/lib/docker with project quotas; space and inodes.
fn volume(h: &Host, rec: &StorageRecord, c: &Check) -> Item {
    let v = DataVolume::of(&rec.volume_group);
    let mt = match mounted(h, &v) {
        Ok(mt) => mt,
        Err(item) => return item,
    };
    let u = match h
        .path(DOCKER_ROOT)
        .map_err(|e| e.to_string())
        .and_then(|p| crate::host::fs::usage(&p).map_err(|e| format!("statvfs {DOCKER_ROOT}: {e}")))
    {
        Ok(u) => u,
        Err(e) => return Item::new(VOLUME, Status::Red, format!("cannot check: {e}")),
    };
    // As df counts: used against what is usable (used + available to users).
    let space = ratio(u.used_bytes, u.used_bytes + u.avail_bytes);
    let inodes = ratio(u.inodes.saturating_sub(u.inodes_free), u.inodes);
    let pquota = mt.has_option(&fstab::PROJECT_QUOTA);
    let status = by_use(space * 100.0, c)
        .max(by_use(inodes * 100.0, c))
        .max(if pquota {
            Status::Green
        } else {
            Status::Yellow
        });
    let item = Item::new(
        VOLUME,
        status,
        format!(
            "{} on {DOCKER_ROOT}: space {:.1}% of {}, inodes {:.1}%{} (warn {}%, crit {}%)",
            v.path,
            space * 100.0,
            human(u.size_bytes),
            inodes * 100.0,
            if pquota {
                ", project quotas on"
            } else {
                ", no project quotas"
            },
            c.warn_percent,
            c.crit_percent
        ),
    );
    let item = if pquota {
        item
    } else {
        item.detail(
            "mounted without pquota: per-container size limits (overlay2.size) do not work; add \
             pquota to its /etc/fstab options and remount",
        )
    };
    volume_metrics(item, space, inodes, u.size_bytes)
}

/// The item of the overlay2 volume.
const VOLUME: &str = "storage.volume";

/// The mount at /var/lib/docker when it is the data volume; the red item when it is not.
fn mounted(h: &Host, v: &DataVolume) -> std::result::Result<Mount, Item> {
    let mounts = block::read_mounts(h.root()).map_err(|e| {
        unobservable(
            VOLUME,
            &crate::error::Error::io("cannot read the mount table", e),
        )
    })?;
    let Some(mt) = mounts
        .into_iter()
        .rev()
        .find(|m| m.mount_point == DOCKER_ROOT)
    else {
        return Err(Item::new(
            VOLUME,
            Status::Red,
            format!("{DOCKER_ROOT} is not mounted: docker writes to the root file system"),
        )
        .detail(format!(
            "`mount {DOCKER_ROOT}` (its /etc/fstab line names {})",
            v.path
        )));
    };
    if !v.is(&mt.source) {
        return Err(Item::new(
            VOLUME,
            Status::Red,
            format!(
                "{DOCKER_ROOT} is {} ({}), not {}",
                mt.source, mt.fstype, v.path
            ),
        ));
    }
    Ok(mt)
}

/// What check exports about docker's volume.
fn volume_metrics(item: Item, space: f64, inodes: f64, size: u64) -> Item {
    let path = || DOCKER_ROOT.to_string();
    item.metric(
        Metric::new(
            "swarmnode_filesystem_used_ratio",
            "used part of docker's volume (0 to 1)",
            space,
        )
        .label("path", path()),
    )
    .metric(
        Metric::new(
            "swarmnode_filesystem_inodes_used_ratio",
            "used part of docker's volume's inodes (0 to 1)",
            inodes,
        )
        .label("path", path()),
    )
    .metric(
        Metric::new(
            "swarmnode_filesystem_size_bytes",
            "size of docker's volume",
            size as f64,
        )
        .label("path", path()),
    )
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
