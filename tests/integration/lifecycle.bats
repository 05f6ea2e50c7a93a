#!/usr/bin/env bats
# create, start, state, kill, delete, list: the OCI lifecycle.

load helpers

@test "create then start: created waits, start runs it" {
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "echo started > /tmp/out; sleep 100"] | .root.readonly = false'
	husk_d create --bundle "$BUNDLE" --pid-file "$TEST_DIR/pid" "$ID"
	run husk state "$ID"
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = created ]
	[ "$(jq -r .id <<<"$output")" = "$ID" ]
	[ "$(jq -r .bundle <<<"$output")" = "$BUNDLE" ]
	pid=$(jq -r .pid <<<"$output")
	[ "$pid" = "$(cat "$TEST_DIR/pid")" ]
	[ ! -e "$BUNDLE/rootfs/tmp/out" ]
	run husk start "$ID"
	[ "$status" -eq 0 ]
	wait_for_status "$ID" running
	for _ in $(seq 50); do [ -e "$BUNDLE/rootfs/tmp/out" ] && break; sleep 0.05; done
	[ "$(cat "$BUNDLE/rootfs/tmp/out")" = started ]
	run husk start "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is running, not created"* ]]
	run husk delete "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--force"* ]]
	run husk delete --force "$ID"
	[ "$status" -eq 0 ]
}

@test "state: the spec's fields" {
	update_config "$BUNDLE" '.process.args = ["sleep", "100"] | .annotations = {"org.example.a": "b"}'
	husk_d create --bundle "$BUNDLE" "$ID"
	run husk state "$ID"
	[ "$status" -eq 0 ]
	for f in ociVersion id status pid bundle; do
		[ "$(jq "has(\"$f\")" <<<"$output")" = true ]
	done
	[ "$(jq -r '.annotations["org.example.a"]' <<<"$output")" = b ]
	husk delete --force "$ID"
}

@test "kill: by name, by number, with SIG prefix; a bad signal is refused" {
	# pid 1 gets only the signals it handles: trap TERM
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "trap \"exit 0\" TERM; while :; do sleep 0.05; done"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	run husk kill "$ID" NOSUCHSIG
	[ "$status" -ne 0 ]
	[[ "$output" == *'unknown signal "NOSUCHSIG"'* ]]
	wait_for_status "$ID" running
	run husk kill "$ID" SIGTERM
	[ "$status" -eq 0 ]
	wait_for_status "$ID" stopped
	husk delete "$ID"
	husk_d run -d --bundle "$BUNDLE" "$ID"
	run husk kill "$ID" 9
	[ "$status" -eq 0 ]
	wait_for_status "$ID" stopped
	husk delete "$ID"
}

@test "kill --all: every process in the container's cgroup" {
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "trap \"\" TERM; sleep 100 & sleep 100 & wait"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	for _ in $(seq 50); do [ "$(husk ps --format json "$ID" | jq length)" -ge 3 ] && break; sleep 0.05; done
	run husk ps --format json "$ID"
	[ "$(jq length <<<"$output")" -eq 3 ]
	pids=$(jq -r '.[]' <<<"$output")
	run husk kill --all "$ID" KILL
	[ "$status" -eq 0 ]
	wait_for_status "$ID" stopped
	for p in $pids; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		! kill -0 "$p" 2>/dev/null
	done
	husk delete "$ID"
}

@test "delete: a stopped container; its cgroup goes too" {
	update_config "$BUNDLE" '.process.args = ["true"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" stopped
	cg=$(grep memory /proc/self/cgroup | cut -d: -f3)
	[ -d "/sys/fs/cgroup/memory$cg/$ID" ]
	run husk delete "$ID"
	[ "$status" -eq 0 ]
	[ ! -d "/sys/fs/cgroup/memory$cg/$ID" ]
	[ ! -d "$ROOT/$ID" ]
}

@test "delete --force of a container that does not exist succeeds, plain delete fails" {
	run husk delete --force nosuch
	[ "$status" -eq 0 ]
	run husk delete nosuch
	[ "$status" -ne 0 ]
	[[ "$output" == *'container "nosuch" does not exist'* ]]
}

@test "list: table, -q and json" {
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d create --bundle "$BUNDLE" "$ID-a"
	husk_d run -d --bundle "$BUNDLE" "$ID-b"
	run husk list -q
	[ "$status" -eq 0 ]
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "$ID-a $ID-b " ]
	run husk list --format json
	[ "$(jq -r ".[] | select(.id == \"$ID-a\") | .status" <<<"$output")" = created ]
	[ "$(jq -r ".[] | select(.id == \"$ID-b\") | .status" <<<"$output")" = running ]
	run husk list
	[[ "${lines[0]}" == ID*PID*STATUS*BUNDLE* ]]
	husk delete --force "$ID-a"
	husk delete --force "$ID-b"
}

@test "pause and resume: a frozen container stops counting" {
	# the count is renamed into place: a reader never sees it half written
	update_config "$BUNDLE" '.root.readonly = false | .process.args = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.01; done"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	sleep 0.2
	run husk pause "$ID"
	[ "$status" -eq 0 ]
	wait_for_status "$ID" paused
	a=$(cat "$BUNDLE/rootfs/tmp/n")
	sleep 0.3
	b=$(cat "$BUNDLE/rootfs/tmp/n")
	[ "$a" = "$b" ]
	run husk resume "$ID"
	[ "$status" -eq 0 ]
	sleep 0.3
	c=$(cat "$BUNDLE/rootfs/tmp/n")
	[ "$c" -gt "$b" ]
	husk delete --force "$ID"
}

@test "concurrent commands on one id: only one create wins" {
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	for i in 1 2 3 4; do
		("$HUSK_OCI" --root "$ROOT" create --bundle "$BUNDLE" "$ID" </dev/null >"$TEST_DIR/c$i" 2>&1; echo $? >>"$TEST_DIR/c$i") &
	done
	wait
	ok=$(grep -lx 0 "$TEST_DIR"/c? | wc -l)
	[ "$ok" -eq 1 ]
	grep -l "already exists" "$TEST_DIR"/c? | wc -l | grep -qx 3
	husk delete --force "$ID"
}

# runtime.md: "Attempting to delete a container that is not stopped MUST
# have no effect on the container and MUST generate an error."
@test "delete: a created container is not stopped: refused without --force, left as it was" {
	update_config "$BUNDLE" '.process.args = ["true"]'
	husk_d create --bundle "$BUNDLE" "$ID"
	pid=$(husk state "$ID" | jq -r .pid)
	run husk delete "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is created"*"--force"* ]]
	[ "$(husk state "$ID" | jq -r .status)" = created ]
	kill -0 "$pid"
	# and it still starts
	husk start "$ID"
	wait_for_status "$ID" stopped
	husk delete "$ID"
	# --force deletes one that is created
	husk_d create --bundle "$BUNDLE" "$ID"
	husk delete --force "$ID"
	[ -z "$(husk list -q)" ]
}

