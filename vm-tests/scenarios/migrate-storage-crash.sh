# migrate-storage killed at its riskiest actions (issue 30, item 2): for each, a fresh
# devicemapper node in a one-node swarm (guest/lib.sh's migrate_setup), the run SIGKILLed right
# after that action (SWARMNODE_FAILPOINT), the file in one place or two, then a plain run
# finishes: the same node, labels and file on overlay2, nothing left. (migrate-storage.sh kills
# one node after every action in turn.)
# about: 527 s
# disks: 4G
D=$(data 1)
ok=$(printf '%s ok\n' node labels file driver mount pool dm-opts dropped record availability)
for id in migrate.docker-stop storage.move-copy storage.move-aside migrate.docker-start; do
  migrate_setup "$D" > /run/swarmnode-mig-setup-$id.log 2>&1 || { fail "setup before $id"; cat /run/swarmnode-mig-setup-$id.log; continue; }
  SWARMNODE_FAILPOINT=$id $S migrate-storage --to overlay2 --no-drain --force > /run/swarmnode-mig-crash-$id.log 2>&1; rc=$?
  where=$(kept_where)
  [ $rc = 137 ] && [ "$where" != " nowhere" ] && pass "killed right after $id; the file is in:$where" \
    || { fail "killed after $id: exit $rc, the file in:$where"; tail -8 /run/swarmnode-mig-crash-$id.log; }
  $S migrate-storage --to overlay2 --no-drain --force > /run/swarmnode-mig-after-$id.log 2>&1; rc=$?
  [ $rc = 0 ] && pass "after a kill at $id the next run finishes (exit 0)" || { fail "after a kill at $id: exit $rc"; tail -20 /run/swarmnode-mig-after-$id.log; }
  got=$(migrate_state)
  [ "$got" = "$ok" ] && pass "after a kill at $id: the same node, labels and file, on overlay2" || fail "after a kill at $id: $(echo "$got" | grep -v ' ok$' | tr '\n' ';')"
done
