# backup and restore under a real systemd (issue 31): bookworm's docker.io (docker.service and
# docker.socket), a one-node swarm with a running service, a secret and a config. apply with a
# backup section installs swarmnode-backup.timer; its service, started as the timer starts it,
# changes nothing on the swarm's only manager. `backup` is refused there without --force; with it
# the archive is written (0600, in a 0700 directory) while docker is stopped, and docker, the node
# and its task come back. Killed right after docker stopped, docker stays down with the record,
# and the next run finishes the backup and starts docker. check's swarm.managers is green with the
# backup's age. Then the swarm is left (lost) and `restore` brings back the service, the secret
# and the config in a swarm of this manager alone; its task runs again; a second restore is
# refused.
# about: 329 s
# disks: 4G
D=$(data 1)
P=/etc/swarmnode/profile.json; mkdir -p /etc/swarmnode
printf '{"storage": {"device": "%s"}, "engine": {"start": true}, "backup": {"keep": 2, "interval": "1d"}}\n' "$D" > $P
$S apply > /run/swarmnode-apply.log 2>&1; rc=$?
check "apply with a backup section exits 0 (got $rc)" [ $rc = 0 ]
check "the backup timer is enabled and active" sh -c "systemctl is-enabled -q swarmnode-backup.timer && systemctl is-active -q swarmnode-backup.timer"
check "its service runs backup --scheduled with the profile" grep -q "^ExecStart=.* --profile $P backup --scheduled$" /etc/systemd/system/swarmnode-backup.service
$S --json apply > /run/swarmnode-apply2.json 2>/run/swarmnode-apply2.err
check "a second apply changes nothing" jq -e '.result == "converged" and ([.steps[].actions[]] | length == 0)' /run/swarmnode-apply2.json
check "the timer runs every 1d (backup.interval)" grep -q '^OnUnitActiveSec=1440min$' /etc/systemd/system/swarmnode-backup.timer

docker swarm init --advertise-addr 127.0.0.1 > /dev/null
NODE=$(docker info -f '{{.Swarm.NodeID}}')
sleeper_image
docker service create -d --name web --no-resolve-image sleeper:1 /bin/sleep 86400 > /dev/null
printf 's3cret' | docker secret create db_pass - > /dev/null
printf 'listen 80' | docker config create app_cfg - > /dev/null
running() { [ "$(docker service ps -q --filter desired-state=running web 2>/dev/null | head -1 | xargs -r docker inspect -f '{{.Status.State}}' 2>/dev/null)" = running ]; }
wait_running() { local t; for t in $(seq 240); do running && return 0; sleep 0.5; done; return 1; }
check "the service's task runs" wait_running

systemctl start swarmnode-backup.service; rc=$?
check "the timer's service on the only manager succeeds and changes nothing" sh -c \
  "[ $rc = 0 ] && journalctl -u swarmnode-backup.service | grep -q 'a scheduled backup would stop it' && [ ! -d /var/backups/swarmnode ] && systemctl is-active -q docker"
$S backup > /run/swarmnode-backup-refused.log 2>&1; rc=$?
check "backup on the only manager is refused without --force (exit $rc)" sh -c "[ $rc = 65 ] && grep -q \"the swarm's only manager\" /run/swarmnode-backup-refused.log"

t0=$(now); $S backup --force > /run/swarmnode-backup.log 2>&1; rc=$?; t1=$(now)
[ $rc = 0 ] && pass "backup --force exits 0 in $(secs $t0 $t1) s" || { fail "backup --force: exit $rc"; tail -20 /run/swarmnode-backup.log; }
A=$(ls /var/backups/swarmnode/swarm-*-"$NODE".tar.gz | head -1)
check "the archive: 0600 root, in a 0700 directory" [ "$(stat -c '%a %U' "$A")/$(stat -c '%a' /var/backups/swarmnode)" = "600 root/700" ]
check "it holds swarm/ and backup.json" sh -c "tar -tzf '$A' | grep -qx backup.json && tar -tzf '$A' | grep -q '^swarm/raft/'"
check "docker and its socket run again, the node leads" sh -c \
  "systemctl is-active -q docker.service && systemctl is-active -q docker.socket && [ \"\$(docker node inspect self -f '{{.ManagerStatus.Leader}}')\" = true ]"
check "the service's task runs again" wait_running

$S check > /run/swarmnode-check.log 2>&1
check "check: swarm.managers green, with the newest backup" grep -Eq '^green +swarm.managers +1 managers, 1 reachable \(quorum 1\); this one leads; newest backup' /run/swarmnode-check.log

SWARMNODE_FAILPOINT=backup.docker-stop $S backup --force > /run/swarmnode-backup-killed.log 2>&1; rc=$?
check "killed right after docker stopped (exit $rc): docker down, the record there" sh -c \
  "[ $rc = 137 ] && ! systemctl is-active -q docker.service && [ -f /var/lib/swarmnode/backup.json ]"
$S check > /run/swarmnode-check-killed.log 2>&1
check "check says the backup has not finished" grep -q 'has not finished' /run/swarmnode-check-killed.log
$S backup --force > /run/swarmnode-backup-after.log 2>&1; rc=$?
check "the next run finishes it (exit $rc) and says docker was left stopped" sh -c \
  "[ $rc = 0 ] && grep -q 'docker was left stopped' /run/swarmnode-backup-after.log && systemctl is-active -q docker.service && [ ! -e /var/lib/swarmnode/backup.json ]"
check "two archives now (backup.keep is 2)" [ "$(ls /var/backups/swarmnode | grep -c 'tar.gz$')" = 2 ]
check "the task runs again" wait_running

# The swarm is lost: this engine leaves it. restore brings it back from the newest archive.
A=$(ls /var/backups/swarmnode/swarm-*.tar.gz | sort | tail -1)
docker swarm leave --force > /dev/null 2>&1
check "left: docker holds no swarm" [ "$(docker info -f '{{.Swarm.LocalNodeState}}')" = inactive ]
t0=$(now); $S restore "$A" > /run/swarmnode-restore.log 2>&1; rc=$?; t1=$(now)
[ $rc = 0 ] && pass "restore exits 0 in $(secs $t0 $t1) s" || { fail "restore: exit $rc"; tail -20 /run/swarmnode-restore.log; }
check "restored: the same node leads a swarm again" sh -c "[ \"\$(docker info -f '{{.Swarm.NodeID}}/{{.Swarm.LocalNodeState}}')\" = '$NODE/active' ] && [ \"\$(docker node inspect self -f '{{.ManagerStatus.Leader}}')\" = true ]"
check "restored: the service, the secret and the config" sh -c \
  "docker service ls --format '{{.Name}}' | grep -qx web && docker secret ls --format '{{.Name}}' | grep -qx db_pass && docker config ls --format '{{.Name}}' | grep -qx app_cfg"
check "restored: it said what it restored" grep -q 'services 1 (web); secrets 1 (db_pass); configs 1 (app_cfg)' /run/swarmnode-restore.log
check "restored: the task runs again" wait_running
$S restore "$A" > /run/swarmnode-restore-again.log 2>&1; rc=$?
check "a second restore is refused (exit $rc): docker holds a swarm" sh -c "[ $rc = 65 ] && grep -q 'docker here holds a swarm' /run/swarmnode-restore-again.log"
