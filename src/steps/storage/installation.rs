//! Which installation the volumes on the data disk belong to.
//!
//! Re-provisioning replaces a node's OS and keeps its data disk, so the next `apply --device`
//! finds the VG, thin pool or XFS volume a previous installation made, with its images,
//! containers and swarm identity in them. Reusing them fails (docker does not take over a thin
//! pool holding blocks it has no metadata for) or brings the old swarm identity back; removing
//! them silently loses data. So a VG of ours is judged:
//!
//! - *this installation*: it holds nothing of ours; or this system made it (the storage record
//!   names it on this device); or docker has metadata for the pool, or fstab or the mount table
//!   names the data volume; or it carries this host's machine tag. A VG without this host's tag
//!   is then given it (made before the machine-id existed, or by a swarmnode that did not tag).
//! - *another installation* (a previous one of this node, or another machine's disk): a thin
//!   pool with used blocks that docker has no metadata for and nothing here recorded (docker
//!   cannot take it over); volumes with another machine's tag that nothing here knows; or,
//!   untagged, volumes that may hold data (an XFS volume, a used pool, an inactive pool whose
//!   fill cannot be read).
//!
//! A previous installation is refused with what is there, unless re-provisioning was asked for
//! (`--reprovision`, `storage.previous_installation: "recreate"`): swarmnode's own tagged volumes
//! are then removed (never a foreign or an open one), the VG given this host's tag, and the layout
//! made as on a blank VG. A run killed between the two finds an empty tagged VG: it is adopted.

use crate::error::{Error, Refusal, Result};
use crate::host::block::Mount;
use crate::host::cmd::Cmd;
use crate::host::fstab;
use crate::host::lvm::{Lvm, Vg};
use crate::host::{Action, Host};
use crate::steps::plan::StepPlan;

use super::Layout;
use super::volumes::{DATA_LV, DataVolume, MACHINE_TAG, POOL_LV, TAG, Tags, human};

/// How long a running docker is asked which pool it runs on.
const RUNNING_POOL_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// What an installation left on this system (not on the disk) of the VG: a storage record, docker's
/// metadata, an fstab entry or a mount.
#[derive(Debug, Default, Clone)]
pub struct Traces {
    /// The storage record names this VG on this device: this system made it.
    pub recorded: bool,
    /// devicemapper: docker has metadata for a pool; overlay2: fstab or the mount table names
    /// the data volume.
    pub docker_knows: bool,
    /// Where docker's devicemapper metadata was looked for.
    pub metadata_dir: String,
}

impl Traces {
    pub fn read(
        host: &Host,
        vg: &str,
        device: &str,
        layout: Layout,
        mounts: &[Mount],
    ) -> Result<Traces> {
        let recorded = crate::host::state::StorageRecord::read(host)?
            .is_some_and(|r| r.volume_group == vg && r.device == device);
        let metadata_dir = format!(
            "{}/devicemapper/metadata",
            crate::host::docker::data_root(host)?
        );
        let docker_knows = match layout {
            // docker's metadata in its data root; or, where that cannot be read from its
            // configuration, a running docker that says it runs on this pool.
            Layout::ThinPool => {
                let metadata = host
                    .path(&metadata_dir)
                    .is_ok_and(|p| crate::host::fs::has_entries(&p).unwrap_or(false));
                metadata
                    || (host.offline().is_none()
                        && crate::host::docker::running_pool(host, RUNNING_POOL_LIMIT)
                            .is_some_and(|p| p == crate::host::lvm::dm_name(vg, POOL_LV)))
            }
            Layout::Xfs => {
                let v = DataVolume::of(vg);
                let table = host.read_text(fstab::PATH)?.unwrap_or_default();
                fstab::entries(&table).iter().any(|e| v.is(&e.source))
                    || mounts.iter().any(|m| v.is(&m.source))
            }
        };
        Ok(Traces {
            recorded,
            docker_knows,
            metadata_dir,
        })
    }
}

/// A VG on more PVs than LVM sees (a disk missing, or hidden by the devices file) cannot be
/// judged or used whole: refused.
pub fn whole(vg: &Vg, lvm: &Lvm) -> Result<()> {
    let seen = lvm.pvs_of(&vg.vg_name).len() as u64;
    if vg.pv_count <= seen {
        return Ok(());
    }
    Err(Refusal::new(
        "storage",
        format!("volume group {}", vg.vg_name),
        format!(
            "it has {} physical volumes but LVM sees {seen} (a disk is missing, or hidden by \
             LVM's devices file): its volumes cannot be judged or used whole",
            vg.pv_count
        ),
    )
    .remedy("attach the missing disk (or add it to the devices file: lvm lvmdevices --adddev DEV), then run again")
    .into())
}

