#!/usr/bin/env bats
# linux.namespaces: each kind made new, with its settings, or joined by path.

load helpers

teardown() {
	if [ -n "${NETNS:-}" ]; then
		ip netns del "$NETNS" 2>/dev/null || true
	fi
	if [ -n "${MSQID:-}" ]; then
		ipcrm -q "$MSQID" 2>/dev/null || true
	fi
	teardown_husk
}

@test "uts: hostname and domainname are set inside, the host's are unchanged" {
	host_name=$(hostname)
	host_domain=$(cat /proc/sys/kernel/domainname)
	update_config "$BUNDLE" '.hostname = "box-a" | .domainname = "example.test"
		| .process.args = ["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "box-a" ]
	[ "${lines[1]}" = "example.test" ]
	[ "$(hostname)" = "$host_name" ]
	[ "$(cat /proc/sys/kernel/domainname)" = "$host_domain" ]
}

@test "uts: without a uts namespace the container sees the host's hostname" {
	update_config "$BUNDLE" 'del(.hostname) | .linux.namespaces -= [{"type": "uts"}]
		| .process.args = ["sh", "-c", "hostname; readlink /proc/self/ns/uts"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(hostname)" ]
	[ "${lines[1]}" = "$(readlink /proc/self/ns/uts)" ]
}

@test "ipc: a System V queue of the host is not visible inside" {
	MSQID=$(ipcmk -Q | grep -o '[0-9]*$')
	[ -n "$MSQID" ]
	# the host sees its queue
	[ "$(awk 'NR > 1' /proc/sysvipc/msg | wc -l)" -ge 1 ]
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "readlink /proc/self/ns/ipc; awk \"NR > 1\" /proc/sysvipc/msg | wc -l"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" != "$(readlink /proc/self/ns/ipc)" ]
	[ "${lines[1]}" = "0" ]
}

# the kernel gives a new netns its lo down; runc and crun bring it up
@test "network: a new netns has only lo, up, with 127.0.0.1 and ::1, and 127.0.0.1 answers" {
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "ip -o link | wc -l; ip -o link show lo; ip -o addr show lo
		nc -l -p 7777 -e echo pong &
		for i in 1 2 3 4 5 6 7 8 9 10; do nc 127.0.0.1 7777 </dev/null && exit 0; sleep 0.1; done; exit 9"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "1" ]
	[[ "${lines[1]}" == *"lo: <LOOPBACK,UP,LOWER_UP>"* ]]
	[[ "$output" == *"inet 127.0.0.1/8 scope host lo"* ]]
	[[ "$output" == *"inet6 ::1/128 scope host"* ]]
	[ "${lines[-1]}" = pong ]
}

@test "network: lo is up in a new netns made inside a new user namespace too" {
	userns_config
	update_config "$BUNDLE" '.process.args = ["ip", "-o", "addr", "show", "lo"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"inet 127.0.0.1/8 scope host lo"* ]]
}

@test "pid: pid 1 inside, a namespace of its own, the host's pids not visible" {
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "echo $$; readlink /proc/self/ns/pid; ls -d /proc/[0-9]* | wc -l"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "1" ]
	[ "${lines[1]}" != "$(readlink /proc/self/ns/pid)" ]
	[ "${lines[2]}" -le 3 ]
}

@test "cgroup: with a cgroup namespace /proc/self/cgroup shows / paths only" {
	update_config "$BUNDLE" '.process.args = ["cat", "/proc/self/cgroup"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -ge 1 ]
	for l in "${lines[@]}"; do
		[ "${l##*:}" = "/" ] || { echo "not the root: $l"; false; }
	done
}

@test "cgroup: without a cgroup namespace /proc/self/cgroup shows the container's cgroup" {
	update_config "$BUNDLE" '.linux.namespaces -= [{"type": "cgroup"}] | .process.args = ["cat", "/proc/self/cgroup"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$ID"* ]]
}

@test "time: boottime and monotonic offsets show in /proc/uptime" {
	off=864000 # ten days
	update_config "$BUNDLE" '.linux.namespaces += [{"type": "time"}]
		| .linux.timeOffsets = {"boottime": {"secs": '$off', "nanosecs": 0}, "monotonic": {"secs": '$off', "nanosecs": 0}}
		| .process.args = ["sh", "-c", "cut -d\" \" -f1 /proc/uptime; readlink /proc/self/ns/time"]'
	before=$(cut -d' ' -f1 /proc/uptime)
	run husk run --bundle "$BUNDLE" "$ID"
	after=$(cut -d' ' -f1 /proc/uptime)
	[ "$status" -eq 0 ]
	inside=${lines[0]%.*}
	[ "$inside" -ge $((${before%.*} + off)) ]
	[ "$inside" -le $((${after%.*} + off + 1)) ]
	[ "${lines[1]}" != "$(readlink /proc/self/ns/time)" ]
}

@test "time: timeOffsets without a time namespace is refused" {
	update_config "$BUNDLE" '.linux.timeOffsets = {"boottime": {"secs": 10, "nanosecs": 0}}'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"timeOffsets"* ]]
}

