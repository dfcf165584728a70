//! What LVM knows, read with one command (`lvm fullreport --all --reportformat json --units b
//! --nosuffix --binary`, its VG, PV, LV and segment subreports, hidden volumes included), parsed
//! into typed rows. LVM prints every value as a string; sizes are bytes.

use serde::Deserialize;

use super::cmd::{Cmd, CommandError, Runner, parse_json};

pub const PV_FIELDS: &str = "pv_name,vg_name,pv_uuid";
pub const VG_FIELDS: &str = "vg_name,vg_uuid,vg_size,vg_free,vg_extent_size,vg_extent_count,vg_free_count,vg_seqno,pv_count,vg_tags";
/// fullreport's LV subreport takes LV fields only; the segment fields come from its seg subreport.
pub const LV_FIELDS: &str = "lv_name,vg_name,lv_attr,lv_size,lv_profile,lv_tags,lv_active,data_percent,metadata_percent,lv_time,lv_host";
pub const SEG_FIELDS: &str = "lv_name,segtype,chunk_size,zero,seg_monitor";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Pv {
    pub pv_name: String,
    pub vg_name: String,
    pub pv_uuid: String,
    /// Its VG's UUID (the fullreport part it came in): VGs of one name are told apart by it.
    #[serde(default)]
    pub vg_uuid: String,
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

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Lv {
    /// Hidden volumes are bracketed: `[thinpool_tmeta]`.
    pub lv_name: String,
    pub vg_name: String,
    /// Its VG's UUID (the fullreport part it came in).
    #[serde(default)]
    pub vg_uuid: String,
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
    /// Used data and metadata of a thin pool, percent ("" when not applicable or inactive).
    #[serde(default)]
    pub data_percent: String,
    #[serde(default)]
    pub metadata_percent: String,
    /// When and on which host LVM made it (`2026-11-22 11:17:47 +0000`, `node7`).
    #[serde(default)]
    pub lv_time: String,
    #[serde(default)]
    pub lv_host: String,
}

impl Lv {
    /// LVM's own volumes (a pool's `[thinpool_tmeta]`, `[lvol0_pmspare]`) are bracketed.
    pub fn is_hidden(&self) -> bool {
        self.lv_name.starts_with('[')
    }
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

/// Everything LVM knows.
#[derive(Debug, Clone, Default)]
pub struct Lvm {
    pub pvs: Vec<Pv>,
    pub vgs: Vec<Vg>,
    pub lvs: Vec<Lv>,
}

/// One VG's part of a fullreport (orphan PVs come in a part without a VG).
#[derive(Deserialize)]
struct FullPart {
    #[serde(default)]
    vg: Vec<Vg>,
    #[serde(default)]
    pv: Vec<Pv>,
    #[serde(default)]
    lv: Vec<LvRow>,
    #[serde(default)]
    seg: Vec<SegRow>,
}

#[derive(Deserialize)]
struct Full {
    report: Vec<FullPart>,
}

/// An LV row of a fullreport: the LV fields only.
#[derive(Deserialize)]
struct LvRow {
    lv_name: String,
    vg_name: String,
    lv_attr: String,
    #[serde(deserialize_with = "num")]
    lv_size: u64,
    lv_profile: String,
    lv_tags: String,
    lv_active: String,
    #[serde(default)]
    data_percent: String,
    #[serde(default)]
    metadata_percent: String,
    #[serde(default)]
    lv_time: String,
    #[serde(default)]
    lv_host: String,
}

/// A segment row of a fullreport: what the LV's (first) segment says.
#[derive(Deserialize)]
struct SegRow {
    lv_name: String,
    segtype: String,
    #[serde(deserialize_with = "num")]
    chunk_size: u64,
    zero: String,
    seg_monitor: String,
}

pub fn fullreport_cmd() -> Cmd {
    Cmd::new("lvm").args([
        "fullreport",
        "--all",
        "--reportformat",
        "json",
        "--units",
        "b",
        "--nosuffix",
        "--binary",
        "--configreport",
        "vg",
        "-o",
        VG_FIELDS,
        "--configreport",
        "pv",
        "-o",
        PV_FIELDS,
        "--configreport",
        "lv",
        "-o",
        LV_FIELDS,
        "--configreport",
        "pvseg",
        "-o",
        "pv_name",
        "--configreport",
        "seg",
        "-o",
        SEG_FIELDS,
    ])
}

/// Parses `lvm fullreport` into PVs, VGs and LVs (each LV with its first segment's fields).
pub fn parse_fullreport(cmd: &Cmd, text: &str) -> Result<Lvm, CommandError> {
    let full: Full = parse_json(cmd, text)?;
    let mut lvm = Lvm::default();
    for part in full.report {
        let vg_uuid = part
            .vg
            .first()
            .map(|g| g.vg_uuid.clone())
            .unwrap_or_default();
        for row in part.lv {
            let seg = part.seg.iter().find(|s| s.lv_name == row.lv_name);
            lvm.lvs.push(Lv {
                vg_uuid: vg_uuid.clone(),
                segtype: seg.map(|s| s.segtype.clone()).unwrap_or_default(),
                chunk_size: seg.map_or(0, |s| s.chunk_size),
                zero: seg.map(|s| s.zero.clone()).unwrap_or_default(),
                seg_monitor: seg.map(|s| s.seg_monitor.clone()).unwrap_or_default(),
                lv_name: row.lv_name,
                vg_name: row.vg_name,
                lv_attr: row.lv_attr,
                lv_size: row.lv_size,
                lv_profile: row.lv_profile,
                lv_tags: row.lv_tags,
                lv_active: row.lv_active,
                data_percent: row.data_percent,
                metadata_percent: row.metadata_percent,
                lv_time: row.lv_time,
                lv_host: row.lv_host,
            });
        }
        lvm.vgs.extend(part.vg);
        lvm.pvs.extend(part.pv.into_iter().map(|p| Pv {
            vg_uuid: vg_uuid.clone(),
            ..p
        }));
    }
    Ok(lvm)
}

impl Lvm {
    /// One `lvm fullreport`: every PV (orphans too), VG and LV.
    pub fn read(r: &Runner) -> Result<Lvm, CommandError> {
        let cmd = fullreport_cmd();
        parse_fullreport(&cmd, &r.run(&cmd)?.stdout)
    }

    /// The same over every device, also those LVM's devices file leaves out (`--devicesfile ""`).
    pub fn read_all_devices(r: &Runner) -> Result<Lvm, CommandError> {
        let cmd = fullreport_cmd().args(["--devicesfile", ""]);
        parse_fullreport(&cmd, &r.run(&cmd)?.stdout)
    }

    pub fn vg(&self, name: &str) -> Option<&Vg> {
        self.vgs.iter().find(|v| v.vg_name == name)
    }
    pub fn lv(&self, vg: &str, name: &str) -> Option<&Lv> {
        self.lvs
            .iter()
            .find(|l| l.vg_name == vg && l.lv_name == name)
    }
    /// The volumes of a VG that people see and name (not LVM's hidden ones).
    pub fn visible_lvs(&self, vg: &str) -> Vec<&Lv> {
        self.lvs
            .iter()
            .filter(|l| l.vg_name == vg && !l.is_hidden())
            .collect()
    }
    pub fn pvs_of(&self, vg: &str) -> Vec<&Pv> {
        self.pvs.iter().filter(|p| p.vg_name == vg).collect()
    }
    /// Every VG of this name (LVM shows two when two disks carry one name each).
    pub fn vgs_named(&self, name: &str) -> Vec<&Vg> {
        self.vgs.iter().filter(|v| v.vg_name == name).collect()
    }
    /// The PVs of one VG, told by its UUID.
    pub fn pvs_in(&self, vg: &Vg) -> Vec<&Pv> {
        self.pvs
            .iter()
            .filter(|p| p.vg_uuid == vg.vg_uuid)
            .collect()
    }
    /// The visible volumes of one VG, told by its UUID.
    pub fn visible_lvs_in(&self, vg: &Vg) -> Vec<&Lv> {
        self.lvs
            .iter()
            .filter(|l| l.vg_uuid == vg.vg_uuid && !l.is_hidden())
            .collect()
    }
}

/// `lvm version`'s own version (`  LVM version:     2.03.16(2) (2022-05-18)` → 2, 3, 16).
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let v = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("LVM version:"))?
        .split_whitespace()
        .next()?;
    let v = v.split('(').next()?;
    let mut n = v.split('.').map(|x| x.parse::<u32>().ok());
    Some((n.next()??, n.next()??, n.next()??))
}

