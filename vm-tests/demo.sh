#!/bin/bash
# See it work: boots a fresh guest (real kernel, systemd, LVM, docker 20.10) with a blank 8 GiB disk,
# runs `swarmnode apply` with profiles/dccn-production.json, starts docker on the result, and prints
# lvs, docker's storage driver and swarmnode's report. Needs root; installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/setup-host
RESULTS=${RESULTS:-$PWD/target/vm-results} vm-tests/run.sh demo >/dev/null || true
cat target/vm-results/demo/results.log | sed -n '/^=== /,$p' | grep -v '^SCENARIO-END'
grep -q '^FAIL' target/vm-results/demo/results.log && exit 1 || exit 0
