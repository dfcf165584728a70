//! overlay2 on its own volume (Docker Engine >= 25, which removed devicemapper): the tagged
//! `VG/dockerdata`, XFS with ftype=1, one /etc/fstab entry with project quotas, mounted at
//! /var/lib/docker. Data already in /var/lib/docker is never hidden: refused, or copied in with
//! `--move-docker-data`.

use crate::error::{Error, Refusal, Result};
use crate::host::block::Mount;
use crate::host::cmd::Cmd;
use crate::host::fstab;
use crate::host::lvm::Lvm;
use crate::host::systemd;
use crate::host::{Action, Host};
use crate::profile::Storage;
use crate::steps::plan::StepPlan;

use super::disk::{Surroundings, signatures};
use super::volumes::{
    DATA_LV, DOCKER_ROOT, DataVolume, POOL_LV, TAG, Tags, foreign_lv, lvcreate, other_layout,
};

/// Where `--move-docker-data` mounts the new volume while it copies, and where the old tree is kept.
pub const MOVE_MOUNT: &str = "/run/swarmnode/dockerdata";
pub const MOVED_ASIDE: &str = "/var/lib/docker.swarmnode-old";

pub fn add(
    host: &Host,
    s: &Storage,
    move_data: bool,
    lvm: &Lvm,
    around: &Surroundings,
    tags: &Tags,
    p: &mut StepPlan,
) -> Result<()> {
    let vg = s.volume_group.as_str();
    if let Some(l) = lvm.lv(vg, POOL_LV) {
        return Err(other_layout(vg, &l.lv_name, "an overlay2 volume"));
    }
    let v = DataVolume::of(vg);
    add_volume(host, s, lvm, &v, &around.mounts, tags, p)?;
    let table = host.read_text(fstab::PATH)?.unwrap_or_default();
    let (text, warnings) = fstab_with_entry(&table, &v)?;
    p.warnings.extend(warnings);
    if let Some(text) = text {
        p.actions.push(Action::write(
            "storage.fstab",
            "mount the data volume at every boot",
            fstab::PATH,
            0o644,
            text,
            Some(table),
        ));
        if host.systemd_running() {
            p.actions.push(Action::run(
                "storage.daemon-reload",
                "let systemd see the new fstab entry",
                systemd::daemon_reload(),
            ));
        }
    }
    add_mount(host, &v, move_data, &around.mounts, p)
}

/// The volume: created, activated, or checked; formatted when it has no file system yet. One the
/// kernel has mounted as XFS needs no look at its signatures.
fn add_volume(
    host: &Host,
    s: &Storage,
    lvm: &Lvm,
    v: &DataVolume,
    mounts: &[Mount],
    tags: &Tags,
    p: &mut StepPlan,
) -> Result<()> {
    let vg = s.volume_group.as_str();
    let mkfs = match lvm.lv(vg, DATA_LV) {
        None => {
            p.actions.push(lvcreate(
                "storage.lvcreate-data",
                "the docker data volume",
                vg,
                DATA_LV,
                s.overlay2.data_percent,
                tags,
            ));
            Mkfs::Blank
        }
        Some(l) if l.segtype != "linear" || !l.has_tag(TAG) => {
            return Err(foreign_lv(vg, l, "the docker data volume"));
        }
        Some(l) if !l.is_active() => {
            p.actions.push(Action::run(
                "storage.activate",
                "the data volume is inactive",
                Cmd::new("lvchange").args(["--activate", "y", &format!("{vg}/{DATA_LV}")]),
            ));
            p.facts.push(format!(
                "{} is inactive: its filesystem is checked after activation",
                v.path
            ));
            Mkfs::No
        }
        Some(_) if mounted_xfs(v, mounts) => Mkfs::No,
        Some(_) => needs_mkfs(host, &v.path, p)?,
    };
    match mkfs {
        Mkfs::No => {}
        Mkfs::Blank => p.actions.push(Action::run(
            "storage.mkfs",
            "XFS with d_type (ftype=1), which overlay2 needs",
            Cmd::new("mkfs.xfs").args(["-n", "ftype=1", &v.path]),
        )),
        Mkfs::Unfinished => p.actions.push(Action::run(
            "storage.mkfs",
            "XFS with d_type (ftype=1), made again over the one an interrupted mkfs.xfs left",
            Cmd::new("mkfs.xfs").args(["-f", "-n", "ftype=1", &v.path]),
        )),
    }
    Ok(())
}

