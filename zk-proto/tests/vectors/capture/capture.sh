#!/usr/bin/env bash
# Regenerate the zk-proto wire-protocol test vectors from a REAL ZooKeeper 3.8 server.
#
# usage (from anywhere):  zk-proto/tests/vectors/capture/capture.sh [OUT_DIR]
#   OUT_DIR defaults to zk-proto/tests/vectors (the directory above this script).
#   KEEP=1 keeps the temp dir (server/proxy/client logs) for inspection.
#
# Needs (Debian 12): zookeeper + libzookeeper-java 3.8 (/usr/share/java/zookeeper.jar),
# a JDK (java + javac), python3-kazoo for /usr/bin/python3.  Loopback only; ports
# are picked at random among free ones (never 2181-2183).
#
# What it does:
#   phase 1: standalone server (QuorumPeerMain, no server.N lines) with
#            -Dzookeeper.extendedTypesEnabled=true, 4lw.commands.whitelist=*, admin server off;
#            proxy.py in front of it; kazoo, raw-socket and Java scenarios through the proxy.
#   phase 2: a one-member ensemble (standaloneEnabled=false, reconfigEnabled=true, digest
#            superuser) because a standalone server cannot execute reconfig (16); the Java
#            reconfig scenario runs through a second proxy.
#   phase 3: check.py validates every recorded file; only then are the *.txt files in
#            OUT_DIR replaced.
# Everything started here is stopped on exit (by PID).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-$(dirname "$HERE")}
PY=/usr/bin/python3
ZKJAR=/usr/share/java/zookeeper.jar
LOGJAR=/usr/share/java/slf4j-simple.jar
[ -f "$LOGJAR" ] || LOGJAR=/usr/share/java/slf4j-nop.jar
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$HERE"

WORK=$(mktemp -d /tmp/zkvectors.XXXXXX)
STAGE="$WORK/vectors"
mkdir -p "$STAGE" "$WORK/logs"
PIDS=()

log() { echo "[capture $(date +%H:%M:%S)] $*" >&2; }

cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
        log "logs kept in $WORK/logs"
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT INT TERM

# N free loopback ports, all distinct, none in 2181-2183
free_ports() {
    $PY - "$1" <<'EOF'
import socket, sys
socks, ports = [], []
while len(ports) < int(sys.argv[1]):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    socks.append(s)
    if not 2181 <= p <= 2183:
        ports.append(p)
print(" ".join(map(str, ports)))
EOF
}

# send a four-letter word straight to the server (never through the proxy)
fourlw() {
    $PY - "$1" "$2" <<'EOF'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    s.sendall(sys.argv[2].encode()); out = b""
    while True:
        c = s.recv(4096)
        if not c: break
        out += c
    sys.stdout.write(out.decode())
except OSError:
    pass
EOF
}

# start_zk NAME CFG JVMFLAGS... ; echoes nothing, appends to PIDS, sets ZK_PID
start_zk() {
    local name=$1 cfg=$2; shift 2
    java -cp "$ZKJAR:$LOGJAR" \
        -Dorg.slf4j.simpleLogger.logFile="$WORK/logs/$name.log" \
        -Dzookeeper.jmx.log4j.disable=true \
        "$@" org.apache.zookeeper.server.quorum.QuorumPeerMain "$cfg" \
        >"$WORK/logs/$name.out" 2>&1 &
    ZK_PID=$!
    PIDS+=("$ZK_PID")
}

wait_serving() {  # PORT
    for _ in $(seq 150); do
        if fourlw "$1" srvr | grep -q '^Mode:'; then return 0; fi
        sleep 0.2
    done
    log "server on port $1 did not come up"; return 1
}

