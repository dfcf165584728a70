# A signed package repository, as a site publishes one (docs/kickstart.md, "Publishing the
# repository"), for the tests: sourced by packaging/repo-test.sh and vm-tests/run.sh. GNUPGHOME
# must be set (a throwaway home); keys are named NAME@example.invalid.
# shellcheck shell=bash

# repo_key NAME OUTDIR: an RSA signing key (EL8's rpm reads no EdDSA); its public key in
# OUTDIR/NAME.asc, exported by its fingerprint
repo_key() {
  gpg --batch --quiet --passphrase '' --quick-gen-key "swarmnode CI $1 <$1@example.invalid>" rsa3072 sign never &&
    gpg --batch --export --armor "$(repo_fpr "$1")" > "$2/$1.asc"
}
# repo_fpr NAME: its fingerprint, 40 hex digits (the first `fpr` line)
repo_fpr() { gpg --batch --with-colons --fingerprint "$1@example.invalid" | awk -F: '$1 == "fpr" {print $10; exit}'; }

# repo_make DIR RPM SIGNER|none [METADATA_SIGNER|none]: RPM signed by SIGNER's primary key (or
# not), in a repository at DIR whose repomd.xml METADATA_SIGNER (default: SIGNER) signs. With
# CORRUPT set, the package is changed after it was signed and before createrepo_c.
repo_make() {
  local d=$1 rpm=$2 m=${4:-$3} f
  mkdir -p "$d"; cp "$rpm" "$d/"; f=$d/$(basename "$rpm")
  if [ "$3" != none ]; then
    rpmsign --addsign --define "_gpg_name $(repo_fpr "$3")!" --define "_gpg_path $GNUPGHOME" \
      --define "__gpg $(command -v gpg)" "$f" > /dev/null || return 1
  fi
  [ -z "${CORRUPT:-}" ] || printf 'x' | dd of="$f" bs=1 seek=$(( $(stat -c %s "$f") - 100 )) conv=notrunc 2> /dev/null
  createrepo_c --quiet "$d" || return 1
  [ "$m" = none ] || gpg --batch --yes --detach-sign --armor -u "$(repo_fpr "$m")!" "$d/repodata/repomd.xml"
}

# repo_el_base DIR [LVM_REPORT]: a stand-in for what EL's %packages installs, as names only (the
# package's requirements, and the release dnf reads $releasever from, whose package owns
# /etc/yum.repos.d); with LVM_REPORT, its own /usr/sbin/lvm prints that file. Prints the built
# RPM's path.
repo_el_base() {
  local d=$1 report=${2:-}
  mkdir -p "$d/SOURCES"
  {
    cat <<'SPEC'
Name: el-base
Version: 9.4
Release: 1
Summary: Stand-in for an EL installation's packages (names only)
License: MIT
BuildArch: noarch
AutoReqProv: no
Provides: lvm2 = 2.03.23
Provides: util-linux = 2.37.4
Provides: system-release(releasever) = 9
%description
Stand-in for lvm2, util-linux and the release, as installed by Anaconda's packages.
SPEC
    printf '%%install\nmkdir -p %%{buildroot}/etc/yum.repos.d\n'
    if [ -n "$report" ]; then
      cp "$report" "$d/SOURCES/lvm-report.json"
      cat <<'SPEC'
mkdir -p %{buildroot}/usr/sbin %{buildroot}/usr/share/el-base
cp %{_sourcedir}/lvm-report.json %{buildroot}/usr/share/el-base/
printf '#!/bin/sh\ncat /usr/share/el-base/lvm-report.json\n' > %{buildroot}/usr/sbin/lvm
chmod 755 %{buildroot}/usr/sbin/lvm
%files
%dir /etc/yum.repos.d
/usr/sbin/lvm
/usr/share/el-base
SPEC
    else
      printf '%%files\n%%dir /etc/yum.repos.d\n'
    fi
  } > "$d/el-base.spec"
  rpmbuild -bb --quiet --define "_topdir $d" "$d/el-base.spec" > "$d/build.log" 2>&1 || return 1
  ls "$d"/RPMS/noarch/el-base-*.rpm
}
