#!/bin/bash
# Real-kernel tests: builds (or reuses) the guest image and the static swarmnode, then boots one
# guest per scenario and collects its PASS/FAIL lines. Ends with "N passed, M failed".
#   vm-tests/run.sh                 every scenario in vm-tests/scenarios/
#   vm-tests/run.sh devicemapper    one scenario (file name without .sh)
# Env: SWARMNODE_VM_CACHE (guest image cache, default /var/cache/swarmnode-vm),
#      SWARMNODE_BIN (use this binary instead of building), KEEP=1 (keep result dirs).
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

BIN=$(binary) || exit 1
file "$BIN" | grep -q 'static' || { echo "$BIN is not statically linked" >&2; exit 1; }

scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  for f in vm-tests/scenarios/*.sh; do scenarios+=("$(basename "$f" .sh)"); done
fi

passed=0; failed=0
mkdir -p "$RESULTS"
for s in "${scenarios[@]}"; do
  f=vm-tests/scenarios/$s.sh
  [ -f "$f" ] || { echo "FAIL $s: no such scenario $f"; failed=$((failed+1)); continue; }
  P=$(mktemp -d); R=$RESULTS/$s; rm -rf "$R"; mkdir -p "$R"
  cp "$BIN" "$P/swarmnode"; cp vm-tests/guest/run.sh vm-tests/guest/lib.sh vm-tests/seed-thinpool.sh "$P/"
  cp "$f" "$P/scenario.sh"; echo "$s" > "$P/name"; cp -r profiles "$P/profiles"; cp -r vm-tests/scenarios "$P/scenarios"
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
  G=$(guest "$suite") || { echo "FAIL $s: no $suite guest image"; failed=$((failed+1)); continue; }
  echo "scenario $s: $suite guest $G" >&2
  # "# boots: N": the same root (a writable copy) and disks booted N times; $BOOT tells which.
  boots=$(sed -n 's/^# boots: *//p' "$f" | head -1); boots=${boots:-1}
  echo "$boots" > "$P/boots"
  rootfs=""
  if [ "$boots" -gt 1 ]; then rootfs=$R/rootfs.img; cp --sparse=always "$G/rootfs.img" "$rootfs"; fi
  t=$(date +%s)
  for b in $(seq 1 "$boots"); do
    ROOTFS=$rootfs vm-tests/run-guest.sh "$G" "$P" "$R" "${disks[@]}" >>"$R/qemu.log" 2>&1
    [ -f "$R/results.log" ] && mv "$R/results.log" "$R/results-boot$b.log"
    [ -f "$R/serial.log" ] && mv "$R/serial.log" "$R/serial-boot$b.log"
  done
  cat "$R"/results-boot*.log > "$R/results.log" 2>/dev/null
  cat "$R"/serial-boot*.log > "$R/serial.log" 2>/dev/null
  grep -E '^(PASS|FAIL|FIGURE) ' "$R/results.log" 2>/dev/null
  p=$(grep -c '^PASS ' "$R/results.log" 2>/dev/null); p=${p:-0}
  m=$(grep -c '^FAIL ' "$R/results.log" 2>/dev/null); m=${m:-0}
  if [ "$(grep -c '^SCENARIO-END' "$R/results.log" 2>/dev/null)" != "$boots" ]; then
    echo "FAIL $s: the guest did not finish the scenario (serial log: $R/serial.log)"; m=$((m+1))
    tail -20 "$R/serial.log" 2>/dev/null
  fi
  echo "scenario $s: $p passed, $m failed in $(( $(date +%s) - t )) s (log: $R/results.log)"
  passed=$((passed+p)); failed=$((failed+m))
  rm -rf "$P"; rm -f "$R/rootfs.img"
done
echo "vm-tests wall time: $(( $(date +%s) - T0 )) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
