#!/usr/bin/env bats
# Docker (Debian's docker.io, 20.10) drives husk-oci (`docker run --runtime
# husk`), and every scenario runs again with `--runtime runc` so that a
# difference in behaviour shows in the output.
#
# The test starts its own dockerd: data-root, exec-root, pidfile and socket
# in a temp dir, no iptables rules, no bridge, no masquerading, a cgroup
# parent of its own, and the two runtimes added through a daemon.json. dockerd
# starts a containerd of its own under the exec-root (state and sockets
# there). busybox comes from `docker load` of an image archive made here
# from the test rootfs template (docker save's format: manifest.json, the
# config, one layer). The runtimes are logging wrappers that append the argv
# containerd's shim passed and the exit status to $DK_DIR/calls.log.
#
# The docker client used is Debian's /usr/bin/docker (another docker may be
# first in PATH), with DOCKER_HOST and DOCKER_CONFIG in the temp dir.

load helpers
load clients-helpers

RUNC_BIN=${RUNC_BIN:-/usr/sbin/runc}
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
DOCKER=${DOCKER:-/usr/bin/docker}
DK_T=${DK_T:-60} # seconds any one docker command may take

# an image archive in `docker save`'s format, made from the rootfs template
make_docker_archive() {
	local out=$1 d c l
	d=$(mktemp -d "$DK_DIR/img.XXXXXX")
	tar -C "$(rootfs_template)" -cf "$d/layer.tar" .
	l=$(sha256sum "$d/layer.tar" | cut -d' ' -f1)
	jq -cn --arg l "sha256:$l" '{architecture: "amd64", os: "linux",
		rootfs: {type: "layers", diff_ids: [$l]},
		config: {Cmd: ["sh"], Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}}' >"$d/config"
	c=$(sha256sum "$d/config" | cut -d' ' -f1)
	mv "$d/config" "$d/$c.json"
	jq -cn --arg c "$c.json" '[{Config: $c, RepoTags: ["busybox:latest"], Layers: ["layer.tar"]}]' \
		>"$d/manifest.json"
	tar -C "$d" -cf "$out" manifest.json "$c.json" layer.tar
	rm -rf "$d"
}

setup_file() {
	[ -x "$DOCKERD" ] && [ -x "$DOCKER" ] || return 0
	export DK_DIR DK_CGROUP CALLS_LOG
	DK_DIR=$(mktemp -d /tmp/husk-docker.XXXXXX)
	DK_CGROUP=husk-${DK_DIR##*.}
	CALLS_LOG=$DK_DIR/calls.log
	local D=$DK_DIR name bin
	logging_runtimes "$D"
	jq -n --arg husk "$D/rt-husk" --arg runc "$D/rt-runc" --arg cg "$DK_CGROUP" '{
		runtimes: {husk: {path: $husk}, "runc-log": {path: $runc}},
		"cgroup-parent": $cg, iptables: false, "ip-masq": false, bridge: "none",
		"ip-forward": false, "userland-proxy": false, "log-driver": "json-file",
		"storage-driver": "overlay2"}' >"$D/daemon.json"
	# (dockerd reserves the name runc: the wrapped runc is runc-log)
	setsid "$DOCKERD" --config-file "$D/daemon.json" --data-root "$D/data" \
		--exec-root "$D/exec" --pidfile "$D/docker.pid" -H "unix://$D/docker.sock" \
		</dev/null >"$D/dockerd.log" 2>&1 3>&- &
	echo $! >"$D/dockerd.pid"
	for _ in $(seq 150); do
		dk_ version >/dev/null 2>&1 && break
		kill -0 "$(cat "$D/dockerd.pid")" 2>/dev/null || break
		sleep 0.2
	done
	dk_ version >/dev/null 2>&1 || {
		tail -20 "$D/dockerd.log" >&2
		return 1
	}
	make_docker_archive "$D/busybox.tar"
	dk_ load -i "$D/busybox.tar" >/dev/null
}

