#!/usr/bin/env bash
# Builds examples/embed/generate.c into OUT/generate for the vocabulary of
# TEXT: `weft build` compiles char_lm.weft's forward pass into an object and
# writes its C header; the C compiler does the rest, linking the runtime's
# archive and the Debian libraries it uses (no LLVM, no ANTLR).
#
#   examples/embed/build.sh TEXT OUT
#
# WEFT_BUILD names the build folder (default: build/ of this source tree).
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 TEXT OUT" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${WEFT_BUILD:-$root/build}
text=$1
out=$2
mkdir -p "$out"

weft=$build/compiler/driver/weft
"$weft" build "$root/examples/char_lm.weft" --data "$text" --emit=obj \
  -o "$out/charlm.o"
"$weft" build "$root/examples/char_lm.weft" --data "$text" --emit=header \
  -o "$out/charlm.h"
cc -std=c11 -O2 -Wall -I"$out" -I"$root/runtime/include" \
  -c "$here/generate.c" -o "$out/generate.o"
c++ -o "$out/generate" "$out/generate.o" "$out/charlm.o" \
  "$build/runtime/libweft_runtime.a" -lopenblas -lfmt -lzip -lz -pthread
echo "built $out/generate"
