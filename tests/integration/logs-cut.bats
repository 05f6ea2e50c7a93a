#!/usr/bin/env bats
# A container that fills its log's filesystem: the monitor's log writer
# stops at the write that fails, the log keeps the whole records before
# it, and says so: `husk logs` prints what was kept, then one line on
# stderr ("log truncated: no space left on device"); inspect shows it in
# State.LogTruncated.  The store stays sound: the exit is recorded, the
# container is removed, the next run works.  The log's filesystem is a
# small tmpfs the test mounts as the store and unmounts at the end.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	engine_setup
}

teardown() {
	if [ -n "${SMALL_STORE:-}" ]; then
		for c in $("$HUSK" ps -aq --no-trunc 2>/dev/null); do "$HUSK" rm -f "$c" >/dev/null 2>&1; done
		umount "$SMALL_STORE" 2>/dev/null || true
	fi
	engine_teardown
}

# the store (and so every container's log) on a tmpfs of SIZE
small_store() {
	mkdir -p "$HUSK_ROOT"
	mount -t tmpfs -o "size=$1" tmpfs "$HUSK_ROOT"
	SMALL_STORE=$HUSK_ROOT
}

@test "logs: a log cut by a full filesystem says so on stderr and in inspect; the store stays sound" {
	small_store 12m
	# numbered lines, far more than fit (some 40 bytes each as JSON),
	# then a last one that cannot go in
	"$HUSK" run -d --name logger busybox sh -c 'seq 1 600000; echo done' >/dev/null
	run "$HUSK" wait logger
	[ "$output" = 0 ]
	# the exit was recorded on the full store
	run "$HUSK" ps -a --format '{{.Names}} {{.Status}}'
	[[ "$output" == "logger Exited (0) "* ]]
	# what was kept, whole and in order from the first line; then one line
	run --separate-stderr "$HUSK" logs logger
	[ "$status" -eq 0 ]
	n=${#lines[@]}
	[ "$n" -gt 1000 ] && [ "$n" -lt 600000 ]
	[ "${lines[0]}" = 1 ]
	[ "${lines[$((n - 1))]}" = "$n" ]
	[[ "$output" != *done* ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" =~ ^"husk: log truncated: no space left on device (at "[0-9T:-]+Z\)$ ]]
	# --tail and --follow say it too
	run --separate-stderr "$HUSK" logs --tail 2 logger
	[ "${#lines[@]}" -eq 2 ]
	[[ "$stderr" == "husk: log truncated: no space left on device"* ]]
	run --separate-stderr timeout 20 "$HUSK" logs -f --tail 1 logger
	[ "$status" -eq 0 ]
	[[ "$stderr" == "husk: log truncated: no space left on device"* ]]
	# inspect: the cause and when
	run "$HUSK" inspect -f '{{.State.LogTruncated.Error}}' logger
	[ "$output" = "no space left on device" ]
	run "$HUSK" inspect -f '{{.State.LogTruncated.At}}' logger
	[[ "$output" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T ]]
	# the store works: images are listed, the container goes, and with
	# its log the space; a new container runs and logs, with no notice
	run "$HUSK" images --format '{{.Repository}}'
	[ "$output" = busybox ]
	"$HUSK" rm logger
	run "$HUSK" run --name after busybox echo after
	[ "$output" = after ]
	run --separate-stderr "$HUSK" logs after
	[ "$output" = after ]
	[ -z "$stderr" ]
	run "$HUSK" inspect -f '{{json .State}}' after
	[ "$(jq 'has("LogTruncated")' <<<"$output")" = false ]
	"$HUSK" rm after
	[ -z "$(ls "$HUSK_ROOT/containers")" ]
	for c in $("$HUSK" ps -aq --no-trunc); do "$HUSK" rm -f "$c"; done
	umount "$HUSK_ROOT"
	SMALL_STORE=
}
