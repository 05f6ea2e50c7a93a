#!/usr/bin/env bats
# husk run/create: Docker's everyday flags, each checked the way a user
# would check it from inside the container (or in inspect).

load helpers

bats_require_minimum_version 1.5.0

setup() {
	engine_setup
}

teardown() {
	engine_teardown
}

# CapEff of the container's process, as hex
capeff() {
	"$HUSK" run --rm "$@" busybox sh -c 'grep CapEff /proc/self/status' | awk '{print $2}'
}

@test "run --entrypoint replaces the image's and its command; \"\" clears it" {
	run "$HUSK" run --rm --entrypoint /bin/echo busybox hello there
	[ "$status" -eq 0 ]
	[ "$output" = "hello there" ]
	run "$HUSK" run --rm --entrypoint "" busybox echo plain
	[ "$output" = plain ]
	id=$("$HUSK" create --entrypoint /bin/echo busybox x)
	run "$HUSK" inspect -f '{{json .Config.Entrypoint}}' "$id"
	[ "$output" = '["/bin/echo"]' ]
}

@test "run --env-file: NAME=VALUE lines, NAME alone from here, comments; -e wins" {
	printf '# a comment\n\nA=1\n  B=two words\nFROM_HERE\nNOT_SET_HERE\n' >"$TEST_DIR/env"
	FROM_HERE=outside run "$HUSK" run --rm --env-file "$TEST_DIR/env" -e A=3 busybox \
		sh -c 'echo "$A|$B|$FROM_HERE|${NOT_SET_HERE-unset}"'
	[ "$status" -eq 0 ]
	[ "$output" = "3|two words|outside|unset" ]
	printf 'BAD NAME=1\n' >"$TEST_DIR/bad"
	run "$HUSK" run --rm --env-file "$TEST_DIR/bad" busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *--env-file*"BAD NAME"* ]]
}

@test "run -l and --label-file: labels in inspect's Config.Labels" {
	printf '# labels\ntier=web\nflag\n' >"$TEST_DIR/labels"
	id=$("$HUSK" create -l app=shop --label team=a --label-file "$TEST_DIR/labels" busybox true)
	run "$HUSK" inspect -f '{{json .Config.Labels}}' "$id"
	[ "$output" = '{"app":"shop","flag":"","team":"a","tier":"web"}' ]
}

@test "run --cap-add/--cap-drop: names with or without CAP_, any case, ALL" {
	[ "$(capeff)" = 00000000a80425fb ] # Docker's default set
	# + NET_ADMIN (bit 12), - CHOWN (bit 0)
	[ "$(capeff --cap-add net_admin --cap-drop CAP_CHOWN)" = 00000000a80435fa ]
	[ "$(capeff --cap-drop ALL --cap-add Chown)" = 0000000000000001 ]
	[ "$(capeff --cap-drop all)" = 0000000000000000 ]
	# ALL: every capability the engine holds, SYS_ADMIN (bit 21) among them
	eff=$(capeff --cap-add ALL)
	(((0x$eff >> 21) & 1))
	run "$HUSK" run --rm --cap-add CAP_NOPE busybox true
	[ "$status" -eq 125 ]
	[ "$output" = 'husk: --cap-add: unknown capability "CAP_NOPE"' ]
	id=$("$HUSK" create --cap-add net_admin busybox true)
	run "$HUSK" inspect -f '{{json .HostConfig.CapAdd}} {{json .HostConfig.CapDrop}}' "$id"
	[ "$output" = '["net_admin"] null' ]
}

@test "run --privileged: every capability, host devices, nothing masked, /sys writable" {
	run "$HUSK" run --rm --privileged busybox sh -c '
		grep CapEff /proc/self/status | awk "{print \$2}"
		test -c /dev/loop-control && echo device
		wc -c </proc/timer_list
		grep " /sys sysfs " /proc/self/mounts | grep -q "[ ,]rw[ ,]" && echo sys-rw'
	[ "$status" -eq 0 ]
	(((0x${lines[0]} >> 21) & 1)) # SYS_ADMIN
	[ "${lines[1]}" = device ]
	[ "${lines[2]}" -gt 0 ] # masked paths read as empty
	[ "${lines[3]}" = sys-rw ]
	# without it: none of that
	run "$HUSK" run --rm busybox sh -c 'test -e /dev/loop-control || echo no-device; wc -c </proc/timer_list'
	[ "${lines[0]}" = no-device ]
	[ "${lines[1]}" = 0 ]
}

