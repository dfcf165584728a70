# The README's "see it work": the site's production profile on a blank disk, end to end for what is
# implemented (storage, engine): docker runs on the result. Later steps are listed as not implemented yet.
# disks: 8G
# ci: no (vm-tests/demo.sh runs it; devicemapper and engine cover the same ground)
D=$(data 1)
# The registry CA lives on the NFS share /mnt/docker at the site; a test CA stands in for it here.
mkdir -p /mnt/docker/registry && cp /payload/registry-ca.crt /mnt/docker/registry/ca.crt
echo "=== swarmnode plan --profile profiles/dccn-production.json --device $D"
$S plan --profile /payload/profiles/dccn-production.json --device "$D"
echo "=== swarmnode apply --profile profiles/dccn-production.json --device $D"
$S apply --profile /payload/profiles/dccn-production.json --device "$D"; rc=$?
check "apply exit 0" [ $rc = 0 ]
drv=$(sed -n 's/.*"driver": "\(.*\)".*/\1/p' /var/lib/swarmnode/storage.json)
echo "=== /etc/docker/daemon.json"; cat /etc/docker/daemon.json
echo "=== /etc/systemd/system/docker.service.d/swarmnode.conf"; cat /etc/systemd/system/docker.service.d/swarmnode.conf
echo "=== lvs -a -o+seg_monitor,chunk_size,zero,lv_profile"
lvs -a -o+seg_monitor,chunk_size,zero,lv_profile
echo "=== docker info (storage)"
docker info 2>/dev/null | grep -E "Server Version|Storage Driver|Pool Name|Backing Filesystem"
check "docker runs on the $drv volume" [ "$(docker info --format '{{.Driver}}')" = "$drv" ]
echo "=== swarmnode apply again"
$S apply --profile /payload/profiles/dccn-production.json --device "$D"
echo "=== /var/lib/swarmnode/report.json"
cat /var/lib/swarmnode/report.json
