# Reset of an overlay2 node (Docker 26) on a system that uses an LVM devices file as Anaconda writes
# it on EL9 (use_devicesfile=1, system.devices listing only the system's PV; the second disk stands
# for it). apply on the blank data disk: vgcreate adds the disk to the devices file. `reset --yes`:
# the volume unmounted, its fstab line removed, the VG and PV removed, the disk out of the devices
# file: the node as before the first apply (fstab, /etc/docker, /etc/systemd/system, the devices
# file, the disk's signatures); apply converges again, and a second apply changes nothing.
# about: 117 s
# guest: trixie
# disks: 4G 1G
D=$(data 1); DEV=$(readlink -f "$D"); SYS=$(readlink -f "$(data 2)")
pvcreate -q "$SYS" && vgcreate -q system "$SYS" >/dev/null
sed -i 's/^\(\s*\)# use_devicesfile = 0/\1use_devicesfile = 1/' /etc/lvm/lvm.conf
lvm lvmdevices --adddev "$SYS" >/dev/null 2>&1
check "EL9's devices file: in use, lists only the system's PV" sh -c "[ \"\$(lvmconfig devices/use_devicesfile)\" = use_devicesfile=1 ] && ! grep -q '$DEV' /etc/lvm/devices/system.devices"
systemctl stop docker docker.socket >/dev/null 2>&1
node_state() {
  local dirs="/etc/docker /etc/systemd/system /etc/lvm/profile /etc/fstab"
  find $dirs -path /etc/docker/key.json -prune -o -printf '%p %y %m %l\n' 2>/dev/null | sort
  find $dirs -type f ! -path /etc/docker/key.json -exec sha256sum {} + 2>/dev/null | sort
  grep '^IDTYPE=' /etc/lvm/devices/system.devices | sort
  echo "wipefs: $(wipefs -n "$DEV" 2>&1)"
  echo "blkid: $(blkid -p "$DEV" 2>&1)"
  findmnt -n /var/lib/docker
}
before=$(node_state); echo "$before"

expect_rc 0 "apply on the blank disk (overlay2)" $S apply --device "$D" --driver overlay2
check "vgcreate put the blank disk in the devices file" grep -q "$DEV" /etc/lvm/devices/system.devices
check "docker starts on the volume" timeout 300 systemctl start docker
check "docker's root is the XFS volume" sh -c "findmnt -n -o FSTYPE /var/lib/docker | grep -q xfs"
applied=$(node_state)
$S reset > /run/reset-plan.log 2>&1; rc=$?; cat /run/reset-plan.log
check "reset alone: exit 0 and nothing changed (got $rc)" [ "$rc" = 0 ] && [ "$applied" = "$(node_state)" ]
$S -v reset --yes > /run/reset.log 2>&1; rc=$?; grep -v DEBUG /run/reset.log
check "reset --yes: exit 0 (got $rc)" [ $rc = 0 ]
after=$(node_state)
if [ "$before" = "$after" ]; then pass "reset --yes: the node is as before the first apply (devices file included)"
else fail "reset --yes: the node differs from before the first apply:"; diff <(echo "$before") <(echo "$after"); fi
check "reset --yes: nothing mounted at /var/lib/docker, no VG docker" sh -c "! findmnt /var/lib/docker >/dev/null && ! vgs docker >/dev/null 2>&1"
expect_rc 0 "apply after reset" $S apply --device "$D" --driver overlay2
$S -v apply --device "$D" --driver overlay2 > /run/again.log 2>&1; rc=$?
check "apply again: exit 0, no change (got $rc, $(mutating_in /run/again.log) changes)" [ "$rc:$(mutating_in /run/again.log)" = 0:0 ]
