# The mounts step against a real NFS server: the guest exports three directories and mounts them over
# loopback at /home, /project and /mnt/docker (NFSv4, hard mounts, as at the site). `swarmnode mounts`
# passes; with the server stopped, and then with its port blocked, the STATFS probe hangs in the
# kernel and swarmnode returns 75 naming the path and the server within timeout + 2 s; a path that is
# a local file system is refused (65).
# about: 65 s
# disks: 1G
nfs_loopback home:/home project:/project docker:/mnt/docker
findmnt -t nfs4
P=/run/mounts.json
echo '{"mounts": {"nfs": ["/home", "/project", "/mnt/docker"], "timeout_seconds": 3}}' > $P
$S --profile $P mounts > /run/swarmnode-mounts-ok.log 2>&1; rc=$?
cat /run/swarmnode-mounts-ok.log
check "server up: exit 0 (got $rc)" [ $rc = 0 ]
check "server up: each path answered" [ "$(grep -c 'nfs4 from 127.0.0.1:/srv/nfs/.*, answered in' /run/swarmnode-mounts-ok.log)" = 3 ]

# A local file system where NFS is wanted.
mkdir -p /srv/local && mount -t tmpfs tmpfs /project
out=$($S --profile $P mounts 2>&1); rc=$?; echo "$out"
check "/project is tmpfs: exit 65 (got $rc)" [ $rc = 65 ]
check "/project is tmpfs: says so" sh -c "echo \"\$1\" | grep -q '/project is tmpfs from tmpfs, not NFS'" _ "$out"
umount /project

# The server stopped: its clients' STATFS calls hang (hard mounts retry forever).
systemctl stop nfs-server
t=$(now); out=$($S --profile $P mounts 2>&1); rc=$?; dt=$(secs "$t" "$(now)"); echo "$out"
check "server stopped: exit 75 (got $rc)" [ $rc = 75 ]
echo "FIGURE nfs: server stopped: swarmnode mounts returned in $dt s (timeout 3 s)"
check "server stopped: back within timeout + 2 s ($dt s)" awk -v d="$dt" 'BEGIN{exit !(d < 5)}'
check "server stopped: names the path and the server" sh -c "echo \"\$1\" | grep -q '/home (NFS from 127.0.0.1:/srv/nfs/home) did not answer within 3 s'" _ "$out"

# The server running again, but its port blocked.
systemctl start nfs-server
sleep 2
$S --profile $P mounts > /dev/null 2>&1; rc=$?
check "server back: exit 0 (got $rc)" [ $rc = 0 ]
iptables -I INPUT -p tcp --dport 2049 -j DROP
t=$(now); out=$($S --profile $P mounts 2>&1); rc=$?; dt=$(secs "$t" "$(now)"); echo "$out"
check "port blocked: exit 75 (got $rc)" [ $rc = 75 ]
echo "FIGURE nfs: port blocked: swarmnode mounts returned in $dt s (timeout 3 s)"
check "port blocked: back within timeout + 2 s ($dt s)" awk -v d="$dt" 'BEGIN{exit !(d < 5)}'
check "port blocked: names the server" sh -c "echo \"\$1\" | grep -q 'NFS from 127.0.0.1:/srv/nfs/.*did not answer'" _ "$out"
ps -eo pid,stat,args | grep '[s]tat -f' | head -5
