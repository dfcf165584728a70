# Engine step on a node set up like the seed: its swarm.conf drop-in (plaintext API on 2375 as dockerd
# flags) and its daemon.json (hosts with tcp://0.0.0.0:2375, devicemapper; plus a log-driver key of the
# site's own). After `apply` with the production profile docker runs on the pool with the merged
# daemon.json, nothing listens on 2375, the registry CA is under certs.d; a second apply restarts nothing.
# about: 80 s
# disks: 4G
D=$(data 1)
seed_dropin 0.0.0.0
cat > /etc/docker/daemon.json <<'J'
{
    "hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"],
    "log-driver": "journald",
    "storage-driver": "devicemapper",
    "storage-opts": [
        "dm.thinpooldev=/dev/mapper/docker-thinpool",
        "dm.use_deferred_removal=true",
        "dm.use_deferred_deletion=true"
    ]
}
J
systemctl daemon-reload
# storage and engine only: the mounts and swarm steps have scenarios of their own
P=/run/production-storage-engine.json; jq "del(.mounts, .swarm)" /payload/profiles/dccn-production.json > $P
$S -v apply --profile $P --device "$D" >/run/swarmnode-apply1.log 2>&1; rc=$?
grep -v DEBUG /run/swarmnode-apply1.log
check "apply exits 0 (got $rc)" [ $rc = 0 ]
check "docker is running" systemctl is-active -q docker
docker info 2>/dev/null | grep -E "Server Version|Storage Driver|Pool Name"
check "docker runs on the pool" sh -c "docker info 2>/dev/null | grep -q 'Pool Name: docker-thinpool'"
cat /etc/docker/daemon.json
check "daemon.json: hosts is the profile's (no tcp)" [ "$(jq -c .hosts /etc/docker/daemon.json)" = '["unix:///var/run/docker.sock"]' ]
check "daemon.json: the site's own key is kept" [ "$(jq -r '."log-driver"' /etc/docker/daemon.json)" = journald ]
check "daemon.json: the thin pool" [ "$(jq -r '."storage-opts"[0]' /etc/docker/daemon.json)" = dm.thinpooldev=/dev/mapper/docker-thinpool ]
check "the previous daemon.json is kept as a backup" grep -q 2375 /etc/docker/daemon.json.swarmnode.bak
check "swarm.conf moved aside to swarm.conf.bk" sh -c "[ ! -e /etc/systemd/system/docker.service.d/swarm.conf ] && [ -f /etc/systemd/system/docker.service.d/swarm.conf.bk ]"
cat /etc/systemd/system/docker.service.d/swarmnode.conf
check "dockerd runs without -H flags" sh -c "! tr '\0' ' ' < /proc/$(systemctl show -p MainPID --value docker)/cmdline | grep -q -- ' -H'"
check "nothing listens on 2375" sh -c "! ss -ltn | grep -q ':2375 '"
check "registry CA under certs.d" cmp -s /mnt/docker/registry/ca.crt /etc/docker/certs.d/docker-registry.dccn.nl:5000/ca.crt
pid1=$(systemctl show -p MainPID --value docker)
$S -v apply --profile $P --device "$D" >/run/swarmnode-apply2.log 2>&1; rc=$?
grep -v DEBUG /run/swarmnode-apply2.log
check "second apply exits 0" [ $rc = 0 ]
check "second apply ran no changing command" [ "$(mutating_in /run/swarmnode-apply2.log)" = 0 ]
check "second apply: dockerd's PID unchanged ($pid1)" [ "$(systemctl show -p MainPID --value docker)" = "$pid1" ]
check "second apply: engine converged" grep -q "engine: converged: nothing to do" /run/swarmnode-apply2.log
# docker 20.10 has no `dockerd --validate`: a daemon.json it refuses is only found by the restart.
# The restart fails, the previous daemon.json is put back, docker is restarted with it and runs.
cp /etc/docker/daemon.json /run/daemon.json.before
B=/run/production-bad-option.json; jq '.engine.daemon_json["no-such-option"] = true' $P > $B
$S apply --profile $B --device "$D" >/run/swarmnode-apply3.log 2>&1; rc=$?
cat /run/swarmnode-apply3.log
check "a daemon.json dockerd refuses: apply exits 1 (got $rc)" [ $rc = 1 ]
check "it says the previous daemon.json was put back and docker runs as before" \
  grep -q "put back the previous /etc/docker/daemon.json.*the node is as it was before this run" /run/swarmnode-apply3.log
check "daemon.json is the previous one, byte for byte" cmp -s /etc/docker/daemon.json /run/daemon.json.before
check "docker is running again" systemctl is-active -q docker
check "docker still on the pool" sh -c "docker info 2>/dev/null | grep -q 'Pool Name: docker-thinpool'"
$S -v apply --profile $P --device "$D" >/run/swarmnode-apply4.log 2>&1; rc=$?
check "the good profile again: converged, nothing to do (exit $rc)" sh -c "[ $rc = 0 ] && grep -q 'engine: converged: nothing to do' /run/swarmnode-apply4.log"
