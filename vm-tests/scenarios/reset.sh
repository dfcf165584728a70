# Reset (Docker 20.10, devicemapper). A node set up like the seed (its swarm.conf drop-in, a
# daemon.json of the site's own) is recorded, then provisioned with the production profile
# (storage and engine) and runs a container on the pool. `reset` alone prints the plan and
# changes nothing; `reset --yes` leaves the node as recorded before the first apply (/etc/docker,
# /etc/systemd/system, /etc/fstab, /etc/lvm/profile, and the disk as wipefs and blkid see it);
# apply then converges as on a fresh node. A VG with a volume swarmnode did not make keeps it.
# Last, a reset killed right after each of its actions in turn, then run again, completes.
# about: 579 s
# guest: bookworm
# disks: 4G
D=$(data 1); DEV=$(readlink -f "$D")
seed_dropin 127.0.0.1
printf '{\n    "log-driver": "journald"\n}\n' > /etc/docker/daemon.json
chmod 0640 /etc/docker/daemon.json
systemctl daemon-reload
systemctl stop docker docker.socket >/dev/null 2>&1
P=/run/production-storage-engine.json; jq "del(.mounts, .swarm)" /payload/profiles/dccn-production.json > $P

# What a reset must give back: every path with its type, mode and link target, every file's
# sha256, and the data disk's signatures. docker's own key.json (written when it first starts) is
# docker's, not swarmnode's.
node_state() {
  local dirs="/etc/docker /etc/systemd/system /etc/lvm/profile /etc/fstab"
  find $dirs -path /etc/docker/key.json -prune -o -printf '%p %y %m %l\n' 2>/dev/null | sort
  find $dirs -type f ! -path /etc/docker/key.json -exec sha256sum {} + 2>/dev/null | sort
  echo "wipefs: $(wipefs -n "$DEV" 2>&1)"
  echo "blkid: $(blkid -p "$DEV" 2>&1)"
}
before=$(node_state)
echo "$before" > /run/state-before.txt

expect_rc 0 "apply (storage and engine)" $S apply --profile $P --device "$D"
check "docker runs on the pool" sh -c "docker info 2>/dev/null | grep -q 'Pool Name: docker-thinpool'"
docker_image
check "a container runs on the pool" sh -c "docker run --name c1 swarmnode-test:1 /swarmnode --version | grep -q swarmnode"
applied=$(node_state)
check "apply changed the node (or this test proves nothing)" [ "$before" != "$applied" ]

$S reset --profile $P > /run/reset-plan.log 2>&1; rc=$?; cat /run/reset-plan.log
check "reset alone: exit 0 (got $rc)" [ $rc = 0 ]
check "reset alone: nothing changed" [ "$applied" = "$(node_state)" ]
check "reset alone: docker still runs" systemctl is-active -q docker
check "reset alone: shows the pool's removal and daemon.json put back" sh -c "grep -q 'lvremove -y --devices $DEV docker/thinpool' /run/reset-plan.log && grep -q 'daemon.json.swarmnode.orig -> /etc/docker/daemon.json' /run/reset-plan.log"

$S -v reset --yes --profile $P > /run/reset.log 2>&1; rc=$?; grep -v DEBUG /run/reset.log
check "reset --yes: exit 0 (got $rc)" [ $rc = 0 ]
after=$(node_state)
if [ "$before" = "$after" ]; then pass "reset --yes: the node is as before the first apply"
else fail "reset --yes: the node differs from before the first apply:"; diff <(echo "$before") <(echo "$after"); fi
check "reset --yes: no VG docker, no PV on the disk" sh -c "! vgs docker >/dev/null 2>&1 && ! pvs $DEV >/dev/null 2>&1"
check "reset --yes: docker's data of the old pool is moved aside, not deleted" sh -c "[ -d /var/lib/docker.swarmnode-reset/devicemapper ] && [ ! -e /var/lib/docker ]"
check "reset --yes: no swarmnode records left" sh -c "[ ! -e /var/lib/swarmnode/created ] && [ ! -e /var/lib/swarmnode/storage.json ]"
$S -v reset --yes --profile $P > /run/reset2.log 2>&1; rc=$?
check "a second reset: exit 0, no change (got $rc, $(mutating_in /run/reset2.log) changes)" [ "$rc:$(mutating_in /run/reset2.log)" = 0:0 ]

expect_rc 0 "apply after reset: as on a fresh node" $S apply --profile $P --device "$D"
check "apply after reset: docker runs on the new pool" sh -c "docker info 2>/dev/null | grep -q 'Pool Name: docker-thinpool'"
check "apply after reset: the old container is gone with the old pool" sh -c "! docker inspect c1 >/dev/null 2>&1"
check "apply after reset: the original daemon.json is kept once more" cmp -s /etc/docker/daemon.json.swarmnode.orig <(printf '{\n    "log-driver": "journald"\n}\n')
$S -v apply --profile $P --device "$D" > /run/apply-again.log 2>&1; rc=$?
check "apply again: exit 0, no change (got $rc, $(mutating_in /run/apply-again.log) changes)" [ "$rc:$(mutating_in /run/apply-again.log)" = 0:0 ]

# A volume swarmnode did not make: the VG and the disk stay, and the volume with them.
lvcreate -q -y -L 64M -n scratch docker >/dev/null
expect_rc 0 "reset with a foreign volume in the VG" sh -c "$S reset --yes --profile $P > /run/reset-foreign.log 2>&1"
cat /run/reset-foreign.log
check "foreign: scratch is kept, the pool is gone" sh -c "lvs docker/scratch >/dev/null 2>&1 && ! lvs docker/thinpool >/dev/null 2>&1"
check "foreign: the VG and the PV stay" sh -c "vgs docker >/dev/null 2>&1 && pvs $DEV >/dev/null 2>&1"
check "foreign: said what it keeps" grep -q "keeps scratch" /run/reset-foreign.log
lvremove -q -y docker/scratch >/dev/null; vgremove -q -y docker >/dev/null; pvremove -q -y "$DEV" >/dev/null
[ -f /etc/docker/daemon.json.swarmnode.orig ] && mv /etc/docker/daemon.json.swarmnode.orig /etc/docker/daemon.json
check "foreign: back to the recorded state by hand" [ "$before" = "$(node_state)" ]

# Killed right after each action of a reset, then run again: it completes.
expect_rc 0 "apply for the crash rounds" $S apply --profile $P --device "$D"
ids=$($S --json reset --profile $P | jq -r '[.steps[].actions[].id] | unique | .[]')
echo "reset actions: $(echo $ids)"
check "the reset plan has actions" [ -n "$ids" ]
for id in $ids; do
  $S apply --profile $P --device "$D" > /run/apply-$id.log 2>&1 || { fail "apply before the crash at $id"; cat /run/apply-$id.log; }
  SWARMNODE_FAILPOINT=$id $S reset --yes --profile $P > /run/reset-crash-$id.log 2>&1; rc=$?
  check "reset killed right after $id (exit $rc)" [ $rc = 137 ]
  $S reset --yes --profile $P > /run/reset-after-$id.log 2>&1; rc=$?
  [ $rc = 0 ] && pass "reset after a crash at $id completes (exit 0)" || { fail "reset after a crash at $id: exit $rc"; cat /run/reset-after-$id.log; }
  got=$(node_state)
  if [ "$got" = "$before" ]; then pass "after a crash at $id: the node is as before the first apply"
  else fail "after a crash at $id: the node differs:"; diff <(echo "$before") <(echo "$got"); fi
done
