#!/usr/bin/env bash
# Tier 3: the managers' duties (issue 31). Three managers and two workers, with a service, a
# secret, a config and an overlay network. backup on the leader is refused, naming a follower;
# on a follower it runs while the other two keep serving `node ls`; with one manager stopped,
# backup on another is refused; check's swarm.managers goes green, yellow, red as managers stop;
# a backup killed after docker stopped is finished by the next run. Then every manager is wiped,
# and `restore` on a fresh engine gives a one-manager swarm with the same service, secret,
# config and network, which a worker joins with the new token. Last, autolock: a backup by hand
# of the autolocked swarm, unlocked with its key, and its archive restored with the key.
# Each manager's docker runs with its data root inside swarmnode's --root, and `systemctl` is a
# stand-in (there is no systemd in a namespace) that stops and starts that node's dockerd.
#   sudo swarm-tests/backup.sh     (SWARMNODE_BIN, RESULTS as in run.sh)
# Prints one PASS/FAIL line per check and ends with "N passed, M failed". Needs root.
set -uo pipefail
cd "$(dirname "$0")"
HERE=$PWD
BIN=$(readlink -f "${SWARMNODE_BIN:-../target/debug/swarmnode}")
OUT=$(readlink -f "${RESULTS:-../target/backup-results}")
# The backup directory's way must be root's and writable by root only: not under /tmp.
export PSW_ROOT=${PSW_ROOT:-/var/lib/swarmnode-psw-backup}
source ./fixture.sh
source ./lib.sh
source ./manager-lib.sh
rm -rf "$OUT"; mkdir -p "$OUT"
cleanup() { down; rm -rf "$R"; }
trap 'cleanup >/dev/null 2>&1' EXIT
cleanup >/dev/null 2>&1
umask 022; mkdir -p "$R"; chmod 755 "$R"

root_of() { echo "$R/n$1/root"; }
# dockerd's arguments for node i: its data root inside swarmnode's root (TLS on node 1).
engine_args() { local tls=""; [ "$1" = 1 ] && tls=$(tls_args 1); echo $tls --data-root "$(root_of "$1")/var/lib/docker"; }
# The stand-in systemctl: `stop` stops node $PSW_NODE's dockerd and containerd, `start` starts
# them as the fixture does, `is-active` says whether dockerd runs.
mkdir -p "$R/shim"
cat > "$R/shim/systemctl" <<SHIM
#!/usr/bin/env bash
echo "systemctl \$*" >> "$R/n\$PSW_NODE/systemctl.calls"
export PSW_ROOT="$PSW_ROOT"
source "$HERE/fixture.sh"
i=\$PSW_NODE
case "\$1" in
  is-active) alive "\$(cat "\$R/n\$i/dockerd.pid" 2>/dev/null)" && { echo active; exit 0; }; echo inactive; exit 3 ;;
  stop) stop_pid "\$(cat "\$R/n\$i/dockerd.pid")" 30; stop_pid "\$(cat "\$R/n\$i/containerd.pid")" 10 ;;
  # swarmnode runs in the node's namespace, whose /sys has no cgroup mounts: docker is started
  # from this script's namespaces (the host's), as the fixture starts it.
  start) nsenter -t $$ -m -n -- bash -c "export PSW_ROOT=$PSW_ROOT; source $HERE/fixture.sh; node_up \$i \$(cat "\$R/n\$i/engine.args")" >> "$OUT/restart-\$i.log" 2>&1 ;;
  *) echo "systemctl stand-in: \$* not handled" >&2; exit 1 ;;
esac
SHIM
chmod 755 "$R/shim/systemctl"
# swarmnode on node i, as root on that node: its namespace, its engine, its root, the stand-in.
sn() { local i=$1; shift
  ip netns exec "psw-n$i" env PATH="$R/shim:$PATH" PSW_NODE="$i" DOCKER_HOST="unix://$R/n$i/docker.sock" \
    "$BIN" --root "$(root_of "$i")" "$@"; }
