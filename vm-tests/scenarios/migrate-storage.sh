# migrate-storage (issue 30, item 2), bookworm's docker 20.10: a devicemapper node in a one-node
# swarm, labelled, with a named volume holding a file and a running task (guest/lib.sh's
# migrate_setup). Its one manager is refused without --force (docker stops: no quorum meanwhile),
# nothing changed. `migrate-storage --to overlay2 --no-drain --force` keeps the node ID and labels and the
# file; docker runs on overlay2 on the XFS volume with project quotas; no thin pool, no dm.*
# option, nothing left aside; `apply` with the same profile (driver auto, an engine that still has
# devicemapper) then changes nothing; the service runs again once its image is back (boot 1).
# Boot 2: on a fresh node the run is killed right after each of its actions in turn, in the
# order boot 1 ran them (SWARMNODE_FAILPOINT), each run going on from the last kill; after each
# kill the file is in one place or two; the last run finishes with the same end state.
# about: 593 s
# disks: 4G
# boots: 2
D=$(data 1)
ok=$(printf '%s ok\n' node labels file driver mount pool dm-opts dropped record availability)

if [ "$BOOT" = 1 ]; then

migrate_setup "$D" || fail "setup"
ok=$(printf '%s ok\n' node labels file driver mount pool dm-opts dropped record availability)
$S migrate-storage --to overlay2 --no-drain > /run/swarmnode-mig-refused.log 2>&1; rc=$?
check "the swarm's one manager is refused without --force (exit $rc)" sh -c "[ $rc = 65 ] && grep -q 'no quorum while it is stopped' /run/swarmnode-mig-refused.log"
check "and nothing changed (docker on the pool, no record)" sh -c "[ \"\$(docker info -f '{{.Driver}}')\" = devicemapper ] && [ ! -e /var/lib/swarmnode/migrate.json ]"
t0=$(now); $S --json migrate-storage --to overlay2 --no-drain --force > /run/swarmnode-mig.json 2> /run/swarmnode-mig.err; rc=$?; t1=$(now)

[ $rc = 0 ] && pass "migrate-storage --force exits 0 in $(secs $t0 $t1) s" || { fail "migrate-storage: exit $rc"; cat /run/swarmnode-mig.err; jq -r '.error' /run/swarmnode-mig.json; }
got=$(migrate_state); echo "$got"
[ "$got" = "$ok" ] && pass "the same node, its labels and file; overlay2 on the XFS volume with project quotas; no pool, no dm.* option, nothing left" || fail "the end state: $(echo "$got" | grep -v ' ok$' | tr '\n' ';')"
jq -r '[.steps[].actions[].id] | reduce .[] as $i ([]; if index([$i]) then . else . + [$i] end) | .[]' /run/swarmnode-mig.json > /root/migrate-order.txt
check "the volume is XFS with ftype=1" sh -c "xfs_info /var/lib/docker | grep -q 'ftype=1'"
check "the storage record says overlay2" grep -q '"driver": "overlay2"' /var/lib/swarmnode/storage.json

$S -v apply --profile "$MIG_PROFILE" > /run/swarmnode-mig-apply.log 2>&1; rc=$?
check "apply with the same profile (auto) afterwards exits 0" [ $rc = 0 ]
check "and changes nothing" [ "$(mutating_in /run/swarmnode-mig-apply.log)" = 0 ]
check "and keeps overlay2 (auto, on docker 20.10)" grep -q "driver overlay2 (auto): the node runs overlay2" /run/swarmnode-mig-apply.log
$S --json migrate-storage --to overlay2 --force > /run/swarmnode-mig-again.json 2>/dev/null; rc=$?
check "a second migrate-storage changes nothing" sh -c "[ $rc = 0 ] && jq -e '.result == \"converged\"' /run/swarmnode-mig-again.json > /dev/null"
sleeper_image
n=0; until [ "$(docker service ps -q --filter desired-state=running web | head -1 | xargs -r docker inspect -f '{{.Status.State}}' 2>/dev/null)" = running ] || [ $n -gt 120 ]; do n=$((n+1)); sleep 0.5; done
check "the service's task runs again once its image is back, with the volume's file" \
  sh -c "docker exec \$(docker ps -q --filter label=com.docker.swarm.service.name=web | head -1) /bin/sleep 0 && [ -f /var/lib/docker/volumes/data/_data/kept.txt ]"

fi

# Killed right after each action in turn, in the order they run, on one fresh node: each run
# goes on from where the last was killed and is killed right after the next action; after each
# kill the file is in one place or two. The last run finishes. (migrate-storage-crash.sh kills a
# fresh node at the riskiest actions, each followed by a plain run.)
[ "$BOOT" = 2 ] || return 0 2>/dev/null || exit 0
order=$(cat /root/migrate-order.txt)
echo "actions in order: $(echo $order)"
check "boot 1 left the order of the actions" [ -n "$order" ]
migrate_setup "$D" > /run/swarmnode-mig-setup-chain.log 2>&1 || { fail "setup for the chain"; cat /run/swarmnode-mig-setup-chain.log; }
fresh=0
for id in $order; do
  SWARMNODE_FAILPOINT=$id $S migrate-storage --to overlay2 --no-drain --force > /run/swarmnode-mig-chain-$id.log 2>&1; rc=$?
  if [ $rc = 0 ]; then
    # The run went on from the last kill and finished without this action (planned only in
    # the same round as one done already): this one is killed from a fresh node instead.
    fresh=$((fresh + 1))
    migrate_state | grep -qv ' ok$' && fail "the run that finished before $id left: $(migrate_state | grep -v ' ok$' | tr '\n' ';')"
    migrate_setup "$D" > /run/swarmnode-mig-setup-chain-$id.log 2>&1 || { fail "setup for $id"; continue; }
    SWARMNODE_FAILPOINT=$id $S migrate-storage --to overlay2 --no-drain --force > /run/swarmnode-mig-chain-$id.log 2>&1; rc=$?
  fi
  where=$(kept_where)
  [ $rc = 137 ] && [ "$where" != " nowhere" ] && pass "killed right after $id; the file is in:$where" \
    || { fail "killed after $id: exit $rc, the file in:$where"; tail -8 /run/swarmnode-mig-chain-$id.log; }
done
echo "FIGURE the chain of kills took $fresh fresh node(s) besides the first"
$S migrate-storage --to overlay2 --no-drain --force > /run/swarmnode-mig-chain-end.log 2>&1; rc=$?
[ $rc = 0 ] && pass "after the last kill the next run finishes (exit 0)" || { fail "after the chain: exit $rc"; tail -20 /run/swarmnode-mig-chain-end.log; }
got=$(migrate_state)
[ "$got" = "$ok" ] && pass "after the chain of kills: the same node, labels and file, on overlay2, nothing left" || fail "after the chain: $(echo "$got" | grep -v ' ok$' | tr '\n' ';')"
