# Fresh node with devicemapper (Docker 20.10): apply on a blank disk, docker on the pool, a container;
# a second apply changes nothing; an inactive pool with docker's thin volumes in it is activated, not
# re-converted (the seed script's data-loss case); the seed script timed on the same disk.
# about: 106 s
# disks: 4G
D=$(data 1); DEV=$(readlink -f "$D")

expect_rc 0 "plan on a blank disk" $S plan --device "$D"
check "plan changed nothing (no PV)" [ -z "$(pvs --noheadings 2>/dev/null)" ]

t0=$(now); $S -v apply --device "$D" >/run/swarmnode-apply1.log 2>&1; rc=$?; t1=$(now)
[ $rc = 0 ] && pass "apply on a blank disk (exit 0)" || { fail "apply on a blank disk: exit $rc"; cat /run/swarmnode-apply1.log; }
echo "FIGURE swarmnode storage step: $(secs $t0 $t1) s wall, $(commands_in /run/swarmnode-apply1.log) external commands ($(mutating_in /run/swarmnode-apply1.log) changing)"
lvs -a -o+seg_monitor,chunk_size,zero,lv_profile docker
check "the VG carries swarmnode's tag and this installation's" [ "$(vgfield vg_tags)" = "swarmnode,swarmnode-machine-$(cat /etc/machine-id)" ]
echo "CAPTURE vgs $(vgs --reportformat json --units b --nosuffix --binary -o vg_name,vg_uuid,vg_size,vg_free,vg_extent_size,vg_extent_count,vg_free_count,vg_seqno,pv_count,vg_tags | tr -d '\n')"
check "pool is a thin pool" [ "$(lvfield thinpool segtype)" = thin-pool ]
check "pool chunk 512K" [ "$(lvfield thinpool chunk_size)" = 524288 ]
check "pool zeroing off" [ "$(lvs --noheadings -o zero --binary docker/thinpool | tr -d ' ')" = 0 ]
check "profile docker-thinpool attached" [ "$(lvfield thinpool lv_profile)" = docker-thinpool ]
check "pool monitored" [ "$(lvfield thinpool seg_monitor)" = monitored ]
check "pool active" [ "$(lvs --noheadings -o lv_attr docker/thinpool | tr -d ' ' | cut -c5)" = a ]
vg=$(vgfield vg_size); data=$(lvfield thinpool lv_size); meta=$(lvs -a --noheadings --units b --nosuffix -o lv_size 'docker/thinpool_tmeta' | tr -d ' ')
check "data ~95%VG ($data of $vg)" awk -v a="$data" -v b="$vg" 'BEGIN{exit !(a/b > 0.94 && a/b < 0.96)}'
check "metadata ~1%VG ($meta of $vg)" awk -v a="$meta" -v b="$vg" 'BEGIN{exit !(a/b > 0.008 && a/b < 0.012)}'
check "LVM profile has autoextend 80/20" grep -qzE 'thin_pool_autoextend_threshold=80.*thin_pool_autoextend_percent=20' /etc/lvm/profile/docker-thinpool.profile
check "driver recorded" grep -q '"driver": "devicemapper"' /var/lib/swarmnode/storage.json
check "report says changed" grep -q '"result": "changed"' /var/lib/swarmnode/report.json
check "autoextend warning given" grep -q "autoextend cannot fire" /run/swarmnode-apply1.log

mkdir -p /etc/docker
cat > /etc/docker/daemon.json <<'J'
{"storage-driver": "devicemapper", "storage-opts": ["dm.thinpooldev=/dev/mapper/docker-thinpool", "dm.use_deferred_removal=true", "dm.use_deferred_deletion=true"]}
J
check "docker starts on the pool" systemctl start docker
docker info 2>/dev/null | grep -E "Server Version|Storage Driver|Pool Name|Data Space Total"
check "docker uses devicemapper" [ "$(docker info --format '{{.Driver}}')" = devicemapper ]
check "docker's pool is docker-thinpool" sh -c "docker info 2>/dev/null | grep -q 'Pool Name: docker-thinpool'"
docker_image
check "a container can be created and run" sh -c "docker run --name c1 swarmnode-test:1 /swarmnode --version | grep -q swarmnode"

seq1=$(vgfield vg_seqno); pid1=$(systemctl show -p MainPID --value docker)
$S -v apply --device "$D" >/run/swarmnode-apply2.log 2>&1; rc=$?
cat /run/swarmnode-apply2.log | grep -v DEBUG
check "second apply exits 0" [ $rc = 0 ]
check "second apply ran no changing command" [ "$(mutating_in /run/swarmnode-apply2.log)" = 0 ]
check "second apply: VG seqno unchanged ($seq1)" [ "$(vgfield vg_seqno)" = "$seq1" ]
check "second apply: docker not restarted" [ "$(systemctl show -p MainPID --value docker)" = "$pid1" ]
check "second apply says converged" grep -q "storage: converged: nothing to do" /run/swarmnode-apply2.log
check "report says converged" grep -q '"result": "converged"' /var/lib/swarmnode/report.json

# The pool inactive with docker's thin volumes in it: activated and verified, never re-converted.
systemctl stop docker docker.socket
lvchange -an docker/thinpool
check "pool is inactive before the run" [ "$(lvs --noheadings -o lv_attr docker/thinpool | tr -d ' ' | cut -c5)" = - ]
$S -v apply --device "$D" >/run/swarmnode-apply3.log 2>&1; rc=$?
check "apply on the inactive pool exits 0" [ $rc = 0 ]
check "only an activation ran" sh -c "grep ' run cmd=' /run/swarmnode-apply3.log | grep -E 'cmd=(lv|pv|vg)(create|convert|change)' | grep -v 'cmd=lvchange --activate y docker/thinpool' | grep -q . && exit 1 || exit 0"
check "pool active again" [ "$(lvs --noheadings -o lv_attr docker/thinpool | tr -d ' ' | cut -c5)" = a ]
systemctl start docker
check "the container's data survived (starts again)" sh -c "docker start -a c1 | grep -q swarmnode"

# The seed script on the same (cleaned) disk, for the figures.
teardown "$DEV"
t0=$(now); /payload/seed-thinpool.sh "$DEV" >/run/swarmnode-seed.log 2>&1; t1=$(now)
echo "FIGURE seed docker-thinpool.sh: $(secs $t0 $t1) s wall, 7 external commands (6 changing; lvs) plus a file"
