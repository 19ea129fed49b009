#!/usr/bin/env bash
# Builds the container image of `npm run bench -- --docker` (bench/server.ts) into the local
# Docker engine, unless it is already there, and prints its reference.
#
# Usage: bench/docker/build-image.sh [--source auto|debootstrap|registry]
#   Progress goes to stderr; stdout carries only the image reference (its last line), so
#   `image="$(bench/docker/build-image.sh)"` works. Needs a Docker engine that answers
#   (`docker info`; bench/docker/start-dockerd.sh starts one).
#
# The image: Debian 12 (bookworm) with openssh-server, /run/sshd, and bench/docker/entrypoint.sh
# as its entrypoint (runs `sshd -D -e -f /bench/sshd_config`; the bench mounts /bench). Its tag
# names a hash of what it is made from (the debootstrap recipe, entrypoint.sh, Dockerfile), so
# an edit to any of them makes a new image and an unchanged tree reuses the old one.
#
# Two ways to make it (--source; default auto = debootstrap when the command is there and we
# are root, else registry):
# - debootstrap: no image registry needed (our machines reach none). `debootstrap
#   --variant=minbase --include=openssh-server bookworm ROOTFS MIRROR` (about 1 minute), MIRROR
#   taken from the machine's apt sources (or $PURE_SSH_DEBIAN_MIRROR), packed into
#   ${PURE_SSH_CACHE:-$HOME/.cache/pure-ssh}/bench-rootfs-bookworm-KEY.tar (about 150 MB),
#   `docker import`ed as the base image, then entrypoint.sh is copied in and committed. With the
#   tarball cached (CI, a second machine run, a pruned engine) it is an import of a few seconds.
# - registry: `docker build bench/docker` (its Dockerfile, FROM debian:12), for engines that
#   can pull from Docker Hub.
#
# Facts: ../../../shared/TESTING.md "Docker engine".
set -euo pipefail

# dockerd and debootstrap live in /usr/sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"

exec 3>&1 1>&2

here="$(cd "$(dirname "$0")" && pwd)"
CACHE="${PURE_SSH_CACHE:-$HOME/.cache/pure-ssh}"
SUITE=bookworm
# What debootstrap is asked for; part of the base's cache key.
RECIPE="debootstrap --variant=minbase --include=openssh-server $SUITE"

log() { printf 'build-image: %s\n' "$*"; }
die() { log "error: $*"; exit 1; }

source=auto
while [ $# -gt 0 ]; do
  case "$1" in
    --source) source="${2:-}"; shift 2 || die "--source needs a value" ;;
    --source=*) source="${1#--source=}"; shift ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (usage: $0 [--source auto|debootstrap|registry])" ;;
  esac
done
case "$source" in auto|debootstrap|registry) ;; *) die "--source wants auto, debootstrap or registry, got '$source'" ;; esac

key_of() { sha256sum | cut -c1-12; }
base_key="$(printf '%s\n' "$RECIPE" | key_of)"
image_key="$( { printf '%s\n' "$RECIPE"; cat "$here/entrypoint.sh" "$here/Dockerfile"; } | key_of)"
BASE="pure-ssh-bench-rootfs:$SUITE-$base_key"
IMAGE="pure-ssh-bench-sshd:$SUITE-$image_key"
TARBALL="$CACHE/bench-rootfs-$SUITE-$base_key.tar"

command -v docker >/dev/null || die "no docker command: apt-get install docker.io (client, dockerd, containerd, runc)"
if ! info="$(docker info --format '{{.ServerVersion}}' 2>&1)"; then
  die "no Docker engine answers (docker info: $(printf '%s' "$info" | tail -n 1)); start one with bench/docker/start-dockerd.sh"
fi

have_image() { docker image inspect "$1" >/dev/null 2>&1; }
done_with() {
  log "image $IMAGE ready"
  printf '%s\n' "$IMAGE" >&3
  exit 0
}

have_image "$IMAGE" && done_with

