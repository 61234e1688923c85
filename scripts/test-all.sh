#!/usr/bin/env bash
# Runs every check and test of the workspace on a fresh machine, installing
# what the tests need first (ZooKeeper 3.8, Curator and kazoo from the OS
# packages). This is the README's test command; CI runs it through .ci/run,
# which sets CI=true (then a missing dependency fails the interop and
# differential tests instead of skipping them).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

echo "==> installing test dependencies"
as_root bash .ci/install-deps.sh
as_root bash scripts/build-zk-image.sh # the test kit's ZooKeeper image (cached; skipped without Docker)

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

echo "==> fuzz targets (zk-proto/fuzz): build on stable, short smoke run"
# Built without sanitizer coverage (that needs nightly and cargo-fuzz); the smoke run
# only proves each target links, starts and survives a few thousand mutated inputs.
cargo build --manifest-path zk-proto/fuzz/Cargo.toml --locked --target-dir target/fuzz
for target in decode roundtrip; do
  target/fuzz/debug/"$target" -runs=20000 -max_len=4096 -seed=1 2>&1 | tail -n 1
done

echo "==> cargo test"
cargo test --workspace --locked