/// The judgement of a VG of ours.
#[derive(Debug, PartialEq, Eq)]
pub enum Judged {
    /// This installation's, tagged as such.
    This,
    /// This installation's, but without this host's machine tag: the old machine tags to drop.
    Retag(Vec<String>),
    /// A previous installation's: why.
    Previous(String),
}

/// The machine tags a VG carries.
fn machines(vg: &Vg) -> Vec<String> {
    vg.vg_tags
        .split(',')
        .filter(|t| t.starts_with(MACHINE_TAG))
        .map(str::to_string)
        .collect()
}

/// Judges the VG `vg` from LVM's view, this host's tags and what this system knows. First of all,
/// a used thin pool that docker here has no metadata for is another installation's, whoever
/// made it and whatever this system recorded: docker refuses to take over a pool that holds
/// blocks it has no metadata for ("Unable to take ownership of thin-pool"). So is a pool not
/// made by swarmnode that is inactive with nothing known of it (its fill cannot be read).
pub fn judge(vg: &Vg, lvm: &Lvm, layout: Layout, tags: &Tags, traces: &Traces) -> Judged {
    let on_vg = machines(vg);
    let mine = tags.machine.as_deref();
    let tagged_mine = mine.is_some_and(|m| on_vg.iter().any(|t| t == m));
    let adopt = || match mine {
        Some(_) if !tagged_mine => Judged::Retag(on_vg.clone()),
        _ => Judged::This,
    };
    let name = vg.vg_name.as_str();
    let ours = lvm.visible_lvs(name).into_iter().any(|l| l.has_tag(TAG));
    let pool = lvm.lv(name, POOL_LV).filter(|l| l.segtype == "thin-pool");
    // The pool's fill: None when it cannot be read (an inactive pool reports none).
    let fill = pool.and_then(|l| l.data_percent.parse::<f64>().ok());
    if layout == Layout::ThinPool && !traces.docker_knows {
        if let Some(d) = fill.filter(|d| *d > 0.0) {
            return Judged::Previous(format!(
                "its thin pool holds used blocks ({d}% of its data) but docker here has no \
                 metadata for them (nothing in {}): docker cannot take it over",
                traces.metadata_dir
            ));
        }
        if pool.is_some() && fill.is_none() && !ours {
            return Judged::Previous(format!(
                "its thin pool was not made by swarmnode and is inactive, so whether it holds \
                 data cannot be read, and docker here has no metadata for it (nothing in {})",
                traces.metadata_dir
            ));
        }
    }
    // Nothing of ours in it, or made by this system (its record names this VG on this device).
    if !ours || traces.recorded {
        return adopt();
    }
    if traces.docker_knows {
        return adopt();
    }
    if tagged_mine {
        return Judged::This;
    }
    unknown_here(vg, lvm, layout, mine, &on_vg, fill).unwrap_or_else(adopt)
}

/// Ours by tag, but neither recorded, known to docker nor tagged by this host: another
/// installation's, or (None) adoptable.
fn unknown_here(
    vg: &Vg,
    lvm: &Lvm,
    layout: Layout,
    mine: Option<&str>,
    on_vg: &[String],
    fill: Option<f64>,
) -> Option<Judged> {
    let name = vg.vg_name.as_str();
    let unknown = match layout {
        Layout::ThinPool => "no storage record, no docker metadata",
        Layout::Xfs => "no storage record, no fstab entry, not mounted",
    };
    if let Some(other) = on_vg.first() {
        return Some(Judged::Previous(format!(
            "its volumes were made by the installation with machine-id {}, and nothing on this \
             system knows them ({unknown}){}",
            &other[MACHINE_TAG.len()..],
            match mine {
                Some(m) => format!(
                    "; this installation's machine-id is {}",
                    &m[MACHINE_TAG.len()..]
                ),
                None => "; this system has no machine-id yet".into(),
            }
        )));
    }
    // No machine tag at all (made by a swarmnode that did not tag them, or on a host without a
    // machine-id yet): no pool yet (what a killed run leaves: never used), or a pool known to be
    // unused, has nothing to lose and docker can take it over; an inactive pool's fill is
    // unknown, and a file system may hold anything.
    let pool = lvm
        .lv(name, POOL_LV)
        .is_some_and(|l| l.segtype == "thin-pool");
    if layout == Layout::ThinPool && lvm.lv(name, DATA_LV).is_none() && (!pool || fill == Some(0.0))
    {
        return None;
    }
    Some(Judged::Previous(format!(
        "nothing on this system knows its volumes ({unknown}) and they carry no machine tag to \
         say which installation made them{}",
        if pool && fill.is_none() {
            " (the pool is inactive, so whether it holds data cannot be read)"
        } else {
            ""
        }
    )))
}