/// The installed lvm2's version; None when `lvm version` does not say it.
pub fn version(r: &Runner) -> Result<Option<(u32, u32, u32)>, CommandError> {
    Ok(parse_version(
        &r.run(&Cmd::new("lvm").arg("version"))?.stdout,
    ))
}

/// device-mapper's name for an LV (the shared vocabulary's).
pub use crate::vocab::dm_name;

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

    fn read(name: &str) -> Lvm {
        parse_fullreport(
            &fullreport_cmd(),
            &fixture(&format!("fullreport-{name}.json")),
        )
        .unwrap()
    }

    #[test]
    fn nothing_an_orphan_pv_and_an_empty_tagged_vg() {
        let l = read("blank");
        assert!(l.pvs.is_empty() && l.vgs.is_empty() && l.lvs.is_empty());
        let l = read("orphan-pv");
        assert_eq!(
            (l.pvs[0].pv_name.as_str(), l.pvs[0].vg_name.as_str()),
            ("/dev/vdb", "")
        );
        assert!(l.vgs.is_empty());
        let l = read("tagged-vg");
        let g = l.vg("docker").unwrap();
        assert!(g.has_tag("swarmnode"));
        assert_eq!((g.vg_extent_count, g.vg_free_count), (1023, 1023));
        assert!(l.lvs.is_empty());
    }

    #[test]
    fn thin_pool_as_lvm_reports_it() {
        let l = read("pool");
        assert_eq!(l.pvs_of("docker")[0].pv_name, "/dev/vdb");
        assert_eq!(l.vg("docker").unwrap().vg_free_count, 32);
        let pool = l.lv("docker", "thinpool").unwrap();
        assert_eq!(pool.segtype, "thin-pool");
        assert_eq!(pool.chunk_size, 512 * 1024);
        assert_eq!(pool.zero, "0");
        assert_eq!(pool.lv_profile, "docker-thinpool");
        assert_eq!(pool.seg_monitor, "monitored");
        assert!(pool.is_active() && pool.has_tag("swarmnode"));
        assert_eq!(
            (pool.data_percent.as_str(), pool.metadata_percent.as_str()),
            ("0.00", "10.09")
        );
        let two = read("pool-and-other");
        assert_eq!(two.vgs.len(), 2);
        assert!(two.lv("other", "keep").is_some());
        // Each PV and LV knows its VG by UUID: VGs of one name are told apart.
        for g in &two.vgs {
            assert!(
                two.pvs_in(g).iter().all(|p| p.vg_name == g.vg_name),
                "{g:?}"
            );
            assert!(!two.visible_lvs_in(g).is_empty());
            assert!(two.visible_lvs_in(g).iter().all(|l| l.vg_name == g.vg_name));
        }
    }

    #[test]
    fn hidden_volumes_creation_and_use() {
        let l = read("pool");
        let names: Vec<&str> = l.lvs.iter().map(|l| l.lv_name.as_str()).collect();
        assert!(names.contains(&"[thinpool_tmeta]") && names.contains(&"[lvol0_pmspare]"));
        let visible: Vec<&str> = l
            .visible_lvs("docker")
            .iter()
            .map(|l| l.lv_name.as_str())
            .collect();
        assert_eq!(visible, ["thinpool"]);
        let pool = l.lv("docker", "thinpool").unwrap();
        assert_eq!(pool.lv_host, "guest");
        assert!(pool.lv_time.starts_with("2026-"), "{}", pool.lv_time);
        let used = read("pool-used");
        let pool = used.lv("docker", "thinpool").unwrap();
        assert!(pool.data_percent.parse::<f64>().unwrap() > 0.0);
        let k = read("killed-components-active");
        assert!(!k.lv("docker", "thinpool").unwrap().is_active());
        assert!(k.lv("docker", "[thinpool_tmeta]").unwrap().is_active());
    }

    #[test]
    fn inactive_and_unmonitored_pools() {
        let pool = read("pool-inactive")
            .lv("docker", "thinpool")
            .cloned()
            .unwrap();
        assert!(!pool.is_active());
        assert_eq!(pool.seg_monitor, "");
        let pool = read("pool-unmonitored")
            .lv("docker", "thinpool")
            .cloned()
            .unwrap();
        assert_eq!(pool.seg_monitor, "not monitored");
    }

    proptest::proptest! {
        #[test]
        fn no_report_makes_the_lvm_parsers_panic(
            t in "\\PC{0,200}",
            field in "[0-9a-z,-]{0,12}",
            size in "\\PC{0,24}",
        ) {
            let _ = parse_fullreport(&fullreport_cmd(), &t);
            // Well-formed reports with any field values.
            let lv = format!(
                r#"{{"report": [{{"lv": [{{"lv_name": "{field}", "vg_name": "v", "lv_attr": "{field}",
                  "lv_size": {size:?}, "lv_profile": "", "lv_tags": "{field}", "lv_active": ""}}],
                  "seg": [{{"lv_name": "{field}", "segtype": "x", "chunk_size": {size:?}, "zero": "",
                  "seg_monitor": ""}}]}}]}}"#
            );
            if let Ok(lvm) = parse_fullreport(&fullreport_cmd(), &lv) {
                for l in lvm.lvs {
                    let _ = (l.is_active(), l.is_open(), l.has_tag("swarmnode"));
                }
            }
        }
    }

    #[test]
    fn the_fixtures_are_captured_with_the_fields_swarmnode_asks_for() {
        let script = std::fs::read_to_string(format!(
            "{}/vm-tests/scenarios/capture-lvm.sh",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let argv = fullreport_cmd().to_string();
        assert!(
            argv.starts_with(
                "lvm fullreport --all --reportformat json --units b --nosuffix --binary"
            )
        );
        assert!(
            script
                .contains("lvm fullreport --all --reportformat json --units b --nosuffix --binary")
        );
        for (report, fields) in [
            ("vg", VG_FIELDS),
            ("pv", PV_FIELDS),
            ("lv", LV_FIELDS),
            ("seg", SEG_FIELDS),
        ] {
            let want = format!("--configreport {report} -o {fields}");
            assert!(
                script.contains(&format!("{want}\n")) || script.contains(&format!("{want}\"")),
                "capture-lvm.sh lacks `{want}`"
            );
            assert!(argv.contains(&want), "{argv}");
        }
    }

    #[test]
    fn lvm_versions() {
        let bookworm = "  LVM version:     2.03.16(2) (2022-05-18)\n  Library version: 1.02.185 (2022-05-18)\n  Driver version:  4.47.0\n";
        assert_eq!(parse_version(bookworm), Some((2, 3, 16)));
        assert_eq!(
            parse_version("  LVM version:     2.03.11(2)-RHEL8 (2021-01-28)\n"),
            Some((2, 3, 11))
        );
        assert_eq!(parse_version("garbage"), None);
        assert_eq!(parse_version("LVM version: 2.x"), None);
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_version_parser_panic(t in "(  LVM version: )?\\PC{0,40}") {
            let _ = parse_version(&t);
        }
    }

    #[test]
    fn dm_names_double_dashes() {
        assert_eq!(dm_name("docker", "thinpool"), "docker-thinpool");
        assert_eq!(dm_name("my-vg", "a-b"), "my--vg-a--b");
    }
}
