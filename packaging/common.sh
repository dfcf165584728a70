# Sourced by packaging/test.sh and packaging/repo-test.sh, from the repository's top, with their
# arguments: the artefacts' folder OUT (default target/artefacts), VERSION, the RPM; and the checks
# (check, expect_rc, the PASS/FAIL lines) of swarm-tests/lib.sh.
# shellcheck shell=bash
. swarm-tests/lib.sh
OUT=$(realpath -m "${1:-target/artefacts}")
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
RPM=$OUT/swarmnode-$VERSION-1.x86_64.rpm
