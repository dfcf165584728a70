#!/bin/bash
# The repository kickstart's %post (kickstart/post-repo.ks), run as written against a real signed
# repository with Debian's dnf 4 and rpm 4.18 (after packaging/build-artefacts.sh DIR):
#   - a throwaway RSA key signs the built RPM (rpmsign) and the repository's metadata (repomd.xml.asc);
#     createrepo_c makes the repository; python's http.server serves it on loopback;
#   - the %post's lines, read from the file, run chrooted into a copy-on-write view of this machine
#     (an overlay over /, in a private mount namespace), as Anaconda runs %post chrooted into the
#     installed system. Its rpm database holds one stand-in package for what EL's %packages
#     installs (lvm2, util-linux, the release); no block device is in the chroot's /dev;
#   - the good repository installs the package, and the %post runs the packaged /usr/sbin/swarmnode;
#   - an unsigned package, a package signed by another key (unknown, and already trusted), a key at
#     the URL that is not the pinned one, and metadata changed after signing: each refused, and
#     nothing is installed.
# Needs: rpm, rpmbuild, rpmsign, dnf, createrepo_c, gpg, curl, python3, unshare; root (mounts).
set -uo pipefail
cd "$(dirname "$0")/.."
. packaging/common.sh "$@"
KS=$PWD/kickstart/post-repo.ks
W=$(mktemp -d /tmp/swarmnode-repo.XXXXXX)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; gpgconf --kill all 2>/dev/null; rm -rf "$W"' EXIT
export GNUPGHOME=$W/gnupg
mkdir -m 700 "$GNUPGHOME"
mkdir -p "$W/srv" "$W/res"

