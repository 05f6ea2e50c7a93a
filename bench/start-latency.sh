#!/bin/bash
# start-latency.sh: time `run` of a busybox bundle running /bin/true with
# husk-oci, crun and runc, alternating (husk, crun, runc, husk, ...), back to
# back and spaced apart, and print ms per container and peak RSS.  The
# kernel's floor runs in the same loop: `unshare -fpmuinC` of the bundle's
# own /bin/true (the bundle's namespaces, no runtime), and husk/floor says
# how far above it husk-oci is.
# Run as root. See bench/README.md.
#
# Environment:
#   HUSK_OCI   husk-oci binary          (default /work/main/build/husk-oci)
#   CRUN       crun binary              (default crun from PATH)
#   RUNC       runc binary              (default /usr/sbin/runc)
#   N          runs per runtime, back to back       (default 100)
#   SPACED_N   runs per runtime, spaced apart       (default 30)
#   SPACING    idle seconds before each spaced run  (default 0.2)
#   ORDER      alternate (default): husk, crun, runc, husk, ...;
#              grouped: all runs of one runtime, then the next (shows each
#              runtime back to back with itself, see README)
#   EXPLAIN    1: also print `husk-oci --explain run` after an idle period
#              and back to back (default 0)
#   TMPDIR     where the bundle and the --root dirs go (default /tmp); keep it
#              on the same filesystem as the runtimes' real state dir (/run)
set -u

HUSK_OCI=${HUSK_OCI:-/work/main/build/husk-oci}
CRUN=${CRUN:-$(command -v crun || echo crun)}
RUNC=${RUNC:-/usr/sbin/runc}
N=${N:-100}
SPACED_N=${SPACED_N:-30}
SPACING=${SPACING:-0.2}
EXPLAIN=${EXPLAIN:-0}
ORDER=${ORDER:-alternate}
here=$(cd "$(dirname "$0")" && pwd)
make_bundle=${MAKE_BUNDLE:-$here/../scripts/make-busybox-bundle.sh}

if [ "$(id -u)" != 0 ]; then
	echo "start-latency.sh: run as root" >&2
	exit 1
fi
for t in jq "$HUSK_OCI"; do
	command -v "$t" >/dev/null || { echo "start-latency.sh: $t not found" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/husk-bench.XXXXXX")
tag=hb$$
cleanup() {
	# Containers of a run that was interrupted: their cgroups (named after
	# the unique ids, which all start with $tag).
	find /sys/fs/cgroup -mindepth 2 -maxdepth 8 -depth -type d -name "$tag-*" \
		-exec rmdir {} + 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the timer: one fork+exec+wait4 per run, identical for every runtime.
# Prints "<elapsed ns> <ru_maxrss KB> <wait status>". ru_maxrss from wait4
# covers the process across its execs (husk's re-exec from a memfd, the
# wrapper's sh exec'ing crun) and every descendant it reaped (runc init, the
# container's /bin/true): the same number /usr/bin/time -f %M prints.
timer=$work/timed
if command -v cc >/dev/null; then
	cat >"$work/timed.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct timespec a, b;
	struct rusage ru;
	int st;
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &st, 0, &ru) < 0)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &b);
	long long ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
	printf("%lld %ld %d\n", ns, ru.ru_maxrss, st);
	return 0;
}
EOF
	cc -O2 -o "$timer" "$work/timed.c" || timer=
else
	timer=
fi
if [ -z "$timer" ]; then
	# Fallback: date around GNU time (time's own fork+exec is then inside
	# the measurement, equally for every runtime).
	if [ ! -x /usr/bin/time ]; then
		apt-get install -y time >/dev/null 2>&1 ||
			{ echo "start-latency.sh: need cc or /usr/bin/time" >&2; exit 1; }
	fi
	timed() {
		local a b
		a=$(date +%s%N)
		/usr/bin/time -f '%M %x' -o "$work/time.out" "$@" </dev/null >/dev/null 2>&1
		b=$(date +%s%N)
		local rss code
		read -r rss code <"$work/time.out"
		echo "$((b - a)) $rss $((code << 8))"
	}
	echo "note: no C compiler, timing with date +%s%N around /usr/bin/time" >&2
else
	timed() { "$timer" "$@"; }
fi

# ---- the bundle
bundle=$work/bundle
if ! HUSK_OCI=$HUSK_OCI "$make_bundle" "$bundle" >"$work/mkbundle.log" 2>&1; then
	echo "start-latency.sh: make-busybox-bundle.sh failed:" >&2
	cat "$work/mkbundle.log" >&2
	exit 1
fi
# /bin/true; keep husk's default namespaces, mounts and capabilities. crun
# 1.8.1 rejects an ociVersion other than 1.0.x ("unknown version specified"),
# so the one bundle all three runtimes run says 1.0.2.
jq '.process.args = ["/bin/true"] | .ociVersion = "1.0.2"' "$bundle/config.json" \
	>"$bundle/config.json.new" && mv "$bundle/config.json.new" "$bundle/config.json"