teardown_file() {
	[ -n "${DK_DIR:-}" ] && [ -d "$DK_DIR" ] || return 0
	dk_clean
	# dockerd stops the containerd it started; what outlived it has the
	# temp dir on its argv
	stop_daemon "$DK_DIR/dockerd.pid" "$DK_DIR/exec/containerd"
	remove_daemon_dir "$DK_DIR" "$DK_CGROUP"
}

setup() {
	[ -x "$DOCKERD" ] && [ -x "$DOCKER" ] ||
		skip "docker.io is not installed (scripts/setup.sh installs it)"
	[ -x "$HUSK_OCI" ] || skip "no husk-oci at $HUSK_OCI"
	dk_ version >/dev/null 2>&1 || {
		tail -30 "$DK_DIR/dockerd.log" >&2
		false
	}
}

teardown() { dk_clean; }

dk_clean() {
	local ids
	ids=$(dk_ ps -aq 2>/dev/null) || return 0
	[ -z "$ids" ] || dk_ rm -f $ids >/dev/null 2>&1 || true
}

# the docker client of our dockerd, time-bounded, without bats' fd 3
# (the shim would keep it open and bats would wait)
dk_() {
	DOCKER_HOST="unix://$DK_DIR/docker.sock" DOCKER_CONFIG="$DK_DIR/cfg" \
		timeout "$DK_T" "$DOCKER" "$@" 3>&-
}

# Within a scenario function: $RT is husk or runc.
dk_runtime() { [ "$RT" = husk ] && echo husk || echo runc-log; }
dk() {
	case $1 in
	run | create) dk_ "$1" --runtime "$(dk_runtime)" "${@:2}" ;;
	*) dk_ "$@" ;;
	esac
}

# dk run -d ARGS...: less a message of the docker CLI's own race (20.10
# logs "error waiting for container: context canceled" when `run -d`
# returns before its wait for the container has begun), whatever the runtime
dkd() {
	local rc=0
	dk run -d "$@" 2>"$DK_DIR/run-d.err" || rc=$?
	grep -v 'error waiting for container: context canceled' "$DK_DIR/run-d.err" >&2
	return $rc
}

# the host cgroup dir of a running container for controller CTL, from its
# init's /proc/PID/cgroup
ctr_cgroup() {
	local ctl=$1 id=$2 pid
	pid=$(dk_ inspect -f '{{.State.Pid}}' "$id")
	echo "/sys/fs/cgroup/$ctl$(awk -F: -v c="$ctl" '$2 == c {print $3}' "/proc/$pid/cgroup")"
}

@test "docker: run --rm busybox echo hi" {
	s() { dk run --rm busybox echo hi; }
	both s
	for rt in husk runc; do
		o=${rt}_out r=${rt}_rc
		expect $rt "status 0, output hi" [ "${!r}" = 0 -a "${!o}" = hi ]
	done
	# the shim ran the runtime we named, with its state under the exec-root
	# (dockerd 20.10 gives every runtime the root runtime-runc)
	grep -q -- "^\[husk\] --root $DK_DIR/exec/runtime-runc/moby .*create --bundle " "$DK_DIR/calls.log"
	same
	# our dockerd made no bridge and no iptables rule
	! ip link show docker0 >/dev/null 2>&1
	! iptables-save 2>/dev/null | grep -q DOCKER
}

