#!/usr/bin/env bash
# Tier 3: a rack of workers running `swarmnode join` at the same moment against one manager whose
# sshd has its default MaxStartups (10:30:100), as after a power cut or a rack delivery.
#   sudo swarm-tests/fleet.sh [N]    (N workers, default 24; SWARMNODE_BIN, SWARMNODE_RPM, RESULTS as in run.sh)
# Over ssh, again at once (nothing changes), over tls, with the manager's sshd stopped for the
# storm's first 20 s, through the broker (a key that can only join and label its own node), and
# through the broker with a bootstrap key, each worker making and enrolling a key of its own.
# Prints one PASS/FAIL line per check and ends with "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")"
BIN=$(readlink -f "${SWARMNODE_BIN:-../target/debug/swarmnode}")
SWARMNODE_RPM=$(readlink -f "${SWARMNODE_RPM:-$(ls ../target/artefacts/swarmnode-*.x86_64.rpm 2>/dev/null | head -1)}")
OUT=$(readlink -f "${RESULTS:-../target/fleet-results}")
N=${1:-24}
# The manager's own root holds the broker's AuthorizedKeysCommand: sshd takes it only on a path no
# one but root can change, so not under /tmp.
export PSW_ROOT=${PSW_ROOT:-/var/lib/swarmnode-psw-fleet}
source ./fixture.sh
source ./lib.sh
source ./fleet-lib.sh
source ./manager-lib.sh
rm -rf "$OUT"; mkdir -p "$OUT"
STORM=$OUT/storms
trap 'mgr_down 1; down >/dev/null 2>&1; rm -rf "$R"' EXIT
down >/dev/null 2>&1
umask 022; mkdir -p "$R"; chmod 755 "$R"
T0=$(now)
fleet_up "$N" > "$OUT/up.log" 2>&1 || { tail -5 "$OUT/up.log"; echo "0 passed, 1 failed"; exit 1; }
echo "fixture: a manager and $N workers in $(secs "$T0") s"

accepted() { grep -c "Accepted publickey for root from $NET.$1 " "$R/ssh/sshd.log"; }
versions() { on_manager node ls -q | xargs docker -H "unix://$R/n1/docker.sock" node inspect -f '{{.ID}} {{.Version.Index}}' | sort; }
figures() { echo "   $1: wall ${STORM_WALL} s, manager CPU ${STORM_CPU} s, peak RSS ${STORM_RSS} MiB, ${STORM_RETRIES} retries, ${STORM_FAILED} failed; per node $(sort -n "$STORM/$1"/*.s | awk '{a[NR]=$1} END{printf "min %s median %s max %s s", a[1], a[int((NR+1)/2)], a[NR]}')"; }
# The manager's view after a storm: every worker once, Ready, with its own labels; none pending.
fleet_converged() {
  local name=$1 i bad=0
  fleet_view > "$OUT/$name-view.txt"
  check "$name: $((N + 1)) node entries, no hostname twice" \
    bash -c "[ \$(wc -l < '$OUT/$name-view.txt') = $((N + 1)) ] && [ -z \"\$(cut -d' ' -f1 '$OUT/$name-view.txt' | sort | uniq -d)\" ]"
  check "$name: every entry ready" bash -c "! grep -v ' ready ' '$OUT/$name-view.txt'"
  for i in $WORKERS; do
    grep -qx "psw-n$i ready {\"function\":\"production\",\"rack\":\"r$i\"}" "$OUT/$name-view.txt" || bad=$((bad + 1))
    [ "$(api "$i" /info | jq -r .Swarm.LocalNodeState)" = active ] || bad=$((bad + 1))
  done
  check "$name: every worker active, and labelled with its own labels by the manager" [ "$bad" = 0 ]
}

# ---- 1. N workers at once over ssh, no start jitter: sshd drops some connections (MaxStartups)
echo "== $N workers join at once over ssh"
fleet_profile "$FLEET_SSH" 0
fleet_storm ssh fleet_sn_join
figures ssh
check "ssh: all $N exit 0" [ "$STORM_FAILED" = 0 ]
fleet_converged ssh
bad=0; for i in $WORKERS; do [ "$(accepted "$i")" = 1 ] || { bad=$((bad + 1)); echo "   node $i: $(accepted "$i") ssh connections"; }; done
check "ssh: each node cost the manager's sshd one connection for its whole run (token, node, labels, check)" [ "$bad" = 0 ]
check "ssh: sshd did drop connections in the storm (the retries were needed)" \
  bash -c "[ $STORM_RETRIES -gt 0 ] || grep -q 'drop connection #' '$R/ssh/sshd.log'"
check "ssh: no ssh master left running" bash -c "! pgrep -f 'ssh.*swarmnode-ssh\.' > /dev/null"

# ---- 2. the same storm again: nothing to do, nothing changed on the manager
echo "== again at once (nothing to do)"
V1=$(versions)
fleet_storm again fleet_sn_join_json
figures again
check "again: all $N exit 0" [ "$STORM_FAILED" = 0 ]
bad=0; for i in $WORKERS; do
  jq -e '.result == "converged" and ([.steps[].actions[]] | length == 0)' "$STORM/again/$i.out" > /dev/null || bad=$((bad + 1)); done
check "again: every run converged with no action" [ "$bad" = 0 ]
check "again: no node entry changed on the manager" [ "$(versions)" = "$V1" ]
bad=0; for i in $WORKERS; do [ "$(accepted "$i")" = 1 ] || bad=$((bad + 1)); done
check "again: converged nodes asked the manager nothing (no ssh connection since their join)" [ "$bad" = 0 ]

