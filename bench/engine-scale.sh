#!/bin/bash
# engine-scale.sh: many containers at once. Start N detached `sleep 600`
# containers one after another and time each start (does the Nth start
# cost more than the first?); time `ps`, `ps -a -q` with N running; kill
# them all in parallel batches and time `ps -a` with N exited; remove them
# with `rm -f` in parallel batches. The same for Podman (runc) with
# PODMAN_N containers, and husk's ps at PODMAN_N containers beside it.
# Run as root. See bench/README.md.
#
# Environment:
#   HUSK          husk binary                  (default build/husk next to bench/)
#   RUNC          runc binary                  (default /usr/sbin/runc)
#   N             husk containers              (default 300: 1000 took over
#                 5 minutes on the shared 2-CPU VM, see README)
#   PODMAN_N      podman containers            (default 50; 0 leaves Podman out)
#   PS_RUNS       timed runs of each ps        (default 5)
#   BATCH, PAR    containers per kill / rm call, calls at once (default 50, 4)
#   START_BUDGET  seconds for husk's starts; past it, fewer than N start
#                 and the table says how many (default 150); Podman's starts
#                 get a third of it
#   TMPDIR        where the temp dirs go       (default /tmp)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib-engine.sh
. "$here/lib-engine.sh"
RUNC=${RUNC:-/usr/sbin/runc}
N=${N:-300}
PODMAN_N=${PODMAN_N:-50}
PS_RUNS=${PS_RUNS:-5}
BATCH=${BATCH:-50}
PAR=${PAR:-4}
START_BUDGET=${START_BUDGET:-150}
PM_RUNTIMES=("$RUNC")
# shellcheck source=bench/lib-podman.sh
. "$here/lib-podman.sh"

if [ "$(id -u)" != 0 ]; then
	echo "engine-scale.sh: run as root" >&2
	exit 1
fi
for t in "$HUSK" "$RUNC"; do
	command -v "$t" >/dev/null || { echo "engine-scale.sh: $t not found" >&2; exit 1; }
done
[ "$PODMAN_N" = 0 ] || command -v podman >/dev/null || { echo "engine-scale.sh: podman not found" >&2; exit 1; }

if [ "$PODMAN_N" != 0 ]; then
	bench_begin scale
else
	bench_begin scale no-podman
fi

# the engine's command for engine $1
eng() {
	local e=$1
	shift
	if [ "$e" = husk ]; then
		hk "$@"
	else
		pm "$@"
	fi
}
# time_ps ENGINE TAG ARGS...: PS_RUNS timed runs of `ENGINE ps ARGS` into $W/ps-ENGINE-TAG
time_ps() {
	local e=$1 tag=$2 i
	shift 2
	for ((i = 0; i < PS_RUNS; i++)); do
		timed "$W/ps-$e-$tag" eng "$e" ps "$@" || echo "$e ps $* failed" >>"$W/fails"
	done
}
# count ENGINE ARGS: lines of `ENGINE ps -q ARGS`
count() {
	local e=$1
	shift
	eng "$e" ps -q "$@" 2>>"$ERRLOG" | grep -c .
}
# starts ENGINE COUNT BUDGET_S: start COUNT detached sleep containers, each
# timed into $W/start-ENGINE (one line per container), at most BUDGET_S
# seconds; at PODMAN_N containers, time ps too
starts() {
	local e=$1 n=$2 budget=$3 i t0 deadline
	t0=$(now_us)
	deadline=$((t0 + budget * 1000000))
	for ((i = 1; i <= n; i++)); do
		if [ "$(now_us)" -gt "$deadline" ]; then
			echo "$e: stopped at $((i - 1)) containers after ${budget}s (START_BUDGET)" >>"$W/notes"
			break
		fi
		if [ "$e" = husk ]; then
			timed "$W/start-$e" hk run -d busybox sleep 600 || echo "$e run -d failed" >>"$W/fails"
		else
			timed "$W/start-$e" pm --runtime "$RUNC" run -d busybox sleep 600 || echo "$e run -d failed" >>"$W/fails"
		fi
		if [ "$e" = husk ] && [ $((i % 10)) = 1 ]; then
			# controls, to tell a start that grows with the count from a
			# machine that got busier: a fixed command (load), the copy of
			# the host's mount table into a new mount namespace (every
			# container has one; each running container adds an overlay
			# mount to the host's table), and reading that table
			timed "$W/ctl-version" "$HUSK" --version
			timed "$W/ctl-unshare" unshare -m /bin/true
			timed "$W/ctl-mountinfo" cat /proc/self/mountinfo
		fi
		if [ "$i" = "$PODMAN_N" ] && [ "$e" = husk ] && [ "$n" != "$PODMAN_N" ]; then
			time_ps husk small
			time_ps husk small-aq -a -q
		fi
	done
	echo $(($(now_us) - t0)) >"$W/startwall-$e"
}
# batches ENGINE VERB...: VERB every container (ps -a -q), BATCH a call, PAR calls at once; prints µs
batches() {
	local e=$1 t0
	shift
	t0=$(now_us)
	if [ "$e" = husk ]; then
		hk ps -a -q | xargs -r -n "$BATCH" -P "$PAR" timeout "$HK_TIMEOUT" "$HUSK" "$@" >/dev/null 2>>"$ERRLOG"
	else
		pm ps -a -q | xargs -r -n "$BATCH" -P "$PAR" timeout "$PM_TIMEOUT" "${PM[@]}" --runtime "$RUNC" "$@" >/dev/null 2>>"$ERRLOG"
	fi
	echo $(($(now_us) - t0))
}
# wait_exited ENGINE: until no container runs (at most 60 s)
wait_exited() {
	local i
	for ((i = 0; i < 120; i++)); do
		[ "$(count "$1")" = 0 ] && return 0
		sleep 0.5
	done
	return 1
}

