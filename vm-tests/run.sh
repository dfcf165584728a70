#!/bin/bash
# Real-kernel tests: builds (or reuses) the guest image and the static swarmnode, then boots one
# guest per scenario and collects its PASS/FAIL lines. Ends with "N passed, M failed".
#   vm-tests/run.sh                 every scenario in vm-tests/scenarios/ (but the demo)
#   vm-tests/run.sh devicemapper    one scenario (file name without .sh)
# Env: SWARMNODE_VM_CACHE (guest image cache, default /var/cache/swarmnode-vm),
#      SWARMNODE_BIN (use this binary instead of building), RESULTS (default target/vm-results),
#      JOBS (guests at a time, default: the number of cores), SMP (vCPUs per guest, default 1).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
TOP=$PWD
CACHE=${SWARMNODE_VM_CACHE:-/var/cache/swarmnode-vm}
RESULTS=${RESULTS:-$TOP/target/vm-results}
T0=$(date +%s)

# ---- guest images, cached by a hash of their recipe: bookworm (docker 20.10) and trixie (docker 26,
# booted with bookworm's kernel)
guest() {
  local suite=$1 key dir
  key=$(cat vm-tests/build-guest.sh | sha256sum | cut -c1-16)
  dir=$CACHE/$suite-$key
  if [ ! -f "$dir/ready" ]; then
    local from=""
    [ "$suite" = bookworm ] || from=$(guest bookworm) || return 1
    echo "building the $suite guest image $dir (about 2 minutes)" >&2
    rm -rf "$dir.tmp"; mkdir -p "$CACHE"
    SUITE=$suite KERNEL_FROM=$from vm-tests/build-guest.sh "$dir.tmp" >&2 ||
      { echo "guest build failed: $dir.tmp/debootstrap.log" >&2; return 1; }
    rm -rf "$dir"; mv "$dir.tmp" "$dir"; touch "$dir/ready"
    for old in "$CACHE/$suite"-*; do [ "$old" = "$dir" ] || [ "$old" = "$dir.tmp" ] || rm -rf "$old"; done
  fi
  echo "$dir"
}

binary() {
  if [ -n "${SWARMNODE_BIN:-}" ]; then echo "$SWARMNODE_BIN"; return; fi
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release --target x86_64-unknown-linux-gnu >&2 || return 1
  echo "$TOP/target/x86_64-unknown-linux-gnu/release/swarmnode"
}

# rpm_file: the RPM the broker's manager is installed from ("# network: swarm-broker"), built
# with the release artefacts when SWARMNODE_RPM does not name one.
rpm_file() {
  if [ -n "${SWARMNODE_RPM:-}" ]; then echo "$SWARMNODE_RPM"; return; fi
  ls "$TOP"/target/artefacts/swarmnode-*.x86_64.rpm 2>/dev/null | head -1 | grep . ||
    { packaging/build-artefacts.sh target/artefacts >&2 && ls "$TOP"/target/artefacts/swarmnode-*.x86_64.rpm | head -1; }
}

BIN=$(binary) || exit 1
file "$BIN" | grep -q 'static' || { echo "$BIN is not statically linked" >&2; exit 1; }

scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  # every scenario but those marked "# ci: no"; the longest first ("# about: N s", its time under
  # TCG when last measured; else 90 s a boot), so that the guests running side by side end together
  for f in $(for g in vm-tests/scenarios/*.sh; do
               a=$(sed -n 's/^# about: *\([0-9]*\) s$/\1/p' "$g" | head -1)
               b=$(sed -n 's/^# boots: *//p' "$g" | head -1); echo "${a:-$(( ${b:-1} * 90 ))} $g"
             done | sort -k1,1nr -k2,2 | cut -d' ' -f2); do
    grep -q '^# ci: no' "$f" || scenarios+=("$(basename "$f" .sh)")
  done
fi

