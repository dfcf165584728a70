# capture-lvm in the trixie guest (lvm2 2.03.31).
# guest: trixie
# ci: no
# disks: 4G 4G
source /payload/scenarios/capture-lvm.sh
