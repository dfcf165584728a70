# Helpers for scenarios (sourced in the guest). Every check prints one PASS or FAIL line.
S=/payload/swarmnode
SCEN=$(cat /payload/name)
pass() { echo "PASS $SCEN: $*"; }
fail() { echo "FAIL $SCEN: $*"; }
# check "what" command... : PASS when the command succeeds.
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
# expect RC "what" command...: PASS when the command exits with RC. Output goes to the log.
expect_rc() {
  local want=$1 what=$2 rc; shift 2
  "$@"; rc=$?
  if [ "$rc" = "$want" ]; then pass "$what (exit $rc)"; else fail "$what: exit $rc, wanted $want"; fi
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }
data() { echo "/dev/disk/by-id/virtio-DATA$1"; }
# sha256 of the first and last MiB, and what blkid sees: must not change on a refused device.
fingerprint() {
  local d; d=$(readlink -f "$1")
  local mib=$(( $(blockdev --getsize64 "$d") / 1048576 ))
  dd if="$d" bs=1M count=1 status=none | sha256sum
  dd if="$d" bs=1M skip=$((mib - 1)) count=1 status=none | sha256sum
  blkid -p "$d" 2>&1 | sed 's/^[^:]*: //'
}
# The end state of the storage step as LVM reports it (sizes in bytes).
lvs_state() {
  lvs -a --noheadings --units b --nosuffix -o lv_name,lv_attr,lv_size,segtype,chunk_size,zero,lv_profile,seg_monitor,lv_tags "${1:-docker}" 2>&1 | awk '{$1=$1; print}' | sort
}
lvfield() { lvs --noheadings --units b --nosuffix -o "$2" "docker/$1" 2>/dev/null | tr -d ' '; }
vgfield() { vgs --noheadings --units b --nosuffix -o "$1" docker 2>/dev/null | tr -d ' '; }
# Removes everything the storage step made, so the next case starts from a blank disk.
teardown() {
  local d=$1
  systemctl stop docker docker.socket >/dev/null 2>&1
  umount /var/lib/docker 2>/dev/null
  vgremove -ff -y docker >/dev/null 2>&1
  pvremove -ff -y "$d" >/dev/null 2>&1
  wipefs -a -q "$d" 2>/dev/null
  rm -rf /etc/lvm/profile/docker-thinpool.profile /var/lib/swarmnode /var/lib/docker /etc/docker/daemon.json
  mkdir -p /var/lib/docker
  sed -i '\#/var/lib/docker#d' /etc/fstab
}
# The number of external commands a verbose run started, from its log.
commands_in() { grep -c ' run cmd=' "$1"; }
mutating_in() { grep ' run cmd=' "$1" | grep -E 'cmd=(pvcreate|vgcreate|lvcreate|lvconvert|lvchange|lvremove|vgchange|lvm lvmdevices|wipefs --all|mkfs|mount|cp|systemctl)' | grep -vc 'cmd=systemctl is-active'; }
# A tiny image made from the static swarmnode binary: no registry, no network needed.
docker_image() {
  local d; d=$(mktemp -d); cp "$S" "$d/swarmnode"
  tar -C "$d" -c . | docker import - swarmnode-test:1 >/dev/null && rm -rf "$d"
}
# NFS over loopback, as the site mounts its servers (NFSv4, hard): each NAME:MOUNTPOINT exports
# /srv/nfs/NAME and mounts it at MOUNTPOINT from /etc/fstab, now.
nfs_loopback() {
  local e
  for e in "$@"; do
    mkdir -p "/srv/nfs/${e%%:*}" "${e#*:}"
    echo "/srv/nfs/${e%%:*} 127.0.0.1(rw,sync,no_subtree_check,no_root_squash)" >> /etc/exports
    echo "127.0.0.1:/srv/nfs/${e%%:*} ${e#*:} nfs4 defaults,_netdev 0 0" >> /etc/fstab
  done
  systemctl restart nfs-server && systemctl daemon-reload
  for e in "$@"; do mount "${e#*:}"; done
}
# A node set up like the seed: its swarm.conf drop-in (dockerd flags with a plaintext API on
# ADDR:2375), and the registry CA where the production profile reads it (NFS at the site).
seed_dropin() {
  mkdir -p /etc/systemd/system/docker.service.d /etc/docker /mnt/docker/registry
  cp /payload/registry-ca.crt /mnt/docker/registry/ca.crt
  printf '[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H unix:///var/run/docker.sock -H tcp://%s:2375\n' "$1" \
    > /etc/systemd/system/docker.service.d/swarm.conf
}
# migrate-storage (issue 30): a devicemapper node as swarmnode makes it (docker 20.10 on the thin
# pool), in a one-node swarm, labelled, with a named volume holding a file and a service's task
# using it. Sets NODE. The image is /bin/sleep with its libraries (no registry here).
MIG_PROFILE=/root/migrate-node.json
migrate_setup() {
  local d=$1 t
  teardown "$(readlink -f "$d")"
  rm -rf /var/lib/docker.swarmnode-old /var/lib/docker.swarmnode-dropped /run/swarmnode/dockerdata
  printf '{"storage": {"device": "%s"}, "engine": {"start": true}}\n' "$d" > "$MIG_PROFILE"
  $S apply --profile "$MIG_PROFILE" > /run/swarmnode-mig-setup.log 2>&1 || { echo "setup apply failed:"; cat /run/swarmnode-mig-setup.log; return 1; }
  docker swarm init --advertise-addr 127.0.0.1 > /dev/null || return 1
  NODE=$(docker info -f '{{.Swarm.NodeID}}')
  docker node update --label-add rack=b2 --label-add function=production "$NODE" > /dev/null
  docker volume create data > /dev/null
  echo "kept across the move" > /var/lib/docker/volumes/data/_data/kept.txt
  sleeper_image
  docker service create -d --name web --no-resolve-image --mount type=volume,src=data,dst=/d \
    sleeper:1 /bin/sleep 86400 > /dev/null
  for t in $(seq 120); do
    [ "$(docker service ps -q --filter desired-state=running web | head -1 | xargs -r docker inspect -f '{{.Status.State}}')" = running ] && return 0
    sleep 0.5
  done
  echo "web did not start"; docker service ps --no-trunc web; return 1
}
sleeper_image() {
  local d l; d=$(mktemp -d); mkdir -p "$d/bin"; cp /bin/sleep "$d/bin/"
  for l in $(ldd /bin/sleep | grep -o '/[^ ]*'); do mkdir -p "$d$(dirname "$l")"; cp "$l" "$d$l"; done
  tar -C "$d" -c . | docker import - sleeper:1 > /dev/null && rm -rf "$d"
}
# Where the volume's file is while a migration is stopped: in one place or two, never none.
kept_where() {
  local f=volumes/data/_data/kept.txt p w=""
  for p in /var/lib/docker /run/swarmnode/dockerdata /var/lib/docker.swarmnode-old; do
    [ "$(cat "$p/$f" 2>/dev/null)" = "kept across the move" ] && w="$w $p"
  done
  echo "${w:- nowhere}"
}
# What must hold after a migration, one line each (compared against "ok").
migrate_state() {
  echo "node $( [ "$(docker info -f '{{.Swarm.NodeID}}/{{.Swarm.LocalNodeState}}' 2>&1)" = "$NODE/active" ] && echo ok || docker info -f '{{.Swarm.NodeID}}/{{.Swarm.LocalNodeState}}' 2>&1)"
  echo "labels $( [ "$(docker node inspect -f '{{json .Spec.Labels}}' "$NODE" 2>&1)" = '{"function":"production","rack":"b2"}' ] && echo ok || docker node inspect -f '{{json .Spec.Labels}}' "$NODE" 2>&1)"
  echo "file $( [ "$(cat /var/lib/docker/volumes/data/_data/kept.txt 2>&1)" = "kept across the move" ] && echo ok || echo missing)"
  echo "driver $( [ "$(docker info -f '{{.Driver}}' 2>&1)" = overlay2 ] && echo ok || docker info -f '{{.Driver}}' 2>&1)"
  echo "mount $(findmnt -n -o SOURCE,FSTYPE /var/lib/docker | grep -q 'docker-dockerdata xfs' && findmnt -n -o OPTIONS /var/lib/docker | grep -q prjquota && echo ok || findmnt -n -o SOURCE,FSTYPE,OPTIONS /var/lib/docker)"
  echo "pool $( lvs docker/thinpool >/dev/null 2>&1 && echo 'still there' || echo ok)"
  echo "dm-opts $(grep -q 'dm\.' /etc/docker/daemon.json && echo 'still there' || echo ok)"
  echo "dropped $( [ -e /var/lib/docker.swarmnode-dropped ] && echo 'still there' || echo ok)"
  echo "record $( [ -e /var/lib/swarmnode/migrate.json ] && echo 'still there' || echo ok)"
  echo "availability $( [ "$(docker node inspect -f '{{.Spec.Availability}}' "$NODE" 2>&1)" = active ] && echo ok || docker node inspect -f '{{.Spec.Availability}}' "$NODE" 2>&1)"
}
