#!/bin/sh
# The site's docker-thinpool.sh (seed 002, section 4.2.1) without yum: used to compare timings only.
set -ex
DEV=${1:-/dev/vdb}
mkdir -p /etc/lvm/profile
cat > /etc/lvm/profile/docker-thinpool.profile <<'P'
activation {
  thin_pool_autoextend_threshold=80
  thin_pool_autoextend_percent=20
}
P
pvcreate -y $DEV
vgcreate docker $DEV
lvcreate --wipesignatures y -n thinpool docker -l 95%VG
lvcreate --wipesignatures y -n thinpoolmeta docker -l 1%VG
lvconvert -y --zero n -c 512K --thinpool docker/thinpool --poolmetadata docker/thinpoolmeta
lvchange --metadataprofile docker-thinpool docker/thinpool
lvs -o+seg_monitor
