# Which CRIU can checkpoint and restore here, for checkpoint.bats and the
# Podman suite.  Tried in order: $CRIU, /opt/criu-*/sbin/criu (the newest
# first: scripts/build-criu.sh builds 4.1.1 there), then criu in PATH
# (Debian 12's 3.17.1 fails `criu check` on a 6.x kernel).  One must pass
# `criu check` and dump a sleeping process within 20 s: CRIU's hardware
# breakpoints never fire in a Firecracker guest and an unpatched CRIU hangs
# there at the end of every dump, so a hang is tried once more with
# CRIU_FAULT=130 (CRIU's switch to trace syscalls instead), exported when
# that is what works.
#
# find_criu sets CRIU_BIN (and CRIU_FAULT) when one works, else CRIU_WHY to
# what the last one said.  need_criu skips a test with that reason.

criu_probe() {
	local bin=$1 d pid rc
	d=$(mktemp -d /tmp/husk-criu-probe.XXXXXX)
	sleep 60 </dev/null >/dev/null 2>&1 3>&- &
	pid=$!
	# --shell-job: the sleep's session is bats'
	rc=0
	timeout 20 "$bin" dump -t "$pid" --shell-job --leave-running -D "$d" -o dump.log \
		</dev/null >/dev/null 2>&1 || rc=$?
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if [ $rc -eq 124 ]; then
		CRIU_WHY="$bin: a dump hung (more than 20 s)"
	elif [ $rc -ne 0 ]; then
		CRIU_WHY="$bin dump: $(grep -E 'Error' "$d/dump.log" | grep -v RLIMIT_NOFILE | head -1 || true)"
	fi
	rm -rf "$d"
	return $rc
}

find_criu() {
	CRIU_BIN="" CRIU_WHY="no criu (scripts/build-criu.sh builds CRIU 4.1 into /opt/criu-4.1)"
	local c out cands=()
	[ -n "${CRIU:-}" ] && cands+=("$CRIU")
	while read -r c; do
		[ -n "$c" ] && cands+=("$c")
	done < <(ls -d /opt/criu-*/sbin/criu 2>/dev/null | sort -rV)
	c=$(command -v criu) && cands+=("$c")
	for c in "${cands[@]}"; do
		[ -x "$c" ] || continue
		if ! out=$("$c" check 2>&1); then
			CRIU_WHY="$c check: $(grep -m1 -E 'Error|error' <<<"$out" || tail -1 <<<"$out" || true)"
			continue
		fi
		if criu_probe "$c"; then
			CRIU_BIN=$c
			break
		fi
		if [ -z "${CRIU_FAULT:-}" ] && [[ $CRIU_WHY == *hung* ]]; then
			export CRIU_FAULT=130
			if criu_probe "$c"; then
				CRIU_BIN=$c
				break
			fi
			unset CRIU_FAULT
		fi
	done
	export CRIU_BIN CRIU_WHY
}

need_criu() {
	[ -n "${CRIU_BIN:-}" ] || skip "$CRIU_WHY"
}
