//! Block devices as the kernel sees them: sysfs (size, read-only, partitions, holders),
//! mountinfo, /proc/swaps, and the signatures `wipefs --no-act --json` finds.
//! Readers take the root prefix; parsers are pure and tested on captured text.

use std::fs;
use std::io;
use std::path::Path;

use serde::Deserialize;

use super::fs::in_root;

/// A host path under `root`, resolved inside it.
fn at(root: &Path, host_path: &str) -> io::Result<std::path::PathBuf> {
    in_root(root, host_path, true)
}

/// A device number, `major:minor`.
pub type DevNum = (u32, u32);

pub fn parse_devnum(s: &str) -> Option<DevNum> {
    let (a, b) = s.trim().split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// A block device from `/sys/class/block/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDev {
    pub name: String,
    pub dev: DevNum,
    pub size_bytes: u64,
    pub read_only: bool,
    pub partitions: Vec<Part>,
    /// Direct holders of the device and of its partitions (device-mapper, md), each with its own holders.
    pub holders: Vec<Holder>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub dev: DevNum,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub name: String,
    pub dev: DevNum,
    /// `dm/name` for device-mapper devices (e.g. `docker-thinpool_tdata`).
    pub dm_name: Option<String>,
    pub holders: Vec<Holder>,
}

impl Holder {
    /// This holder and everything stacked on it.
    pub fn flatten<'a>(&'a self, out: &mut Vec<&'a Holder>) {
        out.push(self);
        for h in &self.holders {
            h.flatten(out);
        }
    }
}

impl BlockDev {
    /// Every device number that lives on this device: itself, its partitions, and every holder.
    pub fn all_devnums(&self) -> Vec<DevNum> {
        let mut v = vec![self.dev];
        v.extend(self.partitions.iter().map(|p| p.dev));
        let mut hs = Vec::new();
        for h in &self.holders {
            h.flatten(&mut hs);
        }
        v.extend(hs.iter().map(|h| h.dev));
        v
    }

    pub fn all_holders(&self) -> Vec<&Holder> {
        let mut hs = Vec::new();
        for h in &self.holders {
            h.flatten(&mut hs);
        }
        hs
    }
}

fn read_trim(p: &Path) -> io::Result<String> {
    Ok(fs::read_to_string(p)?.trim().to_string())
}

/// Reads `ROOT/sys/class/block/NAME`. `None` when the kernel has no such block device.
pub fn probe(root: &Path, name: &str) -> io::Result<Option<BlockDev>> {
    let dir = at(root, &format!("/sys/class/block/{name}"))?;
    if !dir.exists() {
        return Ok(None);
    }
    let dev = parse_devnum(&read_trim(&dir.join("dev"))?)
        .ok_or_else(|| io::Error::other(format!("unreadable {}/dev", dir.display())))?;
    let sectors: u64 = read_trim(&dir.join("size"))?
        .parse()
        .map_err(|_| io::Error::other(format!("unreadable {}/size", dir.display())))?;
    let read_only = read_trim(&dir.join("ro"))? != "0";
    let mut partitions = Vec::new();
    let mut holders = read_holders(root, &dir, 0)?;
    for e in sorted_entries(&dir)? {
        let p = dir.join(&e);
        if p.join("partition").exists() {
            let pdev = parse_devnum(&read_trim(&p.join("dev"))?)
                .ok_or_else(|| io::Error::other(format!("unreadable {}/dev", p.display())))?;
            holders.extend(read_holders(root, &p, 0)?);
            partitions.push(Part { name: e, dev: pdev });
        }
    }
    Ok(Some(BlockDev {
        name: name.to_string(),
        dev,
        size_bytes: sectors * 512,
        read_only,
        partitions,
        holders,
    }))
}

fn sorted_entries(dir: &Path) -> io::Result<Vec<String>> {
    let mut v: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    v.sort();
    Ok(v)
}

fn read_holders(root: &Path, devdir: &Path, depth: u32) -> io::Result<Vec<Holder>> {
    if depth > 16 {
        return Err(io::Error::other(format!(
            "holders nested too deep under {}",
            devdir.display()
        )));
    }
    let mut out = Vec::new();
    for h in sorted_entries(&devdir.join("holders"))? {
        let hdir = at(root, &format!("/sys/class/block/{h}"))?;
        let dev = parse_devnum(&read_trim(&hdir.join("dev"))?)
            .ok_or_else(|| io::Error::other(format!("unreadable {}/dev", hdir.display())))?;
        let dm_name = read_trim(&hdir.join("dm/name")).ok();
        let holders = read_holders(root, &hdir, depth + 1)?;
        out.push(Holder {
            name: h,
            dev,
            dm_name,
            holders,
        });
    }
    Ok(out)
}

