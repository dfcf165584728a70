//! The volumes swarmnode makes and how it knows them: their names, the tag that proves them its
//! own, the one `lvcreate`, the refusal of a volume named like one of them that is not its own,
//! and sizes as people read them.

use crate::error::{Error, Refusal, Result};
use crate::host::cmd::Cmd;
use crate::host::lvm;
use crate::host::{Action, Host};

pub const LVM_PROFILE: &str = "docker-thinpool";
pub const LVM_PROFILE_PATH: &str = "/etc/lvm/profile/docker-thinpool.profile";
pub const DOCKER_ROOT: &str = "/var/lib/docker";
/// Tag on the VG and every LV swarmnode creates: a half-made volume with this tag is ours to finish.
pub const TAG: &str = "swarmnode";
/// Prefix of the tag naming the installation that made a volume: this host's machine-id follows.
pub const MACHINE_TAG: &str = "swarmnode-machine-";
pub use crate::vocab::{DATA_LV, POOL_LV};
pub const META_LV: &str = "thinpoolmeta";

/// overlay2's data volume by its two names: `/dev/VG/dockerdata` and `/dev/mapper/VG-dockerdata`
/// (fstab and the mount table may show either).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataVolume {
    pub path: String,
    pub mapper: String,
}

impl DataVolume {
    pub fn of(vg: &str) -> DataVolume {
        DataVolume {
            path: format!("/dev/{vg}/{DATA_LV}"),
            mapper: format!("/dev/mapper/{}", lvm::dm_name(vg, DATA_LV)),
        }
    }
    /// Does this device name (an fstab source, a mount's source) name the volume?
    pub fn is(&self, dev: &str) -> bool {
        dev == self.path || dev == self.mapper
    }
}
pub fn human(b: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

/// The tags of everything a run creates: `swarmnode`, and this installation's machine tag when
/// the host has a machine-id (a %post chroot may not have one yet).
#[derive(Debug, Clone, Default)]
pub struct Tags {
    pub machine: Option<String>,
}

impl Tags {
    /// This host's tags, from /etc/machine-id (32 hex digits; anything else is no machine-id).
    pub fn read(host: &Host) -> Result<Tags> {
        let text = host.read_text("/etc/machine-id")?.unwrap_or_default();
        Ok(Tags {
            machine: machine_tag(&text),
        })
    }

    /// `--addtag T` for each tag.
    pub fn args(&self) -> Vec<String> {
        std::iter::once(TAG)
            .chain(self.machine.as_deref())
            .flat_map(|t| ["--addtag".to_string(), t.to_string()])
            .collect()
    }
}

/// The machine tag for the contents of /etc/machine-id, when they are a machine-id.
pub fn machine_tag(text: &str) -> Option<String> {
    let id = text.trim();
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("{MACHINE_TAG}{}", id.to_ascii_lowercase()))
}

/// `lvcreate` of a tagged volume of `percent`% of the VG, wiping stale signatures where it lands.
pub fn lvcreate(id: &str, why: &str, vg: &str, name: &str, percent: u32, tags: &Tags) -> Action {
    Action::run(
        id,
        why,
        Cmd::new("lvcreate")
            .args(["--yes", "--wipesignatures", "y"])
            .args(tags.args())
            .args(["--name", name, "--extents", &format!("{percent}%VG"), vg]),
    )
}

pub fn other_layout(vg: &str, lv: &str, wanted: &str) -> Error {
    Refusal::new(
        "storage",
        format!("volume group {vg}"),
        format!(
            "it already holds {vg}/{lv}, the layout of the other driver; it cannot be mixed with {wanted}"
        ),
    )
    .remedy(format!(
        "Pick the driver this node was provisioned with, or re-provision the disk (vgremove {vg}, then --wipe)"
    ))
    .into()
}

/// A volume named like ours that swarmnode did not make: never converted.
pub fn foreign_lv(vg: &str, lv: &lvm::Lv, wanted: &str) -> Error {
    Refusal::new(
        "storage",
        format!("{vg}/{}", lv.lv_name),
        format!(
            "it exists as a {} volume that swarmnode did not make (no '{TAG}' tag); turning it into {wanted} could lose its data",
            lv.segtype
        ),
    )
    .into()
}