@test "docker: exit codes pass through (7, 255, 127 and 126)" {
	s() {
		dk run --rm busybox sh -c 'exit 7'
		echo "exit7=$?"
		dk run --rm busybox sh -c 'exit 255'
		echo "exit255=$?"
		dk run --rm busybox sh -c 'no-such-command'
		echo "missing=$?"
		dk run --rm busybox /no/such-binary 2>/dev/null
		echo "missing-entrypoint=$?"
		dk run --rm busybox /etc/passwd 2>/dev/null
		echo "not-executable=$?"
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "exit7=7" grep -qx 'exit7=7' <<<"${!o}"
		expect $rt "exit255=255" grep -qx 'exit255=255' <<<"${!o}"
		expect $rt "missing=127" grep -qx 'missing=127' <<<"${!o}"
		expect $rt "missing-entrypoint=127" grep -qx 'missing-entrypoint=127' <<<"${!o}"
		expect $rt "not-executable=126" grep -qx 'not-executable=126' <<<"${!o}"
	done
	same
}

@test "docker: run -d, exec, logs, stop, rm" {
	s() {
		local id
		id=$(dkd busybox sh -c \
			'echo started; trap "echo got-term; exit 3" TERM; while :; do sleep 0.1; done') || return 10
		for _ in $(seq 50); do
			dk logs "$id" 2>/dev/null | grep -q started && break
			sleep 0.1
		done
		echo "status: $(dk inspect -f '{{.State.Status}}' "$id")"
		dk exec "$id" sh -c 'echo exec-out; cat /proc/1/cmdline | tr "\0" " "; echo' || echo "exec failed: $?"
		dk exec "$id" sh -c 'exit 5'
		echo "exec exit: $?"
		dk exec "$id" /no/such-binary >/dev/null 2>&1
		echo "exec missing: $?"
		dk stop -t 10 "$id" >/dev/null || echo "stop failed"
		echo "after stop: $(dk inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id")"
		dk logs "$id"
		dk rm "$id" >/dev/null || echo "rm failed"
		dk ps -aq --no-trunc | grep -c "$id"
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "status: running" grep -qx 'status: running' <<<"${!o}"
		expect $rt "exec output" grep -qx 'exec-out' <<<"${!o}"
		expect $rt "exec exit 5" grep -qx 'exec exit: 5' <<<"${!o}"
		expect $rt "exec of a missing binary: 126 or 127" grep -qE '^exec missing: 12[67]$' <<<"${!o}"
		expect $rt "TERM trapped, exit 3" grep -qx 'after stop: exited 3' <<<"${!o}"
		expect $rt "logs" grep -qx 'got-term' <<<"${!o}"
		expect $rt "removed" [ "$(tail -n1 <<<"${!o}")" = 0 ]
	done
	same
}

@test "docker: stop of a process that ignores TERM: KILL after -t 1, 137" {
	s() {
		local id
		id=$(dkd busybox sh -c 'trap "" TERM; echo ready; while :; do sleep 0.1; done') ||
			return 10
		for _ in $(seq 50); do
			dk logs "$id" 2>/dev/null | grep -q ready && break
			sleep 0.1
		done
		dk stop -t 1 "$id" >/dev/null || echo "stop failed"
		echo "after stop: $(dk inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id")"
		dk rm "$id" >/dev/null
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "killed: exited 137" grep -qx 'after stop: exited 137' <<<"${!o}"
	done
	same
}

@test "docker: run -it through a pty (script)" {
	command -v script >/dev/null || skip "no script(1)"
	s() {
		# script gives docker a pty as its stdin/stdout, as a terminal would
		timeout 60 script -qec "$(printf '%q ' env DOCKER_HOST="unix://$DK_DIR/docker.sock" \
			DOCKER_CONFIG="$DK_DIR/cfg" "$DOCKER" run -it --rm --runtime "$(dk_runtime)" busybox \
			sh -c 'tty; [ -t 0 ] && echo stdin-tty; stty size; exit 4')" /dev/null </dev/null 3>&- |
			tr -d '\r\0' | sed 's/\^@//g; /^$/d; s|^/dev/pts/[0-9]*$|/dev/pts/N|'
		return "${PIPESTATUS[0]}"
	}
	both s
	for rt in husk runc; do
		o=${rt}_out r=${rt}_rc
		expect $rt "a pts" grep -q '^/dev/pts/' <<<"${!o}"
		expect $rt "stdin a tty" grep -q 'stdin-tty' <<<"${!o}"
		expect $rt "status 4" [ "${!r}" = 4 ]
	done
	same
}

