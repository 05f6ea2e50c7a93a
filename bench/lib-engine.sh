# shellcheck shell=bash
# lib-engine.sh: husk in a temp dir, timing, statistics and a check that
# nothing is left behind, for the engine benchmarks (engine-*.sh). Sourced,
# not run; needs bash 5 (EPOCHREALTIME).
#
#   hk_setup PREFIX   make HK_DIR=$(mktemp -d PREFIX.XXXXXX) and export
#                     HUSK_ROOT=$HK_DIR/lib, and HUSK_RUNROOT=$HK_RUN, a
#                     tmpfs of its own (as /run is on Debian, where husk's
#                     default runroot and Podman's are; on these VMs /run
#                     is on the root's ext4), so that husk uses only storage of
#                     its own; note the husk-*
#                     cgroups that exist already (see hk_cleanup)
#   hk ARGS...        $HUSK ARGS under `timeout $HK_TIMEOUT` (run and create
#                     with --network none, as Podman is kept here)
#   hk_cleanup        `husk rm -f` every container (50 a call, 4 calls at
#                     once); print to stderr anything husk left after that
#                     (a bug to look at); then kill what is left that runs
#                     from HK_DIR
#                     (monitors, container processes: matched by HK_DIR in
#                     their command line or root, so only ours), unmount
#                     what is left under HK_DIR, remove the husk-<id>
#                     cgroups that appeared below our own cgroup since
#                     hk_setup (a relative cgroupsPath lands there; no other
#                     session's containers do), remove HK_DIR.
#   leftovers DIR...  print to stderr what remains of DIR (mounts,
#                     processes whose root or command line names it) and of
#                     husk-* cgroups new since hk_setup; status 1 if any
#   timed FILE CMD... run CMD (stdin, stdout from/to /dev/null, stderr
#                     appended to $ERRLOG), append its wall time in
#                     microseconds to FILE; CMD's status
#   now_us            microseconds since the epoch, without a fork
#   stats FILE [DEC]  "n median p90 p99 min max" in ms (DEC decimals,
#                     default 1) of FILE's microseconds (percentiles by nearest rank; median of
#                     an even count is the mean of the middle two)
#   ms_fmt US         microseconds as ms with 1 decimal
#   ratio A B         A/B with 2 decimals ("-" if B is 0 or empty)
#
# Environment: HUSK (default: build/husk next to bench/), HK_TIMEOUT
# (seconds, default 60), ERRLOG (default /dev/null until hk_setup, then
# $HK_DIR/errors.log).

_lib_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HUSK=${HUSK:-$_lib_here/../build/husk}
# absolute: Podman wants its --runtime so, and husk-oci is found beside it
HUSK=$(readlink -f "$HUSK" 2>/dev/null || echo "$HUSK")
HK_TIMEOUT=${HK_TIMEOUT:-60}
HK_DIR=
ERRLOG=${ERRLOG:-/dev/null}
_hk_dir_was=
_hk_cg_before=

# husk off the network, as lib-podman.sh keeps Podman (husk's default is
# the bridge, as Docker's): --network none for run and create; net-run.sh
# measures what the bridge adds
hk() {
	case "${1:-}" in
	run | create) timeout "$HK_TIMEOUT" "$HUSK" "$1" --network none "${@:2}" ;;
	*) timeout "$HK_TIMEOUT" "$HUSK" "$@" ;;
	esac
}

now_us() {
	local t=${EPOCHREALTIME/[.,]/}
	echo "$((10#$t))"
}

