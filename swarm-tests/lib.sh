# Helpers shared by run.sh, fleet.sh and bench.sh (sourced after fixture.sh).
# One PASS/FAIL line per check; the script ends with "N passed, M failed".
NPASS=0 NFAIL=0
pass() { echo "PASS $*"; NPASS=$((NPASS+1)); }
fail() { echo "FAIL $*"; NFAIL=$((NFAIL+1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
expect_rc() { local want=$1 got=$2 what=$3
  if [ "$got" = "$want" ]; then pass "$what (exit $got)"; else fail "$what: exit $got, wanted $want"; fi; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
# The API of node i's engine, and the manager's (node 1) docker CLI.
api() { curl -s --unix-socket "$R/n$1/docker.sock" "http://localhost$2"; }
on_manager() { docker -H "unix://$R/n1/docker.sock" "$@"; }
# A --root for swarmnode on node i: the ssh key and known_hosts, the TLS client certificate, and the
# join token when $TOK is set (mode 0600).
node_root() {
  local r=$R/n$1/root
  rm -rf "$r"; mkdir -p "$r/run" "$r/var/lib" "$r/root/.ssh" "$r/etc/swarmnode/pki"
  cp "$R/ssh/id_ed25519" "$r/root/.ssh/id_ed25519"; chmod 600 "$r/root/.ssh/id_ed25519"
  cp "$R/ssh/known_hosts" "$r/etc/swarmnode/known_hosts"
  cp "$P/ca.pem" "$P/cert.pem" "$P/key.pem" "$r/etc/swarmnode/pki/"; chmod 600 "$r/etc/swarmnode/pki/key.pem"
  if [ -n "${TOK:-}" ]; then
    printf '%s\n' "$TOK" > "$r/etc/swarmnode/join-token"; chmod 600 "$r/etc/swarmnode/join-token"
  fi
}
# swarmnode on node i: in its network namespace, with its engine and its root
sn() { local i=$1; shift
  ip netns exec "psw-n$i" env DOCKER_HOST="unix://$R/n$i/docker.sock" DOCKER_CONFIG="$R/dockercfg" \
    "$BIN" --root "$R/n$i/root" "$@"; }
# broker_up CONFIG_JSON LOGFILE: the broker on the manager (node 1) as a site runs it. $BR (the
# manager's --root) is made by installing the RPM ($SWARMNODE_RPM, from packaging/build-artefacts.sh):
# its files and directory modes are the package's, read from it, not copied here; then upgraded
# over itself (rpm -U), as a site's next package does. sshd runs `$BR/usr/sbin/swarmnode --root
# $BR broker` for the key $R/ssh/broker_ed25519 as the non-root user $BROKER_USER (in the docker
# group: the engine's socket, nothing else), the key listed in a root-owned file as README says.
# The config is root's $BR/etc/swarmnode-broker/broker.json (0644); the log a /dev/log whose lines a
# listener appends to LOGFILE (pid in $BROKER_LOG).
BROKER_USER=swarmnode-broker
broker_up() {
  BR=$R/n1/broker
  local rpm=${SWARMNODE_RPM:-} n=0
  [ -f "$rpm" ] || { echo "broker_up: no RPM at SWARMNODE_RPM='$rpm' (packaging/build-artefacts.sh makes it)" >&2; return 1; }
  rm -rf "$BR"; mkdir -p "$BR"
  { rpm --root "$BR" --initdb && rpm --root "$BR" --nodeps -i "$rpm" &&
    rpm --root "$BR" --nodeps -U --replacepkgs "$rpm"; } > "$R/rpm.log" 2>&1 || { cat "$R/rpm.log"; return 1; }
  mkdir -p "$BR/dev"
  printf '%s\n' "$1" > "$BR/etc/swarmnode-broker/broker.json"; chmod 644 "$BR/etc/swarmnode-broker/broker.json"
  id -u $BROKER_USER >/dev/null 2>&1 ||
    useradd --system --create-home --shell /bin/sh --groups docker $BROKER_USER || return 1
  # The fixture's sshd runs without PAM, and OpenSSH without PAM refuses a locked account (the
  # '!' useradd gives it); an EL manager's sshd uses PAM, where the key alone lets it in.
  usermod -p '*' $BROKER_USER
  python3 -c 'import os,socket,sys
s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666)
f=open(sys.argv[2], "a", buffering=1)
while True: f.write(s.recv(4096).decode() + "\n")' "$BR/dev/log" "$2" &
  BROKER_LOG=$!
  until [ -S "$BR/dev/log" ]; do n=$((n+1)); [ $n -lt 100 ] || return 1; sleep 0.05; done
  rm -f "$R/ssh/broker_ed25519"*; ssh-keygen -q -t ed25519 -N '' -f "$R/ssh/broker_ed25519"
  echo "restrict,command=\"$BR/usr/sbin/swarmnode --root $BR broker\" $(cat "$R/ssh/broker_ed25519.pub")" \
    > "$R/ssh/$BROKER_USER.keys"; chmod 644 "$R/ssh/$BROKER_USER.keys"
  # (PermitUserEnvironment is not allowed in a Match block; its default, no, holds for all.)
  if ! grep -q "^Match User $BROKER_USER" "$R/ssh/sshd_config"; then
    printf 'Match User %s\n    AuthorizedKeysFile %s\n' \
      $BROKER_USER "$R/ssh/$BROKER_USER.keys" >> "$R/ssh/sshd_config"
    nsenter --target "$(cat "$R/n1/dockerd.pid")" --mount /usr/sbin/sshd -t -f "$R/ssh/sshd_config" || return 1
    kill -HUP "$(cat "$R/ssh/sshd.pid")"; sleep 0.5
    n=0; until ip netns exec psw-n1 bash -c "exec 3<>/dev/tcp/$NET.1/22" 2>/dev/null; do
      n=$((n+1)); [ $n -lt 100 ] || return 1; sleep 0.05; done
  fi
}
