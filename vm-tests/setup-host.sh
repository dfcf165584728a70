#!/bin/bash
# Installs what the tests need on a fresh Debian machine (as root): QEMU, debootstrap, the tools the
# fake-root tests use, and the Rust target for the static binary.
set -euo pipefail
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v mke2fs >/dev/null || need+=(e2fsprogs)
command -v file >/dev/null || need+=(file)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-gnu || rustup target add x86_64-unknown-linux-gnu
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
