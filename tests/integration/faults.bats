#!/usr/bin/env bats
# HUSK_FAULT=<step>: husk dies by SIGKILL at a named step (src/core/fault.h;
# compiled into the debug and debugoptimized builds the tests run, never
# into a release build).  After each crash, `husk-oci delete --force` or
# `husk rm -f` (and `husk image prune`) must leave nothing behind: no
# mount, cgroup, veth, nft rule, lease, process or state, and the next
# command must work.  The steps come from `husk-oci --list-faults`, so a
# step added there is walked here.

load helpers

faults() {
	"$HUSK_OCI" --list-faults 2>/dev/null | cut -f1 | grep "^$1" || true
}

setup() {
	"$HUSK_OCI" --list-faults >/dev/null 2>&1 || skip "built without -Dfault_injection"
	MARK="fault-$$-$BATS_TEST_NUMBER"
	case $BATS_TEST_DESCRIPTION in
	*husk-oci*)
		setup_husk
		update_config "$BUNDLE" ".process.args = [\"sh\", \"-c\", \"sleep 1000; : $MARK\"]"
		;;
	*) engine_setup ;;
	esac
}

teardown() {
	[ -n "${TEST_DIR:-}" ] || return 0
	[ -z "${REG_PID:-}" ] || kill "$REG_PID" 2>/dev/null || true
	case $BATS_TEST_DESCRIPTION in
	*husk-oci*) teardown_husk ;;
	*) engine_teardown ;;
	esac
}

# the container's processes, found by the marker in their command line
procs_left() {
	pgrep -f "$MARK" || true
}

# fds any process (the test's registry aside) holds on a file of the test
fds_left() {
	find /proc/[0-9]*/fd -mindepth 1 -maxdepth 1 -lname "$TEST_DIR/*" 2>/dev/null |
		grep -v "^/proc/${REG_PID:-none}/" || true
}

# crashed STEP STATUS: the fault fired (SIGKILL: 137), or for a step in
# the container's init, the command failed
crashed() {
	local step=$1 st=$2
	case $step in
	*.child-*) [ "$st" -ne 0 ] ;;
	*) [ "$st" -eq 137 ] ;;
	esac || { echo "step $step: exit $st, not the crash" >&2; return 1; }
}

# after STEP: delete --force cleans up, nothing is left, and the same id
# runs again
clean_after() {
	local step=$1
	run husk delete --force "$ID"
	if [ "$status" -ne 0 ] && [[ "$output" != *"does not exist"* ]]; then
		echo "step $step: delete --force: $output" >&2
		return 1
	fi
	assert_nothing_left || { echo "step $step" >&2; return 1; }
	local p
	p=$(procs_left)
	[ -z "$p" ] || { echo "step $step: processes left: $p" >&2; return 1; }
	p=$(fds_left)
	[ -z "$p" ] || { echo "step $step: fds left: $p" >&2; return 1; }
	husk_d create --bundle "$BUNDLE" "$ID" || { echo "step $step: create after" >&2; return 1; }
	husk start "$ID" || { echo "step $step: start after" >&2; return 1; }
	[ "$(husk state "$ID" | jq -r .status)" = running ] || return 1
	husk delete --force "$ID" || return 1
	assert_nothing_left
}

@test "faults: husk-oci create killed at each step, delete --force undoes it" {
	local steps
	steps=$(faults oci.create.)
	[ -n "$steps" ]
	for step in $steps; do
		HUSK_FAULT=$step "$HUSK_OCI" --root "$ROOT" create --bundle "$BUNDLE" "$ID" \
			</dev/null >>"$TEST_DIR/container.log" 2>&1 && st=0 || st=$?
		crashed "$step" "$st"
		clean_after "$step"
	done
}