# One scenario, start to end; its PASS/FAIL lines and its summary go to $RESULTS/NAME/out.txt.
run_one() {
  local s=$1 f=vm-tests/scenarios/$1.sh P R G suite boots rootfs t b n p m sz raw
  local -a sizes disks
  R=$RESULTS/$s; rm -rf "$R"; mkdir -p "$R"
  exec 3>&2 >"$R/out.txt" 2>&1   # fd 3: run.sh's own stderr, for the progress lines
  [ -f "$f" ] || { echo "FAIL $s: no such scenario $f"; return; }
  P=$(mktemp -d)
  cp "$BIN" "$P/swarmnode"; cp vm-tests/guest/run.sh vm-tests/guest/lib.sh vm-tests/seed-thinpool.sh "$P/"
  cp "$f" "$P/scenario.sh"; echo "$s" > "$P/name"; cp -r profiles "$P/profiles"; cp -r vm-tests/scenarios "$P/scenarios"
  cp -r kickstart "$P/kickstart"; mkdir -p "$P/docs"; cp docs/*.md "$P/docs/"
  cp tests/fixtures/pki/registry-ca.crt "$P/"
  # "# disks: 4G 4G:ro 512M" → raw files; ":ro" makes the disk read-only
  read -r -a sizes <<<"$(sed -n 's/^# disks: *//p' "$f" | head -1)"
  disks=(); n=0
  for sz in "${sizes[@]}"; do
    n=$((n+1)); raw=$P/data$n.raw; truncate -s "${sz%%:*}" "$raw"
    [[ $sz == *:ro ]] && raw="$raw:ro"
    disks+=("$raw")
  done
  suite=$(sed -n 's/^# guest: *//p' "$f" | head -1); suite=${suite:-bookworm}
  G=$CACHE/$suite-$KEY
  # "# boots: N": the same root (a writable copy) and disks booted N times; $BOOT tells which.
  boots=$(sed -n 's/^# boots: *//p' "$f" | head -1); boots=${boots:-1}
  echo "$boots" > "$P/boots"
  rootfs=""
  if [ "$boots" -gt 1 ]; then rootfs=$R/rootfs.img; cp --sparse=always "$G/rootfs.img" "$rootfs"; fi
  # "# network: swarm": a swarm manager (swarm-tests/fixture.sh node 1: TLS API on 10.77.0.1:2376)
  # in its own network namespace, and the guest's network card on a tap device on that bridge.
  local tap="" netns=""
  # "# network: swarm-broker": the same, and the manager set up as docs/managers.md says (the RPM,
  # its sshd, the broker's side by one apply), with a bootstrap key whose bootstrap.ks the
  # scenario pastes into its kickstart.
  local broker=""
  if grep -q '^# network: swarm-broker' "$f"; then
    broker=yes
    broker_manager_up "$R" "$P" || echo "FAIL $s: the broker's manager did not come up (see $R/fixture.log)"
    tap=swtap0; netns=psw-br
  elif grep -q '^# network: swarm' "$f"; then
    manager_up "$R" "$P" || echo "FAIL $s: the swarm manager did not come up (see $R/fixture.log)"
    tap=swtap0; netns=psw-br
  fi
  t=$(date +%s)
  # "# fresh-root: 2": before boot 2 the system disk is installed again (a fresh copy of the image,
  # the data disks kept): a re-kickstarted node. The scenario gives it a new machine-id.
  local fresh; fresh=" $(sed -n 's/^# fresh-root: *//p' "$f" | head -1) "
  for b in $(seq 1 "$boots"); do
    if [[ $fresh == *" $b "* ]] && [ -n "$rootfs" ]; then cp --sparse=always "$G/rootfs.img" "$rootfs"; fi
    # Progress on run.sh's stderr, boot by boot (the demo shows it while the guest runs).
    tb=$(date +%s); echo "$s: boot $b of $boots starting (a TCG boot takes about a minute)" >&3
    APPEND="swarmnode.boot=$b" TAP=$tap NETNS=$netns ROOTFS=$rootfs SMP=$SMP vm-tests/run-guest.sh "$G" "$P" "$R" "${disks[@]}" >>"$R/qemu.log" 2>&1
    echo "$s: boot $b of $boots ended after $(( $(date +%s) - tb )) s: $(grep -c '^PASS ' "$R/results.log" 2>/dev/null || true) checks passed, $(grep -c '^FAIL ' "$R/results.log" 2>/dev/null || true) failed" >&3
    [ -f "$R/results.log" ] && mv "$R/results.log" "$R/results-boot$b.log"
    [ -f "$R/serial.log" ] && mv "$R/serial.log" "$R/serial-boot$b.log"
  done
  if [ -n "$broker" ]; then
    PSW_ROOT=$BROKER_BED swarm-tests/broker-manager.sh node-ls > "$R/manager-node-ls.txt" 2>&1
    PSW_ROOT=$BROKER_BED swarm-tests/broker-manager.sh down >> "$R/fixture.log" 2>&1
  elif [ -n "$tap" ]; then
    docker -H "unix://$R/psw/n1/docker.sock" node ls > "$R/manager-node-ls.txt" 2>&1
    PSW_ROOT=$R/psw swarm-tests/fixture.sh down >> "$R/fixture.log" 2>&1
  fi
  cat "$R"/results-boot*.log > "$R/results.log" 2>/dev/null
  cat "$R"/serial-boot*.log > "$R/serial.log" 2>/dev/null
  grep -E '^(PASS|FAIL|FIGURE) ' "$R/results.log" 2>/dev/null
  p=$(grep -c '^PASS ' "$R/results.log" 2>/dev/null); p=${p:-0}
  m=$(grep -c '^FAIL ' "$R/results.log" 2>/dev/null); m=${m:-0}
  if [ "$(grep -c '^SCENARIO-END' "$R/results.log" 2>/dev/null)" != "$boots" ]; then
    echo "FAIL $s: the guest did not finish the scenario (serial log: $R/serial.log)"; m=$((m+1))
    tail -20 "$R/serial.log" 2>/dev/null
  fi
  echo "scenario $s ($suite): $p passed, $m failed in $(( $(date +%s) - t )) s (log: $R/results.log)"
  rm -rf "$P"; rm -f "$R/rootfs.img"
}

