# A current engine (Debian trixie, docker.io 26, no devicemapper): --driver auto on a blank disk picks
# overlay2 because of the engine's version, makes the XFS (ftype=1) volume, mounts it at /var/lib/docker
# through fstab; docker 26 runs on it; the mount survives a reboot; a second run changes nothing;
# --driver devicemapper is refused naming the engine version and the removal; data already in
# /var/lib/docker is refused rather than hidden, and moved into the volume with --move-docker-data.
# about: 216 s
# guest: trixie
# boots: 2
# disks: 4G 4G
D=$(data 1); OTHER=$(data 2)
if [ "$BOOT" = 1 ]; then
  dockerd --version
  out=$($S plan --device "$D" 2>&1); echo "$out"
  check "plan picks overlay2 and says why (engine version)" sh -c "echo \"\$1\" | grep -q 'driver overlay2 (auto): dockerd 26'" _ "$out"
  check "plan makes no thin pool" sh -c "! echo \"\$1\" | grep -q thinpool" _ "$out"
  out=$($S apply --device "$OTHER" --driver devicemapper 2>&1); rc=$?; echo "$out"
  check "--driver devicemapper on docker 26 exits 65 (got $rc)" [ $rc = 65 ]
  check "the refusal names the version and the removal" sh -c "echo \"\$1\" | grep -q 'Docker 26.*removed in Docker Engine 25.0'" _ "$out"
  check "nothing made on the refused disk" sh -c '! pvs 2>/dev/null | grep -q .'
  # /var/lib/docker already holding data: refused rather than hidden; moved when told.
  mkdir -p /var/lib/docker/swarmnode-test && echo data > /var/lib/docker/swarmnode-test/marker
  out=$($S apply --device "$D" 2>&1); rc=$?; echo "$out"
  check "data in /var/lib/docker: exit 65 (got $rc)" [ $rc = 65 ]
  check "data in /var/lib/docker: says so" sh -c "echo \"\$1\" | grep -q 'it already holds data, which mounting the data volume would hide'" _ "$out"
  check "data in /var/lib/docker: still there, nothing mounted" sh -c "grep -q data /var/lib/docker/swarmnode-test/marker && ! findmnt /var/lib/docker >/dev/null"
  check "data in /var/lib/docker: no VG made" sh -c '! vgs docker >/dev/null 2>&1'
  $S -v apply --device "$D" --move-docker-data >/run/swarmnode-apply1.log 2>&1; rc=$?
  check "--move-docker-data: the data is on the new volume" sh -c "findmnt -n -o FSTYPE /var/lib/docker | grep -q xfs && grep -q data /var/lib/docker/swarmnode-test/marker"
  check "--move-docker-data: the old tree is kept aside" grep -q data /var/lib/docker.swarmnode-old/swarmnode-test/marker
  grep -v DEBUG /run/swarmnode-apply1.log
  check "apply (auto) exits 0 (got $rc)" [ $rc = 0 ]
  check "driver overlay2 recorded" grep -q '"driver": "overlay2"' /var/lib/swarmnode/storage.json
  check "/var/lib/docker is XFS" [ "$(findmnt -n -o FSTYPE /var/lib/docker)" = xfs ]
  check "XFS has ftype=1" sh -c "xfs_info /var/lib/docker | grep -q ftype=1"
  check "mounted with project quotas" sh -c "findmnt -n -o OPTIONS /var/lib/docker | grep -q prjquota"
  # The engine step writes daemon.json (checked by docker 26's own `dockerd --validate` first) and starts docker.
  echo '{"engine": {"start": true}}' > /run/engine-profile.json
  $S -v engine --profile /run/engine-profile.json >/run/swarmnode-engine.log 2>&1; rc=$?
  grep -v DEBUG /run/swarmnode-engine.log
  check "engine step exits 0 (got $rc)" [ $rc = 0 ]
  check "engine step validated daemon.json with dockerd --validate" grep -q 'run cmd=dockerd --validate --config-file' /run/swarmnode-engine.log
  check "daemon.json says overlay2" [ "$(jq -r '."storage-driver"' /etc/docker/daemon.json)" = overlay2 ]
  check "docker 26 started" systemctl is-active -q docker
  docker info 2>/dev/null | grep -E "Server Version|Storage Driver|Backing Filesystem"
  check "Storage Driver: overlay2" [ "$(docker info --format '{{.Driver}}')" = overlay2 ]
  check "Backing Filesystem: xfs" sh -c "docker info 2>/dev/null | grep -q 'Backing Filesystem: xfs'"
  docker_image
  check "a container can be created" docker create --name c1 swarmnode-test:1 /swarmnode --version
  systemctl enable docker >/dev/null 2>&1
  seq1=$(vgfield vg_seqno)
  $S -v apply --device "$D" >/run/swarmnode-apply2.log 2>&1; rc=$?
  check "second apply exits 0" [ $rc = 0 ]
  check "second apply ran no changing command" [ "$(mutating_in /run/swarmnode-apply2.log)" = 0 ]
  check "second apply: VG seqno unchanged" [ "$(vgfield vg_seqno)" = "$seq1" ]
else
  findmnt /var/lib/docker
  check "after a reboot /var/lib/docker is the XFS volume again" [ "$(findmnt -n -o SOURCE /var/lib/docker)" = /dev/mapper/docker-dockerdata ]
  check "after a reboot it has project quotas" sh -c "findmnt -n -o OPTIONS /var/lib/docker | grep -q prjquota"
  systemctl start docker
  check "after a reboot docker 26 runs on overlay2/xfs" sh -c "docker info 2>/dev/null | grep -q 'Backing Filesystem: xfs'"
  check "after a reboot the container is there" docker start -a c1
  $S -v apply --device "$D" >/run/swarmnode-apply3.log 2>&1; rc=$?
  check "apply after the reboot exits 0" [ $rc = 0 ]
  check "apply after the reboot changes nothing" [ "$(mutating_in /run/swarmnode-apply3.log)" = 0 ]
  echo "{\"storage\": {\"device\": \"$D\"}, \"engine\": {\"start\": true}}" > /run/check-profile.json
  $S --profile /run/check-profile.json check > /run/check.log 2>&1; rc=$?; cat /run/check.log
  check "check: a healthy overlay2 node is green (exit $rc)" [ $rc = 0 ]
  check "check: the volume at /var/lib/docker with project quotas, space and inodes" \
    grep -Eq '^green +storage.volume +/dev/docker/dockerdata on /var/lib/docker: space [0-9.]+% of .*, inodes [0-9.]+%, project quotas on' /run/check.log
  check "check: docker 26 on overlay2 at /var/lib/docker" grep -Eq '^green +engine.running +docker 26.* answers, storage driver overlay2, root /var/lib/docker' /run/check.log
fi
