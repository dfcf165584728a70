# Reset with a second data disk that carries another installation's swarmnode volume group of
# the same name (a data disk moved in from a dead node, a disk put back in the wrong slot): its
# VG `docker`, thin pool and a thin volume holding a file were made by swarmnode itself on
# another machine-id, with LVM shown that disk only (LVM_SYSTEM_DIR, a config accepting one
# disk); then this node was provisioned on the first disk the same way. `reset --yes` removes
# this node's VG, its PV and label, every LVM command restricted to its disk, and names the
# other as not this node's; the second disk is byte-identical (first and last MiB, blkid,
# wipefs, its volumes and tags) and its file is still there.
# guest: bookworm
# disks: 4G 4G
D=$(data 1); DEV=$(readlink -f "$D"); D2=$(data 2); DEV2=$(readlink -f "$D2")
MINE=$(cat /etc/machine-id); OTHER=0123456789abcdef0123456789abcdef
systemctl stop docker docker.socket >/dev/null 2>&1
# An LVM configuration that sees one disk only (the profile directory kept where swarmnode writes).
only() {
  mkdir -p "/run/lvm-$1"
  printf 'config {\n\tprofile_dir = "/etc/lvm/profile"\n}\ndevices {\n\tglobal_filter = [ "a|^%s$|", "r|.*|" ]\n}\n' "$2" > "/run/lvm-$1/lvm.conf"
}
only 1 "$DEV"; only 2 "$DEV2"
on2() { LVM_SYSTEM_DIR=/run/lvm-2 "$@"; }
# The other installation, on disk 2: swarmnode with machine-id OTHER, then a file in its pool.
echo "$OTHER" > /etc/machine-id
expect_rc 0 "another installation (machine-id $OTHER) makes its pool on disk 2" on2 $S storage --device "$D2" --driver devicemapper
on2 lvcreate -q -y -V 64M -T docker/thinpool -n theirs >/dev/null && mkfs.ext4 -q /dev/docker/theirs &&
  mkdir -p /mnt/theirs && mount /dev/docker/theirs /mnt/theirs && echo "their data" > /mnt/theirs/file && umount /mnt/theirs
check "disk 2: their VG, tagged with their machine-id, their file in a thin volume" sh -c "on2() { LVM_SYSTEM_DIR=/run/lvm-2 \"\$@\"; }; on2 vgs --noheadings -o vg_tags docker | grep -q swarmnode-machine-$OTHER"
on2 vgchange -q -an docker >/dev/null
rm -rf /var/lib/swarmnode /etc/lvm/profile/docker-thinpool.profile
# This installation, on disk 1, the same way (LVM shown disk 1 only: no VG named docker yet).
echo "$MINE" > /etc/machine-id
expect_rc 0 "this node makes its pool on disk 1" env LVM_SYSTEM_DIR=/run/lvm-1 $S storage --device "$D" --driver devicemapper
# Both disks seen: two VGs named docker.
echo "LVM with both disks:"; vgs -o vg_name,vg_uuid,pv_count,vg_tags 2>&1; pvs 2>&1
disk2() {
  fingerprint "$D2"
  wipefs -n "$DEV2"
  on2 lvs -a --noheadings -o vg_name,vg_uuid,lv_name,lv_attr,lv_size,lv_tags,vg_tags,vg_seqno docker 2>&1 | awk '{$1=$1; print}' | sort
}
before=$(disk2); echo "$before"
$S reset > /run/reset-plan.log 2>&1; rc=$?; cat /run/reset-plan.log
check "reset alone: exit 0 (got $rc)" [ $rc = 0 ]
check "reset alone: names the other installation's VG as not this node's, kept" grep -q "volume group docker on $DEV2: not this node's (it is not on the recorded device $D): kept" /run/reset-plan.log
check "reset alone: plans this node's removal with LVM seeing its disk only" grep -q "lvremove -y --devices $DEV docker/thinpool" /run/reset-plan.log
check "reset alone: nothing changed on disk 2" [ "$before" = "$(disk2)" ]
$S -v reset --yes > /run/reset.log 2>&1; rc=$?; grep -v DEBUG /run/reset.log
check "reset --yes: exit 0 (got $rc)" [ $rc = 0 ]
check "reset --yes: every LVM change named disk 1 only" sh -c "grep ' run cmd=' /run/reset.log | grep -E 'cmd=(lvremove|vgremove|pvremove)' | grep -v -- '--devices $DEV ' | grep -q . && exit 1; grep -q 'cmd=vgremove -y --devices $DEV docker' /run/reset.log"
after=$(disk2)
if [ "$before" = "$after" ]; then pass "disk 2 is byte-identical: first and last MiB, blkid, wipefs, its volumes and tags"
else fail "disk 2 changed:"; diff <(echo "$before") <(echo "$after"); fi
check "disk 1: no VG, no PV, no signature left" sh -c "[ -z \"\$(LVM_SYSTEM_DIR=/run/lvm-1 pvs --noheadings 2>/dev/null)\" ] && [ -z \"\$(wipefs -n $DEV)\" ]"
check "no storage record left" [ ! -e /var/lib/swarmnode/storage.json ]
on2 vgchange -q -ay docker >/dev/null
check "their file is still in their thin volume" sh -c "mount -o ro /dev/docker/theirs /mnt/theirs && grep -qx 'their data' /mnt/theirs/file; r=\$?; umount /mnt/theirs; exit \$r"
$S reset --yes > /run/reset2.log 2>&1; rc=$?; cat /run/reset2.log
check "a second reset: exit 0, nothing to do, disk 2 still as it was (got $rc)" sh -c "[ $rc = 0 ] && ! grep -qE 'lvremove|vgremove|pvremove' /run/reset2.log"