@test "run --security-opt: no-new-privileges, seccomp=FILE|unconfined, mask, unmask" {
	run "$HUSK" run --rm --security-opt no-new-privileges busybox grep NoNewPrivs /proc/self/status
	[[ "$output" == *"NoNewPrivs:"*1 ]]
	run "$HUSK" run --rm busybox grep NoNewPrivs /proc/self/status
	[[ "$output" == *"NoNewPrivs:"*0 ]]
	# a profile in Docker's format: archMap, includes by capability
	cat >"$TEST_DIR/seccomp.json" <<-'J'
	{"defaultAction": "SCMP_ACT_ALLOW",
	 "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
	 "syscalls": [
	   {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
	   {"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}
	J
	run "$HUSK" run --rm --security-opt seccomp="$TEST_DIR/seccomp.json" busybox \
		sh -c 'mkdir /x 2>&1; chmod 600 /etc/passwd && echo chmod-allowed'
	[[ "${lines[0]}" == *"Operation not permitted"* ]]
	[ "${lines[1]}" = chmod-allowed ]
	run "$HUSK" run --rm --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
		--security-opt label=disable busybox mkdir /x
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm --security-opt unmask=/proc/timer_list --security-opt mask=/etc/hostname \
		busybox sh -c 'wc -c </proc/timer_list; wc -c </etc/hostname'
	[ "${lines[0]}" -gt 0 ]
	[ "${lines[1]}" = 0 ]
	echo '{nope' >"$TEST_DIR/bad.json"
	run "$HUSK" run --rm --security-opt seccomp="$TEST_DIR/bad.json" busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *seccomp* ]]
	run "$HUSK" run --rm --security-opt bogus=1 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'--security-opt "bogus=1"'* ]]
}

@test "run --device: the node is made and the cgroup allows what was asked" {
	[ -c /dev/loop-control ] || skip "no /dev/loop-control"
	run "$HUSK" run --rm --device /dev/loop-control:/dev/lc:r busybox sh -c '
		ls -l /dev/lc | cut -c1; exec 3</dev/lc && echo read-ok; (exec 4>/dev/lc) 2>/dev/null || echo write-refused'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = c ]
	[ "${lines[1]}" = read-ok ]
	[ "${lines[2]}" = write-refused ]
	run "$HUSK" run --rm --device /dev/loop-control busybox sh -c 'exec 4>/dev/loop-control && echo write-ok'
	[ "$output" = write-ok ]
	run "$HUSK" run --rm --device /dev/no-such-thing busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'--device "/dev/no-such-thing"'* ]]
}

@test "run --ulimit: soft and hard limits, Docker's names" {
	run "$HUSK" run --rm --ulimit nofile=100:200 --ulimit core=0 --ulimit nproc=500 busybox \
		sh -c 'echo $(ulimit -n) $(ulimit -Hn) $(ulimit -c) $(ulimit -u)'
	[ "$status" -eq 0 ]
	[ "$output" = "100 200 0 500" ]
	# -1: unlimited, as Docker's memlock=-1:-1
	run "$HUSK" run --rm --ulimit core=-1 busybox sh -c 'echo $(ulimit -c) $(ulimit -Hc)'
	[ "$status" -eq 0 ]
	[ "$output" = "unlimited unlimited" ]
	run "$HUSK" run --rm --ulimit nofile=300:200 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'--ulimit "nofile=300:200"'* ]]
	run "$HUSK" run --rm --ulimit bogus=1 busybox true
	[ "$status" -eq 125 ]
}

