#!/usr/bin/env bash
# Tier 3: the swarm step against real Docker engines, one per network namespace (fixture.sh).
# Node 1 is the manager (TLS API on 10.77.0.1:2376, sshd on :22); swarmnode runs inside node i's
# network namespace with its own --root, and reaches node i's engine through DOCKER_HOST.
#   sudo swarm-tests/run.sh          (SWARMNODE_BIN=path to test another binary; SWARMNODE_RPM=the
#                                     RPM the broker's manager installs, default target/artefacts/)
# Prints one PASS/FAIL line per check and ends with "N passed, M failed". Needs root.
set -uo pipefail
cd "$(dirname "$0")"
HERE=$PWD
BIN=$(readlink -f "${SWARMNODE_BIN:-../target/debug/swarmnode}")
SWARMNODE_RPM=$(readlink -f "${SWARMNODE_RPM:-$(ls ../target/artefacts/swarmnode-*.x86_64.rpm 2>/dev/null | head -1)}")
OUT=$(readlink -f "${RESULTS:-../target/swarm-results}")
source ./fixture.sh
rm -rf "$OUT"; mkdir -p "$OUT"
# ---- checks (pass, fail, check, expect_rc, secs) and helpers on node i (api, on_manager,
# node_root, sn): lib.sh
source ./lib.sh
state() { api "$1" /info | jq -r .Swarm.LocalNodeState; }
nid() { api "$1" /info | jq -r .Swarm.NodeID; }
labels_of() { on_manager node inspect -f '{{json .Spec.Labels}}' "$1" 2>&1; }
profile() { printf '%s\n' "$2" > "$R/n$1/root/etc/swarmnode/profile.json"; }
SSH='{"source": "ssh", "identity_file": "/root/.ssh/id_ed25519", "known_hosts_file": "/etc/swarmnode/known_hosts", "connect_timeout_seconds": 3}'
TLS='{"source": "tls", "ca_file": "/etc/swarmnode/pki/ca.pem", "cert_file": "/etc/swarmnode/pki/cert.pem", "key_file": "/etc/swarmnode/pki/key.pem"}'
trap 'down >/dev/null 2>&1' EXIT
down >/dev/null 2>&1
T0=$(now)
up 1 2 3 4 5 6 7 > "$OUT/up.log" 2>&1 || { cat "$OUT/up.log"; echo "0 passed, 1 failed"; exit 1; }
on_manager swarm init --advertise-addr $NET.1 > /dev/null
for i in 2 3 4 5 6 7; do node_root "$i"; done    # before $TOK: no token file in these roots
TOK=$(on_manager swarm join-token -q worker)
CA_HASH=sha256:$(on_manager swarm ca | sha256sum | cut -d' ' -f1)
echo "fixture: 7 engines and a swarm in $(secs "$T0") s"

# ---- 1. join over ssh, labels set by the manager; no token in any argv or output
echo "== join over ssh (node 2)"
# Labels with characters a remote shell would expand (~, [...], #, !, quotes, spaces).
LABELS2='{"function": "production", "rack": "b 2", "home": "~", "slot": "b[12]", "note": "a#b !c '"'d'"'"}'
profile 2 "{\"swarm\": {\"start_jitter_seconds\": 0, \"managers\": [\"$NET.1:2377\"], \"token\": $SSH, \"ca_hash\": \"$CA_HASH\",
  \"labels\": $LABELS2}}"
SCAN=$OUT/scan; mkdir -p "$SCAN"
( n=0; while [ ! -e "$SCAN/stop" ]; do
    cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' '\n' | grep -a 'SWMTK[N]-1-' >> "$SCAN/hits"; n=$((n+1))
  done; echo $n > "$SCAN/scans" ) &
SCANNER=$!
sh -c 'sleep 0.5' SWMTKN-1-canary-in-argv &    # the scanner must see this one
t=$(now); sn 2 -vv join > "$OUT/n2-join.out" 2> "$OUT/n2-join.err"; rc=$?; dt=$(secs "$t")
touch "$SCAN/stop"; wait $SCANNER
expect_rc 0 $rc "ssh: join and label in ${dt} s"
check "ssh: node 2 is active" [ "$(state 2)" = active ]
N2=$(nid 2)
check "ssh: the manager sees node 2 ready" [ "$(on_manager node inspect -f '{{.Status.State}}' "$N2")" = ready ]
check "ssh: labels on the manager, by node ID, exactly as written (~, [], #, !, quotes)" \
  [ "$(labels_of "$N2")" = "{\"function\":\"production\",\"home\":\"~\",\"note\":\"a#b !c 'd'\",\"rack\":\"b 2\",\"slot\":\"b[12]\"}" ]
