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
	setup_husk
	MARK="fault-$$-$BATS_TEST_NUMBER"
	update_config "$BUNDLE" ".process.args = [\"sh\", \"-c\", \"sleep 1000; : $MARK\"]"
}

# the container's processes, found by the marker in their command line
procs_left() {
	pgrep -f "$MARK" || true
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