@test "run --sysctl: namespaced ones are set, others refused as Docker does" {
	run "$HUSK" run --rm --sysctl net.ipv4.ip_forward=1 --sysctl kernel.shmmax=1234567 busybox \
		cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" = 1234567 ]
	run "$HUSK" run --rm --sysctl kernel.hostname=x busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'--sysctl "kernel.hostname=x"'* ]]
	run "$HUSK" run --rm --network host --sysctl net.ipv4.ip_forward=1 busybox true
	[ "$status" -eq 125 ]
}

@test "run --group-add: gids and names from the image's /etc/group" {
	run "$HUSK" run --rm --group-add 44 --group-add www-data busybox id -G
	[ "$status" -eq 0 ]
	[ "$output" = "0 10 33 44" ]
	run "$HUSK" run --rm --group-add nosuch busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'--group-add "nosuch"'* ]]
}

@test "run --shm-size and --oom-score-adj" {
	run "$HUSK" run --rm --shm-size 10m --oom-score-adj 500 busybox \
		sh -c 'df -k /dev/shm | awk "NR==2 {print \$2}"; cat /proc/self/oom_score_adj'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 10240 ]
	[ "${lines[1]}" = 500 ]
	run "$HUSK" run --rm --oom-score-adj 5000 busybox true
	[ "$status" -eq 125 ]
}

# the state of the container's "sleep 0.3" (a zombie shows as "[sleep]")
orphan_state() {
	"$HUSK" exec "$1" ps -o stat,args | awk '($2 == "sleep" && $3 == "0.3") || $2 == "[sleep]" {print substr($1, 1, 1)}'
}

@test "run --init: tini is pid 1, reaps orphans and passes stop's signal on" {
	[ -x /usr/bin/tini-static ] || [ -x /usr/bin/catatonit ] || skip "no tini-static (apt-get install tini)"
	run "$HUSK" run --rm --init busybox sh -c 'tr "\0" " " </proc/1/cmdline'
	[[ "$output" == "/sbin/docker-init -- sh -c "* ]]
	# an orphan that exits: with --init it is reaped, without it a zombie stays
	for init in --init ""; do
		id=$("$HUSK" run -d $init busybox sh -c '(sleep 0.3 &); exec sleep 100')
		for _ in $(seq 100); do
			s=$(orphan_state "$id")
			[ "$s" = S ] || break
			sleep 0.05
		done
		if [ -n "$init" ]; then [ -z "$s" ]; else [ "$s" = Z ]; fi
		"$HUSK" rm -f "$id"
	done
	# sleep as pid 1 ignores SIGTERM (10 s then SIGKILL); under tini it gets it
	id=$("$HUSK" run -d --init busybox sleep 100)
	start=$(date +%s%N)
	"$HUSK" stop "$id"
	ms=$((($(date +%s%N) - start) / 1000000))
	echo "stop took $ms ms"
	[ "$ms" -lt 3000 ]
}

@test "run --pid, --ipc, --uts, --cgroupns: the host's or another container's" {
	run "$HUSK" run --rm --pid host busybox test -d /proc/$$
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm busybox test -d /proc/$$
	[ "$status" -ne 0 ]
	"$HUSK" run -d --name first busybox sleep 100
	run "$HUSK" run --rm --pid container:first busybox ps -o args
	[[ "$output" == *"sleep 100"* ]]
	first_ipc=$("$HUSK" exec first readlink /proc/self/ns/ipc)
	[ "$("$HUSK" run --rm --ipc container:first busybox readlink /proc/self/ns/ipc)" = "$first_ipc" ]
	[ "$("$HUSK" run --rm --ipc shareable busybox readlink /proc/self/ns/ipc)" != "$first_ipc" ]
	[ "$("$HUSK" run --rm --ipc host busybox readlink /proc/self/ns/ipc)" = "$(readlink /proc/self/ns/ipc)" ]
	[ "$("$HUSK" run --rm --uts host busybox hostname)" = "$(hostname)" ]
	[ "$("$HUSK" run --rm --cgroupns host busybox readlink /proc/self/ns/cgroup)" = "$(readlink /proc/self/ns/cgroup)" ]
	[ "$("$HUSK" run --rm --cgroupns private busybox readlink /proc/self/ns/cgroup)" != "$(readlink /proc/self/ns/cgroup)" ]
	"$HUSK" stop -t 0 first
	run "$HUSK" run --rm --pid container:first busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"not running"* ]]
	run "$HUSK" run --rm --pid bogus busybox true
	[ "$status" -eq 125 ]
}