engine_up() { local i=$1; engine_args "$i" > "$R/n$i/engine.args"; node_up "$i" $(cat "$R/n$i/engine.args"); }
engine_down() { stop_pid "$(cat "$R/n$1/dockerd.pid")" 30; stop_pid "$(cat "$R/n$1/containerd.pid")" 10; }
nid() { api "$1" /info | jq -r .Swarm.NodeID; }
answers() { curl -fs --unix-socket "$R/n$1/docker.sock" http://localhost/_ping > /dev/null 2>&1; }
reach() { dk "$1" node inspect -f '{{.ManagerStatus.Reachability}}' "$2" 2>/dev/null; }
managers_item() { sn "$1" check --format json 2>/dev/null | jq -c '.items[] | select(.check == "swarm.managers")'; }
status_of() { managers_item "$1" | jq -r .status; }
wait_for() { local n=0; until "$@"; do n=$((n+1)); [ $n -lt 150 ] || return 1; sleep 0.2; done; }

T0=$(now)
net_up 1 2 3 4 5 > "$OUT/up.log" 2>&1 && pki >> "$OUT/up.log" 2>&1 || { cat "$OUT/up.log"; echo "0 passed, 1 failed"; exit 1; }
for i in 1 2 3 4 5; do
  mkdir -p "$R/n$i" "$(root_of "$i")/run/systemd/system" "$(root_of "$i")/etc/swarmnode" "$(root_of "$i")/var/lib"
  engine_up "$i" >> "$OUT/up.log" 2>&1 || { cat "$OUT/up.log"; echo "0 passed, 1 failed"; exit 1; }
done
dk 1 swarm init --advertise-addr $NET.1 > /dev/null
for i in 2 3; do dk "$i" swarm join --token "$(dk 1 swarm join-token -q manager)" $NET.1:2377 > /dev/null; done
for i in 4 5; do dk "$i" swarm join --token "$(dk 1 swarm join-token -q worker)" $NET.1:2377 > /dev/null; done
dk 1 service create --detach --name web --replicas 2 --no-resolve-image psw-sleep:1 > /dev/null
printf 's3cret' | dk 1 secret create db_pass - > /dev/null
printf 'listen 80' | dk 1 config create app_cfg - > /dev/null
dk 1 network create -d overlay appnet > /dev/null
echo "fixture: 3 managers, 2 workers, in $(secs "$T0") s"

# The managers' profile, as docs/backup.md gives it.
PROFILE=$(awk '/^### On a schedule/ {f=1} f && /^```json$/ {b=1; next} b && /^```/ {exit} b' ../docs/backup.md)
check "docs/backup.md: the backup section read from it" jq -e '.backup.keep == 7' <<< "$PROFILE"
for i in 1 2 3; do printf '%s\n' "$PROFILE" > "$(root_of "$i")/etc/swarmnode/profile.json"; done
LEADER=1
FOLLOWERS=$(for i in 2 3; do echo "$(nid "$i") $i"; done | sort | awk '{print $2}' | tr '\n' ' ')
F=${FOLLOWERS%% *}; O=$((5 - F))   # F: the first follower by ID; O: the other follower

echo "== backup on the leader"
sn $LEADER backup > "$OUT/leader.out" 2>&1; rc=$?
expect_rc 65 $rc "leader: refused"
check "leader: names a follower to run it on" grep -qE "run backup on manager psw-n[23] \([a-z0-9]{25}, $NET\.[23]:2377\)" "$OUT/leader.out"
check "leader: docker was never stopped" bash -c "[ ! -f '$R/n1/systemctl.calls' ] || ! grep -q stop '$R/n1/systemctl.calls'"

echo "== backup on follower $F while the others serve"
touch "$OUT/serving"
( end=$((SECONDS + 120)); while [ -f "$OUT/serving" ] && [ $SECONDS -lt $end ]; do
    for m in 1 $O; do dk "$m" node ls -q > /dev/null 2>&1 && echo ok || echo "fail $m"; done; sleep 0.2; done
) > "$OUT/serving.log" & SERVE=$!
sleep 1
t=$(now); sn "$F" backup > "$OUT/backup.out" 2>&1; rc=$?
rm -f "$OUT/serving"; wait $SERVE
expect_rc 0 $rc "follower: backup done in $(secs "$t") s"
check "follower: docker was stopped and started again" bash -c "grep -q '^systemctl stop docker.socket docker.service' '$R/n$F/systemctl.calls' && grep -q '^systemctl start docker' '$R/n$F/systemctl.calls'"
check "follower: the other two answered node ls all along ($(grep -c ok "$OUT/serving.log") answers)" \
  bash -c "grep -q ok '$OUT/serving.log' && ! grep -q fail '$OUT/serving.log'"
DIR=$(root_of "$F")/var/backups/swarmnode
ARCHIVE=$(ls "$DIR"/swarm-*-"$(nid "$F")".tar.gz 2>/dev/null | head -1)
check "archive: one, named by time and node" [ -n "$ARCHIVE" ]
check "archive: 0600 root, in a 0700 directory" [ "$(stat -c '%a %U' "$ARCHIVE")/$(stat -c '%a' "$DIR")" = "600 root/700" ]
tar -tzf "$ARCHIVE" > "$OUT/listing.txt" 2>&1
check "archive: swarm/ with its raft log and certificates, and backup.json" bash -c \
  "grep -qx 'backup.json' '$OUT/listing.txt' && grep -q '^swarm/raft/' '$OUT/listing.txt' && grep -q '^swarm/certificates/swarm-node.key' '$OUT/listing.txt'"
tar -xzOf "$ARCHIVE" backup.json > "$OUT/manifest.json"
check "manifest: swarm and node IDs, three managers, the engine's version, autolock off" jq -e \
  --arg s "$(api 1 /info | jq -r .Swarm.Cluster.ID)" --arg n "$(nid "$F")" --arg v "$(api 1 /info | jq -r .ServerVersion)" \
  '.swarm_id == $s and .node_id == $n and (.managers | length) == 3 and .engine_version == $v and .autolock == false' "$OUT/manifest.json"
check "manifest: no unlock key anywhere" bash -c "! grep -qi 'SWMKEY\|unlock' '$OUT/manifest.json'"
check "follower: reachable again, the swarm with a leader" bash -c "[ \"\$(ip netns exec psw-n1 docker -H unix://$R/n1/docker.sock node inspect -f '{{.ManagerStatus.Reachability}}' $(nid "$F"))\" = reachable ]"
check "follower: no record left" [ ! -e "$(root_of "$F")/var/lib/swarmnode/backup.json" ]

echo "== check swarm.managers"
ITEM=$(managers_item "$F")
echo "$ITEM" > "$OUT/check-green.json"
check "check: green with 3 of 3 reachable and the newest backup" jq -e '.status == "green" and (.summary | test("3 managers, 3 reachable")) and (.summary | test("newest backup"))' <<< "$ITEM"
check "check: the age gauge for Prometheus" bash -c "ip netns exec psw-n$F env PATH=$R/shim:\$PATH PSW_NODE=$F DOCKER_HOST=unix://$R/n$F/docker.sock $BIN --root $(root_of "$F") check --format prometheus | grep -q '^swarmnode_backup_age_seconds '"
check "check: scheduled backup on the other follower says whose turn it is" bash -c \
  "ip netns exec psw-n$O env PATH=$R/shim:\$PATH PSW_NODE=$O DOCKER_HOST=unix://$R/n$O/docker.sock $BIN --root $(root_of "$O") backup --scheduled | grep -q 'takes the scheduled backup'"

echo "== two backups at once, on both followers"
sn 2 backup > "$OUT/both-2.out" 2>&1 & P2=$!
sn 3 backup > "$OUT/both-3.out" 2>&1 & P3=$!
wait $P2; R2=$?; wait $P3; R3=$?
check "at once: never both (exits $R2 and $R3)" [ "$R2/$R3" != 0/0 ]
refused_ok=yes
for i in 2 3; do
  rc_i=$R3; [ "$i" = 2 ] && rc_i=$R2
  [ "$rc_i" = 0 ] && continue
  { [ "$rc_i" = 65 ] && grep -qE 'claimed a backup at|would lose quorum' "$OUT/both-$i.out"; } || refused_ok=no
done
check "at once: a refused one exits 65, naming the other's claim (or quorum)" [ $refused_ok = yes ]
wait_for bash -c "[ \$(docker -H unix://$R/n1/docker.sock node ls --format '{{.ManagerStatus}}' 2>/dev/null | grep -cE 'Leader|Reachable') = 3 ]"
check "at once: every manager reachable again, no claim left" bash -c \
  "! docker -H unix://$R/n1/docker.sock node ls -q | xargs docker -H unix://$R/n1/docker.sock node inspect -f '{{json .Spec.Labels}}' | grep -q swarmnode.backup"

echo "== one manager stopped"
engine_down "$O"
wait_for bash -c "[ \"\$(docker -H unix://$R/n1/docker.sock node inspect -f '{{.ManagerStatus.Reachability}}' $(nid "$F"))\" = reachable ] && docker -H unix://$R/n1/docker.sock node ls | grep psw-n$O | grep -q Unreachable"
check "one stopped: check is yellow, one unreachable" jq -e '.status == "yellow" and (.summary | test("3 managers, 2 reachable"))' <<< "$(managers_item "$F")"
sn "$F" backup > "$OUT/quorum.out" 2>&1; rc=$?
expect_rc 65 $rc "one stopped: backup on a second manager refused"
check "one stopped: it says quorum would be lost" grep -q 'it would lose quorum' "$OUT/quorum.out"
check "one stopped: docker on $F untouched" answers "$F"
engine_down 1
wait_for bash -c "[ \"\$(curl -s --unix-socket $R/n$F/docker.sock http://localhost/nodes | jq -r 'if type == \"array\" then \"leader\" else \"none\" end')\" = none ]"
check "two stopped: check is red, quorum lost, no leader" jq -e '.status == "red" and (.summary | test("no leader: the swarm has lost quorum"))' <<< "$(managers_item "$F")"
sn "$F" check --format prometheus > "$OUT/check-red.prom" 2>&1
check "two stopped: Prometheus gets the managers' count and no leader" bash -c \
  "grep -qx 'swarmnode_swarm_leader 0' '$OUT/check-red.prom' && grep -qx 'swarmnode_swarm_managers 3' '$OUT/check-red.prom'"
grep -q 'swarmnode_swarm_leader 0' "$OUT/check-red.prom" || grep '^swarmnode_swarm\|swarm.managers' "$OUT/check-red.prom" | sed 's/^/   | /'
engine_up 1 > /dev/null 2>&1; engine_up "$O" > /dev/null 2>&1
wait_for bash -c "[ \"\$(docker -H unix://$R/n1/docker.sock node ls --format '{{.ManagerStatus}}' 2>/dev/null | grep -c -E 'Leader|Reachable')\" = 3 ]"
check "all back: check green again" jq -e '.status == "green"' <<< "$(managers_item "$F")"

echo "== a backup killed after docker stopped"
# Leadership may have moved while managers were stopped, and an election may still follow their
# return: a follower of a leader that all three have named for 6 s (a backup on a node that became
# leader in between is refused, as it should be, and this part would test nothing).
steady_leader() {
  local seen="" same=0 now_l n=0
  while [ $same -lt 3 ] && [ $n -lt 60 ]; do
    now_l=$(for i in 1 2 3; do dk "$i" node ls --format '{{.Hostname}} {{.ManagerStatus}}' 2>/dev/null | awk '$2 == "Leader" {print $1}'; done | sort -u | tr '\n' ' ')
    if [ -n "$now_l" ] && [ "$now_l" = "$seen" ] && [ "$(wc -w <<< "$now_l")" = 1 ]; then same=$((same + 1)); else same=0; seen=$now_l; fi
    n=$((n + 1)); sleep 2
  done
  echo "${seen% }"
}
LEADER=$(steady_leader)
F=$(for i in 1 2 3; do [ "psw-n$i" != "$LEADER" ] && echo "$i"; done | head -1)
echo "   the leader: $LEADER; the backup killed on psw-n$F"
DIR=$(root_of "$F")/var/backups/swarmnode
BEFORE=$(ls "$DIR" 2>/dev/null | grep -c 'tar.gz$')
SWARMNODE_FAILPOINT=backup.docker-stop sn "$F" backup > "$OUT/killed.out" 2>&1; rc=$?
expect_rc 137 $rc "killed: SIGKILL right after docker stopped"
[ $rc = 137 ] || sed 's/^/   | /' "$OUT/killed.out" | head -20
check "killed: docker is down, the record says why" bash -c "! curl -fs --unix-socket $R/n$F/docker.sock http://localhost/_ping >/dev/null 2>&1 && [ -f '$(root_of "$F")/var/lib/swarmnode/backup.json' ]"
sn "$F" backup > "$OUT/after-kill.out" 2>&1; rc=$?
expect_rc 0 $rc "after the kill: the next run finishes"
[ $rc = 0 ] || sed "s/^/   | /" "$OUT/after-kill.out" | head -20
check "after the kill: it says docker was left stopped, and starts it" bash -c "grep -q 'docker was left stopped' '$OUT/after-kill.out' && curl -fs --unix-socket $R/n$F/docker.sock http://localhost/_ping >/dev/null"
check "after the kill: $F reachable again, one more archive, no record" bash -c "[ \$(ls '$DIR' | grep -c 'tar.gz\$') = $((BEFORE + 1)) ] && [ \"\$(docker -H unix://$R/n$F/docker.sock node inspect self -f '{{.ManagerStatus.Reachability}}')\" = reachable ] && [ ! -e '$(root_of "$F")/var/lib/swarmnode/backup.json' ]"
ARCHIVE=$(ls "$DIR"/swarm-*.tar.gz | sort | tail -1)

echo "== every manager wiped; restore on a fresh engine"
# The manager reinstalled: node $F, whose archive it is, keeps its address; its engine is fresh.
RN=$F
for i in 1 2 3; do engine_down "$i"; rm -rf "$(root_of "$i")/var/lib/docker"; done
engine_up "$RN" > /dev/null 2>&1
check "fresh: node $RN holds no swarm" [ "$(api "$RN" /info | jq -r .Swarm.LocalNodeState)" = inactive ]
# docs/backup.md's commands, as written: the archive's name and /root are this bed's, swarmnode
# runs on node $RN; the output of each swarmnode command goes to its own file.
RESTORE=$(root_of "$RN")/root/restore
A=$RESTORE/$(basename "$ARCHIVE")
awk '/^## Restoring/ {f=1} f && /^```sh$/ {b=1; next} b && /^```/ {exit} b' ../docs/backup.md > "$OUT/restore-doc.sh"
check "docs/backup.md: the restore commands read from it" grep -q '^swarmnode restore /root/restore/' "$OUT/restore-doc.sh"
touch "$R/n$RN/systemctl.calls"; CALLS=$(wc -l < "$R/n$RN/systemctl.calls")
n=0
while read -r line; do
  n=$((n+1))
  line=${line//swarm-20261205T113000Z-NODEID.tar.gz/$(basename "$ARCHIVE")}
  line=${line//\/root\/restore/$RESTORE}
  case "$line" in
    cp\ *) line="cp $ARCHIVE $RESTORE/" ;;   # the archive comes from the wiped manager's directory
    swarmnode\ *) line="sn $RN ${line#swarmnode }" ;;
  esac
  echo "\$ $line" >> "$OUT/restore-doc.log"
  eval "$line" > "$OUT/restore-doc-$n.out" 2>&1; echo "exit $?" >> "$OUT/restore-doc.log"
  if [[ $line == "sn $RN restore --plan "* ]]; then
    cp "$OUT/restore-doc-$n.out" "$OUT/restore-plan.out"
    check "restore --plan: the archive's swarm named, nothing changed" bash -c "grep -q 'the archive: swarm ' '$OUT/restore-plan.out' && [ \$(wc -l < '$R/n$RN/systemctl.calls') = $CALLS ] && [ ! -e '$(root_of "$RN")/var/lib/swarmnode/restore.json' ]"
  fi
done < "$OUT/restore-doc.sh"
cp "$OUT/restore-doc-$n.out" "$OUT/restore.out"
check "restore as the docs write it: every command exits 0" bash -c "! grep -v '^exit 0$' '$OUT/restore-doc.log' | grep -q '^exit'"
check "restore: the archive copied 0600 into a 0700 directory" [ "$(stat -c '%a' "$A")/$(stat -c '%a' "$RESTORE")" = "600/700" ]
dk "$RN" node ls > "$OUT/restored-nodes.txt" 2>&1
check "restore: this manager leads, and is the only reachable one" bash -c \
  "[ \"\$(docker -H unix://$R/n$RN/docker.sock node inspect self -f '{{.ManagerStatus.Leader}}')\" = true ] && [ \$(grep -cE ' (Leader|Reachable) ' '$OUT/restored-nodes.txt') = 1 ]"
check "restore: the service, secret, config and network are back" bash -c \
  "docker -H unix://$R/n$RN/docker.sock service ls --format '{{.Name}}' | grep -qx web && docker -H unix://$R/n$RN/docker.sock secret ls --format '{{.Name}}' | grep -qx db_pass && docker -H unix://$R/n$RN/docker.sock config ls --format '{{.Name}}' | grep -qx app_cfg && docker -H unix://$R/n$RN/docker.sock network ls --format '{{.Name}}' | grep -qx appnet"
check "restore: it printed what it restored and what to do next" bash -c "grep -q 'services 1 (web)' '$OUT/restore.out' && grep -q 'secrets 1 (db_pass)' '$OUT/restore.out' && grep -q 'rotate the join tokens' '$OUT/restore.out'"
check "restore: no record left" [ ! -e "$(root_of "$RN")/var/lib/swarmnode/restore.json" ]
dk "$RN" swarm join-token --rotate worker > /dev/null 2>&1
dk 4 swarm leave --force > /dev/null 2>&1
dk 4 swarm join --token "$(dk "$RN" swarm join-token -q worker)" $NET.$RN:2377 > "$OUT/join.out" 2>&1; rc=$?
expect_rc 0 $rc "a worker joins the restored swarm with the new token"
check "the worker is ready there" wait_for bash -c "docker -H unix://$R/n$RN/docker.sock node ls --format '{{.Hostname}} {{.Status}}' | grep -q '^psw-n4 Ready'"
sn $RN restore "$A" > "$OUT/restore-again.out" 2>&1; rc=$?
expect_rc 65 $rc "restore again: refused, docker holds a swarm"

echo "== autolock: a backup by hand comes back locked; a restore needs the key"
# The restored swarm (one manager, node $RN) autolocked: the key is docker's, never swarmnode's.
KEY=$(dk "$RN" swarm update --autolock=true 2>&1 | grep -o 'SWMKEY-[A-Za-z0-9+/=-]*' | head -1)
check "autolock: on, with its key" [ -n "$KEY" ]
sn "$RN" backup > "$OUT/lock-refused.out" 2>&1; rc=$?
expect_rc 65 $rc "autolock: a backup without --force is refused (the only manager)"
DIR=$(root_of "$RN")/var/backups/swarmnode
BEFORE=$(ls "$DIR" 2>/dev/null | grep -c 'tar.gz$')
sn "$RN" backup --force > "$OUT/lock-backup.out" 2>&1; rc=$?
expect_rc 1 $rc "autolock: backup --force writes the archive, then stops at once at the locked docker"
check "autolock: it said docker would come back locked, then that it did, and to unlock" bash -c \
  "grep -q 'after the backup docker comes back locked' '$OUT/lock-backup.out' && grep -q 'came back locked (the swarm is autolocked)' '$OUT/lock-backup.out' && grep -q 'docker swarm unlock' '$OUT/lock-backup.out' && [ \"\$(curl -s --unix-socket $R/n$RN/docker.sock http://localhost/info | jq -r .Swarm.LocalNodeState)\" = locked ]"
printf '%s\n' "$KEY" | dk "$RN" swarm unlock > "$OUT/unlock-1.out" 2>&1
sn "$RN" backup --force > "$OUT/lock-finish.out" 2>&1; rc=$?
expect_rc 0 $rc "autolock: unlocked, backup again finishes it"
LOCKED=$(ls "$DIR"/swarm-*.tar.gz | sort | tail -1)
check "autolock: one more archive, its manifest says autolock, no key in it" bash -c \
  "[ \$(ls '$DIR' | grep -c 'tar.gz\$') = $((BEFORE + 1)) ] && tar -xzOf '$LOCKED' backup.json | jq -e '.autolock == true' > /dev/null && ! tar -xzOf '$LOCKED' backup.json | grep -q SWMKEY"
# The manager lost and reinstalled: a fresh engine, the autolocked archive restored.
dk 4 swarm leave --force > /dev/null 2>&1
engine_down "$RN"; rm -rf "$(root_of "$RN")/var/lib/docker"; engine_up "$RN" > /dev/null 2>&1
cp "$LOCKED" "$RESTORE/"; chmod 600 "$RESTORE/$(basename "$LOCKED")"
sn "$RN" restore "$RESTORE/$(basename "$LOCKED")" > "$OUT/lock-restore.out" 2>&1; rc=$?
expect_rc 1 $rc "autolock restore: stops at the locked docker it started (1: not a refusal, the state is in place)"
check "autolock restore: it says docker started locked, to unlock with the key, then restore again" bash -c \
  "grep -q 'docker started locked on the restored state' '$OUT/lock-restore.out' && grep -q 'docker swarm unlock' '$OUT/lock-restore.out' && ! grep -q 'nothing was changed' '$OUT/lock-restore.out'"
sn "$RN" restore "$RESTORE/$(basename "$LOCKED")" > "$OUT/lock-restore-again.out" 2>&1; rc=$?
expect_rc 65 $rc "autolock restore: run again while still locked, refused (nothing changed this time)"
check "autolock restore: it says the restored swarm is autolocked" grep -q 'the restored swarm is autolocked' "$OUT/lock-restore-again.out"
printf '%s\n' "$KEY" | dk "$RN" swarm unlock > "$OUT/unlock-2.out" 2>&1
sn "$RN" restore "$RESTORE/$(basename "$LOCKED")" > "$OUT/lock-restore2.out" 2>&1; rc=$?
expect_rc 0 $rc "autolock restore: unlocked, restore again goes on and re-forms the swarm"
[ $rc = 0 ] || sed 's/^/   | /' "$OUT/lock-restore2.out" | tail -8
check "autolock restore: the service is back, this manager leads, and it says the key is needed at each restart" bash -c \
  "docker -H unix://$R/n$RN/docker.sock service ls --format '{{.Name}}' | grep -qx web && [ \"\$(docker -H unix://$R/n$RN/docker.sock node inspect self -f '{{.ManagerStatus.Leader}}')\" = true ] && grep -q 'autolock is on: every manager that restarts needs the unlock key' '$OUT/lock-restore2.out'"

echo "$NPASS passed, $NFAIL failed"
[ "$NFAIL" = 0 ]
