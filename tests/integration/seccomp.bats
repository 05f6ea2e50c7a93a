#!/usr/bin/env bats
# linux.seccomp: actions, argument filters, architectures, the BPF cache,
# and the listener (SCMP_ACT_NOTIFY with an agent).

load helpers

bats_require_minimum_version 1.5.0

teardown() {
	if [ -n "${AGENT:-}" ]; then
		kill "$AGENT" 2>/dev/null || true
		wait "$AGENT" 2>/dev/null || true
	fi
	teardown_husk
}

# set_seccomp DEFAULT-ACTION SYSCALLS-JSON
set_seccomp() {
	update_config "$BUNDLE" '.linux.seccomp = {"defaultAction": "'"$1"'", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": '"$2"'}'
}

@test "seccomp: mkdir denied with EPERM, everything else allowed" {
	set_seccomp SCMP_ACT_ALLOW '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]'
	update_config "$BUNDLE" '.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]
		| .process.args = ["sh", "-c", "mkdir /tmp/d 2>&1; echo status $?; touch /tmp/f && ls /tmp"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"Operation not permitted"* ]]
	[ "${lines[1]}" = "status 1" ]
	[ "${lines[2]}" = f ]
}

@test "seccomp: errnoRet chooses the errno" {
	set_seccomp SCMP_ACT_ALLOW '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]'
	update_config "$BUNDLE" '.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]
		| .process.args = ["sh", "-c", "mkdir /tmp/d 2>&1; true"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"No space left on device"* ]]
}

@test "seccomp: defaultAction ERRNO with an allow-list: a syscall left out fails" {
	# every x86_64 syscall the headers know, but mkdir and mkdirat
	names=$(grep -o '__NR_[a-z0-9_]*' /usr/include/x86_64-linux-gnu/asm/unistd_64.h | sed 's/__NR_//' |
		grep -vx -e mkdir -e mkdirat | jq -R . | jq -s -c .)
	set_seccomp SCMP_ACT_ERRNO '[{"names": '"$names"', "action": "SCMP_ACT_ALLOW"}]'
	update_config "$BUNDLE" '.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]
		| .process.args = ["sh", "-c", "mkdir /tmp/d 2>&1; touch /tmp/f && ls /tmp && echo done"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"Operation not permitted"* ]]
	[ "${lines[1]}" = f ]
	[ "${lines[2]}" = done ]
}

@test "seccomp: defaultAction ERRNO with a small allow-list: the process cannot run" {
	set_seccomp SCMP_ACT_ERRNO '[{"names": ["exit", "exit_group"], "action": "SCMP_ACT_ALLOW"}]'
	update_config "$BUNDLE" '.process.args = ["echo", "should not print"]'
	run -127 husk run --bundle "$BUNDLE" "$ID"
	[[ "$output" != *"should not print"* ]]
}

@test "seccomp: SCMP_ACT_KILL kills the process with SIGSYS (exit 159)" {
	set_seccomp SCMP_ACT_ALLOW '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL"}]'
	update_config "$BUNDLE" '.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]
		| .process.args = ["mkdir", "/tmp/d"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 159 ]
	husk delete "$ID" 2>/dev/null || true
	# sh forks the mkdir applet: the child dies, the shell sees 128+SIGSYS
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "echo before; mkdir /tmp/d; echo status $?; [ -d /tmp/d ] || echo not-made"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"before"* ]]
	[[ "$output" == *"status 159"* ]]
	[[ "$output" == *"not-made"* ]]
}

@test "seccomp: argument filter: socket(AF_INET) denied, AF_NETLINK allowed" {
	set_seccomp SCMP_ACT_ALLOW '[{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]'
	# ifconfig uses an AF_INET socket for its ioctls, ip uses netlink
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "ifconfig lo >/dev/null 2>&1 && echo inet-ok || echo inet-denied; ip -o link >/dev/null && echo netlink-ok"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = inet-denied ]
	[ "${lines[1]}" = netlink-ok ]
	# and the same without the filter: the control
	update_config "$BUNDLE" 'del(.linux.seccomp)'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = inet-ok ]
}

@test "seccomp: argument filter: kill with SIGUSR1 denied, signal 0 and SIGUSR2 allowed" {
	set_seccomp SCMP_ACT_ALLOW '[{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}]}]'
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "trap \"echo got-usr1\" USR1; trap \"echo got-usr2\" USR2; kill -0 $$ && echo sig0-ok; kill -USR1 $$ 2>&1; echo status $?; kill -USR2 $$; echo end"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = sig0-ok ]
	[[ "${lines[1]}" == *"not permitted"* ]]
	[ "${lines[2]}" = "status 1" ]
	[[ "$output" != *got-usr1* ]]
	[[ "$output" == *got-usr2* ]]
	[ "${lines[-1]}" = end ]
}