@test "run --userns host or \"\": Docker's values, the host's user namespace; modes husk lacks are refused" {
	[ "$("$HUSK" run --rm --userns host busybox readlink /proc/self/ns/user)" = "$(readlink /proc/self/ns/user)" ]
	[ "$("$HUSK" run --rm --userns '' busybox readlink /proc/self/ns/user)" = "$(readlink /proc/self/ns/user)" ]
	id=$("$HUSK" create --userns=host busybox true)
	[ "$("$HUSK" inspect --format '{{.HostConfig.UsernsMode}}' "$id")" = host ]
	"$HUSK" rm "$id" >/dev/null
	for mode in keep-id private auto nomap container:x; do
		run "$HUSK" run --rm --userns "$mode" busybox true
		[ "$status" -eq 125 ]
		[ "$output" = "husk: --userns \"$mode\": expected host or \"\": husk runs containers in the host's user namespace and cannot remap ids" ]
	done
	[ -z "$("$HUSK" ps -aq)" ]
}

# limits NAME: the memory limit, pids max and CPU quota the container's
# cgroup has (v1 or v2), as one line
limits() {
	"$HUSK" exec "$1" sh -c '
		c=/sys/fs/cgroup
		if [ -f $c/memory/memory.limit_in_bytes ]; then
			echo $(cat $c/memory/memory.limit_in_bytes $c/pids/pids.max $c/cpu/cpu.cfs_quota_us)
		else
			echo $(cat $c/memory.max $c/pids.max) $(cut -d" " -f1 $c/cpu.max)
		fi'
}

@test "update: limits and the restart policy changed live, kept for the next start, shown by inspect; a refused value or a failed write changes nothing" {
	"$HUSK" run -d --name u -m 64m busybox sleep 1000 >/dev/null
	run "$HUSK" update -m 128m --pids-limit 50 --cpus 0.5 --restart on-failure:3 u
	[ "$status" -eq 0 ]
	[ "$output" = u ]
	[ "$(limits u)" = "134217728 50 50000" ]
	[ "$("$HUSK" inspect -f '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}' u)" = "134217728 50 500000000 on-failure:3" ]
	# a stopped container: for its next start
	"$HUSK" stop -t 0 u >/dev/null
	"$HUSK" update -m 96m u >/dev/null
	"$HUSK" start u >/dev/null
	[ "$(limits u)" = "100663296 50 50000" ]
	# v1 refuses a limit under what it uses: one line, nothing changed
	# (v2 takes it, reclaims, then OOM-kills, as it does for runc)
	if [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
		run "$HUSK" update -m 4k u
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"memory.limit"*"busy"* ]]
		[ "$(limits u)" = "100663296 50 50000" ]
		[ "$("$HUSK" inspect -f '{{.HostConfig.Memory}}' u)" = 100663296 ]
	fi
	# the files cannot be written (an immutable directory stands for a
	# full disk): the cgroup keeps its value too, nothing is left beside
	id=$("$HUSK" inspect -f '{{.Id}}' u)
	if chattr +i "$HUSK_ROOT/containers/$id" 2>/dev/null; then
		run "$HUSK" update -m 80m u
		chattr -i "$HUSK_ROOT/containers/$id"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *'config.json.update'* ]]
		[ "$(limits u)" = "100663296 50 50000" ]
		[ "$("$HUSK" inspect -f '{{.HostConfig.Memory}}' u)" = 100663296 ]
		[ -z "$(ls "$HUSK_ROOT/containers/$id" | grep '\.update$')" ]
	fi
	# bad input: one line, 125
	for args in "" "--cpus 1 --cpu-quota 50000" "--restart sometimes" "-m lots" "--cpuset-cpus 0"; do
		# shellcheck disable=SC2086
		run "$HUSK" update $args u
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
	done
	run "$HUSK" update -m 64m nosuch
	[ "$status" -eq 125 ]
	[ "$output" = 'husk: no such container: "nosuch"' ]
}

