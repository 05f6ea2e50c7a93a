#!/bin/bash
# memory-floor.sh: the smallest memory limit (linux.resources.memory.limit,
# swap the same) under which `run` of `/bin/echo hi` succeeds, for husk-oci,
# runc and crun, found by bisection between 64 KiB and 64 MiB (4 KiB
# steps); then the time of `update` and `events --stats` on a running
# container, husk-oci against runc (median of N).  Needs root.
#
#   HUSK_OCI (default build/husk-oci), RUNC (/usr/sbin/runc), CRUN (crun), N (30)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
HUSK_OCI=${HUSK_OCI:-$here/build/husk-oci}
RUNC=${RUNC:-/usr/sbin/runc}
CRUN=${CRUN:-$(command -v crun || echo crun)}
N=${N:-30}
tmp=$(mktemp -d /tmp/husk-bench-mem.XXXXXX)
cleanup() {
	for rt in husk runc crun; do
		for id in $(ls "$tmp/root-$rt" 2>/dev/null); do
			run_rt "$rt" delete --force "$id" >/dev/null 2>&1
		done
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

"$here/scripts/make-busybox-bundle.sh" "$tmp/b" >/dev/null
jq '.ociVersion = "1.0.2" | .process.args = ["/bin/echo", "hi"]' "$tmp/b/config.json" >"$tmp/c" &&
	mv "$tmp/c" "$tmp/b/config.json"

# crun 1.8.1 refuses hybrid cgroup hosts: run it where the unified
# hierarchy is unmounted (a private mount namespace)
hybrid=0
[ -d /sys/fs/cgroup/unified ] && mountpoint -q /sys/fs/cgroup/unified && hybrid=1

run_rt() { # RUNTIME ARGS...
	local rt=$1
	shift
	case $rt in
	husk) "$HUSK_OCI" --root "$tmp/root-husk" "$@" ;;
	runc) "$RUNC" --root "$tmp/root-runc" "$@" ;;
	crun)
		if [ $hybrid = 1 ]; then
			unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec "$0" "$@"' \
				"$CRUN" --root "$tmp/root-crun" "$@"
		else
			"$CRUN" --root "$tmp/root-crun" "$@"
		fi
		;;
	esac
}

ok_at() { # RUNTIME BYTES: does echo hi run under that limit?
	local rt=$1 bytes=$2 id="mf$$-$RANDOM"
	jq ".linux.resources.memory = {\"limit\": $bytes, \"swap\": $bytes}" "$tmp/b/config.json" \
		>"$tmp/b/config.mem.json"
	cp "$tmp/b/config.json" "$tmp/b/config.base.json"
	cp "$tmp/b/config.mem.json" "$tmp/b/config.json"
	local out
	out=$(cd "$tmp/b" && timeout 20 bash -c "$(declare -f run_rt); $(declare -p tmp HUSK_OCI RUNC CRUN hybrid); run_rt $rt run $id" 2>/dev/null </dev/null)
	local st=$?
	cp "$tmp/b/config.base.json" "$tmp/b/config.json"
	run_rt "$rt" delete --force "$id" >/dev/null 2>&1
	[ $st = 0 ] && [ "$out" = hi ]
}

floor() { # RUNTIME -> smallest working limit in bytes, or "fails"
	local rt=$1 lo=65536 hi=67108864
	ok_at "$rt" $hi || { echo fails; return; }
	while [ $((hi - lo)) -gt 4096 ]; do
		local mid=$(((lo + hi) / 2 / 4096 * 4096))
		if ok_at "$rt" $mid; then hi=$mid; else lo=$mid; fi
	done
	echo $hi
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "memory-floor: $(date -u '+%F %H:%M UTC'), kernel $(uname -r), cgroups $([ $hybrid = 1 ] && echo hybrid || echo v1/v2)"
printf '%-10s %14s\n' runtime "floor"
for rt in husk runc crun; do
	f=$(floor $rt)
	if [ "$f" = fails ]; then
		printf '%-10s %14s\n' $rt "fails at 64M"
	else
		printf '%-10s %11s KiB\n' $rt $((f / 1024))
	fi
done

# update and events --stats on a running container (husk and runc)
jq '.process.args = ["sleep", "1000"]' "$tmp/b/config.json" >"$tmp/c" && mv "$tmp/c" "$tmp/b/config.json"
echo
printf '%-10s %18s %22s\n' runtime "update ms (median)" "events --stats ms"
for rt in husk runc; do
	id="ue$$-$rt"
	(cd "$tmp/b" && run_rt $rt run -d $id </dev/null >/dev/null 2>&1)
	u=$(for i in $(seq "$N"); do
		s=$(date +%s%N)
		run_rt $rt update --pids-limit $((100 + i)) $id >/dev/null 2>&1
		echo $((($(date +%s%N) - s) / 1000))
	done | median)
	e=$(for i in $(seq "$N"); do
		s=$(date +%s%N)
		run_rt $rt events --stats $id >/dev/null 2>&1
		echo $((($(date +%s%N) - s) / 1000))
	done | median)
	printf '%-10s %18.2f %22.2f\n' $rt "$(echo "$u / 1000" | bc -l)" "$(echo "$e / 1000" | bc -l)"
	run_rt $rt delete --force $id >/dev/null 2>&1
done
