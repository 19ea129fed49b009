#!/usr/bin/env bash
# Builds OpenSSH 10 (sshd, ssh, ssh-keygen) from Debian trixie's source package into a cache
# directory, for the interop tests that need a newer peer than Debian 12's OpenSSH 9.2
# (test/harness/sshd.ts, `startSshd({ openssh: '10' })`).
#
# Usage: scripts/build-openssh.sh
#   Prints progress on stderr and the install directory alone on stdout (its last line), so
#   `export PURE_SSH_OPENSSH10="$(scripts/build-openssh.sh)"` works.
#
# Install directory: ${PURE_SSH_CACHE:-$HOME/.cache/pure-ssh}/openssh-VERSION, VERSION being the
# version the binaries report (e.g. 10.0p2, from the 10.0p1 orig tarball), laid out as
#   sbin/sshd  bin/ssh  bin/ssh-keygen  libexec/sshd-session  libexec/sshd-auth
#   etc/ (sysconfdir, holds moduli)  empty/ (privilege-separation dir, root-owned, 0755)
# The binaries have those paths compiled in: sshd 10 execs DIR/libexec/sshd-session.
#
# When a complete build of OpenSSH 10 is already in the cache (the stamp file, written last,
# and every binary present) the script does nothing but print its path: no apt, no network.
# An interrupted build leaves no stamp and is redone from scratch. Delete the directory to
# force a rebuild.
#
# What it changes on the machine (as root, or through sudo):
# - /etc/apt/sources.list.d/pure-ssh-trixie-src.sources: a deb-src-only entry for trixie, so
#   `apt-get source` can fetch trixie's openssh while no trixie binary package can be installed.
#   Written only when missing or different; followed by `apt-get update`.
# - apt-get install build-essential libssl-dev zlib1g-dev, when one of them is missing.
# Only upstream's sources are built (the orig tarball, checksums checked; Debian's patches are
# left out). The tree is unpacked and built in a temporary directory under the cache, never in
# the repository, and removed afterwards. About 3 minutes on 2 cores (JOBS, default nproc).
#
# Facts: ../../shared/TESTING.md "OpenSSH 10" (the recipe this script automates).
set -euo pipefail

# Progress goes to stderr; stdout carries only the final path.
exec 3>&1 1>&2

CACHE="${PURE_SSH_CACHE:-$HOME/.cache/pure-ssh}"
STAMP=.pure-ssh-build-complete
BINARIES=(sbin/sshd bin/ssh bin/ssh-keygen libexec/sshd-session libexec/sshd-auth)
SOURCES_FILE=/etc/apt/sources.list.d/pure-ssh-trixie-src.sources
BUILD_DEPS=(build-essential libssl-dev zlib1g-dev)
JOBS="${JOBS:-$(nproc)}"

log() { printf 'build-openssh: %s\n' "$*"; }
die() { log "error: $*"; exit 1; }

# A build is complete when its stamp exists and every binary is executable.
complete() {
  local dir=$1 bin
  [ -f "$dir/$STAMP" ] || return 1
  for bin in "${BINARIES[@]}"; do [ -x "$dir/$bin" ] || return 1; done
  [ -d "$dir/empty" ]
}

# The newest complete OpenSSH 10 build in the cache, if any.
cached_build() {
  local dir best=""
  for dir in "$CACHE"/openssh-10.*; do
    [ -d "$dir" ] && complete "$dir" || continue
    if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$dir" | sort -V | tail -n 1)" = "$dir" ]; then
      best=$dir
    fi
  done
  [ -n "$best" ] && printf '%s\n' "$best"
}

done_with() {
  log "OpenSSH 10 ready in $1"
  printf '%s\n' "$1" >&3
  exit 0
}

mkdir -p "$CACHE"
existing="$(cached_build || true)"
[ -n "$existing" ] && done_with "$existing"

# One build at a time per cache (parallel CI jobs or developers on one machine): the second
# waits, then finds the first one's build complete.
exec 9>"$CACHE/openssh-build.lock"
if ! flock -n 9; then
  log "another build holds $CACHE/openssh-build.lock; waiting"
  flock 9
fi
existing="$(cached_build || true)"
[ -n "$existing" ] && done_with "$existing"
# Holding the lock, any build tree left in the cache is from a build that was killed.
rm -rf "$CACHE"/build.*

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: cannot add the apt source or install build deps"
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

