# Crash anywhere: the run is killed (SIGKILL, via the SWARMNODE_FAILPOINT fail point) right after each
# changing action in turn; the next apply must converge to the same end state as an uninterrupted run.
# disks: 4G
D=$(data 1); DEV=$(readlink -f "$D")

$S apply --device "$D" >/run/swarmnode-reference.log 2>&1 || { fail "reference apply"; cat /run/swarmnode-reference.log; }
ref=$(lvs_state); cp /etc/lvm/profile/docker-thinpool.profile /run/ref.profile; cp /var/lib/swarmnode/storage.json /run/ref.storage.json
echo "reference end state:"; echo "$ref"
teardown "$DEV"

for id in storage.pvcreate storage.vgcreate storage.lvcreate-data storage.lvcreate-meta storage.lvconvert \
          storage.lvm-profile storage.lvchange-profile storage.record; do
  SWARMNODE_FAILPOINT=$id $S apply --device "$D" >/run/swarmnode-crash-$id.log 2>&1; rc=$?
  check "killed right after $id (exit $rc)" [ $rc = 137 ]
  $S apply --device "$D" >/run/swarmnode-after-$id.log 2>&1; rc=$?
  [ $rc = 0 ] && pass "apply after a crash at $id converges (exit 0)" || { fail "apply after a crash at $id: exit $rc"; cat /run/swarmnode-after-$id.log; }
  got=$(lvs_state)
  if [ "$got" = "$ref" ]; then pass "end state after a crash at $id is the reference"; else fail "end state after a crash at $id differs:"; diff <(echo "$ref") <(echo "$got"); fi
  check "profile file after a crash at $id is the reference" cmp -s /etc/lvm/profile/docker-thinpool.profile /run/ref.profile
  check "driver record after a crash at $id is the reference" cmp -s /var/lib/swarmnode/storage.json /run/ref.storage.json
  $S apply --device "$D" >/run/swarmnode-third-$id.log 2>&1
  check "a third apply after $id changes nothing" grep -q "storage: converged: nothing to do" /run/swarmnode-third-$id.log
  teardown "$DEV"
done
