#!/usr/bin/env bash
# The main job: set up, build, and train the character-level example on
# the text of Debian's fortunes package. Stops by itself within 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh fortunes
ninja -C build -j"$(nproc)" weft
mkdir -p runs
# OpenBLAS 0.3.21 does not recognise some recent x86 processors and falls
# back to its slowest (SSE3) kernels; name the AVX-512 or AVX2 kernels
# when the processor has them and nobody chose otherwise.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  if grep -qw avx512f /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=Haswell
  fi
fi
exec build/compiler/driver/weft train examples/char_lm.weft \
  --data /usr/share/games/fortunes --metrics runs/char_lm.jsonl "$@"
