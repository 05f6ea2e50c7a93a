# Shared by the real-client suites (Podman, containerd): run a scenario
# with husk-oci and with runc and show how they differ.
# The runtime wrapper logs its calls to $CALLS_LOG (default: calls.log in
# $PM_DIR or $CTD_DIR, the suites' temp dirs).

# both SCENARIO: runs the shell function SCENARIO once per runtime with $RT
# set; sets husk_out/husk_rc and runc_out/runc_rc; prints both when they
# differ (to bats' output, so they show even when the test passes).  A
# runtime's own name in the output (container names ending in -husk or
# -runc) is made the same, so that the outputs compare.
both() {
	local fn=$1 rt out rc
	for rt in husk runc; do
		rc=0
		out=$(RT=$rt "$fn" 2>&1) || rc=$?
		out=${out//-$rt/-RT}
		printf -v "${rt}_out" '%s' "$out"
		printf -v "${rt}_rc" '%s' "$rc"
	done
	if [ "$husk_out" != "$runc_out" ] || [ "$husk_rc" != "$runc_rc" ]; then
		{
			echo "# $fn: husk-oci and runc differ"
			echo "# --- husk-oci (status $husk_rc):"
			sed 's/^/#   /' <<<"$husk_out"
			echo "# --- runc (status $runc_rc):"
			sed 's/^/#   /' <<<"$runc_out"
		} >&3
	fi
}

# expect RT CONDITION-DESCRIPTION COMMAND...: a check on one runtime's result
expect() {
	local rt=$1 what=$2
	shift 2
	if ! "$@"; then
		local o=${rt}_out r=${rt}_rc
		echo "$rt: expected $what; status ${!r}, output:" >&2
		echo "${!o}" >&2
		echo "--- runtime calls:" >&2
		grep "^\[$rt\]" "${CALLS_LOG:-${PM_DIR:-$CTD_DIR}/calls.log}" | tail -20 >&2
		return 1
	fi
}

# same: after `both`, husk-oci's output and status are runc's (the
# differences were printed by both)
same() {
	[ "$husk_out" = "$runc_out" ] && [ "$husk_rc" = "$runc_rc" ] && return 0
	echo "husk-oci's output or status is not runc's: see the comparison above" >&2
	return 1
}

# stop_daemon PIDFILE PATTERN: TERM to the daemon whose pid is in PIDFILE,
# KILL if it is still there after 10 s; then KILL to every process whose
# argv matches PATTERN (what it started and left behind: shims, its own
# containerd)
stop_daemon() {
	local pid p
	pid=$(cat "$1" 2>/dev/null || true)
	if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	for p in $(pgrep -f -- "$2" || true); do
		kill -KILL "$p" 2>/dev/null || true
	done
}

# remove_daemon_dir DIR CGROUP: the mounts under a daemon's temp dir, the
# cgroups named CGROUP it made (deepest first), then the dir
remove_daemon_dir() {
	grep -F "$1" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		xargs -r -n1 umount -l 2>/dev/null || true
	find /sys/fs/cgroup -maxdepth 4 -type d -name "$2" 2>/dev/null | sort -r |
		while read -r d; do
			find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
		done
	rm -rf "$1"
}

# logging_runtimes DIR: DIR/rt-husk and DIR/rt-runc, each a wrapper that
# writes its calls and their exit codes to DIR/calls.log and runs
# husk-oci ($HUSK_OCI) or runc ($RUNC_BIN): what a client asked of which
# runtime is then in one log
logging_runtimes() {
	local D=$1 name bin
	for name in husk runc; do
		[ $name = husk ] && bin=$HUSK_OCI || bin=$RUNC_BIN
		cat >"$D/rt-$name" <<-EOF
			#!/bin/sh
			echo "[$name] \$*" >>"$D/calls.log"
			"$bin" "\$@"
			rc=\$?
			echo "[$name] exit \$rc: \$*" >>"$D/calls.log"
			exit \$rc
		EOF
		chmod +x "$D/rt-$name"
	done
}
