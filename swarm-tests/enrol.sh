#!/usr/bin/env bash
# Tier 3: the manager side as a step, and nodes' own keys enrolled with an expiring bootstrap key
# (issue 28). Two managers installed from the RPM (manager-lib.sh: their own root, /etc, sshd and
# log), each converged by one `swarmnode apply` with the profile's broker section, manager 1's
# sshd_config including the drop-in folder (Debian, EL9), manager 2's not (EL8); nodes 3 to 6 hold
# only what the kickstart lines of `swarmnode broker bootstrap` give them. No step by hand after
# the managers' apply.
#   sudo swarm-tests/enrol.sh        (SWARMNODE_BIN, SWARMNODE_RPM, RESULTS as in run.sh)
# Prints one PASS/FAIL line per check and ends with "N passed, M failed". Needs root.
set -uo pipefail
cd "$(dirname "$0")"
BIN=$(readlink -f "${SWARMNODE_BIN:-../target/debug/swarmnode}")
SWARMNODE_RPM=$(readlink -f "${SWARMNODE_RPM:-$(ls ../target/artefacts/swarmnode-*.x86_64.rpm 2>/dev/null | head -1)}")
OUT=$(readlink -f "${RESULTS:-../target/enrol-results}")
# sshd takes an AuthorizedKeysCommand only on a path no one but root can change: not under /tmp.
export PSW_ROOT=${PSW_ROOT:-/var/lib/swarmnode-psw-enrol}
source ./fixture.sh
source ./lib.sh
source ./manager-lib.sh
rm -rf "$OUT"; mkdir -p "$OUT"
nid() { api "$1" /info | jq -r .Swarm.NodeID; }
state() { api "$1" /info | jq -r .Swarm.LocalNodeState; }
labels_of() { on_manager node inspect -f '{{json .Spec.Labels}}' "$1" 2>&1; }
profile() { printf '%s\n' "$2" > "$R/n$1/root/etc/swarmnode/profile.json"; }
ids() { on_manager node ls -q | sort; }
listed() { mgr 1 broker keys | grep -q -- "$1"; }
not_listed() { ! listed "$1"; }
gone() { ! ids | grep -qx "$1"; }
hostkeys() { on_manager config ls --filter label=swarmnode.kind=hostkeys -q | wc -l; }
LOG1=$OUT/broker-log-1.txt LOG2=$OUT/broker-log-2.txt
cleanup() { mgr_down 1; mgr_down 2; down; rm -rf "$R"; }
trap 'cleanup >/dev/null 2>&1' EXIT
cleanup >/dev/null 2>&1
umask 022; mkdir -p "$R"; chmod 755 "$R"
T0=$(now)
up 1 2 3 4 5 6 > "$OUT/up.log" 2>&1 || { cat "$OUT/up.log"; echo "0 passed, 1 failed"; exit 1; }
on_manager swarm init --advertise-addr $NET.1 > /dev/null
dk 2 swarm join --token "$(on_manager swarm join-token -q manager)" $NET.1:2377 > /dev/null
for i in 3 4 5 6; do node_root "$i"; rm -f "$R/n$i/root/root/.ssh/id_ed25519" "$R/n$i/root/etc/swarmnode/known_hosts"; done
echo "fixture: 6 engines, two managers, in $(secs "$T0") s"

