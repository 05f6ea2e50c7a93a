#!/usr/bin/env bats
# checkpoint and restore through CRIU, with runc's flags, beside runc.
# Where CRIU cannot run (Debian's criu 3.17 on a kernel it does not know:
# `criu check` fails here on 6.18's vDSO layout), the tests that need it
# skip with CRIU's own reason, and what does not need it still runs: bad
# flags, wrong states, and a failing CRIU leaving the container as it was.

load helpers

# why CRIU cannot run here, or nothing when it can
criu_broken() {
	command -v criu >/dev/null || {
		echo "criu is not installed"
		return 0
	}
	local out
	out=$(criu check 2>&1) && return 1
	echo "criu check: $(grep -m1 -E 'Error|error' <<<"$out" || echo "$out" | tail -1)"
}

need_criu() {
	local why
	why=$(criu_broken) && skip "$why"
	return 0
}

# a counter that writes its count to /tmp/count in the rootfs ten times a
# second, running detached with stdio on /dev/null (CRIU restores files by
# path, and a pipe of bats' would not be there)
start_counter() {
	update_config "$BUNDLE" '.root.readonly = false | .process.args = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i >/tmp/count; sleep 0.1; done"]'
	"$HUSK_OCI" --root "$ROOT" run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_count_above 3
}

count() {
	cat "$BUNDLE/rootfs/tmp/count" 2>/dev/null || echo 0
}

# wait_count_above N: until the counter passed N (at most 5 s)
wait_count_above() {
	for _ in $(seq 100); do
		[ "$(count)" -gt "$1" ] && return 0
		sleep 0.05
	done
	echo "count stuck at $(count)" >&2
	return 1
}

@test "checkpoint + restore: the counter keeps counting from where it was" {
	need_criu
	start_counter
	run husk checkpoint --image-path "$TEST_DIR/img" --work-path "$TEST_DIR/work" --file-locks --manage-cgroups-mode soft "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	# without --leave-running the container is gone, as with runc
	run husk state "$ID"
	[ "$status" -ne 0 ]
	at=$(count)
	sleep 0.3
	[ "$(count)" -eq "$at" ]
	run husk restore -d --image-path "$TEST_DIR/img" --work-path "$TEST_DIR/work" --bundle "$BUNDLE" --pid-file "$TEST_DIR/pid" "$ID" </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(husk state "$ID" | jq -r .status)" = running ]
	[ "$(husk state "$ID" | jq .pid)" = "$(cat "$TEST_DIR/pid")" ]
	wait_count_above $((at + 3))
	# the same process tree, not a new one counting from 1
	[ "$(husk exec "$ID" cat /tmp/count)" -gt "$at" ]
	husk delete -f "$ID"
}

@test "checkpoint --leave-running, --pre-dump then a dump on it, --tcp-established" {
	need_criu
	start_counter
	husk checkpoint --pre-dump --image-path "$TEST_DIR/img/pre" "$ID"
	[ "$(husk state "$ID" | jq -r .status)" = running ]
	husk checkpoint --leave-running --tcp-established --parent-path ../pre --image-path "$TEST_DIR/img/full" "$ID"
	[ "$(husk state "$ID" | jq -r .status)" = running ]
	at=$(count)
	wait_count_above $((at + 2))
	husk delete -f "$ID"
	husk restore -d --image-path "$TEST_DIR/img/full" --bundle "$BUNDLE" "$ID" </dev/null >/dev/null
	[ "$(husk state "$ID" | jq -r .status)" = running ]
	husk delete -f "$ID"
}

@test "checkpoint + restore beside runc: both keep the counter going" {
	need_criu
	update_config "$BUNDLE" '.root.readonly = false | .process.args = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i >/tmp/count; sleep 0.1; done"]'
	"$RUNC" --root "$TEST_DIR/runc" run -d -b "$BUNDLE" "r$ID" </dev/null >/dev/null 2>&1
	wait_count_above 3
	"$RUNC" --root "$TEST_DIR/runc" checkpoint --image-path "$TEST_DIR/rimg" "r$ID"
	at=$(count)
	"$RUNC" --root "$TEST_DIR/runc" restore -d --image-path "$TEST_DIR/rimg" -b "$BUNDLE" "r$ID" </dev/null >/dev/null 2>&1
	wait_count_above $((at + 3))
	"$RUNC" --root "$TEST_DIR/runc" delete -f "r$ID"
}

@test "checkpoint where CRIU cannot run: fails with CRIU's reason, the container runs on" {
	criu_broken >/dev/null || skip "criu runs here"
	start_counter
	run husk checkpoint --image-path "$TEST_DIR/img" "$ID"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"checkpoint container \"$ID\": criu dump failed"*"Error"*"(log: $TEST_DIR/img/dump.log)"* ]]
	[ "$(husk state "$ID" | jq -r .status)" = running ]
	at=$(count)
	wait_count_above $((at + 2))
	husk delete -f "$ID"
}

@test "checkpoint and restore: bad flags, wrong states and a missing image are refused, nothing left" {
	update_config "$BUNDLE" '.process.args = ["sleep", "30"]'
	run husk checkpoint --manage-cgroups-mode bogus "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == *'--manage-cgroups-mode "bogus": expected soft, full, strict or ignore'* ]]
	run husk checkpoint --image-path "$TEST_DIR/img" nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *'"nosuch" does not exist'* ]]
	# created, never started: nothing to dump
	husk_d create --bundle "$BUNDLE" "$ID"
	run husk checkpoint --image-path "$TEST_DIR/img" "$ID"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"is created: only a running one can be checkpointed"* ]]
	husk delete -f "$ID"
	run husk restore --image-path "$TEST_DIR/none" --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"--image-path \"$TEST_DIR/none\""* ]]
	run husk restore --leave-running --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 1 ]
	# images that CRIU cannot restore (none at all): its error; the state
	# dir, cgroup and rootfs bind made for it go (teardown checks)
	mkdir "$TEST_DIR/empty"
	run husk restore --image-path "$TEST_DIR/empty" --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"restore container \"$ID\": criu restore failed"*"(log: $TEST_DIR/empty/restore.log)"* ]]
	[ -z "$(husk list -q)" ]
}

@test "checkpoint --help and restore --help list runc's flags; features says it is there" {
	run "$HUSK_OCI" features
	[ "$(jq -r '.annotations["io.github.husk.checkpoint.enabled"]' <<<"$output")" = true ]
	run "$HUSK_OCI" checkpoint --help
	[ "$status" -eq 0 ]
	for f in --image-path --work-path --leave-running --tcp-established --file-locks --pre-dump --manage-cgroups-mode; do
		[[ "$output" == *"$f"* ]]
	done
	run "$HUSK_OCI" restore --help
	[ "$status" -eq 0 ]
	for f in --image-path --work-path --tcp-established --file-locks --manage-cgroups-mode --bundle --detach; do
		[[ "$output" == *"$f"* ]]
	done
}
