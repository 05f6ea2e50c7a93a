#!/bin/bash
# engine-run.sh: the engine's `run --rm busybox true`, end to end: husk
# against Podman with runc (and Podman with husk-oci, for reference), in
# the same run, alternating, back to back and spaced apart; then the fixed
# cost of starting a verb (`husk --version` against `husk-oci --version`,
# `podman --version` and /bin/true). Prints medians, p90 and ratios.
# Run as root. See bench/README.md.
#
# Environment:
#   HUSK       husk binary       (default build/husk next to bench/)
#   HUSK_OCI   husk-oci binary   (default: next to HUSK)
#   RUNC       runc binary       (default /usr/sbin/runc)
#   N          runs per engine, back to back            (default 30)
#   SPACED_N   runs per engine, spaced apart            (default 15)
#   SPACING    idle seconds before each spaced run      (default 0.2)
#   VERSION_N  runs of each --version and /bin/true     (default 200)
#   TMPDIR     where the temp dirs go                   (default /tmp)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib-engine.sh
. "$here/lib-engine.sh"
HUSK_OCI=$(readlink -f "${HUSK_OCI:-$(dirname "$HUSK")/husk-oci}")
RUNC=${RUNC:-/usr/sbin/runc}
N=${N:-30}
SPACED_N=${SPACED_N:-15}
SPACING=${SPACING:-0.2}
VERSION_N=${VERSION_N:-200}
PM_RUNTIMES=("$RUNC" "$HUSK_OCI")
# shellcheck source=bench/lib-podman.sh
. "$here/lib-podman.sh"

if [ "$(id -u)" != 0 ]; then
	echo "engine-run.sh: run as root" >&2
	exit 1
fi
for t in podman "$HUSK" "$HUSK_OCI" "$RUNC"; do
	command -v "$t" >/dev/null || { echo "engine-run.sh: $t not found" >&2; exit 1; }
done

bench_begin erun

names=(husk husk-unconfined podman-runc podman-husk-oci)
run_one() {
	case $1 in
	husk) hk run --rm busybox true ;;
	husk-unconfined) hk run --rm --security-opt seccomp=unconfined busybox true ;;
	podman-runc) pm --runtime "$RUNC" run --rm busybox true ;;
	podman-husk-oci) pm --runtime "$HUSK_OCI" run --rm busybox true ;;
	esac
}

# one untimed run each: checks that it works, warms the caches
for n in "${names[@]}"; do
	if ! run_one "$n" >/dev/null 2>"$W/probe.err"; then
		echo "engine-run.sh: $n fails: $(head -c 400 "$W/probe.err")" >&2
		exit 1
	fi
done

# rounds MODE COUNT SLEEP: COUNT rounds of every engine in turn
rounds() {
	local mode=$1 count=$2 pause=$3 i n
	local order
	for ((i = 0; i < count; i++)); do
		# husk and husk-unconfined swap places every other round: the one
		# run right after Podman (whose exiting processes and cold caches
		# it meets) would otherwise always be the default one, and the
		# seccomp difference below measured that order, not the filter
		if ((i % 2)); then
			order=(husk-unconfined husk "${names[@]:2}")
		else
			order=("${names[@]}")
		fi
		for n in "${order[@]}"; do
			[ "$pause" = 0 ] || sleep "$pause"
			timed "$W/$mode-$n" run_one "$n" || echo "$mode: $n failed (see $ERRLOG)" >>"$W/fails"
		done
	done
}

echo "husk: $HUSK; podman $(podman --version | awk '{print $3}'), runc $("$RUNC" --version | awk 'NR == 1 {print $3}')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
t_start=$(now_us)
rounds b2b "$N" 0
rounds spaced "$SPACED_N" "$SPACING"

table() {
	local mode=$1 title=$2 n base s
	echo
	echo "== $title"
	printf '%-36s %5s %10s %8s %8s %11s\n' "run --rm busybox true" runs "median ms" "p90 ms" "min ms" "vs podman"
	base=$(stats "$W/$mode-podman-runc" | awk '{print $2}')
	for n in "${names[@]}"; do
		s=$(stats "$W/$mode-$n")
		read -r cnt med p90 _ min _ <<<"$s"
		printf '%-36s %5s %10s %8s %8s %11s\n' "$(label "$n")" "$cnt" "$med" "$p90" "$min" "$(ratio "$med" "$base")"
	done
	# what Docker's default seccomp profile adds to a start (issue 14: 0.5 ms)
	local d u
	d=$(stats "$W/$mode-husk" | awk '{print $2}')
	u=$(stats "$W/$mode-husk-unconfined" | awk '{print $2}')
	# and paired: both ran in the same round, one after the other, so the
	# median of the rounds' differences leaves out what drifts between
	# rounds (the medians' difference spreads 1 ms on this VM)
	local p
	p=$(paste "$W/$mode-husk" "$W/$mode-husk-unconfined" | awk '{print $1 - $2}' | sort -n |
		awk '{a[NR] = $1} END {if (NR) printf "%.2f", ((NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) / 1000}')
	echo "the default seccomp profile adds $(awk -v a="$d" -v b="$u" 'BEGIN {printf "%.2f", a - b}') ms (median against median), ${p:-?} ms (median of the rounds' differences)"
}
label() {
	case $1 in
	husk) echo "husk run" ;;
	husk-unconfined) echo "husk run, seccomp=unconfined" ;;
	podman-runc) echo "podman run --runtime runc" ;;
	podman-husk-oci) echo "podman run --runtime husk-oci" ;;
	esac
}
table b2b "back to back: $N rounds (husk, husk unconfined, podman+runc, podman+husk-oci)"
table spaced "spaced: $SPACED_N rounds, ${SPACING}s idle before each run"
[ ! -s "$W/fails" ] || { echo; sort "$W/fails" | uniq -c; }

# --- the fixed cost of a verb: exec, dynamic linking, the first lines of main
vnames=(true husk husk-oci podman)
ver_one() {
	case $1 in
	true) /bin/true ;;
	husk) "$HUSK" --version ;;
	husk-oci) "$HUSK_OCI" --version ;;
	podman) podman --version ;;
	esac
}
for ((i = 0; i < VERSION_N; i++)); do
	for n in "${vnames[@]}"; do
		timed "$W/ver-$n" ver_one "$n"
	done
done
echo
echo "== the fixed cost of a verb: $VERSION_N runs each, alternating (fork+exec+wait from bash)"
printf '%-26s %10s %8s %14s %12s\n' command "median ms" "p90 ms" "minus true ms" "shared libs"
tmed=$(stats "$W/ver-true" 2 | awk '{print $2}')
for n in "${vnames[@]}"; do
	case $n in
	true) cmd=/bin/true bin=/bin/true ;;
	husk) cmd="husk --version" bin=$HUSK ;;
	husk-oci) cmd="husk-oci --version" bin=$HUSK_OCI ;;
	podman) cmd="podman --version" bin=$(command -v podman) ;;
	esac
	read -r _ med p90 _ <<<"$(stats "$W/ver-$n" 2)"
	libs=$(ldd "$bin" 2>/dev/null | grep -c '=>')
	printf '%-26s %10s %8s %14s %12s\n' "$cmd" "$med" "$p90" \
		"$(awk -v a="$med" -v b="$tmed" 'BEGIN {printf "%.2f", a - b}')" "$libs"
done
echo
echo "took $(ms_fmt $(($(now_us) - t_start))) ms; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
