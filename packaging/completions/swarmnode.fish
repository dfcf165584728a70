# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_swarmnode_global_optspecs
    string join \n root= profile= v/verbose q/quiet json h/help V/version
end

function __fish_swarmnode_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_swarmnode_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_swarmnode_using_subcommand
    set -l cmd (__fish_swarmnode_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c swarmnode -n "__fish_swarmnode_needs_command" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_needs_command" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_needs_command" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -s h -l help -d 'Print help'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -f -a "plan" -d 'Show exactly which commands and files `apply` would run and write; changes nothing'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -f -a "apply" -d 'Bring the node to the profile\'s state (every step of the profile), then verify it'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -f -a "storage" -d 'Only the storage step: the Docker data disk (thin pool or XFS volume)'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -f -a "engine" -d 'Only the engine step: daemon.json, registry CAs, docker.service drop-ins, restart if changed'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -f -a "mounts" -d 'Only the mounts step: every NFS path of the profile is mounted, is NFS, and answers within mounts.timeout_seconds (75 naming the path and server when it does not)'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -f -a "join" -d 'Only the swarm step: fetch the join token from a manager (ssh, tls or a root-only file), join through the local Engine API, and have the manager set the node\'s labels'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -f -a "reset" -d 'Take the node apart again, for re-provisioning by hand: out of the swarm, docker\'s configuration put back, swarmnode\'s volumes removed, its state removed. Alone it prints what it would remove and changes nothing; --yes does it. Only this node\'s volume group goes: on the recorded device, with this machine\'s tag (another of that name is named and kept), every LVM command seeing its disks only. Its records are checked first: a line outside the places swarmnode writes to is refused (65) before anything changes'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -f -a "drain" -d 'Drain this node: set its availability to drain (through the profile\'s channel to the managers; a manager sets its own), then wait until every task of a replicated service that ran here runs on another node, printing what is left by service. Tasks of global services stop and move nowhere; containers no service started are never moved: both are listed apart. Past --timeout: 75, naming each task left and why (the managers\' words); the node stays drained'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -f -a "activate" -d 'Make this node active again (its availability set to active): swarm may run tasks here'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -f -a "migrate-storage" -d 'Move a devicemapper node to overlay2 on the same disk, keeping the node: its swarm identity, labels, named volumes, networks\' local state, plugins and trust are carried over; images and containers (devicemapper\'s data) are dropped, and swarm starts the node\'s tasks again. Drains first (unless --no-drain), stops docker, removes the thin pool, makes the XFS volume in the same volume group, switches daemon.json, starts docker, makes the node active again. Works on any engine version, also after an upgrade to Docker 25 or later that already stopped docker. Killed anywhere, the next run finishes it'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -f -a "backup" -d 'On a manager: copy the swarm\'s state (/var/lib/docker/swarm) with docker stopped, into an archive (0600) in backup.directory with a manifest (swarm and node IDs, the managers, the engine\'s version, autolock; never the unlock key). Refused (65) unless the other managers keep a reachable majority without this one; while another manager\'s backup claim holds (the label swarmnode.backup); on the leader of several managers (it names a follower); while the swarm has no leader (75); and, unless --force, on the only manager or an autolocked swarm. Docker is started again and waited for until this manager is reachable with a leader; the archives beyond backup.keep are removed. Stopped while docker is stopped, the next run finishes it and starts docker'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -f -a "restore" -d 'On a manager whose docker holds no swarm: put an archive of `backup` in place with docker stopped, start docker, and re-form the swarm from it as a swarm of this manager alone (force-new-cluster). Prints what was restored (services, secrets, configs, networks, nodes) and what to do next. Refused (65) when docker holds a swarm, or when the archive holds anything but swarm/ and its manifest'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -f -a "check" -d 'Check the node\'s health, read-only: storage (thin pool or volume: use, monitoring, room to grow), engine (running, configured as apply writes it, the file loaded), NFS mounts, swarm membership and labels, the first boot. Exit 0 green, 1 yellow, 2 red'
complete -c swarmnode -n "__fish_swarmnode_needs_command" -f -a "broker" -d 'On a manager: the broker, what nodes may ask of it and the keys they may ask with. Alone, it is the forced command sshd runs for the broker user. It answers one request of a fixed grammar in SSH_ORIGINAL_COMMAND: join-token worker|manager, enroll ID KEY, self ID, label ID KEY=VALUE..., remove-stale ID, leave-entry ID, availability ID active|drain, tasks ID. It acts for the caller its key names: a bootstrap key, a node\'s own key (for that node alone), or a key listed by hand (the node at the ssh client\'s address). What it allows is in /etc/swarmnode-broker/broker.json. Each request is logged before it is served; a log stuck for 2 s gets 69. Anything else is refused (65). The commands below are run by root on a manager'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand plan" -l device -d 'The data disk (overrides storage.device). Prefer /dev/disk/by-id/... names' -r
complete -c swarmnode -n "__fish_swarmnode_using_subcommand plan" -l driver -d 'Storage driver (overrides storage.driver): auto picks devicemapper below Docker Engine 25, overlay2 from 25' -r -f -a "auto\t'devicemapper below Docker Engine 25, overlay2 from 25 (the version of the package that owns dockerd; `dockerd --version` only when no package does)'
devicemapper\t'The direct-lvm thin pool (Docker Engine < 25 only)'
overlay2\t'An XFS (ftype=1) logical volume mounted at /var/lib/docker'"
complete -c swarmnode -n "__fish_swarmnode_using_subcommand plan" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand plan" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand plan" -l wipe -d 'Erase existing signatures (filesystem, partition table, RAID, PV of another VG) on an unused device. Never overrides a device that is mounted, swap, held, read-only or the system disk'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand plan" -l move-docker-data -d 'overlay2: when /var/lib/docker already holds data (docker stopped), copy it into the new volume and keep the old tree as /var/lib/docker.swarmnode-old, instead of refusing'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand plan" -l reprovision -d 'The device holds a previous installation of this node (it was re-kickstarted): remove swarmnode\'s own tagged volumes there and make them again (their data is lost). Volumes swarmnode did not make, or that are in use, are still refused. Same as the profile key storage.previous_installation: "recreate"'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand plan" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand plan" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand plan" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand plan" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand apply" -l device -d 'The data disk (overrides storage.device). Prefer /dev/disk/by-id/... names' -r
complete -c swarmnode -n "__fish_swarmnode_using_subcommand apply" -l driver -d 'Storage driver (overrides storage.driver): auto picks devicemapper below Docker Engine 25, overlay2 from 25' -r -f -a "auto\t'devicemapper below Docker Engine 25, overlay2 from 25 (the version of the package that owns dockerd; `dockerd --version` only when no package does)'
devicemapper\t'The direct-lvm thin pool (Docker Engine < 25 only)'
overlay2\t'An XFS (ftype=1) logical volume mounted at /var/lib/docker'"
complete -c swarmnode -n "__fish_swarmnode_using_subcommand apply" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand apply" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand apply" -l wipe -d 'Erase existing signatures (filesystem, partition table, RAID, PV of another VG) on an unused device. Never overrides a device that is mounted, swap, held, read-only or the system disk'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand apply" -l move-docker-data -d 'overlay2: when /var/lib/docker already holds data (docker stopped), copy it into the new volume and keep the old tree as /var/lib/docker.swarmnode-old, instead of refusing'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand apply" -l reprovision -d 'The device holds a previous installation of this node (it was re-kickstarted): remove swarmnode\'s own tagged volumes there and make them again (their data is lost). Volumes swarmnode did not make, or that are in use, are still refused. Same as the profile key storage.previous_installation: "recreate"'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand apply" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand apply" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand apply" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand apply" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand storage" -l device -d 'The data disk (overrides storage.device). Prefer /dev/disk/by-id/... names' -r
complete -c swarmnode -n "__fish_swarmnode_using_subcommand storage" -l driver -d 'Storage driver (overrides storage.driver): auto picks devicemapper below Docker Engine 25, overlay2 from 25' -r -f -a "auto\t'devicemapper below Docker Engine 25, overlay2 from 25 (the version of the package that owns dockerd; `dockerd --version` only when no package does)'
devicemapper\t'The direct-lvm thin pool (Docker Engine < 25 only)'
overlay2\t'An XFS (ftype=1) logical volume mounted at /var/lib/docker'"
complete -c swarmnode -n "__fish_swarmnode_using_subcommand storage" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand storage" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand storage" -l wipe -d 'Erase existing signatures (filesystem, partition table, RAID, PV of another VG) on an unused device. Never overrides a device that is mounted, swap, held, read-only or the system disk'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand storage" -l move-docker-data -d 'overlay2: when /var/lib/docker already holds data (docker stopped), copy it into the new volume and keep the old tree as /var/lib/docker.swarmnode-old, instead of refusing'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand storage" -l reprovision -d 'The device holds a previous installation of this node (it was re-kickstarted): remove swarmnode\'s own tagged volumes there and make them again (their data is lost). Volumes swarmnode did not make, or that are in use, are still refused. Same as the profile key storage.previous_installation: "recreate"'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand storage" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand storage" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand storage" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand storage" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand storage" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand engine" -l device -d 'The data disk (overrides storage.device). Prefer /dev/disk/by-id/... names' -r
complete -c swarmnode -n "__fish_swarmnode_using_subcommand engine" -l driver -d 'Storage driver (overrides storage.driver): auto picks devicemapper below Docker Engine 25, overlay2 from 25' -r -f -a "auto\t'devicemapper below Docker Engine 25, overlay2 from 25 (the version of the package that owns dockerd; `dockerd --version` only when no package does)'
devicemapper\t'The direct-lvm thin pool (Docker Engine < 25 only)'
overlay2\t'An XFS (ftype=1) logical volume mounted at /var/lib/docker'"
complete -c swarmnode -n "__fish_swarmnode_using_subcommand engine" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand engine" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand engine" -l wipe -d 'Erase existing signatures (filesystem, partition table, RAID, PV of another VG) on an unused device. Never overrides a device that is mounted, swap, held, read-only or the system disk'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand engine" -l move-docker-data -d 'overlay2: when /var/lib/docker already holds data (docker stopped), copy it into the new volume and keep the old tree as /var/lib/docker.swarmnode-old, instead of refusing'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand engine" -l reprovision -d 'The device holds a previous installation of this node (it was re-kickstarted): remove swarmnode\'s own tagged volumes there and make them again (their data is lost). Volumes swarmnode did not make, or that are in use, are still refused. Same as the profile key storage.previous_installation: "recreate"'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand engine" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand engine" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand engine" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand engine" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand engine" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand mounts" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand mounts" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand mounts" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand mounts" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand mounts" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand mounts" -s h -l help -d 'Print help'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand mounts" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand join" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand join" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand join" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand join" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand join" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand join" -s h -l help -d 'Print help'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand join" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand reset" -l drain-timeout -d 'How long reset\'s drain waits: 30s, 10m, 1h (a number alone: seconds)' -r
complete -c swarmnode -n "__fish_swarmnode_using_subcommand reset" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand reset" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand reset" -l yes -d 'Do it (without it, reset only shows what it would do)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand reset" -l force -d 'Take out the swarm\'s last manager, or a manager whose going loses quorum, anyway (with force: the last manager ends the swarm); go on when docker is down on a swarm member'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand reset" -l keep-storage -d 'Leave the volumes, their fstab entry, the LVM profile and the storage record alone'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand reset" -l no-drain -d 'Leave the swarm without draining first (by default reset drains the node and waits for its replicas to run elsewhere, within --drain-timeout)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand reset" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand reset" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand reset" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand reset" -s h -l help -d 'Print help'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand reset" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand drain" -l timeout -d 'How long to wait for the replicas here to run elsewhere: 30s, 10m, 1h (a number alone: seconds)' -r
complete -c swarmnode -n "__fish_swarmnode_using_subcommand drain" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand drain" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand drain" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand drain" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand drain" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand drain" -s h -l help -d 'Print help'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand drain" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand activate" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand activate" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand activate" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand activate" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand activate" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand activate" -s h -l help -d 'Print help'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand activate" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand migrate-storage" -l to -d 'The driver to move to (overlay2 is the one there is)' -r -f -a "overlay2\t''"
complete -c swarmnode -n "__fish_swarmnode_using_subcommand migrate-storage" -l drain-timeout -d 'How long the drain waits: 30s, 10m, 1h (a number alone: seconds)' -r
complete -c swarmnode -n "__fish_swarmnode_using_subcommand migrate-storage" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand migrate-storage" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand migrate-storage" -l plan -d 'Only show what it would do; change nothing'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand migrate-storage" -l no-drain -d 'Do not drain the node first (its tasks stop with docker and start again after)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand migrate-storage" -l force -d 'Migrate a manager whose stop leaves the swarm without quorum (the last one)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand migrate-storage" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand migrate-storage" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand migrate-storage" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand migrate-storage" -s h -l help -d 'Print help'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand migrate-storage" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand backup" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand backup" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand backup" -l plan -d 'Only show what it would do; change nothing'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand backup" -l force -d 'Back up the swarm\'s only manager (nothing is managed for the seconds docker is stopped), or an autolocked swarm (docker comes back locked). Never the leader of several managers, nor a backup that would lose quorum'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand backup" -l scheduled -d 'As the timer runs it: on a worker, on the leader, or on a manager that is not the first follower by ID, say so and change nothing (exit 0)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand backup" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand backup" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand backup" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand backup" -s h -l help -d 'Print help'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand backup" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand restore" -l advertise-addr -d 'The address the re-formed swarm\'s manager advertises. Default: the archived manager\'s when it is this host\'s; else docker picks one (and with several, restore says to give it)' -r
complete -c swarmnode -n "__fish_swarmnode_using_subcommand restore" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand restore" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand restore" -l plan -d 'Only show what it would do; change nothing'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand restore" -l force -d 'Restore although a manager of the archived swarm still answers on its swarm port (a second swarm with the same identity would run beside it)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand restore" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand restore" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand restore" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand restore" -s h -l help -d 'Print help'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand restore" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand check" -l format -d 'What to print: a table, JSON, a Xymon status message, or Prometheus text (--json is --format json)' -r -f -a "text\t''
json\t''
xymon\t''
prometheus\t''"
complete -c swarmnode -n "__fish_swarmnode_using_subcommand check" -l xymon -d 'Also send the Xymon status message to xymond at SERVER (port 1984 when absent)' -r
complete -c swarmnode -n "__fish_swarmnode_using_subcommand check" -l textfile -d 'Also write the Prometheus metrics to PATH (node_exporter\'s textfile collector reads DIR/*.prom), atomically' -r
complete -c swarmnode -n "__fish_swarmnode_using_subcommand check" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand check" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand check" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand check" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand check" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand check" -s h -l help -d 'Print help'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand check" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and not __fish_seen_subcommand_from bootstrap keys revoke authorized-keys" -l bootstrap -d 'The caller logged in with this bootstrap key (its fingerprint): set by the key line the broker hands sshd, never by the caller' -r
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and not __fish_seen_subcommand_from bootstrap keys revoke authorized-keys" -l expires -d 'When that bootstrap key expires (seconds since 1970)' -r
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and not __fish_seen_subcommand_from bootstrap keys revoke authorized-keys" -l node -d 'The caller logged in with the key bound to this node ID' -r
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and not __fish_seen_subcommand_from bootstrap keys revoke authorized-keys" -l key -d 'That key\'s fingerprint' -r
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and not __fish_seen_subcommand_from bootstrap keys revoke authorized-keys" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and not __fish_seen_subcommand_from bootstrap keys revoke authorized-keys" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and not __fish_seen_subcommand_from bootstrap keys revoke authorized-keys" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and not __fish_seen_subcommand_from bootstrap keys revoke authorized-keys" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and not __fish_seen_subcommand_from bootstrap keys revoke authorized-keys" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and not __fish_seen_subcommand_from bootstrap keys revoke authorized-keys" -s h -l help -d 'Print help'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and not __fish_seen_subcommand_from bootstrap keys revoke authorized-keys" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and not __fish_seen_subcommand_from bootstrap keys revoke authorized-keys" -f -a "bootstrap" -d 'Make a bootstrap key that expires: its public half stored in the swarm (every manager takes it at once); DIR/bootstrap_key (0600), DIR/known_hosts (the host keys of every manager that applied the broker step) and DIR/bootstrap.ks (the kickstart lines that write both on the node, 0600) written. It may ask for a worker token and enrol a node\'s own key, nothing else, and only until it expires. Expired bootstrap keys are cleared'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and not __fish_seen_subcommand_from bootstrap keys revoke authorized-keys" -f -a "keys" -d 'List the keys the broker\'s user may log in with: kind, node ID, hostname, address, fingerprint, created, expiry'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and not __fish_seen_subcommand_from bootstrap keys revoke authorized-keys" -f -a "revoke" -d 'Remove a key: a node\'s (by its node ID) or a bootstrap key (by its fingerprint). Expired bootstrap keys are cleared too'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and not __fish_seen_subcommand_from bootstrap keys revoke authorized-keys" -f -a "authorized-keys" -d 'What sshd runs (AuthorizedKeysCommand) for the broker user at each login: the keys from the swarm, each line with its restrictions (restrict, from=, expiry-time= for a bootstrap key, and the forced command that carries the key\'s identity), within 2 s; nothing on failure'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from bootstrap" -l ttl -d 'How long it lives: 90s, 30m, 24h, 7d (at least 1m, at most 30d)' -r
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from bootstrap" -l out -d 'Where the files go (made 0700 when missing; an existing bootstrap_key there is refused)' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from bootstrap" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from bootstrap" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from bootstrap" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from bootstrap" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from bootstrap" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from bootstrap" -s h -l help -d 'Print help'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from bootstrap" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from keys" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from keys" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from keys" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from keys" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from keys" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from keys" -s h -l help -d 'Print help'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from keys" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from revoke" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from revoke" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from revoke" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from revoke" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from revoke" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from authorized-keys" -l root -d 'Every host path (files, /proc, /sys, /dev, /run) is taken under this directory' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from authorized-keys" -l profile -d 'The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is absent, apply, plan, reset and the step commands use built-in defaults (--device alone selects the storage step), check refuses (65), and the broker never reads a profile' -r -F
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from authorized-keys" -s v -l verbose -d 'More detail on stderr (-v: every command run, -vv: trace)'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from authorized-keys" -s q -l quiet -d 'Only warnings and errors'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from authorized-keys" -l json -d 'Print the machine-readable result (the report) on stdout instead of text'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from authorized-keys" -s h -l help -d 'Print help'
complete -c swarmnode -n "__fish_swarmnode_using_subcommand broker; and __fish_seen_subcommand_from authorized-keys" -s V -l version -d 'Print version'
