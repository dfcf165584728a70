# The README's "see it work": the site's production profile on a blank disk, end to end for what is
# implemented (storage), then docker on the result. Later steps are listed as not implemented yet.
# disks: 8G
D=$(data 1)
echo "=== swarmnode plan --profile profiles/dccn-production.json --device $D"
$S plan --profile /payload/profiles/dccn-production.json --device "$D"
echo "=== swarmnode apply --profile profiles/dccn-production.json --device $D"
$S apply --profile /payload/profiles/dccn-production.json --device "$D"; rc=$?
check "apply exit 0" [ $rc = 0 ]
drv=$(sed -n 's/.*"driver": "\(.*\)".*/\1/p' /var/lib/swarmnode/storage.json)
mkdir -p /etc/docker
if [ "$drv" = devicemapper ]; then
  echo '{"storage-driver": "devicemapper", "storage-opts": ["dm.thinpooldev=/dev/mapper/docker-thinpool", "dm.use_deferred_removal=true", "dm.use_deferred_deletion=true"]}' > /etc/docker/daemon.json
else
  echo '{"storage-driver": "overlay2"}' > /etc/docker/daemon.json
fi
echo "=== daemon.json written by this demo (the engine step is not implemented yet)"; cat /etc/docker/daemon.json
systemctl start docker
echo "=== lvs -a -o+seg_monitor,chunk_size,zero,lv_profile"
lvs -a -o+seg_monitor,chunk_size,zero,lv_profile
echo "=== docker info (storage)"
docker info 2>/dev/null | grep -E "Server Version|Storage Driver|Pool Name|Backing Filesystem"
check "docker runs on the $drv volume" [ "$(docker info --format '{{.Driver}}')" = "$drv" ]
echo "=== swarmnode apply again"
$S apply --profile /payload/profiles/dccn-production.json --device "$D"
echo "=== /var/lib/swarmnode/report.json"
cat /var/lib/swarmnode/report.json
