#!/bin/bash
# soak.sh: N husk-oci run/delete cycles and M engine `husk run --rm` cycles
# in temp dirs of their own; samples what a leak would make grow at the
# start (after WARM cycles of each, which fill the caches: the seccomp BPF
# cache, the busybox image) and at the end, prints both and fails (exit 1)
# if anything grew, or if a cycle failed.
#
# Sampled: fds open by any process on a file under the soak's dir;
# processes whose command line names it; mounts under it; cgroups of its
# containers (husk-oci's by id, the engine's husk-* below our own cgroup);
# a fresh monitor's RSS and fd count (a probe container run detached,
# three times, the least taken); disk use of the husk-oci root, the
# engine's storage and runtime dirs (the event log aside: it grows to a
# fixed size and is rotated, src/engine/events.c).
#
# Environment: N (default 10000), M (default 2000), WARM (default 20),
# NET (the engine's --network, default none; bridge also soaks veths,
# leases and nft rules), HUSK, HUSK_OCI (default build/ next to bench/),
# TMPDIR.  Run as root.  See bench/README.md.
set -u

here=$(cd "$(dirname "$0")" && pwd)
HUSK=$(readlink -f "${HUSK:-$here/../build/husk}")
HUSK_OCI=$(readlink -f "${HUSK_OCI:-$here/../build/husk-oci}")
N=${N:-10000}
M=${M:-2000}
WARM=${WARM:-20}
NET=${NET:-none}
# shellcheck source=tests/integration/own-cgroups.bash
. "$here/../tests/integration/own-cgroups.bash"

if [ "$(id -u)" != 0 ]; then
	echo "soak.sh: run as root" >&2
	exit 1
fi
for t in jq "$HUSK" "$HUSK_OCI"; do
	command -v "$t" >/dev/null || { echo "soak.sh: $t not found" >&2; exit 1; }
done

D=$(mktemp -d "${TMPDIR:-/tmp}/husk-soak.XXXXXX")
export HUSK_ROOT=$D/lib HUSK_RUNROOT=$D/run
OCI_ROOT=$D/oci
TAG=soak$$

cleanup() {
	local c
	for c in $("$HUSK" ps -aq 2>/dev/null); do "$HUSK" rm -f "$c" >/dev/null 2>&1; done
	for c in $("$HUSK_OCI" --root "$OCI_ROOT" list -q 2>/dev/null); do
		"$HUSK_OCI" --root "$OCI_ROOT" delete --force "$c" >/dev/null 2>&1
	done
	grep -F "$D" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT

"$here/../scripts/make-busybox-bundle.sh" "$D/bundle" >/dev/null
jq '.process.args = ["/bin/true"]' "$D/bundle/config.json" >"$D/c" && mv "$D/c" "$D/bundle/config.json"

fails=0
oci_cycle() {
	local id=$TAG-$1
	"$HUSK_OCI" --root "$OCI_ROOT" run --bundle "$D/bundle" "$id" </dev/null >/dev/null 2>>"$D/errors" ||
		fails=$((fails + 1))
	# run deletes the container when it ends; a delete of a gone one is
	# an error we do not count
	"$HUSK_OCI" --root "$OCI_ROOT" delete --force "$id" >/dev/null 2>&1
}
engine_cycle() {
	"$HUSK" run --rm --network "$NET" busybox true </dev/null >/dev/null 2>>"$D/errors" ||
		fails=$((fails + 1))
}

# the least of three: RSS in KiB and fd count of a fresh monitor
probe_monitor() {
	local best_rss="" best_fds="" id pid rss fds
	for _ in 1 2 3; do
		id=$("$HUSK" run -d --network "$NET" busybox sleep 1000 2>>"$D/errors") || { fails=$((fails + 1)); continue; }
		pid=$(jq -r .monitor_pid "$HUSK_ROOT/containers/$id/meta.json")
		rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
		fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
		"$HUSK" rm -f "$id" >/dev/null 2>>"$D/errors" || fails=$((fails + 1))
		[ -z "$best_rss" ] || [ "$rss" -lt "$best_rss" ] && best_rss=$rss
		[ -z "$best_fds" ] || [ "$fds" -lt "$best_fds" ] && best_fds=$fds
	done
	echo "${best_rss:-0} ${best_fds:-0}"
}

# sample NAME: the figures into the associative array NAME
sample() {
	local -n s=$1
	local d
	s[fds]=$(find /proc/[0-9]*/fd -mindepth 1 -maxdepth 1 -lname "$D/*" 2>/dev/null | wc -l)
	s[procs]=$(pgrep -f "$D" | wc -l)
	s[mounts]=$(grep -cF "$D" /proc/self/mountinfo)
	s[cgroups]=$( {
		find /sys/fs/cgroup -maxdepth 6 -type d -name "$TAG-*" 2>/dev/null
		for d in $(own_cgroup_dirs); do find "$d" -maxdepth 6 -type d -name 'husk-*' -newer "$D" 2>/dev/null; done
	} | wc -l)
	read -r s[monitor_rss_kib] s[monitor_fds] < <(probe_monitor)
	s[disk_kib]=$(du -sk --exclude='events.log*' "$OCI_ROOT" "$HUSK_ROOT" "$HUSK_RUNROOT" 2>/dev/null |
		awk '{t += $1} END {print t}')
}

t0=$(date +%s)
for i in $(seq "$WARM"); do oci_cycle "w$i"; engine_cycle; done
declare -A a b
sample a
echo "soak: $N husk-oci run/delete cycles, $M husk run --rm --network $NET cycles (after $WARM of each)"
step=$((N / 10 > 0 ? N / 10 : 1))
for i in $(seq "$N"); do
	oci_cycle "$i"
	[ $((i % step)) -ne 0 ] || echo "  husk-oci: $i ($(($(date +%s) - t0)) s)"
done
step=$((M / 10 > 0 ? M / 10 : 1))
for i in $(seq "$M"); do
	engine_cycle
	[ $((i % step)) -ne 0 ] || echo "  husk run --rm: $i ($(($(date +%s) - t0)) s)"
done
sample b

status=0
printf '%-18s %10s %10s\n' what start end
for k in fds procs mounts cgroups monitor_rss_kib monitor_fds disk_kib; do
	grew=""
	# a page of slack for the RSS of a process just started
	slack=0
	[ "$k" != monitor_rss_kib ] || slack=8
	if [ "${b[$k]}" -gt $((${a[$k]} + slack)) ]; then
		grew="  GREW"
		status=1
	fi
	printf '%-18s %10s %10s%s\n' "$k" "${a[$k]}" "${b[$k]}" "$grew"
done
echo "failed cycles: $fails; $(($(date +%s) - t0)) s in all"
if [ "$fails" -ne 0 ]; then
	status=1
	sort "$D/errors" | uniq -c | sort -rn | head -5
fi
exit $status
