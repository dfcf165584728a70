#!/bin/bash
# Boot the guest under TCG with a throw-away root (snapshot=on), the payload directory as a read-only
# disk (/payload), one or more data disks and a result disk the guest writes a tar onto.
# Usage: run-guest.sh GUESTDIR PAYLOADDIR RESULTDIR [DATADISK...]
#   each DATADISK is a raw file (created 4 GiB sparse when missing), FILE:ro for a read-only disk;
#   serials DATA1, DATA2, ...
#   (/dev/disk/by-id/virtio-DATA1 ...). Without any, one blank 4 GiB disk is made.
# Env: TIMEOUT (s, default 900), APPEND (extra kernel args), MEM (MiB, default 2048), SMP (default 2),
#      ROOTFS (a writable root image to boot instead of a throw-away snapshot of GUESTDIR/rootfs.img),
#      TAP + NETNS (a network card on the existing tap device TAP; qemu runs in network namespace NETNS).
set -euo pipefail
G=$1; P=$2; RES=$3; shift 3
W=$(mktemp -d "${TMPDIR:-/tmp}/swarmnode-guest.XXXX")
trap 'rm -rf "$W"' EXIT
mke2fs -q -t ext4 -L PAYLOAD -d "$P" "$W/payload.img" 256M
disks=("$@")
[ ${#disks[@]} -gt 0 ] || disks=("$W/data.raw")
drives=()
n=0
for d in "${disks[@]}"; do
  n=$((n+1))
  ro=""; if [[ $d == *:ro ]]; then d=${d%:ro}; ro=",readonly=on"; fi
  [ -e "$d" ] || truncate -s 4G "$d"
  drives+=(-drive "file=$d,if=none,id=data$n,format=raw$ro" -device "virtio-blk-pci,drive=data$n,serial=DATA$n")
done
truncate -s 64M "$W/result.raw"
if [ -n "${ROOTFS:-}" ]; then ROOTDRIVE="file=$ROOTFS,if=none,id=root,format=raw"
else ROOTDRIVE="file=$G/rootfs.img,if=none,id=root,format=raw,snapshot=on"; fi
net=(); wrap=()
if [ -n "${TAP:-}" ]; then
  net=(-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" -device "virtio-net-pci,netdev=n0,mac=52:54:00:77:00:32")
  wrap=(ip netns exec "$NETNS")
fi
rc=0
"${wrap[@]}" timeout "${TIMEOUT:-900}" qemu-system-x86_64 -accel tcg -m "${MEM:-2048}" -smp "${SMP:-2}" -no-reboot -display none -monitor none \
  -serial "file:$W/serial.log" \
  -kernel "$G/vmlinuz" -initrd "$G/initrd.img" \
  -append "console=ttyS0 root=/dev/vda rw panic=-1 apparmor=0 systemd.unit=probe.target ${APPEND:-}" \
  -drive "$ROOTDRIVE" -device virtio-blk-pci,drive=root,serial=ROOT \
  "${drives[@]}" \
  -drive "file=$W/payload.img,if=none,id=pay,format=raw,readonly=on" -device virtio-blk-pci,drive=pay,serial=PAYLOAD \
  -drive "file=$W/result.raw,if=none,id=res,format=raw" -device virtio-blk-pci,drive=res,serial=RESULT \
  "${net[@]}" || rc=$?
mkdir -p "$RES"; cp "$W/serial.log" "$RES/"
tar -xf "$W/result.raw" -C "$RES" 2>/dev/null || echo "no result tar written (see $RES/serial.log)" >&2
exit $rc
