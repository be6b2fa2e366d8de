#!/bin/sh
# Runs inside the taskmpol VM (busybox sh), started by ./demo.
# A running program that knows nothing about NUMA gets its memory policy changed from outside,
# through /proc/<pid>/mempolicy, and the kernel's own numa_maps confirms each change.
# Exits non-zero when anything reads back other than expected, so the demo cannot pass silently.
set -u
bin=/opt/taskmpol/bin
fail=0

say() { printf '\n== %s\n' "$*"; }
expect() {  # expect WHAT GOT WANT
	if [ "$2" = "$3" ]; then
		printf '   %-34s %-28s OK\n' "$1" "$2"
	else
		printf '   %-34s got %s, want %s  FAILED\n' "$1" "$2" "$3"
		fail=1
	fi
}

say "topology of this VM"
for f in online has_memory has_cpu; do
	printf '   %-12s %s\n' "$f" "$(cat /sys/devices/system/node/$f)"
done
memory=$(cat /sys/devices/system/node/has_memory)

say "the kernel's policy grammar, checked by the library before anything is written"
for text in "interleave:0-2" "weighted-interleave:0-2" "bind=static:1" "prefer:3" "interleav:0"; do
	printf '   taskmpol parse %-26s -> ' "'$text'"
	"$bin/taskmpol" parse --extended --memory-nodes "$memory" -- "$text" 2>&1 | head -n 2 | tr '\n' ' '
	echo
done

say "a NUMA-unaware workload (busybox sleep) and its policy, changed from outside"
sleep 600 &
pid=$!
expect "initial policy of pid $pid" "$(cat /proc/$pid/mempolicy)" "default"
for policy in "bind:1" "interleave:0-2" "weighted interleave:0-2" "prefer (many):1-2" "bind=static:0,2" "prefer:2" "local" "default"; do
	echo "$policy" > /proc/$pid/mempolicy || { echo "   write '$policy' failed"; fail=1; continue; }
	expect "write '$policy'" "$(cat /proc/$pid/mempolicy)" "$policy"
	# numa_maps prints "<address> <policy> ..." and shows the task policy on every mapping that
	# has none of its own, such as the stack. Policy names may contain spaces.
	line=$(grep -m 1 ' stack' /proc/$pid/numa_maps)
	case "${line#* } " in
	"$policy "*) expect "  numa_maps of the stack" "$policy" "$policy" ;;
	*) expect "  numa_maps of the stack" "${line#* }" "$policy ..." ;;
	esac
done

say "what the kernel refuses, with the errno the writer sees"
for bad in "bind:3" "interleave:9" "bind" "prefer:0-1" "nonsense"; do
	if echo "$bad" 2>/dev/null > /proc/$pid/mempolicy; then
		expect "write '$bad'" "accepted" "rejected"
	else
		expect "write '$bad'" "rejected" "rejected"
	fi
done
expect "policy after the refused writes" "$(cat /proc/$pid/mempolicy)" "default"
kill "$pid"

say "the caller's own policy (taskmpol show)"
"$bin/taskmpol" show || fail=1

say "hello example"
"$bin/hello" || fail=1

[ "$fail" -eq 0 ] && say "demo: every change read back as written" || say "demo: FAILED"
exit "$fail"
