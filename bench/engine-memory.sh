#!/bin/bash
# engine-memory.sh: what a container costs in memory beside its own
# processes: husk's monitor against Podman's conmon (VmRSS and Pss) for one
# running `sleep` container; monitor + container init per container with
# COUNT containers each; and the RSS of the foreground client (`husk run`
# against `podman run`) while it is attached.
# Run as root. See bench/README.md.
#
# Environment:
#   HUSK     husk binary        (default build/husk next to bench/)
#   RUNC     runc binary        (default /usr/sbin/runc)
#   COUNT    containers each for the per-container figures (default 20)
#   TMPDIR   where the temp dirs go (default /tmp)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib-engine.sh
. "$here/lib-engine.sh"
RUNC=${RUNC:-/usr/sbin/runc}
COUNT=${COUNT:-20}
PM_RUNTIMES=("$RUNC")
# shellcheck source=bench/lib-podman.sh
. "$here/lib-podman.sh"

if [ "$(id -u)" != 0 ]; then
	echo "engine-memory.sh: run as root" >&2
	exit 1
fi
for t in podman jq conmon "$HUSK" "$RUNC"; do
	command -v "$t" >/dev/null || { echo "engine-memory.sh: $t not found" >&2; exit 1; }
done

client_pids=()
# the attached clients it started
bench_more_cleanup() {
	local p
	for p in "${client_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
}
bench_begin mem

