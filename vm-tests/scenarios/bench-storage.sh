# Benchmark, not a test: the storage step (devicemapper, auto from the installed docker 20.10) against
# the seed script's LVM part and the minimal LVM sequence, in one boot, on the same 4 GiB disk, three
# rounds, alternating. Prints each round, the medians and their ratios, the external commands of a
# fresh run and a re-run, and where a fresh run's time goes (from -v). Run by hand:
#   vm-tests/run.sh bench-storage; grep -E 'ROUND|MEDIAN|RATIO|COMMANDS|SPENT' target/vm-results/bench-storage/out.txt
# ci: no
# disks: 4G
D=$(data 1); DEV=$(readlink -f "$D")
PROFILE='activation {
  thin_pool_autoextend_threshold=80
  thin_pool_autoextend_percent=20
}'

# The floor (the issue's "minimal sequence"): the PV, the VG, the pool in one lvcreate, the profile
# written and attached. No checks, no tags, no observation.
minimal() {
  mkdir -p /etc/lvm/profile && printf '%s\n' "$PROFILE" > /etc/lvm/profile/docker-thinpool.profile
  pvcreate -y "$DEV" && vgcreate docker "$DEV" &&
    lvcreate -y --type thin-pool -n thinpool -l 95%VG --poolmetadatasize 40m -c 512K -Zn docker &&
    lvchange --metadataprofile docker-thinpool docker/thinpool
}

# timed NAME command...: runs it, prints nothing, sets T (seconds, 2 decimals) and RC.
timed() {
  local t0 t1; t0=$(now); "$@" >/run/bench.log 2>&1; RC=$?; t1=$(now)
  T=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
}
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

teardown "$DEV"
seed=(); mini=(); fresh=(); rerun=(); plan=()
for round in 1 2 3; do
  timed /payload/seed-thinpool.sh "$DEV"
  [ "$RC" = 0 ] || { fail "round $round: seed script exit $RC"; cat /run/bench.log; }
  seed+=("$T"); teardown "$DEV"
  timed minimal
  [ "$RC" = 0 ] || { fail "round $round: minimal sequence exit $RC"; cat /run/bench.log; }
  mini+=("$T"); teardown "$DEV"
  timed $S -v apply --device "$D"
  [ "$RC" = 0 ] || { fail "round $round: swarmnode fresh exit $RC"; cat /run/bench.log; }
  fresh+=("$T"); cp /run/bench.log /run/bench-fresh.log
  timed $S -v apply --device "$D"
  [ "$RC" = 0 ] || { fail "round $round: swarmnode re-run exit $RC"; cat /run/bench.log; }
  grep -q "storage: converged: nothing to do" /run/bench.log || fail "round $round: the re-run was not converged"
  rerun+=("$T"); cp /run/bench.log /run/bench-rerun.log
  timed $S plan --device "$D"
  [ "$RC" = 0 ] || { fail "round $round: plan exit $RC"; cat /run/bench.log; }
  plan+=("$T"); teardown "$DEV"
  echo "ROUND $round: seed ${seed[-1]} s | minimal ${mini[-1]} s | swarmnode fresh ${fresh[-1]} s | re-run ${rerun[-1]} s | plan ${plan[-1]} s"
done
ms=$(median "${seed[@]}"); mm=$(median "${mini[@]}"); mf=$(median "${fresh[@]}")
mr=$(median "${rerun[@]}"); mp=$(median "${plan[@]}")
echo "MEDIAN seed $ms s | minimal $mm s | swarmnode fresh $mf s | re-run $mr s | plan $mp s"
echo "RATIO fresh/seed $(ratio "$mf" "$ms") (target <= 0.55) | fresh/minimal $(ratio "$mf" "$mm") (target <= 1.2) | re-run $mr s (target <= 1.0) | plan $mp s (target <= 1.0)"
echo "COMMANDS fresh $(commands_in /run/bench-fresh.log) ($(mutating_in /run/bench-fresh.log) changing) | re-run $(commands_in /run/bench-rerun.log) ($(mutating_in /run/bench-rerun.log) changing) | seed 7 (6 changing) | minimal 4 (4 changing)"
# Where the last fresh run's time went: each external command and its milliseconds.
grep -E ' (run|done) cmd=' /run/bench-fresh.log | sed -n 's/.* done cmd=\(.*\) code=[0-9-]* ms=\([0-9]*\).*/SPENT \2 ms \1/p'
check "three rounds ran" [ ${#fresh[@]} = 3 ]