@test "faults: husk-oci start killed at each step" {
	for step in $(faults oci.start.); do
		husk_d create --bundle "$BUNDLE" "$ID"
		HUSK_FAULT=$step "$HUSK_OCI" --root "$ROOT" start "$ID" && st=0 || st=$?
		crashed "$step" "$st"
		clean_after "$step"
	done
}

@test "faults: husk-oci exec, kill and delete killed at each step" {
	for step in $(faults oci.exec.) $(faults oci.kill.) $(faults oci.delete.); do
		husk_d create --bundle "$BUNDLE" "$ID"
		husk start "$ID"
		case $step in
		oci.exec.*) HUSK_FAULT=$step "$HUSK_OCI" --root "$ROOT" exec "$ID" sh -c "sleep 1000; : $MARK" \
			</dev/null >>"$TEST_DIR/container.log" 2>&1 && st=0 || st=$? ;;
		oci.kill.*) HUSK_FAULT=$step "$HUSK_OCI" --root "$ROOT" kill "$ID" KILL && st=0 || st=$? ;;
		oci.delete.*) HUSK_FAULT=$step "$HUSK_OCI" --root "$ROOT" delete --force "$ID" && st=0 || st=$? ;;
		esac
		crashed "$step" "$st"
		clean_after "$step"
	done
}

# --- the engine ---

# what the engine left of container NAME (known by ID when it got one):
# the checks of engine_teardown, without its cleaning
engine_left() {
	local id=${1:-} left="" m cg mon d
	m=$(grep -F "$TEST_DIR" /proc/self/mountinfo | grep -v '/layers/' || true)
	[ -z "$m" ] || left+="mounts: $m "
	cg=$(for d in $(own_cgroup_dirs); do find "$d" -maxdepth 6 -type d -name 'husk-*' -newer "$TEST_DIR" 2>/dev/null; done || true)
	[ -z "$cg" ] || left+="cgroups: $cg "
	for _ in $(seq 100); do [ -z "$(engine_monitors)" ] && break; sleep 0.05; done
	mon=$(engine_monitors)
	[ -z "$mon" ] || left+="monitors: $mon "
	[ -z "$(ls "$HUSK_ROOT/containers" 2>/dev/null)" ] || left+="containers: $(ls "$HUSK_ROOT/containers") "
	[ -z "$(ls "$HUSK_ROOT/names" 2>/dev/null)" ] || left+="names: $(ls "$HUSK_ROOT/names") "
	[ -z "$(ls "$HUSK_RUNROOT/attach" 2>/dev/null)" ] || left+="sockets: $(ls "$HUSK_RUNROOT/attach") "
	d=$(find "$HUSK_RUNROOT" -maxdepth 1 -regextype egrep -regex '.*/[0-9a-f]{64}' 2>/dev/null || true)
	[ -z "$d" ] || left+="runtime state: $d "
	d=$(find "$HUSK_RUNROOT/net/ns" "$HUSK_RUNROOT/net/nft" -mindepth 1 2>/dev/null || true)
	[ -z "$d" ] || left+="netns or ports: $d "
	[ -z "$id" ] || left+=$(net_left "$id")
	# the published port's map element ("PORT : ADDR . 80")
	if [ -n "${PORT:-}" ] && command -v nft >/dev/null &&
		nft list table ip husk 2>/dev/null | grep -Eq "(^|[^0-9])$PORT :"; then
		left+="nft rule for port $PORT "
	fi
	local p
	p=$(pgrep -f "$MARK" || true)
	[ -z "$p" ] || left+="processes: $p "
	p=$(fds_left)
	[ -z "$p" ] || left+="fds: $p "
	echo "$left"
}

