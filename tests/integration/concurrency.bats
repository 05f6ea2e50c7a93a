#!/usr/bin/env bats
# Many husk processes at once on the same state: husk-oci create/delete on
# distinct ids and on one id, and `husk run --name` of one name.  No state
# is corrupted, exactly one wins a contested id or name, the others fail
# with a clear error, and nothing is left.

load helpers

setup() {
	case $BATS_TEST_DESCRIPTION in
	*husk-oci*)
		setup_husk
		update_config "$BUNDLE" '.process.args = ["sleep", "1000"]'
		;;
	*) engine_setup ;;
	esac
}

teardown() {
	case $BATS_TEST_DESCRIPTION in
	*husk-oci*) teardown_husk ;;
	*) engine_teardown ;;
	esac
}

# each job's exit status and output in $TEST_DIR/jobs/N.{rc,out}
job() {
	local n=$1
	shift
	"$@" </dev/null >"$TEST_DIR/jobs/$n.out" 2>&1
	echo $? >"$TEST_DIR/jobs/$n.rc"
}

count_rc() {
	local want=$1
	grep -lx "$want" "$TEST_DIR"/jobs/*.rc 2>/dev/null | wc -l
}

@test "concurrency: 50 husk-oci create + delete at once on distinct ids" {
	mkdir "$TEST_DIR/jobs"
	for i in $(seq 50); do
		job "$i" sh -c "'$HUSK_OCI' --root '$ROOT' create --bundle '$BUNDLE' '$ID-$i' &&
			'$HUSK_OCI' --root '$ROOT' state '$ID-$i' | jq -e '.status == \"created\"' >/dev/null &&
			'$HUSK_OCI' --root '$ROOT' delete --force '$ID-$i'" &
	done
	wait
	for i in $(seq 50); do
		[ "$(cat "$TEST_DIR/jobs/$i.rc")" = 0 ] || { cat "$TEST_DIR/jobs/$i.out"; false; }
	done
	run husk list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "concurrency: 50 husk-oci create at once on one id: one wins, the rest 'already exists'" {
	mkdir "$TEST_DIR/jobs"
	for i in $(seq 50); do
		job "$i" "$HUSK_OCI" --root "$ROOT" create --bundle "$BUNDLE" "$ID" &
	done
	wait
	[ "$(count_rc 0)" -eq 1 ]
	for f in "$TEST_DIR"/jobs/*.rc; do
		[ "$(cat "$f")" = 0 ] && continue
		grep -q "container \"$ID\" already exists" "${f%.rc}.out" || { cat "${f%.rc}.out"; false; }
	done
	# the winner's state is whole
	run husk state "$ID"
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = created ]
	pid=$(jq -r .pid <<<"$output")
	kill -0 "$pid"
	# and 50 delete --force at once: the container goes once, the others
	# find it gone
	rm -f "$TEST_DIR"/jobs/*
	for i in $(seq 50); do
		job "$i" "$HUSK_OCI" --root "$ROOT" delete --force "$ID" &
	done
	wait
	[ "$(count_rc 0)" -ge 1 ]
	for f in "$TEST_DIR"/jobs/*.rc; do
		[ "$(cat "$f")" = 0 ] && continue
		grep -q "does not exist" "${f%.rc}.out" || { cat "${f%.rc}.out"; false; }
	done
	! kill -0 "$pid" 2>/dev/null
	assert_nothing_left
}

@test "concurrency: 50 husk-oci create + delete racing on one id leave nothing" {
	mkdir "$TEST_DIR/jobs"
	for i in $(seq 50); do
		job "$i" sh -c "'$HUSK_OCI' --root '$ROOT' create --bundle '$BUNDLE' '$ID'
			'$HUSK_OCI' --root '$ROOT' delete --force '$ID'" &
	done
	wait
	# whatever the interleaving: every error one of the two clear ones
	for f in "$TEST_DIR"/jobs/*.out; do
		if grep -v -e "already exists" -e "does not exist" "$f" | grep -q .; then
			cat "$f"
			false
		fi
	done
	run husk list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	assert_nothing_left
}

@test "concurrency: 20 husk run --name same at once: one runs, the rest 'already in use'" {
	mkdir "$TEST_DIR/jobs"
	for i in $(seq 20); do
		job "$i" "$HUSK" run -d --network none --name same busybox sleep 1000 &
	done
	wait
	[ "$(count_rc 0)" -eq 1 ]
	for f in "$TEST_DIR"/jobs/*.rc; do
		[ "$(cat "$f")" = 0 ] && continue
		[ "$(cat "$f")" = 125 ] || { cat "${f%.rc}.out"; false; }
		grep -q 'the container name "same" is already in use' "${f%.rc}.out" ||
			{ cat "${f%.rc}.out"; false; }
	done
	# one container, running, by that name; no other record
	run "$HUSK" ps -a --format '{{.Names}} {{.State}}'
	[ "$status" -eq 0 ]
	[ "$output" = "same running" ]
	[ "$(ls "$HUSK_ROOT/containers" | wc -l)" -eq 1 ]
	run "$HUSK" rm -f same
	[ "$status" -eq 0 ]
	[ -z "$(ls "$HUSK_ROOT/containers")" ]
}
