#!/usr/bin/env bats
# checkpoint and restore through CRIU, with runc's flags, beside runc and
# under Podman (clients-podman.bats).  CRIU is found by criu.bash: CRIU 4.1
# from scripts/build-criu.sh, or any that passes `criu check` and a dump
# here; Debian 12's 3.17 cannot run on this 6.x kernel ("vdso: Unexpected
# rt vDSO area bounds"), so without 4.1 the tests that need CRIU skip with
# its reason, and what does not need it still runs: bad flags, wrong states,
# a failing CRIU leaving the container as it was, and the init's session
# and stdio that CRIU needs.

load helpers
load criu

setup_file() {
	find_criu
}

# husk-oci with the CRIU found; on a failure, the errors in CRIU's logs
huskc() {
	husk --criu "$CRIU_BIN" "$@" && return 0
	local rc=$?
	grep -h -B3 -E 'Error|rror:' "$TEST_DIR"/*/*.log "$TEST_DIR"/*.log 2>/dev/null | tail -30 >&2
	return $rc
}

COUNTER='i=0; while true; do i=$((i+1)); echo $i >/tmp/count; sleep 0.1; done'

# a counter that writes its count to /tmp/count in the rootfs ten times a
# second, its count in the shell's memory, running detached with stdio on
# /dev/null (a pipe of bats' would be an external pipe to CRIU)
start_counter() {
	update_config "$BUNDLE" ".root.readonly = false | .process.args = [\"sh\", \"-c\", \"$COUNTER\"]"
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

# wait_count_not N: until the counter was written with another value
wait_count_not() {
	for _ in $(seq 100); do
		[ "$(count)" != "$1" ] && return 0
		sleep 0.05
	done
	echo "count stuck at $(count)" >&2
	return 1
}

# the restored init's cgroup, in the memory hierarchy (v1) or the unified one
init_cgroup() {
	local pid
	pid=$(husk state "$ID" | jq .pid)
	grep -E '^[0-9]+:(memory|):' "/proc/$pid/cgroup" | head -1 | cut -d: -f3
}

@test "the init is a session leader with the container's own /dev/null as stdio (what CRIU needs)" {
	update_config "$BUNDLE" '.process.args = ["sleep", "30"]'
	husk run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	# /proc/1/stat's sixth field: the session; runc's init is its leader
	# (CRIU: "a session leader of 1 is outside of its pid namespace")
	run husk exec "$ID" sh -c 'cut -d" " -f6 /proc/1/stat'
	[ "$output" = 1 ]
	# the host's /dev/null is reopened on the container's, as runc does
	# (CRIU: "Can't lookup mount=... for fd=0 path=/dev/null")
	run husk exec "$ID" sh -c 'for f in 0 1 2; do stat -L -c %d:%i /proc/1/fd/$f; done; stat -c %d:%i /dev/null'
	echo "$output"
	[ "$(sort -u <<<"$output" | wc -l)" -eq 1 ]
	husk delete -f "$ID"
}

@test "checkpoint + restore: the counter keeps counting from where it was" {
	need_criu
	start_counter
	run huskc checkpoint --image-path "$TEST_DIR/img" --work-path "$TEST_DIR/work" --file-locks --manage-cgroups-mode soft "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	# CRIU's logs in the work path, the images and runc's descriptors.json
	# in the image path
	[ -s "$TEST_DIR/work/dump.log" ] && [ ! -e "$TEST_DIR/img/dump.log" ]
	[ "$(jq -c . "$TEST_DIR/img/descriptors.json")" = '["/dev/null","/dev/null","/dev/null"]' ]
	# without --leave-running the container is gone, as with runc
	run husk state "$ID"
	[ "$status" -ne 0 ]
	at=$(count)
	sleep 0.3
	[ "$(count)" -eq "$at" ]
	run huskc restore -d --image-path "$TEST_DIR/img" --work-path "$TEST_DIR/work" --bundle "$BUNDLE" --pid-file "$TEST_DIR/pid" "$ID" </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[ -s "$TEST_DIR/work/restore.log" ]
	[ "$(husk state "$ID" | jq -r .status)" = running ]
	[ "$(husk state "$ID" | jq .pid)" = "$(cat "$TEST_DIR/pid")" ]
	wait_count_above $((at + 3))
	# the same process tree, not a new one counting from 1
	[ "$(husk exec "$ID" cat /tmp/count)" -gt "$at" ]
	# and the container works as one: ps, kill, delete
	husk ps --format json "$ID" | jq -e --argjson p "$(husk state "$ID" | jq .pid)" 'index($p) != null'
	husk kill "$ID" KILL
	wait_for_status "$ID" stopped
	husk delete "$ID"
}

@test "restore keeps the seccomp profile: exec into the restored container is confined as before" {
	need_criu
	export HUSK_SECCOMP_CACHE="$TEST_DIR/seccomp-cache"
	update_config "$BUNDLE" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]}'
	start_counter
	run huskc checkpoint --image-path "$TEST_DIR/img" --work-path "$TEST_DIR/work" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	# create cached the filter: the restore finds it by the profile's
	# bytes and parses no profile, and its state must still name it
	run huskc restore -d --image-path "$TEST_DIR/img" --work-path "$TEST_DIR/work" --bundle "$BUNDLE" "$ID" </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.seccomp.file' "$ROOT/$ID/state.json")" = seccomp.json ]
	[ "$(jq -r '.syscalls[0].errnoRet' "$ROOT/$ID/seccomp.json")" = 28 ]
	run husk exec "$ID" sh -c 'grep ^Seccomp: /proc/self/status; mkdir /tmp/d 2>&1; true'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Seccomp:	2" ]
	[[ "${lines[1]}" == *"No space left on device"* ]]
	husk kill "$ID" KILL
	wait_for_status "$ID" stopped
	husk delete "$ID"
}

@test "checkpoint --leave-running: it runs on; a restore counts on from the dump's count, not the latest" {
	need_criu
	start_counter
	# the dump is taken somewhere between these two counts
	before=$(count)
	huskc checkpoint --leave-running --image-path "$TEST_DIR/img" "$ID"
	[ "$(husk state "$ID" | jq -r .status)" = running ]
	at=$(count)
	# 3 s past the dump, then gone
	wait_count_above $((at + 30))
	husk delete -f "$ID"
	latest=$(count)
	huskc restore -d --image-path "$TEST_DIR/img" --bundle "$BUNDLE" "$ID" </dev/null
	# the restored shell's i is the dump's: it writes at+1, at+2..., far
	# below the latest count (a restore takes about 2 s, the gap was 3)
	wait_count_not "$latest"
	now=$(count)
	echo "dump between $before and $at, latest $latest, restored writes $now"
	[ "$now" -lt "$latest" ] && [ "$now" -ge "$before" ]
	husk delete -f "$ID"
}

@test "checkpoint --tcp-established: a TCP connection inside the container goes on after restore" {
	need_criu
	rm -f "$BUNDLE/rootfs/tmp/recv"
	update_config "$BUNDLE" '.root.readonly = false | .process.args = ["sh", "-c", "sleep 100000 | nc -l -p 5000 >/tmp/recv & sleep 0.3; i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done | nc 127.0.0.1 5000"]'
	husk run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	recv() {
		local v
		v=$(tail -n1 "$BUNDLE/rootfs/tmp/recv" 2>/dev/null || true)
		echo "${v:-0}"
	}
	for _ in $(seq 100); do [ "$(recv)" -gt 3 ] && break; sleep 0.05; done
	[ "$(recv)" -gt 3 ]
	# without the flag CRIU refuses, and the container runs on
	run huskc checkpoint --image-path "$TEST_DIR/img0" "$ID"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Connected TCP socket, consider using --tcp-established"* ]]
	[ "$(husk state "$ID" | jq -r .status)" = running ]
	run huskc checkpoint --tcp-established --image-path "$TEST_DIR/img" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	at=$(recv)
	huskc restore -d --tcp-established --image-path "$TEST_DIR/img" --bundle "$BUNDLE" "$ID" </dev/null
	# the server gets the numbers that follow on the same connection
	for _ in $(seq 100); do [ "$(recv)" -gt $((at + 3)) ] && break; sleep 0.05; done
	[ "$(recv)" -gt $((at + 3)) ]
	# no reconnection: one "1" in what the server received
	[ "$(grep -cx 1 "$BUNDLE/rootfs/tmp/recv")" -eq 1 ]
	husk delete -f "$ID"
}

@test "restore without -d waits for the restored process and exits with its status, as run does" {
	need_criu
	update_config "$BUNDLE" '.root.readonly = false | .process.args = ["sh", "-c", "i=0; while [ $i -lt 20 ]; do i=$((i+1)); echo $i >/tmp/count; sleep 0.1; done; exit 7"]'
	husk run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_count_above 3
	huskc checkpoint --image-path "$TEST_DIR/img" "$ID"
	[ "$(count)" -lt 20 ]
	run huskc restore --image-path "$TEST_DIR/img" --bundle "$BUNDLE" "$ID" </dev/null
	[ "$status" -eq 7 ]
	[ "$(count)" -eq 20 ]
	# and it is gone, as after run
	[ -z "$(husk list -q)" ]
}

@test "relative --root, --image-path and --work-path are the caller's (CRIU gets them absolute)" {
	need_criu
	start_counter
	cd "$TEST_DIR"
	local rel=("$HUSK_OCI" --root state --criu "$CRIU_BIN")
	"${rel[@]}" checkpoint --image-path img --work-path work "$ID"
	[ -s img/inventory.img ] && [ -s work/dump.log ]
	at=$(count)
	# the restore's rootfs for CRIU is under --root: a relative one failed
	# ("Unable to mount state/ID/criu-root")
	run "${rel[@]}" restore -d --image-path img --work-path work --bundle bundle "$ID" </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	wait_count_above $((at + 3))
	husk delete -f "$ID"
}

@test "--manage-cgroups-mode soft, full, strict, ignore: the restored tree is in the container's cgroup" {
	need_criu
	start_counter
	for mode in soft full strict ignore; do
		huskc checkpoint --manage-cgroups-mode "$mode" --image-path "$TEST_DIR/img-$mode" "$ID"
		at=$(count)
		run huskc restore -d --manage-cgroups-mode "$mode" --image-path "$TEST_DIR/img-$mode" --bundle "$BUNDLE" "$ID" </dev/null
		echo "$mode: $output"
		[ "$status" -eq 0 ]
		cg=$(init_cgroup)
		echo "$mode: $cg"
		[[ "$cg" == */"$ID" ]]
		wait_count_above $((at + 2))
	done
	husk delete -f "$ID"
}

