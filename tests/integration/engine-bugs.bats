#!/usr/bin/env bats
# husk (the engine): behaviours users rely on that once were wrong, each
# tried as a user would meet it.

load helpers

bats_require_minimum_version 1.5.0


setup() {
	engine_setup
}

# run's one line of error, less the container it names first:
# husk: start container "NAME": exec: ... -> exec: ...
run_msg() {
	[ "${#lines[@]}" -eq 1 ] || return 1
	sed -E 's/^husk: start container "[^"]+": //' <<<"$output"
}

teardown() {
	engine_teardown
}

@test "husk run: with the default network (none) lo is up with 127.0.0.1, which answers" {
	run "$HUSK" run --rm busybox sh -c 'ip addr show lo; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping-ok'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"<LOOPBACK,UP,LOWER_UP>"* ]]
	[[ "$output" == *"inet 127.0.0.1/8 scope host lo"* ]]
	[ "${lines[-1]}" = ping-ok ]
}

# Docker's statuses: 127 when the command is not found, 126 when it is
# found but cannot be executed, 125 for an error of the engine itself; the
# error printed once, on one line
@test "husk run: a command not found exits 127, one that cannot be executed 126" {
	run -127 "$HUSK" run --rm busybox nosuch
	[ "$status" -eq 127 ]
	[ "$(run_msg)" = 'exec: "nosuch": executable file not found in $PATH' ]
	run -127 "$HUSK" run --rm busybox /nosuch
	[ "$status" -eq 127 ]
	[ "${#lines[@]}" -eq 1 ]
	run "$HUSK" run --rm busybox /etc/passwd
	[ "$status" -eq 126 ]
	[ "$(run_msg)" = 'exec: "/etc/passwd": permission denied' ]
	run "$HUSK" run --rm busybox /etc
	[ "$status" -eq 126 ]
	[ "$(run_msg)" = 'exec: "/etc": is a directory' ]
	# found and executable, but not a format the kernel runs: execve's
	# ENOEXEC, after the container was created
	mkdir "$TEST_DIR/v"
	printf 'not a program\n' >"$TEST_DIR/v/bad"
	chmod 755 "$TEST_DIR/v/bad"
	run "$HUSK" run --rm -v "$TEST_DIR/v:/v" busybox /v/bad
	[ "$status" -eq 126 ]
	[ "$(run_msg)" = 'exec "/v/bad": Exec format error' ]
	[ -z "$(ls "$HUSK_ROOT/containers")" ]
}

@test "husk run: an ENOENT that is not the command's stays 125" {
	# the missing file is a bind's source (gone between create and
	# start), not the command
	mkdir "$TEST_DIR/gone"
	"$HUSK" create --name g --mount "type=bind,src=$TEST_DIR/gone,dst=/x" busybox true
	rmdir "$TEST_DIR/gone"
	run "$HUSK" start -a g
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "husk: "*"No such file or directory" ]]
}

@test "husk run: the status of a command that cannot run is recorded, and run -d returns it" {
	run "$HUSK" run --name fg busybox /etc
	[ "$status" -eq 126 ]
	run -127 "$HUSK" run -d --name bg busybox nosuch
	[ "$status" -eq 127 ]
	[ "$(run_msg)" = 'exec: "nosuch": executable file not found in $PATH' ]
	run "$HUSK" ps -a
	grep -Eq 'Exited \(126\) .* +fg$' <<<"$output"
	grep -Eq 'Exited \(127\) .* +bg$' <<<"$output"
}

@test "husk exec: a command not found exits 127, one that cannot be executed 126" {
	run "$HUSK" run -d --name web busybox sleep 60
	[ "$status" -eq 0 ]
	run -127 "$HUSK" exec web nosuch
	[ "$status" -eq 127 ]
	[ "$output" = 'husk: exec: "nosuch": executable file not found in $PATH' ]
	run "$HUSK" exec web /etc/passwd
	[ "$status" -eq 126 ]
	[ "$output" = 'husk: exec: "/etc/passwd": permission denied' ]
	run "$HUSK" exec web /etc
	[ "$status" -eq 126 ]
	[ "$output" = 'husk: exec: "/etc": is a directory' ]
	run "$HUSK" exec web true
	[ "$status" -eq 0 ]
	"$HUSK" rm -f web
	# not running: an error of the engine, whatever its errno
	run "$HUSK" run --name gone busybox true
	run "$HUSK" exec gone true
	[ "$status" -eq 125 ]
}

# script(1) with its stdin at EOF (as under CI) sends the terminal's EOF
# character at once; the kernel keeps that mark as a NUL byte, which a raw
# read used to pick up and send into the container, whose pty echoed "^@"
# before the output
in_script() {
	timeout "${IN_SCRIPT_TIMEOUT:-60}" script -qec "$(printf '%q ' env HUSK_ROOT="$HUSK_ROOT" HUSK_RUNROOT="$HUSK_RUNROOT" "$HUSK" "$@")" /dev/null </dev/null
}

@test "husk run -it and exec -it under script(1): the output is the process's, no stray NUL or ^@" {
	command -v script >/dev/null || skip "no script(1)"
	in_script run --rm -it busybox echo hi >"$TEST_DIR/run.out"
	od -c "$TEST_DIR/run.out"
	[ -z "$(grep -aF '^@' "$TEST_DIR/run.out")" ]
	[ "$(tr -d '\000' <"$TEST_DIR/run.out" | wc -c)" -eq "$(wc -c <"$TEST_DIR/run.out")" ]
	printf 'hi\r\n' | cmp - "$TEST_DIR/run.out"
	run "$HUSK" run -d --name web busybox sleep 60
	[ "$status" -eq 0 ]
	in_script exec -it web echo hi >"$TEST_DIR/exec.out"
	od -c "$TEST_DIR/exec.out"
	printf 'hi\r\n' | cmp - "$TEST_DIR/exec.out"
	"$HUSK" rm -f web
}

@test "husk run -it under script(1) with stdin at EOF: the container reads EOF, not a NUL" {
	command -v script >/dev/null || skip "no script(1)"
	# cat ends on its terminal's EOF; given the NUL instead it waited forever
	IN_SCRIPT_TIMEOUT=15 run in_script run --rm -it busybox cat
	[ "$status" -eq 0 ]
	[ -z "$(tr -d '\r\n' <<<"$output")" ]
}

@test "a create killed after it claimed its name but before its record: rm -f frees the name too" {
	id=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	mkdir -p "$HUSK_ROOT/containers/$id/rootfs" "$HUSK_ROOT/names"
	ln -s "$id" "$HUSK_ROOT/names/wreck"
	run "$HUSK" rm -f "$id"
	[ "$status" -eq 0 ]
	[ ! -e "$HUSK_ROOT/containers/$id" ]
	[ ! -L "$HUSK_ROOT/names/wreck" ]
	# and the name is free again
	"$HUSK" create --name wreck busybox true >/dev/null
}
