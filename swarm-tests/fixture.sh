#!/usr/bin/env bash
# Tier 3 fixture: several real Docker engines on ONE Linux host, no images or registry needed.
# Adapted from the verified recipe in the shared reference (reference/swarm/fixture.sh).
# Each "host" = network ns (10.77.0.i/24) + private mount ns (own /run, /etc/docker, re-mounted
# cgroups) + UTS ns (hostname psw-n$i), running its own containerd + dockerd.
# Node 1 also serves the Engine API with TLS on 10.77.0.1:2376 and sshd on :22. Needs root.
#
#   ./fixture.sh up [N...] | down | leaks        source ./fixture.sh; dk 1 node ls
set -euo pipefail

R=${PSW_ROOT:-/tmp/swarmnode-psw}   # all state lives here
NET=10.77.0                          # node i = $NET.i/24; bridge psw-br0 lives in netns psw-br
P=$R/pki
export DOCKER_CONFIG=$R/dockercfg    # keep docker CLI state out of ~/.docker
now() { echo "$EPOCHREALTIME"; }
dt()  { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2fs", b-a}'; }

# ---------- network: a bridge netns + one netns per node; no default route anywhere
net_up() {
  [ -d /run/netns ] || touch $R/.created-run-netns
  ip netns add psw-br
  ip -n psw-br link add psw-br0 type bridge
  ip -n psw-br link set lo up
  ip -n psw-br link set psw-br0 up
  local i; for i in "$@"; do net_add "$i"; done
}
net_add() {  # netns psw-n$1, eth0 = $NET.$1/24, veth peer v$1 enslaved to psw-br0
  local i=$1
  ip netns add psw-n$i
  ip -n psw-br link add v$i type veth peer name eth0 netns psw-n$i
  ip -n psw-br link set v$i master psw-br0 up
  ip -n psw-n$i addr add $NET.$i/24 dev eth0
  ip -n psw-n$i link set eth0 up
  ip -n psw-n$i link set lo up
}

# ---------- PKI: CA, server cert for node 1 (SAN IP:10.77.0.1), client cert
pki() {
  mkdir -p $P && cd $P
  openssl genrsa -out ca-key.pem 2048 2>/dev/null
  openssl req -x509 -new -key ca-key.pem -sha256 -days 2 -subj /CN=psw-ca -out ca.pem
  openssl genrsa -out server-key.pem 2048 2>/dev/null
  openssl req -new -key server-key.pem -subj /CN=psw-n1 -out server.csr
  printf 'subjectAltName=IP:%s.1,IP:127.0.0.1,DNS:psw-n1,DNS:localhost\nextendedKeyUsage=serverAuth\n' $NET > server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -sha256 \
      -extfile server.ext -out server-cert.pem 2>/dev/null
  openssl genrsa -out key.pem 2048 2>/dev/null
  openssl req -new -key key.pem -subj /CN=psw-client -out client.csr
  printf 'extendedKeyUsage=clientAuth\n' > client.ext
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -sha256 \
      -extfile client.ext -out cert.pem 2>/dev/null
  chmod 600 ca-key.pem server-key.pem key.pem
  cd - >/dev/null
}
tls_args() { echo -H tcp://$NET.$1:2376 --tlsverify --tlscacert $P/ca.pem --tlscert $P/server-cert.pem --tlskey $P/server-key.pem; }

# ---------- one engine; extra args go to dockerd (e.g. $(tls_args 1)).
# `ip netns exec` gives a new mount ns but replaces /sys with a fresh sysfs, which drops the
# cgroup mounts ("failed to start daemon: Devices cgroup isn't mounted"), so re-mount them.
# /run and /etc/docker are bind-mounted from $D so /var/run/docker.sock, /run/containerd
# (incl. shim sockets), /run/docker/plugins and /etc/docker/key.json are private per node.
# `mount -n` keeps libmount from creating the host's /run/mount/utab.
node_up() {
  local i=$1; shift
  local D=$R/n$i t0; t0=$(now)
  mkdir -p $D/run $D/etc-docker $D/data $D/exec $D/containerd/root $D/containerd/opt
  grep -E '^[^ ]+ [^ ]+ cgroup2? ' /proc/self/mounts > $D/cgroup.mounts
  cat > $D/containerd.toml <<EOF
version = 2
root = "$D/containerd/root"
state = "/run/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "/run/containerd/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$D/containerd/opt"
EOF
  # PSW_WORKER_NICE: the niceness of every engine but node 1's (the manager's), and of all they
  # start; on one machine a hundred workers' engines would otherwise starve the manager's.
  local nice=0; [ "$i" = 1 ] || nice=${PSW_WORKER_NICE:-0}
  nice -n "$nice" ip netns exec psw-n$i unshare --uts -- /bin/sh -ec '
    D=$1; i=$2; shift 2
    hostname psw-n$i
    mount -n --bind $D/run /run
    mount -n --bind $D/etc-docker /etc/docker
    mount -n -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
    while read -r src mnt type opts _; do
      mkdir -p "$mnt"; mount -n -t "$type" -o "$opts" "$src" "$mnt"
    done < $D/cgroup.mounts
    containerd --config $D/containerd.toml >$D/containerd.log 2>&1 &
    echo $! > $D/containerd.pid
    n=0; until [ -S /run/containerd/containerd.sock ]; do
      n=$((n+1)); [ $n -lt 400 ] || { echo containerd did not start; exit 1; }; sleep 0.05; done
    exec dockerd --data-root $D/data --exec-root $D/exec --pidfile $D/dockerd.pid \
      -H unix://$D/docker.sock -H unix:///var/run/docker.sock \
      --containerd /run/containerd/containerd.sock \
      --storage-driver overlay2 --cgroup-parent /psw-n$i \
      --bridge none --iptables=false --ip-forward=false --ip-masq=false "$@"
  ' sh "$D" "$i" "$@" > $D/dockerd.log 2>&1 &
  echo $! > $D/launcher.pid            # same PID as dockerd (ip, unshare, sh all exec)
  local n=0
  until curl -fs --unix-socket $D/docker.sock http://localhost/_ping >/dev/null 2>&1; do
    n=$((n+1)); if [ $n -gt 600 ] || ! kill -0 "$(cat $D/launcher.pid)" 2>/dev/null; then
      echo "node $i failed:"; tail -5 $D/dockerd.log; return 1; fi
    sleep 0.05
  done
  echo "node $i up in $(dt $t0) (dockerd $(cat $D/dockerd.pid), containerd $(cat $D/containerd.pid))"
}

# docker CLI inside node i's netns against node i's engine (unix socket)
dk() { local i=$1; shift; ip netns exec psw-n$i docker -H unix://$R/n$i/docker.sock "$@"; }
# docker CLI inside node i's netns against node 1's engine over TLS (port 2376)
dk_tls() { local i=$1; shift; ip netns exec psw-n$i docker -H tcp://$NET.1:2376 --tlsverify \
  --tlscacert $P/ca.pem --tlscert $P/cert.pem --tlskey $P/key.pem "$@"; }
# POST /swarm/join on node i's unix socket; token travels via stdin (printf is a builtin)
api_join() {  # api_join i manager_ip:port token
  printf '{"ListenAddr":"0.0.0.0:2377","AdvertiseAddr":"%s.%s","RemoteAddrs":["%s"],"JoinToken":"%s"}' \
    $NET "$1" "$2" "$3" | curl -sS --unix-socket $R/n$1/docker.sock -X POST \
    -H 'Content-Type: application/json' --data-binary @- -w '\nHTTP %{http_code}\n' http://localhost/swarm/join
}

# ---------- sshd in node i, entered into dockerd's net+mount+uts ns, so the remote
# `docker system dial-stdio` finds the node's own /var/run/docker.sock.
# Client side: $R/bin/ssh wrapper (-F private config); put $R/bin first in PATH.
sshd_up() {
  local i=$1 S=$R/ssh D=$R/n$1
  mkdir -p $S $R/bin $D/run/sshd && chmod 755 $D/run/sshd      # privsep dir = /run/sshd inside
  [ -f $S/host_ed25519 ] || ssh-keygen -q -t ed25519 -N '' -f $S/host_ed25519
  [ -f $S/id_ed25519 ]   || ssh-keygen -q -t ed25519 -N '' -f $S/id_ed25519
  cp $S/id_ed25519.pub $S/authorized_keys
  echo "$NET.$i $(cut -d' ' -f1,2 $S/host_ed25519.pub)" > $S/known_hosts
  cat > $S/sshd_config <<EOF
ListenAddress $NET.$i:22
HostKey $S/host_ed25519
PidFile /run/sshd.pid
AuthorizedKeysFile $S/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
SetEnv DOCKER_CONFIG=$R/dockercfg-remote DOCKER_HOST=unix:///var/run/docker.sock
EOF
  cat > $S/ssh_config <<EOF
Host *
  User root
  IdentityFile $S/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $S/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
EOF
  printf '#!/bin/sh\nexec /usr/bin/ssh -F %s "$@"\n' $S/ssh_config > $R/bin/ssh && chmod +x $R/bin/ssh
  # A manager's root has a plain shell start-up: this machine's /root/.bashrc (bash reads it for
  # every ssh command) is hidden in the node's mount namespace, or its cost would be the figures'.
  if [ -f /root/.bashrc ]; then
    : > $S/bashrc
    nsenter --target "$(cat $D/dockerd.pid)" --mount mount -n --bind $S/bashrc /root/.bashrc
  fi
  nsenter --target "$(cat $D/dockerd.pid)" --net --mount --uts /usr/sbin/sshd -D -e -f $S/sshd_config \
      > $S/sshd.log 2>&1 &
  echo $! > $S/sshd.pid
  local n=0; until ip netns exec psw-n$i bash -c "exec 3<>/dev/tcp/$NET.$i/22" 2>/dev/null; do
    n=$((n+1)); [ $n -lt 100 ] || { cat $S/sshd.log; return 1; }; sleep 0.05; done
}

# ---------- teardown, all by PID
alive() { [ -n "$1" ] && [ -e /proc/$1 ] && ! grep -q '^State:.*Z' /proc/$1/status 2>/dev/null; }  # zombies = dead
stop_pid() {  # stop_pid PID [timeout_s]: TERM, wait, then KILL
  local p=$1 t=${2:-20} n=0
  alive "$p" || return 0
  kill -TERM "$p" 2>/dev/null || true
  while alive "$p"; do
    n=$((n+1)); if [ $n -gt $((t*20)) ]; then kill -KILL "$p" 2>/dev/null || true; sleep 0.2; break; fi; sleep 0.05
  done
}
node_down() {  # PSW_FAST_DOWN=1: SIGKILL everything (~0.1s); default: graceful TERM (0.3-7s)
  local i=$1 D=$R/n$1 p sig=TERM
  [ "${PSW_FAST_DOWN:-0}" = 1 ] && sig=KILL
  if [ "$i" = 1 ] && [ -f $R/ssh/sshd.pid ]; then kill -$sig "$(cat $R/ssh/sshd.pid)" 2>/dev/null || true; rm -f $R/ssh/sshd.pid; fi
  if [ $sig = TERM ] && [ -S $D/docker.sock ]; then   # remove containers so shims exit cleanly
    docker -H unix://$D/docker.sock ps -aq 2>/dev/null | xargs -r docker -H unix://$D/docker.sock rm -f >/dev/null 2>&1 || true
  fi
  if [ $sig = KILL ]; then
    for p in "$(cat $D/dockerd.pid 2>/dev/null)" "$(cat $D/containerd.pid 2>/dev/null)"; do
      [ -n "$p" ] && { kill -KILL "$p" 2>/dev/null || true; }; done
  fi
  [ -f $D/dockerd.pid ]    && stop_pid "$(cat $D/dockerd.pid)" 30
  [ -f $D/launcher.pid ]   && stop_pid "$(cat $D/launcher.pid)" 5
  [ -f $D/containerd.pid ] && stop_pid "$(cat $D/containerd.pid)" 10
  # orphans: shims (in the node netns) and container processes (in /psw-n$i cgroups)
  for p in $(ip netns pids psw-n$i 2>/dev/null) $(cat /sys/fs/cgroup/pids/psw-n$i/*/cgroup.procs 2>/dev/null); do
    [ $sig = TERM ] && echo "leftover pid $p: $(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)"
    kill -KILL "$p" 2>/dev/null || true; done
  for p in $(cat /sys/fs/cgroup/pids/psw-n$i/*/cgroup.procs 2>/dev/null); do stop_pid "$p" 2; done
  # --cgroup-parent /psw-n$i dirs are created in the host's (shared) cgroup hierarchies
  local n=0; while [ -d /sys/fs/cgroup/pids/psw-n$i ] && [ $n -lt 40 ]; do
    find /sys/fs/cgroup/*/psw-n$i -depth -type d -exec rmdir {} \; 2>/dev/null; n=$((n+1)); sleep 0.05; done
  find /sys/fs/cgroup/*/psw-n$i -depth -type d -exec rmdir {} \; 2>/dev/null || true
  ip netns del psw-n$i 2>/dev/null || true
}
down() {
  local i
  for i in $(ip netns list | awk '/^psw-n[0-9]+/{sub("psw-n","",$1); print $1}'); do node_down "$i"; done
  ip netns del psw-br 2>/dev/null || true
  # `ip netns add` made /run/netns a shared self-bind mount; undo it if we created /run/netns
  if [ -f $R/.created-run-netns ] && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
    umount -n /run/netns 2>/dev/null || true; rmdir /run/netns 2>/dev/null || true
  fi
  rm -f $R/.created-run-netns
  rm -rf $R/n[0-9]* $R/ssh $R/bin $R/pki $R/dockercfg $R/dockercfg-remote
}
leaks() {  # empty output == clean
  ip netns list | grep psw- || true
  ip link | grep -E 'psw|docker_gwbridge|veth' || true
  grep -E 'psw|/run/netns' /proc/self/mountinfo || true
  ls -d /sys/fs/cgroup/*/psw-n* 2>/dev/null || true
  ps -eo pid,args | grep -E '[p]robe-swarm|[c]ontainerd-shim|[s]wmtkn' | grep -v '<defunct>' || true  # PID 1 here reaps orphans lazily
  ls -A /etc/docker; ls -d /run/docker /run/containerd /run/sshd 2>/dev/null || true
  iptables-save 2>/dev/null | grep -iE 'docker|psw' || true
}

up() {
  local nodes=("$@"); [ ${#nodes[@]} -gt 0 ] || nodes=(1 2 3)
  local t0 i; t0=$(now); mkdir -p $R
  net_up "${nodes[@]}"; echo "netns up in $(dt $t0)"
  t0=$(now); pki; echo "pki in $(dt $t0)"
  for i in "${nodes[@]}"; do
    if [ "$i" = 1 ]; then node_up 1 $(tls_args 1); else node_up "$i"; fi
  done
  if [[ " ${nodes[*]} " == *" 1 "* ]]; then t0=$(now); sshd_up 1; echo "sshd up in $(dt $t0)"; fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  cmd=${1:-}; shift || true
  case "$cmd" in
    up) up "$@" ;; down) set +e; down ;; leaks) leaks ;;
    *) echo "usage: $0 up [N...] | down | leaks" >&2; exit 2 ;;
  esac
else
  set +eu  # sourced: don't kill the caller's shell on a failing test command
fi
