# Reset with a second data disk that carries another installation's swarmnode volume group of
# the same name (a data disk moved in from a dead node, a disk put back in the wrong slot): its
# VG `docker` and XFS volume (overlay2: that node's whole /var/lib/docker), holding a file, were
# made by swarmnode itself under another machine-id, with LVM shown that disk only
# (LVM_SYSTEM_DIR: a configuration accepting one disk); then this node was provisioned on the
# first disk (devicemapper) the same way.
#  A. Both VGs named docker: `reset --yes` removes this node's VG, its PV and label, every LVM
#     command restricted to its disk, and names the other as not this node's; the second disk is
#     byte-identical (first and last MiB, blkid, wipefs, its volumes, tags and seqno), its file
#     still there.
#  B. Only the other's VG left (this node's record put back, its disk blank): nothing of the
#     second disk is touched either.
# about: 89 s
# guest: bookworm
# disks: 4G 4G
D=$(data 1); DEV=$(readlink -f "$D"); D2=$(data 2); DEV2=$(readlink -f "$D2")
MINE=$(cat /etc/machine-id); OTHER=0123456789abcdef0123456789abcdef
systemctl stop docker docker.socket >/dev/null 2>&1
rm -rf /var/lib/docker && mkdir -p /var/lib/docker
# An LVM configuration that sees one disk only (the profile directory kept where swarmnode writes).
only() {
  mkdir -p "/run/lvm-$1"
  printf 'config {\n\tprofile_dir = "/etc/lvm/profile"\n}\ndevices {\n\tglobal_filter = [ "a|^%s$|", "r|.*|" ]\n}\n' "$2" > "/run/lvm-$1/lvm.conf"
}
only 1 "$DEV"; only 2 "$DEV2"
on2() { LVM_SYSTEM_DIR=/run/lvm-2 "$@"; }
# The other installation, on disk 2: swarmnode (overlay2) with machine-id OTHER, a file in its volume.
echo "$OTHER" > /etc/machine-id
expect_rc 0 "another installation (machine-id $OTHER) makes its overlay2 volume on disk 2" on2 $S storage --device "$D2" --driver overlay2
echo "their data" > /var/lib/docker/their-file
check "disk 2: their VG, tagged with their machine-id, their file in their volume" sh -c "LVM_SYSTEM_DIR=/run/lvm-2 vgs --noheadings -o vg_tags docker | grep -q swarmnode-machine-$OTHER && grep -qx 'their data' /var/lib/docker/their-file"
umount /var/lib/docker; sed -i '\#/var/lib/docker#d' /etc/fstab
on2 vgchange -q -an docker >/dev/null
rm -rf /var/lib/swarmnode
# This installation, on disk 1 (LVM shown disk 1 only: no VG named docker there yet).
echo "$MINE" > /etc/machine-id
expect_rc 0 "this node makes its thin pool on disk 1" env LVM_SYSTEM_DIR=/run/lvm-1 $S storage --device "$D" --driver devicemapper
cp /var/lib/swarmnode/storage.json /run/storage.json.mine
echo "LVM with both disks:"; vgs -o vg_name,vg_uuid,pv_count,vg_tags 2>&1; pvs 2>&1
disk2() {
  fingerprint "$D2"
  wipefs -n "$DEV2"
  on2 lvs -a --noheadings -o vg_name,vg_uuid,lv_name,lv_attr,lv_size,lv_tags,vg_tags,vg_seqno docker 2>&1 | awk '{$1=$1; print}' | sort
}
their_file() {
  on2 vgchange -q -ay docker >/dev/null && mkdir -p /mnt/theirs && mount -o ro /dev/docker/dockerdata /mnt/theirs &&
    grep -qx 'their data' /mnt/theirs/their-file; local r=$?
  umount /mnt/theirs 2>/dev/null; on2 vgchange -q -an docker >/dev/null; return $r
}
before=$(disk2); echo "$before"
# A. both VGs of one name
$S reset > /run/reset-plan.log 2>&1; rc=$?; cat /run/reset-plan.log
check "A. reset alone: exit 0 (got $rc)" [ $rc = 0 ]
check "A. reset alone: names the other installation's VG as not this node's, kept" grep -q "volume group docker on $DEV2: not this node's (it is not on the recorded device $D): kept" /run/reset-plan.log
check "A. reset alone: plans this node's removal with LVM seeing its disk only" grep -q "lvremove -y --devices $DEV docker/thinpool" /run/reset-plan.log
check "A. reset alone: nothing changed on disk 2" [ "$before" = "$(disk2)" ]
$S -v reset --yes > /run/reset.log 2>&1; rc=$?; grep -v DEBUG /run/reset.log
check "A. reset --yes: exit 0 (got $rc)" [ $rc = 0 ]
check "A. reset --yes: every LVM change named disk 1 only" sh -c "grep ' run cmd=' /run/reset.log | grep -E 'cmd=(lvremove|vgremove|pvremove)' | grep -v -- '--devices $DEV ' | grep -q . && exit 1; grep -q 'cmd=vgremove -y --devices $DEV docker' /run/reset.log"
after=$(disk2)
if [ "$before" = "$after" ]; then pass "A. disk 2 is byte-identical: first and last MiB, blkid, wipefs, its volumes, tags and seqno"
else fail "A. disk 2 changed:"; diff <(echo "$before") <(echo "$after"); fi
check "A. disk 1: no VG, no PV, no signature left" sh -c "[ -z \"\$(LVM_SYSTEM_DIR=/run/lvm-1 pvs --noheadings 2>/dev/null)\" ] && [ -z \"\$(wipefs -n $DEV)\" ]"
check "A. no storage record left" [ ! -e /var/lib/swarmnode/storage.json ]
check "A. their file is still in their volume" their_file
# B. only the other installation's VG named docker, this node's record back
cp /run/storage.json.mine /var/lib/swarmnode/storage.json
before=$(disk2)
$S -v reset --yes > /run/reset-b.log 2>&1; rc=$?; grep -v DEBUG /run/reset-b.log
check "B. reset --yes: exit 0 (got $rc)" [ $rc = 0 ]
check "B. names the only VG docker (on disk 2) as not this node's, kept" grep -q "volume group docker on $DEV2: not this node's (it is not on the recorded device $D): kept" /run/reset-b.log
check "B. no LVM change at all" sh -c "! grep ' run cmd=' /run/reset-b.log | grep -qE 'cmd=(lvremove|vgremove|pvremove|wipefs)'"
after=$(disk2)
if [ "$before" = "$after" ]; then pass "B. disk 2 is byte-identical"
else fail "B. disk 2 changed:"; diff <(echo "$before") <(echo "$after"); fi
check "B. their file is still in their volume" their_file
$S reset --yes > /run/reset2.log 2>&1; rc=$?; cat /run/reset2.log
check "a further reset: exit 0, nothing to do (got $rc)" sh -c "[ $rc = 0 ] && ! grep -qE 'lvremove|vgremove|pvremove' /run/reset2.log"
