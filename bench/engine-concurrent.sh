#!/bin/bash
# engine-concurrent.sh: RUNS `run --rm busybox true`, PAR at once
# (xargs -P), for husk and for Podman with runc, in the same run; per-run
# latency (p50, p90, p99), the total wall time and runs per second.
# Run as root. See bench/README.md.
#
# Environment:
#   HUSK     husk binary           (default build/husk next to bench/)
#   RUNC     runc binary           (default /usr/sbin/runc)
#   RUNS     containers per batch  (default 100)
#   PAR      at once               (default 8)
#   ROUNDS   batches per engine, alternating husk, podman (default 1)
#   TMPDIR   where the temp dirs go (default /tmp)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib-engine.sh
. "$here/lib-engine.sh"
RUNC=${RUNC:-/usr/sbin/runc}
RUNS=${RUNS:-100}
PAR=${PAR:-8}
ROUNDS=${ROUNDS:-1}
PM_RUNTIMES=("$RUNC")
# shellcheck source=bench/lib-podman.sh
. "$here/lib-podman.sh"

if [ "$(id -u)" != 0 ]; then
	echo "engine-concurrent.sh: run as root" >&2
	exit 1
fi
for t in podman "$HUSK" "$RUNC"; do
	command -v "$t" >/dev/null || { echo "engine-concurrent.sh: $t not found" >&2; exit 1; }
done

bench_begin conc

# one.sh ENGINE SEQ: one timed run; prints "microseconds status"
husk_cmd=(timeout "$HK_TIMEOUT" "$HUSK" run --rm --network none busybox true)
podman_cmd=(timeout "$PM_TIMEOUT" "${PM[@]}" --runtime "$RUNC" run --rm busybox true)
{
	echo '#!/bin/bash'
	printf 'HUSK_ROOT=%q HUSK_RUNROOT=%q; export HUSK_ROOT HUSK_RUNROOT\n' "$HUSK_ROOT" "$HUSK_RUNROOT"
	# shellcheck disable=SC2016
	printf 'case $1 in husk) cmd=(%s) ;; podman) cmd=(%s) ;; esac\n' "${husk_cmd[*]@Q}" "${podman_cmd[*]@Q}"
	# shellcheck disable=SC2016
	printf '%s\n' 't0=${EPOCHREALTIME/[.,]/}' \
		"\"\${cmd[@]}\" </dev/null >/dev/null 2>>$(printf %q "$ERRLOG")" \
		'rc=$?' 't1=${EPOCHREALTIME/[.,]/}' 'echo "$((10#$t1 - 10#$t0)) $rc"'
} >"$W/one.sh"
chmod +x "$W/one.sh"

for e in husk podman; do
	out=$("$W/one.sh" "$e" 0)
	[ "${out#* }" = 0 ] || { echo "engine-concurrent.sh: $e fails: $(tail -c 400 "$ERRLOG")" >&2; exit 1; }
done

echo "husk: $HUSK; podman $(podman --version | awk '{print $3}') with runc $("$RUNC" --version | awk 'NR == 1 {print $3}')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
t_start=$(now_us)
for ((r = 0; r < ROUNDS; r++)); do
	for e in husk podman; do
		t0=$(now_us)
		seq "$RUNS" | xargs -P "$PAR" -I{} "$W/one.sh" "$e" {} >>"$W/out-$e"
		t1=$(now_us)
		echo $((t1 - t0)) >>"$W/wall-$e"
	done
done

echo
echo "== $RUNS x run --rm busybox true, $PAR at once (xargs -P$PAR), $ROUNDS batch(es) each"
printf '%-26s %5s %6s %9s %8s %8s %10s %8s %10s\n' engine runs fails "p50 ms" "p90 ms" "p99 ms" "wall s" "runs/s" "p50 vs pm"
pm_p50=
for e in podman husk; do
	awk '{print $1}' "$W/out-$e" >"$W/lat-$e"
	fails=$(awk '$2 != 0' "$W/out-$e" | wc -l)
	read -r cnt p50 p90 p99 _ <<<"$(stats "$W/lat-$e")"
	[ "$e" != podman ] || pm_p50=$p50
	wall=$(awk '{s += $1} END {printf "%.2f", s / NR / 1e6}' "$W/wall-$e")
	rate=$(awk -v n="$RUNS" -v w="$wall" 'BEGIN {printf "%.1f", n / w}')
	printf '%s\n' "$e $cnt $fails $p50 $p90 $p99 $wall $rate $(ratio "$p50" "$pm_p50")" >>"$W/rows"
done
while read -r e cnt fails p50 p90 p99 wall rate rt; do
	case $e in
	husk) label="husk run" ;;
	podman) label="podman run --runtime runc" ;;
	esac
	printf '%-26s %5s %6s %9s %8s %8s %10s %8s %10s\n' "$label" "$cnt" "$fails" "$p50" "$p90" "$p99" "$wall" "$rate" "$rt"
done < <(tac "$W/rows")
hw=$(awk '{s += $1} END {print s / NR}' "$W/wall-husk")
pw=$(awk '{s += $1} END {print s / NR}' "$W/wall-podman")
echo "husk/podman: wall time $(ratio "$hw" "$pw")"
if [ -s "$ERRLOG" ]; then
	echo
	echo "errors (first lines):"
	sort "$ERRLOG" | uniq -c | sort -rn | head -5
fi
echo
echo "took $(ms_fmt $(($(now_us) - t_start))) ms; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
