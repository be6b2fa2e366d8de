#!/usr/bin/env bash
# Runs the grammar fuzzer (libFuzzer + ASan + UBSan) for a bounded time.
#   tests/fuzz/run-fuzz.sh [SECONDS]      (default: $TASKMPOL_FUZZ_SECONDS, else 60)
# Exit: 0 = no finding, 77 = skipped (no clang++ with libFuzzer), anything else = a finding or a
# build failure. Findings are saved as <build>/artifacts/crash-* (add them to tests/fuzz/corpus/
# once fixed: the replay test then keeps them fixed).
#
# It configures tests/fuzz/ as a standalone CMake project with clang++ in its own build dir
# ($TASKMPOL_FUZZ_BUILD_DIR, default build/fuzz), so it neither needs nor disturbs the main build.
# The seed corpus tests/fuzz/corpus/ is read only; new inputs accumulate in <build>/corpus.
set -euo pipefail

seconds=${1:-${TASKMPOL_FUZZ_SECONDS:-60}}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${TASKMPOL_FUZZ_BUILD_DIR:-$repo/build/fuzz}
jobs=${TASKMPOL_JOBS:-2}

cxx=${TASKMPOL_FUZZ_CXX:-}
if [ -z "$cxx" ]; then
  for candidate in clang++ clang++-14; do
    if command -v "$candidate" >/dev/null 2>&1; then cxx=$candidate; break; fi
  done
fi
if [ -z "$cxx" ]; then
  echo "run-fuzz: skipped: no clang++ (libFuzzer needs Clang; apt-get install clang libclang-rt-14-dev)"
  exit 77
fi
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$probe_dir/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cpp" -o "$probe_dir/probe" >"$probe_dir/log" 2>&1; then
  echo "run-fuzz: skipped: $cxx cannot link -fsanitize=fuzzer (install libclang-rt-14-dev):"
  cat "$probe_dir/log"
  exit 77
fi

cmake -S "$here" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target taskmpol_fuzz_policy -j "$jobs"

mkdir -p "$build/corpus" "$build/artifacts"
echo "run-fuzz: $cxx, ${seconds}s, seeds $(find "$here/corpus" -type f | wc -l), work corpus $build/corpus"
"$build/taskmpol_fuzz_policy" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
  -dict="$here/policy.dict" -print_final_stats=1 \
  -artifact_prefix="$build/artifacts/" \
  "$build/corpus" "$here/corpus"
