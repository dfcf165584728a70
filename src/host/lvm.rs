//! LVM's JSON reports (`pvs`/`vgs`/`lvs --reportformat json --units b --nosuffix --binary`),
//! parsed into typed rows. LVM prints every value as a string; sizes are bytes.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::cmd::{Cmd, CommandError, Runner, parse_json};

pub const PV_FIELDS: &str = "pv_name,vg_name,pv_uuid";
pub const VG_FIELDS: &str = "vg_name,vg_uuid,vg_size,vg_free,vg_extent_size,vg_extent_count,vg_free_count,vg_seqno,pv_count,vg_tags";
pub const LV_FIELDS: &str = "lv_name,vg_name,lv_attr,lv_size,segtype,chunk_size,zero,lv_profile,seg_monitor,lv_tags,lv_active";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Pv {
    pub pv_name: String,
    pub vg_name: String,
    pub pv_uuid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Vg {
    pub vg_name: String,
    pub vg_uuid: String,
    #[serde(deserialize_with = "num")]
    pub vg_size: u64,
    #[serde(deserialize_with = "num")]
    pub vg_free: u64,
    #[serde(deserialize_with = "num")]
    pub vg_extent_size: u64,
    #[serde(deserialize_with = "num")]
    pub vg_extent_count: u64,
    #[serde(deserialize_with = "num")]
    pub vg_free_count: u64,
    #[serde(deserialize_with = "num")]
    pub vg_seqno: u64,
    #[serde(deserialize_with = "num")]
    pub pv_count: u64,
    /// Comma-separated.
    #[serde(default)]
    pub vg_tags: String,
}

impl Vg {
    pub fn has_tag(&self, tag: &str) -> bool {
        self.vg_tags.split(',').any(|t| t == tag)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Lv {
    /// Hidden volumes are bracketed: `[thinpool_tmeta]`.
    pub lv_name: String,
    pub vg_name: String,
    pub lv_attr: String,
    #[serde(deserialize_with = "num")]
    pub lv_size: u64,
    pub segtype: String,
    #[serde(deserialize_with = "num")]
    pub chunk_size: u64,
    /// "1" zeroing on, "0" off, "-1" not applicable.
    pub zero: String,
    pub lv_profile: String,
    /// "monitored", "not monitored", or "" (inactive / not applicable).
    pub seg_monitor: String,
    /// Comma-separated.
    pub lv_tags: String,
    pub lv_active: String,
}

impl Lv {
    pub fn is_active(&self) -> bool {
        self.lv_attr.as_bytes().get(4) == Some(&b'a')
    }
    pub fn is_open(&self) -> bool {
        self.lv_attr.as_bytes().get(5) == Some(&b'o')
    }
    pub fn has_tag(&self, tag: &str) -> bool {
        self.lv_tags.split(',').any(|t| t == tag)
    }
}

fn num<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let s = String::deserialize(d)?;
    if s.is_empty() {
        return Ok(0);
    }
    s.parse().map_err(serde::de::Error::custom)
}

#[derive(Deserialize)]
struct Report<T> {
    report: Vec<Section<T>>,
}

#[derive(Deserialize)]
struct Section<T> {
    #[serde(alias = "pv", alias = "vg", alias = "lv")]
    rows: Vec<T>,
}

fn rows<T: DeserializeOwned>(cmd: &Cmd, text: &str) -> Result<Vec<T>, CommandError> {
    let r: Report<T> = parse_json(cmd, text)?;
    Ok(r.report.into_iter().flat_map(|s| s.rows).collect())
}

fn report_cmd(tool: &str, fields: &str) -> Cmd {
    let mut c = Cmd::new(tool);
    if tool == "lvs" {
        c = c.arg("-a");
    }
    c.args([
        "--reportformat",
        "json",
        "--units",
        "b",
        "--nosuffix",
        "--binary",
        "-o",
        fields,
    ])
}

pub fn pvs_cmd() -> Cmd {
    report_cmd("pvs", PV_FIELDS)
}
pub fn vgs_cmd() -> Cmd {
    report_cmd("vgs", VG_FIELDS)
}
pub fn lvs_cmd() -> Cmd {
    report_cmd("lvs", LV_FIELDS)
}

pub fn parse_pvs(cmd: &Cmd, text: &str) -> Result<Vec<Pv>, CommandError> {
    rows(cmd, text)
}
pub fn parse_vgs(cmd: &Cmd, text: &str) -> Result<Vec<Vg>, CommandError> {
    rows(cmd, text)
}
pub fn parse_lvs(cmd: &Cmd, text: &str) -> Result<Vec<Lv>, CommandError> {
    rows(cmd, text)
}

/// Everything LVM knows, read with three report commands.
#[derive(Debug, Clone, Default)]
pub struct Lvm {
    pub pvs: Vec<Pv>,
    pub vgs: Vec<Vg>,
    pub lvs: Vec<Lv>,
}

impl Lvm {
    pub fn read(r: &Runner) -> Result<Lvm, CommandError> {
        let (pc, vc, lc) = (pvs_cmd(), vgs_cmd(), lvs_cmd());
        Ok(Lvm {
            pvs: parse_pvs(&pc, &r.run(&pc)?.stdout)?,
            vgs: parse_vgs(&vc, &r.run(&vc)?.stdout)?,
            lvs: parse_lvs(&lc, &r.run(&lc)?.stdout)?,
        })
    }

    pub fn vg(&self, name: &str) -> Option<&Vg> {
        self.vgs.iter().find(|v| v.vg_name == name)
    }
    pub fn lv(&self, vg: &str, name: &str) -> Option<&Lv> {
        self.lvs
            .iter()
            .find(|l| l.vg_name == vg && l.lv_name == name)
    }
    pub fn pvs_of(&self, vg: &str) -> Vec<&Pv> {
        self.pvs.iter().filter(|p| p.vg_name == vg).collect()
    }
}

/// device-mapper's name for an LV: dashes doubled, joined with a dash (`docker-thinpool`).
pub fn dm_name(vg: &str, lv: &str) -> String {
    format!("{}-{}", vg.replace('-', "--"), lv.replace('-', "--"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/bookworm/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn empty_reports() {
        assert!(
            parse_pvs(&pvs_cmd(), &fixture("pvs-none.json"))
                .unwrap()
                .is_empty()
        );
        assert!(
            parse_vgs(&vgs_cmd(), &fixture("vgs-none.json"))
                .unwrap()
                .is_empty()
        );
        assert!(
            parse_lvs(&lvs_cmd(), &fixture("lvs-none.json"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn thin_pool_as_lvm_reports_it() {
        let pvs = parse_pvs(&pvs_cmd(), &fixture("pvs-pool.json")).unwrap();
        assert_eq!(pvs[0].pv_name, "/dev/vdb");
        assert_eq!(pvs[0].vg_name, "docker");
        let vgs = parse_vgs(&vgs_cmd(), &fixture("vgs-pool.json")).unwrap();
        assert_eq!(vgs[0].vg_extent_count, 1023);
        assert_eq!(vgs[0].vg_free_count, 32);
        assert_eq!(vgs[0].vg_seqno, 6);
        let l = Lvm {
            pvs,
            vgs,
            lvs: parse_lvs(&lvs_cmd(), &fixture("lvs-pool.json")).unwrap(),
        };
        let pool = l.lv("docker", "thinpool").unwrap();
        assert_eq!(pool.segtype, "thin-pool");
        assert_eq!(pool.chunk_size, 512 * 1024);
        assert_eq!(pool.zero, "0");
        assert_eq!(pool.lv_profile, "docker-thinpool");
        assert_eq!(pool.seg_monitor, "monitored");
        assert!(pool.is_active());
        assert_eq!(
            l.lv("docker", "[thinpool_tmeta]").unwrap().lv_size,
            41943040
        );
    }

    #[test]
    fn inactive_pool() {
        let lvs = parse_lvs(&lvs_cmd(), &fixture("lvs-pool-inactive.json")).unwrap();
        let pool = lvs.iter().find(|l| l.lv_name == "thinpool").unwrap();
        assert!(!pool.is_active());
        assert_eq!(pool.seg_monitor, "");
    }

    proptest::proptest! {
        #[test]
        fn no_report_makes_the_lvm_parsers_panic(
            t in "\\PC{0,200}",
            field in "[0-9a-z,-]{0,12}",
            size in "\\PC{0,24}",
        ) {
            let _ = parse_pvs(&pvs_cmd(), &t);
            let _ = parse_vgs(&vgs_cmd(), &t);
            let _ = parse_lvs(&lvs_cmd(), &t);
            // Well-formed reports with any field values.
            let lv = format!(
                r#"{{"report": [{{"lv": [{{"lv_name": "{field}", "vg_name": "v", "lv_attr": "{field}",
                  "lv_size": {size:?}, "segtype": "x", "chunk_size": {size:?}, "zero": "", "lv_profile": "",
                  "seg_monitor": "", "lv_tags": "{field}", "lv_active": ""}}]}}]}}"#
            );
            if let Ok(rows) = parse_lvs(&lvs_cmd(), &lv) {
                for l in rows {
                    let _ = (l.is_active(), l.is_open(), l.has_tag("swarmnode"));
                }
            }
        }
    }

    #[test]
    fn dm_names_double_dashes() {
        assert_eq!(dm_name("docker", "thinpool"), "docker-thinpool");
        assert_eq!(dm_name("my-vg", "a-b"), "my--vg-a--b");
    }
}