# ---- the managers: one apply each, then a second that changes nothing
MGR_PROFILE=$(doc_json '### Set up the managers')
check "docs/managers.md: the managers' profile read from it" jq -e '.broker.networks[0] == "'$NET'.0/24"' <<< "$MGR_PROFILE"
for i in 1 2; do
  shape=include; [ "$i" = 2 ] && shape=el8
  log=$LOG1; [ "$i" = 2 ] && log=$LOG2
  mgr_bed "$i" "$shape" "$log" > "$OUT/bed-$i.log" 2>&1; rc=$?
  expect_rc 0 $rc "manager $i: the RPM installed in its root, its sshd ($shape) running"
  BR=$(mgr_root "$i")
  printf '%s\n' "$MGR_PROFILE" > "$BR/etc/swarmnode/profile.json"
  mgr "$i" apply > "$OUT/mgr$i-apply.out" 2>&1; rc=$?
  expect_rc 0 $rc "manager $i: one apply converges the broker's side"
  check "manager $i: the user made, no password, in the docker group" bash -c \
    "grep -q '^$BROKER_USER:x:[0-9]*:[0-9]*:swarmnode broker:/:/bin/sh$' '$BR/etc/passwd' && grep -q '^$BROKER_USER:\*:' '$BR/etc/shadow' && grep -q '^docker:.*:$BROKER_USER' '$BR/etc/group'"
  check "manager $i: the broker's config is root's, 0644, readable by the user" \
    [ "$(stat -c '%U %a' "$BR/etc/swarmnode-broker/broker.json")" = "root 644" ]
  if [ "$shape" = include ]; then
    check "manager $i: sshd's part in the drop-in, sshd_config untouched" bash -c \
      "[ -f '$BR/etc/ssh/sshd_config.d/50-swarmnode-broker.conf' ] && ! grep -q 'swarmnode broker' '$BR/etc/ssh/sshd_config'"
  else
    check "manager $i: no drop-in folder included (EL8): swarmnode's block at the end of sshd_config" bash -c \
      "tail -1 '$BR/etc/ssh/sshd_config' | grep -qx '# END swarmnode broker' && [ ! -e '$BR/etc/ssh/sshd_config.d/50-swarmnode-broker.conf' ]"
  fi
  check "manager $i: sshd -t clean" nsenter --target "$(cat "$R/n$i/dockerd.pid")" --mount /usr/sbin/sshd -t -f "$BR/etc/ssh/sshd_config"
  check "manager $i: sshd was reloaded once" bash -c "[ \$(grep -c 'try-reload-or-restart' '$BR/systemctl.calls') = 1 ]"
  mgr "$i" --json apply > "$OUT/mgr$i-again.json" 2>&1; rc=$?
  expect_rc 0 $rc "manager $i: a second apply"
  check "manager $i: the second apply changed nothing and reloaded nothing" bash -c \
    "jq -e '.result == \"converged\" and ([.steps[].actions[]] | length == 0)' '$OUT/mgr$i-again.json' > /dev/null && [ \$(grep -c 'try-reload-or-restart' '$BR/systemctl.calls') = 1 ]"
done
check "both managers' host keys are in the swarm" [ "$(hostkeys)" = 2 ]

# ---- a bootstrap key made on manager 1, and a short one that expires during the run
mgr 1 broker bootstrap --ttl 1h --out "$R/boot" > "$OUT/bootstrap.out" 2>&1; rc=$?
expect_rc 0 $rc "bootstrap: made on manager 1"
mgr 1 broker bootstrap --ttl 1m --out "$R/boot-short" > "$OUT/bootstrap-short.out" 2>&1
SHORT_AT=$(now)
check "bootstrap: the key 0600, the kickstart lines 0600, known_hosts with both managers" bash -c \
  "[ \$(stat -c %a '$R/boot/bootstrap_key') = 600 ] && [ \$(stat -c %a '$R/boot/bootstrap.ks') = 600 ] && grep -q '^$NET.1,psw-n1 ssh-ed25519 ' '$R/boot/known_hosts' && grep -q '^$NET.2,psw-n2 ssh-ed25519 ' '$R/boot/known_hosts'"
check "bootstrap: no private key printed" bash -c "! grep -q 'PRIVATE KEY' '$OUT/bootstrap.out'"

NODE_TOKEN=$(doc_json '### Give the nodes a bootstrap key' | jq -c .swarm.token)
check "docs/managers.md: the nodes' token read from it" jq -e '.bootstrap_identity_file == "/etc/swarmnode/bootstrap_key"' <<< "$NODE_TOKEN"
node_profile() {  # node_profile I MANAGERS [EXTRA] [FUNCTION]
  profile "$1" '{"swarm": {"managers": '"$2"', "token": '"$NODE_TOKEN"', "labels": {"function": "'"${4:-production}"'"}, "start_jitter_seconds": 0'"${3:-}"'}}'
}

# ---- node 3: only the kickstart's lines; the bootstrap key made on manager 1 used on manager 2
echo "== node 3: bootstrap key from manager 1, against manager 2"
bootstrap_node 3 "$R/boot"
check "node 3: the kickstart lines wrote the key and known_hosts, 0600" bash -c \
  "[ \$(stat -c %a '$R/n3/root/etc/swarmnode/bootstrap_key') = 600 ] && cmp -s '$R/n3/root/etc/swarmnode/known_hosts' '$R/boot/known_hosts'"
