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
