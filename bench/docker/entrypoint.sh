#!/bin/sh
# Runs sshd in the foreground with the bench's generated configuration (mounted at /bench).
set -e
mkdir -p /run/sshd
if [ ! -f /bench/sshd_config ]; then
  echo "entrypoint: /bench/sshd_config missing; start this through 'npm run bench -- --docker'" >&2
  exit 1
fi
exec /usr/sbin/sshd -D -e -f /bench/sshd_config