check "secrets: the cmdline scanner works (saw the canary)" grep -q 'SWMTKN-1-canary-in-argv' "$SCAN/hits"
check "secrets: no token in any process's argv ($(cat "$SCAN/scans") scans of /proc/*/cmdline)" \
  bash -c "! grep -v canary '$SCAN/hits' | grep -q ."
check "secrets: no token in the -vv output" bash -c "! grep -qF -- '$TOK' '$OUT/n2-join.out' '$OUT/n2-join.err'"
check "secrets: the -vv log shows the join request (and not its body)" grep -q 'request=POST /swarm/join' "$OUT/n2-join.err"
check "secrets: no token in report.json or anywhere under the node's root" bash -c "! grep -rqF -- '$TOK' '$R/n2/root'"

# ---- 2. the second run is a no-op
echo "== second run (node 2)"
V1=$(on_manager node inspect -f '{{.Version.Index}}' "$N2")
sn 2 --json join > "$OUT/n2-again.json" 2> "$OUT/n2-again.err"; rc=$?
expect_rc 0 $rc "again: exit"
check "again: converged, no action" bash -c "jq -e '.result == \"converged\" and ([.steps[].actions[]] | length == 0)' '$OUT/n2-again.json' >/dev/null"
check "again: same node ID" [ "$(nid 2)" = "$N2" ]
check "again: the node was not updated on the manager (version $V1)" [ "$(on_manager node inspect -f '{{.Version.Index}}' "$N2")" = "$V1" ]

# ---- 3. join over TLS (the manager's Engine API with a client certificate)
echo "== join over tls (node 3)"
profile 3 "{\"swarm\": {\"start_jitter_seconds\": 0, \"managers\": [\"$NET.1:2377\"], \"token\": $TLS, \"labels\": {\"function\": \"production\"}, \"remove_stale_nodes\": true}}"
t=$(now); sn 3 join > "$OUT/n3-join.out" 2>&1; rc=$?
expect_rc 0 $rc "tls: join and label in $(secs "$t") s"
N3=$(nid 3)
check "tls: labels on the manager" [ "$(labels_of "$N3")" = '{"function":"production"}' ]
check "tls: no token in the output" bash -c "! grep -qF -- '$TOK' '$OUT/n3-join.out'"

# ---- 4. a re-provisioned node: its old entry is Down with the same hostname, and is removed
echo "== stale node (node 3 leaves and comes back)"
docker -H "unix://$R/n3/docker.sock" swarm leave > /dev/null
for _ in $(seq 100); do [ "$(on_manager node inspect -f '{{.Status.State}}' "$N3")" = down ] && break; sleep 0.1; done
check "stale: the old entry is down" [ "$(on_manager node inspect -f '{{.Status.State}}' "$N3")" = down ]
sn 3 join > "$OUT/n3-stale.out" 2>&1; rc=$?
expect_rc 0 $rc "stale: join again"
N3B=$(nid 3)
check "stale: a new node ID" [ -n "$N3B" ] && [ "$N3B" != "$N3" ]
check "stale: the old entry is gone from the manager" bash -c "! docker -H unix://$R/n1/docker.sock node ls -q | grep -qx '$N3'"
check "stale: the new entry is labelled" [ "$(labels_of "$N3B")" = '{"function":"production"}' ]
check "stale: the removal was planned and shown" grep -q "node rm -- $N3" "$OUT/n3-stale.out"

# ---- 4b. a member whose only manager is away: waited for, never left; converges when it is back
echo "== the only manager away (node 2)"
restart_engine() {  # restart_engine i [dockerd args]: stop node i's engine and start it again
  local i=$1; shift
  stop_pid "$(cat "$R/n$i/dockerd.pid")" 30; stop_pid "$(cat "$R/n$i/containerd.pid")" 10
  [ "${1:-}" = down ] || node_up "$i" "$@" >> "$OUT/restart.log" 2>&1
}
N2=$(nid 2)
restart_engine 1 down                        # the manager stops
restart_engine 2                             # the worker reboots while it is away
check "away: node 2 comes back pending with its NodeID" [ "$(state 2)/$(nid 2)" = "pending/$N2" ]
profile 2 "{\"swarm\": {\"start_jitter_seconds\": 0, \"managers\": [\"$NET.1:2377\"], \"token\": $SSH, \"labels\": $LABELS2, \"join_timeout_seconds\": 8}}"
t=$(now); sn 2 join > "$OUT/n2-away.out" 2>&1; rc=$?
expect_rc 69 $rc "away: unavailable after $(secs "$t") s"
check "away: said it waits and never takes the node out" grep -q 'never takes an established node out of its swarm' "$OUT/n2-away.out"
check "away: node 2 keeps its NodeID and was not left" [ "$(nid 2)" = "$N2" ] && [ "$(state 2)" = pending ]
check "away: no leave request" bash -c "! grep -q 'swarm/leave' '$OUT/n2-away.out'"
restart_engine 1 $(tls_args 1)               # the manager is back
profile 2 "{\"swarm\": {\"start_jitter_seconds\": 0, \"managers\": [\"$NET.1:2377\"], \"token\": $SSH, \"labels\": $LABELS2, \"join_timeout_seconds\": 60}}"
sn 2 --json join > "$OUT/n2-back.json" 2> "$OUT/n2-back.err"; rc=$?
expect_rc 0 $rc "back: converges"
check "back: node 2 active with the same NodeID" [ "$(state 2)/$(nid 2)" = "active/$N2" ]
check "back: one node entry for psw-n2 on the manager, Ready" [ "$(on_manager node ls --format '{{.Hostname}} {{.Status}}' | grep -c '^psw-n2 ')/$(on_manager node inspect -f '{{.Status.State}}' "$N2")" = "1/ready" ]
check "back: labels intact" [ "$(labels_of "$N2")" = "{\"function\":\"production\",\"home\":\"~\",\"note\":\"a#b !c 'd'\",\"rack\":\"b 2\",\"slot\":\"b[12]\"}" ]

