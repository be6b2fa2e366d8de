#!/usr/bin/env bash
# tests/vm/regression/compare.sh: the stock-syscall regression check of the kernel series.
#
# Boots each kernel variant in the taskmpol VM (kernel/vm run) with the static stock_syscalls
# program, extracts its transcript from the serial console log (between the BEGIN/END markers,
# kernel messages dropped, cksum verified) and diffs the transcripts: any difference fails.
#
#   tests/vm/regression/compare.sh [OPTIONS] [-- KERNEL/VM RUN OPTIONS...]
#
#   --variant V     stock or patched; repeatable, in order; the first transcript is the reference
#                   (default: --variant stock --variant patched). The same variant twice checks
#                   that the transcript is stable across boots.
#   --payload DIR   use DIR (from tests/vm/build-payload.sh) instead of building one
#   --keep DIR      keep the transcripts, run outputs and the payload in DIR (default: a temp dir,
#                   removed on success)
#   --no-build      pass --no-build to kernel/vm (boot the existing bzImages)
#
# Exit: 0 identical; 1 a difference, a damaged or missing transcript, or a failed VM run;
# 2 usage or build error; 77 the patched variant was asked for but kernel/patches/series is missing.
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
say() { printf 'compare: %s\n' "$*"; }
die() {
	printf 'compare: error: %s\n' "$*" >&2
	exit 2
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
vm=$repo/kernel/vm
variants=() payload='' keep='' vm_opts=()
while (($#)); do
	case $1 in
	--variant) variants+=("${2:?}"); shift 2 ;;
	--payload) payload=${2:?}; shift 2 ;;
	--keep) keep=${2:?}; shift 2 ;;
	--no-build) vm_opts+=(--no-build); shift ;;
	--) shift; vm_opts+=("$@"); break ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument $1" ;;
	esac
done
((${#variants[@]})) || variants=(stock patched)
for v in "${variants[@]}"; do
	[[ $v == stock || $v == patched ]] || die "unknown variant '$v'"
done
[[ -x $vm ]] || die "$vm is missing"
if [[ " ${variants[*]} " == *" patched "* && ! -f ${TASKMPOL_PATCH_DIR:-$repo/kernel/patches}/series ]]; then
	say "SKIP: no kernel/patches/series yet, so there is no patched kernel to compare"
	exit 77
fi

if [[ -n $keep ]]; then
	mkdir -p "$keep"
	work=$(cd "$keep" && pwd)
else
	work=$(mktemp -d)
fi
if [[ -z $payload ]]; then
	payload=$work/payload
	"$repo/tests/vm/build-payload.sh" --only regression "$payload" >"$work/build-payload.log" 2>&1 ||
		{ cat "$work/build-payload.log" >&2; die "cannot build the payload"; }
fi
[[ -x $payload/bin/stock_syscalls ]] || die "$payload/bin/stock_syscalls is missing"
echo "timeout=600 stock_syscalls" >"$work/run-list"

begin='=== TASKMPOL-REGRESSION-TRANSCRIPT BEGIN ==='
end='=== TASKMPOL-REGRESSION-TRANSCRIPT END ==='

# extract LOG OUT: the transcript lines of LOG into OUT; prints "<cksum> <length>" from the END
# marker, or nothing when there is no complete transcript.
extract() {
	local log=$1 txt=$2
	sed 's/\r$//' "$log" | awk -v b="$begin" -v e="$end" -v out="$txt" '
		index($0, b) == 1 { on = 1; printf "" > out; next }
		on && index($0, e) == 1 {
			if (match($0, /cksum=[0-9]+ [0-9]+/)) print substr($0, RSTART + 6, RLENGTH - 6)
			exit
		}
		on && /^\[ *[0-9]+\.[0-9]+\]/ { next }   # a kernel message on the console
		on { print >> out }'
}

failed=0
transcripts=()
i=0
for v in "${variants[@]}"; do
	i=$((i + 1))
	tag=$i-$v
	say "boot $i: $v kernel (kernel/vm run --variant $v), output in $work/run-$tag.out"
	rc=0
	"$vm" run --variant "$v" --payload "$payload" --run-list "$work/run-list" -q "${vm_opts[@]}" \
		>"$work/run-$tag.out" 2>&1 || rc=$?
	log=$(sed -n 's/^vm: log: //p' "$work/run-$tag.out" | tail -1)
	if [[ -z $log || ! -f $log ]]; then
		tail -20 "$work/run-$tag.out" | sed 's/^/    | /'
		say "FAIL: kernel/vm run --variant $v produced no console log (exit $rc)"
		failed=1
		continue
	fi
	if ((rc != 0)); then
		grep -E '^vm: |taskmpol: (FAIL|PASS|SKIP)' "$work/run-$tag.out" | tail -15 | sed 's/^/    | /'
		say "FAIL: the $v VM run exited $rc (log $log)"
		failed=1
	fi
	txt=$work/transcript-$tag.txt
	sum=$(extract "$log" "$txt")
	if [[ -z $sum ]]; then
		say "FAIL: no complete transcript in $log"
		failed=1
		continue
	fi
	got=$(cksum <"$txt")
	if [[ $got != "$sum" ]]; then
		say "FAIL: the transcript of boot $i ($v) is damaged on the console (cksum $got, the program said $sum);" \
			"rerun, or look at $log"
		failed=1
		continue
	fi
	cases=$(grep -c ': ret=' "$txt" || true)
	say "boot $i ($v): $cases cases, $(grep -m1 '^topology-check:' "$txt" || echo 'no topology line')"
	transcripts+=("$txt")
done

if ((${#transcripts[@]} == ${#variants[@]} && ${#transcripts[@]} > 1)); then
	ref=${transcripts[0]}
	for t in "${transcripts[@]:1}"; do
		if diff -u --label "${ref##*/}" --label "${t##*/}" "$ref" "$t" >"$work/diff.txt"; then
			say "identical: ${ref##*/} and ${t##*/}"
		else
			say "FAIL: ${ref##*/} and ${t##*/} differ:"
			cat "$work/diff.txt"
			failed=1
		fi
	done
elif ((${#transcripts[@]} == 1 && ${#variants[@]} == 1)); then
	say "one variant only: nothing to compare; transcript ${transcripts[0]}"
fi

if ((failed)); then
	say "FAILED; files kept in $work"
	exit 1
fi
if [[ -z $keep ]]; then
	rm -rf "$work"
else
	say "files in $work"
fi
say "PASS"
