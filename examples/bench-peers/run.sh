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
# At the end, one line per workload compares zk-client with zookeeper-client, both on
# current-thread runtimes: the median over the rounds of each one's ops/sec and CPU
# microseconds per op, and the ratios (zk-client / zookeeper-client) of both; then,
# for the pipelined workloads, each round's ops/sec ratio and their median (the two
# ran in the same round, so a round's ratio is the fairest single comparison the
# server's drift allows), and zk-client's figures with batched reads off
# (`zk-client-current-thread-unbatched`, `BENCH_NO_BATCH_READS`: every reply read as
# it lands).
#
# The server it starts runs on the first half of the CPUs this script may use and every
# client on the other half (`taskset`), as if on separate hosts: on one small VM a
# client's CPU use and sleeps otherwise also move the server's throughput (its threads
# share the client's CPUs, and waking one on a halted vCPU is slow; idle-vcpus.sh shows
# by how much), which the comparison would read as the client's doing. `BENCH_PIN=0`
# runs everything unpinned; with HOST:PORT given, or fewer than 2 CPUs, nothing is
# pinned.
#
# After the rounds come the pipelined pairs: `BENCH_PAIRS` (default 10) pairs of runs of
# only the pipelined workloads (`BENCH_PIPELINED_OPS`, `BENCH_PAIR_OPS` ops each, default
# 100,000) of zk-client and zookeeper-client, current-thread runtimes, back to back,
# in an order that alternates from pair to pair. The two runs of a pair are seconds
# apart, where a round's are minutes apart, so a pair's ratio is the least touched by
# the server's (and the host's) drift; the script prints each pair's ops/s ratio, their
# median, and the ratio of the medians of CPU per op.
#
# Before the rounds, one untimed pipelined run of each Rust client warms the server's
# JIT. Odd rounds run the clients in the order listed above, even rounds in reverse,
# so that the server's drift within a round favours no client.
#
# Usage: [BENCH_PIN=0] bash examples/bench-peers/run.sh [HOST:PORT] [ROUNDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
connect=${1:-}
rounds=${2:-1}
work=$(mktemp -d)
: >"$work/all"
: >"$work/pairs"
zk_pid=
cleanup() {
    if [ -n "$zk_pid" ]; then kill "$zk_pid" 2>/dev/null; wait "$zk_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=examples/bench-peers/rust-benches.sh
. "$here/rust-benches.sh"
build_rust_benches
cp=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-nop.jar
javac -cp "$cp" -d "$work" "$here/JavaBench.java"

# shellcheck source=examples/bench-peers/standalone-zk.sh
. "$here/standalone-zk.sh"
pin=()
if [ -z "$connect" ] && [ "${BENCH_PIN:-1}" != 0 ]; then
    # The CPUs this process may run on, split in two halves (empty when fewer than 2).
    read -r server_cpus client_cpus < <(/usr/bin/python3 -c '
import os
c = sorted(os.sched_getaffinity(0))
h = len(c) // 2
print(",".join(map(str, c[:h])) or "-", ",".join(map(str, c[h:])) or "-")')
    if [ "$server_cpus" != - ]; then
        zk_wrap=(taskset -c "$server_cpus")
        pin=(taskset -c "$client_cpus")
        echo "# server pinned to CPUs $server_cpus, clients to CPUs $client_cpus"
    fi
fi
if [ -z "$connect" ]; then
    standalone_zk "$work"
fi
[ ${#pin[@]} -gt 0 ] || echo "# not pinned: server and clients share the CPUs"

run() { # label, command...
    local label=$1; shift
    "${pin[@]}" /usr/bin/time -o "$work/time" -f "cpu_seconds %U %S wall %e" "$@" >"$work/out" 2>"$work/err" \
        || { cat "$work/err" >&2; return 1; }
    sed "s/^/$label /" "$work/out" | tee -a "$work/all"
    awk -v l="$label" '{printf "%s total_cpu_seconds %.2f (user %s sys %s) wall %s\n", l, $2+$3, $2, $3, $5}' "$work/time"
}

warm_up "${pin[@]}"

client() { # index: one client's run
    case $1 in
    0) run zk-client "$bench" --connect "$connect" ;;
    1) run zk-client-current-thread env BENCH_CURRENT_THREAD=1 "$bench" --connect "$connect" ;;
    2) run zk-client-current-thread-unbatched env BENCH_CURRENT_THREAD=1 BENCH_NO_BATCH_READS=1 \
        "$bench" --connect "$connect" ;;
    3) run zookeeper-client "$peer" --connect "$connect" ;;
    4) run zookeeper-client-current-thread env BENCH_CURRENT_THREAD=1 "$peer" --connect "$connect" ;;
    5) run java java -cp "$cp:$work" JavaBench --connect "$connect" ;;
    esac
}
for r in $(seq 1 "$rounds"); do
    # Odd rounds run the clients in the order above, even rounds in reverse, so
    # that a drift of the server within a round favours no client.
    if [ $((r % 2)) -eq 1 ]; then order="0 1 2 3 4 5"; else order="5 4 3 2 1 0"; fi
    echo "# round $r"
    for i in $order; do client "$i"; done