node_profile 3 '["'$NET'.2:2377"]'
sn 3 -v join > "$OUT/n3-join.out" 2>&1; rc=$?
expect_rc 0 $rc "node 3: joins, enrols and labels itself through manager 2"
N3=$(nid 3)
check "node 3: active, labelled by manager 2's broker" [ "$(labels_of "$N3")" = '{"function":"production"}' ]
check "node 3: its own key made, 0600, never sent (only its public half)" bash -c \
  "[ \$(stat -c %a '$R/n3/root/etc/swarmnode/node_key') = 600 ] && ! grep -q 'PRIVATE' '$OUT/n3-join.out'"
FP3=$(ssh-keygen -lf "$R/n3/root/etc/swarmnode/node_key.pub" | cut -d' ' -f2)
check "node 3: enrolled through manager 2, manager 1 lists its key bound to its node ID at once" \
  listed "$N3 .*$FP3"
check "node 3: the token with the bootstrap key, the enrolment with it, the labels with its own" bash -c \
  "grep -q 'bootstrap_key .*join-token worker' '$OUT/n3-join.out' && grep -q 'bootstrap_key .*enroll $N3 ssh-ed25519 ' '$OUT/n3-join.out' && grep -q 'node_key .*label $N3 function=production' '$OUT/n3-join.out'"
rm "$R/n3/root/etc/swarmnode/bootstrap_key"
node_profile 3 '["'$NET'.1:2377", "'$NET'.2:2377"]' '' test
sn 3 -v join > "$OUT/n3-again.out" 2>&1; rc=$?
expect_rc 0 $rc "node 3: a later run, its bootstrap key gone, with its own key alone"
check "node 3: relabelled with its own key" [ "$(labels_of "$N3")" = '{"function":"test"}' ]
check "node 3: no bootstrap key used" bash -c "! grep -q bootstrap_key '$OUT/n3-again.out'"
sn 3 check > "$OUT/n3-check.out" 2>&1
check "node 3: check asks with its own key and finds it ready" grep -Eq "^green +swarm.node" "$OUT/n3-check.out"

# ---- node 4 enrolled too; then what the keys cannot do
echo "== what a bootstrap key and a node's key cannot do"
bootstrap_node 4 "$R/boot"; node_profile 4 '["'$NET'.1:2377"]'
sn 4 join > "$OUT/n4-join.out" 2>&1; rc=$?
expect_rc 0 $rc "node 4: joins and enrols"
N4=$(nid 4)
as() {  # as I KEYFILE WORDS: ssh from node I's address with that key
  local i=$1 key=$2; shift 2
  ip netns exec "psw-n$i" /usr/bin/ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$R/boot/known_hosts" -o IdentitiesOnly=yes -i "$key" -l "$BROKER_USER" "$NET.1" "$@"
}
BK=$R/boot/bootstrap_key K3=$R/n3/root/etc/swarmnode/node_key K4=$R/n4/root/etc/swarmnode/node_key
as 5 "$BK" label "$N3" function=production > "$OUT/bk-label.out" 2>&1; rc=$?
expect_rc 65 $rc "bootstrap key: cannot label a node"
as 5 "$BK" self "$N3" > "$OUT/bk-self.out" 2>&1; rc=$?
expect_rc 65 $rc "bootstrap key: cannot read a node"
check "bootstrap key: nothing of node 3 said" bash -c "! grep -q '$N3\"' '$OUT/bk-self.out'"
as 3 "$K3" self "$N4" > "$OUT/k3-self-n4.out" 2>&1; rc=$?
expect_rc 1 $rc "node 3's key: cannot read node 4 (an unknown ID to it)"
as 3 "$K3" label "$N4" function=production > "$OUT/k3-label-n4.out" 2>&1; rc=$?
expect_rc 1 $rc "node 3's key: cannot label node 4"
as 3 "$K3" remove-stale "$N4" > /dev/null 2>&1; rc=$?
expect_rc 1 $rc "node 3's key: cannot remove node 4's stale entries"
as 4 "$K3" self "$N3" > "$OUT/k3-from-4.out" 2>&1; rc=$?
expect_rc 255 $rc "node 3's key from node 4's address: refused at login (from=)"
as 3 "$K4" label "$N3" function=production > "$OUT/k4-from-3.out" 2>&1; rc=$?
expect_rc 255 $rc "node 4's key from node 3's address, for node 3: refused at login"
check "node 3's labels unchanged by all that" [ "$(labels_of "$N3")" = '{"function":"test"}' ]

