#!/usr/bin/env bash
# Starts a Docker engine for `npm run bench -- --docker` and test/bench-docker.test.ts on a
# machine without systemd, unless one already answers `docker info`.
#
# Usage: bench/docker/start-dockerd.sh
#   Progress on stderr. On stdout, the pid of the dockerd it started (stop it with
#   `kill PID`: dockerd stops its containers and containerd), or nothing when an engine was
#   already answering. Exits non-zero, with dockerd's last log lines, when none comes up.
#
# dockerd runs with `--bridge=none --iptables=false --ip6tables=false`: the bench's containers
# use the host's network (`docker run --network host`, sshd on 127.0.0.1), so the engine needs
# no bridge, no NAT rules and no private-range addresses. Its log: ${PURE_SSH_CACHE:-$HOME/.cache/pure-ssh}/dockerd.log.
# Storage: the engine's default (overlay2 here); if it does not come up with that, once more
# with the vfs driver, which needs nothing from the kernel but is slower to build layers.
# DOCKERD_ARGS adds arguments.
#
# Needs Debian's docker.io (dockerd, containerd, runc; `apt-get install docker.io`) and root.
# Facts: ../../../shared/TESTING.md "Docker engine".
set -euo pipefail

# dockerd and debootstrap live in /usr/sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"

exec 3>&1 1>&2

CACHE="${PURE_SSH_CACHE:-$HOME/.cache/pure-ssh}"
LOG="$CACHE/dockerd.log"
WAIT_S="${DOCKERD_WAIT_S:-60}"

log() { printf 'start-dockerd: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

engine_answers() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

command -v docker >/dev/null || die "no docker command: apt-get install docker.io"
if engine_answers; then
  log "a Docker engine already answers ($(docker info --format 'server {{.ServerVersion}}, storage {{.Driver}}'))"
  exit 0
fi
command -v dockerd >/dev/null || die "no dockerd: apt-get install docker.io (dockerd, containerd, runc)"
[ "$(id -u)" -eq 0 ] || die "dockerd must run as root"
mkdir -p "$CACHE"

# Starts dockerd with "$@" added, in its own session (it outlives this script), and waits for
# `docker info`. Prints the pid on success; on failure kills it and returns 1.
try_start() {
  local pid i
  log "dockerd --bridge=none --iptables=false --ip6tables=false $* ${DOCKERD_ARGS:-} (log: $LOG)"
  # shellcheck disable=SC2086
  setsid dockerd --bridge=none --iptables=false --ip6tables=false "$@" ${DOCKERD_ARGS:-} </dev/null >>"$LOG" 2>&1 3>&- &
  pid=$!
  for ((i = 0; i < WAIT_S * 4; i++)); do
    if engine_answers; then
      printf '%s\n' "$pid"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  log "dockerd did not answer docker info; its last log lines:"
  tail -n 15 "$LOG" >&2
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for ((i = 0; i < 40; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  fi
  return 1
}

printf -- '--- %s start-dockerd.sh\n' "$(date -u +%FT%TZ)" >>"$LOG"
if pid="$(try_start)" || pid="$(try_start --storage-driver vfs)"; then
  log "Docker engine up: $(docker info --format 'server {{.ServerVersion}}, storage {{.Driver}}, cgroup {{.CgroupDriver}} v{{.CgroupVersion}}'), dockerd pid $pid"
  printf '%s\n' "$pid" >&3
  exit 0
fi
die "no Docker engine came up (dockerd's log: $LOG)"