# A swarm manager for a guest to join: one engine (swarm-tests/fixture.sh), swarm init, its client
# certificate and CA digest in the payload, and a tap device on its bridge for the guest.
manager_up() {
  local R=$1 P=$2 sock=$1/psw/n1/docker.sock
  PSW_ROOT=$R/psw swarm-tests/fixture.sh down > "$R/fixture.log" 2>&1
  PSW_ROOT=$R/psw swarm-tests/fixture.sh up 1 >> "$R/fixture.log" 2>&1 || return 1
  docker -H "unix://$sock" swarm init --advertise-addr 10.77.0.1 >> "$R/fixture.log" 2>&1 || return 1
  mkdir -p "$P/pki"; cp "$R/psw/pki/ca.pem" "$R/psw/pki/cert.pem" "$R/psw/pki/key.pem" "$P/pki/"
  docker -H "unix://$sock" swarm ca | sha256sum | cut -d' ' -f1 > "$P/ca-hash"
  ip -n psw-br tuntap add dev swtap0 mode tap && ip -n psw-br link set swtap0 master psw-br0 up
}

# The site's profile and its package, as docs/kickstart.md has a site make them, in the payload:
# site-profile.json (the shipped dccn-production.json with this manager, its CA pinned, a short
# join timeout for the test); the site's RPM, built from RPM's artefacts with that profile as
# profiles/node.json; and its signed repository (packaging/repo-lib.sh): repo/ (the guest reads
# it as file:///payload/repo/), RPM-GPG-KEY-swarmnode, repo-fingerprint, and el-base.rpm (what
# EL's %packages installs, as names only: the package's requirements).
signed_repo() {
  local P=$1 rpm=$2 rc art top
  art=$(dirname "$rpm"); top=$(mktemp -d)
  jq --arg ca "sha256:$(cat "$P/ca-hash")" '.swarm.managers = ["10.77.0.1:2377"]
      | .swarm.ca_hash = $ca | .swarm.join_timeout_seconds = 30' \
    profiles/dccn-production.json > "$P/site-profile.json" || return 1
  . packaging/rpm-lib.sh
  rpm_sources "$art" "$top" && cp "$P/site-profile.json" "$top/SOURCES/profiles/node.json" &&
    rpm_build "$top" > /dev/null || { rm -rf "$top"; return 1; }
  export GNUPGHOME; GNUPGHOME=$(mktemp -d)
  (
    . packaging/repo-lib.sh
    repo_key site "$P" && mv "$P/site.asc" "$P/RPM-GPG-KEY-swarmnode" &&
      repo_fpr site > "$P/repo-fingerprint" && repo_make "$P/repo" "$(ls "$top"/RPMS/x86_64/swarmnode-*.rpm)" site &&
      cp "$(repo_el_base "$GNUPGHOME/base")" "$P/el-base.rpm"
  ); rc=$?
  gpgconf --kill all; rm -rf "$GNUPGHOME" "$top"; unset GNUPGHOME
  return $rc
}
# The broker's manager bed: under /var/lib, as sshd refuses an AuthorizedKeysCommand under /tmp.
BROKER_BED=/var/lib/swarmnode-psw-vm
broker_manager_up() {
  local R=$1 P=$2 B=$BROKER_BED rpm
  rpm=$(rpm_file) || return 1
  SWARMNODE_RPM=$rpm PSW_ROOT=$B swarm-tests/broker-manager.sh up "$R/manager" > "$R/fixture.log" 2>&1 || return 1
  cp "$R/manager/boot/bootstrap.ks" "$P/bootstrap.ks"
  mkdir -p "$P/pki"; cp "$B/pki/ca.pem" "$B/pki/cert.pem" "$B/pki/key.pem" "$P/pki/"
  docker -H "unix://$B/n1/docker.sock" swarm ca | sha256sum | cut -d' ' -f1 > "$P/ca-hash"
  signed_repo "$P" "$rpm" >> "$R/fixture.log" 2>&1 || return 1
  ip -n psw-br tuntap add dev swtap0 mode tap && ip -n psw-br link set swtap0 master psw-br0 up
}

# Guests are single-threaded work in TCG: JOBS guests of SMP vCPUs each share the host's cores.
JOBS=${JOBS:-$(nproc)}; SMP=${SMP:-1}
KEY=$(cat vm-tests/build-guest.sh | sha256sum | cut -c1-16)
for s in "${scenarios[@]}"; do
  suite=$(sed -n 's/^# guest: *//p' "vm-tests/scenarios/$s.sh" 2>/dev/null | head -1)
  guest "${suite:-bookworm}" >/dev/null || exit 1
done
mkdir -p "$RESULTS"
running=0
for s in "${scenarios[@]}"; do
  if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running-1)); fi
  run_one "$s" &
  running=$((running+1))
done
wait
passed=0; failed=0
for s in "${scenarios[@]}"; do
  cat "$RESULTS/$s/out.txt"
  p=$(grep -c '^PASS ' "$RESULTS/$s/out.txt"); m=$(grep -c '^FAIL ' "$RESULTS/$s/out.txt")
  passed=$((passed+p)); failed=$((failed+m))
done
echo "vm-tests wall time: $(( $(date +%s) - T0 )) s ($JOBS guests at a time, $SMP vCPU each)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
