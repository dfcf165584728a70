#!/bin/bash
# The release artefacts, checked (after packaging/build-artefacts.sh DIR; default target/artefacts):
#   the RPM installed into a temporary rpm root (rpm --root DIR --nodeps -i): every file with its
#     mode and owner, the installed `swarmnode --version` run from there, erased cleanly;
#   every man page renders with `man -l` and lists every command and every exit code;
#   bash completes `swarmnode ap<TAB>` to `apply`;
#   ksvalidator (pykickstart) accepts both node kickstarts for RHEL8 and RHEL9.
set -uo pipefail
cd "$(dirname "$0")/.."
. packaging/common.sh "$@"
# The commands as the built binary's help lists them (not as the pages do).
COMMANDS=$("$OUT/swarmnode" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && $1 != "help" && NF {print $1}' | tr '\n' ' ')

echo "== the RPM"
check "the binary's help lists the commands (got: $COMMANDS)" bash -c "[[ ' $COMMANDS' == *' apply '* && ' $COMMANDS' == *' broker '* ]]"
check "the RPM is named swarmnode-$VERSION-1.x86_64.rpm" [ -f "$RPM" ]
check "its payload is xz (EL8 and EL9 read it)" [ "$(rpm -qp --qf '%{PAYLOADCOMPRESSOR}' "$RPM")" = xz ]
req=$(rpm -qp --requires "$RPM" | grep -v '^rpmlib(' | sort | tr '\n' ';')
check "requires exactly lvm2 and util-linux >= 2.29: no auto-requires from the static binary (got: $req)" \
  [ "$req" = "lvm2;util-linux >= 2.29;" ]
check "recommends xfsprogs, device-mapper-persistent-data, policycoreutils" bash -c \
  "r=\$(rpm -qp --recommends '$RPM'); for p in xfsprogs device-mapper-persistent-data policycoreutils; do echo \"\$r\" | grep -qx \$p || exit 1; done"
# Every file the package holds: mode, owner, group, path (the whole list, nothing else).
WANT=$(cat <<LIST
drwx------ root root /etc/swarmnode
drwxr-xr-x root root /etc/swarmnode-broker
-rw-r--r-- root root /usr/lib/systemd/system/swarmnode-firstboot.service
-rwxr-xr-x root root /usr/sbin/swarmnode
drwxr-xr-x root root /usr/share/bash-completion
drwxr-xr-x root root /usr/share/bash-completion/completions
-rw-r--r-- root root /usr/share/bash-completion/completions/swarmnode
drwxr-xr-x root root /usr/share/doc/swarmnode
-rw-r--r-- root root /usr/share/doc/swarmnode/README.md
drwxr-xr-x root root /usr/share/fish
drwxr-xr-x root root /usr/share/fish/vendor_completions.d
-rw-r--r-- root root /usr/share/fish/vendor_completions.d/swarmnode.fish
drwxr-xr-x root root /usr/share/licenses/swarmnode
-rw-r--r-- root root /usr/share/licenses/swarmnode/LICENSE
-rw-r--r-- root root /usr/share/man/man5/swarmnode-profile.5.gz
$(for c in "" $COMMANDS; do echo "-rw-r--r-- root root /usr/share/man/man8/swarmnode${c:+-$c}.8.gz"; done | sort)
drwxr-xr-x root root /usr/share/swarmnode
drwxr-xr-x root root /usr/share/swarmnode/profiles
$(for p in profiles/*.json; do echo "-rw-r--r-- root root /usr/share/swarmnode/$p"; done)
drwxr-xr-x root root /usr/share/zsh
drwxr-xr-x root root /usr/share/zsh/site-functions
-rw-r--r-- root root /usr/share/zsh/site-functions/_swarmnode
LIST
)
GOT=$(rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILENAMES}\n]' "$RPM" | sort -k4)
check "the package's file list, modes and owners are the expected ones" [ "$GOT" = "$(echo "$WANT" | sort -k4)" ]
[ "$GOT" = "$(echo "$WANT" | sort -k4)" ] || diff <(echo "$WANT" | sort -k4) <(echo "$GOT")
echo "file list and size:"; echo "$GOT" | sed 's/^/  /'; echo "  $(stat -c %s "$RPM") bytes"

R=$(mktemp -d); trap 'rm -rf "$R" "$R".*' EXIT
rpm --root "$R" --initdb
rpm --root "$R" --nodeps -i "$RPM" > "$R.install.log" 2>&1; rc=$?
expect_rc 0 $rc "rpm --root DIR --nodeps -i installs it"
check "rpm knows it in that root" bash -c "rpm --root '$R' -q swarmnode | grep -qx 'swarmnode-$VERSION-1.x86_64'"
ok=1
while read -r mode user group path; do
  [ "$(stat -c '%A %U %G' "$R$path" 2>/dev/null)" = "$mode $user $group" ] || { echo "  $path: $(stat -c '%A %U %G' "$R$path" 2>&1), want $mode $user $group"; ok=0; }
done <<< "$WANT"
check "every installed file has its mode and owner" [ $ok = 1 ]
check "the installed swarmnode --version runs from there" bash -c "[ \"\$('$R/usr/sbin/swarmnode' --version)\" = 'swarmnode $VERSION' ]"
check "the installed binary is the release binary" cmp -s "$R/usr/sbin/swarmnode" "$OUT/swarmnode"
check "the packaged unit runs /usr/sbin/swarmnode" grep -qx 'ExecStart=/usr/sbin/swarmnode apply' "$R/usr/lib/systemd/system/swarmnode-firstboot.service"
# The first-boot unit enabled, as apply enables it, and the node's profile in /etc/swarmnode: an
# upgrade (to a second release built from the same artefacts) and a rollback keep both; erasing
# disables the unit.
WANTS=$R/etc/systemd/system/multi-user.target.wants/swarmnode-firstboot.service
mkdir -p "$(dirname "$WANTS")"; ln -s /usr/lib/systemd/system/swarmnode-firstboot.service "$WANTS"
install -m 0600 /dev/null "$R/etc/swarmnode/profile.json"; echo '{"engine": {}}' > "$R/etc/swarmnode/profile.json"
in_place() {
  local path
  while read -r _ _ _ path; do [ -e "$R$path" ] || { echo "  missing: $path"; return 1; }; done <<< "$WANT"
}
kept() {
  [ -L "$WANTS" ] && [ "$(cat "$R/etc/swarmnode/profile.json")" = '{"engine": {}}' ] &&
    [ "$(stat -c %a "$R/etc/swarmnode")/$(stat -c %a "$R/etc/swarmnode/profile.json")" = 700/600 ]
}
. packaging/rpm-lib.sh
mkdir -p "$R.rpmbuild"
RPM2=$(rpm_sources "$OUT" "$R.rpmbuild" && rpm_build "$R.rpmbuild" 2 2> "$R.rpmbuild.log")
check "a second release, swarmnode-$VERSION-2, built from the same artefacts" [ -f "$RPM2" ]
[ -f "$RPM2" ] || sed 's/^/  /' "$R.rpmbuild.log"
rpm --root "$R" --nodeps -U "$RPM2" > "$R.install.log" 2>&1; rc=$?
expect_rc 0 $rc "rpm -U upgrades -1 to -2"
check "rpm knows -2 alone" [ "$(rpm --root "$R" -q swarmnode)" = "swarmnode-$VERSION-2.x86_64" ]
check "the upgrade keeps the unit enabled, the profile, and /etc/swarmnode 0700" kept
check "every file of the package is in place after the upgrade" in_place
rpm --root "$R" --nodeps -U --oldpackage "$RPM" > "$R.install.log" 2>&1; rc=$?
expect_rc 0 $rc "rpm -U --oldpackage rolls back to -1"
check "the rollback keeps the unit enabled, the profile, and /etc/swarmnode 0700" kept
check "every file of the package is in place after the rollback" in_place
rpm --root "$R" -e swarmnode; rc=$?
expect_rc 0 $rc "rpm -e erases it"
check "erasing it disables the first-boot unit (its link is gone)" [ ! -L "$WANTS" ]
left=$(while read -r _ _ _ path; do [ -e "$R$path" ] && echo "$path"; done <<< "$WANT" | grep -vx /etc/swarmnode)
check "nothing of it is left but /etc/swarmnode with the node's profile" bash -c "[ -z '$left' ] && [ -f '$R/etc/swarmnode/profile.json' ]"
[ -z "$left" ] || echo "left: $left"
check "rpm no longer knows it" bash -c "! rpm --root '$R' -q swarmnode > /dev/null"

echo "== man pages"
for page in "$OUT"/man/*.8; do
  name=$(basename "$page" .8)
  text=$(MANWIDTH=120 man --warnings=w -l "$page" 2> "$R.man.err"); rc=$?
  check "$name: man -l renders it without warnings" [ $rc = 0 ] && [ ! -s "$R.man.err" ] && [ -n "$text" ]
  [ -s "$R.man.err" ] && sed 's/^/  /' "$R.man.err"
  missing=""
  for c in $COMMANDS; do [ "$name" = "swarmnode-$c" ] || echo "$text" | grep -q "swarmnode-$c(8)" || missing="$missing $c"; done
  check "$name: lists every command${missing:+ (missing:$missing)}" [ -z "$missing" ]
  codes=$(echo "$text" | sed -n '/^EXIT STATUS/,/^[A-Z]/p' | grep -Eo '^ {7}[0-9]+' | tr -d ' ' | tr '\n' ' ')
  # check has the Nagios convention's codes and 65, 69; the others every code of the contract.
  want="0 1 2 65 69 75 "; [ "$name" = swarmnode-check ] && want="0 1 2 65 69 "
  check "$name: lists its exit codes ($want)" [ "$codes" = "$want" ]
done
text=$(MANWIDTH=120 man --warnings=w -l "$OUT/man/swarmnode-profile.5" 2> "$R.man.err"); rc=$?
check "swarmnode-profile.5: man -l renders it without warnings" [ $rc = 0 ] && [ ! -s "$R.man.err" ] && [ -n "$text" ]
check "swarmnode-profile.5: lists the keys with their defaults" bash -c "grep -q 'storage.thinpool.chunk_size' <<< \"\$1\" && grep -q 'default: 300; 1 to 86400' <<< \"\$1\"" _ "$text"
check "swarmnode.8 has the files and the profile reference" bash -c \
  "MANWIDTH=120 man -l '$OUT/man/swarmnode.8' 2>/dev/null | grep -q '^FILES' && MANWIDTH=120 man -l '$OUT/man/swarmnode.8' 2>/dev/null | grep -q 'join_timeout_seconds'"

echo "== completions"
got=$(bash -c 'source "$1"; COMP_WORDS=(swarmnode ap); COMP_CWORD=1; COMP_LINE="swarmnode ap"; COMP_POINT=${#COMP_LINE}
  _swarmnode swarmnode ap swarmnode; echo "${COMPREPLY[*]}"' bash "$OUT/completions/swarmnode.bash")
check "bash completes \`swarmnode ap<TAB>\` to apply (got: $got)" [ "$got" = apply ]
got=$(bash -c 'source "$1"; COMP_WORDS=(swarmnode check --for); COMP_CWORD=2; COMP_LINE="swarmnode check --for"; COMP_POINT=${#COMP_LINE}
  _swarmnode swarmnode --for check; echo "${COMPREPLY[*]}"' bash "$OUT/completions/swarmnode.bash")
check "bash completes \`swarmnode check --for<TAB>\` to --format (got: $got)" [ "$got" = --format ]
check "the zsh completion is zsh" bash -c "head -1 '$OUT/completions/_swarmnode' | grep -q '^#compdef swarmnode'"
check "the fish completion completes apply" grep -q "complete -c swarmnode .* -a \"apply\"" "$OUT/completions/swarmnode.fish"

echo "== kickstarts (ksvalidator)"
for v in RHEL8 RHEL9; do
  for ks in kickstart/node.ks kickstart/node-repo.ks; do
    ksvalidator -v "$v" "$ks" > "$R.ks.log" 2>&1; rc=$?
    expect_rc 0 $rc "ksvalidator -v $v accepts $ks"
    [ $rc = 0 ] || cat "$R.ks.log"
  done
done
rm -f "$R".*.log "$R.man.err" "$R.install.log"
echo "$NPASS passed, $NFAIL failed"
[ "$NFAIL" = 0 ]
