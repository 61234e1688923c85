#!/usr/bin/env bash
# Builds a local ZooKeeper 3.8 container image from Debian's packages, for the
# test kit's container backend (zk-server-sim, feature `testcontainers`).
#
# No container registry is needed: a minimal Debian root filesystem holding
# ZooKeeper 3.8 (Debian's `zookeeper` package) and a headless JRE gets an
# entrypoint that honours the official `zookeeper` image's variables, and is
# `docker import`ed under a tag (default `zookeeper:3.8`, the official image's
# name, so the same tests run against either). Two ways to make the root
# filesystem:
#   host         copy the files of the host's installed packages (the JRE, the
#                jars on ZooKeeper's classpath, bash, coreutils, the shared
#                libraries they load); needs `zookeeper` installed here, which
#                .ci/install-deps.sh does. Fast (no download).
#   debootstrap  a fresh Debian minbase with the packages installed from the
#                mirror. Slow (downloads and configures ~250 packages).
#
# Usage: scripts/build-zk-image.sh [--force] [--method host|debootstrap] [TAG]
#   TAG      image tag (default: $ZK_IMAGE or zookeeper:3.8)
#   --force  rebuild even if the image exists
#   --method default: host when the packages are installed here, else debootstrap
# Environment: ZK_IMAGE_METHOD (as --method), ZK_IMAGE_MIRROR (default
#              http://deb.debian.org/debian), ZK_IMAGE_SUITE (default bookworm).
#
# Idempotent: when the tag exists and carries this script's build label, the
# script says so and exits at once. Prints how long the build took.
# Needs root (debootstrap, chroot), docker and debootstrap
# (.ci/install-deps.sh installs debootstrap).
set -euo pipefail

force=0
tag="${ZK_IMAGE:-zookeeper:3.8}"
method="${ZK_IMAGE_METHOD:-auto}"
while [ "$#" -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --method) shift; method="${1:-}" ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) tag="$1" ;;
  esac
  shift
done
java_home=/usr/lib/jvm/java-17-openjdk-amd64
if [ "$method" = auto ]; then
  if dpkg -s zookeeper openjdk-17-jre-headless libslf4j-java >/dev/null 2>&1 &&
     [ -x "$java_home/bin/java" ]; then
    method=host
  else
    method=debootstrap
  fi
fi
case "$method" in
  host|debootstrap) ;;
  *) echo "build-zk-image: unknown method '$method' (host or debootstrap)" >&2; exit 2 ;;
esac
mirror="${ZK_IMAGE_MIRROR:-http://deb.debian.org/debian}"
suite="${ZK_IMAGE_SUITE:-bookworm}"
# Bump when the image's contents or entrypoint change: an image with another
# label is rebuilt.
recipe="zk-rs-image-v2"

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "build-zk-image: no usable Docker engine; skipping the ZooKeeper image" >&2
  exit 0
fi

if [ "$force" -eq 0 ] &&
   [ "$(docker image inspect -f '{{ index .Config.Labels "zk-rs.recipe" }}' "$tag" 2>/dev/null || true)" = "$recipe" ]; then
  echo "build-zk-image: $tag already built ($recipe); nothing to do"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "build-zk-image: must run as root" >&2
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

# The jars ZooKeeper runs with: its own, the Class-Path of its manifest, the
# SLF4J binding, and the two Netty modules the manifest misses.
zk_jars() {
  python3 - <<'PY'
import re, zipfile
jar = "/usr/share/java/zookeeper.jar"
manifest = zipfile.ZipFile(jar).read("META-INF/MANIFEST.MF").decode()
manifest = re.sub(r"\r?\n ", "", manifest)
paths = [jar, "/usr/share/java/slf4j-simple.jar",
         "/usr/share/java/netty-codec.jar", "/usr/share/java/netty-resolver.jar"]
for line in manifest.splitlines():
    if line.startswith("Class-Path:"):
        paths += line.split()[1:]
print("\n".join(paths))
PY
}

if [ "$method" = host ]; then
  echo "==> assembling the root filesystem from the host's installed packages"
  mkdir -p "$rootfs/usr/bin" "$rootfs/usr/sbin" "$rootfs/usr/lib" "$rootfs/usr/lib64"
  for d in bin sbin lib lib64; do ln -s "usr/$d" "$rootfs/$d"; done
  list="$work/files"
  {
    dpkg -L base-files libc6 libgcc-s1 libstdc++6 zlib1g bash libtinfo6 coreutils \
      libacl1 libattr1 libselinux1 libpcre2-8-0 libgmp10 openjdk-17-jre-headless
    for jar in $(zk_jars); do
      if [ -e "$jar" ]; then echo "$jar"; readlink -f "$jar"; fi
    done
    # Shared libraries the JVM and bash load, wherever they come from.
    find "$java_home" -name '*.so' -print0 | xargs -0 ldd 2>/dev/null |
      awk '$2 == "=>" && $3 ~ /^\// { print $3 }'
    ldd /usr/bin/bash | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'
  } | sort -u | while IFS= read -r f; do
    # Files and symlinks only; directories come with them. Skip the merged-usr
    # top-level links (/lib, /bin, ...), made above.
    case "$f" in /bin|/sbin|/lib|/lib64|/lib32|/libx32) continue ;; esac
    if [ -L "$f" ] || { [ -e "$f" ] && [ ! -d "$f" ]; }; then
      printf '%s\n' "${f#/}"
    fi
  done >"$list"
  tar -C / --no-recursion -cf - -T "$list" | tar -C "$rootfs" -xf -
  mkdir -p "$rootfs/tmp" "$rootfs/root" "$rootfs/etc"
  chmod 1777 "$rootfs/tmp"
  echo 'root:x:0:0:root:/root:/bin/bash' >"$rootfs/etc/passwd"
  echo 'root:x:0:' >"$rootfs/etc/group"
else
  for tool in debootstrap chroot; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "build-zk-image: $tool not found (run .ci/install-deps.sh)" >&2
      exit 1
    fi
  done
  echo "==> debootstrap $suite (minbase + zookeeper + JRE) from $mirror"
  debootstrap --variant=minbase \
    --include=zookeeper,openjdk-17-jre-headless,libslf4j-java \
    "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    echo "build-zk-image: debootstrap failed; log tail:" >&2
    tail -n 40 "$work/debootstrap.log" >&2
    exit 1
  }
fi

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
exec "${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}/bin/java" ${JVMFLAGS:--Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1} \
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