mkdir -p "$CACHE"
# One build at a time per cache (the bench and a test file may both ask): the second waits,
# then finds the first one's image.
exec 9>"$CACHE/bench-image.lock"
if ! flock -n 9; then
  log "another build holds $CACHE/bench-image.lock; waiting"
  flock 9
fi
have_image "$IMAGE" && done_with

if [ "$source" = auto ]; then
  if command -v debootstrap >/dev/null && [ "$(id -u)" -eq 0 ]; then source=debootstrap; else source=registry; fi
  log "no $IMAGE yet; building it with $source (--source to choose)"
fi

if [ "$source" = registry ]; then
  log "docker build $here (FROM debian:12: needs an image registry)"
  if ! docker build -t "$IMAGE" "$here"; then
    die "docker build failed (no image registry reachable?); build it without one: run as root with debootstrap installed (apt-get install debootstrap), or --source debootstrap"
  fi
  done_with
fi

# debootstrap.
[ "$(id -u)" -eq 0 ] || die "--source debootstrap needs root (debootstrap chroots and creates device nodes)"

# The Debian mirror the machine's apt already uses (a local mirror or snapshot stays in use):
# the URIs of the deb822 stanza for $SUITE, else a one-line `deb URI $SUITE` entry.
mirror="${PURE_SSH_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    stanza="$(awk -v RS='' -v s="$SUITE" '$0 ~ "(^|\n)Types:[^\n]*deb( |\n|$)" && $0 ~ "(^|\n)Suites:[^\n]*[ \t]" s "( |\n|$)" { print; exit }' "$f")"
    mirror="$(printf '%s\n' "$stanza" | sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' | head -n 1)"
    [ -n "$mirror" ] && break
  done
fi
if [ -z "$mirror" ]; then
  mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed 's/\[[^]]*\]//' | awk -v s="$SUITE" '$1 == "deb" && $3 == s { print $2; exit }')"
fi
[ -n "$mirror" ] || die "no $SUITE entry in the apt sources (/etc/apt/sources.list*) to take a Debian mirror from: set PURE_SSH_DEBIAN_MIRROR"

if [ -s "$TARBALL" ]; then
  log "using the cached root filesystem $TARBALL"
else
  command -v debootstrap >/dev/null || die "debootstrap is not installed: apt-get install debootstrap (or --source registry)"
  rm -rf "$CACHE"/bench-rootfs.tmp.*
  work="$(mktemp -d "$CACHE/bench-rootfs.tmp.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  log "$RECIPE $work/rootfs $mirror (about 1 minute)"
  if ! debootstrap --variant=minbase --include=openssh-server "$SUITE" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 20 "$work/debootstrap.log"
    die "debootstrap failed (log above; the whole log: $work/debootstrap.log is removed on exit)"
  fi
  r="$work/rootfs"
  # No host keys baked in (the bench brings its own), no package caches.
  rm -f "$r"/etc/ssh/ssh_host_*
  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*
  mkdir -p "$r/run/sshd"
  chmod 755 "$r/run/sshd"
  [ -x "$r/usr/sbin/sshd" ] || die "the root filesystem has no /usr/sbin/sshd"
  tar -C "$r" --numeric-owner -cf "$work/rootfs.tar" .
  mv "$work/rootfs.tar" "$TARBALL"
  rm -rf "$work"
  trap - EXIT
  log "cached the root filesystem in $TARBALL ($(du -h "$TARBALL" | cut -f1))"
fi

if ! have_image "$BASE"; then
  log "docker import $TARBALL $BASE"
  docker import -m "$RECIPE from $mirror" - "$BASE" <"$TARBALL" >/dev/null
fi
# The entrypoint, in a layer of its own on the base.
container="$(docker create "$BASE" /bin/true)"
trap 'docker rm -f "$container" >/dev/null 2>&1 || true' EXIT
docker cp "$here/entrypoint.sh" "$container:/entrypoint.sh"
docker commit -m "bench/docker/entrypoint.sh" -c 'ENTRYPOINT ["/entrypoint.sh"]' -c 'CMD []' "$container" "$IMAGE" >/dev/null
done_with
