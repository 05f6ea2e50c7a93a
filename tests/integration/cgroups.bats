#!/usr/bin/env bats
# Resource limits by effect (memory, pids, cpu, devices) on this host's
# cgroups, and the commands that change and read them: update, events.

load helpers

memcg() { # the container's memory cgroup directory on the host
	local own
	own=$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)
	echo "/sys/fs/cgroup/memory${own%/}/$1"
}

@test "memory: a hog is OOM-killed at the limit and events reports it" {
	update_config "$BUNDLE" '.linux.resources.memory = {"limit": 33554432, "swap": 33554432}
		| .process.args = ["sh", "-c", "x=$(head -c 100000000 /dev/zero | tr \"\\\\0\" a); echo survived"]'
	husk_d create --bundle "$BUNDLE" "$ID"
	[ "$(cat "$(memcg "$ID")/memory.limit_in_bytes")" = 33554432 ]
	# listening before the hog starts: events reports the kills after it
	timeout 20 "$HUSK_OCI" --root "$ROOT" events --interval 1s "$ID" >"$TEST_DIR/events" &
	sleep 0.5
	husk start "$ID"
	wait_for_status "$ID" stopped 200
	wait
	! grep -q survived "$TEST_DIR/container.log"
	grep -q '"type":"oom"' "$TEST_DIR/events"
}

@test "pids: a fork bomb stops at pids.max" {
	update_config "$BUNDLE" '.linux.resources.pids = {"limit": 10}
		| .process.args = ["sh", "-c", "sh -c \"for i in \\$(seq 40); do sleep 100 & done\"; echo bomb-stopped; sleep 100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	for _ in $(seq 100); do
		grep -q bomb-stopped "$TEST_DIR/container.log" && break
		sleep 0.05
	done
	sleep 0.2
	cat "$TEST_DIR/container.log"
	# the inner shell was refused a fork, and the container never held
	# more than pids.max processes
	grep -q "can't fork" "$TEST_DIR/container.log"
	n=$(husk ps --format json "$ID" | jq length)
	echo "processes: $n"
	[ "$n" -le 10 ]
	[ "$n" -ge 8 ]
	husk delete --force "$ID"
}

@test "cpu: a quota of 0.2 CPU keeps a busy loop near 20%" {
	update_config "$BUNDLE" '.linux.resources.cpu = {"quota": 20000, "period": 100000}
		| .process.args = ["sh", "-c", "while :; do :; done"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	a=$(husk events --stats "$ID" | jq .data.cpu.usage.total)
	sleep 1
	b=$(husk events --stats "$ID" | jq .data.cpu.usage.total)
	used=$(( (b - a) / 1000000 )) # ms of CPU in about a second
	echo "used ${used} ms"
	# loosely: well under a full CPU, clearly more than nothing
	[ "$used" -lt 450 ]
	[ "$used" -gt 50 ]
	husk delete --force "$ID"
}

@test "devices: a deny rule for /dev/null writes is enforced, other devices still work" {
	update_config "$BUNDLE" '.linux.resources.devices = [{"allow": false, "access": "rwm"}, {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "w"}]
		| .process.args = ["sh", "-c", "head -c 1 /dev/zero | wc -c; echo x >/dev/null && echo null-ok || echo null-denied"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "${lines[0]}" = 1 ]
	[[ "$output" == *null-denied* ]]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "devices: the default rules let the default devices work and deny the rest" {
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "echo x >/dev/null && echo ok; mknod /tmp/sda b 8 0 && head -c 1 /tmp/sda >/dev/null 2>&1 && echo read-disk || echo disk-denied"] | .root.readonly = false
		| .process.capabilities.bounding += ["CAP_MKNOD"] | .process.capabilities.effective += ["CAP_MKNOD"] | .process.capabilities.permitted += ["CAP_MKNOD"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "${lines[0]}" = ok ]
	[ "${lines[1]}" = disk-denied ]
}

@test "update: memory, pids, cpu by flags and by -r; state keeps the new values" {
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	run husk update --memory 64m --pids-limit 7 --cpu-shares 512 "$ID"
	[ "$status" -eq 0 ]
	[ "$(cat "$(memcg "$ID")/memory.limit_in_bytes")" = 67108864 ]
	own=$(awk -F: '$2 == "pids" {print $3}' /proc/self/cgroup)
	[ "$(cat "/sys/fs/cgroup/pids${own%/}/$ID/pids.max")" = 7 ]
	[ "$(husk events --stats "$ID" | jq .data.pids.limit)" = 7 ]
	echo '{"pids": {"limit": 9}, "memory": {"limit": 50331648}}' >"$TEST_DIR/res.json"
	run husk update -r "$TEST_DIR/res.json" "$ID"
	[ "$status" -eq 0 ]
	[ "$(cat "/sys/fs/cgroup/pids${own%/}/$ID/pids.max")" = 9 ]
	[ "$(cat "$(memcg "$ID")/memory.limit_in_bytes")" = 50331648 ]
	[ "$(jq .config.linux.resources.pids.limit "$ROOT/$ID/state.json")" = 9 ]
	husk delete --force "$ID"
}

@test "update: bad input is refused clearly" {
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	run husk update --memory lots "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *'"lots" is not a size'* ]]
	run husk update --cpuset-cpus 9999 "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"cpu.cpus"*"cpuset.cpus"* ]]
	# below what the container already uses
	run husk update --memory 4096 "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"memory.limit"*"memory.limit_in_bytes"* ]]
	run husk update -r /nonexistent "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/nonexistent"* ]]
	husk kill "$ID" KILL
	wait_for_status "$ID" stopped
	run husk update --pids-limit 5 "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is stopped"* ]]
	husk delete "$ID"
}

