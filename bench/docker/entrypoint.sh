#!/bin/sh
# The image's entrypoint: sshd in the foreground, logging to stderr (`docker logs`), with the
# configuration the bench generated and mounted at /bench (bench/server.ts startDockerServer:
# keys, authorized_keys, sshd_config listening on 127.0.0.1:PORT of the host's network).
set -e
mkdir -p /run/sshd
if [ ! -f /bench/sshd_config ]; then
  echo "entrypoint: /bench/sshd_config missing; start this through 'npm run bench -- --docker'" >&2
  exit 1
fi
exec /usr/sbin/sshd -D -e -f /bench/sshd_config
