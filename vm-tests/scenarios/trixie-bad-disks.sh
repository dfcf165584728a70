# bad-disks in the trixie guest (docker 26, lvm2 2.03.31; provisioning with --wipe gives overlay2).
# about: 145 s
# guest: trixie
# disks: 4G 4G 4G 4G 4G 512M 4G:ro 4G
source /payload/scenarios/bad-disks.sh