# after_fault STEP NAME: rm -f cleans up what the crash left, nothing is
# left, and a container of the same name runs
after_fault() {
	local step=$1 name=$2 id left
	# the names index links a name to its id: there before the record
	id=$(readlink "$HUSK_ROOT/names/$name" 2>/dev/null || true)
	run "$HUSK" rm -f "$name"
	if [ "$status" -ne 0 ] && [[ "$output" != *"no such container"* ]]; then
		echo "step $step: rm -f: $output" >&2
		return 1
	fi
	# a create killed before it claimed the name: found by prune
	"$HUSK" container prune -f >/dev/null
	left=$(engine_left "$id")
	[ -z "$left" ] || { echo "step $step: left behind: $left" >&2; return 1; }
	case $step in
	engine.create.dirs) ;;
	*) [ -n "$id" ] || { echo "step $step: no id for \"$name\"" >&2; return 1; } ;;
	esac
	run "$HUSK" run --rm --name "$name" -p "$PORT:80" busybox echo again
	[ "$status" -eq 0 ] && [ "$output" = again ] || { echo "step $step: run after: $output" >&2; return 1; }
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# efault STEP CMD...: CMD under HUSK_FAULT=STEP, its stdio a file; the exit
# status in $st
efault() {
	local step=$1
	shift
	HUSK_FAULT=$step "$HUSK" "$@" </dev/null >>"$TEST_DIR/out.log" 2>&1 && st=0 || st=$?
}

# the monitor is a process of its own: a fault there fails the client
engine_crashed() {
	local step=$1
	case $step in
	engine.monitor.*) [ "$st" -ne 0 ] ;;
	*) [ "$st" -eq 137 ] ;;
	esac || { echo "step $step: exit $st, not the crash: $(tail -3 "$TEST_DIR/out.log")" >&2; return 1; }
}

@test "faults: husk run killed at each step, rm -f undoes it" {
	PORT=$(free_port)
	for step in $(faults engine.create.) $(faults engine.start.) $(faults engine.monitor.); do
		efault "$step" run -d --name f1 -p "$PORT:80" busybox sh -c "sleep 1000; : $MARK"
		engine_crashed "$step"
		after_fault "$step" f1
	done
}

@test "faults: husk start, stop, exec and rm killed at each step" {
	PORT=$(free_port)
	for step in $(faults engine.start.) $(faults engine.monitor.); do
		"$HUSK" create --name f2 -p "$PORT:80" busybox sh -c "sleep 1000; : $MARK" >/dev/null
		efault "$step" start f2
		engine_crashed "$step"
		after_fault "$step" f2
	done
	for step in $(faults engine.stop.) oci.exec.fork $(faults engine.exec.) $(faults engine.rm.); do
		"$HUSK" run -d --name f2 -p "$PORT:80" busybox sh -c "sleep 1000; : $MARK" >/dev/null
		case $step in
		*.stop.*) efault "$step" stop -t 1 f2 ;;
		*exec.*) efault "$step" exec f2 sh -c "sleep 1000; : $MARK" ;;
		*.rm.*) efault "$step" rm -f f2 ;;
		esac
		engine_crashed "$step"
		after_fault "$step" f2
	done
}

# --- pull, load, build: the store ---

# the store's blobs, layers, temp dirs and image index, to compare before
# a crash and after `image prune`
store_snapshot() {
	(cd "$HUSK_ROOT" && { find blobs layers l tmp -maxdepth 2 2>/dev/null || true; } | sort && cat images.json 2>/dev/null || true)
}

# an image of its own (the busybox image's blobs are in every store)
fault_image() {
	mkdir -p "$TEST_DIR/layer/etc" "$TEST_DIR/layer/bin"
	echo "fault $MARK" >"$TEST_DIR/layer/etc/fault"
	cp "$(command -v busybox)" "$TEST_DIR/layer/bin/cat" # static: cat by its name
	tar -C "$TEST_DIR/layer" -cf "$TEST_DIR/layer.tar" etc bin
	make_oci_image "$TEST_DIR/img.tar" fault/img:v1 "$TEST_DIR/layer.tar:gzip"
}

