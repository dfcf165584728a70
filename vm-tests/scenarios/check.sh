# `swarmnode check` on a real devicemapper node: provisioned with a thin pool that leaves room for
# autoextend, docker on it, NFS over loopback, a one-node swarm, the check timer: all green but engine.future (devicemapper: yellow before Engine 25), and
# fast. Then each failure the issue names, one at a time, each put back: docker stopped → red;
# daemon.json edited → yellow naming the key; the NFS server stopped → red within the timeout;
# out of the swarm → red; `lvchange --monitor n` → red (autoextend cannot fire); the pool filled
# past warn, then crit, with the VG full (as the seed leaves it) → yellow, then red, with figures.
# about: 155 s
# disks: 4G
D=$(data 1)
nfs_loopback home:/home project:/project
P=/etc/swarmnode/profile.json; mkdir -p /etc/swarmnode
cat > $P <<J
{"storage": {"device": "$D", "driver": "devicemapper", "thinpool": {"data_percent": 60}},
 "engine": {"start": true, "daemon_json": {"debug": false}},
 "mounts": {"nfs": ["/home", "/project"], "timeout_seconds": 3},
 "check": {"timer": true, "textfile": "/var/lib/prometheus/node-exporter/swarmnode.prom"}}
J
mkdir -p /var/lib/prometheus/node-exporter
$S apply > /run/swarmnode-apply.log 2>&1; rc=$?
cat /run/swarmnode-apply.log
check "apply exits 0 (got $rc)" [ $rc = 0 ]
check "the check timer is enabled and active" sh -c "systemctl is-enabled -q swarmnode-check.timer && systemctl is-active -q swarmnode-check.timer"
# A one-node swarm, and a profile for check that knows it (file source: no channel to a manager).
docker swarm init --advertise-addr 127.0.0.1 > /dev/null 2>&1
docker swarm join-token -q worker > /etc/swarmnode/token; chmod 600 /etc/swarmnode/token
C=/run/check-profile.json
jq '. + {"swarm": {"managers": ["127.0.0.1:2377"], "token": {"source": "file", "path": "/etc/swarmnode/token"}}}' $P > $C
run_check() { # NAME: runs check, keeps its output in /run/check-NAME.log, sets rc and dt
  local t; t=$(now); $S --profile $C check > "/run/check-$1.log" 2>&1; rc=$?; dt=$(secs "$t" "$(now)")
  echo "--- check ($1): exit $rc in $dt s"; cat "/run/check-$1.log"
}
item() { grep -E "^[a-z]+ +$2 " "/run/check-$1.log" | head -1; }
status_of() { item "$1" "$2" | awk '{print $1}'; }
has() { echo "$1" | grep -Eq -- "$2"; }  # TEXT PATTERN

run_check healthy
# A devicemapper node is yellow for one thing only: engine.future (Docker Engine 25 removed it).
check "healthy: exit 1, yellow (got $rc)" [ $rc = 1 ]
check "healthy: every item green or clear but engine.future" sh -c "! grep -E '^(yellow|red) ' /run/check-healthy.log | grep -vq '^yellow  *engine.future '"
check "healthy: engine.future names Engine 25" sh -c "grep -Eq '^yellow +engine.future +docker runs on devicemapper, which Docker Engine 25 removed' /run/check-healthy.log"
check "healthy: the pool's figures" sh -c "grep -Eq '^green +storage.thinpool +metadata [0-9.]+%, data [0-9.]+% of' /run/check-healthy.log"
check "healthy: monitored, room for a step" sh -c "grep -Eq '^green +storage.autoextend +monitored, profile docker-thinpool' /run/check-healthy.log"
check "healthy: swarm active, manager reachable" [ "$(status_of healthy swarm.local)/$(status_of healthy swarm.manager)" = green/green ]
# Speed, against what a person would type for the same look: docker info, lvs, stat -f on each path.
for i in 1 2 3; do
  run_check "speed$i" > /dev/null; c=$dt
  t=$(now); docker info > /dev/null 2>&1; lvs docker > /dev/null; stat -f /home /project > /dev/null; b=$(secs "$t" "$(now)")
  echo "FIGURE check: healthy node, run $i: check $c s, plain CLI (docker info + lvs + stat -f) $b s"