stop_pid() {
    local pid=$1
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

start_proxy() {  # NAME LISTEN TARGET CONTROL VERSION
    $PY "$HERE/proxy.py" --listen-port "$2" --target-port "$3" --control-port "$4" \
        --out-dir "$STAGE" --server-version "$5" \
        --regen "zk-proto/tests/vectors/capture/capture.sh (see zk-proto/tests/vectors/README.md)" \
        >"$WORK/logs/$1.log" 2>&1 &
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    for _ in $(seq 50); do
        if $PY "$HERE/proxy.py" ctl "$4" STATUS >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    log "proxy did not start"; return 1
}

run() {  # LOGNAME CMD...
    local name=$1; shift
    log "scenario $name"
    if ! timeout 180 "$@" >"$WORK/logs/scenario-$name.log" 2>&1; then
        log "scenario $name FAILED; tail of its log:"; tail -30 "$WORK/logs/scenario-$name.log" >&2
        return 1
    fi
}

# ---------------------------------------------------------------- build Java
log "compiling ZkScenarios.java"
mkdir -p "$WORK/classes"
javac -nowarn -cp "$ZKJAR" -d "$WORK/classes" "$HERE/ZkScenarios.java"
JAVA_CLIENT=(java -cp "$WORK/classes:$ZKJAR:$LOGJAR" -Dzookeeper.sasl.client=false
             -Dorg.slf4j.simpleLogger.defaultLogLevel=info ZkScenarios)

# ---------------------------------------------------------------- phase 1
read -r ZKP PXP CTL <<<"$(free_ports 3)"
mkdir -p "$WORK/standalone/data"
cat >"$WORK/standalone/zoo.cfg" <<EOF
tickTime=2000
dataDir=$WORK/standalone/data
clientPort=$ZKP
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=*
EOF
log "phase 1: standalone server on 127.0.0.1:$ZKP, proxy $PXP, control $CTL"
start_zk standalone "$WORK/standalone/zoo.cfg" -Dzookeeper.extendedTypesEnabled=true
ZK1=$ZK_PID
wait_serving "$ZKP"
VERSION="$(fourlw "$ZKP" srvr | sed -n 's/^Zookeeper version: //p'), standalone, extendedTypesEnabled=true"
log "server: $VERSION"
start_proxy proxy1 "$PXP" "$ZKP" "$CTL" "$VERSION"
PROXY1=$PROXY_PID

run kazoo_basic $PY "$HERE/kazoo_scenarios.py" basic "127.0.0.1:$PXP" "$CTL"
run kazoo_auth $PY "$HERE/kazoo_scenarios.py" auth "127.0.0.1:$PXP" "$CTL"
run raw $PY "$HERE/raw_scenarios.py" "127.0.0.1:$PXP" "$CTL"
read -r FQ FE FC <<<"$(free_ports 3)"   # only text inside a reconfig request that is refused
run java_ops "${JAVA_CLIENT[@]}" ops "127.0.0.1:$PXP" "127.0.0.1:$ZKP" "$CTL" \
    "server.1=127.0.0.1:$FQ:$FE:participant;127.0.0.1:$FC"
run java_setwatches "${JAVA_CLIENT[@]}" setwatches "127.0.0.1:$PXP" "127.0.0.1:$ZKP" "$CTL"
run java_setwatches2 "${JAVA_CLIENT[@]}" setwatches2 "127.0.0.1:$PXP" "127.0.0.1:$ZKP" "$CTL"

$PY "$HERE/proxy.py" ctl "$CTL" WAITIDLE 10 >/dev/null || log "warning: proxy still has live connections"
$PY "$HERE/proxy.py" ctl "$CTL" QUIT >/dev/null
wait "$PROXY1" 2>/dev/null || true
stop_pid "$ZK1"

# ---------------------------------------------------------------- phase 2
read -r ZKP2 QP EP PXP2 CTL2 OQ OE OC <<<"$(free_ports 8)"
mkdir -p "$WORK/ensemble/data"
echo 1 >"$WORK/ensemble/data/myid"
SUPER_DIGEST=$($PY -c 'import base64,hashlib;print(base64.b64encode(hashlib.sha1(b"super:superpw").digest()).decode())')
cat >"$WORK/ensemble/zoo.cfg" <<EOF
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$WORK/ensemble/data
admin.enableServer=false
4lw.commands.whitelist=*
standaloneEnabled=false
reconfigEnabled=true
server.1=127.0.0.1:$QP:$EP:participant;127.0.0.1:$ZKP2
EOF
log "phase 2: one-member ensemble on 127.0.0.1:$ZKP2, proxy $PXP2, control $CTL2"
start_zk ensemble "$WORK/ensemble/zoo.cfg" -Dzookeeper.extendedTypesEnabled=true \
    "-Dzookeeper.DigestAuthenticationProvider.superDigest=super:$SUPER_DIGEST"
ZK2=$ZK_PID
wait_serving "$ZKP2"
VERSION2="$(fourlw "$ZKP2" srvr | sed -n 's/^Zookeeper version: //p'), one-member ensemble (standaloneEnabled=false, reconfigEnabled=true, superDigest for super:superpw)"
start_proxy proxy2 "$PXP2" "$ZKP2" "$CTL2" "$VERSION2"
PROXY2=$PROXY_PID
# non-incremental reconfig: keep server.1, add a (never started) observer server.2
MEMBERS="server.1=127.0.0.1:$QP:$EP:participant;127.0.0.1:$ZKP2,server.2=127.0.0.1:$OQ:$OE:observer;127.0.0.1:$OC"
run java_reconfig "${JAVA_CLIENT[@]}" reconfig "127.0.0.1:$PXP2" "127.0.0.1:$ZKP2" "$CTL2" "$MEMBERS"
$PY "$HERE/proxy.py" ctl "$CTL2" WAITIDLE 10 >/dev/null || log "warning: proxy still has live connections"
$PY "$HERE/proxy.py" ctl "$CTL2" QUIT >/dev/null
wait "$PROXY2" 2>/dev/null || true
stop_pid "$ZK2"

# ---------------------------------------------------------------- phase 3
log "checking $(ls "$STAGE" | wc -l) recorded files"
if ! $PY "$HERE/check.py" --strict "$STAGE"/*.txt >"$WORK/logs/check.txt" 2>&1; then
    cat "$WORK/logs/check.txt" >&2
    log "check.py failed; $OUT left untouched"
    exit 1
fi
mkdir -p "$OUT"
rm -f "$OUT"/*.txt
cp "$STAGE"/*.txt "$OUT"/
log "wrote $(ls "$STAGE" | wc -l) vector files to $OUT ($(cat "$STAGE"/*.txt | wc -c) bytes)"
log "summary: $PY $HERE/check.py $OUT/*.txt"