# config.md: process is "REQUIRED when start is called", so create succeeds
# without one and start fails (runc 1.1.5 and crun 1.8.1 refuse the create).
@test "a config without process: create succeeds, start fails and changes nothing" {
	update_config "$BUNDLE" 'del(.process)'
	husk_d create --bundle "$BUNDLE" "$ID"
	[ "$(husk state "$ID" | jq -r .status)" = created ]
	run husk start "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"process: missing"* ]]
	[ "$(husk state "$ID" | jq -r .status)" = created ]
	husk delete --force "$ID"
	# run has nothing to run: it fails and leaves nothing
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"process: missing"* ]]
	[ -z "$(husk list -q)" ]
}

# containerd's shim takes a kill error as "already gone" only when it says
# runc's "container not running" or "does not exist": keep those words
@test "kill and delete errors use runc's words where clients parse them" {
	RUNC_BIN=${RUNC_BIN:-/usr/sbin/runc}
	local rid="rc$$-$BATS_TEST_NUMBER"
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" stopped
	"$RUNC_BIN" --root "$TEST_DIR/runc-state" run -d --bundle "$BUNDLE" "$rid" </dev/null >/dev/null 2>&1
	for _ in $(seq 100); do
		[ "$("$RUNC_BIN" --root "$TEST_DIR/runc-state" state "$rid" | jq -r .status)" = stopped ] && break
		sleep 0.05
	done
	run "$RUNC_BIN" --root "$TEST_DIR/runc-state" kill "$rid" KILL
	echo "runc: $output"
	[[ "$output" == *"container not running"* ]]
	run husk kill "$ID" KILL
	echo "husk-oci: $output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"container not running"* ]]
	"$RUNC_BIN" --root "$TEST_DIR/runc-state" delete "$rid"
	husk delete "$ID"
	for verb in kill state delete; do
		run "$RUNC_BIN" --root "$TEST_DIR/runc-state" $verb "$rid"
		[[ "$output" == *"does not exist"* ]]
		run husk $verb "$ID"
		echo "husk-oci $verb: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"does not exist"* ]]
	done
}

# A container frozen whole by a parent v1 freezer cgroup (a pod frozen):
# thawing its own cgroup does nothing and its tasks take no SIGKILL, so
# delete --force moves them out to the freezer root, kills and removes
# (it took 53 s and failed with EBUSY).  v2 hosts: the VM suite.
@test "delete --force of a container frozen by its parent v1 freezer cgroup" {
	[ -e /sys/fs/cgroup/freezer/cgroup.procs ] || skip "no v1 freezer hierarchy on this host"
	local pod="ht$$-$BATS_TEST_NUMBER-pod"
	update_config "$BUNDLE" '.process.args = ["sleep", "1000"] | .linux.cgroupsPath = "/'"$pod"'/'"$ID"'"'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	pid=$(husk state "$ID" | jq -r .pid)
	echo FROZEN >"/sys/fs/cgroup/freezer/$pod/freezer.state"
	[ "$(cat "/sys/fs/cgroup/freezer/$pod/$ID/freezer.state")" = FROZEN ]
	SECONDS=0
	run husk delete --force "$ID"
	echo "$output ($SECONDS s)"
	[ "$status" -eq 0 ]
	[ "$SECONDS" -le 3 ]
	! kill -0 "$pid" 2>/dev/null
	[ -z "$(husk list -q)" ]
	# the pod's cgroup was made by husk for this container: gone with it
	[ ! -d "/sys/fs/cgroup/freezer/$pod" ]
}
