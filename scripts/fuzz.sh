#!/usr/bin/env bash
# Fuzzes Weft's front end (tests/fuzz) for SECONDS (default 300) from the
# seed corpus: configures and builds build-fuzz/ with clang 19, libFuzzer,
# AddressSanitizer (with leak detection) and UndefinedBehaviorSanitizer.
# New corpus entries and crash artifacts go to a scratch folder outside the
# repository, $WEFT_FUZZ_WORK (default /tmp/weft-fuzz). Extra arguments are
# passed to the fuzzer (`-jobs=2`, `-seed=1`, `-only_ascii=1`, ...).
#
#   bash scripts/fuzz.sh [SECONDS] [LIBFUZZER_OPTION...]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-300}
shift || true
build=${WEFT_FUZZ_BUILD:-build-fuzz}
work=${WEFT_FUZZ_WORK:-/tmp/weft-fuzz}

# The sanitizer and libFuzzer runtimes of clang 19 come in their own package.
if ! dpkg-query -W -f='${Status}' libclang-rt-19-dev 2>/dev/null |
  grep -q "install ok installed"; then
  echo "Installing: libclang-rt-19-dev"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends libclang-rt-19-dev >/dev/null
fi

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  -DWEFT_FUZZ=ON >/dev/null
ninja -C "$build" weft_fuzz weft_fuzz_seeds

mkdir -p "$work/corpus" "$work/artifacts"
echo "Fuzzing for ${seconds}s; new inputs in $work/corpus, findings in" \
  "$work/artifacts"
# The first folder is the one the fuzzer adds to: the scratch corpus, never
# the seeds.
# UBSan stops at the first report unless $UBSAN_OPTIONS says otherwise
# (`suppressions=FILE` skips known ones). Use-after-return detection is off:
# it costs a third of the run time.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=0} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
  "$build/tests/fuzz/weft_fuzz" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
  -detect_leaks=1 -print_final_stats=1 \
  -dict=tests/fuzz/weft.dict \
  -artifact_prefix="$work/artifacts/" \
  "$@" "$work/corpus" "$build/tests/fuzz/seeds"