# apt's locks may be held by another developer's apt run on a shared machine: retry a while.
apt_retry() {
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if $SUDO apt-get -o DPkg::Lock::Timeout=120 "$@"; then return 0; fi
    log "apt-get $1 failed (attempt $attempt); retrying in 15 s"
    sleep 15
  done
  die "apt-get $* kept failing"
}

# The trixie deb-src entry takes its URIs and Signed-By from the bookworm entry of the
# machine's deb822 sources (a mirror or snapshot stays in use), else Debian's defaults.
uris="http://deb.debian.org/debian"
signed_by="/usr/share/keyrings/debian-archive-keyring.gpg"
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  stanza="$(awk -v RS='' '/(^|\n)Suites:[^\n]*bookworm( |\n|$)/ { print; exit }' /etc/apt/sources.list.d/debian.sources)"
  u="$(printf '%s\n' "$stanza" | sed -n 's/^URIs:[[:space:]]*//p' | head -n 1)"
  s="$(printf '%s\n' "$stanza" | sed -n 's/^Signed-By:[[:space:]]*//p' | head -n 1)"
  [ -n "$u" ] && uris=$u
  [ -n "$s" ] && signed_by=$s
fi
wanted="$(printf '%s\n' \
  '# pure-ssh scripts/build-openssh.sh: source packages only (apt-get source openssh for OpenSSH 10).' \
  'Types: deb-src' \
  "URIs: $uris" \
  'Suites: trixie' \
  'Components: main' \
  "Signed-By: $signed_by")"
if [ ! -f "$SOURCES_FILE" ] || [ "$(cat "$SOURCES_FILE")" != "$wanted" ]; then
  log "writing $SOURCES_FILE"
  printf '%s\n' "$wanted" | $SUDO tee "$SOURCES_FILE" >/dev/null
fi
apt_retry update

missing=()
for pkg in "${BUILD_DEPS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing build dependencies: ${missing[*]}"
  apt_retry install -y --no-install-recommends "${missing[@]}"
fi

work="$(mktemp -d "$CACHE/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
log "fetching trixie's openssh source package into $work"
# The source package is public: apt's download sandbox user cannot write to a root-owned
# temp dir, so let it fall back to root rather than warn.
apt-get -o APT::Sandbox::User=root source --download-only openssh/trixie
dsc="$(ls openssh_*.dsc)"
# Upstream's sources only: Debian's patch series edits configure.ac, which would need autoconf
# to regenerate configure, and a test peer should behave like OpenSSH itself. dpkg-source still
# checks every file against the .dsc's checksums.
dpkg-source --skip-patches -x "$dsc" src
cd src
# Name the build by the version the binaries report (version.h: "OpenSSH_10.0" + "p2"), which
# may differ from the orig tarball's name (10.0p1).
ssh_version="$(sed -n 's/^#define SSH_VERSION[[:space:]]*"OpenSSH_\(.*\)"/\1/p' version.h)"
ssh_portable="$(sed -n 's/^#define SSH_PORTABLE[[:space:]]*"\(.*\)"/\1/p' version.h)"
version="$ssh_version$ssh_portable"
case "$version" in
  10.*) ;;
  *) die "trixie's openssh source ($dsc) is OpenSSH '$version', not OpenSSH 10" ;;
esac
prefix="$CACHE/openssh-$version"
log "building OpenSSH $version from $dsc into $prefix"

rm -rf "$prefix"
./configure --prefix="$prefix" --sysconfdir="$prefix/etc" --with-privsep-path="$prefix/empty" --without-pam
make -j"$JOBS" sshd ssh sshd-session sshd-auth ssh-keygen

mkdir -p "$prefix/sbin" "$prefix/bin" "$prefix/libexec" "$prefix/etc"
install -m 755 sshd "$prefix/sbin/sshd"
install -m 755 ssh ssh-keygen "$prefix/bin/"
install -m 755 sshd-session sshd-auth "$prefix/libexec/"
install -m 644 moduli "$prefix/etc/moduli"
# sshd refuses a privilege-separation dir that is group- or world-writable or not root's.
mkdir -p "$prefix/empty"
chmod 755 "$prefix/empty"

banner="$("$prefix/bin/ssh" -V 2>&1)"
case "$banner" in
  OpenSSH_10*) ;;
  *) die "built ssh reports '$banner', not OpenSSH_10" ;;
esac
printf 'version=%s\nsource=%s\nbuilt=%s\n' "$version" "$dsc" "$(date -u +%FT%TZ)" >"$prefix/$STAMP"
done_with "$prefix"
