#!/usr/bin/env bash
# Sweeps N random fault schedules of the simulator (zk-server-sim/tests/seed_sweep.rs)
# and prints how many passed. Each seed replays alone with
#   ZK_SIM_SEED=<seed> ZK_SIM_SEEDS=1 cargo test -p zk-server-sim --test seed_sweep
#
# Usage: scripts/seed-sweep.sh [SEEDS [BASE_SEED]]   (default 2000 seeds, a random base)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${1:-2000}"
base="${2:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}"
log="$(mktemp -t seed-sweep.XXXXXX)"
echo "seed sweep: $seeds seeds from base seed $base (log: $log)"
status=0
ZK_SIM_SEED="$base" ZK_SIM_SEEDS="$seeds" cargo test -p zk-server-sim --test seed_sweep --quiet \
    random_fault_schedules_keep_the_guarantees_on_every_seed -- --nocapture >"$log" 2>&1 || status=$?
grep -E '^seed ' "$log" || true
if ! grep -q 'seeds passed' "$log"; then
    echo "the sweep did not finish (exit $status); see $log"
    exit 1
fi
exit "$status"
