# Bad disks: each must be refused with exit 65 and left exactly as it was (first and last MiB,
# blkid, marker files). With --wipe, the unused signature cases are accepted and provisioned;
# mounted, swap, held and system disks stay refused.
# about: 96 s
# disks: 4G 4G 4G 4G 4G 512M 4G:ro 4G
EXT4=$(data 1); MOUNTED=$(data 2); SWAP=$(data 3); OTHERPV=$(data 4); PTABLE=$(data 5); SMALL=$(data 6); RO=$(data 7)
BAREPV=$(data 8)
ROOT=/dev/disk/by-id/virtio-ROOT

mkfs.ext4 -q -L precious "$EXT4"; mkdir -p /mnt/x; mount "$EXT4" /mnt/x; echo data > /mnt/x/marker; umount /mnt/x
mkfs.xfs -q -f "$MOUNTED"; mkdir -p /mnt/mounted; mount "$MOUNTED" /mnt/mounted; echo data > /mnt/mounted/marker
mkswap -q "$SWAP" >/dev/null; swapon "$SWAP"
pvcreate -q "$OTHERPV"; vgcreate -q other "$OTHERPV"; lvcreate -q -y -n keep -l 50%VG other; mkfs.ext4 -q /dev/other/keep
mount /dev/other/keep /mnt/x; echo data > /mnt/x/marker; umount /mnt/x
printf 'label: gpt\n,1G\n' | sfdisk -q "$PTABLE"; udevadm settle; mkfs.ext4 -q "$(readlink -f "$PTABLE")1"
mount "$(readlink -f "$PTABLE")1" /mnt/x; echo data > /mnt/x/marker; umount /mnt/x
udevadm settle

# refused: name, device, args, reason (a fragment of the message)
refuse() {
  local what=$1 dev=$2 reason=$3; shift 3
  local before after out rc
  # The running root disk changes under us (journal, logs): compare only what blkid sees there.
  local fp=fingerprint; [ "$dev" = "$ROOT" ] && fp="blkid -p"
  before=$($fp "$(readlink -f "$dev")" 2>&1)
  out=$($S apply --device "$dev" "$@" 2>&1); rc=$?
  after=$($fp "$(readlink -f "$dev")" 2>&1)
  check "$what${*:+ ($*)}: exit 65 (got $rc)" [ $rc = 65 ]
  if echo "$out" | grep -qF "$reason"; then pass "$what: says '$reason'"; else fail "$what: no '$reason' in: $out"; fi
  check "$what: first/last MiB and blkid unchanged" [ "$before" = "$after" ]
  check "$what: no docker VG made" sh -c '! vgs docker >/dev/null 2>&1'
}
refuse "ext4 with files" "$EXT4" "ext4 at offset 0x438 (label 'precious')"
refuse "mounted filesystem" "$MOUNTED" "is mounted at /mnt/mounted"
refuse "mounted filesystem" "$MOUNTED" "is mounted at /mnt/mounted" --wipe
check "mounted filesystem: marker intact" grep -q data /mnt/mounted/marker
refuse "active swap" "$SWAP" "in use as swap"
refuse "active swap" "$SWAP" "in use as swap" --wipe
refuse "PV of another VG (active)" "$OTHERPV" "physical volume of volume group 'other'" --wipe
refuse "partition table" "$PTABLE" "a partition table: gpt"
refuse "root disk" "$ROOT" "holds the root filesystem (/)" --wipe
refuse "smaller than 1 GiB" "$SMALL" "smaller than 1 GiB"
refuse "read-only" "$RO" "it is read-only" --wipe
vgchange -q -an other
refuse "PV of another VG (inactive)" "$OTHERPV" "physical volume of volume group 'other'"
# A PV without a VG is not swarmnode's (it makes the PV and its tagged VG in one command); nor is
# an empty VG of its name without its tag.
pvcreate -q "$BAREPV"
refuse "PV without a VG" "$BAREPV" "an LVM physical volume without a volume group"
vgcreate -q docker "$BAREPV"
out=$($S apply --device "$BAREPV" 2>&1); rc=$?
check "empty untagged VG 'docker': exit 65 (got $rc)" [ $rc = 65 ]
check "empty untagged VG 'docker': says so" grep -q "empty volume group 'docker' that swarmnode did not make" <<<"$out"
check "empty untagged VG 'docker': left as it was (no LV, no tag)" [ "$(vgs --noheadings -o lv_count,vg_tags docker | tr -d ' ')" = 0 ]
vgremove -q -y docker
mount "$EXT4" /mnt/x && { check "ext4 with files: marker intact" grep -q data /mnt/x/marker; umount /mnt/x; }
vgchange -q -ay other && { mount /dev/other/keep /mnt/x && { check "other VG: marker intact" grep -q data /mnt/x/marker; umount /mnt/x; }; vgchange -q -an other; }

# --wipe on the unused signature cases: accepted and provisioned.
for c in "ext4:$EXT4" "partition table:$PTABLE" "PV of another VG:$OTHERPV" "PV without a VG:$BAREPV"; do
  what=${c%%:*}; dev=${c#*:}
  $S apply --device "$dev" --wipe >/run/swarmnode-wipe.log 2>&1; rc=$?
  check "$what with --wipe: accepted (exit $rc)" [ $rc = 0 ]
  check "$what with --wipe: provisioned" grep -q '"result": "changed"' /var/lib/swarmnode/report.json
  teardown "$(readlink -f "$dev")"
done
swapoff "$SWAP"; umount /mnt/mounted
