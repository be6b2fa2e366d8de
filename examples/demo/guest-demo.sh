#!/bin/sh
# Runs inside the taskmpol VM (busybox sh), started by ./demo.
# A running program that knows nothing about NUMA gets its memory policy changed from outside,
# through /proc/<pid>/mempolicy. For every policy the library's parser (taskmpol parse) predicts
# what the kernel will do -- accept and print it in canonical form, or refuse it -- and the demo
# checks the kernel's answer and its numa_maps against that prediction. It exits non-zero on any
# mismatch, so it cannot pass silently.
set -u
bin=/opt/taskmpol/bin
sysnode=/sys/devices/system/node
fail=0

say() { printf '\n== %s\n' "$*"; }
verdict() {  # verdict WHAT GOT WANT
	if [ "$2" = "$3" ]; then
		printf '   %-40s %-26s OK\n' "$1" "$2"
	else
		printf '   %-40s got %s, want %s  FAILED\n' "$1" "$2" "$3"
		fail=1
	fi
}

# Node roles from sysfs, not hard-coded: Linux numbers a memory-only node after the nodes with CPUs.
memory=$(cat $sysnode/has_memory)
second_memory='' memory_only='' cpu_only=''
for dir in $sysnode/node[0-9]*; do
	n=${dir##*node}
	has_cpu=$([ -n "$(cat "$dir/cpulist")" ] && echo y)
	has_mem=$(awk '/MemTotal/ { print ($4 > 0) ? "y" : "" }' "$dir/meminfo")
	[ -n "$has_mem" ] && [ "$n" != 0 ] && [ -z "$second_memory" ] && second_memory=$n
	[ -n "$has_mem" ] && [ -z "$has_cpu" ] && memory_only=$n
	[ -z "$has_mem" ] && [ -n "$has_cpu" ] && cpu_only=$n
done

say "topology of this VM"
for f in online has_memory has_cpu; do
	printf '   %-12s %s\n' "$f" "$(cat $sysnode/$f)"
done
printf '   memory-only node %s, CPU-only node %s\n' "${memory_only:-none}" "${cpu_only:-none}"

say "a NUMA-unaware workload (busybox sleep); its policy changed from outside"
sleep 600 &
pid=$!
verdict "initial policy of pid $pid" "$(cat /proc/$pid/mempolicy)" "default"

for policy in "bind:$second_memory" "interleave:$memory" "weighted-interleave:$memory" \
	"preferred-many:$second_memory" "bind=static:0,${memory_only:-0}" \
	"preferred:${memory_only:-0}" "local" "default" \
	"bind:${cpu_only:-9}" "interleave:9" "bind" "prefer:0-1" "interleav:0"; do
	# The library's prediction: the kernel's canonical form, or a refusal with the reason.
	if canonical=$("$bin/taskmpol" parse --extended --memory-nodes "$memory" -- "$policy" 2>/tmp/why); then
		want=accepted
	else
		want=refused
	fi
	# Write the kernel's own spelling when the library gave one, the text as typed otherwise.
	text=${canonical:-$policy}
	if echo "$text" 2>/dev/null > /proc/$pid/mempolicy; then got=accepted; else got=refused; fi
	verdict "'$policy'" "$got" "$want"
	if [ "$want" = refused ]; then
		printf '   %-40s %s\n' "" "library: $(head -n 1 /tmp/why)"
		continue
	fi
	verdict "  reads back" "$(cat /proc/$pid/mempolicy)" "$canonical"
	# numa_maps prints "<address> <policy> ..." with the task policy on every mapping that has
	# none of its own, such as the stack. Policy names may contain spaces.
	line=$(grep -m 1 ' stack' /proc/$pid/numa_maps)
	case "${line#* } " in
	"$canonical "*) verdict "  numa_maps of the stack" "$canonical" "$canonical" ;;
	*) verdict "  numa_maps of the stack" "${line#* }" "$canonical ..." ;;
	esac
