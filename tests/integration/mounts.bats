#!/usr/bin/env bats
# mounts, maskedPaths, readonlyPaths, root.readonly, devices, sysctl.

load helpers

bats_require_minimum_version 1.5.0

teardown() {
	# the host mounts a test made itself, deepest first
	grep -F " $TEST_DIR/host" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		xargs -r -n1 umount -l 2>/dev/null || true
	teardown_husk
}

# add_mount DEST SOURCE TYPE OPTIONS-JSON
add_mount() {
	update_config "$BUNDLE" '.mounts += [{"destination": "'"$1"'", "source": "'"$2"'", "type": "'"$3"'", "options": '"$4"'}]'
}

# a host dir $TEST_DIR/host/src holding a file, and a tmpfs on src/sub holding another
host_tree() {
	mkdir -p "$TEST_DIR/host/src/sub"
	echo top >"$TEST_DIR/host/src/file"
	mount -t tmpfs -o size=1m tmpfs "$TEST_DIR/host/src/sub"
	echo below >"$TEST_DIR/host/src/sub/subfile"
}

@test "bind: a host dir read-write, written from inside, seen on the host" {
	mkdir -p "$TEST_DIR/host/src"
	echo top >"$TEST_DIR/host/src/file"
	add_mount /mnt/rw "$TEST_DIR/host/src" bind '["bind"]'
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "cat /mnt/rw/file; echo inside > /mnt/rw/new"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = top ]
	[ "$(cat "$TEST_DIR/host/src/new")" = inside ]
}

@test "bind: a host dir read-only refuses writes" {
	mkdir -p "$TEST_DIR/host/src"
	echo top >"$TEST_DIR/host/src/file"
	add_mount /mnt/ro "$TEST_DIR/host/src" bind '["bind", "ro"]'
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "cat /mnt/ro/file; touch /mnt/ro/new 2>&1; echo x >> /mnt/ro/file 2>&1; true"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = top ]
	[[ "${lines[1]}" == *"Read-only file system"* ]]
	[[ "${lines[2]}" == *"Read-only file system"* ]]
	[ ! -e "$TEST_DIR/host/src/new" ]
	[ "$(cat "$TEST_DIR/host/src/file")" = top ]
}

@test "bind: a single file, onto a destination the rootfs does not have" {
	mkdir -p "$TEST_DIR/host"
	echo "file content" >"$TEST_DIR/host/hostfile"
	add_mount /etc/extra/conf "$TEST_DIR/host/hostfile" bind '["bind", "ro"]'
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "cat /etc/extra/conf; [ -f /etc/extra/conf ] && echo regular"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "file content" ]
	[ "${lines[1]}" = regular ]
}

@test "bind vs rbind: only rbind brings the submount along" {
	host_tree
	add_mount /mnt/b "$TEST_DIR/host/src" bind '["bind"]'
	add_mount /mnt/r "$TEST_DIR/host/src" bind '["rbind"]'
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "ls /mnt/b/sub | wc -l; cat /mnt/r/sub/subfile"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = below ]
}

@test "rro: submounts of an rbind are read-only too, ro alone leaves them writable" {
	host_tree
	add_mount /mnt/ro "$TEST_DIR/host/src" bind '["rbind", "ro"]'
	add_mount /mnt/rro "$TEST_DIR/host/src" bind '["rbind", "rro"]'
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "touch /mnt/ro/x 2>&1; touch /mnt/ro/sub/y 2>&1 && echo sub-writable; touch /mnt/rro/x 2>&1; touch /mnt/rro/sub/z 2>&1; true"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"Read-only file system"* ]]
	[ "${lines[1]}" = sub-writable ]
	[[ "${lines[2]}" == *"Read-only file system"* ]]
	[[ "${lines[3]}" == *"Read-only file system"* ]]
	[ -e "$TEST_DIR/host/src/sub/y" ]
	[ ! -e "$TEST_DIR/host/src/sub/z" ]
}

@test "tmpfs: size and mode options" {
	add_mount /mnt/t tmpfs tmpfs '["size=1m", "mode=0710", "nodev"]'
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "stat -c %a /mnt/t; stat -f -c %T /mnt/t; df -k /mnt/t | tail -1 | awk \"{print \\$2}\"; grep \" /mnt/t \" /proc/self/mountinfo"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 710 ]
	[ "${lines[1]}" = tmpfs ]
	[ "${lines[2]}" = 1024 ]
	[[ "${lines[3]}" == *nodev* ]]
}