# ---- 5. manager role
echo "== manager role (node 5)"
profile 5 "{\"swarm\": {\"start_jitter_seconds\": 0, \"managers\": [\"$NET.1:2377\"], \"role\": \"manager\", \"token\": $TLS}}"
sn 5 join > "$OUT/n5-join.out" 2>&1; rc=$?
expect_rc 0 $rc "manager: join"
check "manager: node 5 is a reachable manager" [ "$(on_manager node inspect -f '{{.ManagerStatus.Reachability}}' "$(nid 5)")" = reachable ]
check "manager: the run reports 2 managers" grep -q '2 manager(s) in the cluster' "$OUT/n5-join.out"
check "manager: and warns that 2 is even" grep -q 'an even number tolerates' "$OUT/n5-join.out"

# ---- 6. a node that is in another swarm
echo "== another swarm (node 4)"
docker -H "unix://$R/n4/docker.sock" swarm init --advertise-addr $NET.4 > /dev/null
profile 4 "{\"swarm\": {\"start_jitter_seconds\": 0, \"managers\": [\"$NET.1:2377\"], \"token\": $SSH}}"
sn 4 join > "$OUT/n4.out" 2>&1; rc=$?
expect_rc 65 $rc "other swarm: refused"
check "other swarm: says how to leave" grep -q 'docker swarm leave' "$OUT/n4.out"
check "other swarm: node 4 still manages its own swarm" [ "$(api 4 /info | jq -r .Swarm.ControlAvailable)" = true ]

# ---- 7. wrong token: refused by the manager, not retried, node left inactive
echo "== wrong token (node 7)"
BAD=$(printf %s "$TOK" | sed 's/-[0-9a-z]*$/-0123456789abcdefghijklmno/')
printf '%s\n' "$BAD" > "$R/n7/root/etc/swarmnode/join-token"; chmod 600 "$R/n7/root/etc/swarmnode/join-token"
profile 7 "{\"swarm\": {\"start_jitter_seconds\": 0, \"managers\": [\"$NET.1:2377\"], \"token\": {\"source\": \"file\", \"path\": \"/etc/swarmnode/join-token\"}}}"
t=$(now); sn 7 join > "$OUT/n7-wrong.out" 2>&1; rc=$?
expect_rc 65 $rc "wrong token: refused after $(secs "$t") s"
check "wrong token: the manager's reason is shown" grep -q 'A valid join token is necessary' "$OUT/n7-wrong.out"
check "wrong token: node 7 is inactive" [ "$(state 7)" = inactive ]
chmod 644 "$R/n7/root/etc/swarmnode/join-token"
sn 7 join > "$OUT/n7-mode.out" 2>&1; rc=$?
expect_rc 65 $rc "token file readable by others: refused"

# ---- 8. CA pin mismatch: refused before any join attempt
echo "== CA pin mismatch (node 7)"
profile 7 "{\"swarm\": {\"start_jitter_seconds\": 0, \"managers\": [\"$NET.1:2377\"], \"token\": $SSH, \"ca_hash\": \"sha256:$(printf '0%.0s' $(seq 64))\"}}"
sn 7 -vv join > "$OUT/n7-pin.out" 2>&1; rc=$?
expect_rc 65 $rc "pin: refused"
check "pin: names both digests" grep -q "not the pinned sha256:0000" "$OUT/n7-pin.out"
check "pin: the -vv log shows no join request" bash -c "! grep -q 'request=POST /swarm/join' '$OUT/n7-pin.out'"
check "pin: node 7 is inactive" [ "$(state 7)" = inactive ]

