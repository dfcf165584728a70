#!/usr/bin/env bash
# Benchmark (figures, no assertions): what a node costs the manager, per operation and channel.
# N workers (default 24) and one manager, every worker at the same moment:
#   join       `swarmnode join` from nothing to Ready and labelled
#   converged  `swarmnode join` again on every node (apply's swarm step; the bed has no systemd,
#              so `apply` itself would defer the swarm step to the first boot)
#   check      `swarmnode check` on every node
# for each channel (tls, ssh, ssh through the broker), with the plain docker CLI beside it (token,
# join, label; and `docker node inspect` for what a converged node asks), and `ssh MANAGER true`:
# what an ssh connection and its session cost before any command runs.
# The manager's CPU seconds are split by process: sshd (with every process it started and reaped:
# the connection, the session's shell, the docker CLI or the broker) and dockerd (the Engine API
# and swarmkit's own join) with its containerd.
#   sudo swarm-tests/cost.sh [N]     (SWARMNODE_BIN, SWARMNODE_RPM as in run.sh; RESULTS;
#                                    COST_VIA="tls ssh broker", COST_CLI=1: what is measured;
#                                    COST_JITTER=0: swarmnode's start_jitter_seconds for its joins;
#                                    COST_WORKER_NICE=19: the workers' engines' niceness)
# The workers' engines run at nice 19 by default: on this one machine a hundred of them would
# starve the manager's engine and sshd, which on real hardware have their own CPUs.
set -uo pipefail
# paths given relative to where the script was started from
for v in SWARMNODE_BIN SWARMNODE_RPM RESULTS; do [ -n "${!v:-}" ] && printf -v "$v" %s "$(realpath -m "${!v}")"; done
cd "$(dirname "$0")"
BIN=$(readlink -f "${SWARMNODE_BIN:-../target/debug/swarmnode}")
SWARMNODE_RPM=$(readlink -f "${SWARMNODE_RPM:-$(ls ../target/artefacts/swarmnode-*.x86_64.rpm 2>/dev/null | head -1)}")
N=${1:-24}
JITTER=${COST_JITTER:-0}
export PSW_WORKER_NICE=${COST_WORKER_NICE:-19}
export PSW_ROOT=${PSW_ROOT:-/var/lib/swarmnode-psw-cost}
source ./fixture.sh
source ./lib.sh
source ./fleet-lib.sh
STORM=$(readlink -f "${RESULTS:-../target/cost-bench}"); rm -rf "$STORM"; mkdir -p "$STORM"
trap 'kill ${BROKER_LOG:-} 2>/dev/null; PSW_FAST_DOWN=1 down >/dev/null 2>&1; rm -rf "$R"' EXIT
PSW_FAST_DOWN=1 down >/dev/null 2>&1
umask 022; mkdir -p "$R"; chmod 755 "$R"
T0=$(now)
fleet_up "$N" > "$STORM/up.log" 2>&1 || { tail -5 "$STORM/up.log"; echo "the bed did not come up"; exit 1; }
UP=$(secs "$T0")