# ---- 3. over tls
echo "== $N workers join at once over tls"
fleet_reset
fleet_profile "$FLEET_TLS" 0
fleet_storm tls fleet_sn_join
figures tls
check "tls: all $N exit 0" [ "$STORM_FAILED" = 0 ]
fleet_converged tls

# ---- 4. the manager's sshd stopped for the storm's first 20 s: the nodes wait, and finish
echo "== $N workers over ssh while the manager's sshd is stopped for 20 s"
fleet_reset
fleet_profile "$FLEET_SSH" 0
stop_pid "$(cat "$R/ssh/sshd.pid")" 5
( sleep 20; sshd_up 1 ) > "$OUT/sshd-restart.log" 2>&1 &
fleet_storm sshd-away fleet_sn_join
figures sshd-away
check "sshd away: all $N exit 0" [ "$STORM_FAILED" = 0 ]
check "sshd away: every node waited for sshd (none done before 20 s)" \
  awk '$1 < 19.5 {bad=1} END{exit bad}' $(ls "$STORM/sshd-away"/*.s)
check "sshd away: they saw refused connections and said so" grep -q 'Connection refused' "$STORM/sshd-away/2.err"
fleet_converged sshd-away

# ---- 5. through the broker: the workers hold a key that can only join and label their own node
echo "== $N workers at once over ssh through the broker"
fleet_reset
broker_up '{"labels": {"function": ["production"], "rack": ['"$(for i in $WORKERS; do printf '"r%s",' "$i"; done | sed 's/,$//')"']}}' \
  "$OUT/broker-log.txt"
for i in $WORKERS; do cp "$R/ssh/broker_ed25519" "$R/n$i/root/root/.ssh/id_ed25519"; done   # the broker key only
fleet_profile "$(echo "$FLEET_SSH" | sed 's/"source": "ssh"/"source": "ssh", "broker": true, "user": "'$BROKER_USER'"/')" 0
fleet_storm broker fleet_sn_join
figures broker
check "broker: all $N exit 0" [ "$STORM_FAILED" = 0 ]
check "broker: every run spoke the broker's grammar" bash -c "grep -l -- '-- $NET.1 join-token worker' '$STORM/broker'/*.out | wc -l | grep -qx $N"
fleet_converged broker
check "broker: every request logged, allowed" bash -c "[ \$(grep -c 'request=\"join-token worker\" allowed' '$OUT/broker-log.txt') = $N ]"
kill $BROKER_LOG 2>/dev/null; wait $BROKER_LOG 2>/dev/null
BROKER_STORM="wall ${STORM_WALL} s, manager CPU ${STORM_CPU} s"

# ---- 6. through the broker with a bootstrap key: the manager converged by one apply (from the
# RPM, in its own root), each worker holding only the kickstart's lines, making its own key,
# getting the token and enrolling with the bootstrap key, labelling itself with its own key
echo "== $N workers at once, each enrolling a key of its own with a bootstrap key"
fleet_reset
mgr_bed 1 include "$OUT/bootstrap-log.txt" > "$OUT/bed.log" 2>&1 || { cat "$OUT/bed.log"; }
SSHD_PIDFILE=$(mgr_root 1)/run/sshd.pid
printf '{"broker": {"labels": {"function": ["production"], "rack": [%s]}, "networks": ["%s.0/24"]}}\n' \
  "$(for i in $WORKERS; do printf '"r%s",' "$i"; done | sed 's/,$//')" $NET > "$(mgr_root 1)/etc/swarmnode/profile.json"
mgr 1 apply > "$OUT/mgr-apply.out" 2>&1; rc=$?
expect_rc 0 $rc "bootstrap: the manager converged by one apply"
mgr 1 broker bootstrap --ttl 1h --out "$R/boot" > "$OUT/bootstrap.out" 2>&1; rc=$?
expect_rc 0 $rc "bootstrap: a bootstrap key made"
for i in $WORKERS; do
  node_root "$i"; rm -f "$R/n$i/root/root/.ssh/id_ed25519" "$R/n$i/root/etc/swarmnode/known_hosts"
  bootstrap_node "$i" "$R/boot"
done
fleet_profile '{"source": "ssh", "broker": true, "user": "'$BROKER_USER'", "identity_file": "/etc/swarmnode/node_key", "bootstrap_identity_file": "/etc/swarmnode/bootstrap_key", "known_hosts_file": "/etc/swarmnode/known_hosts", "connect_timeout_seconds": 5}' 0
fleet_storm bootstrap fleet_sn_join
figures bootstrap
check "bootstrap: all $N exit 0" [ "$STORM_FAILED" = 0 ]
fleet_converged bootstrap
check "bootstrap: every worker's own key enrolled for its node" bash -c "[ \$(grep -c 'allowed: binding SHA256:' '$OUT/bootstrap-log.txt') = $N ]"
bad=0; for i in $WORKERS; do [ -s "$R/n$i/root/var/lib/swarmnode/enrolled" ] || bad=$((bad + 1)); done
check "bootstrap: every worker recorded its enrolment" [ "$bad" = 0 ]
echo "   beside the broker with one key listed by hand: $BROKER_STORM"

echo "fleet wall time: $(secs "$T0") s"
echo "$NPASS passed, $NFAIL failed"
[ "$NFAIL" = 0 ]
