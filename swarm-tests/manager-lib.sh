# A manager as a site has one (sourced after fixture.sh and lib.sh; used by enrol.sh and fleet.sh):
# swarmnode installed from the RPM ($SWARMNODE_RPM) into $R/nI/broker, the manager's root; its own
# /etc (a copy of this machine's, under the package's files, without the broker's user), its own
# sshd (the distribution's sshd_config shape: with the drop-in folder included, as Debian and EL9
# ship it, or without, as EL8), its own log socket. In the manager's mount namespace /etc is that
# root's, so sshd and `useradd --prefix ROOT` see the same users; this machine's /etc is never
# written. There is no systemd in a namespace: `systemctl` is a stand-in that records its calls and
# does what systemd's sshd.service does on a reload (SIGHUP to sshd). Everything else is real:
# sshd, the RPM's binary, the user, the keys in the swarm, the engines.
#
# $R must be a path whose every directory is root's and not group- or world-writable (sshd checks
# that of an AuthorizedKeysCommand): enrol.sh and fleet.sh put it under /var/lib, not /tmp.

BROKER_USER=${BROKER_USER:-swarmnode-broker}

# doc_json MARKER: the first ```json block after docs/managers.md's line holding MARKER, with the
# site's network (10.0.0.0/16 there) put in as this bed's: the docs' own profiles are the ones
# the managers and nodes here run with.
doc_json() {
  awk -v m="$1" 'index($0, m) {f=1} f && /^```json$/ {b=1; next} b && /^```/ {exit} b' \
    "$(dirname "${BASH_SOURCE[0]}")/../docs/managers.md" | sed "s#10.0.0.0/16#$NET.0/24#g"
}

# mgr_root I: the manager's root (swarmnode's --root there)
mgr_root() { echo "$R/n$1/broker"; }

# mgr_bed I include|el8 LOGFILE: the RPM in node I's root, its /etc, its sshd on $NET.I:22 (the
# fixture's sshd on node 1 stopped first), its log's lines appended to LOGFILE.
mgr_bed() {
  local i=$1 shape=$2 log=$3 BR D=$R/n$1 pid n=0
  BR=$(mgr_root "$i")
  [ -f "$SWARMNODE_RPM" ] || { echo "mgr_bed: no RPM at SWARMNODE_RPM='$SWARMNODE_RPM'" >&2; return 1; }
  if [ "$i" = 1 ] && [ -f "$R/ssh/sshd.pid" ]; then stop_pid "$(cat "$R/ssh/sshd.pid")" 5; rm -f "$R/ssh/sshd.pid"; fi
  rm -rf "$BR"; mkdir -p "$BR"
  { rpm --root "$BR" --initdb && rpm --root "$BR" --nodeps -i "$SWARMNODE_RPM"; } > "$D/rpm.log" 2>&1 ||
    { cat "$D/rpm.log"; return 1; }
  cp -an /etc/. "$BR/etc/"
  # Not this machine's broker user (an older tier-3 run made one): the step makes its own.
  sed -i "/^$BROKER_USER:/d" "$BR"/etc/passwd "$BR"/etc/shadow "$BR"/etc/group "$BR"/etc/gshadow 2>/dev/null
  sed -i "s/^\(docker:[^:]*:[0-9]*:\).*/\1/" "$BR/etc/group"
  rm -f "$BR"/etc/ssh/ssh_host_* "$BR"/etc/ssh/sshd_config.d/*
  mkdir -p "$BR/etc/ssh/sshd_config.d" "$BR/run/systemd/system" "$BR/var/run" "$BR/dev" "$D/run/sshd"
  ssh-keygen -q -t ed25519 -N '' -C "root@psw-n$i" -f "$BR/etc/ssh/ssh_host_ed25519_key"
  {
    [ "$shape" = include ] && echo "Include $BR/etc/ssh/sshd_config.d/*.conf"
    cat <<EOF
ListenAddress $NET.$i:22
HostKey $BR/etc/ssh/ssh_host_ed25519_key
PidFile $BR/run/sshd.pid
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
EOF
  } > "$BR/etc/ssh/sshd_config"
  chmod 600 "$BR/etc/ssh/sshd_config"
  : > "$BR/var/run/docker.sock"
  pid=$(cat "$D/dockerd.pid")
  nsenter --target "$pid" --mount sh -ec "mount -n --bind '$BR/etc' /etc; mount -n --bind '$D/docker.sock' '$BR/var/run/docker.sock'"
  python3 -c 'import os,socket,sys
s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666)
f=open(sys.argv[2], "a", buffering=1)
while True: f.write(s.recv(4096).decode() + "\n")' "$BR/dev/log" "$log" &
  echo $! > "$D/broker-log.pid"
  until [ -S "$BR/dev/log" ]; do n=$((n+1)); [ $n -lt 100 ] || return 1; sleep 0.05; done
  mkdir -p "$R/bin-mgr"
  cat > "$R/bin-mgr/systemctl" <<'EOF'
#!/bin/sh
# systemd's stand-in in a namespace: records the call; a reload of sshd is systemd's ExecReload
echo "systemctl $*" >> "$MGR_ROOT/systemctl.calls"
case "$*" in
  "try-reload-or-restart sshd.service"|"try-reload-or-restart ssh.service") kill -HUP "$(cat "$MGR_ROOT/run/sshd.pid")" ;;
  is-active*) echo inactive; exit 3 ;;
esac
EOF
  chmod 755 "$R/bin-mgr/systemctl"
  nsenter --target "$pid" --net --mount --uts /usr/sbin/sshd -D -e -f "$BR/etc/ssh/sshd_config" \
    > "$D/sshd.log" 2>&1 &
  echo $! > "$D/sshd.launcher"
  n=0; until ip netns exec "psw-n$i" bash -c "exec 3<>/dev/tcp/$NET.$i/22" 2>/dev/null; do
    n=$((n+1)); [ $n -lt 100 ] || { cat "$D/sshd.log"; return 1; }; sleep 0.05; done
}

# mgr I ARGS...: the manager's swarmnode (the RPM's binary) in its namespaces, on its root.
mgr() {
  local i=$1 BR; shift
  BR=$(mgr_root "$i")
  nsenter --target "$(cat "$R/n$i/dockerd.pid")" --net --mount --uts \
    env -i PATH="$R/bin-mgr:/usr/sbin:/usr/bin:/sbin:/bin" MGR_ROOT="$BR" HOME=/root \
    "$BR/usr/sbin/swarmnode" --root "$BR" "$@"
}

# mgr_sshd_pid I: the manager's sshd listener
mgr_sshd_pid() { cat "$(mgr_root "$1")/run/sshd.pid" 2>/dev/null; }

# mgr_down I: its sshd and its log listener stopped
mgr_down() {
  local D=$R/n$1
  [ -n "$(mgr_sshd_pid "$1")" ] && stop_pid "$(mgr_sshd_pid "$1")" 5
  [ -f "$D/broker-log.pid" ] && kill "$(cat "$D/broker-log.pid")" 2>/dev/null
  true
}

# bootstrap_node I DIR: the kickstart lines `broker bootstrap` wrote (DIR/bootstrap.ks), run as a
# kickstart runs them, with node I's root as /etc's parent (a private mount namespace).
bootstrap_node() {
  local r=$R/n$1/root
  mkdir -p "$r/etc"
  unshare -m sh -ec "mount -n --bind '$r/etc' /etc; sh '$2/bootstrap.ks'"
}
