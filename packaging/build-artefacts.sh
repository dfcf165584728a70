#!/bin/bash
# Every release artefact in one folder (default target/artefacts):
#   swarmnode            the static release binary (x86_64, -C target-feature=+crt-static)
#   swarmnode.sha256     its sum, the line to paste into kickstart/post.ks
#   man/ completions/    made by `swarmnode generate` from the command line's definition
#   systemd/             the packaged first-boot unit
#   profiles/            the ready profiles (what the curl kickstart fetches)
#   swarmnode-VERSION-1.x86_64.rpm  built with rpmbuild from packaging/swarmnode.spec; rpmlint
#                        must report no errors (packaging/rpmlint.toml: what is filtered, and why)
# Needs: cargo with the x86_64-unknown-linux-gnu target, file, rpmbuild and rpmlint (Debian's rpm
# and rpmlint packages); .ci/setup-host installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${1:-target/artefacts}")
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
# Made again each time, but only a folder of earlier artefacts (or an empty one) is removed.
if [ -d "$OUT" ] && [ -n "$(ls -A "$OUT")" ] && [ ! -f "$OUT/swarmnode.sha256" ]; then
  echo "build-artefacts: $OUT is not empty and holds no earlier artefacts (swarmnode.sha256): not removed" >&2
  exit 1
fi
rm -rf "$OUT"; mkdir -p "$OUT"
RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release --target x86_64-unknown-linux-gnu
BIN=target/x86_64-unknown-linux-gnu/release/swarmnode
file "$BIN" | grep -Eq 'static(-pie)? ?linked|statically linked' || { echo "build-artefacts: $BIN is not static" >&2; exit 1; }
install -m 0755 "$BIN" "$OUT/swarmnode"
(cd "$OUT" && sha256sum swarmnode > swarmnode.sha256)
"$OUT/swarmnode" generate --out "$OUT"
mkdir -p "$OUT/profiles"; cp profiles/*.json "$OUT/profiles/"
TOP=$(mktemp -d); trap 'rm -rf "$TOP"' EXIT
. packaging/rpm-lib.sh
rpm_sources "$OUT" "$TOP"
RPM=$(rpm_build "$TOP")
cp "$RPM" "$OUT/"
(cd "$OUT" && sha256sum "swarmnode-$VERSION-1.x86_64.rpm" >> swarmnode.sha256)
echo "== rpmlint"
rpmlint -c packaging/rpmlint.toml "$OUT/swarmnode-$VERSION-1.x86_64.rpm" | tee "$OUT/rpmlint.txt"
grep -Eq '^ *[0-9]+ packages and [0-9]+ specfiles checked; 0 errors' "$OUT/rpmlint.txt" ||
  { echo "build-artefacts: rpmlint reports errors" >&2; exit 1; }
echo "== artefacts in $OUT"
ls -l "$OUT"