/// The VG's volumes as a person would want them listed in a refusal.
fn describe(vg: &Vg, lvm: &Lvm) -> String {
    let lvs: Vec<String> = lvm
        .visible_lvs(&vg.vg_name)
        .into_iter()
        .map(|l| {
            let mut s = format!(
                "{}/{} ({}, {}",
                vg.vg_name,
                l.lv_name,
                l.segtype,
                human(l.lv_size)
            );
            if !l.data_percent.is_empty() {
                s.push_str(&format!(", data {}%", l.data_percent));
            }
            if !l.metadata_percent.is_empty() {
                s.push_str(&format!(", metadata {}%", l.metadata_percent));
            }
            if !l.lv_time.is_empty() {
                s.push_str(&format!(", made {}", l.lv_time));
                if !l.lv_host.is_empty() {
                    s.push_str(&format!(" on {}", l.lv_host));
                }
            }
            if !l.has_tag(TAG) {
                s.push_str(", not made by swarmnode");
            }
            s + ")"
        })
        .collect();
    let tags = machines(vg);
    format!(
        "volume group {} ({}) holds {}{}",
        vg.vg_name,
        human(vg.vg_size),
        lvs.join(", "),
        match tags.first() {
            Some(t) => format!("; made by machine-id {}", &t[MACHINE_TAG.len()..]),
            None => String::new(),
        }
    )
}

/// The refusal of a previous installation, without the opt-in. The way out depends on who made
/// the volumes: swarmnode's own are made again with --reprovision; others' (the seed's script,
/// by hand) only the administrator removes.
pub fn refuse(vg: &Vg, lvm: &Lvm, dev: &str, why: &str) -> Error {
    let name = vg.vg_name.as_str();
    let foreign: Vec<String> = lvm
        .visible_lvs(name)
        .into_iter()
        .filter(|l| !l.has_tag(TAG))
        .map(|l| format!("{name}/{}", l.lv_name))
        .collect();
    let remedy = if foreign.is_empty() {
        "If this is the right disk and that installation's images, containers and swarm state \
         may be lost, run again with --reprovision (or set storage.previous_installation to \
         \"recreate\"): swarmnode's own volumes are then made again (volumes it did not make, or \
         that are in use, are still refused). Otherwise check --device, or boot the old system."
            .to_string()
    } else {
        format!(
            "{} not made by swarmnode (no '{TAG}' tag), so --reprovision never removes it. If \
             this is the right disk and its data may be lost: stop docker, `lvremove {}` and \
             `vgremove {name}`, then run again (with --wipe if the disk still carries \
             signatures). Otherwise check --device, or give docker back its metadata (the \
             data root it used).",
            if foreign.len() == 1 {
                format!("{} is", foreign[0])
            } else {
                format!("{} are", foreign.join(", "))
            },
            foreign.join(" ")
        )
    };
    Refusal::all(
        "storage",
        dev,
        vec![
            format!(
                "it holds another installation's volumes (a previous installation of this node, \
                 or another machine's disk): {why}"
            ),
            describe(vg, lvm),
        ],
    )
    .remedy(remedy)
    .into()
}

