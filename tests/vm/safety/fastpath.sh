#!/usr/bin/env bash
# tests/vm/safety/fastpath.sh: what the series must not slow down, stock vs patched kernel (same
# config): the allocation fast path and the caller's own get_mempolicy(2).
#
#   tests/vm/safety/fastpath.sh [--boots N] [--rounds N] [--mib N] [--calls N] [--target RATIO]
#                               [--no-build]
#
# Boots the stock and the patched kernel alternately (stock, patched, patched, stock, ...: N boots
# of each, default 3) with `kernel/vm run --icount`, so guest time counts executed instructions
# and does not depend on the host's load. Each boot runs fault_bench: the median cost of an
# anonymous page fault (allocation included) under default, bind, interleave and weighted
# interleave task policies, and of the caller's own get_mempolicy() (plain; MPOL_F_NODE|
# MPOL_F_ADDR), with getppid() as the control. Per measurement it reports the median over the
# boots of each kernel and the ratio stock/patched (1.00 = same speed, above 1 = patched faster).
# Exit 0 when every ratio is >= --target (default 0.99), 1 otherwise, 2 on a build or boot error.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cache=${TASKMPOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/taskmpol}
boots=3 rounds=15 mib=32 calls=20000 target=0.99 vm_opts=()
while (($#)); do
	case $1 in
	--boots) boots=${2:?}; shift 2 ;;
	--rounds) rounds=${2:?}; shift 2 ;;
	--mib) mib=${2:?}; shift 2 ;;
	--calls) calls=${2:?}; shift 2 ;;
	--target) target=${2:?}; shift 2 ;;
	--no-build) vm_opts+=(--no-build); shift ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) echo "fastpath: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ -f $repo/kernel/patches/series ]] || { echo "fastpath: SKIP: no kernel/patches/series"; exit 77; }

payload=$cache/payload/fastpath
rm -rf "$payload"
mkdir -p "$payload/bin"
gcc -static -O2 -Wall -Wextra -Werror -o "$payload/bin/fault_bench" "$repo/tests/vm/safety/fault_bench.c"
echo "timeout=900 fault_bench --rounds $rounds --mib $mib --calls $calls" >"$payload/run-list"

results=$(mktemp)
trap 'rm -f "$results"' EXIT
order=()
for ((i = 0; i < boots; i++)); do
	if ((i % 2)); then order+=(patched stock); else order+=(stock patched); fi
done
n=0
for v in "${order[@]}"; do
	n=$((n + 1))
	echo "fastpath: boot $n/${#order[@]}: $v"
	out=$("$repo/kernel/vm" run --variant "$v" --icount --quiet --payload "$payload" "${vm_opts[@]}" 2>&1) || {
		printf '%s\n' "$out" | tail -20 >&2
		echo "fastpath: error: the $v boot failed" >&2
		exit 2
	}
	log=$(printf '%s\n' "$out" | sed -n 's/^vm: log: //p' | tail -1)
	grep -a '^fault-bench: ' "$log" | sed "s/^/$v /" >>"$results"
	grep -a '^fault-bench: ' "$log" | sed 's/^/  /'
done

# variant "fault-bench:" policy ns ... -> per policy: median per variant, ratio stock/patched
awk -v target="$target" '
function median(list,   a, k, n) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) { k = a[i]; for (j = i - 1; j >= 1 && a[j] > k; j--) a[j + 1] = a[j]; a[j + 1] = k }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ v = $1; p = $3; vals[v, p] = vals[v, p] " " $4; if (!(p in seen)) { seen[p] = 1; order[++np] = p } }
END {
	bad = 0
	printf "fastpath: ns per anonymous fault or call (guest -icount time), median over boots\n"
	printf "fastpath: %-24s %10s %10s %8s\n", "measurement", "stock", "patched", "ratio"
	for (k = 1; k <= np; k++) {
		p = order[k]; s = median(vals["stock", p]); q = median(vals["patched", p])
		r = s / q
		printf "fastpath: %-24s %10.1f %10.1f %8.4f%s\n", p, s, q, r, r < target ? "  BELOW TARGET" : ""
		if (r < target) bad = 1
	}
	printf "fastpath: %s (target: stock/patched >= %s for every measurement)\n", bad ? "FAIL" : "PASS", target
	exit bad
}' "$results"