# ---- 9. no manager answering: 69 within the deadline, the node not left pending
echo "== no manager answering (node 7)"
profile 7 "{\"swarm\": {\"start_jitter_seconds\": 0, \"managers\": [\"$NET.99:2377\"], \"token\": $SSH, \"join_timeout_seconds\": 12}}"
t=$(now); sn 7 join > "$OUT/n7-ssh-down.out" 2>&1; rc=$?; dt=$(secs "$t")
expect_rc 69 $rc "unreachable over ssh: unavailable after ${dt} s (deadline 12 s)"
check "unreachable over ssh: within the deadline plus one ssh connect timeout" awk -v d="$dt" 'BEGIN{exit !(d < 12 + 3 + 2)}'
check "unreachable over ssh: node 7 is inactive" [ "$(state 7)" = inactive ]
printf '%s\n' "$TOK" > "$R/n7/root/etc/swarmnode/join-token"; chmod 600 "$R/n7/root/etc/swarmnode/join-token"
profile 7 "{\"swarm\": {\"start_jitter_seconds\": 0, \"managers\": [\"$NET.99:2377\"], \"token\": {\"source\": \"file\", \"path\": \"/etc/swarmnode/join-token\"}, \"join_timeout_seconds\": 25}}"
t=$(now); sn 7 join > "$OUT/n7-join-down.out" 2>&1; rc=$?; dt=$(secs "$t")
expect_rc 69 $rc "no swarm port answering: unavailable after ${dt} s (deadline 25 s)"
check "no swarm port answering: within the deadline" awk -v d="$dt" 'BEGIN{exit !(d <= 25 + 2)}'
check "no swarm port answering: node 7 is not left pending" [ "$(state 7)" = inactive ]

# ---- 10. a pending node (an earlier join that timed out) is taken out and joined
echo "== pending node (node 6)"
api_join 6 $NET.99:2377 "$TOK" > "$OUT/n6-pending.txt" 2>&1   # 20 s: dockerd gives up and stays pending
check "pending: node 6 is pending" [ "$(state 6)" = pending ]
profile 6 "{\"swarm\": {\"start_jitter_seconds\": 0, \"managers\": [\"$NET.1:2377\"], \"token\": $SSH}}"
sn 6 join > "$OUT/n6-join.out" 2>&1; rc=$?
expect_rc 0 $rc "pending: joined"
check "pending: waited, then left (not forced)" grep -q 'swarm  wait up to 15 s for the unfinished join, else POST /swarm/leave ' "$OUT/n6-join.out"
check "pending: node 6 is active" [ "$(state 6)" = active ]

# ---- 11. a manager of three that lost a peer: the run changes nothing in the swarm
echo "== three managers, one lost (node 5)"
net_add 8 && node_up 8 >> "$OUT/restart.log" 2>&1
dk 8 swarm join --token "$(on_manager swarm join-token -q manager)" $NET.1:2377 > /dev/null
check "three: 3 managers" [ "$(on_manager info -f '{{.Swarm.Managers}}')" = 3 ]
restart_engine 8 down
for _ in $(seq 100); do on_manager node ls | grep psw-n8 | grep -q Unreachable && break; sleep 0.2; done
check "three: node 8 is unreachable" bash -c "on_manager() { docker -H unix://$R/n1/docker.sock \"\$@\"; }; on_manager node ls | grep psw-n8 | grep -q Unreachable"
N5=$(nid 5); V5=$(on_manager node inspect -f '{{.Version.Index}}' "$N5")
sn 5 --json join > "$OUT/n5-three.json" 2> "$OUT/n5-three.err"; rc=$?
expect_rc 0 $rc "three: converged"
check "three: no action" bash -c "jq -e '.result == \"converged\" and ([.steps[].actions[]] | length == 0)' '$OUT/n5-three.json' >/dev/null"
check "three: node 5 is still a reachable manager with its NodeID" [ "$(nid 5)/$(on_manager node inspect -f '{{.ManagerStatus.Reachability}}' "$N5")" = "$N5/reachable" ]
check "three: node 5 unchanged on the manager (version $V5)" [ "$(on_manager node inspect -f '{{.Version.Index}}' "$N5")" = "$V5" ]
check "three: still 3 managers, the cluster has a leader" bash -c "[ \"\$(docker -H unix://$R/n1/docker.sock info -f '{{.Swarm.Managers}}')\" = 3 ] && docker -H unix://$R/n1/docker.sock node ls | grep -q Leader"

