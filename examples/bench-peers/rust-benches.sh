# Sourced by the bench-peers scripts that run both Rust clients.
#
# `build_rust_benches` builds (release) zk-client's bench and the zookeeper-client
# peer's and sets `bench` and `peer` to their binaries. Needs `root` (the workspace)
# and `here` (this directory).
#
# `warm_up [PREFIX...]` runs each once, untimed, on `BENCH_PIPELINED_OPS=50000` against
# `$connect` (under PREFIX, e.g. a taskset command), so that the first timed run does
# not meet a server whose JIT is cold.
build_rust_benches() {
    (cd "$root" && cargo build --release -q -p examples --bin bench)
    (cd "$here/zookeeper-client" && cargo build --release -q)
    bench=${CARGO_TARGET_DIR:-$root/target}/release/bench
    peer=${CARGO_TARGET_DIR:-$here/zookeeper-client/target}/release/bench-zookeeper-client
}

warm_up() {
    echo "# warm-up (not recorded)"
    "$@" env BENCH_CURRENT_THREAD=1 BENCH_PIPELINED_OPS=50000 "$bench" --connect "$connect" >/dev/null
    "$@" env BENCH_CURRENT_THREAD=1 BENCH_PIPELINED_OPS=50000 "$peer" --connect "$connect" >/dev/null
}
