# A fleet of workers joining one manager at the same moment (sourced after fixture.sh and lib.sh;
# used by fleet.sh, the checks, and bench.sh, the figures). Node 1 is the manager (sshd with its
# default MaxStartups 10:30:100, the TLS API on :2376); nodes 2..N+1 are the workers.
FLEET_SSH='{"source": "ssh", "identity_file": "/root/.ssh/id_ed25519", "known_hosts_file": "/etc/swarmnode/known_hosts", "connect_timeout_seconds": 5}'
FLEET_TLS='{"source": "tls", "ca_file": "/etc/swarmnode/pki/ca.pem", "cert_file": "/etc/swarmnode/pki/cert.pem", "key_file": "/etc/swarmnode/pki/key.pem"}'

# bed_limits N: the host's kernel limits raised for N engines. The neighbour (ARP) table is one
# table for every namespace, and engines that gossip with each other fill it with up to N² entries;
# past its hard limit (gc_thresh3, 1024 by default) the kernel drops them ("neighbor table
# overflow" in dmesg) and connections fail with "No route to host". Raised only, never lowered.
bed_limits() {
  local want=$(( ($1 + 2) * ($1 + 2) * 2 )) cur
  cur=$(sysctl -n net.ipv4.neigh.default.gc_thresh3)
  [ "$cur" -ge "$want" ] && return 0
  echo "bed: the neighbour table's limits raised from $cur to $want (for $1 engines)"
  sysctl -qw net.ipv4.neigh.default.gc_thresh1=$((want / 4)) \
    net.ipv4.neigh.default.gc_thresh2=$((want / 2)) net.ipv4.neigh.default.gc_thresh3=$want
}

# fleet_up N: the manager and N workers, a swarm, each worker's root
fleet_up() {
  local n=$1 i
  bed_limits $((n + 1))
  WORKERS=$(seq 2 $((n + 1)))
  up 1 $WORKERS || return 1
  on_manager swarm init --advertise-addr $NET.1 > /dev/null || return 1
  for i in $WORKERS; do node_root "$i"; done
}

# fleet_profile SOURCE_JSON [JITTER]: every worker's profile, labels function=production rack=rI
fleet_profile() {
  local src=$1 jitter=${2:-0} i
  for i in $WORKERS; do
    printf '{"swarm": {"managers": ["%s.1:2377"], "token": %s, "start_jitter_seconds": %s, "labels": {"function": "production", "rack": "r%s"}}}\n' \
      $NET "$src" "$jitter" "$i" > "$R/n$i/root/etc/swarmnode/profile.json"
  done
}

# The manager's processes: dockerd, containerd and sshd (whose children are counted once reaped;
# the fixture's sshd, or the one of the manager's own root: $SSHD_PIDFILE).
fleet_pids() { echo "$(cat $R/n1/dockerd.pid) $(cat $R/n1/containerd.pid) $(cat "${SSHD_PIDFILE:-$R/ssh/sshd.pid}" 2>/dev/null)"; }
# CPU seconds of those processes and their reaped children so far
fleet_cpu() {
  local p t=0
  for p in $(fleet_pids); do
    [ -r /proc/$p/stat ] || continue
    t=$((t + $(awk '{print $14+$15+$16+$17}' /proc/$p/stat)))
  done
  awk -v t=$t -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", t/hz}'
}
# Samples the manager's resident memory (dockerd + containerd + sshd and its children) every
# 0.2 s into $1 until $1.stop exists; the peak is `sort -n | tail -1`.
fleet_rss_sampler() {
  local out=$1 p rss sum
  while [ ! -e "$out.stop" ]; do
    sum=0
    for p in $(fleet_pids) $(pgrep -P "$(cat "${SSHD_PIDFILE:-$R/ssh/sshd.pid}" 2>/dev/null || echo 0)" 2>/dev/null); do
      rss=$(awk '/^VmRSS/{print $2}' /proc/$p/status 2>/dev/null)   # empty for a zombie
      sum=$((sum + ${rss:-0}))
    done
    echo $sum >> "$out"; sleep 0.2
  done
}

# fleet_storm NAME CMD...: runs `CMD I` for every worker at the same moment (each in its own
# background job); each worker's exit status, seconds and output go to $STORM/NAME/I.{rc,s,out}.
# Prints the wall time, the manager's CPU seconds and peak RSS (MiB) during the storm.
fleet_storm() {
  local name=$1; shift
  local d=$STORM/$name i t0 c0
  rm -rf "$d"; mkdir -p "$d"
  c0=$(fleet_cpu); t0=$(now)
  fleet_rss_sampler "$d/rss" & local sampler=$!
  local runs=()
  for i in $WORKERS; do
    ( s=$(now); "$@" "$i" > "$d/$i.out" 2> "$d/$i.err"; echo $? > "$d/$i.rc"
      awk -v a="$s" -v b="$(now)" 'BEGIN{printf "%.1f\n", b-a}' > "$d/$i.s" ) &
    runs+=($!)
  done
  wait "${runs[@]}"
  touch "$d/rss.stop"; wait "$sampler" 2>/dev/null
  STORM_WALL=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
  STORM_CPU=$(awk -v a="$c0" -v b="$(fleet_cpu)" 'BEGIN{printf "%.1f", b-a}')
  STORM_RSS=$(sort -n "$d/rss" | tail -1 | awk '{printf "%d", $1/1024}')
  STORM_FAILED=$(cat "$d"/*.rc | grep -cvx 0)
  STORM_RETRIES=$(cat "$d"/*.err | grep -c 'trying on')
}
# swarmnode join on worker I (its profile decides the source)
fleet_sn_join() { sn "$1" join; }
fleet_sn_join_json() { sn "$1" --json join; }

# How many workers the manager has Ready and labelled function=production
fleet_labelled() {
  on_manager node ls -q | xargs -r docker -H "unix://$R/n1/docker.sock" node inspect \
    -f '{{.Spec.Role}} {{.Status.State}} {{index .Spec.Labels "function"}}' 2>/dev/null |
    grep -c '^worker ready production$'
}
# Until every worker is Ready on the manager with its labels, at most $1 seconds; prints how long.
fleet_wait_labelled() {
  local limit=$1 t0 want
  t0=$(now); want=$(echo $WORKERS | wc -w)
  while :; do
    [ "$(fleet_labelled)" -ge "$want" ] && break
    awk -v a="$t0" -v b="$(now)" -v l="$limit" 'BEGIN{exit !(b-a > l)}' && return 1
    sleep 0.2
  done
  awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'
}

# Every worker out of the swarm, and every entry but the manager's gone from it.
fleet_reset() {
  local i leaving=()
  for i in $WORKERS; do
    docker -H "unix://$R/n$i/docker.sock" swarm leave --force > /dev/null 2>&1 & leaving+=($!)
  done
  wait "${leaving[@]}"   # not a bare `wait`: the engines and sshd are this shell's jobs too
  on_manager node ls --format '{{.ID}} {{.ManagerStatus}}' | awk '$2 == "" {print $1}' |
    xargs -r docker -H "unix://$R/n1/docker.sock" node rm --force > /dev/null 2>&1
  true
}

# Lines "HOSTNAME STATE LABELS" of the manager's view, one per node entry
fleet_view() {
  on_manager node ls -q | xargs -r docker -H "unix://$R/n1/docker.sock" node inspect \
    -f '{{.Description.Hostname}} {{.Status.State}} {{json .Spec.Labels}}'
}
