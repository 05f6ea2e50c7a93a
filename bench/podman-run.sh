#!/bin/bash
# podman-run.sh: time `podman run --rm IMAGE true` with --runtime husk-oci
# against --runtime runc (and crun, if it runs on this host), alternating,
# and print the median per runtime and the ratio to runc.
# Run as root. Podman gets a private setup in a temp dir (bench/lib-podman.sh,
# as in tests/integration/clients-podman.bats): cgroupfs, netns "none", file
# events, overlay storage, a busybox image imported from /bin/busybox.
#
# Environment:
#   HUSK_OCI   husk-oci binary   (default /work/main/build/husk-oci)
#   RUNC       runc binary       (default /usr/sbin/runc)
#   CRUN       crun binary       (default crun from PATH; left out if a probe run fails)
#   N          runs per runtime  (default 30)
set -u

HUSK_OCI=${HUSK_OCI:-/work/main/build/husk-oci}
RUNC=${RUNC:-/usr/sbin/runc}
CRUN=${CRUN:-$(command -v crun || true)}
N=${N:-30}

if [ "$(id -u)" != 0 ]; then
	echo "podman-run.sh: run as root" >&2
	exit 1
fi
for t in podman jq "$HUSK_OCI" "$RUNC"; do
	command -v "$t" >/dev/null || { echo "podman-run.sh: $t not found" >&2; exit 1; }
done

here=$(cd "$(dirname "$0")" && pwd)
PM_RUNTIMES=("$HUSK_OCI" "$RUNC" ${CRUN:+"$CRUN"})
# shellcheck source=bench/lib-podman.sh
. "$here/lib-podman.sh"
trap pm_cleanup EXIT
trap 'exit 130' INT TERM
PM_TIMEOUT=60
pm_setup /tmp/husk-bench-podman || { echo "podman-run.sh: podman setup failed" >&2; exit 1; }
D=$PM_DIR

names=(husk-oci runc)
bins=("$HUSK_OCI" "$RUNC")
if [ -n "$CRUN" ]; then
	if pm --runtime "$CRUN" run --rm busybox true >/dev/null 2>"$D/crun.err"; then
		names+=(crun)
		bins+=("$CRUN")
	else
		echo "crun left out: $(head -c 300 "$D/crun.err" | tr '\n' ' ')"
	fi
fi

# one warm-up run each
for i in "${!bins[@]}"; do
	pm --runtime "${bins[$i]}" run --rm busybox true || {
		echo "podman-run.sh: ${names[$i]} fails" >&2
		exit 1
	}
done

now_ns() { date +%s%N; }
for _ in $(seq "$N"); do
	for i in "${!bins[@]}"; do
		t0=$(now_ns)
		pm --runtime "${bins[$i]}" run --rm busybox true || echo "run with ${names[$i]} failed" >&2
		t1=$(now_ns)
		echo $(((t1 - t0) / 1000)) >>"$D/t-${names[$i]}"
	done
done

median_ms() { sort -n "$1" | awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f", m / 1000}'; }
runc_med=$(median_ms "$D/t-runc")
echo "podman run --rm busybox true, $N runs each, alternating (netns none, cgroupfs, overlay):"
for n in "${names[@]}"; do
	med=$(median_ms "$D/t-$n")
	printf '  %-9s median %7s ms   min %7s ms   ratio to runc %s\n' "$n" "$med" \
		"$(sort -n "$D/t-$n" | head -1 | awk '{printf "%.1f", $1 / 1000}')" \
		"$(awk -v a="$med" -v b="$runc_med" 'BEGIN {printf "%.2f", a / b}')"
done
