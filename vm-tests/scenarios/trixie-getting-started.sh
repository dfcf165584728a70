# docs/getting-started.md, "Try it on one spare node", run as it is written: its shell blocks are
# read out of the markdown (the copy in the payload), the example disk name replaced by the guest's
# data disk, and each command run from the release folder (the payload holds the binary and
# profiles/, as the artefacts folder does). A current engine (trixie, docker 26): overlay2.
# about: 86 s
# guest: trixie
# disks: 4G
D=$(data 1)
cd /payload
awk '/^## Try it on one spare node/ {f=1; next} f && /^## / {exit}
     f && /^ *```sh/ {b=1; next} b && /^ *```/ {b=0; next} b {sub(/^ +/, ""); print}' \
  docs/getting-started.md | sed "s#/dev/disk/by-id/wwn-0x5000c500a1b2c3d4#$D#g" > /run/getting-started.sh
cat /run/getting-started.sh
check "the guide's commands were read (9 lines)" [ "$(wc -l < /run/getting-started.sh)" = 9 ]
n=0
while IFS= read -r cmd; do
  n=$((n+1))
  out=$(bash -c "$cmd" 2>&1); rc=$?
  echo "\$ $cmd  (exit $rc)"; echo "$out" | tail -25
  case $cmd in
    "swarmnode check"*) check "step $n: \`$cmd\` answers green or yellow (exit $rc)" [ $rc -le 1 ] ;;
    *) check "step $n: \`$cmd\` exits 0 (got $rc)" [ $rc = 0 ] ;;
  esac
  case $cmd in
    "swarmnode apply"*)
      if [ -z "${seq1:-}" ]; then
        check "after the first apply: docker runs on overlay2 on the XFS volume" sh -c \
          "docker info 2>/dev/null | grep -q 'Storage Driver: overlay2' && docker info 2>/dev/null | grep -q 'Backing Filesystem: xfs'"
        seq1=$(vgfield vg_seqno)
      else
        check "the second apply changed nothing (VG seqno $seq1)" [ "$(vgfield vg_seqno)" = "$seq1" ]
      fi ;;
    "swarmnode reset") check "reset alone removed nothing" sh -c "findmnt /var/lib/docker >/dev/null && vgs docker >/dev/null 2>&1" ;;
    "swarmnode reset --yes")
      check "reset --yes: the volume group is gone and the disk carries no signature" sh -c \
        "! vgs docker >/dev/null 2>&1 && [ -z \"\$(wipefs --no-act --noheadings '$D' 2>/dev/null)\" ]"
      check "reset --yes: /var/lib/docker is not mounted" sh -c "! findmnt /var/lib/docker >/dev/null" ;;
  esac
done < /run/getting-started.sh