# ---- revoked: node 4's key refused at login
mgr 1 broker revoke "$N4" > "$OUT/revoke.out" 2>&1; rc=$?
expect_rc 0 $rc "revoke: node 4's key removed on manager 1"
as 4 "$K4" self "$N4" > "$OUT/revoked.out" 2>&1; rc=$?
expect_rc 255 $rc "revoke: node 4's key refused at login, on manager 1"
ip netns exec psw-n4 /usr/bin/ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes \
  -o UserKnownHostsFile="$R/boot/known_hosts" -o IdentitiesOnly=yes -i "$K4" -l "$BROKER_USER" "$NET.2" self "$N4" > /dev/null 2>&1; rc=$?
expect_rc 255 $rc "revoke: and on manager 2 at once"

# ---- a re-provisioned node: a new node ID enrols again; its old binding and Down entry go
echo "== node 5 re-provisioned"
bootstrap_node 5 "$R/boot"; node_profile 5 '["'$NET'.1:2377"]' ', "remove_stale_nodes": true'
sn 5 join > "$OUT/n5-join.out" 2>&1; rc=$?
expect_rc 0 $rc "node 5: joins and enrols"
OLD5=$(nid 5)
# The reinstall: out of the swarm without a word to it (a new node ID when it joins again), its
# root gone (a new key, no record).
docker -H "unix://$R/n5/docker.sock" swarm leave > /dev/null 2>&1
rm -rf "$R/n5/root"; node_root 5
rm -f "$R/n5/root/root/.ssh/id_ed25519" "$R/n5/root/etc/swarmnode/known_hosts"
bootstrap_node 5 "$R/boot"; node_profile 5 '["'$NET'.1:2377"]' ', "remove_stale_nodes": true'
n=0; until [ "$(on_manager node inspect -f '{{.Status.State}}' "$OLD5" 2>/dev/null)" = down ]; do
  n=$((n+1)); [ $n -lt 120 ] || break; sleep 0.5; done
sn 5 join > "$OUT/n5-rejoin.out" 2>&1; rc=$?
expect_rc 0 $rc "node 5: joins again with a new ID, enrols its new key"
NEW5=$(nid 5)
check "node 5: a new node ID" [ "$NEW5" != "$OLD5" ]
check "node 5: its old Down entry removed" gone "$OLD5"
check "node 5: its old binding gone" not_listed "$OLD5"
check "node 5: its new key bound to its new ID" listed "$NEW5"

echo "== node 6 joins"
bootstrap_node 6 "$R/boot"; node_profile 6 '["'$NET'.1:2377"]'
sn 6 join > "$OUT/n6-join.out" 2>&1; rc=$?
expect_rc 0 $rc "node 6: joins and enrols"
N6=$(nid 6)

# ---- drain and activate through the broker, with node 6's own key (issue 30). A service with a
# replica on each of the workers 3, 5 and 6 (node 4's key is revoked: it takes none); the image is
# busybox alone, imported on every engine (no registry here).
echo "== drain and activate (nodes 3, 5, 6)"
IMG=$OUT/psw-sleep; mkdir -p "$IMG/bin"; cp /bin/busybox "$IMG/bin/"; tar -C "$IMG" -cf "$IMG.tar" .
for i in 1 2 3 4 5 6; do dk "$i" import --change 'CMD ["/bin/busybox","sleep","86400"]' "$IMG.tar" psw-sleep:1 > /dev/null; done
running_on() {  # running_on SERVICE: the node IDs its running tasks are on, sorted
  on_manager service ps -q --filter desired-state=running "$1" | while read -r t; do
    [ "$(on_manager inspect -f '{{.Status.State}}' "$t")" = running ] && on_manager inspect -f '{{.NodeID}}' "$t"
  done | sort; }