/// Whether the volume needs a file system: no, yes (it has none), or yes over an unfinished one.
enum Mkfs {
    No,
    Blank,
    Unfinished,
}

/// XFS's superblock: its magic at 0, and `sb_inprogress` at byte 126, which mkfs.xfs sets while
/// it works and clears when it is done (the kernel will not mount a file system that has it).
const XFS_MAGIC: &[u8; 4] = b"XFSB";
const XFS_SB_INPROGRESS: usize = 126;

/// The first bytes of an XFS superblock say its mkfs never finished.
pub fn xfs_unfinished(superblock: &[u8]) -> bool {
    superblock.starts_with(XFS_MAGIC) && superblock.get(XFS_SB_INPROGRESS).is_some_and(|b| *b != 0)
}

/// Reads the start of the volume (only reads) to see whether its XFS was finished.
fn read_superblock(host: &Host, lv_path: &str) -> Result<Vec<u8>> {
    crate::host::fs::read_head(&host.path(lv_path)?, 512).map_err(|e| {
        Error::io(
            format!("storage: cannot read the superblock of {lv_path}"),
            e,
        )
    })
}

/// The volume is mounted somewhere as XFS (the kernel read its filesystem, so it has one).
fn mounted_xfs(v: &DataVolume, mounts: &[Mount]) -> bool {
    mounts.iter().any(|m| v.is(&m.source) && m.fstype == "xfs")
}

/// An active volume of ours: blank (format it), XFS (keep it, unless its mkfs never finished),
/// or anything else (refused).
fn needs_mkfs(host: &Host, lv_path: &str, p: &mut StepPlan) -> Result<Mkfs> {
    let sigs = signatures(host, lv_path)?;
    let kinds: Vec<&str> = sigs.iter().map(|s| s.kind.as_str()).collect();
    match kinds.as_slice() {
        [] => Ok(Mkfs::Blank),
        ["xfs"] if xfs_unfinished(&read_superblock(host, lv_path)?) => {
            p.facts.push(format!(
                "{lv_path} has an XFS file system that mkfs.xfs never finished (sb_inprogress is \
                 set; the kernel will not mount it): it is made again"
            ));
            Ok(Mkfs::Unfinished)
        }
        ["xfs"] => {
            p.facts
                .push(format!("{lv_path} already has an XFS filesystem"));
            Ok(Mkfs::No)
        }
        _ => {
            let found: Vec<String> = sigs.iter().map(|s| s.to_string()).collect();
            Err(Refusal::new(
                "storage",
                lv_path,
                format!(
                    "it carries {}; formatting over it would destroy that",
                    found.join(", ")
                ),
            )
            .into())
        }
    }
}

/// /etc/fstab with our entry for /var/lib/docker (with project quotas), or `None` when it is
/// already there; warnings for an entry of ours without pquota. Another entry for /var/lib/docker
/// is refused. Pure: text in, text out.
pub fn fstab_with_entry(text: &str, v: &DataVolume) -> Result<(Option<String>, Vec<String>)> {
    let mut warnings = Vec::new();
    let mut has_entry = false;
    for e in fstab::entries(text)
        .iter()
        .filter(|e| e.mount_point == DOCKER_ROOT)
    {
        if !v.is(&e.source) {
            return Err(Refusal::new(
                "storage",
                fstab::PATH,
                format!(
                    "it already mounts something else at {DOCKER_ROOT}: `{} {DOCKER_ROOT} {} {}`; \
                     a second entry would fight it",
                    e.source, e.fstype, e.options
                ),
            )
            .remedy("Remove that line if it is obsolete")
            .into());
        }
        has_entry = true;
        if !e.has_option(&fstab::PROJECT_QUOTA) {
            warnings.push(format!(
                "/etc/fstab mounts {DOCKER_ROOT} without pquota; overlay2 size limits need it: \
                 {} {DOCKER_ROOT} {} {}",
                e.source, e.fstype, e.options
            ));
        }
    }
    if has_entry {
        return Ok((None, warnings));
    }
    let line = format!("{} {DOCKER_ROOT} xfs defaults,pquota 0 0", v.path);
    Ok((Some(fstab::with_line(text, &line)), warnings))
}

