# crash-anywhere in the trixie guest (docker 26: driver auto gives the overlay2 XFS volume).
# about: 328 s
# guest: trixie
# disks: 4G
source /payload/scenarios/crash-anywhere.sh