# prop_test OPTION: bind a shared host dir with OPTION; after the container
# starts, the host mounts a tmpfs below it; does the container see it?
prop_test() {
	mkdir -p "$TEST_DIR/host/prop"
	mount --bind "$TEST_DIR/host/prop" "$TEST_DIR/host/prop"
	mount --make-shared "$TEST_DIR/host/prop"
	mkdir -p "$TEST_DIR/host/prop/sub"
	add_mount /mnt/p "$TEST_DIR/host/prop" bind '["rbind", "'"$1"'"]'
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "touch /dev/shm/ready; for i in $(seq 60); do [ -e /mnt/p/sub/marker ] && echo seen && exit; sleep 0.05; done; echo not-seen"]'
	"$HUSK_OCI" --root "$ROOT" run --bundle "$BUNDLE" "$ID" </dev/null >"$TEST_DIR/prop.out" 2>&1 &
	runner=$!
	wait_for_status "$ID" running
	pid=$(husk state "$ID" | jq -r .pid)
	for _ in $(seq 100); do [ -e "/proc/$pid/root/dev/shm/ready" ] && break; sleep 0.02; done
	mount -t tmpfs -o size=1m tmpfs "$TEST_DIR/host/prop/sub"
	touch "$TEST_DIR/host/prop/sub/marker"
	wait "$runner"
	cat "$TEST_DIR/prop.out"
}

@test "propagation: rslave sees a mount the host makes later" {
	run prop_test rslave
	[ "$status" -eq 0 ]
	[ "$output" = seen ]
}

@test "propagation: rshared sees a mount the host makes later" {
	run prop_test rshared
	[ "$status" -eq 0 ]
	[ "$output" = seen ]
}

@test "propagation: rprivate does not see a mount the host makes later" {
	run prop_test rprivate
	[ "$status" -eq 0 ]
	[ "$output" = not-seen ]
}

@test "maskedPaths: a file reads empty, a dir is an empty read-only tmpfs" {
	mkdir -p "$BUNDLE/rootfs/var/secretdir"
	echo secret >"$BUNDLE/rootfs/etc/secretfile"
	echo secret >"$BUNDLE/rootfs/var/secretdir/inner"
	update_config "$BUNDLE" '.linux.maskedPaths += ["/etc/secretfile", "/var/secretdir", "/no/such/path"]
		| .process.args = ["sh", "-c", "cat /etc/secretfile | wc -c; ls -A /var/secretdir | wc -l; stat -f -c %T /var/secretdir; touch /var/secretdir/x 2>&1; cat /proc/timer_list | wc -c"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = tmpfs ]
	[[ "${lines[3]}" == *"Read-only file system"* ]]
	[ "${lines[4]}" = 0 ]
	[ "$(wc -c </proc/timer_list)" -gt 0 ]
}

@test "readonlyPaths: writes fail with EROFS there and work elsewhere" {
	mkdir -p "$BUNDLE/rootfs/var/ro" "$BUNDLE/rootfs/var/rw"
	update_config "$BUNDLE" '.root.readonly = false | .linux.readonlyPaths += ["/var/ro"]
		| .process.args = ["sh", "-c", "touch /var/ro/x 2>&1; touch /var/rw/x && echo rw-ok; echo 1 > /proc/sys/kernel/ns_last_pid 2>&1; true"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"Read-only file system"* ]]
	[ "${lines[1]}" = rw-ok ]
	[[ "${lines[2]}" == *"Read-only file system"* ]]
	[ -e "$BUNDLE/rootfs/var/rw/x" ]
	[ ! -e "$BUNDLE/rootfs/var/ro/x" ]
}

@test "root.readonly: true refuses writes to /, false allows them" {
	update_config "$BUNDLE" '.root.readonly = true | .process.args = ["sh", "-c", "touch /x 2>&1; true"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[ ! -e "$BUNDLE/rootfs/x" ]
	husk delete "$ID" 2>/dev/null || true
	update_config "$BUNDLE" '.root.readonly = false | .process.args = ["sh", "-c", "touch /x && echo written"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = written ]
	[ -e "$BUNDLE/rootfs/x" ]
}

