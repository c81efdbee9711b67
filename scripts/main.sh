#!/usr/bin/env bash
# The main job: set up, build, and train the character-level example on
# the text of Debian's fortunes package. Stops by itself within 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh fortunes
mkdir -p runs
exec build/compiler/driver/weft train examples/char_lm.weft \
  --data /usr/share/games/fortunes --metrics runs/char_lm.jsonl "$@"