start_registry() {
	REG_PORT=$(free_port)
	mkdir -p "$TEST_DIR/reg"
	cat >"$TEST_DIR/reg/config.yml" <<-EOF2
		version: 0.1
		log:
		  level: error
		storage:
		  filesystem:
		    rootdirectory: $TEST_DIR/reg/data
		http:
		  addr: 127.0.0.1:$REG_PORT
	EOF2
	docker-registry serve "$TEST_DIR/reg/config.yml" >"$TEST_DIR/reg/log" 2>&1 3>&- &
	REG_PID=$!
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$REG_PORT/v2/" && return 0
		sleep 0.05
	done
	cat "$TEST_DIR/reg/log" >&2
	return 1
}

# store_clean STEP: after image prune the store is as it was
store_clean() {
	local step=$1 now
	"$HUSK" image prune -f >/dev/null || { echo "step $step: image prune failed" >&2; return 1; }
	now=$(store_snapshot)
	[ "$now" = "$S0" ] || {
		echo "step $step: the store differs after prune:" >&2
		diff <(echo "$S0") <(echo "$now") >&2
		return 1
	}
}

@test "faults: husk pull and load killed at each step, image prune undoes it" {
	command -v docker-registry >/dev/null || skip "no docker-registry"
	fault_image
	"$HUSK" run --rm --network none busybox true # the built-in busybox, in both snapshots
	S0=$(store_snapshot)
	for step in $(faults engine.load.); do
		efault "$step" load -i "$TEST_DIR/img.tar"
		engine_crashed "$step"
		store_clean "$step"
		"$HUSK" load -i "$TEST_DIR/img.tar" >/dev/null
		[ "$("$HUSK" run --rm --network none fault/img:v1 cat /etc/fault)" = "fault $MARK" ]
		"$HUSK" rmi fault/img:v1 >/dev/null
		store_clean "$step (after)"
	done
	start_registry
	"$HUSK" load -i "$TEST_DIR/img.tar" >/dev/null
	"$HUSK" push fault/img:v1 "127.0.0.1:$REG_PORT/fault/img:v1" >/dev/null
	"$HUSK" rmi fault/img:v1 >/dev/null
	"$HUSK" image prune -f >/dev/null
	[ "$(store_snapshot)" = "$S0" ]
	ref=127.0.0.1:$REG_PORT/fault/img:v1
	for step in $(faults engine.pull.); do
		efault "$step" pull "$ref"
		engine_crashed "$step"
		store_clean "$step"
		"$HUSK" pull "$ref" >/dev/null
		[ "$("$HUSK" run --rm --network none "$ref" cat /etc/fault)" = "fault $MARK" ]
		"$HUSK" rmi "$ref" >/dev/null
		store_clean "$step (after)"
	done
}

@test "faults: husk build killed at each step; rm -f, prune undo it" {
	mkdir -p "$TEST_DIR/ctx"
	printf 'FROM busybox\nRUN echo %s > /built\n' "$MARK" >"$TEST_DIR/ctx/Dockerfile"
	"$HUSK" run --rm --network none busybox true
	S0=$(store_snapshot)
	PORT=$(free_port)
	for step in $(faults engine.build.); do
		efault "$step" build -t fault/built "$TEST_DIR/ctx"
		engine_crashed "$step"
		for c in $("$HUSK" ps -aq); do "$HUSK" rm -f "$c" >/dev/null; done
		"$HUSK" container prune -f >/dev/null
		"$HUSK" builder prune -f >/dev/null
		left=$(engine_left)
		[ -z "$left" ] || { echo "step $step: left behind: $left" >&2; return 1; }
		store_clean "$step"
		"$HUSK" build -t fault/built "$TEST_DIR/ctx" >/dev/null
		[ "$("$HUSK" run --rm --network none fault/built cat /built)" = "$MARK" ]
		"$HUSK" rmi fault/built >/dev/null
		"$HUSK" builder prune -f >/dev/null
		store_clean "$step (after)"
	done
}
