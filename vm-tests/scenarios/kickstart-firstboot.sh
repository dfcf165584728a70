# The whole node, end to end, the way the shipped kickstart and profile build it: EL9's current
# docker-ce stands in as trixie's docker 26 (overlay2), and the node reaches its manager through the
# broker with a bootstrap key, as docs/kickstart.md and docs/managers.md say.
# The manager (vm-tests/run.sh, "# network: swarm-broker"; swarm-tests/broker-manager.sh) is a real
# dockerd in a network namespace on the host, swarmnode installed there from the RPM with its own
# sshd, its broker's side made by one `swarmnode apply` with the managers' profile of
# docs/managers.md, and `swarmnode broker bootstrap` run there: its bootstrap.ks is pasted into
# post.ks at the mark, as the site does.
# Boot 1 is the installer's %post: kickstart/post.ks runs as it is (files fetched from a file://
# "install tree", the sums written in, bootstrap.ks pasted), in a PID namespace where PID 1 is not
# systemd, so `swarmnode apply` runs offline: it makes the XFS volume for overlay2, writes docker's
# configuration, enables docker, installs and enables the first-boot unit, and defers the rest (the
# registry CA on NFS, the NFS answering check, the join), one line each.
# Boot 2 is the first boot, with the manager cut off (a test unit rejects traffic to it during this
# boot only): the unit fails with 69 after join_timeout_seconds, visibly, and writes no stamp.
# Boot 3, the manager reachable again: swarmnode-firstboot.service runs again and finishes the node:
# docker on the volume, the NFS mounts (served by this guest over loopback, standing in for the
# site's servers) answering, the CA from NFS trusted; the node makes its own key, gets the token
# with the bootstrap key, joins (CA pinned), enrols its key and labels itself function=production
# through the broker. The stamp is written. Boot 4: the unit does not run again; the node is still
# in the swarm. Boot 5: the node is kickstarted again (`# fresh-root`: a new system disk and
# machine-id, the data disk with the volume docker used kept), now with the repository variant
# (node-repo.ks): post-repo.ks's %post as written, against the site's signed repository that
# run.sh put in the payload (the site's RPM with its profile; packaging/repo-lib.sh): the key
# pinned and imported, dnf with gpgcheck and repo_gpgcheck, the key ID checked, the package
# installed; then /usr/sbin/swarmnode apply, offline, REPROVISION=yes, makes the volume again and
# enables the package's own first-boot unit. Boot 6: that unit, under /usr/lib, finishes the node as a new one,
# enrolled again; its old entry (Down, same hostname) is removed through the broker
# (remove_stale_nodes, as the shipped profile has it); nothing was copied to /usr/local/sbin or
# /etc/systemd/system. Boot 7: the unit does not run again; `rpm -e swarmnode` removes the
# package's files, disables its unit, and leaves the node's configuration and the node in the swarm.
# about: 648 s
# guest: trixie
# boots: 7
# fresh-root: 5
# disks: 4G
# network: swarm-broker
D=$(data 1)
M=10.77.0.1
manager() {  # the test's own look at the manager (its TLS API): not the node's credentials
  docker -H tcp://$M:2376 --tlsverify --tlscacert /root/test-pki/ca.pem \
    --tlscert /root/test-pki/cert.pem --tlskey /root/test-pki/key.pem "$@"
}
# What the kickstart's own sections and the site give the node, alike at the first installation and
# at the re-kickstart: network, NFS, the install tree with the profile ($1: a jq edit of it), the
# swarm credentials, and post.ks with the sums written in (/run/post.sh).
site_setup() {
  # What the kickstart's own sections give the node: an address on the cluster network, NFS in fstab.
  mkdir -p /etc/systemd/network
  printf '[Match]\nName=en*\n[Network]\nAddress=10.77.0.50/24\n' > /etc/systemd/network/10-cluster.network
  systemctl enable systemd-networkd systemd-networkd-wait-online >/dev/null 2>&1
  mkdir -p /srv/nfs/home /srv/nfs/project /srv/nfs/docker/registry /project /mnt/docker
  cp /payload/registry-ca.crt /srv/nfs/docker/registry/ca.crt
  for e in home project docker; do echo "/srv/nfs/$e 127.0.0.1(rw,sync,no_subtree_check,no_root_squash)"; done > /etc/exports
  systemctl enable nfs-server >/dev/null 2>&1
  for e in home:/home project:/project docker:/mnt/docker; do
    echo "127.0.0.1:/srv/nfs/${e%%:*} ${e#*:} nfs4 defaults,_netdev,x-systemd.requires=nfs-server.service 0 0"
  done >> /etc/fstab
  # The install tree the %post fetches from: the binary and the shipped node profile with the
  # site's values (its manager, its CA pin, a short join timeout for the test).
  mkdir -p /run/ks/profiles /root/test-pki
  cp /payload/swarmnode /run/ks/swarmnode
  cp /payload/site-profile.json /run/ks/profiles/node.json
  cp /payload/pki/*.pem /root/test-pki/
  # The site writes the two sums into its kickstart (the trust root) and pastes bootstrap.ks at its
  # mark, as post.ks and docs/kickstart.md say.
  sed -n '/^%post/,/^%end/p' /payload/kickstart/post.ks | sed '1d;$d' |
    sed -e "s/REPLACE-with-the-sha256-of-swarmnode/$(sha256sum < /run/ks/swarmnode | cut -d' ' -f1)/" \
        -e "s/REPLACE-with-the-sha256-of-the-profile/$(sha256sum < /run/ks/profiles/node.json | cut -d' ' -f1)/" \
        -e '/^# --- bootstrap.ks ---$/r /payload/bootstrap.ks' > /run/post.sh
}
run_post() {
  SWARMNODE_URL=file:///run/ks DATA_DISK=$D PROFILE=node.json \
    unshare --pid --fork --mount-proc bash /run/post.sh > /run/swarmnode-post.log 2>&1
}
# The first boot's unit finished the node ($1 names the boot in each check).
finished() {
  journalctl -b -u swarmnode-firstboot --no-pager -o cat > /run/swarmnode-firstboot.log 2>&1
  cat /run/swarmnode-firstboot.log
  check "$1: the unit ran and succeeded" [ "$(systemctl show -p Result --value swarmnode-firstboot)" = success ]
  check "$1: the stamp is written" [ -e /var/lib/swarmnode/firstboot.done ]
  check "$1: report says exit 0" [ "$(jq .exit_code /var/lib/swarmnode/report.json)" = 0 ]
  check "$1: docker runs on overlay2" [ "$(docker info --format '{{.Driver}}')" = overlay2 ]
  check "$1: on the XFS volume" sh -c "docker info 2>/dev/null | grep -q 'Backing Filesystem: xfs' && [ \"\$(findmnt -n -o SOURCE /var/lib/docker)\" = /dev/mapper/docker-dockerdata ]"
  check "$1: the node made its own key (0600)" [ "$(stat -c %a /etc/swarmnode/node_key 2>/dev/null)" = 600 ]
  check "$1: the key was enrolled" grep -q 'enrol' /run/swarmnode-firstboot.log
  check "$1: the three NFS mounts answered" [ "$(grep -c 'nfs4 from 127.0.0.1:/srv/nfs/.*answered in' /run/swarmnode-firstboot.log)" = 3 ]
  check "$1: the registry CA came from NFS" cmp /payload/registry-ca.crt /etc/docker/certs.d/docker-registry.dccn.nl:5000/ca.crt
  check "$1: the node is in the swarm" [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = active ]
  ID=$(docker info --format '{{.Swarm.NodeID}}')
  manager node ls
  check "$1: the manager sees it ready" [ "$(manager node inspect -f '{{.Status.State}}' "$ID")" = ready ]
  check "$1: labelled function=production by the manager" [ "$(manager node inspect -f '{{index .Spec.Labels "function"}}' "$ID")" = production ]
  check "$1: advertised on the cluster network" [ "$(manager node inspect -f '{{.Status.Addr}}' "$ID")" = 10.77.0.50 ]
}
if [ "$BOOT" = 1 ]; then
  site_setup
  # Test only: during the next boot, and that boot only, the manager is unreachable.
  cat > /etc/systemd/system/vmtest-cut-manager.service <<'U'
[Unit]
Description=test: reject traffic to the swarm manager during one boot
Before=swarmnode-firstboot.service
ConditionPathExists=!/var/lib/vmtest-cut-done
[Service]
Type=oneshot
ExecStart=/usr/sbin/iptables -I OUTPUT -d 10.77.0.1 -j REJECT
ExecStart=/usr/bin/touch /var/lib/vmtest-cut-done
[Install]
WantedBy=multi-user.target
U
  systemctl enable vmtest-cut-manager >/dev/null 2>&1
  # A download server that serves another binary than the kickstart names: nothing is installed.
  cp /run/ks/swarmnode /run/ks/swarmnode.good; printf 'x' >> /run/ks/swarmnode
  SWARMNODE_URL=file:///run/ks DATA_DISK=$D PROFILE=node.json \
    unshare --pid --fork --mount-proc bash /run/post.sh > /run/swarmnode-post-tampered.log 2>&1; rc=$?
  cat /run/swarmnode-post-tampered.log
  check "%post with a tampered binary: fails (exit $rc)" [ $rc != 0 ]
  check "%post with a tampered binary: says it does not match the kickstart" grep -q 'does not have the sha256 written in the kickstart' /run/swarmnode-post-tampered.log
  check "%post with a tampered binary: nothing installed, no VG" sh -c '[ ! -e /usr/local/sbin/swarmnode ] && [ ! -e /usr/local/sbin/swarmnode.new ] && ! vgs docker >/dev/null 2>&1'
  mv /run/ks/swarmnode.good /run/ks/swarmnode
  run_post; rc=$?
  cat /run/swarmnode-post.log
  check "%post: exit 0 (got $rc)" [ $rc = 0 ]
  check "%post: swarmnode saw it was offline" grep -q '^offline: PID 1 is bash, not systemd' /run/swarmnode-post.log
  check "%post: the join is deferred" grep -q '^swarm: skipped: deferred to the first boot' /run/swarmnode-post.log
  check "%post: the NFS check is deferred" grep -q '^mounts: whether the servers answer is checked at first boot' /run/swarmnode-post.log
  check "%post: the registry CA on NFS is deferred" grep -q 'is not there yet (on NFS?): installed at first boot' /run/swarmnode-post.log
  check "%post: the pasted bootstrap.ks lines wrote the key and known_hosts, 0600" sh -c \
    '[ "$(stat -c %a /etc/swarmnode/bootstrap_key)" = 600 ] && [ "$(stat -c %a /etc/swarmnode/known_hosts)" = 600 ]'
  check "%post: the XFS volume for overlay2 is made" lvs docker/dockerdata
  check "%post: docker was not started" sh -c '! systemctl is-active -q docker'
  check "%post: docker is enabled" [ "$(systemctl is-enabled docker)" = enabled ]
  check "%post: the first-boot unit is enabled" [ "$(systemctl is-enabled swarmnode-firstboot)" = enabled ]
  check "%post: the unit passes systemd-analyze verify" systemd-analyze verify /etc/systemd/system/swarmnode-firstboot.service
  check "%post: the binary is installed" cmp /payload/swarmnode /usr/local/sbin/swarmnode
  check "%post: the saved profile has the device" [ "$(jq -r .storage.device /etc/swarmnode/profile.json)" = "$D" ]
  check "%post: no stamp yet" [ ! -e /var/lib/swarmnode/firstboot.done ]
elif [ "$BOOT" = 2 ]; then
  journalctl -b -u swarmnode-firstboot --no-pager -o cat > /run/swarmnode-firstboot-failed.log 2>&1
  grep -v DEBUG /run/swarmnode-firstboot-failed.log | grep -E '^(swarm|Starting|Finished|swarmnode)|Failed'
  systemctl status swarmnode-firstboot --no-pager 2>&1 | head -5
  check "manager cut off: the unit failed" [ "$(systemctl show -p ActiveState --value swarmnode-firstboot)" = failed ]
  check "manager cut off: exit 69" [ "$(systemctl show -p ExecMainStatus --value swarmnode-firstboot)" = 69 ]
  check "manager cut off: says no manager took the join" grep -q 'could not join within 30 s' /run/swarmnode-firstboot-failed.log
  check "manager cut off: no stamp" [ ! -e /var/lib/swarmnode/firstboot.done ]
  check "manager cut off: the node is not left pending" [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = inactive ]
elif [ "$BOOT" = 3 ]; then
  finished "first boot, again"
  echo "$ID" > /var/lib/vmtest-node-id
  sha256sum /var/lib/swarmnode/report.json > /var/lib/vmtest-report.sha
  echo "FIGURE kickstart-firstboot: first-boot unit $(systemctl show -p ExecMainStartTimestampMonotonic --value swarmnode-firstboot) to $(systemctl show -p ExecMainExitTimestampMonotonic --value swarmnode-firstboot) us since boot"
elif [ "$BOOT" = 4 ]; then
  check "fourth boot: the unit did not run (stamp)" [ "$(systemctl show -p ConditionResult --value swarmnode-firstboot)" = no ]
  check "fourth boot: the report is the first boot's" sha256sum -c --quiet /var/lib/vmtest-report.sha
  for _ in $(seq 60); do [ "$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null)" = active ] && break; sleep 1; done
  check "fourth boot: still in the swarm, same node" [ "$(docker info --format '{{.Swarm.NodeID}}')" = "$(cat /var/lib/vmtest-node-id)" ]
elif [ "$BOOT" = 5 ]; then
  # Kickstarted again, from the site's repository: a new system disk (new machine-id); the data
  # disk keeps the volume docker used.
  systemd-id128 new > /etc/machine-id
  check "re-kickstart: the data disk holds the old volume" lvs docker/dockerdata
  site_setup
  # What EL's %packages installed, for rpm's database: the package's requirements, as names
  # (Debian's lvm2 and util-linux are dpkg's); EL's rpm database path.
  mkdir -p /etc/rpm; echo '%_dbpath /var/lib/rpm' > /etc/rpm/macros
  rpm -i --nodeps /payload/el-base.rpm 2>&1 | grep -v '^rpm: '
  # post-repo.ks's %post as written, bootstrap.ks pasted at its mark, with the site's values:
  # its repository (file:///payload/repo/: the site's RPM, its profile as node.json, signed with
  # a throwaway key, as docs/kickstart.md publishes it), the key's URL and fingerprint.
  sed -n '/^%post/,/^%end/p' /payload/kickstart/post-repo.ks | sed '1d;$d' |
    sed '/^# --- bootstrap.ks ---$/r /payload/bootstrap.ks' > /run/post-repo.sh
  export REPO_URL=file:///payload/repo/ REPO_KEY_URL=file:///payload/RPM-GPG-KEY-swarmnode
  REPO_KEY_FINGERPRINT=$(cat /payload/repo-fingerprint); export REPO_KEY_FINGERPRINT
  DATA_DISK=$D PROFILE=node.json unshare --pid --fork --mount-proc bash /run/post-repo.sh > /run/swarmnode-post.log 2>&1; rc=$?
  cat /run/swarmnode-post.log
  check "re-kickstart %post (repository): exit 0 (got $rc)" [ $rc = 0 ]
  check "re-kickstart %post: dnf installed swarmnode from the site's repository" rpm -q swarmnode
  check "re-kickstart %post: signed by the pinned key" sh -c \
    "rpm -q --qf '%{RSAHEADER:pgpsig}' swarmnode | grep -qi \"key id \$(cut -c25-40 /payload/repo-fingerprint)\""
  check "re-kickstart %post: the repository's signatures are checked (gpgcheck, repo_gpgcheck)" sh -c \
    'grep -qx gpgcheck=1 /etc/yum.repos.d/swarmnode.repo && grep -qx repo_gpgcheck=1 /etc/yum.repos.d/swarmnode.repo'
  check "re-kickstart %post: none of its own checks refused" sh -c "! grep -q 'swarmnode %post:' /run/swarmnode-post.log"
  check "re-kickstart %post: /usr/sbin/swarmnode ran offline" grep -q '^offline: PID 1 is bash, not systemd' /run/swarmnode-post.log
  check "re-kickstart %post: the previous installation's volume is made again" grep -q 're-provisioning: the previous installation' /run/swarmnode-post.log
  check "re-kickstart %post: the VG is this installation's" [ "$(vgfield vg_tags)" = "swarmnode,swarmnode-machine-$(cat /etc/machine-id)" ]
  check "re-kickstart %post: the package's first-boot unit is enabled" [ "$(systemctl is-enabled swarmnode-firstboot)" = enabled ]
  check "re-kickstart %post: it is the package's, under /usr/lib" \
    [ "$(readlink -f /etc/systemd/system/multi-user.target.wants/swarmnode-firstboot.service)" = /usr/lib/systemd/system/swarmnode-firstboot.service ]
  check "re-kickstart %post: the package's unit passes systemd-analyze verify" systemd-analyze verify /usr/lib/systemd/system/swarmnode-firstboot.service
  check "re-kickstart %post: nothing copied to /usr/local/sbin or /etc/systemd/system" \
    sh -c '[ ! -e /usr/local/sbin/swarmnode ] && [ ! -e /etc/systemd/system/swarmnode-firstboot.service ]'
elif [ "$BOOT" = 6 ]; then
  finished "first boot after the re-kickstart"
  check "first boot after the re-kickstart: one node named like this one (the old entry removed)" [ "$(manager node ls -q --filter name="$(hostname)" | wc -l)" = 1 ]
  check "first boot after the re-kickstart: the unit that ran is the package's" \
    [ "$(systemctl show -p FragmentPath --value swarmnode-firstboot)" = /usr/lib/systemd/system/swarmnode-firstboot.service ]
  check "first boot after the re-kickstart: it ran /usr/sbin/swarmnode" \
    sh -c "systemctl show -p ExecStart --value swarmnode-firstboot | grep -q 'path=/usr/sbin/swarmnode '"
  check "first boot after the re-kickstart: still nothing in /usr/local/sbin or /etc/systemd/system" \
    sh -c '[ ! -e /usr/local/sbin/swarmnode ] && [ ! -e /etc/systemd/system/swarmnode-firstboot.service ]'
  echo "$ID" > /var/lib/vmtest-node-id
  sha256sum /var/lib/swarmnode/report.json > /var/lib/vmtest-report.sha
else
  check "second boot of the packaged node: the unit did not run (stamp)" [ "$(systemctl show -p ConditionResult --value swarmnode-firstboot)" = no ]
  check "second boot of the packaged node: the report is the first boot's" sha256sum -c --quiet /var/lib/vmtest-report.sha
  for _ in $(seq 60); do [ "$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null)" = active ] && break; sleep 1; done
  check "second boot of the packaged node: still in the swarm, same node" [ "$(docker info --format '{{.Swarm.NodeID}}')" = "$(cat /var/lib/vmtest-node-id)" ]
  rpm -e swarmnode 2>&1 | grep -v '^rpm: '; rc=${PIPESTATUS[0]}
  check "rpm -e swarmnode: exit 0 (got $rc)" [ "$rc" = 0 ]
  check "rpm -e: the package's files are gone" sh -c '! rpm -q swarmnode && [ ! -e /usr/sbin/swarmnode ] &&
    [ ! -e /usr/lib/systemd/system/swarmnode-firstboot.service ] && [ ! -e /usr/share/man/man8/swarmnode.8.gz ]'
  check "rpm -e: the first-boot unit is disabled (no link left)" \
    [ ! -e /etc/systemd/system/multi-user.target.wants/swarmnode-firstboot.service ] 
  check "rpm -e: the node's configuration is kept" sh -c '[ -s /etc/swarmnode/profile.json ] && [ -s /etc/swarmnode/node_key ] &&
    [ -e /var/lib/swarmnode/firstboot.done ] && [ "$(stat -c %a /etc/swarmnode)" = 700 ]'
  check "rpm -e: docker and the node are left as they were" [ "$(docker info --format '{{.Swarm.NodeID}}')" = "$(cat /var/lib/vmtest-node-id)" ]
  ls -la /etc/systemd/system /etc/swarmnode
fi