/// /etc/fstab without our entry for /var/lib/docker (every other line as it is): what `reset`
/// leaves. Pure.
pub fn fstab_without_entry(text: &str, v: &DataVolume) -> String {
    fstab::without(text, |e| e.mount_point == DOCKER_ROOT && v.is(&e.source))
}

/// Mounted now? If not, mount it (after moving the data there with `--move-docker-data`).
fn add_mount(
    host: &Host,
    v: &DataVolume,
    move_data: bool,
    mounts: &[Mount],
    p: &mut StepPlan,
) -> Result<()> {
    let target = host.tool_path(DOCKER_ROOT)?;
    match mounts.iter().rev().find(|m| m.mount_point == target) {
        Some(m) if v.is(&m.source) => {
            if !m.has_option(&fstab::PROJECT_QUOTA) {
                p.warnings.push(format!(
                    "{DOCKER_ROOT} is mounted without project quotas; stop docker and remount it to enable them"
                ));
            }
            Ok(())
        }
        Some(m) => Err(Refusal::new(
            "storage",
            DOCKER_ROOT,
            format!(
                "it is already a mount of {} ({}); mounting the data volume over it would hide it",
                m.source, m.fstype
            ),
        )
        .into()),
        None => {
            add_mount_point(host, &v.path, move_data, mounts, p)?;
            p.actions.push(Action::run(
                "storage.mount",
                "mount it now",
                mount_xfs(&v.path, &target),
            ));
            Ok(())
        }
    }
}

/// /var/lib/docker made when missing; data in it moved first (`--move-docker-data`) or refused.
fn add_mount_point(
    host: &Host,
    lv_path: &str,
    move_data: bool,
    mounts: &[Mount],
    p: &mut StepPlan,
) -> Result<()> {
    let dir = host.path(DOCKER_ROOT)?;
    if crate::host::fs::kind_of(&dir).is_none() {
        p.actions.push(mkdir_mount_point());
        return Ok(());
    }
    match crate::host::fs::has_entries(&dir) {
        Ok(true) => {
            if !move_data {
                return Err(Refusal::new(
                    "storage",
                    DOCKER_ROOT,
                    "it already holds data, which mounting the data volume would hide",
                )
                .remedy(
                    "Stop docker and run again with --move-docker-data to copy it into the new \
                     volume, or move it away yourself",
                )
                .into());
            }
            add_move(host, lv_path, mounts, p)
        }
        Ok(false) => Ok(()),
        Err(e) => Err(Error::io(
            format!("storage: cannot read {}", dir.display()),
            e,
        )),
    }
}

/// /var/lib/docker, made as docker makes it (0711).
fn mkdir_mount_point() -> Action {
    Action::mkdir("storage.mkdir", "mount point", DOCKER_ROOT, 0o711)
}

/// Mounts the data volume with project quotas (overlay2's size limits need them; only at mount time).
fn mount_xfs(lv_path: &str, target: &str) -> Cmd {
    Cmd::new("mount").args(["-t", "xfs", "-o", "pquota", lv_path, target])
}

/// `--move-docker-data`: copy /var/lib/docker into the new volume (mounted aside), then keep the old
/// tree as /var/lib/docker.swarmnode-old. A run killed anywhere here copies again next time.
fn add_move(host: &Host, lv_path: &str, mounts: &[Mount], p: &mut StepPlan) -> Result<()> {
    can_move(host)?;
    let tmp = host.tool_path(MOVE_MOUNT)?;
    p.warnings.push(format!(
        "--move-docker-data: copying {DOCKER_ROOT} into {lv_path}; the old tree stays at {MOVED_ASIDE} until you remove it"
    ));
    if !mounts.iter().any(|m| m.mount_point == tmp) {
        p.actions.push(Action::mkdir(
            "storage.move-mkdir",
            "temporary mount point",
            MOVE_MOUNT,
            0o700,
        ));
        p.actions.push(Action::run(
            "storage.move-mount",
            "mount the new volume aside",
            mount_xfs(lv_path, &tmp),
        ));
    }
    p.actions.push(Action::run(
        "storage.move-copy",
        "copy the docker data (owners, modes, links, xattrs)",
        Cmd::new("cp").args([
            "-a",
            "--reflink=auto",
            &format!("{}/.", host.tool_path(DOCKER_ROOT)?),
            &format!("{tmp}/"),
        ]),
    ));
    p.actions.push(Action::run(
        "storage.move-umount",
        "done copying",
        Cmd::new("umount").arg(&tmp),
    ));
    p.actions.push(Action::rename(
        "storage.move-aside",
        "keep the old tree",
        DOCKER_ROOT,
        MOVED_ASIDE,
    ));
    p.actions.push(mkdir_mount_point());
    Ok(())
}

