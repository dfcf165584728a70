#!/usr/bin/env bash
# One manager set up as docs/managers.md says, for the VM's kickstart scenario (vm-tests/run.sh,
# "# network: swarm-broker"): fixture node 1 (a real dockerd, swarm init, its TLS API on
# 10.77.0.1:2376 for the test's own checks), swarmnode from the RPM in its root with its own sshd
# (manager-lib.sh), converged by one `swarmnode apply` with the managers' profile read out of
# docs/managers.md, and a bootstrap key made by `swarmnode broker bootstrap` in OUTDIR
# (bootstrap.ks, bootstrap_key, known_hosts), as the site pastes into its kickstart.
#   swarm-tests/broker-manager.sh up OUTDIR     (SWARMNODE_RPM: the RPM; PSW_ROOT: the bed's root)
#   swarm-tests/broker-manager.sh down
#   swarm-tests/broker-manager.sh node-ls       (the manager's `docker node ls`)
set -euo pipefail
cd "$(dirname "$0")"
# sshd takes an AuthorizedKeysCommand only on a path no one but root can change: not under /tmp.
export PSW_ROOT=${PSW_ROOT:-/var/lib/swarmnode-psw-vm}
SWARMNODE_RPM=$(readlink -f "${SWARMNODE_RPM:-$(ls ../target/artefacts/swarmnode-*.x86_64.rpm 2>/dev/null | head -1)}")
source ./fixture.sh
source ./lib.sh
source ./manager-lib.sh
case ${1:-} in
  up)
    out=$(readlink -f "$2"); mkdir -p "$out"
    { mgr_down 1; down; } > /dev/null 2>&1 || true
    up 1
    on_manager swarm init --advertise-addr "$NET.1" > /dev/null
    mgr_bed 1 include "$out/broker-log.txt"
    BR=$(mgr_root 1)
    doc_json '### Set up the managers' > "$BR/etc/swarmnode/profile.json"
    mgr 1 apply > "$out/manager-apply.log" 2>&1 || { cat "$out/manager-apply.log"; exit 1; }
    rm -rf "$out/boot"
    mgr 1 broker bootstrap --ttl 2h --out "$out/boot" > "$out/bootstrap.log" 2>&1 ||
      { cat "$out/bootstrap.log"; exit 1; }
    ;;
  down) { mgr_down 1; down; } > /dev/null 2>&1 || true; rm -rf "$PSW_ROOT" ;;
  node-ls) on_manager node ls ;;
  *) echo "usage: $0 up OUTDIR | down | node-ls" >&2; exit 2 ;;
esac