# phase ENGINE COUNT BUDGET: the whole sequence for one engine
phase() {
	local e=$1 n=$2 budget=$3 running exited
	starts "$e" "$n" "$budget"
	running=$(count "$e")
	echo "$running" >"$W/running-$e"
	time_ps "$e" big
	time_ps "$e" big-aq -a -q
	batches "$e" kill >"$W/kill-$e"
	wait_exited "$e" || echo "$e: containers still running 60 s after kill" >>"$W/notes"
	exited=$(count "$e" -a)
	echo "$exited" >"$W/exited-$e"
	time_ps "$e" exited -a
	time_ps "$e" exited-aq -a -q
	batches "$e" rm -f >"$W/rm-$e"
	count "$e" -a >"$W/after-rm-$e"
}

echo "husk: $HUSK; N=$N husk containers, PODMAN_N=$PODMAN_N podman containers (runc); load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
t_start=$(now_us)
phase husk "$N" "$START_BUDGET"
[ "$PODMAN_N" = 0 ] || phase podman "$PODMAN_N" $((START_BUDGET / 3))

# --- tables
med() { stats "$1" | awk '{print $2}'; }
# drift FILE K: "median of the first K starts, of the last K, least-squares ms per 100 starts"
drift() {
	local f=$1 k=$2 first last slope
	first=$(head -n "$k" "$f" >"$W/first" && med "$W/first")
	last=$(tail -n "$k" "$f" >"$W/last" && med "$W/last")
	slope=$(awk '{ x = NR; y = $1 / 1000; n++; sx += x; sy += y; sxx += x * x; sxy += x * y }
		END { d = n * sxx - sx * sx; if (d > 0) printf "%.2f", 100 * (n * sxy - sx * sy) / d; else print "-" }' "$f")
	echo "$first $last $slope"
}
echo
echo "== starting containers one after another (run -d busybox sleep 600)"
echo "(first and last: the median of the first and of the last K starts, K = a fifth of them, at most 50)"
printf '%-8s %8s %8s %10s %4s %10s %10s %11s %16s\n' engine started "wall s" "median ms" K "first ms" "last ms" "last/first" "ms per 100 more"
for e in husk podman; do
	[ -s "$W/start-$e" ] || continue
	n=$(wc -l <"$W/start-$e")
	k=$((n / 5 > 50 ? 50 : n / 5))
	[ "$k" -ge 1 ] || k=1
	read -r first last slope <<<"$(drift "$W/start-$e" "$k")"
	printf '%-8s %8s %8s %10s %4s %10s %10s %11s %16s\n' "$e" "$n" \
		"$(awk '{printf "%.1f", $1 / 1e6}' "$W/startwall-$e")" "$(med "$W/start-$e")" \
		"$k" "$first" "$last" "$(ratio "$last" "$first")" "$slope"
done
# the controls, sampled every 10th husk start (K a fifth of the samples)
if [ -s "$W/ctl-version" ]; then
	echo
	printf '%-34s %7s %10s %4s %10s %10s %11s\n' "controls, at every 10th husk start" samples "median ms" K "first ms" "last ms" "last/first"
fi
for c in version unshare mountinfo; do
	f=$W/ctl-$c
	[ -s "$f" ] || continue
	n=$(wc -l <"$f")
	k=$((n / 5 > 50 ? 50 : n / 5))
	[ "$k" -ge 1 ] || k=1
	head -n "$k" "$f" >"$W/first"
	tail -n "$k" "$f" >"$W/last"
	first=$(stats "$W/first" 2 | awk '{print $2}')
	last=$(stats "$W/last" 2 | awk '{print $2}')
	case $c in
	version) label="husk --version (load)" ;;
	unshare) label="unshare -m true (mount table)" ;;
	mountinfo) label="cat /proc/self/mountinfo" ;;
	esac
	printf '%-34s %7s %10s %4s %10s %10s %11s\n' "$label" "$n" "$(stats "$f" 2 | awk '{print $2}')" "$k" \
		"$first" "$last" "$(ratio "$last" "$first")"
