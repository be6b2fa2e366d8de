#!/usr/bin/env bash
# tests/vm/bench/move.sh: the cost of moving another process's memory with task_mbind(MPOL_MF_MOVE),
# against the process's own mbind(MPOL_MF_MOVE) and against move_pages(2) from outside, in one
# boot of the patched kernel under -icount (guest time counts instructions, so the ratios do not
# depend on the host's load). See move_bench.c for what is measured.
#
#   tests/vm/bench/move.sh [--mib N] [--rounds N] [--thp] [--target RATIO] [--no-build]
#   tests/vm/bench/move.sh --ab [--boots N] [--mib N] [--rounds N] [--thp] [--no-build]
#
# Exit 0 when task_mbind's median is within --target (default 1.10) of the local mbind's, 1 when
# it is not, 2 on a build or boot error.
#
# --ab: the series changes mbind()'s own migration path (patch 10), so this measures the local
# mbind(MPOL_MF_MOVE) alone on the stock and the patched kernel, booted alternately (stock,
# patched, patched, stock, ...; --boots N of each, default 2), and reports the median of each and
# stock/patched (1.00 = same speed). Exit 0 when that ratio is >= 0.99.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cache=${TASKMPOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/taskmpol}
args=() vm_opts=() ab=0 boots=2
while (($#)); do
	case $1 in
	--mib | --rounds | --target) args+=("$1" "${2:?}"); shift 2 ;;
	--thp) args+=(--thp); shift ;;
	--ab) ab=1; shift ;;
	--boots) boots=${2:?}; shift 2 ;;
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
if ((ab == 0)); then
	echo "timeout=3000 move_bench --from 0 --to 1 ${args[*]}" >"$payload/run-list"
	exec "$repo/kernel/vm" run --icount --timeout 3600 --payload "$payload" "${vm_opts[@]}"
fi

echo "timeout=3000 move_bench --from 0 --to 1 --local-only ${args[*]}" >"$payload/run-list"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
order=()
for ((i = 0; i < boots; i++)); do
	if ((i % 2)); then order+=(patched stock); else order+=(stock patched); fi
done
n=0
for v in "${order[@]}"; do
	n=$((n + 1))
	echo "move.sh: boot $n/${#order[@]}: $v"
	out=$("$repo/kernel/vm" run --variant "$v" --icount --timeout 3600 --quiet --payload "$payload" \
		"${vm_opts[@]}" 2>&1) || {
		printf '%s\n' "$out" | tail -20 >&2
		echo "move.sh: error: the $v boot failed" >&2
		exit 2
	}
	log=$(printf '%s\n' "$out" | sed -n 's/^vm: log: //p' | tail -1)
	grep -a '^move-bench: local ' "$log" | sed "s/^/$v /" >>"$results"
	grep -a '^move-bench: local ' "$log" | sed 's/^/  /'
done
awk '
function median(list,   a, k, n, i, j) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) { k = a[i]; for (j = i - 1; j >= 1 && a[j] > k; j--) a[j + 1] = a[j]; a[j + 1] = k }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ vals[$1] = vals[$1] " " $4; count[$1]++ }
END {
	s = median(vals["stock"]); p = median(vals["patched"]); r = s / p; ok = (r >= 0.99)
	printf "move.sh: local mbind(MPOL_MF_MOVE), guest -icount seconds, median of %d and %d moves\n", count["stock"], count["patched"]
	printf "move.sh: stock %.4f  patched %.4f  stock/patched %.4f\n", s, p, r
	printf "move.sh: %s (target: stock/patched >= 0.99)\n", (ok ? "PASS" : "FAIL")
	exit (ok ? 0 : 1)
}' "$results"
