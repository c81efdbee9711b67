#!/usr/bin/env bash
# Set up, build, and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ninja -C build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
