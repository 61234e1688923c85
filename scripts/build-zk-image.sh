#!/usr/bin/env bash
# Builds a local ZooKeeper 3.8 container image from Debian's packages, for the
# test kit's container backend (zk-server-sim, feature `testcontainers`).
#
# No container registry is needed: debootstrap makes a minimal Debian root
# filesystem holding the `zookeeper` package and a headless JRE, an entrypoint
# that honours the official `zookeeper` image's variables is added, and the
# result is `docker import`ed under a tag (default `zookeeper:3.8`, the name
# of the official image, so the same tests run against either).
#
# Usage: scripts/build-zk-image.sh [--force] [TAG]
#   TAG      image tag (default: $ZK_IMAGE or zookeeper:3.8)
#   --force  rebuild even if the image exists
# Environment: ZK_IMAGE_MIRROR (default http://deb.debian.org/debian),
#              ZK_IMAGE_SUITE (default bookworm).
#
# Idempotent: when the tag exists and carries this script's build label, the
# script says so and exits at once. Prints how long the build took.
# Needs root (debootstrap, chroot), docker and debootstrap
# (.ci/install-deps.sh installs debootstrap).
set -euo pipefail

force=0
tag="${ZK_IMAGE:-zookeeper:3.8}"
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) tag="$arg" ;;
  esac
done
mirror="${ZK_IMAGE_MIRROR:-http://deb.debian.org/debian}"
suite="${ZK_IMAGE_SUITE:-bookworm}"
# Bump when the image's contents or entrypoint change: an image with another
# label is rebuilt.
recipe="zk-rs-image-v1"

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "build-zk-image: no usable Docker engine; skipping the ZooKeeper image" >&2
  exit 0
fi

if [ "$force" -eq 0 ] &&
   [ "$(docker image inspect -f '{{ index .Config.Labels "zk-rs.recipe" }}' "$tag" 2>/dev/null || true)" = "$recipe" ]; then
  echo "build-zk-image: $tag already built ($recipe); nothing to do"
  exit 0
fi

for tool in debootstrap chroot; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build-zk-image: $tool not found (run .ci/install-deps.sh)" >&2
    exit 1
  fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "build-zk-image: must run as root (debootstrap)" >&2
  exit 1
fi

began=$(date +%s)
work=$(mktemp -d /tmp/zk-image.XXXXXX)
rootfs="$work/rootfs"
cleanup() {
  # debootstrap may leave /proc or /sys mounted inside the tree on failure.
  for m in proc sys dev/pts dev; do
    umount -l "$rootfs/$m" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> debootstrap $suite (minbase + zookeeper + JRE) from $mirror"
debootstrap --variant=minbase \
  --include=zookeeper,openjdk-17-jre-headless,libslf4j-java \
  "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  echo "build-zk-image: debootstrap failed; log tail:" >&2
  tail -n 40 "$work/debootstrap.log" >&2
  exit 1
}

echo "==> entrypoint and trimming"
install -d "$rootfs/conf" "$rootfs/data" "$rootfs/datalog"
cat >"$rootfs/docker-entrypoint.sh" <<'EOF'
#!/bin/bash
# Writes /conf/zoo.cfg from the official zookeeper image's variables (when no
# zoo.cfg is mounted), /data/myid from ZOO_MY_ID, then runs the server in the
# foreground, logging to stderr.
set -e
: "${ZOO_CONF_DIR:=/conf}" "${ZOO_DATA_DIR:=/data}" "${ZOO_DATA_LOG_DIR:=/datalog}"
: "${ZOO_TICK_TIME:=2000}" "${ZOO_INIT_LIMIT:=5}" "${ZOO_SYNC_LIMIT:=2}"
: "${ZOO_MAX_CLIENT_CNXNS:=60}" "${ZOO_STANDALONE_ENABLED:=true}"
: "${ZOO_ADMINSERVER_ENABLED:=false}" "${ZOO_4LW_COMMANDS_WHITELIST:=srvr}"
: "${ZOO_AUTOPURGE_PURGEINTERVAL:=0}" "${ZOO_AUTOPURGE_SNAPRETAINCOUNT:=3}"
cfg="$ZOO_CONF_DIR/zoo.cfg"
mkdir -p "$ZOO_CONF_DIR" "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR"
if [ ! -f "$cfg" ]; then
  {
    echo "dataDir=$ZOO_DATA_DIR"
    echo "dataLogDir=$ZOO_DATA_LOG_DIR"
    echo "tickTime=$ZOO_TICK_TIME"
    echo "initLimit=$ZOO_INIT_LIMIT"
    echo "syncLimit=$ZOO_SYNC_LIMIT"
    echo "maxClientCnxns=$ZOO_MAX_CLIENT_CNXNS"
    echo "standaloneEnabled=$ZOO_STANDALONE_ENABLED"
    echo "admin.enableServer=$ZOO_ADMINSERVER_ENABLED"
    echo "autopurge.purgeInterval=$ZOO_AUTOPURGE_PURGEINTERVAL"
    echo "autopurge.snapRetainCount=$ZOO_AUTOPURGE_SNAPRETAINCOUNT"
    echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST"
    for server in ${ZOO_SERVERS:-server.1=localhost:2888:3888;2181}; do
      echo "$server"
    done
    for extra in ${ZOO_CFG_EXTRA:-}; do
      echo "$extra"
    done
  } >"$cfg"
fi
if [ ! -f "$ZOO_DATA_DIR/myid" ]; then
  echo "${ZOO_MY_ID:-1}" >"$ZOO_DATA_DIR/myid"
fi
if [ "$#" -gt 0 ] && [ "$1" != "zkServer.sh" ]; then
  exec "$@"
fi
cp="/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar"
for jar in netty-codec netty-resolver; do
  [ -f "/usr/share/java/$jar.jar" ] && cp="$cp:/usr/share/java/$jar.jar"
done
exec java ${JVMFLAGS:--Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1} \
  -Dzookeeper.log.dir=/datalog -cp "$cp" \
  org.apache.zookeeper.server.quorum.QuorumPeerMain "$cfg"
EOF
chmod 755 "$rootfs/docker-entrypoint.sh"
# Debian's package ships a config dir and a service we do not use.
rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"* \
  "$rootfs/usr/share/doc" "$rootfs/usr/share/man" "$rootfs/usr/share/locale"

echo "==> docker import as $tag"
tar -C "$rootfs" -c . | docker import \
  --change 'ENTRYPOINT ["/docker-entrypoint.sh"]' \
  --change 'CMD ["zkServer.sh", "start-foreground"]' \
  --change 'EXPOSE 2181 2888 3888' \
  --change 'WORKDIR /' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "LABEL zk-rs.recipe=$recipe" \
  - "$tag" >/dev/null

took=$(( $(date +%s) - began ))
size=$(docker image inspect -f '{{ .Size }}' "$tag")
echo "build-zk-image: built $tag in ${took}s ($(( size / 1024 / 1024 )) MiB)"