@test "checkpoint --pre-dump, then a dump on its images (--parent-path)" {
	need_criu
	start_counter
	if ! "$CRIU_BIN" check --feature mem_dirty_track >/dev/null 2>&1; then
		# as runc: refused, with why, and the container runs on
		run huskc checkpoint --pre-dump --image-path "$TEST_DIR/img/pre" "$ID"
		echo "$output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"--pre-dump: this kernel has no memory dirty tracking"* ]]
		[ "$(husk state "$ID" | jq -r .status)" = running ]
		husk delete -f "$ID"
		skip "$CRIU_BIN: no memory dirty tracking on this kernel (pre-dump needs it): refusal checked"
	fi
	huskc checkpoint --pre-dump --image-path "$TEST_DIR/img/pre" "$ID"
	[ "$(husk state "$ID" | jq -r .status)" = running ]
	huskc checkpoint --parent-path ../pre --image-path "$TEST_DIR/img/full" "$ID"
	at=$(count)
	huskc restore -d --image-path "$TEST_DIR/img/full" --bundle "$BUNDLE" "$ID" </dev/null
	wait_count_above $((at + 3))
	husk delete -f "$ID"
}

@test "checkpoint + restore beside runc, the same bundle and CRIU: both keep the counter going" {
	need_criu
	update_config "$BUNDLE" ".root.readonly = false | .process.args = [\"sh\", \"-c\", \"$COUNTER\"]"
	local r=("$RUNC" --root "$TEST_DIR/runc" --criu "$CRIU_BIN")
	"${r[@]}" run -d -b "$BUNDLE" "r$ID" </dev/null >/dev/null 2>&1
	wait_count_above 3
	"${r[@]}" checkpoint --image-path "$TEST_DIR/rimg" "r$ID"
	at=$(count)
	"${r[@]}" restore -d --image-path "$TEST_DIR/rimg" -b "$BUNDLE" "r$ID" </dev/null >/dev/null 2>&1
	wait_count_above $((at + 3))
	"${r[@]}" delete -f "r$ID"
	# husk-oci on the same bundle
	start_counter
	huskc checkpoint --image-path "$TEST_DIR/img" "$ID"
	at=$(count)
	huskc restore -d --image-path "$TEST_DIR/img" --bundle "$BUNDLE" "$ID" </dev/null
	wait_count_above $((at + 3))
	husk delete -f "$ID"
}