@test "create: a resource the host cannot apply fails and leaves no cgroup" {
	update_config "$BUNDLE" '.linux.resources.cpu = {"cpus": "9999"}'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.cpu.cpus"*"cpuset.cpus"* ]]
	assert_nothing_left
	update_config "$BUNDLE" 'del(.linux.resources.cpu) | .linux.resources.devices = [{"allow": true, "type": "q", "access": "rwm"}]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.devices[0].type"* ]]
	assert_nothing_left
}

@test "events --stats: runc's stats JSON" {
	update_config "$BUNDLE" '.process.args = ["sleep", "100"] | .linux.resources.memory = {"limit": 67108864}'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	run husk events --stats "$ID"
	[ "$status" -eq 0 ]
	[ "$(jq -r .type <<<"$output")" = stats ]
	[ "$(jq -r .id <<<"$output")" = "$ID" ]
	[ "$(jq .data.pids.current <<<"$output")" -ge 1 ]
	[ "$(jq .data.memory.usage.limit <<<"$output")" = 67108864 ]
	[ "$(jq .data.memory.usage.usage <<<"$output")" -gt 0 ]
	[ "$(jq '.data.cpu.usage.percpu | length' <<<"$output")" -ge 1 ]
	husk delete --force "$ID"
}

@test "devices: a hybrid host enforces the v1 lists alone; a v2-only host gets one eBPF program" {
	# the v2 program itself is tested by effect in the v2 VM (tests/vm,
	# guest test "devices"); here: the v1 lists hold the rules, and no
	# redundant program is loaded on the unified hierarchy
	[ -d /sys/fs/cgroup/devices ] || skip "no v1 devices hierarchy on this host"
	gcc -Wall -o "$TEST_DIR/bpf-query" "$BATS_TEST_DIRNAME/tools/bpf-query.c"
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	v1=$(jq -r '.cgroup.dirs[] | select(.controllers == "devices") | .path' "$ROOT/$ID/state.json")
	grep -q '^c 1:3 rwm$' "$v1/devices.list"
	! grep -q '^a \*:\* rwm$' "$v1/devices.list"
	dir=$(jq -r '.cgroup.dirs[] | select(.v2) | .path' "$ROOT/$ID/state.json")
	if [ -n "$dir" ] && [ -d "$dir" ]; then
		[ "$("$TEST_DIR/bpf-query" "$dir")" = 0 ]
	fi
	husk delete --force "$ID"
}