# the host's cgroup dirs named husk-ID in a v1 hierarchy (the engine's
# cgroupsPath, below the caller's cgroup)
cg_dirs() {
	find "/sys/fs/cgroup/$1" -type d -name "husk-$2" 2>/dev/null | wc -l
}

@test "run: a cpuset cgroup only with --cpuset-cpus or --cpuset-mems (a host's first patches the kernel's text: 1.7 ms a run here)" {
	[ -d /sys/fs/cgroup/cpuset ] && [ -d /sys/fs/cgroup/memory ] ||
		skip "no v1 cpuset and memory hierarchies on this host (the VM suite covers v2)"
	"$HUSK" run -d --name plain busybox sleep 100 >/dev/null
	id=$("$HUSK" inspect -f '{{.Id}}' plain)
	[ "$(cg_dirs memory "$id")" -eq 1 ]
	[ "$(cg_dirs cpuset "$id")" -eq 0 ]
	# the container still runs on every CPU the caller may use
	[ "$("$HUSK" exec plain grep Cpus_allowed_list /proc/self/status)" = "$(grep Cpus_allowed_list /proc/self/status)" ]
	"$HUSK" run -d --name pinned --cpuset-cpus 0 busybox sleep 100 >/dev/null
	id2=$("$HUSK" inspect -f '{{.Id}}' pinned)
	[ "$(cg_dirs cpuset "$id2")" -eq 1 ]
	[ "$("$HUSK" exec pinned grep Cpus_allowed_list /proc/self/status | tr -d ' \t')" = "Cpus_allowed_list:0" ]
	"$HUSK" rm -f plain pinned >/dev/null
	[ "$(cg_dirs memory "$id")" -eq 0 ]
	[ "$(cg_dirs cpuset "$id2")" -eq 0 ]
}

@test "run: memory-swap, memory-reservation, cpu-shares, cpuset, cpu period and quota, oom-kill-disable in the cgroup" {
	run "$HUSK" run --rm -m 64m --memory-swap 128m --memory-reservation 32m --oom-kill-disable \
		--cpu-shares 512 --cpuset-cpus 0 --cpuset-mems 0 --cpu-period 50000 --cpu-quota 25000 busybox sh -c '
		c=/sys/fs/cgroup
		if [ -f $c/cpu/cpu.shares ]; then
			cat $c/memory/memory.memsw.limit_in_bytes $c/memory/memory.soft_limit_in_bytes
			grep oom_kill_disable $c/memory/memory.oom_control | cut -d" " -f2
			cat $c/cpu/cpu.shares $c/cpuset/cpuset.cpus $c/cpuset/cpuset.mems
			echo $(cat $c/cpu/cpu.cfs_quota_us) $(cat $c/cpu/cpu.cfs_period_us)
		else
			echo $(( $(cat $c/memory.swap.max) + 67108864 )); cat $c/memory.low; echo 1
			cat $c/cpu.weight $c/cpuset.cpus $c/cpuset.mems $c/cpu.max
		fi'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 134217728 ]
	[ "${lines[1]}" = 33554432 ]
	[ "${lines[2]}" = 1 ]
	[ "${lines[3]}" = 512 ] || [ "${lines[3]}" = 20 ] # v2: shares as a weight
	[ "${lines[4]}" = 0 ]
	[ "${lines[5]}" = 0 ]
	[ "${lines[6]}" = "25000 50000" ]
	run "$HUSK" run --rm --memory-swap 1g busybox true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: --memory-swap needs --memory" ]
	run "$HUSK" run --rm -m 64m --memory-swap 32m busybox true
	[ "$status" -eq 125 ]
	run "$HUSK" run --rm --cpus 1 --cpu-quota 50000 busybox true
	[ "$status" -eq 125 ]
}

