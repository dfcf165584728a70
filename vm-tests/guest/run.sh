#!/bin/bash
# Runs inside the guest (probe-runner.service → /payload/run.sh): one scenario, then results to the
# RESULT disk as a tar, then a fast poweroff (the root disk is a throw-away snapshot).
exec > /run/results.log 2>&1
systemctl is-system-running --wait >/dev/null
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
echo "SCENARIO-START $(cat /payload/name) uptime=$(cut -d' ' -f1 /proc/uptime)"
source /payload/lib.sh
source /payload/scenario.sh
echo "SCENARIO-END $(cat /payload/name) uptime=$(cut -d' ' -f1 /proc/uptime)"
tar -cf /dev/disk/by-id/virtio-RESULT -C /run results.log $(cd /run && ls -d swarmnode-*.log 2>/dev/null)
sync
systemctl poweroff -ff