# ---- the runtimes. crun 1.8.1 refuses a hybrid cgroup host; on one, run it
# in a private mount namespace without /sys/fs/cgroup/unified, and time that
# wrapper alone as the pseudo-runtime "wrap".
hybrid=0
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ] &&
	[ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
	hybrid=1
fi

declare -A root
for rt in husk crun runc wrap floor; do
	root[$rt]=$work/root-$rt
	mkdir -p "${root[$rt]}"
done

# cmd RT ID: the command line of one run, in the array `cmd`.
cmd_for() {
	local rt=$1 id=$2
	case $rt in
	husk) cmd=("$HUSK_OCI" --root "${root[husk]}" run -b "$bundle" "$id") ;;
	runc) cmd=("$RUNC" --root "${root[runc]}" run -b "$bundle" "$id") ;;
	crun)
		if [ $hybrid = 1 ]; then
			cmd=(unshare -m sh -c "umount /sys/fs/cgroup/unified && exec \"\$0\" \"\$@\"" \
				"$CRUN" --root "${root[crun]}" run -b "$bundle" "$id")
		else
			cmd=("$CRUN" --root "${root[crun]}" run -b "$bundle" "$id")
		fi
		;;
	wrap) cmd=(unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec true') ;;
	# the kernel's own floor: the same namespaces as the bundle's (pid,
	# net, ipc, uts, mount, cgroup) made, entered by a fork and torn down,
	# around the same /bin/true (the bundle's busybox), with no runtime
	floor) cmd=(unshare -fpmuinC "$bundle/rootfs/bin/true") ;;
	esac
}