settle() {  # settle SERVICE N: until N of its tasks run (60 s at most)
  local n=0; until [ "$(running_on "$1" | wc -l)" = "$2" ]; do n=$((n+1)); [ $n -lt 120 ] || return 1; sleep 0.5; done; }
SVC="--stop-grace-period 2s --no-resolve-image -d"
on_manager service create $SVC --name web --replicas 3 --constraint node.role==worker \
  --constraint "node.id!=$N4" psw-sleep:1 > /dev/null
settle web 3
check "drain: web runs one replica on each of nodes 3, 5 and 6" \
  [ "$(running_on web | tr '\n' ' ')" = "$(printf '%s\n' "$N3" "$NEW5" "$N6" | sort | tr '\n' ' ')" ]
t=$(now); sn 6 --json drain > "$OUT/n6-drain.json" 2> "$OUT/n6-drain.err"; rc=$?
expect_rc 0 $rc "drain: returns once node 6's replica runs elsewhere ($(secs "$t") s)"
check "drain: node 6 drained on the manager" [ "$(on_manager node inspect -f '{{.Spec.Availability}}' "$N6")" = drain ]
RUN=$(running_on web)
check "drain: web's 3 replicas run, none on node 6, when it returns" \
  [ "$(printf '%s\n' "$RUN" | grep -c .)/$(printf '%s\n' "$RUN" | grep -cx "$N6")" = 3/0 ]
check "drain: nothing of web is left on node 6" [ -z "$(dk 6 ps -q --filter label=com.docker.swarm.service.name=web)" ]
check "drain: the report says how long it waited" \
  jq -e '[.steps[0].actions[] | select(.id == "drain.wait") | .duration_ms > 0] == [true]' "$OUT/n6-drain.json"
check "drain: progress by service" grep -q 'drain: 1 task(s) left: web: 1 left' "$OUT/n6-drain.err"
check "drain: asked through the broker with node 6's own key" bash -c \
  "grep -q 'node=$N6 request=\"availability $N6 drain\" allowed' '$LOG1' && grep -q 'node=$N6 request=\"tasks $N6\" allowed' '$LOG1'"
sn 6 --json drain > "$OUT/n6-drain-again.json" 2>&1; rc=$?
expect_rc 0 $rc "drain: again"
check "drain: again: converged, no action" jq -e '.result == "converged"' "$OUT/n6-drain-again.json"
sn 6 activate > "$OUT/n6-activate.out" 2>&1; rc=$?
expect_rc 0 $rc "activate"
check "activate: node 6 active on the manager" [ "$(on_manager node inspect -f '{{.Spec.Availability}}' "$N6")" = active ]
# A service pinned to node 6 by a constraint cannot move: the drain says so, by task, and why.
on_manager service create $SVC --name pinned --constraint "node.id==$N6" psw-sleep:1 > /dev/null
settle pinned 1
t=$(now); sn 6 drain --timeout 20s > "$OUT/n6-pinned.out" 2>&1; rc=$?
expect_rc 75 $rc "drain --timeout 20s: a pinned replica cannot move ($(secs "$t") s)"
check "drain: names the pinned task and the managers' reason" \
  grep -Eq 'pinned\.1 \(task [a-z0-9]{25}\): Pending[^:]*: no suitable node \(scheduling constraints not satisfied' "$OUT/n6-pinned.out"
check "drain: the node stays drained" [ "$(on_manager node inspect -f '{{.Spec.Availability}}' "$N6")" = drain ]
check "drain: and says how to take it back" grep -q 'swarmnode activate' "$OUT/n6-pinned.out"
# Run again: nothing of pinned runs here any more, yet its slot (the managers' history of node 6)
# is still not running anywhere: the wait is not skipped.
sn 6 drain --timeout 5s > "$OUT/n6-pinned-again.out" 2>&1; rc=$?
expect_rc 75 $rc "drain run again: still waits for the pinned replica"
check "drain run again: names it from the managers' history" grep -q 'pinned\.1: Pending: no suitable node' "$OUT/n6-pinned-again.out"
sn 6 activate > "$OUT/n6-activate-2.out" 2>&1; rc=$?
expect_rc 0 $rc "activate: again"
check "activate: the pinned service runs on node 6 again" settle pinned 1
on_manager service rm pinned > /dev/null
# Spread web over the workers again (swarm does not move tasks back by itself).
on_manager service update --force -d web > /dev/null; sleep 1; settle web 3

