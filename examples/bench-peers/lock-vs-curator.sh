#!/usr/bin/env bash
# Runs the lock workloads of examples/bench (lock_cycle, lock_contended_4) with zk-recipes'
# mutex and with Apache Curator's InterProcessMutex (CuratorLockBench.java), interleaved,
# in one sitting against one real standalone ZooKeeper 3.8, and prints every run's figures
# and, per workload, the median of each side and their ratio.
#
# Usage: bash examples/bench-peers/lock-vs-curator.sh [HOST:PORT] [ROUNDS]
#   Without HOST:PORT (or with "-") it starts its own standalone server (Debian's
#   zookeeper, forceSync=no, on a free loopback port) and stops it at the end.
#   The Rust side is target/release/bench (BENCH_BIN overrides); it is built here when
#   missing.
set -euo pipefail
connect=${1:--}
rounds=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bench=${BENCH_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/bench}
[ -x "$bench" ] || cargo build --release -p examples --bin bench --manifest-path "$root/Cargo.toml" >&2
cp=/usr/share/java/curator-recipes.jar:/usr/share/java/slf4j-nop.jar
work=$(mktemp -d)
zk_pid=
cleanup() {
    if [ -n "$zk_pid" ]; then
        kill "$zk_pid" 2>/dev/null || true
        wait "$zk_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
javac -nowarn -cp "$cp" -d "$work" "$here/CuratorLockBench.java"

# shellcheck source=examples/bench-peers/standalone-zk.sh
. "$here/standalone-zk.sh"
if [ "$connect" = "-" ]; then
    standalone_zk "$work" forceSync=no
fi

: >"$work/all"
run() { # label, command...
    local label=$1; shift
    "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; return 1; }
    grep -E '^lock_(cycle|contended_4) ' "$work/out" | sed "s/^/$label /" | tee -a "$work/all"
}

for r in $(seq 1 "$rounds"); do
    echo "# round $r"
    run zk-recipes "$bench" --connect "$connect"
    run curator java -cp "$cp:$work" CuratorLockBench --connect "$connect"
done

echo "# medians over $rounds rounds (ops/sec) and zk-recipes/curator"
for w in lock_cycle lock_contended_4; do
    median() { grep "^$1 $w " "$work/all" | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
    ours=$(median zk-recipes)
    theirs=$(median curator)
    awk -v w="$w" -v o="$ours" -v t="$theirs" 'BEGIN {printf "%s zk-recipes %s curator %s ratio %.2fx\n", w, o, t, o/t}'
done