/// The data can be moved only with docker stopped and no earlier move's tree in the way.
fn can_move(host: &Host) -> Result<()> {
    if let Some(pid) = docker_pid(host)? {
        return Err(Refusal::new(
            "storage",
            DOCKER_ROOT,
            format!("docker is running (pid {pid}), and its data cannot be moved under it"),
        )
        .remedy("stop it (systemctl stop docker docker.socket), then run again")
        .into());
    }
    if host.path(MOVED_ASIDE)?.exists() {
        return Err(Refusal::new(
            "storage",
            MOVED_ASIDE,
            "it already exists (an earlier move)",
        )
        .remedy("remove it or rename it first")
        .into());
    }
    Ok(())
}

/// The pid in /run/docker.pid when that process is alive.
fn docker_pid(host: &Host) -> Result<Option<i32>> {
    let Some(text) = host.read_text("/run/docker.pid")? else {
        return Ok(None);
    };
    let Ok(pid) = text.trim().parse::<i32>() else {
        return Ok(None);
    };
    let alive = crate::host::process_alive(pid);
    Ok(alive.then_some(pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v() -> DataVolume {
        DataVolume::of("docker")
    }

    #[test]
    fn fstab_gets_one_entry_of_ours() {
        let (t, w) = fstab_with_entry("/dev/vda / ext4 defaults 0 1", &v()).unwrap();
        assert_eq!(
            t.unwrap(),
            "/dev/vda / ext4 defaults 0 1\n/dev/docker/dockerdata /var/lib/docker xfs defaults,pquota 0 0\n"
        );
        assert!(w.is_empty());
        let ours = "/dev/mapper/docker-dockerdata /var/lib/docker xfs defaults 0 0\n";
        let (t, w) = fstab_with_entry(ours, &v()).unwrap();
        assert!(t.is_none());
        assert!(w[0].contains("without pquota"), "{w:?}");
        let (t, _) = fstab_with_entry("# /x /var/lib/docker xfs\n", &v()).unwrap();
        assert!(t.is_some(), "a comment is not an entry");
        let e =
            fstab_with_entry("/dev/sdc1 /var/lib/docker ext4 defaults 0 0\n", &v()).unwrap_err();
        assert_eq!(e.exit_code(), 65);
    }

    #[test]
    fn only_our_fstab_line_goes() {
        let t = "/dev/vda1 / ext4 defaults 0 1\n/dev/docker/dockerdata /var/lib/docker xfs defaults,pquota 0 0\n# c\n";
        assert_eq!(
            fstab_without_entry(t, &v()),
            "/dev/vda1 / ext4 defaults 0 1\n# c\n"
        );
        let mapper = "/dev/mapper/docker-dockerdata /var/lib/docker xfs defaults 0 0";
        assert_eq!(fstab_without_entry(mapper, &v()), "");
        let other = "/dev/sdc1 /var/lib/docker xfs defaults 0 0";
        assert_eq!(fstab_without_entry(other, &v()), other);
        let (with, _) = fstab_with_entry("/dev/vda1 / ext4 defaults 0 1\n", &v()).unwrap();
        assert_eq!(
            fstab_without_entry(&with.unwrap(), &v()),
            "/dev/vda1 / ext4 defaults 0 1\n"
        );
    }
}

#[cfg(test)]
mod superblock_tests {
    use super::xfs_unfinished;

    #[test]
    fn only_an_xfs_superblock_with_sb_inprogress_is_unfinished() {
        let mut sb = vec![0u8; 512];
        assert!(!xfs_unfinished(&sb), "no magic");
        sb[..4].copy_from_slice(b"XFSB");
        assert!(!xfs_unfinished(&sb));
        sb[126] = 1;
        assert!(xfs_unfinished(&sb));
        assert!(!xfs_unfinished(&sb[..100]), "too short to say");
        assert!(!xfs_unfinished(b""));
    }

    proptest::proptest! {
        #[test]
        fn no_bytes_make_it_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = xfs_unfinished(&b);
        }
    }
}
