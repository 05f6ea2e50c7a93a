#!/usr/bin/env bats
# husk-oci run: a container from a busybox bundle, end to end.

load helpers

@test "run: prints from inside and passes the exit status" {
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "echo hello from $(hostname); exit 3"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 3 ]
	[ "$output" = "hello from husk" ]
}

@test "run: the process is pid 1 in its own pid namespace" {
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "echo $$; ps -o pid | wc -l"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "1" ]
	# ps header + sh + ps + wc at most: the host's processes are not visible
	[ "${lines[1]}" -le 5 ]
}

@test "run: the root is the bundle's rootfs, pivoted, read-only as configured" {
	echo marker >"$BUNDLE/rootfs/marker"
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "cat /marker; touch /x 2>&1; awk \"\\$5 == \\\"/\\\"\" /proc/self/mountinfo | wc -l"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "marker" ]
	[[ "${lines[1]}" == *"Read-only file system"* ]]
	# one mount at / (the old root is gone after pivot_root)
	[ "${lines[2]}" = "1" ]
}

@test "run: /proc, /dev, /sys and default devices are there" {
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "ls /proc/self/status >/dev/null && echo x >/dev/null && ls /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/pts /dev/shm /dev/mqueue >/dev/null && readlink /dev/fd && ls /sys/kernel >/dev/null && echo ok"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/proc/self/fd" ]
	[ "${lines[1]}" = "ok" ]
}

@test "run: killed by a signal, the exit status is 128+N" {
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	"$HUSK_OCI" --root "$ROOT" run --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1 &
	runner=$!
	wait_for_status "$ID" running
	husk kill "$ID" KILL
	status=0
	wait "$runner" || status=$?
	[ "$status" -eq 137 ]
}

@test "run -d: detached, then kill and delete" {
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	run husk kill "$ID" KILL
	[ "$status" -eq 0 ]
	wait_for_status "$ID" stopped
	run husk delete "$ID"
	[ "$status" -eq 0 ]
	run husk state "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
}

@test "run: a missing executable fails clearly and leaves nothing" {
	update_config "$BUNDLE" '.process.args = ["no-such-binary"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *'"no-such-binary": executable file not found in $PATH'* ]]
	assert_nothing_left
}

@test "run: a command that cannot be executed says why, by its errno, and exits 1 as runc run does" {
	update_config "$BUNDLE" '.process.args = ["/etc"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 1 ]
	[ "$output" = 'husk-oci: exec: "/etc": is a directory' ]
	update_config "$BUNDLE" '.process.args = ["/etc/passwd"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 1 ]
	[ "$output" = 'husk-oci: exec: "/etc/passwd": permission denied' ]
	update_config "$BUNDLE" '.process.args = ["/nosuch"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 1 ]
	[ "$output" = 'husk-oci: exec: "/nosuch": no such file or directory' ]
	assert_nothing_left
}

@test "run: stdin reaches the process" {
	update_config "$BUNDLE" '.process.args = ["cat"]'
	run bash -c "echo piped | '$HUSK_OCI' --root '$ROOT' run --bundle '$BUNDLE' '$ID'"
	[ "$status" -eq 0 ]
	[ "$output" = "piped" ]
}

@test "run: with a terminal under script(1), stdin at EOF, the output is the process's alone" {
	command -v script >/dev/null || skip "no script(1)"
	# script sends an EOF mark at once; read raw it was a NUL that the
	# container's pty echoed as "^@"
	update_config "$BUNDLE" '.process.terminal = true | .process.args = ["echo", "hi"]'
	timeout 60 script -qec "$(printf '%q ' "$HUSK_OCI" --root "$ROOT" run --bundle "$BUNDLE" "$ID")" /dev/null </dev/null >"$TEST_DIR/out"
	od -c "$TEST_DIR/out"
	printf 'hi\r\n' | cmp - "$TEST_DIR/out"
}

@test "run --explain: prints each kernel step with its time" {
	run husk --explain run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"clone3"* ]]
	[[ "$output" == *"pivot_root"* ]]
	[[ "$output" == *"mount proc at /proc"* ]]
	[[ "$output" == *"sethostname husk"* ]]
	[[ "$output" == *"lo in the new network namespace"* ]]
	[[ "$output" == *"execve"* ]]
	# every line has a time in ms
	! grep -v -E '^\[explain\] +[0-9]+\.[0-9]{3} ms  ' <<<"$output"
}

@test "run: LISTEN_FDS passes the socket-activation fds and sets LISTEN_PID" {
	echo activated >"$TEST_DIR/fd3"
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; cat <&3; ls /proc/self/fd | sort -n | tr \"\\n\" \" \""]'
	run env LISTEN_FDS=1 "$HUSK_OCI" --root "$ROOT" run --bundle "$BUNDLE" "$ID" 3<"$TEST_DIR/fd3"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "1 1" ]
	[ "${lines[1]}" = "activated" ]
	# fd 4 and up were not passed (ls has one more open for the directory)
	[[ "${lines[2]}" != *" 5 "* ]]
}

@test "run --no-pivot: the rootfs is entered with MS_MOVE + chroot" {
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "cat /proc/self/mountinfo | wc -l; ls /bin/busybox"]'
	run husk run --no-pivot --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "/bin/busybox" ]
}
