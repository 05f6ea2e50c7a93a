#!/usr/bin/env bats
# Podman drives husk-oci (`podman --runtime <husk-oci>`), and every scenario
# runs again with runc so that a difference in behaviour shows in the output.
#
# Podman here: a private CONTAINERS_CONF (cgroupfs, file events, netns
# "none", ulimits this host allows), --root/--runroot and storage in a temp
# dir, and a busybox image imported from the test rootfs template. The
# runtime is a logging wrapper: it appends the argv Podman (through conmon)
# passed and the exit status to $PM_DIR/calls.log, and adds `--root` so that
# the runtime's state stays in the test's temp dir (Podman passes no --root
# when run as root; husk would use /run/husk, runc /run/runc).

load helpers
load clients-helpers
load netns
load criu

RUNC_BIN=${RUNC_BIN:-/usr/sbin/runc}
PM_T=${PM_T:-60} # seconds any one podman command may take

setup_file() {
	command -v podman >/dev/null || return 0
	find_criu
	podman_cgroups_note
	export PM_DIR
	PM_DIR=$(mktemp -d /tmp/husk-podman.XXXXXX)
	# a Podman run that fails may leave a named netns (netns.bash)
	NETNS_BEFORE=$(ls /run/netns 2>/dev/null || true)
	mkdir -p "$PM_DIR/tmp"
	cat >"$PM_DIR/containers.conf" <<-EOF
		[containers]
		netns = "none"
		default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
		[engine]
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		tmp_dir = "$PM_DIR/tmp"
	EOF
	cat >"$PM_DIR/storage.conf" <<-EOF
		[storage]
		driver = "overlay"
		graphroot = "$PM_DIR/root"
		runroot = "$PM_DIR/runroot"
	EOF
	local name bin
	for name in husk runc; do
		[ $name = husk ] && bin=$HUSK_OCI || bin=$RUNC_BIN
		cat >"$PM_DIR/rt-$name" <<-EOF
			#!/bin/sh
			echo "[$name] \$*" >>"$PM_DIR/calls.log"
			"$bin" --root "$PM_DIR/state-$name" "\$@"
			rc=\$?
			echo "[$name] exit \$rc: \$1 \$2" >>"$PM_DIR/calls.log"
			exit \$rc
		EOF
		chmod +x "$PM_DIR/rt-$name"
	done
	tar -C "$(rootfs_template)" -cf "$PM_DIR/busybox.tar" .
	pm_env timeout "$PM_T" podman --root "$PM_DIR/root" --runroot "$PM_DIR/runroot" \
		import "$PM_DIR/busybox.tar" localhost/busybox:latest >/dev/null 3>&-
}

teardown_file() {
	[ -n "${PM_DIR:-}" ] && [ -d "$PM_DIR" ] || return 0
	local name
	for name in husk runc; do
		pm_rt "$name" rm -af -t 0 >/dev/null 2>&1 || true
	done
	pm_env timeout "$PM_T" podman --root "$PM_DIR/root" --runroot "$PM_DIR/runroot" \
		rmi -af >/dev/null 2>&1 3>&- || true
	grep -F "$PM_DIR" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$PM_DIR"
	remove_dead_netns "$NETNS_BEFORE"
	podman_cgroups_cleanup
}

setup() {
	command -v podman >/dev/null || skip "podman is not installed (scripts/setup.sh installs it)"
	[ -x "$HUSK_OCI" ] || skip "no husk-oci at $HUSK_OCI"
	NAMES=()
}

teardown() {
	local name
	for name in husk runc; do
		pm_rt "$name" rm -af -t 0 >/dev/null 2>&1 || true
	done
}

pm_env() {
	CONTAINERS_CONF="$PM_DIR/containers.conf" CONTAINERS_STORAGE_CONF="$PM_DIR/storage.conf" "$@"
}

# pm_rt husk|runc PODMAN-ARGS...: podman with that runtime, time-bounded,
# without bats' fd 3 (conmon would keep it open and bats would wait).
pm_rt() {
	local name=$1
	shift
	pm_env timeout "$PM_T" podman --root "$PM_DIR/root" --runroot "$PM_DIR/runroot" \
		--runtime "$PM_DIR/rt-$name" "$@" 3>&-
}

# Within a scenario function: $RT is husk or runc.
pm() { pm_rt "$RT" "$@"; }


# the host cgroup dir of a podman container (cgroupfs manager, v1)
ctr_cgroup() {
	local ctl=$1 id=$2
	echo "/sys/fs/cgroup/$ctl/libpod_parent/libpod-$id"
}