@test "run --memory-swappiness (v1's memory.swappiness) and --domainname (the UTS namespace's); inspect shows both" {
	"$HUSK" run --name sw -m 64m --memory-swappiness 7 --domainname example.com -h web busybox sh -c '
		cat /proc/sys/kernel/hostname /proc/sys/kernel/domainname
		cat /sys/fs/cgroup/memory/memory.swappiness 2>/dev/null || echo v2' >"$TEST_DIR/out"
	[ "$(sed -n 1,2p "$TEST_DIR/out")" = "$(printf 'web\nexample.com')" ]
	if [ -f /sys/fs/cgroup/memory/memory.swappiness ]; then
		[ "$(sed -n 3p "$TEST_DIR/out")" = 7 ]
	fi
	[ "$("$HUSK" inspect -f '{{.HostConfig.MemorySwappiness}} {{.Config.Domainname}}' sw)" = "7 example.com" ]
	# none asked: the kernel's, null in inspect as Docker's
	[ "$("$HUSK" run --rm busybox cat /proc/sys/kernel/domainname)" = "(none)" ]
	"$HUSK" create --name plain busybox true >/dev/null
	[ "$("$HUSK" inspect -f '{{json .HostConfig.MemorySwappiness}}' plain)" = null ]
	run "$HUSK" run --rm --memory-swappiness 101 busybox true
	[ "$status" -eq 125 ]
	[ "$output" = 'husk: --memory-swappiness "101": expected 0 to 100' ]
	"$HUSK" rm sw plain >/dev/null
}

@test "run --device-cgroup-rule, --cgroup-parent, --annotation: Docker's meanings; inspect shows them" {
	# 10:229 (fuse) is not in the default device rules: the node is made
	# (mknod is allowed) but opening it is refused unless a rule allows it
	run "$HUSK" run --rm busybox sh -c 'mknod /tmp/f c 10 229 && (exec 3<>/tmp/f) && echo open'
	[ "$output" != open ]
	for rule in 'c 10:229 rw' 'c 10:* rw' 'a *:* rw'; do
		run "$HUSK" run --rm --device-cgroup-rule "$rule" busybox sh -c 'mknod /tmp/f c 10 229 && (exec 3<>/tmp/f) && echo open'
		[ "$output" = open ] || { echo "$rule: $output"; return 1; }
	done
	for bad in 'x 1:3 r' 'c 1 r' 'c 1:3 rx' 'c a:3 r'; do
		run "$HUSK" run --rm --device-cgroup-rule "$bad" busybox true
		[ "$status" -eq 125 ]
		[[ "$output" == "husk: --device-cgroup-rule \"$bad\": expected TYPE MAJOR:MINOR ACCESS"* ]]
	done
	# the cgroup below the parent (relative: below ours), which goes with it
	parent="husk-parent-$$"
	id=$("$HUSK" run -d --cgroup-parent "$parent" --annotation org.example.a=1 --annotation b=two busybox sleep 100)
	pid=$("$HUSK" inspect -f '{{.State.Pid}}' "$id")
	grep -q ":/.*$parent/husk-$id\$" "/proc/$pid/cgroup"
	[ "$("$HUSK" inspect -f '{{.HostConfig.CgroupParent}} {{json .HostConfig.Annotations}}' "$id")" = "$parent "'{"b":"two","org.example.a":"1"}' ]
	# the annotations reach the runtime's config.json
	[ "$(jq -c .annotations "$HUSK_ROOT/containers/$id/config.json")" = '{"org.example.a":"1","b":"two"}' ]
	"$HUSK" rm -f "$id" >/dev/null
	[ -z "$(find /sys/fs/cgroup -maxdepth 4 -type d -name "$parent" 2>/dev/null)" ]
	run "$HUSK" run --rm --cgroup-parent ../up busybox true
	[ "$status" -eq 125 ]
	run "$HUSK" run --rm --annotation novalue busybox true
	[ "$status" -eq 125 ]
	[ "$output" = 'husk: --annotation "novalue": expected KEY=VALUE' ]
}

