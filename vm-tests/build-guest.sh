#!/bin/bash
# Build the Debian guest used by the real-kernel tests: systemd, udev, lvm2, thin-provisioning-tools,
# docker.io, xfsprogs, nfs. Output in OUT: rootfs.img (ext4, sparse), vmlinuz, initrd.img, modules.tar.
# The guest runs /payload/run.sh (from a read-only disk labelled PAYLOAD) when booted with
# systemd.unit=probe.target, then powers off. Needs root, debootstrap and mke2fs (-d: no mount needed).
# Adapted from shared/reference/vm/build-guest.sh (verified recipe).
#   SUITE=bookworm (default): docker.io 20.10 (still has devicemapper), kernel 6.1.
#   SUITE=trixie KERNEL_FROM=<a bookworm guest dir>: docker.io 26 (devicemapper removed), lvm2 2.03.31,
#     booted with the bookworm 6.1 kernel and its modules (trixie's 6.12 kernel oopses or hangs under
#     this qemu 7.2 with TCG; see shared/reference/README.md).
set -euo pipefail
OUT=${1:?usage: build-guest.sh OUTDIR}
SUITE=${SUITE:-bookworm}
# MIRROR: a Debian mirror URL; unset, debootstrap uses its default.
MIRROR=${MIRROR:-}
# trixie splits the docker CLI out of docker.io; it also gets rpm, dnf and gnupg (the packaged
# node: kickstart-firstboot runs the repository kickstart's %post, dnf and all)
case $SUITE in bookworm) extra="" ;; *) extra=",docker-cli,rpm,dnf,gnupg" ;; esac
mkdir -p "$OUT"; R="$OUT/rootfs"
rm -rf "$R"
debootstrap --variant=minbase --arch=amd64 \
  --include=systemd-sysv,udev,kmod,dbus,lvm2,thin-provisioning-tools,docker.io,nfs-common,nfs-kernel-server,iproute2,iptables,procps,e2fsprogs,xfsprogs,util-linux,fdisk,curl,file,jq,openssh-client,linux-image-cloud-amd64$extra \
  "$SUITE" "$R" ${MIRROR:+"$MIRROR"} >"$OUT/debootstrap.log" 2>&1
cat >"$R/etc/fstab" <<'FSTAB'
/dev/vda / ext4 defaults,errors=remount-ro 0 1
LABEL=PAYLOAD /payload ext4 ro,nofail,x-systemd.device-timeout=90s 0 2
FSTAB
mkdir -p "$R/payload"
echo guest >"$R/etc/hostname"
cat >"$R/etc/systemd/system/probe.target" <<'UNIT'
[Unit]
Description=Run the test payload
Requires=multi-user.target
After=multi-user.target
AllowIsolate=yes
UNIT
cat >"$R/etc/systemd/system/probe-runner.service" <<'UNIT'
[Unit]
Description=Test payload runner
After=multi-user.target
RequiresMountsFor=/payload
ConditionPathExists=/payload/run.sh
SuccessAction=poweroff
FailureAction=poweroff
[Service]
Type=simple
ExecStart=/payload/run.sh
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity
[Install]
WantedBy=probe.target
UNIT
chroot "$R" passwd -d root >/dev/null
chroot "$R" systemctl enable probe-runner.service >/dev/null 2>&1
chroot "$R" systemctl disable docker.service docker.socket containerd.service >/dev/null 2>&1 || true
chroot "$R" systemctl set-default multi-user.target >/dev/null 2>&1
rm -f "$R"/var/cache/apt/archives/*.deb
rm -rf "$R"/var/lib/apt/lists/*
if [ -n "${KERNEL_FROM:-}" ]; then
  tar -xf "$KERNEL_FROM/modules.tar" -C "$R"
  cp "$KERNEL_FROM/vmlinuz" "$KERNEL_FROM/initrd.img" "$OUT/"
else
  cp "$R"/boot/vmlinuz-* "$OUT/vmlinuz"
  cp "$R"/boot/initrd.img-* "$OUT/initrd.img"
  tar -cf "$OUT/modules.tar" -C "$R" lib/modules
fi
rm -f "$OUT/rootfs.img"
mke2fs -q -t ext4 -L rootfs -d "$R" "$OUT/rootfs.img" 3G
rm -rf "$R"
ls -la "$OUT"
