# How swarmnode tells that it runs in a kickstart %post. Anaconda runs %post chrooted into the installed
# system on its own file system, with the installer's /proc and /run bind-mounted in: PID 1 is the
# installer's systemd and /run/systemd/system exists, so only "/ is not PID 1's root" gives it away. Here
# the same is built on a running guest: a tmpfs root with the static binary, /proc and /run bound in.
# Also: a PID namespace (PID 1 is not systemd), and the booted system itself (online).
# about: 33 s
# disks: 1G
C=/mnt/sysimage
mkdir -p $C && mount -t tmpfs tmpfs $C
mkdir -p $C/proc $C/run $C/etc/swarmnode
mount --bind /proc $C/proc
mount --rbind /run $C/run
cp "$S" $C/swarmnode
echo '{"swarm": {"managers": ["10.0.0.1"], "token": {"source": "ssh"}}}' > $C/etc/swarmnode/profile.json
cp $C/etc/swarmnode/profile.json /run/chroot-profile.json
check "the chroot sees systemd as PID 1" [ "$(chroot $C /swarmnode --version >/dev/null && cat $C/proc/1/comm)" = systemd ]
out=$(chroot $C /swarmnode plan 2>&1); rc=$?; echo "$out"
check "chroot: plan exits 0 (got $rc)" [ $rc = 0 ]
check "chroot: offline because chrooted" sh -c "echo \"\$1\" | grep -q '^offline: running chrooted: / is not PID 1.s root (kickstart %post)'" _ "$out"
check "chroot: the join is deferred" sh -c "echo \"\$1\" | grep -q '^swarm: skipped: deferred to the first boot'" _ "$out"
check "chroot: the first-boot unit is planned" sh -c "echo \"\$1\" | grep -q 'write  /etc/systemd/system/swarmnode-firstboot.service'" _ "$out"
out=$(unshare --pid --fork --mount-proc $S --profile /run/chroot-profile.json plan 2>&1); rc=$?; echo "$out"
check "PID namespace: plan exits 0 (got $rc)" [ $rc = 0 ]
check "PID namespace: offline because PID 1 is not systemd" sh -c "echo \"\$1\" | grep -q '^offline: PID 1 is swarmnode, not systemd'" _ "$out"
out=$($S --profile /run/chroot-profile.json plan 2>&1); rc=$?; echo "$out"
check "booted: not offline" sh -c "! echo \"\$1\" | grep -q '^offline:'" _ "$out"
check "booted: the swarm step observes the engine (docker is not running here: says so)" sh -c "echo \"\$1\" | grep -q '^swarm: skipped: cannot reach the docker engine'" _ "$out"
umount -l $C/run $C/proc; umount $C
