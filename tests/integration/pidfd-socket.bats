#!/usr/bin/env bats
# --pidfd-socket on create, run and exec (runc 1.2): the runtime sends a
# pidfd of the container's init (payload "standard") or of the exec'd
# process ("setns") with SCM_RIGHTS to a unix socket, so that a manager
# can signal and wait for it without a pid that could be reused.
# tools/pidfd-recv.c is the receiver (runc's tests/cmd/pidfd-kill's part).

load helpers

setup() {
	setup_husk
	gcc -Wall -o "$TEST_DIR/pidfd-recv" "$BATS_TEST_DIRNAME/tools/pidfd-recv.c"
	SOCK="$TEST_DIR/pidfd.sock"
}

# start_recv [SIGNAL [GOFILE]]: the receiver in the background, its output in
# recv.out; returns once it listens
start_recv() {
	rm -f "$SOCK"
	"$TEST_DIR/pidfd-recv" "$SOCK" "$@" >"$TEST_DIR/recv.out" 2>&1 </dev/null &
	RECV=$!
	for _ in $(seq 200); do [ -S "$SOCK" ] && return 0; sleep 0.01; done
	return 1
}

# wait_recv: wait for the receiver to end, then its exit status in status
# and what it printed in output and lines, as `run` would set them.  Not
# under `run`: that puts the wait in a subshell, of which the receiver is
# no child, so it returned at once and read what the receiver had printed
# so far (once, under load, without its "sent")
wait_recv() {
	status=0
	wait "$RECV" || status=$?
	output=$(cat "$TEST_DIR/recv.out")
	mapfile -t lines <<<"$output"
}

@test "run -d --pidfd-socket: the receiver gets a pidfd of the container's init" {
	start_recv
	update_config "$BUNDLE" '.process.args = ["sleep", "30"]'
	husk_d run -d --pidfd-socket "$SOCK" --bundle "$BUNDLE" "$ID"
	wait_recv
	echo "$output"
	[ "$status" -eq 0 ]
	pid=$(husk state "$ID" | jq .pid)
	[ "$output" = "standard $pid" ]
	husk delete -f "$ID"
}

@test "create --pidfd-socket: the pidfd signals the init; the container stops" {
	# the signal only once the container runs
	start_recv 9 "$TEST_DIR/started"
	update_config "$BUNDLE" '.process.args = ["sleep", "30"]'
	husk_d create --pidfd-socket "$SOCK" --bundle "$BUNDLE" "$ID"
	husk start "$ID"
	[ "$(husk state "$ID" | jq -r .status)" = running ]
	pid=$(husk state "$ID" | jq .pid)
	touch "$TEST_DIR/started"
	wait_recv
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "standard $pid" ]
	[ "${lines[1]}" = sent ]
	wait_for_status "$ID" stopped
	husk delete "$ID"
}

@test "exec --pidfd-socket: a pidfd of the exec'd process, not of the init" {
	update_config "$BUNDLE" '.process.args = ["sleep", "30"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	start_recv 15
	husk_d exec -d --pidfd-socket "$SOCK" --pid-file "$TEST_DIR/exec.pid" "$ID" sleep 20
	wait_recv
	echo "$output"
	[ "$status" -eq 0 ]
	epid=$(cat "$TEST_DIR/exec.pid")
	[ "${lines[0]}" = "setns $epid" ]
	[ "$epid" != "$(husk state "$ID" | jq .pid)" ]
	# it was the exec'd sleep that got SIGTERM: the init runs on
	for _ in $(seq 100); do kill -0 "$epid" 2>/dev/null || break; sleep 0.05; done
	! kill -0 "$epid" 2>/dev/null
	[ "$(husk state "$ID" | jq -r .status)" = running ]
	# and in the foreground too
	start_recv
	run husk exec --pidfd-socket "$SOCK" "$ID" sh -c 'echo $$'
	[ "$status" -eq 0 ]
	wait_recv
	[[ "$output" == "setns "* ]]
	husk delete -f "$ID"
}

@test "--pidfd-socket with nobody listening: create and exec fail, nothing is left" {
	update_config "$BUNDLE" '.process.args = ["sleep", "30"]'
	run husk run -d --pidfd-socket "$TEST_DIR/nobody.sock" --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"--pidfd-socket: connect to \"$TEST_DIR/nobody.sock\": No such file or directory"* ]]
	[ -z "$(husk list -q)" ]
	husk_d run -d --bundle "$BUNDLE" "$ID"
	run husk exec --pidfd-socket "$TEST_DIR/nobody.sock" "$ID" true
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"--pidfd-socket: connect to"* ]]
	husk delete -f "$ID"
}