# ---- 12. reset: a worker leaves and its entry goes; a manager of three is demoted first and the
# cluster stays healthy; the last manager of a swarm is refused without --force
echo "== reset (nodes 6, 5, 4)"
N6=$(nid 6)
sn 6 reset > "$OUT/n6-reset-plan.out" 2>&1; rc=$?
expect_rc 0 $rc "reset alone: planned"
check "reset alone: shows the leave and the removal" grep -q "on a manager: remove node $N6 " "$OUT/n6-reset-plan.out"
check "reset alone: node 6 is still active" [ "$(state 6)" = active ]
sn 6 reset --yes > "$OUT/n6-reset.out" 2>&1; rc=$?
expect_rc 0 $rc "reset worker: done"
check "reset worker: node 6 is inactive" [ "$(state 6)" = inactive ]
check "reset worker: its entry is gone from the manager" bash -c "! docker -H unix://$R/n1/docker.sock node inspect $N6 >/dev/null 2>&1"
restart_engine 8                             # the third manager is back
for _ in $(seq 150); do [ "$(on_manager node ls --format '{{.ManagerStatus}}' | grep -c -e Leader -e Reachable)" = 3 ] && break; sleep 0.2; done
check "reset manager: 3 reachable managers before" [ "$(on_manager node ls --format '{{.ManagerStatus}}' | grep -c -e Leader -e Reachable)" = 3 ]
sn 5 reset --yes > "$OUT/n5-reset.out" 2>&1; rc=$?
expect_rc 0 $rc "reset manager: done"
check "reset manager: demoted before leaving" grep -q "POST /nodes/$N5/update with Role worker" "$OUT/n5-reset.out"
check "reset manager: node 5 is inactive" [ "$(state 5)" = inactive ]
check "reset manager: its entry is gone" bash -c "! docker -H unix://$R/n1/docker.sock node inspect $N5 >/dev/null 2>&1"
check "reset manager: 2 managers left, both reachable, with a leader" [ "$(on_manager node ls --format '{{.ManagerStatus}}' | grep -c -e Leader -e Reachable)/$(on_manager info -f '{{.Swarm.Managers}}')" = 2/2 ]
check "reset manager: the other manager (node 8) serves the cluster too" bash -c "docker -H unix://$R/n8/docker.sock node ls >/dev/null"
sn 4 reset --yes > "$OUT/n4-reset.out" 2>&1; rc=$?
expect_rc 65 $rc "reset last manager: refused"
check "reset last manager: says why and names --force" bash -c "grep -q \"swarm's last manager\" '$OUT/n4-reset.out' && grep -q -- '--yes --force' '$OUT/n4-reset.out'"
check "reset last manager: node 4 still manages its swarm" [ "$(api 4 /info | jq -r .Swarm.ControlAvailable)" = true ]
sn 4 reset --yes --force > "$OUT/n4-reset-force.out" 2>&1; rc=$?
expect_rc 0 $rc "reset last manager --force: done"
check "reset last manager --force: node 4 is inactive" [ "$(state 4)" = inactive ]

# ---- check, read by real monitors: xymond and node_exporter (Debian's packages), started here
# in node 2's namespace on its loopback
echo "== check with xymond and node_exporter (node 2)"
XB=/usr/lib/xymon/server/bin
MON=$OUT/monitors; mkdir -p "$MON"
echo "127.0.0.1 psw-n2.example.org # noconn" > "$MON/hosts.cfg"
ip netns exec psw-n2 "$XB/xymond" --listen=127.0.0.1:1984 --hosts="$MON/hosts.cfg" --ghosts=drop \
  --checkpoint-file="$MON/xymond.chk" --pidfile="$MON/xymond.pid" > "$MON/xymond.log" 2>&1 &
XYMOND=$!
TEXTFILE_DIR=$R/n2/root/var/lib/prometheus/node-exporter; mkdir -p "$TEXTFILE_DIR"
ip netns exec psw-n2 prometheus-node-exporter --web.listen-address=127.0.0.1:9100 \
  --collector.textfile.directory="$TEXTFILE_DIR" > "$MON/node-exporter.log" 2>&1 &
