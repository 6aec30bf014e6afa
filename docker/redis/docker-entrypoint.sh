#!/bin/sh
# The official Redis image's entrypoint contract, as docker/compose.yaml uses it:
# - options alone (the first argument starts with -) are options of redis-server;
# - redis-server started as root runs as the user redis, its data folder made its own
#   first;
# - any other command (compose's `sh -c`, which reads its secret as root and then
#   starts redis-server through this entrypoint) runs as it is, as the user it started as.
set -eu
case "${1:-}" in -*) set -- redis-server "$@" ;; esac
if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
  chown -R redis:redis /data 2>/dev/null || true
  exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