@test "run --device-read-bps/--device-write-iops: the throttle on the device" {
	dev=$(awk '$2 == "/" {print $1}' /proc/mounts | head -1)
	[ -b "$dev" ] || dev=$(ls /dev/vda /dev/sda /dev/nvme0n1 2>/dev/null | head -1)
	[ -b "$dev" ] || skip "no block device here"
	[ -f /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device ] || skip "not cgroup v1 blkio"
	mm=$(printf '%d:%d' "0x$(stat -c %t "$dev")" "0x$(stat -c %T "$dev")")
	run "$HUSK" run --rm --device-read-bps "$dev:1mb" --device-write-iops "$dev:100" busybox \
		cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device /sys/fs/cgroup/blkio/blkio.throttle.write_iops_device
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$mm 1048576" ]
	[ "${lines[1]}" = "$mm 100" ]
	run "$HUSK" run --rm --device-read-bps /dev/null:1mb busybox true
	[ "$status" -eq 125 ]
}

@test "run --cidfile: the id written; refused when the file is there, leaving nothing" {
	run "$HUSK" run -d --cidfile "$TEST_DIR/cid" busybox sleep 100
	[ "$status" -eq 0 ]
	[ "$(cat "$TEST_DIR/cid")" = "$output" ]
	run "$HUSK" create --cidfile "$TEST_DIR/cid" busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'--cidfile'* ]]
	[ "$("$HUSK" ps -aq | wc -l)" -eq 1 ]
	# a create that fails takes its cidfile away
	run "$HUSK" create --cidfile "$TEST_DIR/cid2" --group-add nosuch busybox true
	[ "$status" -eq 125 ]
	[ ! -e "$TEST_DIR/cid2" ]
}

@test "run -a: only the streams asked for; -q; --platform, --isolation, --volume-driver, --disable-content-trust" {
	run --separate-stderr "$HUSK" run --rm -a stdout busybox sh -c 'echo out; echo err >&2'
	[ "$output" = out ]
	[ -z "$stderr" ]
	run --separate-stderr "$HUSK" run --rm -a stderr busybox sh -c 'echo out; echo err >&2'
	[ -z "$output" ]
	[ "$stderr" = err ]
	run "$HUSK" run -d -a stdout busybox true
	[ "$status" -eq 125 ]
	run "$HUSK" run --rm -q busybox echo quiet
	[ "$output" = quiet ]
	run "$HUSK" run --rm --platform linux/amd64 busybox true
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm --platform linux/s390x busybox true
	[ "$status" -eq 125 ]
	[ "$output" = 'husk: --platform "linux/s390x": this host runs linux/amd64 containers only' ]
	# flags whose only value on Linux is Docker's default: taken; others refused
	run "$HUSK" run --rm --isolation default --volume-driver local --disable-content-trust busybox echo taken
	[ "$output" = taken ]
	for bad in "--isolation hyperv" "--volume-driver nfs" "--disable-content-trust=false"; do
		# shellcheck disable=SC2086
		run "$HUSK" run --rm $bad busybox true
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == "husk: ${bad%%[ =]*}"* ]]
	done
}

@test "run: every bad value is one line naming the flag, exit 125, nothing left" {
	for args in "--cap-drop nope" "--ulimit nofile=x" "--sysctl vm.swappiness=1" "--device rel/path" \
		"--device /dev/null:/dev/x:rwz" "--security-opt seccomp=/no/such/file" "--security-opt mask=rel" \
		"--shm-size -5" "--ipc bogus" "--uts container:x" "--cgroupns bogus" "--memory-swap x" \
		"--cpu-shares 1" "--cpuset-cpus a-b" "--cpu-period 5" "--cpu-quota 5" "--blkio-weight 5" \
		"--device-read-bps /dev/null" "--device-write-iops /dev/null:x" "--label =x" \
		"--label-file /no/such/file" "--attach stdmid" "--group-add nosuch"; do
		run "$HUSK" run --rm $args busybox true
		echo "$args -> $status $output"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		flag=${args%% *}
		[[ "$output" == *"$flag"* ]]
		[[ "$output" != *"unknown flag"* ]]
	done
	[ -z "$("$HUSK" ps -aq)" ]
}