@test "docker: exec -it through a pty (script)" {
	command -v script >/dev/null || skip "no script(1)"
	s() {
		local id
		id=$(dkd busybox sleep 30) || return 10
		timeout 60 script -qec "$(printf '%q ' env DOCKER_HOST="unix://$DK_DIR/docker.sock" \
			DOCKER_CONFIG="$DK_DIR/cfg" "$DOCKER" exec -it "$id" \
			sh -c 'tty; [ -t 0 ] && echo stdin-tty; exit 6')" /dev/null </dev/null 3>&- |
			tr -d '\r\0' | sed 's/\^@//g; /^$/d; s|^/dev/pts/[0-9]*$|/dev/pts/N|'
		echo "status=${PIPESTATUS[0]}"
		dk rm -f "$id" >/dev/null
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "a pts" grep -q '^/dev/pts/' <<<"${!o}"
		expect $rt "stdin a tty" grep -q 'stdin-tty' <<<"${!o}"
		expect $rt "status 6" grep -qx 'status=6' <<<"${!o}"
	done
	same
}

@test "docker: --memory 64m, --pids-limit 50, --cpus 0.5 in the container's cgroup" {
	s() {
		local id
		id=$(dkd --memory 64m --pids-limit 50 --cpus 0.5 busybox sleep 30) || return 10
		echo "inside: $(dk exec "$id" cat /sys/fs/cgroup/memory/memory.limit_in_bytes \
			/sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us \
			/sys/fs/cgroup/cpu/cpu.cfs_period_us | tr '\n' ' ')"
		echo "host: $(cat "$(ctr_cgroup memory "$id")/memory.limit_in_bytes" \
			"$(ctr_cgroup pids "$id")/pids.max" "$(ctr_cgroup cpu "$id")/cpu.cfs_quota_us" \
			"$(ctr_cgroup cpu "$id")/cpu.cfs_period_us" | tr '\n' ' ')"
		echo "inspect: $(dk inspect -f '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}}' "$id")"
		dk rm -f "$id" >/dev/null
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "limits inside" grep -qx 'inside: 67108864 50 50000 100000 ' <<<"${!o}"
		expect $rt "limits on the host" grep -qx 'host: 67108864 50 50000 100000 ' <<<"${!o}"
	done
	same
}

@test "docker: --pids-limit 10 stops a fork loop; --memory 16m OOM-kills (137, OOMKilled)" {
	s() {
		# (the subshell forks until the limit refuses and exits: sh and
		# the sleeps are left, 9; `read` forks nothing)
		dk run --rm --pids-limit 10 busybox sh -c \
			'(for i in $(seq 30); do sleep 5 & done) 2>/dev/null; read n </sys/fs/cgroup/pids/pids.current; echo "pids.current $n"'
		local id
		id=$(dkd --memory 16m --memory-swap 16m busybox sh -c 'x=a; while :; do x=$x$x; done') ||
			return 10
		dk wait "$id"
		echo "oom: $(dk inspect -f '{{.State.ExitCode}} {{.State.OOMKilled}}' "$id")"
		dk rm "$id" >/dev/null
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "no more than 10 pids" grep -qx 'pids.current 9' <<<"${!o}"
		expect $rt "OOM killed" grep -qx 'oom: 137 true' <<<"${!o}"
	done
	same
}

@test "docker: pause, unpause" {
	s() {
		local id fz
		id=$(dkd busybox sh -c 'while :; do date +%s%N >/tmp/t; sleep 0.05; done') || return 10
		fz=$(ctr_cgroup freezer "$id")
		dk pause "$id" >/dev/null || echo "pause failed"
		echo "paused: $(dk inspect -f '{{.State.Status}}' "$id") $(cat "$fz/freezer.state")"
		dk exec "$id" true 2>&1 | sed 's/[0-9a-f]\{64\}/ID/'
		dk unpause "$id" >/dev/null || echo "unpause failed"
		echo "unpaused: $(dk inspect -f '{{.State.Status}}' "$id") $(cat "$fz/freezer.state")"
		dk exec "$id" true && echo "exec ok"
		dk rm -f "$id" >/dev/null
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "paused FROZEN" grep -qx 'paused: paused FROZEN' <<<"${!o}"
		expect $rt "exec refused while paused" grep -q 'is paused' <<<"${!o}"
		expect $rt "running THAWED" grep -qx 'unpaused: running THAWED' <<<"${!o}"
		expect $rt "exec after unpause" grep -qx 'exec ok' <<<"${!o}"
	done
	same
}

@test "docker: top, stats --no-stream" {
	s() {
		local id
		id=$(dkd busybox sleep 30) || return 10
		dk top "$id" -o pid,user,args | awk 'NR > 1 {$1 = ""; print substr($0, 2)}'
		echo "stats pids: $(dk stats --no-stream --format '{{.PIDs}}' "$id" || echo "stats failed")"
		dk stats --no-stream --format '{{.MemUsage}}' "$id" | grep -q 'B / ' && echo "mem ok"
		dk rm -f "$id" >/dev/null
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "top: sleep 30" grep -qx "root sleep 30" <<<"${!o}"
		expect $rt "stats: 1 pid" grep -qx 'stats pids: 1' <<<"${!o}"
		expect $rt "stats mem" grep -qx 'mem ok' <<<"${!o}"
	done
	same
}

@test "docker: kill (default KILL, -s USR1 trapped)" {
	s() {
		local id
		id=$(dkd busybox sh -c \
			'trap "echo got-usr1" USR1; echo ready; while :; do sleep 0.1; done') || return 10
		for _ in $(seq 50); do
			dk logs "$id" 2>/dev/null | grep -q ready && break
			sleep 0.1
		done
		dk kill -s USR1 "$id" >/dev/null || echo "kill USR1 failed"
		for _ in $(seq 50); do
			dk logs "$id" 2>/dev/null | grep -q got-usr1 && break
			sleep 0.1
		done
		dk kill "$id" >/dev/null || echo "kill failed"
		dk wait "$id"
		dk logs "$id"
		dk rm -f "$id" >/dev/null
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "USR1 trapped" grep -qx 'got-usr1' <<<"${!o}"
		expect $rt "wait: 137" grep -qx '137' <<<"${!o}"
	done
	same
}

@test "docker: 5 x run --rm leaves nothing behind" {
	s() {
		local i id ids left=""
		for i in $(seq 5); do
			dk run --rm busybox echo "$i" >/dev/null 2>&1 || echo "run $i failed"
		done
		ids=$(awk -v rt="[$RT]" '$1 == rt && $NF ~ /^[0-9a-f]{64}$/ && / create / {print $NF}' \
			"$DK_DIR/calls.log" | sort -u)
		echo "containers: $(dk ps -aq | wc -l)"
		echo "state dirs: $(find "$DK_DIR/exec/runtime-runc/moby" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
		for id in $ids; do
			left+=$(find /sys/fs/cgroup -maxdepth 4 -type d -name "$id" 2>/dev/null)
			left+=$(grep -F "$id" /proc/self/mountinfo)
		done
		echo "cgroups and mounts left: ${left:-none}"
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "every run ok" bash -c "! grep -q failed <<<\"\$1\"" _ "${!o}"
		expect $rt "no containers" grep -qx 'containers: 0' <<<"${!o}"
		expect $rt "no runtime state" grep -qx 'state dirs: 0' <<<"${!o}"
		expect $rt "no cgroups/mounts" grep -qx 'cgroups and mounts left: none' <<<"${!o}"
	done
	same
}
