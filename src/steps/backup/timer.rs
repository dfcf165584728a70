//! The backup timer, when the profile has a `backup` section: `swarmnode-backup.service` runs
//! `swarmnode backup --scheduled` every `backup.interval`, from `swarmnode-backup.timer`,
//! on every node with the section. Only a manager backs up, and of the managers only the first
//! follower by ID (the others, the leader and the workers say so and change nothing), so two
//! managers never stop at once for it. Offline (kickstart %post) the timer is enabled and starts
//! at boot; booted, it is enabled and started now.

use crate::error::Result;
use crate::host::Host;
use crate::profile::Backup;
use crate::steps::check_timer::{Units, add_enable, plain_path};
use crate::steps::firstboot::add_binary;
use crate::steps::plan::{StepPlan, add_write};

pub const SERVICE_NAME: &str = "swarmnode-backup.service";
pub const TIMER_NAME: &str = "swarmnode-backup.timer";
pub const SERVICE_PATH: &str = "/etc/systemd/system/swarmnode-backup.service";
pub const TIMER_PATH: &str = "/etc/systemd/system/swarmnode-backup.timer";
pub const WANTS_PATH: &str = "/etc/systemd/system/timers.target.wants/swarmnode-backup.timer";

/// The service: one scheduled backup. A refusal (65: it would lose quorum) fails the unit, so
/// systemd shows it; check shows the backup's age.
pub fn service_text(profile: &str, bin: &str) -> String {
    format!(
        "# written by swarmnode (the profile's backup section)\n\
         [Unit]\n\
         Description=swarmnode backup: the swarm's state, on the manager whose turn it is\n\
         After=docker.service network-online.target\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart={bin} --profile {profile} backup --scheduled\n\
         TimeoutStartSec=15min\n"
    )
}

pub fn timer_text(b: &Backup) -> String {
    format!(
        "# written by swarmnode (the profile's backup section)\n\
         [Unit]\n\
         Description=swarmnode backup every {n}\n\
         \n\
         [Timer]\n\
         OnBootSec=15min\n\
         OnUnitActiveSec={m}min\n\
         RandomizedDelaySec=5min\n\
         \n\
         [Install]\n\
         WantedBy=timers.target\n",
        n = b.interval,
        m = b.interval.secs() / 60
    )
}

/// `profile`: the profile the timer's backup reads, a plain absolute path.
pub fn plan(h: &Host, b: &Backup, profile: &str) -> Result<StepPlan> {
    let mut p = StepPlan::new("backup");
    plain_path(profile)?;
    let bin = add_binary(
        h,
        &mut p,
        "backup.binary",
        "the backup timer runs this binary",
    )?;
    let mut changed = add_write(
        h,
        &mut p,
        "backup.service",
        "runs swarmnode backup --scheduled",
        SERVICE_PATH,
        0o644,
        service_text(profile, bin),
    )?;
    changed |= add_write(
        h,
        &mut p,
        "backup.timer",
        &format!("every {}", b.interval),
        TIMER_PATH,
        0o644,
        timer_text(b),
    )?;
    let units = Units {
        step: "backup",
        timer: TIMER_NAME,
        wants: WANTS_PATH,
        every: format!("every {}", b.interval),
    };
    add_enable(h, &units, changed, &mut p)?;
    Ok(p)
}
