#!/usr/bin/env bash
# Benchmark (figures, no assertions): time from `swarmnode join` to the node Ready and labelled on
# the manager, per token source, next to the same steps done by hand with the plain docker CLI
# (token over TLS, `docker swarm join --token`, `docker node update --label-add` by node ID).
#   sudo swarm-tests/bench.sh [ROUNDS]     (default 5 rounds each; SWARMNODE_BIN as in run.sh)
# Fleet: N workers (default 24) joining one manager at the same moment, over ssh and tls, by
# swarmnode and by the plain docker CLI; time to all Ready and labelled, failures, retries, the
# manager's CPU seconds and peak memory during the storm.
#   sudo swarm-tests/bench.sh fleet [N]
set -uo pipefail
cd "$(dirname "$0")"
BIN=$(readlink -f "${SWARMNODE_BIN:-../target/debug/swarmnode}")
source ./fixture.sh
source ./lib.sh
if [ "${1:-}" = fleet ]; then
  source ./fleet-lib.sh
  N=${2:-24}
  STORM=$(readlink -f "${RESULTS:-../target/fleet-bench}"); rm -rf "$STORM"; mkdir -p "$STORM"
  trap 'down >/dev/null 2>&1' EXIT
  down >/dev/null 2>&1
  fleet_up "$N" > "$STORM/up.log" 2>&1 || { echo "fixture did not come up"; exit 1; }
  TLS_CLI="docker -H tcp://$NET.1:2376 --tlsverify --tlscacert $P/ca.pem --tlscert $P/cert.pem --tlskey $P/key.pem"
  # The plain CLI, as a person or the seed's era would script it: token, join, label; no retries.
  cli_join() {  # cli_join ssh|tls I
    local via=$1 i=$2 on
    if [ "$via" = ssh ]; then on="$R/bin/ssh $NET.1 docker"; else on=$TLS_CLI; fi
    ip netns exec "psw-n$i" bash -ec "
      tok=\$($on swarm join-token -q worker)
      docker -H unix://$R/n$i/docker.sock swarm join --token \"\$tok\" $NET.1:2377
      $on node update --label-add function=production --label-add rack=r$i \
        \$(docker -H unix://$R/n$i/docker.sock info -f '{{.Swarm.NodeID}}')"
  }
  cli_ssh() { cli_join ssh "$1"; }
  cli_tls() { cli_join tls "$1"; }
  printf 'swarmnode %s, dockerd %s, %s workers joining one manager at once (sshd MaxStartups 10:30:100)\n' \
    "$("$BIN" --version | cut -d' ' -f2)" "$(api 1 /version | jq -r .Version)" "$N"
  printf '%-38s %9s %7s %8s %8s %8s %11s\n' how "labelled" failed retries "cpu s" "rss MiB" "node med/max"
  row() {  # how, storm name
    local all w
    if w=$(fleet_wait_labelled 30); then all=$(awk -v a="$STORM_WALL" -v b="$w" 'BEGIN{printf "%.1f s", a+b}')
    else all="$(fleet_labelled) of $N"; fi
    printf '%-38s %9s %7s %8s %8s %8s %11s\n' "$1" "$all" "$STORM_FAILED" "$STORM_RETRIES" "$STORM_CPU" "$STORM_RSS" \
      "$(sort -n "$STORM/$2"/*.s | awk '{a[NR]=$1} END{printf "%s/%s", a[int((NR+1)/2)], a[NR]}')"
  }
  # "labelled": seconds from the storm's start to all N Ready and labelled on the manager
  for how in "ssh 0" "ssh 5" "tls 0" "tls 5"; do
    set -- $how
    fleet_reset
    if [ "$1" = ssh ]; then fleet_profile "$FLEET_SSH" "$2"; else fleet_profile "$FLEET_TLS" "$2"; fi
    fleet_storm "sn-$1-$2" fleet_sn_join
    row "swarmnode join, $1, start_jitter $2 s" "sn-$1-$2"
  done
  for via in ssh tls; do
    fleet_reset
    fleet_storm "cli-$via" "cli_$via"
    row "docker CLI by hand, $via" "cli-$via"
  done
  exit 0
fi
ROUNDS=${1:-5}
tls() { docker -H tcp://$NET.1:2376 --tlsverify --tlscacert $P/ca.pem --tlscert $P/cert.pem --tlskey $P/key.pem "$@"; }
ms() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%d", (b-a)*1000}'; }
# until the manager has node $1 ready with function=production
ready_and_labelled() {
  local id n=0
  until id=$(api "$1" /info | jq -r .Swarm.NodeID) && [ -n "$id" ] &&
    [ "$(on_manager node inspect -f '{{.Status.State}} {{index .Spec.Labels "function"}}' "$id" 2>/dev/null)" = "ready production" ]; do
    n=$((n+1)); [ $n -lt 2000 ] || return 1; sleep 0.01; done
}
# out of the swarm again: leave on the node, remove on the manager
reset_node() {
  local id; id=$(api "$1" /info | jq -r .Swarm.NodeID)
  docker -H "unix://$R/n$1/docker.sock" swarm leave --force > /dev/null 2>&1
  [ -n "$id" ] && on_manager node rm --force "$id" > /dev/null 2>&1
  true
}
declare -A SRC=(
  [ssh]='{"source": "ssh", "identity_file": "/root/.ssh/id_ed25519", "known_hosts_file": "/etc/swarmnode/known_hosts"}'
  [tls]='{"source": "tls", "ca_file": "/etc/swarmnode/pki/ca.pem", "cert_file": "/etc/swarmnode/pki/cert.pem", "key_file": "/etc/swarmnode/pki/key.pem"}'
  [file]='{"source": "file", "path": "/etc/swarmnode/join-token"}'
)

trap 'down >/dev/null 2>&1' EXIT
down >/dev/null 2>&1
up 1 2 > /dev/null 2>&1 || { echo "fixture did not come up"; exit 1; }
on_manager swarm init --advertise-addr $NET.1 > /dev/null
TOK=$(on_manager swarm join-token -q worker)
node_root 2
printf 'swarmnode %s, dockerd %s, %s rounds each; ms from the start to Ready+labelled on the manager\n' \
  "$("$BIN" --version | cut -d' ' -f2)" "$(api 1 /version | jq -r .Version)" "$ROUNDS"
printf '%-34s %8s %8s %8s\n' "how" "min" "median" "max"
report() {  # name, then one figure per round
  local name=$1; shift
  printf '%s\n' "$@" | sort -n | awk -v n="$name" '{a[NR]=$1} END{printf "%-34s %8d %8d %8d\n", n, a[1], a[int((NR+1)/2)], a[NR]}'
}
for src in ssh tls file; do
  labels='{"function": "production"}'; [ $src = file ] && labels='{}'
  printf '{"swarm": {"start_jitter_seconds": 0, "managers": ["%s.1:2377"], "token": %s, "labels": %s}}\n' $NET "${SRC[$src]}" "$labels" \
    > "$R/n2/root/etc/swarmnode/profile.json"
  figs=()
  for _ in $(seq "$ROUNDS"); do
    reset_node 2
    t=$(now)
    sn 2 -q join > /dev/null 2>&1 || { echo "swarmnode join ($src) failed"; exit 1; }
    if [ $src = file ]; then   # no channel to a manager: the label is set by hand, as the site does
      on_manager node update --label-add function=production "$(api 2 /info | jq -r .Swarm.NodeID)" > /dev/null
    fi
    ready_and_labelled 2 || { echo "node 2 never became ready and labelled ($src)"; exit 1; }
    figs+=("$(ms "$t")")
  done
  name="swarmnode join, token over $src"; [ $src = file ] && name="swarmnode join, file (+ label by hand)"
  report "$name" "${figs[@]}"
done
figs=()
for _ in $(seq "$ROUNDS"); do
  reset_node 2
  t=$(now)
  tok=$(ip netns exec psw-n2 bash -c "$(declare -f tls); NET=$NET P=$P; tls swarm join-token -q worker")
  ip netns exec psw-n2 docker -H "unix://$R/n2/docker.sock" swarm join --token "$tok" $NET.1:2377 > /dev/null
  ip netns exec psw-n2 bash -c "$(declare -f tls); NET=$NET P=$P; tls node update --label-add function=production \
    \$(docker -H unix://$R/n2/docker.sock info -f '{{.Swarm.NodeID}}')" > /dev/null
  ready_and_labelled 2 || { echo "CLI join never became ready and labelled"; exit 1; }
  figs+=("$(ms "$t")")
done
report "docker CLI by hand, token over tls" "${figs[@]}"
echo "(the CLI puts the token in argv: \`docker swarm join --token ...\` is visible in /proc)"