echo "== keys, packages and repositories"
. packaging/repo-lib.sh
repo_key site "$W/srv"; repo_key other "$W/srv"
SITE_FPR=$(repo_fpr site)
check "two throwaway RSA keys (site ${SITE_FPR:0:8}..., other)" [ ${#SITE_FPR} = 40 ]
# repo NAME SIGNER|none [METADATA_SIGNER|none]: the built RPM signed by SIGNER (or not), in a
# repository whose repomd.xml METADATA_SIGNER (default: the site key) signs
repo() { repo_make "$W/srv/$1" "$RPM" "$2" "${3:-site}"; }
check "the repository of the package signed by the site key" repo good site
check "the repository of the unsigned package" repo unsigned none
check "the repository of the package signed by another key" repo other other
check "a repository whose metadata is not signed" repo nosig site none
check "a repository whose metadata another key signed" repo othermeta site other
# A package changed after it was signed, in a repository whose metadata the site's automation
# signed again: its header still names the site key.
corrupt_repo() { CORRUPT=1 repo corrupt site; }
check "a repository of a signed package changed after signing" corrupt_repo
check "the package's signature names the site key" bash -c \
  "rpm -qp --qf '%{RSAHEADER:pgpsig}' '$W/srv/good/$(basename "$RPM")' | grep -qi 'key id ${SITE_FPR:24:16}'"
# Metadata changed after signing: the good repository, its repomd.xml edited after its .asc.
cp -a "$W/srv/good" "$W/srv/changed"
sed -i 's|<revision>\([0-9]*\)</revision>|<revision>1\1</revision>|' "$W/srv/changed/repodata/repomd.xml"
check "the changed repository's repomd.xml differs from what was signed" \
  bash -c "[ -s '$W/srv/changed/repodata/repomd.xml.asc' ] && ! cmp -s '$W/srv/good/repodata/repomd.xml' '$W/srv/changed/repodata/repomd.xml'"

# What EL's %packages would have installed, as names only; its lvm answers with the report of a
# blank machine (as captured in a guest: tests/fixtures/bookworm), so the packaged binary gets to
# the data disk.
BASE=$(repo_el_base "$W/base" tests/fixtures/bookworm/fullreport-blank.json)
check "the stand-in package for EL's %packages is built" [ -f "$BASE" ]

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$W/srv" "$PORT" > "$W/http.log" 2>&1 &
SERVER=$!
URL=http://127.0.0.1:$PORT
for _ in $(seq 50); do curl -fs -o /dev/null "$URL/site.asc" && break; sleep 0.1; done
check "the repositories are served on loopback ($URL)" curl -fs -o /dev/null "$URL/good/repodata/repomd.xml.asc"

# The %post section as written: the lines between `%post ...` and `%end`.
sed -n '/^%post/,/^%end/p' "$KS" | sed '1d;$d' > "$W/post.sh"
check "the %post is read from kickstart/post-repo.ks ($(wc -l < "$W/post.sh") lines)" \
  grep -q 'dnf -y --disablerepo=' "$W/post.sh"

# post CASE REPO KEY FPR [TRUSTED [INSTALLED]]: a fresh root (an overlay over /, its upper layer a
# tmpfs) with the stand-in installed (and TRUSTED's public key already imported, as a
# distribution's key is; with INSTALLED, the built RPM installed already, as from %packages);
# the %post run in it by bash (EL's /bin/sh) with the site values in its environment. Then what
# the root holds: $W/res/CASE.{rc,out,err,rpm,sig,keys,files}
post() {
  local case=$1 repo=$2 key=$3 fpr=$4 trusted=${5:-} installed=${6:-}
  unshare --mount --pid --fork --propagation private bash -s "$W" "$case" "$BASE" "$trusted" "$installed" "$RPM" \
    > "$W/res/$case.out" 2> "$W/res/$case.err" <<INNER
set -u
W=\$1 CASE=\$2 BASE=\$3 TRUSTED=\$4 INSTALLED=\$5 RPM=\$6 ROOT=\$1/root-\$2
mkdir -p "\$W/ovl-\$CASE" "\$ROOT"
mount -t tmpfs tmpfs "\$W/ovl-\$CASE"
mkdir "\$W/ovl-\$CASE/upper" "\$W/ovl-\$CASE/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=\$W/ovl-\$CASE/upper,workdir=\$W/ovl-\$CASE/work" "\$ROOT"
mount -t proc proc "\$ROOT/proc"
for d in dev run sys tmp root etc/pki var/cache/dnf var/lib/dnf; do
  mkdir -p "\$ROOT/\$d"; mount -t tmpfs -o mode=755 tmpfs "\$ROOT/\$d"
done
chmod 1777 "\$ROOT/tmp"
for d in null zero random urandom; do touch "\$ROOT/dev/\$d"; mount --bind "/dev/\$d" "\$ROOT/dev/\$d"; done
# EL's rpm database is /var/lib/rpm (Debian's rpm defaults to ~/.rpmdb; its dnf reads /var/lib/rpm)
mkdir -p "\$ROOT/etc/rpm" "\$ROOT/var/lib/rpm"; mount -t tmpfs tmpfs "\$ROOT/var/lib/rpm"
echo '%_dbpath /var/lib/rpm' > "\$ROOT/etc/rpm/macros"
cp "\$BASE" "\$W/post.sh" "\$ROOT/tmp/"
chroot "\$ROOT" rpm -i --quiet "/tmp/\$(basename "\$BASE")" 2>&1 | grep -v '^rpm: ' >&2
[ -n "\$TRUSTED" ] && cp "\$W/srv/\$TRUSTED.asc" "\$ROOT/tmp/" && chroot "\$ROOT" rpm --import "/tmp/\$TRUSTED.asc"
[ -n "\$INSTALLED" ] && cp "\$RPM" "\$ROOT/tmp/swarmnode.rpm" && chroot "\$ROOT" rpm -i --quiet --nodeps /tmp/swarmnode.rpm 2>&1 | grep -v '^rpm: ' >&2
chroot "\$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  REPO_URL="$URL/$repo/" REPO_KEY_URL="$URL/$key.asc" REPO_KEY_FINGERPRINT="$fpr" \
  PROFILE=minimal-worker.json DATA_DISK=/dev/disk/by-id/ci-no-such-disk REPROVISION=yes \
  bash /tmp/post.sh
echo \$? > "\$W/res/\$CASE.rc"
chroot "\$ROOT" rpm -q swarmnode > "\$W/res/\$CASE.rpm" 2>&1
chroot "\$ROOT" rpm -q --qf '%{RSAHEADER:pgpsig}' swarmnode > "\$W/res/\$CASE.sig" 2>&1
chroot "\$ROOT" rpm -q gpg-pubkey --qf '%{VERSION}\n' > "\$W/res/\$CASE.keys" 2>&1
(cd "\$ROOT" && ls -d usr/sbin/swarmnode etc/yum.repos.d/swarmnode.repo etc/pki/rpm-gpg/RPM-GPG-KEY-swarmnode etc/pki/rpm-gpg/RPM-GPG-KEY-swarmnode.new 2> /dev/null) > "\$W/res/\$CASE.files"
cp "\$ROOT/etc/yum.repos.d/swarmnode.repo" "\$W/res/\$CASE.repo" 2> /dev/null
[ -e "\$ROOT/var/tmp/swarmnode-scriptlet-ran" ] && touch "\$W/res/\$CASE.scriptlet"
true
INNER
}
# nothing CASE: the case left no swarmnode installed and no swarmnode binary
nothing() { [ -e "$W/res/$1.files" ] && grep -q 'is not installed' "$W/res/$1.rpm" && ! grep -q usr/sbin/swarmnode "$W/res/$1.files"; }
said() { grep -q -- "$2" "$W/res/$1.err" "$W/res/$1.out"; }
# exit CASE N: the %post ran and exited N
exited() { [ "$(cat "$W/res/$1.rc" 2> /dev/null)" = "$2" ]; }
# dnf_refused CASE: dnf refused, not the %post's own checks
dnf_refused() { exited "$1" 1 && ! said "$1" 'swarmnode %post:'; }
show() { echo "  --- $1: exit $(cat "$W/res/$1.rc" 2>/dev/null), the last lines it printed:"; tail -4 "$W/res/$1.err" | sed 's/^/  /'; }
SITE_ID=$(echo "${SITE_FPR:24:16}" | tr 'A-F' 'a-f')

echo "== the good repository: installed by dnf with gpgcheck, then the packaged binary runs"
post good good site "$SITE_FPR"; show good
check "swarmnode-$VERSION is installed from the repository" grep -q "^swarmnode-$VERSION-1" "$W/res/good.rpm"
check "its signature is the site key's (key id $SITE_ID)" grep -qi "key id $SITE_ID" "$W/res/good.sig"
check "exactly one key imported: the pinned one" [ "$(cat "$W/res/good.keys")" = "$(echo "$SITE_ID" | cut -c9-16)" ]
check "swarmnode.repo has gpgcheck=1 and repo_gpgcheck=1" \
  bash -c "grep -qx gpgcheck=1 '$W/res/good.repo' && grep -qx repo_gpgcheck=1 '$W/res/good.repo'"
check "/usr/sbin/swarmnode is in place" grep -qx usr/sbin/swarmnode "$W/res/good.files"
# The chroot holds no block device: the packaged binary, run offline with the packaged profile,
# refuses the data disk (65) and changes nothing. Installing on a real disk is the guest's
# (vm-tests/scenarios/kickstart-firstboot.sh, boots 5 to 7).
expect_rc 65 "$(cat "$W/res/good.rc")" "the %post ends with the packaged swarmnode's refusal of a disk the chroot does not have"
check "the %post's own checks passed (no 'swarmnode %post:' line)" bash -c "! grep -q 'swarmnode %post:' '$W/res/good.err'"
check "it ran offline from /usr/sbin with the packaged profile and named the disk" bash -c \
  "grep -q 'offline: ' '$W/res/good.out' '$W/res/good.err' && grep -q 'refusing /dev/disk/by-id/ci-no-such-disk' '$W/res/good.err'"

# refused BY CASE REPO KEY WHAT SAYS [TRUSTED]: the %post against REPO with the key KEY at the URL
# (TRUSTED's key already imported) is refused by BY (dnf, or the %post's own checks), which says
# SAYS; nothing is installed.
refused() {
  local by=$1 case=$2 repo=$3 key=$4 what=$5 says=$6 trusted=${7:-}
  post "$case" "$repo" "$key" "$SITE_FPR" "$trusted"; show "$case"
  if [ "$by" = dnf ]; then check "$what: dnf refuses it" dnf_refused "$case"
  else check "$what: the %post refuses it" exited "$case" 1; fi
  check "$what: it says '$says'" said "$case" "$says"
  check "$what: nothing installed" nothing "$case"
}
echo "== refused: dnf itself (repo_gpgcheck=1: the metadata's signature; gpgcheck=1: the package's)"
refused dnf changed changed site "metadata changed after signing" "repomd.xml GPG signature verification error"
refused dnf nosig nosig site "metadata not signed" "GPG signature is not available"
refused dnf othermeta othermeta site "metadata signed by another key" "repomd.xml GPG signature verification error"
refused dnf unsigned unsigned site "an unsigned package" "is not signed"
check "an unsigned package: dnf's check failed" said unsigned "GPG check FAILED"
refused dnf other other site "a package signed by another key" "not correct for this package"
check "a package signed by another key: dnf's check failed" said other "GPG check FAILED"
refused dnf corrupt corrupt site "a package changed after it was signed" "GPG check FAILED"

echo "== refused: the %post's own checks, before anything of the package is installed"
refused post trusted other site "a package signed by another key that rpm already trusts" \
  "is not signed by the pinned key" other
# The same with a package whose install scriptlet leaves a mark: it must never run.
mkdir -p "$W/evil"
cat > "$W/evil/evil.spec" <<'SPEC'
Name: swarmnode
Version: 9.9
Release: 1
Summary: a swarmnode package whose %pre leaves a mark
License: MIT
BuildArch: noarch
AutoReqProv: no
%description
Not swarmnode.
%pre -p <lua>
io.open("/var/tmp/swarmnode-scriptlet-ran", "w"):close()
%files
SPEC
rpmbuild -bb --quiet --define "_topdir $W/evil" "$W/evil/evil.spec" > "$W/evil.log" 2>&1
repo_make "$W/srv/evil" "$(ls "$W"/evil/RPMS/noarch/swarmnode-9.9-1.noarch.rpm)" other site
refused post evil evil site "a package of another trusted key with an install scriptlet" \
  "is not signed by the pinned key" other
check "none of that package's scriptlets ran" bash -c "[ -e '$W/res/evil.rc' ] && [ ! -e '$W/res/evil.scriptlet' ]"
refused post wrongkey good other "a key at the URL that is not the pinned one" \
  "is not the key whose fingerprint is in the kickstart"
check "a key at the URL that is not the pinned one: no key imported and no repository written" bash -c \
  "grep -q 'not installed' '$W/res/wrongkey.keys' && [ -e '$W/res/wrongkey.files' ] && [ ! -s '$W/res/wrongkey.files' ]"
refused post nokey good missing "a key URL that answers 404" "could not download $URL/missing.asc (curl exit 22"
check "a key URL that answers 404: no key file, no repository written" bash -c \
  "grep -q 'not installed' '$W/res/nokey.keys' && [ -e '$W/res/nokey.files' ] && [ ! -s '$W/res/nokey.files' ]"
post installed good site "$SITE_FPR" "" yes; show installed
check "swarmnode installed already (from %packages): the %post stops" exited installed 1
check "it says dnf downloaded nothing, and why" said installed "dnf downloaded no single swarmnode package (installed already"

echo "$NPASS passed, $NFAIL failed"
[ "$NFAIL" = 0 ]