@test "seccomp: architectures: an unknown one is refused, a native-only list works" {
	update_config "$BUNDLE" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_BOGUS"], "syscalls": []}'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"SCMP_ARCH_BOGUS"* ]]
	update_config "$BUNDLE" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
			"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
		| .mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]
		| .process.args = ["sh", "-c", "mkdir /tmp/d 2>&1; true"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "seccomp: an unknown action is refused" {
	set_seccomp SCMP_ACT_ALLOW '[{"names": ["mkdir"], "action": "SCMP_ACT_BOGUS"}]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"SCMP_ACT_BOGUS"* ]]
}

@test "seccomp: the compiled filter is cached ($HUSK_SECCOMP_CACHE) and reused" {
	export HUSK_SECCOMP_CACHE="$TEST_DIR/seccomp-cache"
	set_seccomp SCMP_ACT_ALLOW '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]'
	run husk --explain run --bundle "$BUNDLE" "$ID-1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"compiled"* ]]
	[[ "$output" != *"loaded from the cache"* ]]
	[ -n "$(ls -A "$HUSK_SECCOMP_CACHE")" ]
	husk delete "$ID-1" 2>/dev/null || true
	run husk --explain run --bundle "$BUNDLE" "$ID-2"
	[ "$status" -eq 0 ]
	[[ "$output" == *"loaded from the cache"* ]]
	# found by the profile's bytes in config.json, which are not parsed
	[[ "$output" == *"by the profile's bytes (not parsed)"* ]]
	husk delete "$ID-2" 2>/dev/null || true
	# another profile is compiled anew, and still works
	set_seccomp SCMP_ACT_ALLOW '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]'
	update_config "$BUNDLE" '.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]
		| .process.args = ["sh", "-c", "mkdir /tmp/d 2>&1; true"]'
	run husk --explain run --bundle "$BUNDLE" "$ID-3"
	[ "$status" -eq 0 ]
	[[ "$output" != *"loaded from the cache"* ]]
	[[ "$output" == *"No space left on device"* ]]
	run husk --explain run --bundle "$BUNDLE" "$ID-4"
	[ "$status" -eq 0 ]
	[[ "$output" == *"loaded from the cache"* ]]
	[[ "$output" == *"No space left on device"* ]]
}

@test "seccomp: a corrupt cache entry is not trusted" {
	export HUSK_SECCOMP_CACHE="$TEST_DIR/seccomp-cache"
	set_seccomp SCMP_ACT_ALLOW '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]'
	update_config "$BUNDLE" '.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]
		| .process.args = ["sh", "-c", "mkdir /tmp/d 2>&1; true"]'
	run husk run --bundle "$BUNDLE" "$ID-1"
	[ "$status" -eq 0 ]
	for f in "$HUSK_SECCOMP_CACHE"/*; do
		[ -f "$f" ] && head -c 16 /dev/urandom >"$f"
	done
	run husk run --bundle "$BUNDLE" "$ID-2"
	# either refused or recompiled, never a wrong filter
	if [ "$status" -eq 0 ]; then
		[[ "$output" == *"Operation not permitted"* ]]
	fi
}

@test "seccomp: exec gets the container's filter, kept apart from state.json; a changed one fails closed" {
	set_seccomp SCMP_ACT_ALLOW '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]'
	update_config "$BUNDLE" '.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]
		| .process.args = ["sleep", "1000"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	# state.json, which every command loads, does not carry the syscall
	# list; seccomp.json next to it does
	[ "$(jq -c '.config.linux.seccomp' "$ROOT/$ID/state.json")" = null ]
	[ "$(jq -r '.seccomp.file' "$ROOT/$ID/state.json")" = seccomp.json ]
	[ "$(jq -r '.syscalls[0].errnoRet' "$ROOT/$ID/seccomp.json")" = 28 ]
	[ "$(stat -c %a "$ROOT/$ID/seccomp.json")" = 600 ]
	run husk exec "$ID" sh -c 'grep ^Seccomp: /proc/self/status; mkdir /tmp/d 2>&1; true'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Seccomp:	2" ]
	[[ "${lines[1]}" == *"No space left on device"* ]]
	# update rewrites state.json: the profile stays the container's
	husk update --pids-limit 50 "$ID"
	[ "$(jq -r '.config.linux.resources.pids.limit' "$ROOT/$ID/state.json")" = 50 ]
	run husk exec "$ID" sh -c 'mkdir /tmp/d 2>&1'
	[[ "$output" == *"No space left on device"* ]]
	# a profile changed behind the runtime's back (same length): exec
	# refuses, never runs the process with another filter or none.  The
	# file holds the profile's bytes as config.json had them.
	cp "$ROOT/$ID/seccomp.json" "$TEST_DIR/seccomp.json"
	sed -E 's/("errnoRet": ?)28/\129/' "$TEST_DIR/seccomp.json" >"$ROOT/$ID/seccomp.json"
	! cmp -s "$TEST_DIR/seccomp.json" "$ROOT/$ID/seccomp.json"
	run husk exec "$ID" sh -c 'grep ^Seccomp: /proc/self/status; mkdir /tmp/d 2>&1'
	[ "$status" -ne 0 ]
	[[ "$output" == *"is not the one written at create"* ]]
	[[ "$output" != *"Seccomp:"* ]]
	# gone
	rm "$ROOT/$ID/seccomp.json"
	run husk exec "$ID" true
	[ "$status" -ne 0 ]
	[[ "$output" == *"corrupt: seccomp"* ]]
	# state.json's note of it not as written
	cp "$TEST_DIR/seccomp.json" "$ROOT/$ID/seccomp.json"
	cp "$ROOT/$ID/state.json" "$TEST_DIR/state.json"
	jq -c '.seccomp = 1' "$TEST_DIR/state.json" >"$ROOT/$ID/state.json"
	run husk exec "$ID" true
	[ "$status" -ne 0 ]
	[[ "$output" == *"corrupt: seccomp"* ]]
	# put back as written, exec works again
	cp "$TEST_DIR/state.json" "$ROOT/$ID/state.json"
	run husk exec "$ID" sh -c 'mkdir /tmp/e 2>&1'
	[[ "$output" == *"No space left on device"* ]]
	husk delete -f "$ID"
}

start_agent() {
	gcc -Wall -o "$TEST_DIR/seccomp-agent" "$BATS_TEST_DIRNAME/tools/seccomp-agent.c"
	"$TEST_DIR/seccomp-agent" "$TEST_DIR/agent.sock" >"$TEST_DIR/agent.out" 2>"$TEST_DIR/agent.err" </dev/null &
	AGENT=$!
	for _ in $(seq 100); do [ -S "$TEST_DIR/agent.sock" ] && return 0; sleep 0.02; done
	return 1
}

@test "seccomp: SCMP_ACT_NOTIFY: the agent gets the state and answers mkdir" {
	start_agent
	update_config "$BUNDLE" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
			"listenerPath": "'"$TEST_DIR/agent.sock"'", "listenerMetadata": "meta-data",
			"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}
		| .mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]
		| .process.args = ["sh", "-c", "mkdir /tmp/d && echo mkdir-ok; [ -d /tmp/d ] || echo not-made"]'
	husk_d create --bundle "$BUNDLE" "$ID"
	pid=$(husk state "$ID" | jq -r .pid)
	husk start "$ID"
	wait_for_status "$ID" stopped
	husk delete "$ID"
	cat "$TEST_DIR/container.log"
	[ "$(sed -n 1p "$TEST_DIR/container.log")" = mkdir-ok ]
	[ "$(sed -n 2p "$TEST_DIR/container.log")" = not-made ]
	for _ in $(seq 100); do kill -0 "$AGENT" 2>/dev/null || break; sleep 0.05; done
	wait "$AGENT"
	AGENT=
	cat "$TEST_DIR/agent.out" "$TEST_DIR/agent.err"
	grep -Eqx "notif (83|258)" "$TEST_DIR/agent.out"
	json=$(head -1 "$TEST_DIR/agent.out")
	[ "$(jq -r '.fds[0]' <<<"$json")" = seccompFd ]
	[ "$(jq -r .metadata <<<"$json")" = meta-data ]
	[ "$(jq -r .state.id <<<"$json")" = "$ID" ]
	# the state as the spec defines it: bundle is required, pid as seen by the host
	[ "$(jq -r .state.bundle <<<"$json")" = "$BUNDLE" ]
	[ "$(jq -r .state.pid <<<"$json")" = "$pid" ]
	[ "$(jq -r .pid <<<"$json")" = "$pid" ]
}

@test "seccomp: SCMP_ACT_NOTIFY without listenerPath is refused" {
	set_seccomp SCMP_ACT_ALLOW '[{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"listenerPath"* ]]
}

# The cache outlives containers: not under --root (where it stayed after the
# last container, in a directory its cleanup did not expect), but in a cache
# directory, shared by every root, of at most 64 filters (oldest go first).
@test "seccomp: the filter cache is not under --root, and holds at most 64 filters" {
	unset HUSK_SECCOMP_CACHE
	set_seccomp SCMP_ACT_ALLOW '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]'
	husk run --bundle "$BUNDLE" "$ID"
	[ -z "$(ls -A "$ROOT")" ]
	[ -n "$(ls /var/cache/husk/seccomp/*.bpf)" ]
	export HUSK_SECCOMP_CACHE="$TEST_DIR/seccomp-cache"
	mkdir -p "$HUSK_SECCOMP_CACHE"
	for i in $(seq 70); do
		printf 'old' >"$HUSK_SECCOMP_CACHE/$(printf '%016x' "$i").bpf"
		touch -d "2020-01-01 00:00:$((i % 60))" "$HUSK_SECCOMP_CACHE/$(printf '%016x' "$i").bpf"
	done
	set_seccomp SCMP_ACT_ALLOW '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]'
	run husk --explain run --bundle "$BUNDLE" "$ID"
	[[ "$output" == *"compiled"* ]]
	[ "$(ls "$HUSK_SECCOMP_CACHE" | wc -l)" -eq 64 ]
	# the new one stays, and is a hit next time
	run husk --explain run --bundle "$BUNDLE" "$ID"
	[[ "$output" == *"loaded from the cache"* ]]
	# an empty value turns the cache off
	HUSK_SECCOMP_CACHE= run husk --explain run --bundle "$BUNDLE" "$ID"
	[[ "$output" == *"compiled"* ]]
}