@test "--criu PATH: the CRIU used; one that is not there is named, and the container runs on" {
	start_counter
	run husk --criu "$TEST_DIR/no-criu" checkpoint --image-path "$TEST_DIR/img" "$ID"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"--criu \"$TEST_DIR/no-criu\": not found"* ]]
	[ "$(husk state "$ID" | jq -r .status)" = running ]
	# a stand-in that logs how it was called
	printf '#!/bin/sh\necho "$@" >%s/criu-args\nexit 3\n' "$TEST_DIR" >"$TEST_DIR/fake-criu"
	chmod +x "$TEST_DIR/fake-criu"
	run husk --criu "$TEST_DIR/fake-criu" checkpoint --image-path "$TEST_DIR/img" "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"criu dump failed (status 3)"* ]]
	[[ "$(cat "$TEST_DIR/criu-args")" == "dump --tree="* ]]
	husk delete -f "$ID"
}

@test "checkpoint where CRIU cannot run: fails with CRIU's reason, the container runs on" {
	# the system's criu, when `criu check` fails (Debian 12's 3.17 here)
	command -v criu >/dev/null || skip "criu is not installed"
	! criu check >/dev/null 2>&1 || skip "the system's criu runs here"
	start_counter
	run husk --criu "$(command -v criu)" checkpoint --image-path "$TEST_DIR/img" "$ID"
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