/// Every visible volume of the VG, when all are swarmnode's own and none is open; else refused.
fn removable(vg: &Vg, lvm: &Lvm, why: &str) -> Result<Vec<String>> {
    let name = vg.vg_name.as_str();
    let visible = lvm.visible_lvs(name);
    let foreign: Vec<String> = visible
        .iter()
        .filter(|l| !l.has_tag(TAG))
        .map(|l| format!("{name}/{}", l.lv_name))
        .collect();
    if !foreign.is_empty() {
        return Err(Refusal::all(
            "storage",
            format!("volume group {name}"),
            vec![
                format!("it holds another installation's volumes: {why}"),
                format!(
                    "it also holds {}, which swarmnode did not make (no '{TAG}' tag): --reprovision never removes those",
                    foreign.join(", ")
                ),
            ],
        )
        .remedy(format!(
            "move what you need out of them and remove them yourself (lvremove), then run again; {}",
            describe(vg, lvm)
        ))
        .into());
    }
    let open: Vec<String> = visible
        .iter()
        .filter(|l| l.is_open())
        .map(|l| format!("{name}/{}", l.lv_name))
        .collect();
    if !open.is_empty() {
        return Err(Refusal::new(
            "storage",
            format!("volume group {name}"),
            format!(
                "--reprovision would remove {}, but it is in use (open)",
                open.join(", ")
            ),
        )
        .remedy("stop docker and unmount the volume (findmnt, lsblk), then run again")
        .into());
    }
    Ok(visible
        .iter()
        .map(|l| format!("{name}/{}", l.lv_name))
        .collect())
}

/// With the opt-in: swarmnode's own volumes removed and the VG tagged for this installation.
/// Returns LVM's view as it will be afterwards (the VG without volumes) for the layout to plan on.
pub fn add_recreate(vg: &Vg, lvm: &Lvm, tags: &Tags, why: &str, p: &mut StepPlan) -> Result<Lvm> {
    let name = vg.vg_name.as_str();
    let remove = removable(vg, lvm, why)?;
    p.warnings.push(format!(
        "re-provisioning: the previous installation's volumes are removed and made again, their data is lost: {}",
        describe(vg, lvm)
    ));
    p.actions.push(Action::run(
        "storage.lvremove-previous",
        "remove the previous installation's volumes (swarmnode's own, tagged)",
        Cmd::new("lvremove").arg("--yes").args(remove),
    ));
    if let Some(a) = retag(name, &machines(vg), tags) {
        p.actions.push(a);
    }
    let mut after = lvm.clone();
    after.lvs.retain(|l| l.vg_name != name);
    Ok(after)
}

