//! `storage`: the data disk, the driver, the volume group, the thin pool's and the overlay2
//! volume's sizes, and what to do with a previous installation's volumes.

use serde::{Deserialize, Serialize};

use super::types::ChunkSize;
use super::{Checked, Invalid, percent};

/// The storage driver (the shared vocabulary's).
pub use crate::vocab::Driver;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// The data disk; prefer /dev/disk/by-id/... names, which do not move between boots.
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub driver: Driver,
    #[serde(default = "default_vg")]
    pub volume_group: String,
    #[serde(default)]
    pub thinpool: ThinPool,
    #[serde(default)]
    pub overlay2: Overlay2,
    /// What to do with the volumes of a previous installation of this node found on the device.
    #[serde(default)]
    pub previous_installation: PreviousInstallation,
}

/// `storage.previous_installation`: a data disk that still holds the volumes of a previous
/// installation (the node was re-kickstarted) is refused, or its tagged volumes made again.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PreviousInstallation {
    /// Refuse (65) and say what is there: nothing is reused or destroyed silently.
    #[default]
    Refuse,
    /// Remove swarmnode's own tagged volumes and make them again (what `--reprovision` does).
    Recreate,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            device: None,
            driver: Driver::Auto,
            volume_group: default_vg(),
            thinpool: ThinPool::default(),
            overlay2: Overlay2::default(),
            previous_installation: PreviousInstallation::default(),
        }
    }
}

fn default_vg() -> String {
    "docker".to_string()
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ThinPool {
    pub data_percent: u32,
    pub metadata_percent: u32,
    pub chunk_size: ChunkSize,
    pub autoextend_threshold: u32,
    pub autoextend_percent: u32,
}

impl Default for ThinPool {
    fn default() -> Self {
        ThinPool {
            data_percent: 95,
            metadata_percent: 1,
            chunk_size: ChunkSize::default(),
            autoextend_threshold: 80,
            autoextend_percent: 20,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Overlay2 {
    /// Size of the `dockerdata` volume in percent of the volume group.
    pub data_percent: u32,
}

impl Default for Overlay2 {
    fn default() -> Self {
        Overlay2 { data_percent: 95 }
    }
}

impl Storage {
    pub(super) fn validate(&self) -> Checked {
        let err = |k: &str, m: String| Err(Invalid::new(format!("storage.{k}"), m));
        if let Some(d) = &self.device
            && (!d.starts_with("/dev/") || crate::vocab::not_normalised(d).is_some())
        {
            return err(
                "device",
                format!("'{d}' is not a normalised path under /dev (no //, . or ..)"),
            );
        }
        let vg = &self.volume_group;
        if !crate::vocab::vg_name_ok(vg) {
            return err(
                "volume_group",
                format!("'{vg}' is not a valid LVM volume group name"),
            );
        }
        self.thinpool.validate()?;
        percent(
            "storage.overlay2.data_percent",
            self.overlay2.data_percent,
            1,
            100,
            "",
        )
    }
}

impl ThinPool {
    pub(super) fn validate(&self) -> Checked {
        let key = |k: &str| format!("storage.thinpool.{k}");
        percent(&key("data_percent"), self.data_percent, 1, 98, "")?;
        percent(&key("metadata_percent"), self.metadata_percent, 1, 10, "")?;
        // LVM keeps a hidden spare as large as the metadata volume (pmspare).
        if self.data_percent + 2 * self.metadata_percent > 100 {
            return Err(Invalid::new(
                key("data_percent"),
                format!(
                    "data {}% + metadata {}% + LVM's metadata spare {}% exceed the volume group",
                    self.data_percent, self.metadata_percent, self.metadata_percent
                ),
            ));
        }
        let threshold = self.autoextend_threshold;
        percent(
            &key("autoextend_threshold"),
            threshold,
            50,
            100,
            " (100 turns autoextend off)",
        )?;
        percent(
            &key("autoextend_percent"),
            self.autoextend_percent,
            1,
            100,
            "",
        )
    }
}