# A bundle the unprivileged host uid 100000 can reach.
userns_config() {
	chmod 755 "$TEST_DIR"
	update_config "$BUNDLE" '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}]'
}

@test "user: uid/gid maps are seen inside, files on a tmpfs are uid 0 inside" {
	userns_config
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /tmp/f; stat -c \"%u %g\" /tmp/f"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	read -r a b c <<<"${lines[0]}"
	[ "$a $b $c" = "0 100000 65536" ]
	read -r a b c <<<"${lines[1]}"
	[ "$a $b $c" = "0 100000 65536" ]
	[ "${lines[2]}" = "0" ]
	[ "${lines[3]}" = "0 0" ]
}

@test "user: on the host the container's process runs as uid/gid 100000" {
	userns_config
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	pid=$(husk state "$ID" | jq -r .pid)
	[ "$(stat -c %u /proc/$pid)" = 100000 ]
	[ "$(stat -c %g /proc/$pid)" = 100000 ]
	[ "$(awk '/^Uid:/ {print $2}' /proc/$pid/status)" = 100000 ]
	[ "$(readlink /proc/$pid/ns/user)" != "$(readlink /proc/self/ns/user)" ]
	husk delete --force "$ID"
}

@test "join: a network namespace by path shows its interface" {
	NETNS="husk-t-$$"
	ip netns add "$NETNS"
	ip netns exec "$NETNS" ip link add huskbr0 type bridge
	update_config "$BUNDLE" '.linux.namespaces = [.linux.namespaces[] | if .type == "network" then .path = "/var/run/netns/'"$NETNS"'" else . end]
		| .process.args = ["sh", "-c", "ip -o link | cut -d\" \" -f2; readlink /proc/self/ns/net"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"huskbr0:"* ]]
	[ "${lines[-1]}" = "$(ip netns exec "$NETNS" readlink /proc/self/ns/net)" ]
	# a joined netns is its owner's to configure: its lo stays down
	[[ "$(ip netns exec "$NETNS" ip -o link show lo)" == *"lo: <LOOPBACK>"* ]]
}

@test "join: the uts namespace of another running container shows its hostname" {
	update_config "$BUNDLE" '.hostname = "first-box" | .process.args = ["sleep", "100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID-a"
	wait_for_status "$ID-a" running
	pid=$(husk state "$ID-a" | jq -r .pid)
	B="$TEST_DIR/bundle-b"
	make_bundle "$B"
	update_config "$B" 'del(.hostname)
		| .linux.namespaces = [.linux.namespaces[] | if .type == "uts" then .path = "/proc/'"$pid"'/ns/uts" else . end]
		| .process.args = ["sh", "-c", "hostname; readlink /proc/self/ns/uts"]'
	run husk run --bundle "$B" "$ID-b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "first-box" ]
	[ "${lines[1]}" = "$(readlink /proc/$pid/ns/uts)" ]
	husk delete --force "$ID-a"
}

@test "pid: joining another container's pid namespace by path (a pod)" {
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	pid=$(husk state "$ID" | jq -r .pid)
	make_bundle "$TEST_DIR/b2"
	update_config "$TEST_DIR/b2" ".linux.namespaces |= map(if .type == \"pid\" then .path = \"/proc/$pid/ns/pid\" else . end)
		| .process.args = [\"sleep\", \"100\"]"
	husk_d run -d --bundle "$TEST_DIR/b2" "$ID-2"
	wait_for_status "$ID-2" running
	pid2=$(husk state "$ID-2" | jq -r .pid)
	# the recorded pid is the process that runs, in the joined namespace
	[ "$(readlink /proc/$pid2/ns/pid)" = "$(readlink /proc/$pid/ns/pid)" ]
	[ "$(tr '\0' ' ' </proc/$pid2/cmdline)" = "sleep 100 " ]
	run husk exec "$ID-2" ps -o pid,args
	[ "$status" -eq 0 ]
	# both sleeps are there; the first container's is pid 1
	[ "$(grep -c 'sleep 100' <<<"$output")" -eq 2 ]
	grep -Eq "^ *1 .*sleep 100" <<<"$output"
	husk delete --force "$ID-2"
	husk delete --force "$ID"
}

@test "user: create then start with root mapped to host uid 100000 (the init reaches its exec fifo)" {
	userns_config
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "id -u > /tmp/uid; sleep 0.2"]'
	husk_d create --bundle "$BUNDLE" "$ID"
	[ "$(husk state "$ID" | jq -r .status)" = created ]
	run husk start "$ID"
	[ "$status" -eq 0 ]
	wait_for_status "$ID" stopped
	husk delete "$ID"
}