# kB of a pid: rss (VmRSS), hwm (VmHWM), pss (Pss from smaps_rollup),
# anon (Anonymous from smaps_rollup: its heap, stack and written data,
# the part that no other process can share)
anon() { awk '/^Anonymous:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null; }

# husk_start: a detached sleep container; prints "monitor_pid init_pid"
husk_start() {
	local id
	id=$(hk run -d busybox sleep 600 2>>"$ERRLOG") || return 1
	jq -r '"\(.monitor_pid) \(.pid)"' "$HUSK_ROOT/containers/$id/meta.json"
}
podman_start() {
	local id
	id=$(pm --runtime "$RUNC" run -d busybox sleep 600 2>>"$ERRLOG") || return 1
	pm inspect --format '{{.State.ConmonPid}} {{.State.Pid}}' "$id"
}

echo "husk: $HUSK; podman $(podman --version | awk '{print $3}'), conmon $(conmon --version | awk 'NR == 1 {print $3}'), runc $("$RUNC" --version | awk 'NR == 1 {print $3}')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
t_start=$(now_us)

# --- one container each
read -r hmon _ <<<"$(husk_start)" || { echo "engine-memory.sh: husk run -d fails: $(tail -c 300 "$ERRLOG")" >&2; exit 1; }
read -r cmon _ <<<"$(podman_start)" || { echo "engine-memory.sh: podman run -d fails: $(tail -c 300 "$ERRLOG")" >&2; exit 1; }
if [ -z "$hmon" ] || [ -z "$cmon" ]; then
	echo "engine-memory.sh: no monitor pid" >&2
	exit 1
fi
sleep 1
echo
echo "== the monitor of one running container (sleep 600), kB"
printf '%-28s %8s %8s %8s %10s %10s\n' process VmRSS VmHWM Pss Anonymous "binary kB"
printf '%-28s %8s %8s %8s %10s %10s\n' "husk-monitor (pid $hmon)" "$(rss "$hmon")" "$(hwm "$hmon")" "$(pss "$hmon")" \
	"$(anon "$hmon")" $(($(stat -Lc %s "/proc/$hmon/exe") / 1024))
printf '%-28s %8s %8s %8s %10s %10s\n' "conmon (pid $cmon)" "$(rss "$cmon")" "$(hwm "$cmon")" "$(pss "$cmon")" \
	"$(anon "$cmon")" $(($(stat -Lc %s "/proc/$cmon/exe") / 1024))
echo "husk-monitor/conmon: VmRSS $(ratio "$(rss "$hmon")" "$(rss "$cmon")"), Pss $(ratio "$(pss "$hmon")" "$(pss "$cmon")"), Anonymous $(ratio "$(anon "$hmon")" "$(anon "$cmon")")"
echo "(conmon also maps $(awk '$NF ~ /\.so/ {print $NF}' "/proc/$cmon/maps" | sort -u | wc -l) shared libraries; husk-monitor $(awk '$NF ~ /\.so/ {print $NF}' "/proc/$hmon/maps" | sort -u | wc -l))"

# --- COUNT containers each
: >"$W/husk-pids"
: >"$W/podman-pids"
for ((i = 0; i < COUNT; i++)); do
	husk_start >>"$W/husk-pids" || echo "husk run -d failed" >&2
	podman_start >>"$W/podman-pids" || echo "podman run -d failed" >&2
done
sleep 1
# sums FILE: "n monitor_rss monitor_pss init_rss init_pss monitor_anon"
# over its pid pairs
sums() {
	local m i n=0 mr=0 mp=0 ir=0 ip=0 ma=0
	while read -r m i; do
		if [ ! -d "/proc/$m" ] || [ ! -d "/proc/$i" ]; then
			continue
		fi
		n=$((n + 1))
		mr=$((mr + $(rss "$m"))) mp=$((mp + $(pss "$m"))) ma=$((ma + $(anon "$m")))
		ir=$((ir + $(rss "$i"))) ip=$((ip + $(pss "$i")))
	done <"$1"
	echo "$n $mr $mp $ir $ip $ma"
}
read -r hn hmr hmp hir hip hma <<<"$(sums "$W/husk-pids")"
read -r pn pmr pmp pir pip pma <<<"$(sums "$W/podman-pids")"
per() { awk -v s="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.0f", s / n; else print "-" }'; }
echo
echo "== $COUNT idle containers each (sleep 600), kB per container (sums over those alive / count)"
printf '%-22s %5s %8s %8s %9s %9s %9s %17s\n' engine alive "mon RSS" "mon Pss" "mon anon" "init RSS" "init Pss" "monitor+init Pss"
printf '%-22s %5s %8s %8s %9s %9s %9s %17s\n' "husk (husk-monitor)" "$hn" "$(per "$hmr" "$hn")" "$(per "$hmp" "$hn")" \
	"$(per "$hma" "$hn")" "$(per "$hir" "$hn")" "$(per "$hip" "$hn")" "$(per $((hmp + hip)) "$hn")"
printf '%-22s %5s %8s %8s %9s %9s %9s %17s\n' "podman (conmon, runc)" "$pn" "$(per "$pmr" "$pn")" "$(per "$pmp" "$pn")" \
	"$(per "$pma" "$pn")" "$(per "$pir" "$pn")" "$(per "$pip" "$pn")" "$(per $((pmp + pip)) "$pn")"
echo "husk/podman: monitor Pss $(ratio "$(per "$hmp" "$hn")" "$(per "$pmp" "$pn")"), monitor anonymous $(ratio "$(per "$hma" "$hn")" "$(per "$pma" "$pn")"), monitor+init Pss $(ratio "$(per $((hmp + hip)) "$hn")" "$(per $((pmp + pip)) "$pn")")"

# --- the foreground client while attached
"$HUSK" run --rm --network none busybox sleep 5 </dev/null >/dev/null 2>>"$ERRLOG" &
hc=$!
client_pids+=("$hc")
"${PM[@]}" --runtime "$RUNC" run --rm busybox sleep 5 </dev/null >/dev/null 2>>"$ERRLOG" &
pc=$!
client_pids+=("$pc")
sleep 2.5
echo
echo "== the foreground client, attached to a running container (run --rm busybox sleep 5), kB"
printf '%-28s %8s %8s %8s %10s\n' process VmRSS VmHWM Pss Anonymous
printf '%-28s %8s %8s %8s %10s\n' "husk run (pid $hc)" "$(rss "$hc")" "$(hwm "$hc")" "$(pss "$hc")" "$(anon "$hc")"
printf '%-28s %8s %8s %8s %10s\n' "podman run (pid $pc)" "$(rss "$pc")" "$(hwm "$pc")" "$(pss "$pc")" "$(anon "$pc")"
echo "husk/podman: VmRSS $(ratio "$(rss "$hc")" "$(rss "$pc")"), Pss $(ratio "$(pss "$hc")" "$(pss "$pc")")"
wait "$hc" "$pc"
client_pids=()
echo
echo "took $(ms_fmt $(($(now_us) - t_start))) ms; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
