# Re-provisioning a devicemapper node (Docker 20.10). Boot 1 provisions it and runs a container on
# the pool. Before boot 2 the system disk is installed again (a fresh image, a new machine-id, the
# data disk kept), as a re-kickstart with `ignoredisk` leaves the node. Boot 2: apply → 65 naming
# the old pool, its fill and the old machine-id, nothing changed; the kickstart's %post (offline, a
# PID namespace) with storage.previous_installation "recreate" makes a fresh pool; docker starts on
# it and runs a container; apply again changes nothing. Boot 3: docker comes up on the pool at boot,
# apply is converged.
# about: 274 s
# guest: bookworm
# boots: 3
# fresh-root: 2
# disks: 4G
D=$(data 1)
daemon_json() {
  mkdir -p /etc/docker
  echo '{"storage-driver": "devicemapper", "storage-opts": ["dm.thinpooldev=/dev/mapper/docker-thinpool", "dm.use_deferred_removal=true", "dm.use_deferred_deletion=true"]}' > /etc/docker/daemon.json
}
tags_now() { echo "swarmnode,swarmnode-machine-$(cat /etc/machine-id)"; }
case $BOOT in
1)
  expect_rc 0 "boot 1: apply on a blank disk" $S apply --device "$D" --driver devicemapper
  check "boot 1: the VG is tagged as this installation's" [ "$(vgfield vg_tags)" = "$(tags_now)" ]
  daemon_json
  check "boot 1: docker starts on the pool" systemctl start docker
  docker_image
  check "boot 1: a container runs on the pool" sh -c "docker run --name old swarmnode-test:1 /swarmnode --version | grep -q swarmnode"
  echo "old machine-id $(cat /etc/machine-id)"
  ;;
2)
  systemd-id128 new > /etc/machine-id  # the installer writes a new one
  old=$(vgs --noheadings -o vg_tags docker | tr ',' '\n' | sed -n 's/^ *swarmnode-machine-//p')
  echo "old machine-id $old, new $(cat /etc/machine-id)"
  check "reinstalled: another machine-id, no record, no docker metadata" sh -c "[ -n '$old' ] && [ '$old' != \"\$(cat /etc/machine-id)\" ] && [ ! -e /var/lib/swarmnode/storage.json ] && [ ! -e /var/lib/docker/devicemapper ]"
  check "the old pool holds used blocks ($(lvfield thinpool data_percent)%)" awk -v d="$(lvfield thinpool data_percent)" 'BEGIN{exit !(d > 0)}'
  before=$(lvs_state; vgfield vg_tags; fingerprint "$D")
  $S apply --device "$D" > /run/refused.log 2>&1; rc=$?; cat /run/refused.log
  check "apply on the previous installation's disk: exit 65 (got $rc)" [ $rc = 65 ]
  check "the refusal names the pool, its fill, the old machine-id and --reprovision" sh -c "grep -q 'previous installation' /run/refused.log && grep -q 'docker/thinpool (thin-pool' /run/refused.log && grep -q 'data [0-9.]*%' /run/refused.log && grep -q '$old' /run/refused.log && grep -q -- --reprovision /run/refused.log"
  check "refused: nothing changed (volumes, tags, disk)" [ "$before" = "$(lvs_state; vgfield vg_tags; fingerprint "$D")" ]
  check "refused: no LVM profile, no record written" sh -c "[ ! -e /etc/lvm/profile/docker-thinpool.profile ] && [ ! -e /var/lib/swarmnode/storage.json ]"
  # The kickstart's %post: offline, with the opt-in in its profile.
  echo "{\"storage\": {\"device\": \"$D\", \"driver\": \"devicemapper\", \"previous_installation\": \"recreate\"}}" > /run/ks-profile.json
  out=$(unshare --pid --fork --mount-proc $S -v --profile /run/ks-profile.json apply 2>&1); rc=$?; echo "$out"
  check "%post with previous_installation recreate: exit 0 (got $rc)" [ $rc = 0 ]
  check "%post: it ran offline" sh -c "echo \"\$1\" | grep -q '^offline:'" _ "$out"
  check "%post: the old pool was removed and made again" sh -c "echo \"\$1\" | grep -q 'cmd=lvremove --yes docker/thinpool' && echo \"\$1\" | grep -q 'cmd=lvcreate --yes --type thin-pool'" _ "$out"
  check "the pool is new: no used blocks" [ "$(lvfield thinpool data_percent)" = 0.00 ]
  check "the VG is tagged as this installation's" [ "$(vgfield vg_tags)" = "$(tags_now)" ]
  daemon_json
  check "docker starts on the fresh pool" systemctl start docker
  check "docker's pool is docker-thinpool" sh -c "docker info 2>/dev/null | grep -q 'Pool Name: docker-thinpool'"
  check "the old installation's image is not there" sh -c "! docker image inspect swarmnode-test:1 >/dev/null 2>&1"
  docker_image
  check "a container runs on the fresh pool" sh -c "docker run --name new swarmnode-test:1 /swarmnode --version | grep -q swarmnode"
  $S -v apply --device "$D" > /run/again.log 2>&1; rc=$?
  check "apply again (docker has the pool now): exit 0, no change (got $rc, $(mutating_in /run/again.log) changes)" [ "$rc:$(mutating_in /run/again.log)" = 0:0 ]
  systemctl enable docker >/dev/null 2>&1
  ;;
3)
  systemctl start docker >/dev/null 2>&1
  check "boot 3: docker runs on the pool" sh -c "docker info 2>/dev/null | grep -q 'Pool Name: docker-thinpool'"
  check "boot 3: the container of boot 2 is there" sh -c "docker start -a new | grep -q swarmnode"
  $S -v apply --device "$D" > /run/boot3.log 2>&1; rc=$?
  check "boot 3: apply exit 0, no change (got $rc, $(mutating_in /run/boot3.log) changes)" [ "$rc:$(mutating_in /run/boot3.log)" = 0:0 ]
  ;;
esac
