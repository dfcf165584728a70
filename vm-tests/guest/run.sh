#!/bin/bash
# Runs inside the guest (probe-runner.service → /payload/run.sh): one scenario, then results to the
# RESULT disk as a tar, then a poweroff.
exec > /run/results.log 2>&1
systemctl is-system-running --wait >/dev/null
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Which boot of the scenario this is (the root disk persists between boots of a "# boots: N" scenario).
# The boot number from the kernel command line (a fresh root forgets), else counted on the root.
BOOT=$(sed -n 's/.*swarmnode\.boot=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$BOOT" ] || BOOT=$(( $(cat /var/lib/vmtest-boot 2>/dev/null || echo 0) + 1 ))
echo "$BOOT" > /var/lib/vmtest-boot; sync
BOOTS=$(cat /payload/boots 2>/dev/null || echo 1)
echo "SCENARIO-START $(cat /payload/name) boot $BOOT of $BOOTS uptime=$(cut -d' ' -f1 /proc/uptime)"
source /payload/lib.sh
source /payload/scenario.sh
echo "SCENARIO-END $(cat /payload/name) uptime=$(cut -d' ' -f1 /proc/uptime)"
tar -cf /dev/disk/by-id/virtio-RESULT -C /run results.log $(cd /run && ls -d swarmnode-*.log 2>/dev/null)
sync
# A throw-away root needs no clean shutdown; a root that boots again does.
if [ "$BOOT" -lt "$BOOTS" ]; then systemctl poweroff; else systemctl poweroff -ff; fi