# ---- reset: the node drains, leaves, and its own key removes its entry (and its binding)
echo "== node 6 reset"
HAD6=$(running_on web | grep -cx "$N6")
check "web: spread again, a replica on node 6" [ "$HAD6" -ge 1 ]
sn 6 reset --yes --keep-storage > "$OUT/n6-reset.out" 2>&1; rc=$?
expect_rc 0 $rc "node 6: reset"
first_at() { grep -n -m1 -- "$2" "$1" | cut -d: -f1; }
check "node 6: reset drained first ($HAD6 replica(s) here), then left" \
  [ "$(first_at "$OUT/n6-reset.out" "availability to drain")" -lt "$(first_at "$OUT/n6-reset.out" "POST /swarm/leave")" ]
check "node 6: web runs its 3 replicas elsewhere" [ "$(running_on web | grep -vcx "$N6")" = 3 ]
check "node 6: out of the swarm" [ "$(state 6)" = inactive ]
check "node 6: its entry removed by its own key" gone "$N6"
check "node 6: its binding gone" not_listed "$N6"

# ---- the short bootstrap key, expired: refused at login, and cleared by the next revoke
left=$(awk -v a="$SHORT_AT" -v b="$(now)" 'BEGIN{d=62-(b-a); print (d > 0 ? d : 0)}')
sleep "$left"
as 5 "$R/boot-short/bootstrap_key" join-token worker > "$OUT/expired.out" 2>&1; rc=$?
expect_rc 255 $rc "bootstrap --ttl 1m: refused at login once it expired"
check "bootstrap --ttl 1m: no token" bash -c "! grep -q SWMTKN '$OUT/expired.out'"
mgr 1 broker revoke "$(ssh-keygen -lf "$R/boot/bootstrap_key.pub" | cut -d' ' -f2)" > "$OUT/revoke-boot.out" 2>&1; rc=$?
expect_rc 0 $rc "revoke: the first bootstrap key by its fingerprint"
check "revoke: the expired one cleared with it" grep -q 'cleared: 1 expired bootstrap key' "$OUT/revoke-boot.out"

# ---- the managers' log: every request, with the key's fingerprint and node, never a token
cat "$LOG1" "$LOG2" > "$OUT/broker-log.txt"
check "log: the enrolments, with the bootstrap key's fingerprint and the node" bash -c \
  "grep -q 'key=SHA256:[^ ]* (bootstrap) request=\"enroll $N3 ' '$LOG2' && grep -q 'allowed: binding $FP3 to node $N3' '$LOG2'"
check "log: node 3's requests with its key and node ID" grep -q "key=$FP3 node=$N3 request=\"label $N3 function=test\" allowed" "$OUT/broker-log.txt"
check "log: the refusals too (bootstrap key asking for a label)" grep -q "(bootstrap) request=\"label $N3 function=production\" refused: a bootstrap key may" "$OUT/broker-log.txt"
check "log: no token anywhere" bash -c "! grep -q SWMTKN '$OUT/broker-log.txt'"

# ---- the managers' side taken away: manager 2 reset (demoted first: manager 1 keeps the swarm),
# its host keys out of the swarm, sshd's part and the user gone
echo "== manager 2 reset"
mgr 2 reset --yes --keep-storage > "$OUT/mgr2-reset.out" 2>&1; rc=$?
expect_rc 0 $rc "manager 2: reset"
BR2=$(mgr_root 2)
check "manager 2: the user, the config and swarmnode's block gone; sshd -t clean" bash -c \
  "! grep -q '^$BROKER_USER:' '$BR2/etc/passwd' && [ ! -e '$BR2/etc/swarmnode-broker/broker.json' ] && ! grep -q 'swarmnode broker' '$BR2/etc/ssh/sshd_config' && nsenter --target $(cat $R/n2/dockerd.pid) --mount /usr/sbin/sshd -t -f '$BR2/etc/ssh/sshd_config'"
check "manager 2: its host keys out of the swarm" [ "$(hostkeys)" = 1 ]

echo "enrol wall time: $(secs "$T0") s"
echo "$NPASS passed, $NFAIL failed"
[ "$NFAIL" = 0 ]