/// `vgchange` giving the VG this host's machine tag and dropping any other machine's; without a
/// machine-id only the others are dropped. None when there is nothing to change.
pub fn retag(vg: &str, old: &[String], tags: &Tags) -> Option<Action> {
    let mine = tags.machine.as_deref();
    let drop: Vec<&String> = old.iter().filter(|t| Some(t.as_str()) != mine).collect();
    let add = mine.filter(|m| !old.iter().any(|t| t == m));
    if drop.is_empty() && add.is_none() {
        return None;
    }
    let mut cmd = Cmd::new("vgchange");
    for t in drop {
        cmd = cmd.args(["--deltag", t.as_str()]);
    }
    if let Some(m) = add {
        cmd = cmd.args(["--addtag", m]);
    }
    Some(Action::run(
        "storage.vgchange-tag",
        "tag the volume group as this installation's (its machine-id)",
        cmd.arg(vg),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::lvm::{fullreport_cmd, parse_fullreport};

    const GUEST: &str = "swarmnode-machine-70e03b4e35e541b38c27ba78376af77f";
    const OTHER: &str = "swarmnode-machine-0123456789abcdef0123456789abcdef";

    fn report(name: &str) -> Lvm {
        let path = format!(
            "{}/tests/fixtures/bookworm/fullreport-{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        parse_fullreport(&fullreport_cmd(), &std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn tags(m: &str) -> Tags {
        Tags {
            machine: Some(m.into()),
        }
    }

    fn judged(name: &str, layout: Layout, t: &Tags, local: Traces) -> Judged {
        let lvm = report(name);
        judge(lvm.vg("docker").unwrap(), &lvm, layout, t, &local)
    }

    fn local(recorded: bool, docker_knows: bool) -> Traces {
        Traces {
            recorded,
            docker_knows,
            metadata_dir: "/var/lib/docker/devicemapper/metadata".into(),
        }
    }
    fn unknown_here() -> Traces {
        local(false, false)
    }
    fn recorded_here() -> Traces {
        local(true, false)
    }
    fn docker_knows_it() -> Traces {
        local(false, true)
    }

    #[test]
    fn this_installation() {
        let me = tags(GUEST);
        // Tagged by this machine: ours even before anything else knows it (killed before the record).
        assert_eq!(
            judged("pool", Layout::ThinPool, &me, unknown_here()),
            Judged::This
        );
        assert_eq!(
            judged("overlay2-volume", Layout::Xfs, &me, unknown_here()),
            Judged::This
        );
        // A used pool docker has metadata for.
        assert_eq!(
            judged("pool-used", Layout::ThinPool, &me, docker_knows_it()),
            Judged::This
        );
        // An empty VG is adopted whoever made it.
        assert_eq!(
            judged("tagged-vg", Layout::ThinPool, &tags(OTHER), unknown_here()),
            Judged::Retag(vec![GUEST.into()])
        );
        // Known here under another machine-id (it changed): adopted, never refused.
        assert_eq!(
            judged("pool", Layout::ThinPool, &tags(OTHER), recorded_here()),
            Judged::Retag(vec![GUEST.into()])
        );
        // No machine-id on this host: nothing to tag with.
        assert_eq!(
            judged("pool", Layout::ThinPool, &Tags::default(), recorded_here()),
            Judged::This
        );
    }

    #[test]
    fn previous_installation() {
        let other = tags(OTHER);
        let Judged::Previous(why) = judged("pool", Layout::ThinPool, &other, unknown_here()) else {
            panic!()
        };
        assert!(why.contains("70e03b4e35e541b38c27ba78376af77f"), "{why}");
        assert!(why.contains("0123456789abcdef0123456789abcdef"), "{why}");
        // A used pool without docker's metadata, even tagged by this machine.
        let Judged::Previous(why) =
            judged("pool-used", Layout::ThinPool, &tags(GUEST), unknown_here())
        else {
            panic!()
        };
        // ... and even when this system's record names it (/var/lib/docker removed by hand).
        assert!(matches!(
            judged("pool-used", Layout::ThinPool, &tags(GUEST), recorded_here()),
            Judged::Previous(_)
        ));
        // With docker's metadata it is this installation's.
        assert_eq!(
            judged(
                "pool-used",
                Layout::ThinPool,
                &tags(GUEST),
                local(true, true)
            ),
            Judged::This
        );
        assert!(
            why.contains("2.34%") && why.contains("cannot take it over"),
            "{why}"
        );
        assert!(matches!(
            judged("overlay2-volume", Layout::Xfs, &other, unknown_here()),
            Judged::Previous(_)
        ));
    }

    #[test]
    fn untagged_volumes_of_an_older_swarmnode() {
        let strip = |name: &str| {
            let mut lvm = report(name);
            for g in &mut lvm.vgs {
                g.vg_tags = TAG.into();
            }
            lvm
        };
        let me = tags(GUEST);
        let lvm = strip("pool");
        let vg = lvm.vg("docker").unwrap();
        assert_eq!(
            judge(vg, &lvm, Layout::ThinPool, &me, &unknown_here()),
            Judged::Retag(vec![])
        );
        let lvm = strip("pool-used");
        let vg = lvm.vg("docker").unwrap();
        assert!(matches!(
            judge(vg, &lvm, Layout::ThinPool, &me, &unknown_here()),
            Judged::Previous(_)
        ));
        let lvm = strip("overlay2-volume");
        let vg = lvm.vg("docker").unwrap();
        assert!(matches!(
            judge(vg, &lvm, Layout::Xfs, &me, &unknown_here()),
            Judged::Previous(_)
        ));
        assert_eq!(
            judge(vg, &lvm, Layout::Xfs, &me, &docker_knows_it()),
            Judged::Retag(vec![])
        );
    }

    /// Issue 26, item 3: a pool the seed's script made (no tags at all) is adopted only when
    /// docker can take it over: with docker's metadata, or never used.
    #[test]
    fn a_seed_made_pool_is_adopted_only_when_docker_can_take_it_over() {
        let untagged = |name: &str, edit: &dyn Fn(&mut crate::host::lvm::Lv)| {
            let mut lvm = report(name);
            for g in &mut lvm.vgs {
                g.vg_tags = String::new();
            }
            for l in &mut lvm.lvs {
                l.lv_tags = String::new();
                edit(l);
            }
            lvm
        };
        let me = tags(GUEST);
        let judge_it = |lvm: &Lvm, local: Traces| {
            judge(
                lvm.vg("docker").unwrap(),
                lvm,
                Layout::ThinPool,
                &me,
                &local,
            )
        };
        let used = untagged("pool-used", &|_| {});
        let Judged::Previous(why) = judge_it(&used, unknown_here()) else {
            panic!("a used seed pool without docker's metadata was adopted")
        };
        assert!(why.contains("cannot take it over"), "{why}");
        assert!(matches!(
            judge_it(&used, recorded_here()),
            Judged::Previous(_)
        ));
        assert_eq!(judge_it(&used, docker_knows_it()), Judged::Retag(vec![]));
        let fresh = untagged("pool", &|_| {});
        assert_eq!(judge_it(&fresh, unknown_here()), Judged::Retag(vec![]));
        let inactive = untagged("pool-used", &|l| {
            l.data_percent = String::new();
            l.lv_attr.replace_range(4..5, "-");
        });
        let Judged::Previous(why) = judge_it(&inactive, unknown_here()) else {
            panic!("an inactive seed pool nothing knows was adopted")
        };
        assert!(why.contains("inactive"), "{why}");
        let e = refuse(used.vg("docker").unwrap(), &used, "/dev/vdb", "why").to_string();
        assert!(
            e.contains("docker/thinpool is not made by swarmnode")
                && e.contains("`lvremove docker/thinpool`")
                && e.contains("`vgremove docker`"),
            "{e}"
        );
        let ours = report("pool-used");
        let e = refuse(ours.vg("docker").unwrap(), &ours, "/dev/vdb", "why").to_string();
        assert!(
            e.contains("--reprovision") && !e.contains("lvremove"),
            "{e}"
        );
    }

    #[test]
    fn the_refusal_says_what_is_there() {
        let lvm = report("pool-used");
        let e = refuse(lvm.vg("docker").unwrap(), &lvm, "/dev/vdb", "why").to_string();
        for want in [
            "docker/thinpool",
            "data 2.34%",
            "metadata 10.13%",
            "made 2026-11-22",
            "on guest",
            "70e03b4e35e541b38c27ba78376af77f",
            "--reprovision",
            "nothing was changed",
        ] {
            assert!(e.contains(want), "{want} not in {e}");
        }
    }

    #[test]
    fn recreate_removes_only_our_volumes() {
        let lvm = report("pool-used");
        let mut p = StepPlan::new("storage");
        let after =
            add_recreate(lvm.vg("docker").unwrap(), &lvm, &tags(OTHER), "why", &mut p).unwrap();
        assert!(after.visible_lvs("docker").is_empty());
        let cmds: Vec<String> = p.actions.iter().map(|a| a.to_string()).collect();
        assert!(
            cmds[0].contains("lvremove --yes docker/thinpool"),
            "{cmds:?}"
        );
        assert!(
            cmds[1].contains(&format!(
                "vgchange --deltag {GUEST} --addtag {OTHER} docker"
            )),
            "{cmds:?}"
        );
        // A foreign volume beside ours: refused even with the opt-in.
        let mut lvm = report("pool-used");
        let mut keep = lvm.lv("docker", "thinpool").unwrap().clone();
        keep.lv_name = "keep".into();
        keep.lv_tags = String::new();
        keep.segtype = "linear".into();
        lvm.lvs.push(keep);
        let mut p = StepPlan::new("storage");
        let e = add_recreate(lvm.vg("docker").unwrap(), &lvm, &tags(OTHER), "why", &mut p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("never removes"), "{e}");
        assert!(p.actions.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn any_machine_id_file_gives_a_valid_tag_or_none(text in "\\PC*") {
            if let Some(t) = super::super::volumes::machine_tag(&text) {
                let id = &t[MACHINE_TAG.len()..];
                proptest::prop_assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()));
                proptest::prop_assert!(!id.bytes().any(|b| b.is_ascii_uppercase()));
            }
        }
    }

    #[test]
    fn retagging_drops_other_machines_tags_even_without_a_machine_id() {
        let old = vec![GUEST.to_string()];
        let a = retag("docker", &old, &Tags::default()).unwrap().to_string();
        assert!(
            a.contains(&format!("vgchange --deltag {GUEST} docker")),
            "{a}"
        );
        let a = retag("docker", &[], &tags(OTHER)).unwrap().to_string();
        assert!(
            a.contains(&format!("vgchange --addtag {OTHER} docker")),
            "{a}"
        );
        assert!(retag("docker", &[OTHER.into()], &tags(OTHER)).is_none());
        assert!(retag("docker", &[], &Tags::default()).is_none());
    }

    #[test]
    fn machine_tags() {
        use super::super::volumes::machine_tag;
        assert_eq!(
            machine_tag("70E03B4E35E541B38C27BA78376AF77F\n").as_deref(),
            Some(GUEST)
        );
        assert_eq!(machine_tag("uninitialized\n"), None);
        assert_eq!(machine_tag(""), None);
        assert_eq!(machine_tag("70e03b4e35e541b38c27ba78376af77"), None);
    }
}