done
systemctl start swarmnode-check.service; rc=$?
check "the timer's service runs and writes the textfile" sh -c "[ $rc = 0 ] && grep -qx 'swarmnode_status 1' /var/lib/prometheus/node-exporter/swarmnode.prom && grep -qx 'swarmnode_check_status{check=\"engine.future\"} 1' /var/lib/prometheus/node-exporter/swarmnode.prom"

systemctl stop docker.socket docker
run_check docker-stopped
check "docker stopped: exit 2 (got $rc)" [ $rc = 2 ]
check "docker stopped: engine.running red" [ "$(status_of docker-stopped engine.running)" = red ]
systemctl start docker

cp /etc/docker/daemon.json /run/daemon.json.good
jq '.debug = true' /run/daemon.json.good > /etc/docker/daemon.json
run_check edited
check "daemon.json edited: exit 1 (got $rc)" [ $rc = 1 ]
check "daemon.json edited: yellow naming the key" has "$(item edited engine.config)" '^yellow .*daemon.json differs from what swarmnode writes: debug'
check "daemon.json edited: not loaded by docker, named" has "$(item edited engine.applied)" 'debug \(file: true, running: false\)'
cp /run/daemon.json.good /etc/docker/daemon.json

systemctl stop nfs-server
run_check nfs-stopped
check "NFS server stopped: exit 2 (got $rc)" [ $rc = 2 ]
check "NFS server stopped: /home red, named with its server" has "$(item nfs-stopped mounts:/home)" '^red .*/home \(NFS from 127.0.0.1:/srv/nfs/home\) did not answer within 3 s'
echo "FIGURE check: NFS server stopped: $dt s (timeout 3 s)"
check "NFS server stopped: answered within timeout + 2 s ($dt s)" awk -v d="$dt" 'BEGIN{exit !(d < 5)}'
systemctl start nfs-server; sleep 2

docker swarm leave --force > /dev/null 2>&1
run_check out-of-swarm
check "out of the swarm: exit 2 (got $rc)" [ $rc = 2 ]
check "out of the swarm: swarm.local red" has "$(item out-of-swarm swarm.local)" '^red .*it is not in a swarm'

lvchange --monitor n docker/thinpool
run_check unmonitored
check "not monitored: exit 2 (got $rc)" [ $rc = 2 ]
check "not monitored: autoextend red" has "$(item unmonitored storage.autoextend)" '^red .*not monitored by dmeventd.*autoextend cannot fire'
lvchange --monitor y docker/thinpool

# Fill the pool through a thin volume, with the VG's free space taken (autoextend cannot help).
# docker drives the pool itself (its thin devices bypass LVM, so lvcreate -T is refused on the
# transaction id): the volume is made the way docker makes its own, with dmsetup.
lvcreate -q -l 100%FREE -n hog docker > /dev/null
POOL=$(lvfield thinpool lv_size)
dmsetup message /dev/mapper/docker-thinpool 0 "create_thin 16000000"
dmsetup create swarmnode-fill --table "0 $((POOL * 2 / 512)) thin /dev/mapper/docker-thinpool 16000000"
fill_to() { # PERCENT of the pool written into the thin volume
  dd if=/dev/zero of=/dev/mapper/swarmnode-fill bs=4M oflag=direct count=$((POOL * $1 / 100 / 4194304)) status=none
  sync; lvs docker/thinpool
}
fill_to 84
run_check filled-warn
check "pool past warn: storage.thinpool yellow with its figures" has "$(item filled-warn storage.thinpool)" '^yellow .*data 8[0-9]\.[0-9]% of'
check "pool past warn: VG full, autoextend yellow" has "$(item filled-warn storage.autoextend)" '^yellow .*autoextend cannot fire'
fill_to 93
run_check filled-crit
check "pool past crit: exit 2 (got $rc)" [ $rc = 2 ]
check "pool past crit: storage.thinpool red with its figures" has "$(item filled-crit storage.thinpool)" '^red .*data 9[0-9]\.[0-9]% of'
$S --profile $C check --format prometheus > /run/check-filled.prom
check "pool past crit: the data ratio in the metrics" sh -c "awk '/^swarmnode_thinpool_data_ratio /{exit !(\$2 > 0.9)}' /run/check-filled.prom"
