#!/usr/bin/env bash
# Install the system packages the integration tests need, from Debian's archive:
#
#   zookeeper                  real ZooKeeper 3.8 server (zk_server_sim::real), pulls in
#                              libzookeeper-java, default-jre (OpenJDK 17) and libslf4j-java
#   libcurator-recipes-java    Curator 5.4 recipes (differential tests of zk-recipes)
#   libcurator-discovery-java  Curator service discovery
#   python3-kazoo              kazoo, for Python cross-client tests (use /usr/bin/python3:
#                              a pyenv or venv python3 on PATH does not see Debian's modules)
#   openjdk-17-jdk-headless    javac, to compile the Java/Curator interop programs the tests run
#                              (zookeeper pulls in only a JRE)
#   debootstrap                builds the Debian root file system of the container image the
#                              test kit's container backend runs (no registry is reachable)
#
# After installing, every jar the interop tests and the real-ZooKeeper harness put on a
# classpath is checked, as are javac, java and kazoo: a broken install fails here, loudly,
# not as a skipped test.
#
# Idempotent and non-interactive: when every package is already installed this only runs
# dpkg-query and returns in well under a second; `apt-get update` runs only when something
# is missing. No service is started: the ZooKeeper init/systemd unit lives in the separate
# `zookeeperd` package, which is not installed, and a temporary policy-rc.d forbids service
# starts during the install anyway. The script checks afterwards that nothing new listens on
# ZooKeeper's default port 2181 (the tests use their own free loopback ports).
#
# Usage: bash .ci/install-deps.sh        (as root, or as a user with sudo)
set -euo pipefail

PACKAGES=(zookeeper libcurator-recipes-java libcurator-discovery-java python3-kazoo
    openjdk-17-jdk-headless debootstrap)
# Files the tests rely on; checked on every run (also when nothing needed installing) so a
# broken or partial install fails here, loudly. Jars: the real-ZooKeeper harness classpath
# (zk-server-sim/src/real/install.rs), the interop programs' classpath
# (zk-server-sim/tests/interop_clients.rs JARS) and the Curator recipes/discovery programs.
REQUIRED_FILES=(
    /usr/bin/java
    /usr/bin/javac
    /usr/sbin/debootstrap
    /usr/share/java/zookeeper.jar
    /usr/share/java/zookeeper-jute.jar
    /usr/share/java/slf4j-simple.jar
    /usr/share/java/slf4j-api.jar
    /usr/share/java/slf4j-nop.jar
    /usr/share/java/netty-codec.jar
    /usr/share/java/netty-resolver.jar
    /usr/share/java/netty-buffer.jar
    /usr/share/java/netty-common.jar
    /usr/share/java/netty-handler.jar
    /usr/share/java/netty-transport.jar
    /usr/share/java/curator-client.jar
    /usr/share/java/curator-framework.jar
    /usr/share/java/curator-recipes.jar
    /usr/share/java/curator-x-discovery.jar
    /usr/share/java/guava.jar
    /usr/share/java/jackson-core.jar
    /usr/share/java/jackson-databind.jar
    /usr/share/java/jackson-annotations.jar
)

# Fails unless every required file exists and /usr/bin/python3 imports kazoo.
check_files() {
    local f bad=0
    for f in "${REQUIRED_FILES[@]}"; do
        if [ ! -e "$f" ]; then
            log "expected file $f is missing"
            bad=1
        fi
    done
    if ! /usr/bin/python3 -c 'import kazoo' >/dev/null 2>&1; then
        log "/usr/bin/python3 cannot import kazoo"
        bad=1
    fi
    return "$bad"
}

export DEBIAN_FRONTEND=noninteractive

log() { printf 'install-deps: %s\n' "$*" >&2; }

is_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

# True when some socket listens on TCP port 2181 (IPv4 or IPv6). Reads /proc directly so it
# works on a minimal image without iproute2/net-tools. 0885 = 2181, state 0A = LISTEN.
zk_port_listening() {
    local f
    for f in /proc/net/tcp /proc/net/tcp6; do
        [ -r "$f" ] || continue
        if awk 'NR > 1 { split($2, a, ":"); if (a[2] == "0885" && $4 == "0A") found = 1 }
                END { exit !found }' "$f"; then
            return 0
        fi
    done
    return 1
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
    check_files || exit 1
    log "all packages and files present: ${PACKAGES[*]}"
    exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo --preserve-env=DEBIAN_FRONTEND)
    else
        log "need root (or sudo) to install: ${missing[*]}"
        exit 1
    fi
fi

port_busy_before=0
if zk_port_listening; then
    port_busy_before=1
fi

# Forbid maintainer scripts from starting services (invoke-rc.d and deb-systemd-invoke both
# honour policy-rc.d). Leave an existing policy (e.g. a container's `exit 101`) untouched.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
    if [ "$created_policy" -eq 1 ]; then
        "${SUDO[@]}" rm -f "$POLICY"
    fi
}
trap cleanup EXIT
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# temporary, from .ci/install-deps.sh: start no services\nexit 101\n' |
        "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 755 "$POLICY"
    created_policy=1
fi

log "installing: ${missing[*]}"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >/dev/null

for pkg in "${PACKAGES[@]}"; do
    if ! is_installed "$pkg"; then
        log "package $pkg is still not installed"
        exit 1
    fi
done
check_files || exit 1

if [ "$port_busy_before" -eq 0 ] && zk_port_listening; then
    # Only possible if something pulled in zookeeperd and ignored policy-rc.d; undo it.
    log "a ZooKeeper service started on port 2181 during the install; stopping it"
    "${SUDO[@]}" service zookeeper stop >/dev/null 2>&1 || true
    sleep 1
    if zk_port_listening; then
        log "port 2181 is still in use after the install; stop that service by hand"
        exit 1
    fi
fi

log "done"
