#!/usr/bin/env bats
# husk (the engine): behaviours users rely on that once were wrong, each
# tried as a user would meet it.

load helpers

HUSK=${HUSK:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build/husk}

setup() {
	TEST_DIR=$(mktemp -d /tmp/husk-test.XXXXXX)
	ROOT="$TEST_DIR/state" # for assert_nothing_left
	export HUSK_ROOT="$TEST_DIR/lib" HUSK_RUNROOT="$TEST_DIR/run"
}

teardown() {
	for c in $("$HUSK" ps -aq 2>/dev/null); do "$HUSK" rm -f "$c" >/dev/null 2>&1; done
	local left=""
	m=$(grep -F "$TEST_DIR" /proc/self/mountinfo | grep -v '/layers/' || true)
	[ -z "$m" ] || left+="mounts: $m"
	cg=$(find /sys/fs/cgroup -maxdepth 6 -type d -name 'husk-*' -newer "$TEST_DIR" 2>/dev/null || true)
	[ -z "$cg" ] || left+="cgroups: $cg"
	grep -F "$TEST_DIR" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$TEST_DIR"
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

@test "husk run: with the default network (none) lo is up with 127.0.0.1, which answers" {
	run "$HUSK" run --rm busybox sh -c 'ip addr show lo; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping-ok'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"<LOOPBACK,UP,LOWER_UP>"* ]]
	[[ "$output" == *"inet 127.0.0.1/8 scope host lo"* ]]
	[ "${lines[-1]}" = ping-ok ]
}
