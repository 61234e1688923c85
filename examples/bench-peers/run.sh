#!/usr/bin/env bash
# Runs the bench workload with every peer, interleaved, in one sitting against one
# standalone real ZooKeeper (started here unless HOST:PORT is given), and prints each
# run's `NAME OPS_PER_SEC CPU_US_PER_OP` lines (CPU per op from the client process's own
# getrusage over the timed part; the Java client prints ops/sec only) plus each process's
# total CPU time (GNU time).
#
# Peers: zk-client (multi-thread and current-thread runtimes), kezhuw's zookeeper-client
# crate (examples/bench-peers/zookeeper-client, both runtimes), the Java client.
#
# Usage: bash examples/bench-peers/run.sh [HOST:PORT] [ROUNDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
connect=${1:-}
rounds=${2:-1}
work=$(mktemp -d)
zk_pid=
cleanup() {
    if [ -n "$zk_pid" ]; then kill "$zk_pid" 2>/dev/null; wait "$zk_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && cargo build --release -q -p examples --bin bench)
(cd "$here/zookeeper-client" && cargo build --release -q)
bench=${CARGO_TARGET_DIR:-$root/target}/release/bench
peer=$here/zookeeper-client/target/release/bench-zookeeper-client
cp=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-nop.jar
javac -cp "$cp" -d "$work" "$here/JavaBench.java"

if [ -z "$connect" ]; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$work/data"
    printf 'tickTime=2000\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=*\nmaxClientCnxns=0\n' \
        "$work/data" "$port" >"$work/zoo.cfg"
    java -Xmx512m -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-nop.jar \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$work/zoo.cfg" >"$work/zk.log" 2>&1 &
    zk_pid=$!
    for _ in $(seq 1 120); do
        # Serving, not just running: `srvr` names the mode only then.
        if (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf srvr >&3 && timeout 1 cat <&3) 2>/dev/null \
            | grep -q '^Mode:'; then break; fi
        sleep 0.5
    done
    connect=127.0.0.1:$port
    echo "# standalone ZooKeeper at $connect"
fi

run() { # label, command...
    local label=$1; shift
    /usr/bin/time -o "$work/time" -f "cpu_seconds %U %S wall %e" "$@" >"$work/out" 2>"$work/err" \
        || { cat "$work/err" >&2; return 1; }
    sed "s/^/$label /" "$work/out"
    awk -v l="$label" '{printf "%s total_cpu_seconds %.2f (user %s sys %s) wall %s\n", l, $2+$3, $2, $3, $5}' "$work/time"
}

for r in $(seq 1 "$rounds"); do
    echo "# round $r"
    run zk-client "$bench" --connect "$connect"
    run zk-client-current-thread env BENCH_CURRENT_THREAD=1 "$bench" --connect "$connect"
    run zookeeper-client "$peer" --connect "$connect"
    run zookeeper-client-current-thread env BENCH_CURRENT_THREAD=1 "$peer" --connect "$connect"
    run java java -cp "$cp:$work" JavaBench --connect "$connect"
done