# In a user namespace the init cannot mknod: it binds the host's node.  A
# device the host has no node for (here a null device under a new name)
# is made by the runtime on the host, bound, and unlinked there.
@test "user: a linux.devices entry the host has no node for is made, in a user namespace" {
	userns_config
	local name="husk-test-null-$$"
	[ ! -e "/dev/$name" ]
	update_config "$BUNDLE" '.linux.devices = [{"path": "/dev/'"$name"'", "type": "c", "major": 1, "minor": 3, "fileMode": 438, "uid": 0, "gid": 0}]
		| .process.args = ["sh", "-c", "stat -c \"%F %t:%T %a %u\" /dev/'"$name"'; echo x > /dev/'"$name"' && echo written"]'
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "character special file 1:3 666 0" ]
	[ "${lines[1]}" = written ]
	[ -z "$(ls -A /dev | grep "^\.husk-$ID-")" ]
	[ ! -e "/dev/$name" ]
}

# No mount namespace in the config: the process shares the runtime's (the
# host's), chrooted into root.path; nothing is mounted there, since it would
# be the host's mount (runc 1.1.5 leaves its /proc, /dev, /sys... mounted on
# the host's rootfs), and a warning says what is not applied.
@test "mount: no mount namespace: the runtime's own, the rootfs entered by chroot, nothing mounted" {
	update_config "$BUNDLE" '.linux.namespaces = [] | del(.hostname) | .process.args = ["sleep", "100"]'
	before=$(grep -c . /proc/self/mountinfo)
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	pid=$(husk state "$ID" | jq -r .pid)
	[ "$(readlink /proc/$pid/ns/mnt)" = "$(readlink /proc/self/ns/mnt)" ]
	[ "$(readlink /proc/$pid/ns/pid)" = "$(readlink /proc/self/ns/pid)" ]
	[ "$(readlink /proc/$pid/root)" = "$BUNDLE/rootfs" ]
	! grep -F "$BUNDLE" /proc/self/mountinfo
	[ "$(grep -c . /proc/self/mountinfo)" -eq "$before" ]
	grep -q "no mount namespace" "$TEST_DIR/container.log"
	# exec enters the same root
	[ "$(husk exec "$ID" cat /etc/passwd)" = "$(cat "$BUNDLE/rootfs/etc/passwd")" ]
	husk delete --force "$ID"
}

# A mount namespace joined by path: the container's mounts and root are made
# there (as runc does), not in the runtime's namespace
@test "mount: a mount namespace joined by path" {
	# a namespace holder that ends by itself should the test fail early
	unshare -m --propagation private timeout 60 sleep 1000 </dev/null >/dev/null 2>&1 3>&- &
	holder=$!
	for _ in $(seq 100); do
		[ "$(readlink /proc/$holder/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] && break
		sleep 0.02
	done
	update_config "$BUNDLE" '.linux.namespaces = [.linux.namespaces[] | if .type == "mount" then .path = "/proc/'"$holder"'/ns/mnt" else . end]
		| .process.args = ["sh", "-c", "cat /etc/passwd; grep -c \" /proc \" /proc/self/mountinfo; sleep 100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	pid=$(husk state "$ID" | jq -r .pid)
	[ "$(readlink /proc/$pid/ns/mnt)" = "$(readlink /proc/$holder/ns/mnt)" ]
	for _ in $(seq 100); do [ -s "$TEST_DIR/container.log" ] && break; sleep 0.05; done
	grep -q '^root:x:0:0:root:/root:/bin/sh$' "$TEST_DIR/container.log"
	# none of it in the runtime's namespace
	! grep -F "$BUNDLE" /proc/self/mountinfo
	husk delete --force "$ID"
	kill "$holder"
	wait "$holder" || true
}
