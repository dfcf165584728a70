# Crash anywhere: the run is killed (SIGKILL, via the SWARMNODE_FAILPOINT fail point) right after each
# changing action in turn (the ids come from `swarmnode --json plan` on the blank disk); the next
# apply must converge to the same end state as an uninterrupted run, and a third change nothing.
# Then the run and the command it waits for are killed in the middle of its long commands (lvcreate,
# mkfs.xfs), at several delays: the next apply converges, or refuses (65) what it cannot prove its
# own and says which lvremove clears it, after which it converges.
# about: 159 s
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

# Killed in the middle of a command (power lost, or SIGKILL to everything): lvcreate of the pool
# takes seconds and is several steps for LVM; mkfs.xfs writes for a while. A wrapper first on PATH
# marks the moment the command starts (polling with pgrep misses short ones under TCG; /run is noexec).
mkdir -p /var/tmp/wrap
for tool in lvcreate mkfs.xfs; do
  printf '#!/bin/sh\ntouch /var/tmp/wrap/%s.started\nexec %s "$@"\n' "$tool" "$(command -v $tool)" > /var/tmp/wrap/$tool
  chmod +x /var/tmp/wrap/$tool
done
midway() {
  local tool=$1 t=$2 pid waited=0 rc out
  rm -f /var/tmp/wrap/*.started
  PATH=/var/tmp/wrap:$PATH $S apply --device "$D" >/run/swarmnode-midway.log 2>&1 & pid=$!
  until [ -e /var/tmp/wrap/$tool.started ]; do
    sleep 0.01; waited=$((waited + 1))
    if [ $waited -gt 2000 ] || ! kill -0 $pid 2>/dev/null; then wait $pid; echo "apply ended (exit $?) before $tool started:"; tail -5 /run/swarmnode-midway.log; ls -la /var/tmp/wrap; return 1; fi
  done
  sleep "$t"; pkill -9 -x "$tool"; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  echo "killed in $tool after $t s: $(lvs -a --noheadings -o lv_name,lv_attr,lv_tags docker 2>&1 | awk '{$1=$1; print}' | tr '\n' ';') $(blkid -o value -s TYPE /dev/docker/dockerdata 2>/dev/null)"
  out=$($S apply --device "$D" 2>&1); rc=$?
  if [ $rc = 65 ] && echo "$out" | grep -q "killed midway"; then
    local lv; lv=$(echo "$out" | grep -o 'lvremove docker/lvol[0-9]*' | head -1 | cut -d' ' -f2)
    pass "killed in $tool after $t s: refused naming $lv, which it did not tag"
    lvremove -y "$lv" >/dev/null
    out=$($S apply --device "$D" 2>&1); rc=$?
  fi
  [ $rc = 0 ] && pass "killed in $tool after $t s: the next apply converges" || { fail "killed in $tool after $t s: exit $rc"; echo "$out"; }
  got=$(end_state)
  if [ "$got" = "$ref" ]; then pass "killed in $tool after $t s: end state is the reference"; else fail "killed in $tool after $t s: end state differs:"; diff <(echo "$ref") <(echo "$got"); fi
  teardown "$DEV"
}
for t in 0.05 0.2 0.35 0.5 0.8 1.1 1.5 2.0; do midway lvcreate $t || { echo "lvcreate was over before $t s"; teardown "$DEV"; }; done
for t in 0.1 0.3 0.5; do midway mkfs.xfs $t || { echo "no mkfs.xfs in this layout"; teardown "$DEV"; break; }; done
