//! `engine.future`: what would break this node at the next docker-ce upgrade, said before it
//! happens. devicemapper in use (Docker Engine 25 removed it: docker would not start) is yellow;
//! an XFS under docker's root without d_type (ftype=0: overlay2 cannot run there) is red;
//! containerd's image store turned on (layers go to containerd's root, not the data volume) is
//! yellow; `storage-opts` of another driver left in daemon.json (docker refuses to start with
//! them) is red.

use serde_json::{Map, Value};

use crate::check::{Item, Status, TOOL_TIMEOUT};
use crate::host::Host;
use crate::host::block;
use crate::host::cmd::Cmd;
use crate::host::docker::DAEMON_JSON;

const CHECK: &str = "engine.future";

/// What the item is judged on: the running docker's answer and daemon.json as it is on disk.
pub fn check(h: &Host, info: &Value, file: &Map<String, Value>) -> Item {
    let root = info
        .get("DockerRootDir")
        .and_then(Value::as_str)
        .unwrap_or("/var/lib/docker")
        .to_string();
    let ftype = xfs_ftype(h, &root);
    judge(info, file, &root, ftype)
}

/// The ftype of the XFS holding `root`, when it is XFS and `xfs_info` says.
fn xfs_ftype(h: &Host, root: &str) -> Option<u32> {
    let mounts = block::read_mounts(h.root()).ok()?;
    let holder = mounts
        .iter()
        .filter(|m| {
            root == m.mount_point
                || root.starts_with(&format!("{}/", m.mount_point.trim_end_matches('/')))
        })
        .max_by_key(|m| m.mount_point.len())?;
    if holder.fstype != "xfs" {
        return None;
    }
    let at = h.tool_path(&holder.mount_point).ok()?;
    let o = h
        .runner
        .output_timeout(&Cmd::new("xfs_info").arg(at), TOOL_TIMEOUT)
        .ok()?;
    (o.code == 0).then(|| parse_ftype(&o.stdout)).flatten()
}

/// `ftype=N` in `xfs_info`'s output.
pub fn parse_ftype(out: &str) -> Option<u32> {
    out.split(|c: char| c.is_whitespace() || c == ',')
        .find_map(|w| w.strip_prefix("ftype="))
        .and_then(|v| v.parse().ok())
}

/// The option prefixes of each storage driver's `storage-opts`.
const OPTION_PREFIXES: &[(&str, &str)] = &[
    ("devicemapper", "dm."),
    ("overlay2", "overlay2."),
    ("btrfs", "btrfs."),
    ("zfs", "zfs."),
];

/// `storage-opts` in daemon.json that belong to another driver than `driver`.
fn foreign_options(file: &Map<String, Value>, driver: &str) -> Vec<String> {
    file.get("storage-opts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|o| {
            OPTION_PREFIXES
                .iter()
                .any(|(d, p)| *d != driver && o.starts_with(p))
        })
        .map(str::to_string)
        .collect()
}

/// Whether containerd's image store is on: in daemon.json, or as the running docker says.
fn containerd_store(info: &Value, file: &Map<String, Value>) -> bool {
    file.get("features")
        .and_then(|f| f.get("containerd-snapshotter"))
        .and_then(Value::as_bool)
        == Some(true)
        || crate::check::driver_status(info, "driver-type")
            .is_some_and(|t| t.starts_with("io.containerd.snapshotter"))
}

/// What would break at an upgrade: (red, yellow), each in words.
fn findings(
    info: &Value,
    file: &Map<String, Value>,
    root: &str,
    ftype: Option<u32>,
) -> (Vec<String>, Vec<String>) {
    let running = info.get("Driver").and_then(Value::as_str).unwrap_or("");
    let driver = file
        .get("storage-driver")
        .and_then(Value::as_str)
        .unwrap_or(running);
    let (mut red, mut yellow) = (Vec::new(), Vec::new());
    let foreign = foreign_options(file, driver);
    if !foreign.is_empty() {
        red.push(format!(
            "{DAEMON_JSON} has storage-opts of another driver than {driver}: {} (docker refuses \
             to start with them)",
            foreign.join(", ")
        ));
    }
    if ftype == Some(0) {
        red.push(format!(
            "the XFS holding {root} has ftype=0 (no d_type): overlay2 cannot run on it"
        ));
    }
    if running == "devicemapper" {
        yellow.push(
            "docker runs on devicemapper, which Docker Engine 25 removed: upgrading docker-ce to \
             25 or later stops docker on this node; move it first with `swarmnode \
             migrate-storage --to overlay2`"
                .to_string(),
        );
    }
    if containerd_store(info, file) {
        yellow.push(
            "containerd's image store is on: images and layers go to containerd's root \
             (/var/lib/containerd), not to the data volume"
                .to_string(),
        );
    }
    (red, yellow)
}

