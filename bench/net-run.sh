#!/bin/bash
# net-run.sh: what networking adds to `husk run --rm busybox true`: the
# default bridge against --network none, alternating in one run, and the
# bridge again while another container holds a lease (so that the nft
# table is neither made nor removed by the timed runs: the steady state
# of a host that runs containers).  Prints medians, p90 and the
# differences.  Run as root.  See bench/README.md.
#
# Environment:
#   HUSK   husk binary (default build/husk next to bench/)
#   N      rounds (default 30)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib-engine.sh
. "$here/lib-engine.sh"
# shellcheck source=bench/lib-podman.sh
. "$here/lib-podman.sh" # bench_begin's cleanup calls it
N=${N:-30}
[ "$(id -u)" = 0 ] || { echo "net-run.sh: run as root" >&2; exit 1; }
bench_begin netrun no-podman

names=(none bridge)
run_one() {
	case $1 in
	none) hk run --rm busybox true ;;
	# not hk: it keeps husk off the network (--network none)
	bridge) timeout "$HK_TIMEOUT" "$HUSK" run --rm busybox true ;;
	esac
}
for n in "${names[@]}"; do
	run_one "$n" >/dev/null 2>"$W/probe.err" ||
		{ echo "net-run.sh: $n fails: $(head -c 400 "$W/probe.err")" >&2; exit 1; }
done

rounds() {
	local tag=$1 i n
	for ((i = 0; i < N; i++)); do
		for n in "${names[@]}"; do
			timed "$W/$tag-$n" run_one "$n" || echo "$tag $n failed" >>"$W/fails"
		done
	done
}

echo "husk: $HUSK; load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
rounds alone
timeout "$HK_TIMEOUT" "$HUSK" run -d --name holder busybox sleep 3600 >/dev/null
rounds held
hk rm -f holder >/dev/null

table() {
	local tag=$1 title=$2 base s
	echo
	echo "== $title"
	printf '%-34s %5s %10s %8s %8s %10s\n' "run --rm busybox true" runs "median ms" "p90 ms" "min ms" "+ms"
	base=$(stats "$W/$tag-none" | awk '{print $2}')
	for n in "${names[@]}"; do
		read -r cnt med p90 _ min _ <<<"$(stats "$W/$tag-$n")"
		printf '%-34s %5s %10s %8s %8s %10s\n' "--network $n" "$cnt" "$med" "$p90" "$min" \
			"$(awk -v a="$med" -v b="$base" 'BEGIN {printf "%+.1f", a - b}')"
	done
}
table alone "no other container: each bridge run makes the nft table and removes it"
table held "another container holds a lease: the table stays"
[ ! -s "$W/fails" ] || { echo; sort "$W/fails" | uniq -c; }