/// One line of `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub dev: DevNum,
    pub mount_point: String,
    pub fstype: String,
    pub source: String,
    /// Per-mount and superblock options joined with a comma.
    pub options: String,
}

impl Mount {
    /// Whether one of its options is one of `any`.
    pub fn has_option(&self, any: &[&str]) -> bool {
        self.options.split(',').any(|o| any.contains(&o))
    }
}

/// `\040` and friends in mountinfo and /proc/swaps.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .map(|d| d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0')));
        if let Some(v) = octal.and_then(|v| u8::try_from(v).ok()) {
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let Some(sep) = f.iter().position(|x| *x == "-") else {
            continue;
        };
        if f.len() < 6 || f.len() < sep + 4 {
            continue;
        }
        let Some(dev) = parse_devnum(f[2]) else {
            continue;
        };
        out.push(Mount {
            dev,
            mount_point: unescape(f[4]),
            fstype: f[sep + 1].to_string(),
            source: unescape(f[sep + 2]),
            options: format!("{},{}", f[5], f[sep + 3]),
        });
    }
    out
}

pub fn read_mounts(root: &Path) -> io::Result<Vec<Mount>> {
    Ok(parse_mountinfo(&fs::read_to_string(at(
        root,
        "/proc/self/mountinfo",
    )?)?))
}

/// File names of active swap areas from `/proc/swaps`.
pub fn parse_swaps(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(unescape)
        .collect()
}

pub fn read_swaps(root: &Path) -> io::Result<Vec<String>> {
    match fs::read_to_string(at(root, "/proc/swaps")?) {
        Ok(t) => Ok(parse_swaps(&t)),
        Err(e) => Err(e),
    }
}

/// A signature found by `wipefs --no-act --json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Signature {
    #[serde(rename = "type")]
    pub kind: String,
    pub offset: String,
    #[serde(default)]
    pub uuid: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Deserialize)]
struct WipefsReport {
    #[serde(default)]
    signatures: Vec<Signature>,
}

/// Parses `wipefs --no-act --json DEV`. It prints nothing at all when there is no signature.
pub fn parse_wipefs(text: &str) -> Result<Vec<Signature>, serde_json::Error> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    Ok(serde_json::from_str::<WipefsReport>(text)?.signatures)
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at offset {}", self.kind, self.offset)?;
        if let Some(l) = self.label.as_deref().filter(|l| !l.is_empty()) {
            write!(f, " (label '{l}')")?;
        }
        Ok(())
    }
}

/// What a device node is: a block device's number, or what else is there.
pub enum Node {
    Block(DevNum),
    /// "a directory", "a regular file", "not a block device".
    Not(&'static str),
}

/// The device node at `path` (links followed), as the kernel sees it.
pub fn node_of(path: &Path) -> io::Result<Node> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = std::fs::metadata(path)?;
    if !meta.file_type().is_block_device() {
        return Ok(Node::Not(if meta.is_dir() {
            "a directory"
        } else if meta.is_file() {
            "a regular file"
        } else {
            "not a block device"
        }));
    }
    let rdev = meta.rdev();
    Ok(Node::Block((
        nix::sys::stat::major(rdev) as u32,
        nix::sys::stat::minor(rdev) as u32,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_fields_and_escapes() {
        let text = "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,errors=remount-ro\n\
                    40 22 253:2 / /var/lib/docker rw,relatime shared:20 - xfs /dev/mapper/docker-dockerdata rw,attr2,inode64,logbufs=8,logbsize=32k,prjquota\n\
                    41 22 0:45 / /mnt/with\\040space rw - tmpfs tmpfs rw\n";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].dev, (254, 0));
        assert_eq!(m[0].mount_point, "/");
        assert_eq!(m[1].source, "/dev/mapper/docker-dockerdata");
        assert!(m[1].options.contains("prjquota"));
        assert_eq!(m[2].mount_point, "/mnt/with space");
    }

    #[test]
    fn swaps_names() {
        let t = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/vdb                                partition\t1048572\t\t0\t\t-2\n";
        assert_eq!(parse_swaps(t), vec!["/dev/vdb".to_string()]);
    }

    #[test]
    fn octal_escapes_beyond_a_byte_stay_as_they_are() {
        assert_eq!(unescape("a\\777b\\101"), "a\\777bA");
        assert_eq!(unescape("end\\04"), "end\\04");
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_proc_parsers_panic(t in "\\PC{0,300}", n in "[0-9 :\\\\/a-z-]{0,120}") {
            let _ = parse_mountinfo(&t);
            let _ = parse_mountinfo(&n);
            let _ = parse_swaps(&t);
            let _ = parse_devnum(&n);
            let _ = parse_wipefs(&t);
            let _ = unescape(&n);
        }
    }

    #[test]
    fn wipefs_empty_output_means_no_signature() {
        assert!(parse_wipefs("").unwrap().is_empty());
    }
}
