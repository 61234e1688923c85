#!/usr/bin/env bash
# Does the server's pipelined throughput depend on how much the client leaves the
# machine's CPUs idle? On a VM whose idle vCPUs halt at once (no guest halt polling),
# waking a thread on an idle vCPU is slow, and ZooKeeper hands each request between
# several threads: a client that idles more may then make a server on the same machine
# slower, which a throughput comparison of clients would read as the client's doing.
#
# Against one standalone ZooKeeper (started here unless HOST:PORT is given), each round
# runs the pipelined workloads (`BENCH_PIPELINED_OPS`, current-thread runtimes) of
# zk-client and of kezhuw's zookeeper-client, each once as is and once with one
# `nice -n 19` busy loop per CPU running (they only take time no other thread wants,
# so no CPU stays idle), in an order that alternates between rounds. It prints every
# run, then per client and workload the median ops/s without and with the busy loops,
# and zk-client / zookeeper-client in each condition. The client's CPU per op is its own
# getrusage, which the busy loops (other processes) do not enter.
#
# Usage: bash examples/bench-peers/idle-vcpus.sh [HOST:PORT] [ROUNDS] [OPS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
connect=${1:-}
rounds=${2:-5}
ops=${3:-150000}
work=$(mktemp -d)
zk_pid=
spinners=()
stop_spinners() {
    if [ ${#spinners[@]} -gt 0 ]; then kill "${spinners[@]}" 2>/dev/null || true; fi
    spinners=()
}
cleanup() {
    stop_spinners
    if [ -n "$zk_pid" ]; then kill "$zk_pid" 2>/dev/null; wait "$zk_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=examples/bench-peers/rust-benches.sh
. "$here/rust-benches.sh"
build_rust_benches

# shellcheck source=examples/bench-peers/standalone-zk.sh
. "$here/standalone-zk.sh"
if [ -z "$connect" ]; then
    standalone_zk "$work"
fi
echo "# $(nproc) CPUs; kernel command line: $(grep -o 'haltpoll[^ ]*' /proc/cmdline | tr '\n' ' ')"

one() { # label, spin (0|1), binary
    local label=$1 spin=$2 bin=$3
    if [ "$spin" = 1 ]; then
        for _ in $(seq 1 "$(nproc)"); do
            nice -n 19 sh -c 'while :; do :; done' &
            spinners+=($!)
        done
        label=$label+busy-loops
    fi
    BENCH_CURRENT_THREAD=1 BENCH_PIPELINED_OPS=$ops "$bin" --connect "$connect" >"$work/out"
    stop_spinners
    sed "s/^/$label /" "$work/out" | tee -a "$work/all"
}

warm_up
for r in $(seq 1 "$rounds"); do
    echo "# round $r"
    if [ $((r % 2)) -eq 1 ]; then
        one zk-client 0 "$bench"; one zk-client 1 "$bench"
        one zookeeper-client 0 "$peer"; one zookeeper-client 1 "$peer"
    else
        one zookeeper-client 1 "$peer"; one zookeeper-client 0 "$peer"
        one zk-client 1 "$bench"; one zk-client 0 "$bench"
    fi
done

echo "# medians of $rounds round(s), $ops ops per workload"
python3 -B - "$here" "$work/all" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from runs import load, med
runs = load(sys.argv[2])
for name in ("get_pipelined", "set_pipelined"):
    for client in ("zk-client", "zookeeper-client"):
        a, b = runs.get((client, name)), runs.get((client + "+busy-loops", name))
        if a and b:
            print(f"{name}: {client}: {med(a, 0):.0f} ops/s idle CPUs, {med(b, 0):.0f} with busy "
                  f"loops (x{med(b, 0) / med(a, 0):.2f}); cpu/op {med(a, 1):.2f} vs {med(b, 1):.2f} us")
    for suffix, what in (("", "idle CPUs"), ("+busy-loops", "with busy loops")):
        a, b = runs.get(("zk-client" + suffix, name)), runs.get(("zookeeper-client" + suffix, name))
        if a and b:
            print(f"{name}: zk-client / zookeeper-client, {what}: ops/s ratio {med(a, 0) / med(b, 0):.2f}, "
                  f"cpu/op ratio {med(a, 1) / med(b, 1):.2f}")
PY