done
verdict "policy after the refused writes" "$(cat /proc/$pid/mempolicy)" "default"
kill "$pid"

say "the taskmpol CLI on a running workload"
sleep 600 &
pid=$!
"$bin/taskmpol" set "$pid" --interleave=all || fail=1
"$bin/taskmpol" show "$pid" || fail=1
verdict "mempolicy after 'set --interleave=all'" "$(cat /proc/$pid/mempolicy)" "interleave:$memory"
# Every per-thread entry of 'show --json' names its process and its thread.
"$bin/taskmpol" show "$pid" --json > /tmp/show.json || fail=1
verdict "'show $pid --json': entries with pid $pid" "$(grep -c "\"pid\": $pid," /tmp/show.json)" "2"
verdict "'show $pid --json': the thread entry's tid" "$(grep -c "\"tid\": $pid," /tmp/show.json)" "1"
"$bin/taskmpol" set "$pid" "bind:$second_memory" --migrate || fail=1
verdict "mempolicy after 'set bind:$second_memory'" "$(cat /proc/$pid/mempolicy)" "bind:$second_memory"
# A refusal must name the cause: a CPU-only node has no memory.
"$bin/taskmpol" set "$pid" --membind="${cpu_only:-9}" 2>/tmp/why
verdict "'set --membind=${cpu_only:-9}' exit code" "$?" "1"
printf '   %-40s %s\n' "" "$(head -n 1 /tmp/why)"
kill "$pid"

say "retarget: a NUMA-unaware workload moved between policies from outside"
"$bin/retarget" || { echo "   retarget FAILED"; fail=1; }

say "rebalancer: policies by rule, for processes found in /proc"
rules=/tmp/rebalancer.rules
cg=/sys/fs/cgroup/demo-interleave
mkdir -p "$cg"
cat > "$rules" <<RULES
# first match wins
match cgroup=/demo-interleave  policy=interleave:$memory
match comm=sleep               policy=bind:$second_memory  migrate
RULES
sed 's/^/   rules: /' "$rules"
sleep 600 &
w1=$!
sh -c "echo \$\$ > $cg/cgroup.procs && exec sleep 601" &
w2=$!
sleep 1
"$bin/rebalancer" --once "$rules"
verdict "rebalancer --once exit code" "$?" "0"
verdict "  workload $w1 (comm=sleep)" "$(cat /proc/$w1/mempolicy)" "bind:$second_memory"
verdict "  workload $w2 (cgroup /demo-interleave)" "$(cat /proc/$w2/mempolicy)" "interleave:$memory"

# As a daemon: a process started later is picked up; SIGHUP reloads; SIGTERM ends it with exit 0.
"$bin/rebalancer" --interval 200 "$rules" > /tmp/rebalancer.log 2>&1 &
daemon=$!
sleep 1
sleep 602 &
w3=$!
sleep 2
verdict "  workload $w3 started later" "$(cat /proc/$w3/mempolicy)" "bind:$second_memory"
sed -i "s/policy=bind:$second_memory  migrate/policy=preferred:${memory_only:-0}/" "$rules"
kill -HUP "$daemon"
sleep 2
verdict "  workload $w1 after SIGHUP" "$(cat /proc/$w1/mempolicy)" "prefer:${memory_only:-0}"
kill -TERM "$daemon"
wait "$daemon"
verdict "rebalancer exit code after SIGTERM" "$?" "0"
sed 's/^/   log: /' /tmp/rebalancer.log
kill "$w1" "$w2" "$w3"
wait "$w2" 2>/dev/null
rmdir "$cg" 2>/dev/null

say "the caller's own policy (taskmpol show)"
"$bin/taskmpol" show || fail=1

say "hello example"
"$bin/hello" || fail=1

if [ "$fail" -eq 0 ]; then say "demo: the kernel did what the library predicted, every time"; else say "demo: FAILED"; fi
exit "$fail"
