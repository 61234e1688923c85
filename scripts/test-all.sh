#!/usr/bin/env bash
# Runs every check and test of the workspace on a fresh machine, installing
# what the tests need first (ZooKeeper 3.8, Curator and kazoo from the OS
# packages). This is the README's test command; CI runs exactly this.
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

echo "==> cargo test"
cargo test --workspace --locked
