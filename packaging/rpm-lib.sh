# The RPM built from the release artefacts, as packaging/build-artefacts.sh builds it: sourced by
# build-artefacts.sh, packaging/test.sh (a second release, to upgrade to) and vm-tests/run.sh (a
# site's RPM with its profile). Run from the repository's top.
# shellcheck shell=bash

# rpm_sources ART TOP: the rpmbuild tree TOP, its SOURCES the artefacts in ART (a site may change
# them before rpm_build: its profile in SOURCES/profiles/).
rpm_sources() {
  mkdir -p "$2/SOURCES" &&
    cp -r "$1"/swarmnode "$1"/man "$1"/completions "$1"/systemd "$1"/profiles README.md LICENSE "$2/SOURCES/"
}

# rpm_build TOP [RELEASE]: packaging/swarmnode.spec built in TOP (release 1 by default); prints
# the RPM's path.
rpm_build() {
  local v; v=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
  rpmbuild -bb --quiet --define "_topdir $1" --define "_sourcedir $1/SOURCES" \
    --define "swarmnode_version $v" --define "swarmnode_release ${2:-1}" packaging/swarmnode.spec &&
    echo "$1/RPMS/x86_64/swarmnode-$v-${2:-1}.x86_64.rpm"
}