@test "podman: run --rm busybox echo hi" {
	s() { pm run --rm busybox echo hi; }
	both s
	for rt in husk runc; do
		o=${rt}_out r=${rt}_rc
		expect $rt "status 0, output hi" [ "${!r}" = 0 -a "${!o}" = hi ]
	done
}

@test "podman: exit codes pass through (7, 255, 127 for a missing command)" {
	# (a signal's 128+N: see the kill test; pid 1 cannot SIGKILL itself)
	s() {
		pm run --rm busybox sh -c 'exit 7'
		echo "exit7=$?"
		pm run --rm busybox sh -c 'exit 255'
		echo "exit255=$?"
		pm run --rm busybox sh -c 'no-such-command'
		echo "missing=$?"
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "exit7=7" grep -qx 'exit7=7' <<<"${!o}"
		expect $rt "exit255=255" grep -qx 'exit255=255' <<<"${!o}"
		expect $rt "missing=127" grep -qx 'missing=127' <<<"${!o}"
	done
}

@test "podman: run -d, exec, logs, stop, rm" {
	s() {
		local id
		id=$(pm run -d busybox sh -c \
			'echo started; trap "echo got-term; exit 3" TERM; while :; do sleep 0.1; done') || return 10
		for _ in $(seq 50); do
			pm logs "$id" 2>/dev/null | grep -q started && break
			sleep 0.1
		done
		echo "status: $(pm inspect -f '{{.State.Status}}' "$id")"
		pm exec "$id" sh -c 'echo exec-out; cat /proc/1/cmdline | tr "\0" " "; echo' || echo "exec failed: $?"
		pm exec "$id" sh -c 'exit 5'
		echo "exec exit: $?"
		pm stop -t 10 "$id" >/dev/null || echo "stop failed"
		echo "after stop: $(pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id")"
		pm logs "$id"
		pm rm "$id" >/dev/null || echo "rm failed"
		pm ps -aq --no-trunc | grep -c "$id"
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "running, then exec output" grep -q 'exec-out' <<<"${!o}"
		expect $rt "status: running" grep -qx 'status: running' <<<"${!o}"
		expect $rt "exec exit 5" grep -qx 'exec exit: 5' <<<"${!o}"
		expect $rt "TERM trapped, exit 3" grep -qx 'after stop: exited 3' <<<"${!o}"
		expect $rt "logs" grep -qx 'got-term' <<<"${!o}"
		expect $rt "removed" [ "$(tail -n1 <<<"${!o}")" = 0 ]
	done
}

@test "podman: run -it through a pty (script)" {
	command -v script >/dev/null || skip "no script(1)"
	s() {
		# script gives podman a pty as its stdin/stdout, as a terminal would
		timeout 60 script -qec "$(printf '%q ' env CONTAINERS_CONF="$PM_DIR/containers.conf" \
			CONTAINERS_STORAGE_CONF="$PM_DIR/storage.conf" podman --root "$PM_DIR/root" \
			--runroot "$PM_DIR/runroot" --runtime "$PM_DIR/rt-$RT" run -it --rm busybox \
			sh -c 'tty; [ -t 0 ] && echo stdin-tty; sleep 0.3; exit 4')" /dev/null </dev/null 3>&- |
			tr -d '\r\0' | sed 's/\^@//g; /^$/d'
		return "${PIPESTATUS[0]}"
	}
	both s
	# asserted for husk-oci; runc's run is there for comparison (its pty
	# output has been seen lost when the process exits at once: conmon)
	for rt in husk; do
		o=${rt}_out r=${rt}_rc
		expect $rt "a pts" grep -q '^/dev/pts/' <<<"${!o}"
		expect $rt "stdin a tty" grep -q 'stdin-tty' <<<"${!o}"
		expect $rt "status 4" [ "${!r}" = 4 ]
	done
}

@test "podman: --memory 64m, --pids-limit 50, --cpus 0.5 in the container's cgroup" {
	s() {
		local id c
		id=$(pm run -d --memory 64m --pids-limit 50 --cpus 0.5 busybox sleep 30) || return 10
		echo "inside: $(pm exec "$id" cat /sys/fs/cgroup/memory/memory.limit_in_bytes \
			/sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us \
			/sys/fs/cgroup/cpu/cpu.cfs_period_us | tr '\n' ' ')"
		echo "host: $(cat "$(ctr_cgroup memory "$id")/memory.limit_in_bytes" \
			"$(ctr_cgroup pids "$id")/pids.max" "$(ctr_cgroup cpu "$id")/cpu.cfs_quota_us" \
			"$(ctr_cgroup cpu "$id")/cpu.cfs_period_us" | tr '\n' ' ')"
		pm rm -f -t 0 "$id" >/dev/null
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "limits inside" grep -qx 'inside: 67108864 50 50000 100000 ' <<<"${!o}"
		expect $rt "limits on the host" grep -qx 'host: 67108864 50 50000 100000 ' <<<"${!o}"
	done
}

@test "podman: --network none: only lo" {
	s() { pm run --rm --network none busybox sh -c 'ls /sys/class/net; ip -o link | wc -l'; }
	both s
	for rt in husk runc; do
		o=${rt}_out r=${rt}_rc
		expect $rt "lo only" [ "${!r}" = 0 -a "${!o}" = "$(printf 'lo\n1')" ]
	done
}

@test "podman: -p with busybox httpd answering on loopback (slirp4netns)" {
	# slirp4netns: a user-space network whose port forwarder listens on the
	# host's loopback; nothing touches the host's nftables or iptables
	command -v slirp4netns >/dev/null || skip "slirp4netns is not installed"
	s() {
		local port=$1 id body
		id=$(pm run -d --network slirp4netns:port_handler=slirp4netns -p "127.0.0.1:$port:80" \
			busybox sh -c 'mkdir -p /www && echo "hello from $(hostname)" >/www/index.html && httpd -f -p 80 -h /www') ||
			return 10
		for _ in $(seq 50); do
			body=$(curl -s --max-time 2 "http://127.0.0.1:$port/") && [ -n "$body" ] && break
			sleep 0.1
		done
		echo "got: ${body%% *} ${body#hello from }"
		pm rm -f -t 0 "$id" >/dev/null
	}
	RT=husk husk_out=$(RT=husk s 18080 2>&1) || true
	runc_out=$(RT=runc s 18081 2>&1) || true
	echo "# husk: $husk_out"
	echo "# runc: $runc_out"
	[[ "$husk_out" == "got: hello "* ]]
	[[ "$runc_out" == "got: hello "* ]]
}

@test "podman: pause, unpause" {
	s() {
		local id
		id=$(pm run -d busybox sh -c 'while :; do date +%s%N >/tmp/t; sleep 0.05; done') || return 10
		pm pause "$id" >/dev/null || echo "pause failed"
		echo "paused: $(pm inspect -f '{{.State.Status}}' "$id") $(cat "$(ctr_cgroup freezer "$id")/freezer.state")"
		pm unpause "$id" >/dev/null || echo "unpause failed"
		echo "unpaused: $(pm inspect -f '{{.State.Status}}' "$id") $(cat "$(ctr_cgroup freezer "$id")/freezer.state")"
		pm exec "$id" true && echo "exec ok"
		pm rm -f -t 0 "$id" >/dev/null
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "paused FROZEN" grep -qx 'paused: paused FROZEN' <<<"${!o}"
		expect $rt "running THAWED" grep -qx 'unpaused: running THAWED' <<<"${!o}"
		expect $rt "exec after unpause" grep -qx 'exec ok' <<<"${!o}"
	done
}

@test "podman: top, stats --no-stream" {
	s() {
		local id
		id=$(pm run -d busybox sleep 30) || return 10
		pm top "$id" user pid args | sed 's/  */ /g; s/ $//'
		echo "stats pids: $(pm stats --no-stream --format '{{.PIDs}}' "$id" || echo "stats failed")"
		pm stats --no-stream --format json "$id" | jq -r '.[0].mem_usage' | grep -q 'B' && echo "mem ok"
		pm rm -f -t 0 "$id" >/dev/null
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "top: sleep 30 as pid 1" grep -qx 'root 1 sleep 30' <<<"${!o}"
		expect $rt "stats: 1 pid" grep -qx 'stats pids: 1' <<<"${!o}"
		expect $rt "stats mem" grep -qx 'mem ok' <<<"${!o}"
	done
}

@test "podman: kill (default KILL, -s USR1 trapped)" {
	s() {
		local id
		id=$(pm run -d busybox sh -c \
			'trap "echo got-usr1" USR1; echo ready; while :; do sleep 0.1; done') || return 10
		for _ in $(seq 50); do
			pm logs "$id" 2>/dev/null | grep -q ready && break
			sleep 0.1
		done
		pm kill -s USR1 "$id" >/dev/null || echo "kill USR1 failed"
		sleep 0.5
		pm kill "$id" >/dev/null || echo "kill failed"
		pm wait "$id"
		pm logs "$id"
		pm rm -f -t 0 "$id" >/dev/null
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "USR1 trapped" grep -qx 'got-usr1' <<<"${!o}"
		expect $rt "wait: 137" grep -qx '137' <<<"${!o}"
	done
}

@test "podman: user namespace (--uidmap 0:100000:65536)" {
	s() {
		pm run --rm --uidmap 0:100000:65536 --gidmap 0:100000:65536 busybox \
			sh -c 'cat /proc/self/uid_map; id -u; stat -c %u /bin/busybox'
	}
	both s
	for rt in husk runc; do
		o=${rt}_out r=${rt}_rc
		expect $rt "mapped root" [ "${!r}" = 0 ]
		expect $rt "uid_map 0 100000 65536" grep -qE '^ *0 +100000 +65536$' <<<"${!o}"
	done
}

@test "podman: 10 x run --rm leaves nothing behind" {
	s() {
		local i ids=() id left=""
		for i in $(seq 10); do
			id=$(pm run --rm --name "loop-$RT-$i" busybox echo "$i" 2>&1) || echo "run $i failed"
		done
		# the ids the runtime saw, from the call log
		ids=$(awk -v rt="[$RT]" '$1 == rt && $2 == "create" {print $NF}' "$PM_DIR/calls.log" | sort -u)
		echo "containers: $(pm ps -aq | wc -l)"
		echo "state dirs: $(find "$PM_DIR/state-$RT" -mindepth 1 -maxdepth 1 -not -name '.*' 2>/dev/null | wc -l)"
		echo "runroot userdata: $(find "$PM_DIR/runroot/overlay-containers" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
		for id in $ids; do
			left+=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "libpod-$id" 2>/dev/null)
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
		expect $rt "no userdata" grep -qx 'runroot userdata: 0' <<<"${!o}"
		expect $rt "no cgroups/mounts" grep -qx 'cgroups and mounts left: none' <<<"${!o}"
	done
}

@test "podman: container checkpoint, restore, --leave-running --export, restore --import --name" {
	need_criu
	s() {
		# Podman and the runtime both run criu from PATH
		export PATH="${CRIU_BIN%/*}:$PATH"
		local id last at i
		last() { pm logs "$1" 2>/dev/null | tail -n1; }
		# wait_last NAME N: until NAME's last line of output passed N (5 s)
		wait_last() {
			for i in $(seq 50); do
				[ "$(last "$1")" -gt "$2" ] 2>/dev/null && return 0
				sleep 0.1
			done
			return 1
		}
		id=$(pm run -d busybox sh -c 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done') || return 10
		wait_last "$id" 3 || echo "no output"
		pm container checkpoint "$id" >/dev/null || echo "checkpoint failed"
		echo "after checkpoint: $(pm inspect -f '{{.State.Status}}' "$id")"
		at=$(last "$id")
		pm container restore "$id" >/dev/null || echo "restore failed"
		echo "after restore: $(pm inspect -f '{{.State.Status}}' "$id")"
		# the output goes on, on conmon's new pipes, from the same count
		wait_last "$id" $((at + 3)) && echo "counts on" || echo "stuck at $(last "$id")"
		echo "started once: $(pm logs "$id" | grep -cx 1)"
		pm container checkpoint --leave-running --export "$PM_DIR/ck-$RT.tar.gz" "$id" >/dev/null ||
			echo "export failed"
		echo "after export: $(pm inspect -f '{{.State.Status}}' "$id")"
		at=$(last "$id")
		# a new container from the export: a new id, cgroup and rootfs
		pm container restore --import "$PM_DIR/ck-$RT.tar.gz" --name "copy-$RT" >/dev/null ||
			echo "import failed"
		echo "copy: $(pm inspect -f '{{.State.Status}}' "copy-$RT")"
		wait_last "copy-$RT" "$at" && echo "copy counts on" || echo "copy stuck at $(last "copy-$RT")"
		pm rm -f -t 0 "$id" "copy-$RT" >/dev/null
		rm -f "$PM_DIR/ck-$RT.tar.gz"
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "checkpoint: exited" grep -qx 'after checkpoint: exited' <<<"${!o}"
		expect $rt "restore: running" grep -qx 'after restore: running' <<<"${!o}"
		expect $rt "the count goes on" grep -qx 'counts on' <<<"${!o}"
		expect $rt "not restarted" grep -qx 'started once: 1' <<<"${!o}"
		expect $rt "--leave-running: running" grep -qx 'after export: running' <<<"${!o}"
		expect $rt "the copy runs" grep -qx 'copy: running' <<<"${!o}"
		expect $rt "the copy counts on" grep -qx 'copy counts on' <<<"${!o}"
	done
	same
}
