#!/usr/bin/env bats
# Rootless: husk-oci run by an unprivileged user, with a user namespace that
# maps container root to that user, and no cgroup delegated to it.

load helpers

NOBODY=65534

as_nobody() {
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups --inh-caps=-all \
		env -u XDG_RUNTIME_DIR HOME=/tmp "$@"
}

setup() {
	setup_husk
	chmod 755 "$TEST_DIR"
	rm -f "$BUNDLE/config.json"
	chown -R $NOBODY:$NOBODY "$BUNDLE"
	mkdir -p "$ROOT" && chown $NOBODY:$NOBODY "$ROOT"
	# the spec made by the user maps container root to that user
	(cd "$BUNDLE" && as_nobody "$HUSK_OCI" spec --rootless)
	update_config "$BUNDLE" '.process.terminal = false | .root.readonly = false'
	chown $NOBODY:$NOBODY "$BUNDLE/config.json"
}

@test "rootless: spec --rootless maps root to the caller and runs as that user" {
	run jq -c '.linux.uidMappings' "$BUNDLE/config.json"
	[ "$output" = '[{"containerID":0,"hostID":65534,"size":1}]' ]
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "id -u; cat /proc/self/uid_map; touch /tmp/made; sleep 0.3"]'
	as_nobody "$HUSK_OCI" --root "$ROOT" run --bundle "$BUNDLE" "$ID" >"$TEST_DIR/out" 2>"$TEST_DIR/err" &
	runner=$!
	# on the host the container's process runs as the unprivileged user
	for _ in $(seq 50); do
		pid=$(jq -r .pid "$ROOT/$ID/state.json" 2>/dev/null) && [ -n "$pid" ] && break
		sleep 0.02
	done
	[ "$(stat -c %u "/proc/$pid")" = $NOBODY ]
	wait "$runner"
	[ "$(sed -n 1p "$TEST_DIR/out")" = 0 ]
	read -r inside host size <<<"$(sed -n 2p "$TEST_DIR/out")"
	[ "$inside $host $size" = "0 $NOBODY 1" ]
	# a file made by container root belongs to the user on the host
	[ "$(stat -c %u "$BUNDLE/rootfs/tmp/made")" = $NOBODY ]
	grep -q "without a cgroup" "$TEST_DIR/err"
}

@test "rootless: devices are bound from the host, not made with mknod" {
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "echo x > /dev/null && head -c 4 /dev/zero | wc -c"]'
	run as_nobody "$HUSK_OCI" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = 4 ]
}

@test "rootless: mapping another user's uid is refused with a clear error" {
	update_config "$BUNDLE" '.linux.uidMappings[0].hostID = 0'
	chown $NOBODY:$NOBODY "$BUNDLE/config.json"
	run as_nobody "$HUSK_OCI" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.uidMappings"* ]]
	[ -z "$(ls "$ROOT")" ]
}
