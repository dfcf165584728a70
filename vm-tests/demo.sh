#!/bin/bash
# See it work: the whole node as the shipped kickstart and profile build it, in a throw-away QEMU
# guest (real kernel, systemd, LVM, docker 26 on overlay2, NFS) with a blank data disk, and a real
# swarm manager in a network namespace on the guest's network, set up from the RPM as
# docs/managers.md says (the broker, a bootstrap key pasted into the kickstart). Boot 1 runs
# kickstart/post.ks (swarmnode apply, offline); boot 2 is the first boot with the manager cut off:
# the unit fails (69) and writes no stamp; boot 3 runs it again and it finishes the node, joins it
# and enrols its own key; boot 4 does nothing; boot 5 kickstarts it again (a new system disk, the
# used data disk kept): %post makes its volume again; boot 6 finishes it as a new node.
# Shows each boot as it starts and ends, then the %post log, the first-boot journal, the manager's
# node list and every check. Needs root; installs what it needs (and builds the release artefacts
# when there are none); about 12 minutes, plus 2 the first time (the guest image).
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/setup-host
R=${RESULTS:-$PWD/target/vm-results}
echo "the guest boots six times; each boot is shown as it starts and ends"
RESULTS=$R vm-tests/run.sh kickstart-firstboot >/dev/null || true
D=$R/kickstart-firstboot
echo "=== boot 5: the re-kickstart's %post runs kickstart/post.ks on the used data disk: swarmnode apply --device ... --reprovision (offline; boot 1's %post is in $D/results-boot1.log)"
cat "$D/swarmnode-post.log" 2>/dev/null || echo "(no %post log: see $D/serial.log)"
echo
echo "=== boot 2: swarmnode-firstboot.service with the manager cut off (journal, the swarm step)"
grep -E '^(swarm|Starting|Finished|swarmnode)|Failed' "$D/swarmnode-firstboot-failed.log" 2>/dev/null || true
echo
echo "=== boot 6: swarmnode-firstboot.service after the re-kickstart (journal; boot 3's is in $D/results-boot3.log)"
cat "$D/swarmnode-firstboot.log" 2>/dev/null || echo "(no first-boot log: see $D/serial.log)"
echo
echo "=== the manager's view: docker node ls on 10.77.0.1"
cat "$D/manager-node-ls.txt" 2>/dev/null || true
echo
echo "=== checks (boots 1 to 6)"
grep -E '^(PASS|FAIL|FIGURE) ' "$D/results.log" 2>/dev/null || echo "FAIL: the guest wrote no results (see $D/serial.log)"
! grep -q '^FAIL ' "$D/out.txt"
