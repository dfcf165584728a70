# Captures what LVM prints (one `lvm fullreport` per state, swarmnode's own fields) for the tier-2
# fixtures: every state the storage step meets, from a blank disk to a pool docker has used, the
# half-made states an lvcreate killed midway leaves, and a disk an LVM devices file hides.
# Not a test: run by hand (`vm-tests/run.sh capture-lvm`), the output is copied into
# tests/fixtures/ (tests/fixtures/update-lvm.sh does it). Also prints how long each report takes.
# ci: no
# disks: 4G 4G
D=$(data 1); DEV=$(readlink -f "$D"); D2=$(data 2); DEV2=$(readlink -f "$D2")
# What swarmnode asks for (src/host/lvm.rs; a unit test keeps the two the same).
FIELDS="--configreport vg -o vg_name,vg_uuid,vg_size,vg_free,vg_extent_size,vg_extent_count,vg_free_count,vg_seqno,pv_count,vg_tags
 --configreport pv -o pv_name,vg_name,pv_uuid
 --configreport lv -o lv_name,vg_name,lv_attr,lv_size,lv_profile,lv_tags,lv_active,data_percent,metadata_percent,lv_time,lv_host
 --configreport pvseg -o pv_name
 --configreport seg -o lv_name,segtype,chunk_size,zero,seg_monitor"
# report NAME [lvm options]: one fullreport, printed between CAPTURE-BEGIN and CAPTURE-END.
report() {
  local name=$1 t0 t1; shift; t0=$(now)
  lvm fullreport --all --reportformat json --units b --nosuffix --binary "$@" $FIELDS > /run/capture.json 2>/run/capture.err
  t1=$(now)
  echo "FIGURE fullreport $name: $(secs $t0 $t1) s"
  echo "CAPTURE-BEGIN $name"; cat /run/capture.json; echo "CAPTURE-END $name"
  cat /run/capture.err
}
TAGS="--addtag swarmnode --addtag swarmnode-machine-$(cat /etc/machine-id)"
profile() {
  mkdir -p /etc/lvm/profile
  printf 'activation {\n thin_pool_autoextend_threshold=80\n thin_pool_autoextend_percent=20\n}\n' > /etc/lvm/profile/docker-thinpool.profile
}
pool() {
  lvcreate -q --yes --type thin-pool --name thinpool --extents 95%VG --poolmetadatasize 40m --chunksize 512K \
    --zero n --metadataprofile docker-thinpool $TAGS docker
}
fresh_vg() { teardown "$DEV"; profile; vgcreate -q $TAGS docker "$DEV"; }

report blank
pvcreate -q "$DEV"; report orphan-pv
pvremove -q "$DEV"; vgcreate -q $TAGS docker "$DEV"; report tagged-vg
profile
t0=$(now); pool; t1=$(now); echo "FIGURE one lvcreate --type thin-pool: $(secs $t0 $t1) s"
lvs -a -o+seg_monitor,chunk_size,zero,lv_profile,lv_tags docker
report pool
lvchange -q -an docker/thinpool; report pool-inactive; lvchange -q -ay docker/thinpool
lvchange -q --monitor n docker/thinpool; report pool-unmonitored; lvchange -q --monitor y docker/thinpool
pvcreate -q "$DEV2"; vgcreate -q other "$DEV2"; lvcreate -q -y -n keep -l 50%VG other; report pool-and-other
vgremove -q -ff -y other; pvremove -q -ff -y "$DEV2"

# docker has used the pool: data blocks in use (docker cannot take such a pool over without its
# own metadata in /var/lib/docker/devicemapper).
mkdir -p /etc/docker
echo '{"storage-driver":"devicemapper","storage-opts":["dm.thinpooldev=/dev/mapper/docker-thinpool"]}' > /etc/docker/daemon.json
systemctl start docker && docker_image && docker run --name c1 swarmnode-test:1 /swarmnode --version
report pool-used
systemctl stop docker docker.socket; rm -f /etc/docker/daemon.json

# The states an lvcreate of the pool killed midway leaves (seen in the guest by killing it after
# 0.1 to 3 s): LVM's untagged metadata volume `lvol0` being zeroed; the tagged data volume, still
# linear; the pool made but inactive with its two components active.
fresh_vg; lvcreate -q -y -n lvol0 -L 40m docker; report killed-lvol0
fresh_vg; lvcreate -q -y $TAGS -n thinpool -l 95%VG docker; report killed-linear
got=""
for t in 0.6 0.7 0.8 0.9 1.0 1.1 1.2 1.3 1.4 1.6 1.8 2.0; do
  fresh_vg
  pool >/dev/null 2>&1 & pid=$!; sleep "$t"; pkill -9 -x lvcreate; wait $pid 2>/dev/null
  attrs=$(lvs -a --noheadings -o lv_name,lv_attr docker | awk '{print $1 $2}' | tr '\n' ' ')
  echo "killed after $t s: $attrs"
  case "$attrs" in *"thinpooltwi---t"*"[thinpool_tmeta]ewi-a"*) got=1; break ;; esac
done
[ -n "$got" ] && report killed-components-active || echo "NOTE no kill left the components active"

fresh_vg; lvcreate -q -y $TAGS -n dockerdata -l 95%VG docker
report overlay2-volume

# The LVM devices file, as Anaconda writes it on EL9: use_devicesfile=1, system.devices lists only
# the system's own PVs (here the second disk stands for them). The data disk's old VG is hidden.
# (Debian ships no lvmdevices link: `lvm lvmdevices` is the same command.)
fresh_vg; pool
pvcreate -q "$DEV2"; vgcreate -q system "$DEV2"
sed -i 's/^\(\s*\)# use_devicesfile = 0/\1use_devicesfile = 1/' /etc/lvm/lvm.conf
lvmconfig devices/use_devicesfile
lvm lvmdevices --adddev "$DEV2"; cat /etc/lvm/devices/system.devices
report devicesfile-hidden
report devicesfile-all --devicesfile ""
lvm lvmdevices --adddev "$DEV"; report devicesfile-added
grep -c "$DEV" /etc/lvm/devices/system.devices
# A blank disk: vgcreate adds it to the devices file itself.
vgremove -q -ff -y docker; pvremove -q -ff -y "$DEV"; wipefs -a -q "$DEV"
lvm lvmdevices --deldev "$DEV" 2>&1; cat /etc/lvm/devices/system.devices
vgcreate -q $TAGS docker "$DEV"; echo "after vgcreate:"; cat /etc/lvm/devices/system.devices
report devicesfile-vgcreate
pass "captured"