/// The judgement, from what was read.
pub fn judge(info: &Value, file: &Map<String, Value>, root: &str, ftype: Option<u32>) -> Item {
    let running = info.get("Driver").and_then(Value::as_str).unwrap_or("");
    let (red, yellow) = findings(info, file, root, ftype);
    let (status, mut all) = if !red.is_empty() {
        (
            Status::Red,
            red.into_iter().chain(yellow).collect::<Vec<_>>(),
        )
    } else if !yellow.is_empty() {
        (Status::Yellow, yellow)
    } else {
        return Item::new(
            CHECK,
            Status::Green,
            format!("nothing here stops docker at an upgrade (driver {running})"),
        );
    };
    let mut item = Item::new(CHECK, status, all.remove(0));
    for more in all {
        item = item.detail(more);
    }
    if running == "devicemapper" {
        item = item.detail(
            "keep docker-ce below 25 on this node (dnf's versionlock plugin) until it is \
             re-provisioned on overlay2 (docs/operations.md, Upgrading docker)",
        );
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn each_case_is_judged_as_the_issue_says() {
        let dm = json!({"Driver": "devicemapper", "DockerRootDir": "/var/lib/docker"});
        let ov = json!({"Driver": "overlay2", "DockerRootDir": "/var/lib/docker",
                        "DriverStatus": [["Backing Filesystem", "xfs"], ["Supports d_type", "true"]]});
        let none = Map::new();
        let root = "/var/lib/docker";
        assert_eq!(judge(&ov, &none, root, Some(1)).status, Status::Green);
        let i = judge(&dm, &none, root, None);
        assert_eq!(i.status, Status::Yellow);
        assert!(i.summary.contains("Engine 25"), "{}", i.summary);
        let i = judge(&ov, &none, root, Some(0));
        assert_eq!(i.status, Status::Red);
        assert!(i.summary.contains("ftype=0"), "{}", i.summary);
        let file = map(json!({"features": {"containerd-snapshotter": true}}));
        assert_eq!(judge(&ov, &file, root, Some(1)).status, Status::Yellow);
        let snap = json!({"Driver": "overlayfs",
                          "DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]]});
        assert_eq!(judge(&snap, &none, root, None).status, Status::Yellow);
        let file = map(json!({"storage-driver": "overlay2",
                              "storage-opts": ["dm.thinpooldev=/dev/mapper/docker-thinpool",
                                               "overlay2.size=10G"]}));
        let i = judge(&ov, &file, root, Some(1));
        assert_eq!(i.status, Status::Red);
        assert!(i.summary.contains("dm.thinpooldev"), "{}", i.summary);
        assert!(!i.summary.contains("overlay2.size"), "{}", i.summary);
        // devicemapper's own options on a devicemapper node are its own.
        let file = map(json!({"storage-driver": "devicemapper",
                              "storage-opts": ["dm.thinpooldev=/dev/mapper/docker-thinpool"]}));
        assert_eq!(judge(&dm, &file, root, None).status, Status::Yellow);
    }

    #[test]
    fn xfs_info_s_ftype_is_read() {
        let out = "meta-data=/dev/mapper/docker-dockerdata isize=512    agcount=4, agsize=262016 blks\n\
                   naming   =version 2              bsize=4096   ascii-ci=0, ftype=1\n";
        assert_eq!(parse_ftype(out), Some(1));
        assert_eq!(
            parse_ftype("naming   =version 2  bsize=4096   ascii-ci=0 ftype=0\n"),
            Some(0)
        );
        assert_eq!(parse_ftype("nothing"), None);
    }

    proptest::proptest! {
        #[test]
        fn no_input_makes_the_judgement_panic(info in "\\PC{0,200}", file in "\\PC{0,200}", out in "\\PC{0,200}") {
            let info: Value = serde_json::from_str(&info).unwrap_or(Value::Null);
            let file = serde_json::from_str::<Map<String, Value>>(&file).unwrap_or_default();
            let _ = judge(&info, &file, "/var/lib/docker", parse_ftype(&out));
        }
    }
}