# Smoke test (also the warm-up): drop a runtime that fails here, with why.
runtimes=()
has() { local x; for x in "${runtimes[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }
for rt in husk crun runc wrap floor; do
	# the wrapper matters only for a wrapped crun that runs
	[ $rt = wrap ] && { [ $hybrid = 0 ] || ! has crun; } && continue
	cmd_for $rt "$tag-warm-$rt"
	if out=$("${cmd[@]}" </dev/null 2>&1 >/dev/null); then
		runtimes+=("$rt")
	else
		echo "$rt: fails on this host, left out: ${out:-exit status $?}" | head -5 >&2
	fi
done
has husk || { echo "start-latency.sh: husk-oci does not run here" >&2; exit 1; }

# bench MODE COUNT SLEEP: COUNT rounds of every runtime in turn (or, with
# ORDER=grouped, COUNT runs of each runtime in a block).
bench() {
	local mode=$1 count=$2 pause=$3 i j rt id line ns rss st
	local -a order=()
	for rt in "${runtimes[@]}"; do : >"$work/$mode.$rt"; : >"$work/$mode.$rt.fail"; done
	if [ "$ORDER" = grouped ]; then
		for rt in "${runtimes[@]}"; do
			for ((i = 0; i < count; i++)); do order+=("$rt"); done
		done
	else
		for ((i = 0; i < count; i++)); do order+=("${runtimes[@]}"); done
	fi
	for ((j = 0; j < ${#order[@]}; j++)); do
		rt=${order[j]}
		{
			id=$tag-$mode-$j-$rt
			cmd_for $rt "$id"
			[ "$pause" != 0 ] && sleep "$pause"
			line=$(timed "${cmd[@]}")
			read -r ns rss st <<<"$line"
			if [ "$st" = 0 ]; then
				echo "$ns $rss" >>"$work/$mode.$rt"
			else
				echo "$st" >>"$work/$mode.$rt.fail"
				if [ ! -s "$work/$mode.$rt.why" ]; then
					# once: run it again, untimed, to show why
					cmd_for $rt "$id-again"
					"${cmd[@]}" </dev/null >/dev/null 2>"$work/$mode.$rt.why" ||
						true
					[ -s "$work/$mode.$rt.why" ] || echo "wait status $st" >"$work/$mode.$rt.why"
				fi
			fi
		}
	done
}

# stats FILE: "median mean min p90 maxrss" in ms/KB, or "- - - - -".
stats() {
	if [ ! -s "$1" ]; then
		echo "- - - - -"
		return
	fi
	sort -n -k1,1 "$1" | awk '
		{ t[NR] = $1 / 1e6; s += $1 / 1e6; if ($2 > m) m = $2 }
		END {
			med = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
			p90 = t[int(NR * 0.9 + 0.999999)]
			printf "%.2f %.2f %.2f %.2f %d\n", med, s / NR, t[1], p90, m
		}'
}

report() {
	local mode=$1 title=$2 rt nfail
	declare -A med mean min p90 rss
	for rt in "${runtimes[@]}"; do
		read -r med[$rt] mean[$rt] min[$rt] p90[$rt] rss[$rt] < <(stats "$work/$mode.$rt")
	done
	echo
	echo "== $title"
	printf '%-24s %9s %9s %9s %9s %12s %6s\n' runtime "median ms" "mean ms" "min ms" "p90 ms" \
		"peak RSS KB" fails
	row() {
		printf '%-24s %9s %9s %9s %9s %12s %6s\n' "$@"
	}
	for rt in "${runtimes[@]}"; do
		nfail=$(wc -l <"$work/$mode.$rt.fail")
		case $rt in
		husk) row husk-oci "${med[$rt]}" "${mean[$rt]}" "${min[$rt]}" "${p90[$rt]}" "${rss[$rt]}" "$nfail" ;;
		runc) row "runc $("$RUNC" --version | awk 'NR==1{print $3}')" "${med[$rt]}" "${mean[$rt]}" "${min[$rt]}" "${p90[$rt]}" "${rss[$rt]}" "$nfail" ;;
		crun)
			local v
			v=$("$CRUN" --version | awk 'NR==1{print $3}')
			if [ $hybrid = 1 ]; then
				row "crun $v (raw, wrapped)" "${med[$rt]}" "${mean[$rt]}" "${min[$rt]}" "${p90[$rt]}" "${rss[$rt]}" "$nfail"
			else
				row "crun $v" "${med[$rt]}" "${mean[$rt]}" "${min[$rt]}" "${p90[$rt]}" "${rss[$rt]}" "$nfail"
			fi
			;;
		wrap) row "wrapper alone" "${med[$rt]}" "${mean[$rt]}" "${min[$rt]}" "${p90[$rt]}" "${rss[$rt]}" "$nfail" ;;
		floor) row "floor: unshare -fpmuinC" "${med[$rt]}" "${mean[$rt]}" "${min[$rt]}" "${p90[$rt]}" "${rss[$rt]}" "$nfail" ;;
		esac
	done
	# crun net of the wrapper: medians and means subtracted.
	local cmed=- cmean=-
	if has crun; then
		if [ $hybrid = 1 ] && has wrap && [ "${med[wrap]}" != - ] && [ "${med[crun]}" != - ]; then
			cmed=$(awk -v a="${med[crun]}" -v b="${med[wrap]}" 'BEGIN{printf "%.2f", a-b}')
			cmean=$(awk -v a="${mean[crun]}" -v b="${mean[wrap]}" 'BEGIN{printf "%.2f", a-b}')
			row "crun - wrapper" "$cmed" "$cmean" "" "" "" ""
		elif [ $hybrid = 0 ]; then
			cmed=${med[crun]} cmean=${mean[crun]}
		fi
	fi
	ratio() { # a b -> a/b or -
		awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a/b }'
	}
	if has crun; then
		printf 'husk/crun%s: time %s (median), %s (mean); peak RSS %s\n' \
			"$([ $hybrid = 1 ] && echo ' (crun minus wrapper)')" \
			"$(ratio "${med[husk]}" "$cmed")" "$(ratio "${mean[husk]}" "$cmean")" \
			"$(ratio "${rss[husk]}" "${rss[crun]}")"
	fi
	if has runc; then
		printf 'husk/runc: time %s (median), %s (mean); peak RSS %s\n' \
			"$(ratio "${med[husk]}" "${med[runc]}")" "$(ratio "${mean[husk]}" "${mean[runc]}")" \
			"$(ratio "${rss[husk]}" "${rss[runc]}")"
	fi
	if has floor; then
		printf 'husk/floor: time %s (median), %s (mean)\n' \
			"$(ratio "${med[husk]}" "${med[floor]}")" "$(ratio "${mean[husk]}" "${mean[floor]}")"
	fi
	for rt in "${runtimes[@]}"; do
		[ -s "$work/$mode.$rt.why" ] && echo "$rt failed $(wc -l <"$work/$mode.$rt.fail") run(s), e.g.: $(head -3 "$work/$mode.$rt.why")"
	done
	return 0
}

echo "start-latency: $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs," \
	"cgroups $([ $hybrid = 1 ] && echo hybrid || stat -f -c %T /sys/fs/cgroup)"
echo "husk-oci: $HUSK_OCI; bundle: busybox /bin/true, husk-oci's default config" \
	"(namespaces: $(jq -r '[.linux.namespaces[].type] | join(",")' "$bundle/config.json"))"
echo "runtimes ($ORDER): ${runtimes[*]}; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

bench b2b "$N" 0
report b2b "back to back: $N runs each"
bench spaced "$SPACED_N" "$SPACING"
report spaced "spaced: $SPACED_N runs each, ${SPACING}s idle before each run"

if [ "$EXPLAIN" = 1 ]; then
	echo
	echo "== husk-oci --explain run, after ${SPACING}s idle"
	sleep "$SPACING"
	"$HUSK_OCI" --root "${root[husk]}" --explain run -b "$bundle" "$tag-explain-1" 2>&1 </dev/null
	echo "== husk-oci --explain run, right after"
	"$HUSK_OCI" --root "${root[husk]}" --explain run -b "$bundle" "$tag-explain-2" 2>&1 </dev/null
fi
exit 0