# CPU ticks of the manager's sshd (and its reaped children) and of dockerd + containerd
ticks() { awk '{print $14+$15+$16+$17}' "/proc/$1/stat" 2>/dev/null || echo 0; }
parts() { echo "$(ticks "$(cat "$R/ssh/sshd.pid")") $(( $(ticks "$(cat "$R/n1/dockerd.pid")") + $(ticks "$(cat "$R/n1/containerd.pid")") ))"; }
HZ=$(getconf CLK_TCK)
# measure NAME OPERATION CMD...: a storm of CMD on every worker; one row of figures
measure() {
  local name=$1 op=$2; shift 2
  local a b ok
  read -r -a a <<< "$(parts)"
  fleet_storm "$name" "$@"
  read -r -a b <<< "$(parts)"
  ok=$((N - STORM_FAILED))
  if [ "$op" = join ]; then
    if w=$(fleet_wait_labelled 60); then ok="$N labelled"; else ok="$(fleet_labelled) labelled"; fi
  fi
  awk -v n="$name" -v ok="$ok" -v f="$STORM_FAILED" -v r="$STORM_RETRIES" -v w="$STORM_WALL" \
    -v s=$(( b[0] - a[0] )) -v d=$(( b[1] - a[1] )) -v hz="$HZ" -v N="$N" \
    'BEGIN{printf "| %s | %s | %s | %s | %.1f s | %.2f s | %.3f s | %.3f s | %.3f s |\n", n, ok, f, r, w, (s+d)/hz, (s+d)/hz/N, s/hz/N, d/hz/N}' |
    tee -a "$STORM/table.md"
}
# idle VIA: what the manager spends in 10 s with every worker joined and nothing asked
idle() {
  local a b
  read -r -a a <<< "$(parts)"; sleep 10; read -r -a b <<< "$(parts)"
  awk -v n="idle 10 s, $1, $N joined" -v s=$(( b[0] - a[0] )) -v d=$(( b[1] - a[1] )) -v hz="$HZ" -v N="$N" \
    'BEGIN{printf "| %s | | | | 10.0 s | %.2f s | %.3f s | %.3f s | %.3f s |\n", n, (s+d)/hz, (s+d)/hz/N, s/hz/N, d/hz/N}' |
    tee -a "$STORM/table.md"
}
node_id() { api "$1" /info | jq -r .Swarm.NodeID; }
TLS_CLI="docker -H tcp://$NET.1:2376 --tlsverify --tlscacert $P/ca.pem --tlscert $P/cert.pem --tlskey $P/key.pem"
cli_on() { if [ "$1" = ssh ]; then echo "$R/bin/ssh $NET.1 docker"; else echo "$TLS_CLI"; fi; }
cli_join() {  # the plain CLI as a person scripts it: token, join, label; no retries
  local on; on=$(cli_on "$1")
  ip netns exec "psw-n$2" bash -ec "
    tok=\$($on swarm join-token -q worker)
    docker -H unix://$R/n$2/docker.sock swarm join --token \"\$tok\" $NET.1:2377
    $on node update --label-add function=production --label-add rack=r$2 \
      \$(docker -H unix://$R/n$2/docker.sock info -f '{{.Swarm.NodeID}}')"
}
cli_inspect() { ip netns exec "psw-n$2" $(cli_on "$1") node inspect "$(node_id "$2")" > /dev/null; }
cli_join_ssh() { cli_join ssh "$1"; }
cli_join_tls() { cli_join tls "$1"; }
cli_inspect_ssh() { cli_inspect ssh "$1"; }
cli_inspect_tls() { cli_inspect tls "$1"; }
ssh_true() { ip netns exec "psw-n$1" "$R/bin/ssh" $NET.1 true; }
sn_again() { sn "$1" join; }
sn_check() { sn "$1" check > /dev/null; [ $? -lt 64 ]; }   # green, yellow or red: it answered

{
  printf 'swarmnode %s, dockerd %s; %s workers and one manager on %s cores; the bed up in %s s; start_jitter_seconds %s; workers at nice %s\n\n' \
    "$("$BIN" --version | cut -d' ' -f2)" "$(api 1 /version | jq -r .Version)" "$N" "$(nproc)" "$UP" "$JITTER" "$PSW_WORKER_NICE"
  echo "| how | done | failed | retries | wall | manager CPU | per node | sshd per node | dockerd per node |"
  echo "|---|---|---|---|---|---|---|---|---|"
} | tee "$STORM/table.md"
measure "ssh MANAGER true (connection and session only)" other ssh_true
for via in ${COST_VIA:-tls ssh broker}; do
  fleet_reset
  case $via in
    tls) fleet_profile "$FLEET_TLS" "$JITTER" ;;
    ssh) fleet_profile "$FLEET_SSH" "$JITTER" ;;
    broker)
      broker_up '{"labels": {"function": ["production"], "rack": ['"$(for i in $WORKERS; do printf '"r%s",' "$i"; done | sed 's/,$//')"']}}' \
        "$STORM/broker-log.txt" || { echo "the broker did not come up"; exit 1; }
      for i in $WORKERS; do cp "$R/ssh/broker_ed25519" "$R/n$i/root/root/.ssh/id_ed25519"; done
      fleet_profile "$(echo "$FLEET_SSH" | sed 's/"source": "ssh"/"source": "ssh", "broker": true, "user": "'$BROKER_USER'"/')" "$JITTER" ;;
  esac
  measure "swarmnode, $via: join" join fleet_sn_join
  idle "$via"
  measure "swarmnode, $via: converged (join again)" other sn_again
  measure "swarmnode, $via: check" other sn_check
done
[ "${COST_CLI:-1}" = 1 ] && for via in tls ssh; do
  fleet_reset
  measure "docker CLI, $via: token, join, label" join "cli_join_$via"
  measure "docker CLI, $via: node inspect" other "cli_inspect_$via"
done
echo
echo "the table: $STORM/table.md; each run's output: $STORM/NAME/I.{out,err,rc,s}"
