#!/usr/bin/env bash
# tests/vm/bench/move.sh: the cost of moving another process's memory with task_mbind(MPOL_MF_MOVE),
# against the process's own mbind(MPOL_MF_MOVE) and against move_pages(2) from outside, in one
# boot of the patched kernel under -icount (guest time counts instructions, so the ratios do not
# depend on the host's load). See move_bench.c for what is measured.
#
#   tests/vm/bench/move.sh [--mib N] [--rounds N] [--thp] [--target RATIO] [--no-build]
#
# Exit 0 when task_mbind's median is within --target (default 1.10) of the local mbind's, 1 when
# it is not, 2 on a build or boot error.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cache=${TASKMPOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/taskmpol}
args=() vm_opts=()
while (($#)); do
	case $1 in
	--mib | --rounds | --target) args+=("$1" "${2:?}"); shift 2 ;;
	--thp) args+=(--thp); shift ;;
	--no-build) vm_opts+=(--no-build); shift ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) echo "move.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

payload=$cache/payload/move-bench
rm -rf "$payload"
mkdir -p "$payload/bin"
gcc -static -O2 -Wall -Wextra -Werror -o "$payload/bin/move_bench" "$repo/tests/vm/bench/move_bench.c"
# Node 0 (3 GiB) to node 1 (1 GiB) of the default topology.
echo "timeout=3000 move_bench --from 0 --to 1 ${args[*]}" >"$payload/run-list"
exec "$repo/kernel/vm" run --icount --timeout 3600 --payload "$payload" "${vm_opts[@]}"
