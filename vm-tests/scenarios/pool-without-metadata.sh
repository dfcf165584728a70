# A used thin pool that docker on this system has no metadata for (Docker 20.10, devicemapper):
# docker refuses to take it over ("Unable to take ownership of thin-pool ... that already has
# used data blocks"), so apply refuses it (65) before anything changes, whoever made it.
#  1. swarmnode's own pool, this machine's tag and record: /var/lib/docker removed by hand (the
#     advice docker's docs give), then with the record gone too (a reinstall that kept its
#     machine-id): refused, naming --reprovision; --reprovision makes it again and docker runs.
#  2. the seed's own script's pool (no tag at all): with docker's metadata it is adopted (a
#     seed-made node converged); /var/lib/docker removed: refused, naming lvremove.
# about: 196 s
# guest: bookworm
# disks: 4G
D=$(data 1); DEV=$(readlink -f "$D")
systemctl stop docker docker.socket >/dev/null 2>&1
mkdir -p /mnt/docker/registry && cp /payload/registry-ca.crt /mnt/docker/registry/ca.crt
P=/run/production-storage-engine.json; jq "del(.mounts, .swarm)" /payload/profiles/dccn-production.json > $P
used_pool() {
  docker_image
  docker run --rm swarmnode-test:1 /swarmnode --version >/dev/null 2>&1
  check "$1: the pool holds used blocks ($(lvfield thinpool data_percent)%)" awk -v d="$(lvfield thinpool data_percent)" 'BEGIN{exit !(d > 0)}'
  systemctl stop docker docker.socket >/dev/null 2>&1
}
state() { lvs_state; vgfield vg_tags; fingerprint "$D"; cat /etc/docker/daemon.json 2>/dev/null; }
refused() { # refused NAME WANT...: apply exits 65 naming every WANT, nothing changed, docker still stopped
  local name=$1 before rc w; shift
  before=$(state)
  $S apply --profile $P --device "$D" > /run/refused.log 2>&1; rc=$?; cat /run/refused.log
  check "$name: apply refused (exit $rc, wanted 65)" [ $rc = 65 ]
  for w in "$@"; do check "$name: the refusal says: $w" grep -qF -- "$w" /run/refused.log; done
  check "$name: nothing changed (volumes, tags, disk, daemon.json)" [ "$before" = "$(state)" ]
  check "$name: docker was not started on a pool it cannot take" sh -c "! systemctl is-active -q docker"
}

# 1. swarmnode's own pool
expect_rc 0 "apply (storage and engine): docker on a fresh pool" $S apply --profile $P --device "$D"
check "docker runs on the pool" sh -c "docker info 2>/dev/null | grep -q 'Pool Name: docker-thinpool'"
used_pool "swarmnode's pool"
rm -rf /var/lib/docker
refused "/var/lib/docker removed by hand" "cannot take it over" "--reprovision"
rm -f /var/lib/swarmnode/storage.json
refused "reinstalled with the same machine-id (no record)" "cannot take it over" "--reprovision"
expect_rc 0 "--reprovision makes the pool again" $S apply --profile $P --device "$D" --reprovision
check "docker runs on the new pool" sh -c "docker info 2>/dev/null | grep -q 'Pool Name: docker-thinpool'"
check "the new pool is empty but for docker's base" awk -v d="$(lvfield thinpool data_percent)" 'BEGIN{exit !(d < 2)}'

# 2. the seed's own script's pool (no tags)
systemctl stop docker docker.socket >/dev/null 2>&1
teardown "$DEV"
sh /payload/seed-thinpool.sh "$DEV" > /run/seed.log 2>&1
check "the seed's script made an untagged pool" sh -c "[ -z \"\$(vgfield vg_tags)\" ] && lvs docker/thinpool >/dev/null 2>&1"
echo '{"storage-driver": "devicemapper", "storage-opts": ["dm.thinpooldev=/dev/mapper/docker-thinpool", "dm.use_deferred_removal=true"]}' > /etc/docker/daemon.json
systemctl daemon-reload; systemctl start docker
used_pool "the seed's pool"
expect_rc 0 "the seed's pool with docker's metadata is adopted (a seed-made node converged)" $S apply --profile $P --device "$D"
check "docker runs on the seed's pool" sh -c "docker info 2>/dev/null | grep -q 'Pool Name: docker-thinpool'"
systemctl stop docker docker.socket >/dev/null 2>&1
rm -rf /var/lib/docker
refused "the seed's pool, /var/lib/docker removed" "cannot take it over" "docker/thinpool is not made by swarmnode" "lvremove docker/thinpool"