done

pairs=${BENCH_PAIRS:-10}
pair_ops=${BENCH_PAIR_OPS:-100000}
pair_run() { # label, binary
    "${pin[@]}" env BENCH_CURRENT_THREAD=1 BENCH_PIPELINED_OPS="$pair_ops" "$2" --connect "$connect" \
        >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; return 1; }
    sed "s/^/$1 /" "$work/out" | tee -a "$work/pairs"
}
for p in $(seq 1 "$pairs"); do
    echo "# pair $p"
    if [ $((p % 2)) -eq 1 ]; then
        pair_run zk-client "$bench"; pair_run zookeeper-client "$peer"
    else
        pair_run zookeeper-client "$peer"; pair_run zk-client "$bench"
    fi
done

echo "# current-thread runtimes, median of $rounds round(s): zk-client vs zookeeper-client"
python3 -B - "$here" "$work/all" <<'PY'
import statistics, sys
sys.path.insert(0, sys.argv[1])
from runs import load, med
runs = load(sys.argv[2])
ours, theirs = "zk-client-current-thread", "zookeeper-client-current-thread"
for (label, name), _ in sorted(runs.items(), key=lambda kv: kv[0][1]):
    if label != ours or (theirs, name) not in runs:
        continue
    a, b = runs[(ours, name)], runs[(theirs, name)]
    ops_a, cpu_a, ops_b, cpu_b = med(a, 0), med(a, 1), med(b, 0), med(b, 1)
    print(f"{name}: cpu/op ratio {cpu_a / cpu_b:.2f} ({cpu_a:.2f} vs {cpu_b:.2f} us), "
          f"ops/s ratio {ops_a / ops_b:.2f} ({ops_a:.0f} vs {ops_b:.0f})")
for name in ("get_pipelined", "set_pipelined"):
    a, b = runs.get((ours, name), []), runs.get((theirs, name), [])
    ratios = [x[0] / y[0] for x, y in zip(a, b)]
    per_round = " ".join(f"{r:.2f}" for r in ratios)
    median = f" (median {statistics.median(ratios):.2f})" if ratios else ""
    print(f"{name}: ops/s ratio per round: {per_round}{median}")
    u = runs.get(("zk-client-current-thread-unbatched", name), [])
    if u and b:
        print(f"{name}: batched reads off: {med(u, 1):.2f} us/op "
              f"(cpu/op ratio {med(u, 1) / med(b, 1):.2f}), {med(u, 0):.0f} ops/s "
              f"(ops/s ratio {med(u, 0) / med(b, 0):.2f})")
PY

echo "# pipelined pairs, $pairs pair(s) of $pair_ops ops: zk-client vs zookeeper-client"
python3 -B - "$here" "$work/pairs" <<'PY'
import statistics, sys
sys.path.insert(0, sys.argv[1])
from runs import load, med
runs = load(sys.argv[2])
for name in ("get_pipelined", "set_pipelined"):
    a, b = runs.get(("zk-client", name), []), runs.get(("zookeeper-client", name), [])
    if not a or len(a) != len(b):
        continue
    ratios = [x[0] / y[0] for x, y in zip(a, b)]
    print(f"{name}: ops/s ratio per pair: {' '.join(f'{r:.2f}' for r in ratios)} "
          f"(median {statistics.median(ratios):.2f}); cpu/op ratio {med(a, 1) / med(b, 1):.2f} "
          f"({med(a, 1):.2f} vs {med(b, 1):.2f} us)")
PY
