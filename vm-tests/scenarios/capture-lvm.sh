# Captures what LVM prints (one `lvm fullreport` per state) for the tier-2 fixtures: a blank disk,
# a PV without a VG, a tagged VG without LVs, a thin pool made by one lvcreate, an overlay2 volume.
# Not a test: run by hand (`vm-tests/run.sh capture-lvm`), the output is copied into
# tests/fixtures/. Also prints how long each report takes.
# ci: no
# disks: 4G 4G
D=$(data 1); DEV=$(readlink -f "$D"); D2=$(data 2); DEV2=$(readlink -f "$D2")
# What swarmnode asks for: the VG, PV and LV fields it reads, no segments.
FIELDS="--configreport vg -o vg_name,vg_uuid,vg_size,vg_free,vg_extent_size,vg_extent_count,vg_free_count,vg_seqno,pv_count,vg_tags
 --configreport pv -o pv_name,vg_name,pv_uuid
 --configreport lv -o lv_name,vg_name,lv_attr,lv_size,lv_profile,lv_tags,lv_active,data_percent,metadata_percent
 --configreport pvseg -o pv_name
 --configreport seg -o lv_name,segtype,chunk_size,zero,seg_monitor"
report() {
  local t0 t1; t0=$(now)
  lvm fullreport --reportformat json --units b --nosuffix --binary $FIELDS > /run/capture.json 2>/run/capture.err
  t1=$(now)
  echo "FIGURE fullreport $1: $(secs $t0 $t1) s"
  echo "CAPTURE-BEGIN $1"; cat /run/capture.json; echo "CAPTURE-END $1"
  cat /run/capture.err
}
report blank
pvcreate -q "$DEV"; report orphan-pv
pvremove -q "$DEV"; vgcreate -q --addtag swarmnode docker "$DEV"; report tagged-vg
mkdir -p /etc/lvm/profile
printf 'activation {\n thin_pool_autoextend_threshold=80\n thin_pool_autoextend_percent=20\n}\n' > /etc/lvm/profile/docker-thinpool.profile
t0=$(now)
lvcreate -q --yes --type thin-pool --name thinpool --extents 95%VG --poolmetadatasize 40m --chunksize 512K \
  --zero n --metadataprofile docker-thinpool --addtag swarmnode docker
t1=$(now); echo "FIGURE one lvcreate --type thin-pool: $(secs $t0 $t1) s"
lvs -a -o+seg_monitor,chunk_size,zero,lv_profile,lv_tags docker
report pool
lvchange -q -an docker/thinpool; report pool-inactive; lvchange -q -ay docker/thinpool
lvchange -q --monitor n docker/thinpool; report pool-unmonitored; lvchange -q --monitor y docker/thinpool
pvcreate -q "$DEV2"; vgcreate -q other "$DEV2"; lvcreate -q -y -n keep -l 50%VG other; report pool-and-other
vgremove -q -ff -y other; pvremove -q -ff -y "$DEV2"
vgremove -q -ff -y docker; pvremove -q -ff -y "$DEV"; wipefs -a -q "$DEV"
vgcreate -q --addtag swarmnode docker "$DEV"; lvcreate -q -y --addtag swarmnode -n dockerdata -l 95%VG docker
report overlay2-volume
pass "captured"