NODE_EXPORTER=$!
board() { ip netns exec psw-n2 "$XB/xymon" 127.0.0.1 "xymondboard host=psw-n2.example.org test=swarmnode fields=color,line1"; }
metrics() { ip netns exec psw-n2 curl -s --max-time 5 http://127.0.0.1:9100/metrics; }
for _ in $(seq 50); do metrics >/dev/null 2>&1 && ip netns exec psw-n2 "$XB/xymon" 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.2; done
profile 2 "{\"swarm\": {\"start_jitter_seconds\": 0, \"managers\": [\"$NET.1:2377\"], \"token\": $SSH, \"ca_hash\": \"$CA_HASH\",
  \"labels\": $LABELS2}, \"check\": {\"xymon_host\": \"psw-n2.example.org\"}}"
t=$(now); sn 2 check > "$OUT/n2-check.out" 2>&1; rc=$?; dt=$(secs "$t")
expect_rc 0 $rc "check: a joined, labelled node is green in ${dt} s"
check "check: the manager sees it ready with its labels" grep -q "^green  *swarm.node .* is ready, a worker, labels function=production" "$OUT/n2-check.out"
# Every manager is tried at once: whichever accepts first is named (node 1 or another manager).
check "check: a manager accepts connections" grep -Eq "^green +swarm.manager +manager $NET\.[0-9]+:2377 accepts connections" "$OUT/n2-check.out"
sn 2 check --quiet --xymon 127.0.0.1 --textfile /var/lib/prometheus/node-exporter/swarmnode.prom > "$OUT/n2-check-send.out" 2>&1; rc=$?
expect_rc 0 $rc "check --xymon --textfile: sent"
sleep 0.5
board > "$OUT/xymon-board-green.txt" 2>&1
check "xymon: xymondboard shows the column green with swarmnode's summary" grep -q "^green|green .* UTC 20[0-9][0-9] - swarmnode: all [0-9]* checks OK$" "$OUT/xymon-board-green.txt"
metrics > "$OUT/metrics-green.txt" 2>&1
check "node_exporter: serves swarmnode_status 0" grep -qx "swarmnode_status 0" "$OUT/metrics-green.txt"
check "node_exporter: serves swarmnode_check_status for swarm.node" grep -qx 'swarmnode_check_status{check="swarm.node"} 0' "$OUT/metrics-green.txt"
check "node_exporter: read the textfile without error" grep -qx 'node_textfile_scrape_error 0' "$OUT/metrics-green.txt"
# Red: an NFS path that is not there; the board and the metrics follow.
mkdir -p "$R/n2/root/proc/self"; echo "20 1 254:0 / / rw - ext4 /dev/vda rw" > "$R/n2/root/proc/self/mountinfo"
profile 2 "{\"swarm\": {\"start_jitter_seconds\": 0, \"managers\": [\"$NET.1:2377\"], \"token\": $SSH, \"labels\": $LABELS2},
  \"mounts\": {\"nfs\": [\"/nfs-gone\"], \"timeout_seconds\": 2}, \"check\": {\"xymon_host\": \"psw-n2.example.org\"}}"
sn 2 check --xymon 127.0.0.1 --textfile /var/lib/prometheus/node-exporter/swarmnode.prom > "$OUT/n2-check-red.out" 2>&1; rc=$?
expect_rc 2 $rc "check: an NFS path that is not mounted is red"
sleep 0.5
board > "$OUT/xymon-board-red.txt" 2>&1
check "xymon: the column turned red, the summary names the path" grep -q "^red|red .* - swarmnode: 1 red, 0 yellow; mounts:/nfs-gone: /nfs-gone is not mounted" "$OUT/xymon-board-red.txt"
metrics > "$OUT/metrics-red.txt" 2>&1
check "node_exporter: swarmnode_status 2 and the path down" bash -c "grep -qx 'swarmnode_status 2' '$OUT/metrics-red.txt' && grep -qx 'swarmnode_nfs_up{path=\"/nfs-gone\"} 0' '$OUT/metrics-red.txt'"
kill $XYMOND $NODE_EXPORTER 2>/dev/null; wait $XYMOND $NODE_EXPORTER 2>/dev/null

# ---- the broker: a node key that can join and label only its own node (nodes 6 and 7). The
# manager runs it as a site does: installed from the RPM, run by sshd as the non-root broker user.
echo "== the broker (nodes 6 and 7)"
broker_up '{"labels": {"function": ["production", "test"]}}' "$OUT/broker-log.txt"; rc=$?
expect_rc 0 $rc "broker: the RPM installed (and upgraded over itself) in the manager's root, the broker user and its key list made"
check "broker: every installed file has the package's mode and owner (rpm -V)" bash -c "[ -z \"\$(rpm --root '$BR' -V --nodeps swarmnode 2>&1)\" ]"
check "broker: /etc/swarmnode-broker is the package's $(stat -c %a "$BR/etc/swarmnode-broker"), root's; /etc/swarmnode (the keys) $(stat -c %a "$BR/etc/swarmnode")" [ "$(stat -c '%U %a' "$BR/etc/swarmnode-broker")" = "root $(rpm --root "$BR" -q --qf '[%{FILEMODES:octal} %{FILENAMES}\n]' swarmnode | awk '$2 == "/etc/swarmnode-broker" {print substr($1, length($1) - 2)}')" ]
for i in 6 7; do cp "$R/ssh/broker_ed25519" "$R/n$i/root/root/.ssh/broker_ed25519"; done
BROKER='{"source": "ssh", "broker": true, "user": "'$BROKER_USER'", "identity_file": "/root/.ssh/broker_ed25519", "known_hosts_file": "/etc/swarmnode/known_hosts", "connect_timeout_seconds": 3}'
profile 6 "{\"swarm\": {\"start_jitter_seconds\": 0, \"managers\": [\"$NET.1:2377\"], \"token\": $BROKER, \"labels\": {\"function\": \"production\"}}}"
sn 6 join > "$OUT/n6-broker.out" 2>&1; rc=$?
expect_rc 0 $rc "broker: node 6 joins and labels itself with the broker key"
N6=$(nid 6)
check "broker: node 6 is labelled on the manager" [ "$(labels_of "$N6")" = '{"function":"production"}' ]
check "broker: the requests were the broker's words" grep -q -- "-- $NET.1 label $N6 function=production" "$OUT/n6-broker.out"
# The same key, used by hand: what it cannot do. bssh I WORDS: node I with the broker key.
bssh() { local i=$1; shift; ip netns exec "psw-n$i" ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
  -i "$R/ssh/broker_ed25519" -o UserKnownHostsFile="$R/ssh/known_hosts" -l $BROKER_USER $NET.1 "$@"; }
bssh 6 docker ps > "$OUT/broker-ps.out" 2>&1; rc=$?
expect_rc 65 $rc "broker: \`docker ps\` with the key is refused"
check "broker: and nothing of docker's was printed" bash -c "! grep -q CONTAINER '$OUT/broker-ps.out' && grep -q 'is not something the broker does' '$OUT/broker-ps.out'"
bssh 6 docker service ls > /dev/null 2>&1; rc=$?
expect_rc 65 $rc "broker: \`docker service ls\` is refused"
bssh 6 "join-token worker; docker ps" > /dev/null 2>&1; rc=$?
expect_rc 65 $rc "broker: a second command after a ; is refused"
bssh 6 label "$N6" rack=b2 > "$OUT/broker-rack.out" 2>&1; rc=$?
expect_rc 65 $rc "broker: a label outside the allowlist is refused"
bssh 6 join-token manager > "$OUT/broker-mgr.out" 2>&1; rc=$?
expect_rc 65 $rc "broker: a manager token is refused"
check "broker: no token printed for it" bash -c "! grep -q SWMTKN '$OUT/broker-mgr.out'"
bssh 7 label "$N6" function=test > "$OUT/broker-other.out" 2>&1; rc=$?
expect_rc 1 $rc "broker: node 7 cannot label node 6, even naming its ID"
bssh 7 self zzzzzzzzzzzzzzzzzzzzzzzzz > "$OUT/broker-unknown.out" 2>&1; rc=$?
check "broker: answered as an unknown ID is, in docker's words, and nothing of node 6 said" bash -c \
  "[ \"\$(cat '$OUT/broker-other.out')\" = 'Error: No such node: $N6' ] && [ \"\$(cat '$OUT/broker-unknown.out')\" = 'Error: No such node: zzzzzzzzzzzzzzzzzzzzzzzzz' ] && ! grep -q '$NET.6' '$OUT/broker-other.out'"
bssh 7 self "$N6" > /dev/null 2>&1; rc=$?
expect_rc 1 $rc "broker: node 7 cannot read node 6's entry"
check "broker: node 6's labels unchanged" [ "$(labels_of "$N6")" = '{"function":"production"}' ]
sleep 0.3
check "broker: every refusal is in the manager's log with the client address" bash -c \
  "[ \$(grep -c 'client=$NET.6 .* refused: ' '$OUT/broker-log.txt') = 5 ] && [ \$(grep -c 'client=$NET.7 .* refused: ' '$OUT/broker-log.txt') = 3 ]"
check "broker: the manager's log says whose node it was" grep -q "client=$NET.7 key=listed request=\"label $N6 function=test\" refused: node $N6 is at $NET.6, not at $NET.7" "$OUT/broker-log.txt"
check "broker: the allowed requests are logged too, and no token anywhere in the log" bash -c \
  "grep -q 'client=$NET.6 key=listed request=\"join-token worker\" allowed: a worker token' '$OUT/broker-log.txt' && ! grep -q SWMTKN '$OUT/broker-log.txt'"
# Re-provisioned through the broker: node 6 leaves, joins again, and its old Down entry goes
# (remove-stale, once for the new ID); a second run asks nothing more.
TL=$(now); docker -H "unix://$R/n6/docker.sock" swarm leave > /dev/null
for _ in $(seq 300); do [ "$(on_manager node inspect -f '{{.Status.State}}' "$N6")" = down ] && break; sleep 0.1; done
check "broker: node 6's old entry went down, at its address ($(secs "$TL") s after it left)" [ "$(on_manager node inspect -f '{{.Status.State}} {{.Status.Addr}}' "$N6")" = "down $NET.6" ]
bssh 7 remove-stale "$N6" > /dev/null 2>&1; rc=$?
expect_rc 1 $rc "broker: node 7 cannot remove-stale naming node 6's ID"
check "broker: node 6's Down entry is still there" [ "$(on_manager node inspect -f '{{.Status.State}}' "$N6")" = down ]
profile 6 "{\"swarm\": {\"start_jitter_seconds\": 0, \"managers\": [\"$NET.1:2377\"], \"token\": $BROKER, \"labels\": {\"function\": \"production\"}, \"remove_stale_nodes\": true}}"
sn 6 join > "$OUT/n6-broker-stale.out" 2>&1; rc=$?
expect_rc 0 $rc "broker stale: node 6 joins again with remove_stale_nodes"
N6B=$(nid 6)
check "broker stale: a new node ID" [ -n "$N6B" ] && [ "$N6B" != "$N6" ]
check "broker stale: the old entry is gone from the manager" bash -c "! docker -H unix://$R/n1/docker.sock node ls -q | grep -qx '$N6'"
check "broker stale: the request was remove-stale for the new ID" grep -q -- "-- $NET.1 remove-stale $N6B" "$OUT/n6-broker-stale.out"
sn 6 join > "$OUT/n6-broker-again.out" 2>&1; rc=$?
expect_rc 0 $rc "broker stale: again"
check "broker stale: the second run converged without asking" bash -c "grep -q converged '$OUT/n6-broker-again.out' && ! grep -q remove-stale '$OUT/n6-broker-again.out'"
# A manager token only when the config allows it: the same key, the config changed by root.
printf '%s\n' '{"labels": {"function": ["production", "test"]}, "manager_tokens": true}' > "$BR/etc/swarmnode-broker/broker.json"
bssh 6 join-token manager > "$OUT/broker-mgr-allowed.out" 2> /dev/null; rc=$?
expect_rc 0 $rc "broker: with manager_tokens, a manager token is handed out"
check "broker: and it is the swarm's manager token" [ "$(cat "$OUT/broker-mgr-allowed.out")" = "$(on_manager swarm join-token -q manager)" ]
sleep 0.3
check "broker: the manager token is logged as allowed, without the token" bash -c \
  "grep -q 'client=$NET.6 key=listed request=\"join-token manager\" allowed' '$OUT/broker-log.txt' && ! grep -q SWMTKN '$OUT/broker-log.txt'"
check "broker stale: the removal is logged, before it was done, with what went" grep -q "client=$NET.6 key=listed request=\"remove-stale $N6B\" allowed: removing $N6" "$OUT/broker-log.txt"
# A stuck journald (the log's reader stopped, its queue full): a refusal within the log's bound
# of 2 s, and nothing served.
kill -STOP $BROKER_LOG
python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect(sys.argv[1]); s.setblocking(False)
try:
    while True: s.send(b"<38>filler")
except BlockingIOError: pass' "$BR/dev/log"
TS=$(now); bssh 6 join-token worker > "$OUT/broker-stuck.out" 2> "$OUT/broker-stuck.err"; rc=$?; took=$(secs "$TS")
expect_rc 69 $rc "broker: with the log stuck, join-token is refused after ${took} s (ssh included)"
check "broker: no token was served unlogged" bash -c "[ ! -s '$OUT/broker-stuck.out' ] && grep -q 'the log did not take' '$OUT/broker-stuck.err'"
check "broker: the refusal came within the log's 2 s bound plus ssh (${took} s < 6 s)" awk -v t="$took" 'BEGIN{exit !(t < 6)}'
kill -CONT $BROKER_LOG
# Run as the broker user, not root: with its directory closed (0700, as /etc/swarmnode is), the
# broker cannot read its config; the next rpm -U puts the package's mode back, and it serves again.
chmod 700 "$BR/etc/swarmnode-broker"
bssh 6 join-token worker > "$OUT/broker-0700.out" 2>&1; rc=$?
check "broker: runs as $BROKER_USER: with /etc/swarmnode-broker 0700 it cannot read its config (exit $rc)" bash -c "[ $rc != 0 ] && grep -q 'Permission denied' '$OUT/broker-0700.out' && ! grep -q SWMTKN '$OUT/broker-0700.out'"
rpm --root "$BR" --nodeps -U --replacepkgs "$SWARMNODE_RPM" > "$OUT/rpm-upgrade.log" 2>&1
check "broker: rpm -U gives /etc/swarmnode-broker the package's mode again (rpm -V clean)" bash -c "[ -z \"\$(rpm --root '$BR' -V --nodeps swarmnode 2>&1)\" ]"
bssh 6 join-token worker > "$OUT/broker-after-upgrade.out" 2>&1; rc=$?
expect_rc 0 $rc "broker: after rpm -U it serves again"
kill $BROKER_LOG 2>/dev/null; wait $BROKER_LOG 2>/dev/null

on_manager node ls > "$OUT/node-ls.txt" 2>&1
echo "tier 3 wall time: $(secs "$T0") s"
echo "$NPASS passed, $NFAIL failed"
[ "$NFAIL" = 0 ]