done

echo
echo "== listing ($PS_RUNS runs each, median ms; \"vs podman\" at the same count)"
printf '%-28s %10s %10s %10s %11s\n' command containers "husk ms" "podman ms" "vs podman"
hn=$(cat "$W/running-husk")
pn=$( [ -s "$W/running-podman" ] && cat "$W/running-podman" || echo 0)
row() {
	local what=$1 count=$2 hf=$3 pf=$4 h p=-
	[ -s "$hf" ] || return 0
	h=$(med "$hf")
	[ -z "$pf" ] || [ ! -s "$pf" ] || p=$(med "$pf")
	printf '%-28s %10s %10s %10s %11s\n' "$what" "$count" "$h" "$p" "$(ratio "$h" "$p")"
}
if [ -s "$W/ps-husk-small" ]; then
	row "ps (running)" "$PODMAN_N" "$W/ps-husk-small" "$W/ps-podman-big"
	row "ps -a -q (running)" "$PODMAN_N" "$W/ps-husk-small-aq" "$W/ps-podman-big-aq"
	row "ps (running)" "$hn" "$W/ps-husk-big" ""
	row "ps -a -q (running)" "$hn" "$W/ps-husk-big-aq" ""
else
	# husk started PODMAN_N or fewer: compare at its count
	row "ps (running)" "$hn" "$W/ps-husk-big" "$W/ps-podman-big"
	row "ps -a -q (running)" "$hn" "$W/ps-husk-big-aq" "$W/ps-podman-big-aq"
fi
he=$(cat "$W/exited-husk")
row "ps -a ($he exited)" "$he" "$W/ps-husk-exited" ""
row "ps -a -q ($he exited)" "$he" "$W/ps-husk-exited-aq" ""
if [ -s "$W/ps-podman-exited" ]; then
	printf '%-28s %10s %10s %10s\n' "ps -a (podman, exited)" "$(cat "$W/exited-podman")" - "$(med "$W/ps-podman-exited")"
fi
echo "podman ps with $pn running: $( [ -s "$W/ps-podman-big" ] && med "$W/ps-podman-big" || echo -) ms"

echo
echo "== stopping and removing ($BATCH containers a call, $PAR calls at once)"
printf '%-8s %10s %10s %14s %10s %14s %12s\n' engine containers "kill s" "kill ms each" "rm -f s" "rm -f ms each" "left after"
for e in husk podman; do
	[ -s "$W/kill-$e" ] || continue
	n=$(cat "$W/running-$e")
	printf '%-8s %10s %10s %14s %10s %14s %12s\n' "$e" "$n" \
		"$(awk '{printf "%.1f", $1 / 1e6}' "$W/kill-$e")" \
		"$(awk -v n="$n" '{ if (n > 0) printf "%.1f", $1 / 1000 / n; else print "-" }' "$W/kill-$e")" \
		"$(awk '{printf "%.1f", $1 / 1e6}' "$W/rm-$e")" \
		"$(awk -v n="$n" '{ if (n > 0) printf "%.1f", $1 / 1000 / n; else print "-" }' "$W/rm-$e")" \
		"$(cat "$W/after-rm-$e")"
done
[ ! -s "$W/notes" ] || { echo; cat "$W/notes"; }
[ ! -s "$W/fails" ] || { echo; sort "$W/fails" | uniq -c; }
if [ -s "$ERRLOG" ]; then
	echo
	echo "errors (most frequent first):"
	sort "$ERRLOG" | uniq -c | sort -rn | head -5
fi
echo
echo "took $(ms_fmt $(($(now_us) - t_start))) ms; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