@test "devices: linux.devices made with type, numbers, mode and owner" {
	update_config "$BUNDLE" '.linux.devices = [
			{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 384, "uid": 5, "gid": 6},
			{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0}]
		| .process.args = ["sh", "-c", "stat -c \"%F %a %u %g %t %T\" /dev/mynull /dev/fuse; ls -ln /dev/mynull"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "character special file 600 5 6 1 3" ]
	[ "${lines[1]}" = "character special file 666 0 0 a e5" ]
	[[ "${lines[2]}" == "crw-------"*" 5 "*" 6 "*"1,"*"3 "*"/dev/mynull" ]]
}

@test "sysctl: net.ipv4.ip_forward=1 inside a new netns, the host unchanged" {
	host=$(cat /proc/sys/net/ipv4/ip_forward)
	want=1
	[ "$host" = 0 ] || want=0
	update_config "$BUNDLE" '.linux.sysctl = {"net.ipv4.ip_forward": "'$want'"} | .process.args = ["cat", "/proc/sys/net/ipv4/ip_forward"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host" ]
}

@test "sysctl: a non-namespaced sysctl is refused" {
	update_config "$BUNDLE" '.linux.sysctl = {"vm.swappiness": "10"}'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"vm.swappiness"* ]]
}

@test "cgroup mount: with a cgroupns the container sees its own cgroup, no host siblings" {
	[ -n "$(find /sys/fs/cgroup/memory -mindepth 1 -maxdepth 1 -type d)" ] || skip "the host's memory hierarchy has no child cgroups to hide"
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "find /sys/fs/cgroup/memory/ -mindepth 1 -type d | wc -l; [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ] && echo has-files; touch /sys/fs/cgroup/memory/x 2>&1; true"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = has-files ]
	[[ "${lines[2]}" == *"Read-only file system"* ]]
}

@test "mount source: a relative bind source is resolved against the bundle" {
	mkdir -p "$BUNDLE/data"
	echo from-bundle >"$BUNDLE/data/f"
	add_mount /mnt/d data bind '["bind", "ro"]'
	update_config "$BUNDLE" '.process.args = ["cat", "/mnt/d/f"]'
	(cd / && run husk run --bundle "$BUNDLE" "$ID"; echo "$output" >"$TEST_DIR/out"; exit "$status")
	[ "$(cat "$TEST_DIR/out")" = from-bundle ]
}

@test "idmap: a bind mount shows host root's files as the container's root in a user namespace" {
	chmod 755 "$TEST_DIR"
	mkdir -p "$TEST_DIR/data" "$BUNDLE/rootfs/plain" "$BUNDLE/rootfs/mapped"
	echo hi >"$TEST_DIR/data/f"
	update_config "$BUNDLE" '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .mounts += [{"destination": "/plain", "type": "bind", "source": "'"$TEST_DIR/data"'", "options": ["bind"]},
			      {"destination": "/mapped", "type": "bind", "source": "'"$TEST_DIR/data"'", "options": ["bind", "idmap"]}]
		| .process.args = ["sh", "-c", "stat -c %u /plain/f; stat -c %u /mapped/f; touch /mapped/new && echo wrote"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	# unmapped host root is nobody without idmap, root with it
	[ "${lines[0]}" = 65534 ]
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = wrote ]
	# and what container root writes there is host root's
	[ "$(stat -c %u "$TEST_DIR/data/new")" = 0 ]
}

@test "idmap: the mount's own uidMappings; without any mappings it is refused" {
	# on-disk ids are the mapping's container side: host root's file is
	# seen as uid 1000 through this mount
	mkdir -p "$TEST_DIR/data"
	echo hi >"$TEST_DIR/data/f"
	update_config "$BUNDLE" '.mounts += [{"destination": "/mapped", "type": "bind", "source": "'"$TEST_DIR/data"'", "options": ["bind", "idmap"],
			"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
			"gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]
		| .process.args = ["stat", "-c", "%u %g", "/mapped/f"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = "1000 1000" ]
	update_config "$BUNDLE" 'del(.mounts[-1].uidMappings) | del(.mounts[-1].gidMappings)'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"idmap needs uidMappings"* ]]
	assert_nothing_left
}
