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
# broker_up CONFIG_JSON LOGFILE: the broker on the manager (node 1) — its --root $BR with the config
# and a /dev/log whose lines a listener appends to LOGFILE (pid in $BROKER_LOG), and a key
# ($R/ssh/broker_ed25519) whose only command is `swarmnode --root $BR broker`.
broker_up() {
  BR=$R/n1/broker
  mkdir -p "$BR/etc/swarmnode" "$BR/dev"
  printf '%s\n' "$1" > "$BR/etc/swarmnode/broker.json"; chmod 644 "$BR/etc/swarmnode/broker.json"
  python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
f=open(sys.argv[2], "a", buffering=1)
while True: f.write(s.recv(4096).decode() + "\n")' "$BR/dev/log" "$2" &
  BROKER_LOG=$!
  local n=0; until [ -S "$BR/dev/log" ]; do n=$((n+1)); [ $n -lt 100 ] || return 1; sleep 0.05; done
  ssh-keygen -q -t ed25519 -N '' -f "$R/ssh/broker_ed25519"
  echo "restrict,command=\"$BIN --root $BR broker\" $(cat "$R/ssh/broker_ed25519.pub")" >> "$R/ssh/authorized_keys"
}
