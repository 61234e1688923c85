#!/usr/bin/env bash
# Runs the bench workload with zk-client and with the Java client, interleaved, in one
# sitting against one standalone ZooKeeper, and reports each run's ops/sec lines plus the
# client process's CPU time (user+sys, from GNU time).
#
# Usage: bash examples/bench-peers/run.sh HOST:PORT [ROUNDS]
#   (build first: cargo build --release -p examples --bin bench)
set -euo pipefail
connect=${1:?usage: run.sh HOST:PORT [ROUNDS]}
rounds=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
bench=${BENCH_BIN:-${CARGO_TARGET_DIR:-$here/../../target}/release/bench}
cp=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-nop.jar
classes=$(mktemp -d)
trap 'rm -rf "$classes"' EXIT
javac -cp "$cp" -d "$classes" "$here/JavaBench.java"

run() { # label, command...
    local label=$1; shift
    /usr/bin/time -o "$classes/time" -f "cpu_seconds %U %S wall %e" "$@" >"$classes/out" 2>"$classes/err" \
        || { cat "$classes/err" >&2; return 1; }
    sed "s/^/$label /" "$classes/out"
    awk -v l="$label" '{printf "%s cpu_seconds %.2f (user %s sys %s) wall %s\n", l, $2+$3, $2, $3, $5}' "$classes/time"
}

for r in $(seq 1 "$rounds"); do
    echo "# round $r"
    run zk-client "$bench" --connect "$connect"
    run zk-client-current-thread env BENCH_CURRENT_THREAD=1 "$bench" --connect "$connect"
    run java java -cp "$cp:$classes" JavaBench --connect "$connect"
done
