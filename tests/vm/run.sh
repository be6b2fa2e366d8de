#!/usr/bin/env bash
# tests/vm/run.sh: builds the vm payload and runs it in the taskmpol VM on one kernel variant.
#
#   tests/vm/run.sh [--variant patched|stock] [--only SUITES] [build-payload options]
#                   [-- KERNEL/VM RUN OPTIONS...]
#
# Default: --variant patched --only vm (the doctest suite; on the stock kernel it reports SKIP).
# Every option before `--` other than --variant goes to build-payload.sh (--only, --extra, --file,
# --line, --timeout); everything after `--` goes to `kernel/vm run` (e.g. --no-build, --debug).
# The payload is built in $TASKMPOL_CACHE/payload/vm-suite.
#
# Exit: kernel/vm run's code (0 pass, 1 a test failed, 3 kernel splat, ...); 77 when the patched
# variant is asked for and kernel/patches/series does not exist yet.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${TASKMPOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/taskmpol}
variant=patched
payload_opts=() vm_opts=() only_given=0
while (($#)); do
	case $1 in
	--variant) variant=${2:?}; shift 2 ;;
	--only) payload_opts+=("$1" "${2:?}"); only_given=1; shift 2 ;;
	--extra | --file | --line | --timeout) payload_opts+=("$1" "${2:?}"); shift 2 ;;
	--) shift; vm_opts+=("$@"); break ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) printf 'run: unknown argument %s\n' "$1" >&2; exit 2 ;;
	esac
done
((only_given)) || payload_opts+=(--only vm)
if [[ $variant == patched && ! -f ${TASKMPOL_PATCH_DIR:-$repo/kernel/patches}/series ]]; then
	echo "run: SKIP: no kernel/patches/series yet, so there is no patched kernel"
	exit 77
fi
payload=$cache/payload/vm-suite
rm -rf "$payload"
"$repo/tests/vm/build-payload.sh" "${payload_opts[@]}" "$payload"
exec "$repo/kernel/vm" run --variant "$variant" --payload "$payload" "${vm_opts[@]}"
