#!/usr/bin/env bash
# tests/vm/build-payload.sh: builds the static guest binaries of the vm suites and a run list, as a
# payload directory for `kernel/vm run --payload DIR` (DIR's files land in /opt/taskmpol).
#
#   tests/vm/build-payload.sh [OPTIONS] OUTDIR
#
#   --only SUITES   comma-separated subset of: vm, regression, differential (default: vm,regression)
#                   (differential: tests/system/grammar/kernel_differential, the library's grammar
#                   against the booted kernel's mpol_parse_str/mpol_to_str through tmpfs mpol=)
#   --extra FILE    copy FILE (a static binary built elsewhere, e.g. the tmpfs differential test
#                   or the kselftest) into OUTDIR/bin and run it as "timeout=300 NAME" (repeatable)
#   --file FILE     copy FILE into OUTDIR/bin without a run-list line (repeatable)
#   --line LINE     append LINE to the run list verbatim (repeatable), e.g.
#                   --line 'timeout=600 task_mempolicy -v'
#   --timeout SEC   per-test timeout written for the own suites (default 600)
#
# Produces OUTDIR/bin/taskmpol_vm_tests, OUTDIR/bin/stock_syscalls and OUTDIR/run-list.
# The binaries are compiled straight from the sources with g++/gcc -static (ccache when present)
# with the project's warning flags and -Werror: the host CMake build compiles the same sources;
# this only produces the static guest flavour, independent of the rest of the build tree.
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() {
	printf 'build-payload: error: %s\n' "$*" >&2
	exit 2
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
vmdir=$repo/tests/vm
only=vm,regression
timeout=600
extras=() files=() lines=() out=''
while (($#)); do
	case $1 in
	--only) only=${2:?}; shift 2 ;;
	--extra) extras+=("${2:?}"); shift 2 ;;
	--file) files+=("${2:?}"); shift 2 ;;
	--line) lines+=("${2:?}"); shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	-*) usage >&2; die "unknown option $1" ;;
	*) [[ -z $out ]] || die "one OUTDIR only"; out=$1; shift ;;
	esac
done
[[ -n $out ]] || { usage >&2; die "OUTDIR missing"; }
want() { [[ ",$only," == *",$1,"* ]]; }
for s in ${only//,/ }; do
	[[ $s == vm || $s == regression || $s == differential ]] || die "--only: unknown suite '$s'"
done

mkdir -p "$out/bin"
out=$(cd "$out" && pwd)
# Objects stay outside OUTDIR: kernel/vm copies all of OUTDIR into the guest.
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT

launcher=()
command -v ccache >/dev/null && launcher=(ccache)
export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/taskmpol/ccache}

# is_static FILE: no program interpreter.
is_static() { ! readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; }

cxxflags=(-std=c++20 -O2 -pthread -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Werror
	-I"$repo/include" -I"$vmdir")
numa=()
if [[ -f /usr/include/numa.h ]] && { [[ -f /usr/lib/x86_64-linux-gnu/libnuma.a ]] || [[ -f /usr/lib/libnuma.a ]]; }; then
	cxxflags+=(-DTASKMPOL_VM_HAVE_LIBNUMA=1)
	numa=(-l:libnuma.a)
else
	cxxflags+=(-DTASKMPOL_VM_HAVE_LIBNUMA=0)
	echo "build-payload: libnuma.a not found (libnuma-dev): the targets' libnuma view is not checked" >&2
fi

: >"$out/run-list"

# doctest_binary NAME EXTRA-LIBS... -- SOURCES...: compile in parallel, link statically to bin/NAME.
doctest_binary() {
	local name=$1 libs=() objs=() pids=() src o p
	shift
	while [[ $1 != -- ]]; do libs+=("$1"); shift; done
	shift
	for src in "$@"; do
		o=$obj/$name-$(basename "${src%.cpp}").o
		objs+=("$o")
		echo "build-payload: compiling ${src#"$repo"/}"
		"${launcher[@]}" g++ "${cxxflags[@]}" -c "$src" -o "$o" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || die "compilation failed"; done
	echo "build-payload: linking bin/$name (static)"
	# libnuma.a references getaddrinfo (affinity_ip), which glibc warns about when linked
	# statically; the tests never reach it.
	g++ -static -pthread -o "$out/bin/$name" "${objs[@]}" "${libs[@]}" 2>"$obj/link.log" ||
		{ cat "$obj/link.log" >&2; die "link failed"; }
	grep -v -e getaddrinfo -e affinity_ip "$obj/link.log" >&2 || true
}

if want vm; then
	doctest_binary taskmpol_vm_tests "${numa[@]}" -- "$repo/tests/main.cpp" \
		"$vmdir/task_syscalls.test.cpp" "$vmdir/procfs.test.cpp" "$vmdir/cpuset.test.cpp" \
		"$vmdir/task_handle.test.cpp"
	# TASKMPOL_VM_SKIP_EXIT: on a kernel without the series the binary exits 77 (runner: SKIP).
	echo "timeout=$timeout env TASKMPOL_VM_SKIP_EXIT=77 taskmpol_vm_tests --duration=true --no-colors=true" >>"$out/run-list"
fi

if want differential; then
	# The guest runs it as root, so it mounts tmpfs with every corpus text and reports the
	# booted kernel's topology and its counts in MESSAGE lines.
	cxxflags+=(-I"$repo/tests")
	doctest_binary kernel_differential -- "$repo/tests/main.cpp" \
		"$repo/tests/system/grammar/kernel_differential.test.cpp"
	echo "timeout=$timeout kernel_differential --duration=true --no-colors=true" >>"$out/run-list"
fi

if want regression; then
	bin=$out/bin/stock_syscalls
	src=$vmdir/regression/stock_syscalls.c
	echo "build-payload: building bin/stock_syscalls (static)"
	"${launcher[@]}" gcc -static -O2 -pthread -Wall -Wextra -Werror -o "$bin" "$src"
	echo "timeout=$timeout stock_syscalls" >>"$out/run-list"
fi

for f in "${extras[@]}" "${files[@]}"; do
	[[ -f $f ]] || die "no such file: $f"
	is_static "$f" || die "$f is dynamically linked: the guest has no shared libraries"
	cp -f "$f" "$out/bin/"
done
for f in "${extras[@]}"; do echo "timeout=300 $(basename "$f")" >>"$out/run-list"; done
for l in "${lines[@]}"; do printf '%s\n' "$l" >>"$out/run-list"; done

for b in "$out"/bin/*; do
	is_static "$b" || die "$b is not static"
done
[[ -s $out/run-list ]] || die "the run list is empty (nothing selected)"
echo "build-payload: $out:"
sed 's/^/  run: /' "$out/run-list"
