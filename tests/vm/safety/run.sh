#!/usr/bin/env bash
# tests/vm/safety/run.sh: the safety suite of the kernel series, on the debug kernel (KASAN,
# lockdep, PROVE_RCU, DEBUG_VM, SLUB debug, DEBUG_LIST, fault injection: kernel/config/debug.fragment).
#
#   tests/vm/safety/run.sh [--seconds N] [--naive | --bound] [-- KERNEL/VM RUN OPTIONS...]
#
# Default: boots the patched debug kernel and runs the series' kselftest (which includes a
# 3 x 10,000-change memory bound of its own), the stress test (stress.c, --seconds N, default 60;
# the documented long run is --seconds 600) and the fault injection sweep (faultinject.c). Passes
# when all of them pass and the guest log has no kernel report of any kind (kernel/vm scans it:
# BUG, WARNING, KASAN, lockdep, RCU, list corruption...).
#
# --naive: the same stress on the 'naive' debug kernel (the series plus kernel/tests/naive/, which
# frees a replaced policy at once as the RFC did) must be caught: passes (exit 0) only when the run
# ends with a KASAN report, and prints it.
#
# --bound: bound.c alone on the normal patched kernel, where MemAvailable is meaningful too:
# 100,000 changes each of a SIGSTOPped, a pipe-sleeping and a ptrace-stopped target.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cache=${TASKMPOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/taskmpol}
here=$repo/tests/vm/safety
seconds=60 naive=0 bound=0 vm_opts=()
while (($#)); do
	case $1 in
	--seconds) seconds=${2:?}; shift 2 ;;
	--naive) naive=1; shift ;;
	--bound) bound=1; shift ;;
	--) shift; vm_opts+=("$@"); break ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) echo "safety: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ -f $repo/kernel/patches/series ]] || { echo "safety: SKIP: no kernel/patches/series"; exit 77; }

payload=$cache/payload/safety
((naive == 0)) || payload+=-naive
((bound == 0)) || payload+=-bound
rm -rf "$payload"
mkdir -p "$payload/bin"
cc=(gcc -static -O2 -pthread -Wall -Wextra -Werror)
if ((bound)); then
	"${cc[@]}" -o "$payload/bin/bound" "$here/bound.c"
	echo "timeout=600 bound --check-memavailable" >"$payload/run-list"
	exec "$repo/kernel/vm" run --append slab_nomerge --quiet --payload "$payload" "${vm_opts[@]}"
fi
"${cc[@]}" -o "$payload/bin/stress" "$here/stress.c"
# Under KASAN and TCG a target process starts in about a second: 4 targets x 8 threads, 3 setters.
echo "timeout=$((seconds + 600)) stress --seconds $seconds" >"$payload/run-list"
timeout=$((seconds + 1500))

if ((naive)); then
	set +e
	# kasan.fault=panic: the first report ends the run (a kernel that has used freed memory
	# goes on to wedge its tasks, and the run would only end at the timeout).
	out=$("$repo/kernel/vm" run --variant naive --debug --append "slab_nomerge kasan.fault=panic" --quiet \
		--timeout "$timeout" --payload "$payload" "${vm_opts[@]}" 2>&1)
	rc=$?
	set -e
	printf '%s\n' "$out" | tail -5
	log=$(printf '%s\n' "$out" | sed -n 's/^vm: log: //p' | tail -1)
	if [[ -n $log && -f $log ]] && grep -aq 'BUG: KASAN: ' "$log"; then
		echo "safety: the naive variant is caught (kernel/vm exit $rc); the first report:"
		grep -a -m1 -A24 'BUG: KASAN: ' "$log" | sed 's/^/  /'
		exit 0
	fi
	echo "safety: FAIL: the stress ran on the naive variant without a KASAN report (exit $rc, log $log)"
	exit 1
fi

"${cc[@]}" -o "$payload/bin/faultinject" "$here/faultinject.c"
echo "timeout=600 faultinject" >>"$payload/run-list"
# kselftest builds the series' selftest from the patched tree and runs it before this payload.
exec "$repo/kernel/vm" kselftest --debug --every-case --append slab_nomerge --quiet --timeout "$timeout" \
	--payload "$payload" "${vm_opts[@]}"