timed() {
	local f=$1 t0 t1 rc
	shift
	t0=${EPOCHREALTIME/[.,]/}
	"$@" </dev/null >/dev/null 2>>"$ERRLOG"
	rc=$?
	t1=${EPOCHREALTIME/[.,]/}
	echo $((10#$t1 - 10#$t0)) >>"$f"
	return $rc
}

stats() {
	sort -n "$1" | awk -v d="${2:-1}" '
		{ a[NR] = $1 }
		function rank(p,  i) { i = int(p * NR); if (i < p * NR) i++; if (i < 1) i = 1; return a[i] }
		END {
			if (NR == 0) { print "0 - - - - -"; exit }
			m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			f = "%." d "f"
			printf "%d " f " " f " " f " " f " " f "\n", NR, m / 1000, rank(0.9) / 1000,
				rank(0.99) / 1000, a[1] / 1000, a[NR] / 1000
		}'
}

ms_fmt() {
	awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
}

# The cgroup that a relative cgroupsPath lands below: our memory cgroup on
# v1 or hybrid (the other v1 controllers put us at their root here, and so
# do other sessions; the memory one is per session), our unified one on v2.
_hk_own_cg() {
	local p
	p=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
	if [ -n "$p" ] && [ -d /sys/fs/cgroup/memory ]; then
		echo "/sys/fs/cgroup/memory${p%/}"
	else
		p=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
		echo "/sys/fs/cgroup${p%/}"
	fi
}

_hk_cg_names() {
	find "$(_hk_own_cg)" -mindepth 1 -maxdepth 1 -type d -name 'husk-*' -printf '%f\n' 2>/dev/null | sort
}

# husk-* cgroup names below our cgroup that were not there at hk_setup
_hk_cg_new() {
	comm -13 <(printf '%s\n' "$_hk_cg_before" | sort) <(_hk_cg_names) | grep . || true
}

hk_setup() {
	HK_DIR=$(mktemp -d "$1.XXXXXX") || return 1
	HK_RUN=$(mktemp -d /run/husk-bench-run.XXXXXX) || return 1
	mount -t tmpfs -o mode=0700,size=512m tmpfs "$HK_RUN" || return 1
	_hk_dir_was=$HK_DIR
	export HUSK_ROOT=$HK_DIR/lib HUSK_RUNROOT=$HK_RUN
	[ "$ERRLOG" != /dev/null ] || ERRLOG=$HK_DIR/errors.log
	_hk_cg_before=$(_hk_cg_names)
}

# pids of processes whose command line or root names DIR (two processes
# in all, not a few per pid: a fork costs milliseconds on these VMs)
_pids_of_dir() {
	local dir=$1
	{
		grep -lasF -- "$dir/" /proc/[0-9]*/cmdline
		find /proc/[0-9]*/root -maxdepth 0 -lname "$dir/*" 2>/dev/null
	} | awk -F/ -v self="$$" '$3 != self && $3 != "self" { print $3 }' | sort -un
}

hk_cleanup() {
	local ids pids name d
	[ -n "$HK_DIR" ] && [ -d "$HK_DIR" ] || return 0
	ids=$(hk ps -a -q 2>/dev/null)
	if [ -n "$ids" ]; then
		printf '%s\n' "$ids" | xargs -r -n 50 -P 4 timeout "$HK_TIMEOUT" "$HUSK" rm -f >/dev/null 2>&1
	fi
	# What husk itself left: reported (a bug to look at), then removed
	_hk_leftovers "$HK_DIR" "after husk rm -f of every container"
	pids=$(_pids_of_dir "$HK_DIR")
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086
		kill -9 $pids 2>/dev/null
		sleep 0.5
	fi
	grep -F -e "$HK_DIR/" -e "$HK_RUN/" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		xargs -r -n1 umount -l 2>/dev/null
	umount -l "$HK_RUN" 2>/dev/null
	for name in $(_hk_cg_new); do
		find /sys/fs/cgroup -mindepth 2 -maxdepth 8 -depth -type d -name "$name" -exec rmdir {} + 2>/dev/null
		d=$(_hk_own_cg)/$name
		[ ! -d "$d" ] || rmdir "$d" 2>/dev/null
	done
	rm -rf "$HK_DIR" "$HK_RUN"
	HK_DIR= HK_RUN=
	return 0
}

# _hk_leftovers DIR WHEN: husk's processes, mounts and cgroups still there
_hk_leftovers() {
	local dir=$1 when=$2 m p c
	m=$(grep -cF "$dir/" /proc/self/mountinfo)
	[ "$m" = 0 ] || echo "husk left $m mounts under $dir ($when)" >&2
	p=$(_pids_of_dir "$dir" | tr '\n' ' ')
	[ -z "$p" ] || echo "husk left processes $p($when)" >&2
	c=$(_hk_cg_new | tr '\n' ' ')
	[ -z "$c" ] || echo "husk left cgroups $c($when)" >&2
}

leftovers() {
	local dir left=0 m p c
	for dir in "$@"; do
		[ -n "$dir" ] || continue
		m=$(grep -cF "$dir/" /proc/self/mountinfo)
		[ "$m" = 0 ] || { echo "left behind: $m mounts under $dir" >&2; left=1; }
		p=$(_pids_of_dir "$dir" | tr '\n' ' ')
		[ -z "$p" ] || { echo "left behind: processes of $dir: $p" >&2; left=1; }
		[ ! -e "$dir" ] || { echo "left behind: $dir" >&2; left=1; }
	done
	c=$(dead_netns | tr '\n' ' ')
	[ -z "$c" ] || { echo "left behind: named netns with no namespace: $c" >&2; left=1; }
	if [ -n "$_hk_dir_was" ]; then
		c=$(_hk_cg_new | tr '\n' ' ')
		[ -z "$c" ] || { echo "left behind: cgroups $c" >&2; left=1; }
	fi
	return $left
}

# bench_begin TAG [no-podman]: W (a temp dir), ERRLOG, husk's private
# setup and (unless no-podman) Podman's, and at exit their cleanup and a
# report of anything left.  A script may define bench_more_cleanup, which
# runs first (its own processes).
bench_begin() {
	local tag=$1 podman=${2:-podman}
	W=$(mktemp -d "${TMPDIR:-/tmp}/husk-bench-$tag.XXXXXX")
	pm_dir_was=
	trap _bench_end EXIT
	trap 'exit 130' INT TERM
	hk_setup "${TMPDIR:-/tmp}/husk-bench-$tag-husk"
	ERRLOG=$W/errors.log
	if [ "$podman" != no-podman ]; then
		pm_setup "${TMPDIR:-/tmp}/husk-bench-$tag-podman" ||
			{ echo "$(basename "$0"): podman setup failed" >&2; exit 1; }
		pm_dir_was=$PM_DIR
	fi
}

_bench_end() {
	if declare -F bench_more_cleanup >/dev/null; then
		bench_more_cleanup
	fi
	pm_cleanup
	hk_cleanup
	rm -rf "$W"
	leftovers "$W" "$_hk_dir_was" "$pm_dir_was"
}
