# overlay2 on an XFS (ftype=1) logical volume at /var/lib/docker, with project quotas, through fstab.
# about: 75 s
# disks: 4G
D=$(data 1)
expect_rc 0 "apply --driver overlay2 on a blank disk" $S apply --device "$D" --driver overlay2
check "data volume exists" [ "$(lvfield dockerdata segtype)" = linear ]
check "/var/lib/docker is XFS" [ "$(findmnt -n -o FSTYPE /var/lib/docker)" = xfs ]
check "mounted with project quotas" sh -c "findmnt -n -o OPTIONS /var/lib/docker | grep -q prjquota"
check "XFS has ftype=1" sh -c "xfs_info /var/lib/docker | grep -q ftype=1"
check "fstab entry with pquota" grep -q '^/dev/docker/dockerdata /var/lib/docker xfs defaults,pquota 0 0$' /etc/fstab
check "driver recorded" grep -q '"driver": "overlay2"' /var/lib/swarmnode/storage.json
mkdir -p /etc/docker; echo '{"storage-driver": "overlay2"}' > /etc/docker/daemon.json
check "docker starts" systemctl start docker
docker info 2>/dev/null | grep -E "Storage Driver|Backing Filesystem|Supports d_type"
check "docker uses overlay2" [ "$(docker info --format '{{.Driver}}')" = overlay2 ]
check "backing filesystem xfs" sh -c "docker info 2>/dev/null | grep -q 'Backing Filesystem: xfs'"
docker_image
check "a container can be created" docker create --name c1 swarmnode-test:1 /swarmnode --version
seq1=$(vgfield vg_seqno)
$S -v apply --device "$D" --driver overlay2 >/run/swarmnode-apply2.log 2>&1; rc=$?
check "second apply exits 0" [ $rc = 0 ]
check "second apply ran no changing command" [ "$(mutating_in /run/swarmnode-apply2.log)" = 0 ]
check "second apply: VG seqno unchanged" [ "$(vgfield vg_seqno)" = "$seq1" ]
check "fstab has one entry" [ "$(grep -c /var/lib/docker /etc/fstab)" = 1 ]
