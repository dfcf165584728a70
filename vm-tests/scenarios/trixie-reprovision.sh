# Re-provisioning an overlay2 node (Docker 26) whose new system uses an LVM devices file. Boot 1
# provisions it and gives docker an image there, and a swarm state file such as a member keeps. Before boot 2 the system disk is
# installed again (fresh image, new machine-id, data disk kept), and LVM is set up as Anaconda does
# on EL9: use_devicesfile=1 and a system.devices listing only the system's PV (the second disk
# stands for it), so LVM does not show the data disk's VG. Boot 2: apply → 65 naming the old
# volume, nothing changed; apply --reprovision → the disk added to the devices file, a fresh XFS
# (no old swarm state), docker on it; apply again changes nothing. Boot 3: the VG activates and
# the volume mounts at boot (the devices file lists the disk), apply is converged.
# about: 245 s
# guest: trixie
# boots: 3
# fresh-root: 2
# disks: 4G 1G
D=$(data 1); DEV=$(readlink -f "$D"); SYS=$(readlink -f "$(data 2)")
all_lvs() { lvs -a --devicesfile '' --noheadings -o vg_name,lv_name,lv_attr,lv_size,lv_tags 2>&1 | sort; vgs --devicesfile '' --noheadings -o vg_name,vg_tags 2>&1 | sort; }
tags_now() { echo "swarmnode,swarmnode-machine-$(cat /etc/machine-id)"; }
case $BOOT in
1)
  expect_rc 0 "boot 1: apply on a blank disk" $S apply --device "$D" --driver overlay2
  check "boot 1: docker starts on the volume" timeout 300 systemctl start docker
  timeout 300 sh -c "$(declare -f docker_image); S=$S; docker_image"
  check "boot 1: docker has an image on the volume" timeout 60 docker image inspect swarmnode-test:1
  # What a swarm member keeps there (its identity and raft state), without a swarm here.
  mkdir -p /var/lib/docker/swarm && echo old-identity > /var/lib/docker/swarm/state.json
  check "boot 1: docker stops" timeout 300 systemctl stop docker docker.socket
  ;;
2)
  systemd-id128 new > /etc/machine-id  # the installer writes a new one
  pvcreate -q "$SYS" && vgcreate -q system "$SYS" >/dev/null
  sed -i 's/^\(\s*\)# use_devicesfile = 0/\1use_devicesfile = 1/' /etc/lvm/lvm.conf
  lvm lvmdevices --adddev "$SYS" >/dev/null 2>&1
  cat /etc/lvm/devices/system.devices
  check "EL9's devices file: in use, lists only the system's PV" sh -c "[ \"\$(lvmconfig devices/use_devicesfile)\" = use_devicesfile=1 ] && ! grep -q '$DEV' /etc/lvm/devices/system.devices"
  check "LVM does not show the data disk's VG" sh -c "! vgs docker >/dev/null 2>&1"
  before=$(cat /etc/lvm/devices/system.devices; all_lvs; fingerprint "$D")
  $S apply --device "$D" --driver overlay2 > /run/refused.log 2>&1; rc=$?; cat /run/refused.log
  check "apply on the previous installation's disk: exit 65 (got $rc)" [ $rc = 65 ]
  check "the refusal names the old volume and --reprovision" sh -c "grep -q 'previous installation' /run/refused.log && grep -q 'docker/dockerdata' /run/refused.log && grep -q -- --reprovision /run/refused.log"
  check "refused: nothing changed (devices file, volumes, disk)" [ "$before" = "$(cat /etc/lvm/devices/system.devices; all_lvs; fingerprint "$D")" ]
  $S -v apply --device "$D" --driver overlay2 --reprovision > /run/reprov.log 2>&1; rc=$?
  grep -E 'cmd=|WARN' /run/reprov.log
  check "apply --reprovision: exit 0 (got $rc)" [ $rc = 0 ]
  check "the data disk is in the devices file now" grep -q "$DEV" /etc/lvm/devices/system.devices
  check "the VG is tagged as this installation's" [ "$(vgfield vg_tags)" = "$(tags_now)" ]
  check "a fresh XFS is mounted at /var/lib/docker" sh -c "[ \"\$(findmnt -n -o FSTYPE /var/lib/docker)\" = xfs ]"
  check "no old swarm state, no old images" sh -c "[ ! -e /var/lib/docker/swarm ] && [ ! -e /var/lib/docker/image ]"
  check "docker starts on the fresh volume" timeout 300 systemctl start docker
  check "docker is in no swarm" [ "$(timeout 60 docker info --format '{{.Swarm.LocalNodeState}}')" = inactive ]
  timeout 300 sh -c "$(declare -f docker_image); S=$S; docker_image"
  check "a container runs (no network)" timeout 300 sh -c "docker run --network none --name new swarmnode-test:1 /swarmnode --version | grep -q swarmnode"
  $S -v apply --device "$D" --driver overlay2 > /run/again.log 2>&1; rc=$?
  check "apply again: exit 0, no change (got $rc, $(mutating_in /run/again.log) changes)" [ "$rc:$(mutating_in /run/again.log)" = 0:0 ]
  systemctl enable docker >/dev/null 2>&1
  ;;
3)
  check "boot 3: the volume is mounted at boot" sh -c "[ \"\$(findmnt -n -o FSTYPE /var/lib/docker)\" = xfs ]"
  timeout 300 systemctl start docker >/dev/null 2>&1
  check "boot 3: the container of boot 2 is there" timeout 300 sh -c "docker start -a new | grep -q swarmnode"
  $S -v apply --device "$D" --driver overlay2 > /run/boot3.log 2>&1; rc=$?
  check "boot 3: apply exit 0, no change (got $rc, $(mutating_in /run/boot3.log) changes)" [ "$rc:$(mutating_in /run/boot3.log)" = 0:0 ]
  ;;
esac
