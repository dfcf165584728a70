# Crash anywhere: the run is killed (SIGKILL, via the SWARMNODE_FAILPOINT fail point) right after each
# changing action in turn (the ids come from `swarmnode --json plan` on the blank disk); the next
# apply must converge to the same end state as an uninterrupted run, and a third change nothing.
# disks: 4G
D=$(data 1); DEV=$(readlink -f "$D")

# The end state: LVM's view, the files swarmnode writes, and the mount (overlay2).
end_state() {
  lvs_state
  cat /etc/lvm/profile/docker-thinpool.profile /var/lib/swarmnode/storage.json 2>/dev/null
  grep /var/lib/docker /etc/fstab
  findmnt -n -o SOURCE,FSTYPE,OPTIONS /var/lib/docker
}

teardown "$DEV"   # the same starting point as every round below
ids=$($S --json plan --device "$D" | jq -r '.steps[0].actions[].id')
echo "actions: $(echo $ids)"
check "the plan has changing actions" [ -n "$ids" ]
$S apply --device "$D" >/run/swarmnode-reference.log 2>&1 || { fail "reference apply"; cat /run/swarmnode-reference.log; }
ref=$(end_state); echo "reference end state:"; echo "$ref"
teardown "$DEV"

for id in $ids; do
  SWARMNODE_FAILPOINT=$id $S apply --device "$D" >/run/swarmnode-crash-$id.log 2>&1; rc=$?
  check "killed right after $id (exit $rc)" [ $rc = 137 ]
  $S apply --device "$D" >/run/swarmnode-after-$id.log 2>&1; rc=$?
  [ $rc = 0 ] && pass "apply after a crash at $id converges (exit 0)" || { fail "apply after a crash at $id: exit $rc"; cat /run/swarmnode-after-$id.log; }
  got=$(end_state)
  if [ "$got" = "$ref" ]; then pass "end state after a crash at $id is the reference"; else fail "end state after a crash at $id differs:"; diff <(echo "$ref") <(echo "$got"); fi
  $S apply --device "$D" >/run/swarmnode-third-$id.log 2>&1
  check "a third apply after $id changes nothing" grep -q "storage: converged: nothing to do" /run/swarmnode-third-$id.log
  teardown "$DEV"
done
