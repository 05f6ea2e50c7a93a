#!/usr/bin/env bats
# husk-oci spec and features: the default config.json and what the runtime
# says it supports.

load helpers

@test "spec: writes a valid config.json with the default namespaces" {
	mkdir "$TEST_DIR/s"
	cd "$TEST_DIR/s"
	run "$HUSK_OCI" spec
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	jq . config.json >/dev/null
	[ -n "$(jq -r .ociVersion config.json)" ]
	[[ "$(jq -r .ociVersion config.json)" =~ ^1\.[0-9]+\.[0-9]+ ]]
	[ "$(jq -r '.process | type' config.json)" = object ]
	[ "$(jq -r '.process.args | length' config.json)" -ge 1 ]
	[ "$(jq -r .process.cwd config.json)" = / ]
	[ "$(jq -r .root.path config.json)" = rootfs ]
	# runc's default set: pid, network, ipc, uts, mount, cgroup; no user
	[ "$(jq -r '[.linux.namespaces[].type] | sort | join(" ")' config.json)" = "cgroup ipc mount network pid uts" ]
	[ "$(jq -r '[.linux.namespaces[] | select(has("path"))] | length' config.json)" -eq 0 ]
	[ "$(jq -r '.linux | has("uidMappings")' config.json)" = false ]
}

@test "spec --bundle: writes into the bundle dir" {
	mkdir "$TEST_DIR/s"
	run "$HUSK_OCI" spec --bundle "$TEST_DIR/s"
	[ "$status" -eq 0 ]
	[ "$(jq -r .root.path "$TEST_DIR/s/config.json")" = rootfs ]
}

@test "spec: refuses to overwrite an existing config.json" {
	mkdir "$TEST_DIR/s"
	echo '{"mine": true}' >"$TEST_DIR/s/config.json"
	run "$HUSK_OCI" spec --bundle "$TEST_DIR/s"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *config.json* ]]
	[[ "$output" == *exists* ]]
	[ "$(cat "$TEST_DIR/s/config.json")" = '{"mine": true}' ]
	cd "$TEST_DIR/s"
	run "$HUSK_OCI" spec
	[ "$status" -ne 0 ]
	[ "$(cat "$TEST_DIR/s/config.json")" = '{"mine": true}' ]
}

@test "spec --rootless: a user namespace mapping the caller's ids, no network namespace" {
	mkdir "$TEST_DIR/s"
	run "$HUSK_OCI" spec --rootless --bundle "$TEST_DIR/s"
	[ "$status" -eq 0 ]
	c="$TEST_DIR/s/config.json"
	ns=$(jq -r '[.linux.namespaces[].type] | sort | join(" ")' "$c")
	echo "namespaces: $ns"
	[[ " $ns " == *" user "* ]]
	[[ " $ns " != *" network "* ]]
	[ "$(jq -c .linux.uidMappings "$c")" = "[{\"containerID\":0,\"hostID\":$(id -u),\"size\":1}]" ]
	[ "$(jq -c .linux.gidMappings "$c")" = "[{\"containerID\":0,\"hostID\":$(id -g),\"size\":1}]" ]
}

@test "spec --rootless: as another user, maps that user's uid and gid" {
	command -v setpriv >/dev/null || skip "setpriv is missing"
	mkdir "$TEST_DIR/s"
	chmod 755 "$TEST_DIR"
	chown 1000:1001 "$TEST_DIR/s"
	run setpriv --reuid 1000 --regid 1001 --clear-groups "$HUSK_OCI" spec --rootless --bundle "$TEST_DIR/s"
	echo "$output"
	[ "$status" -eq 0 ]
	c="$TEST_DIR/s/config.json"
	[ "$(jq -c '.linux.uidMappings' "$c")" = '[{"containerID":0,"hostID":1000,"size":1}]' ]
	[ "$(jq -c '.linux.gidMappings' "$c")" = '[{"containerID":0,"hostID":1001,"size":1}]' ]
}

@test "spec: the default spec runs" {
	rm "$BUNDLE/config.json"
	"$HUSK_OCI" spec --bundle "$BUNDLE"
	update_config "$BUNDLE" '.process.terminal = false | .process.args = ["sh", "-c", "echo ok; hostname"]'
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = ok ]
	[ "${lines[1]}" = "$(jq -r .hostname "$BUNDLE/config.json")" ]
	run husk list -q
	[ -z "$output" ]
}

@test "spec: the default spec with args true exits 0" {
	rm "$BUNDLE/config.json"
	"$HUSK_OCI" spec --bundle "$BUNDLE"
	update_config "$BUNDLE" '.process.terminal = false | .process.args = ["true"]'
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "spec --rootless: runs as root, container uid 0 is host uid 0" {
	rm "$BUNDLE/config.json"
	"$HUSK_OCI" spec --rootless --bundle "$BUNDLE"
	update_config "$BUNDLE" '.process.terminal = false | .process.args = ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/user; id -u"]'
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo ${lines[0]})" = "0 0 1" ]
	[ "$(echo ${lines[1]})" = "0 0 1" ]
	# a user namespace of its own, not the host's
	[ "${lines[2]}" != "$(readlink /proc/self/ns/user)" ]
	[ "${lines[3]}" = 0 ]
}

@test "features: JSON with the version range, all eight namespaces, seccomp" {
	run "$HUSK_OCI" features
	[ "$status" -eq 0 ]
	jq . <<<"$output" >/dev/null
	[[ "$(jq -r .ociVersionMin <<<"$output")" =~ ^1\.[0-9]+\.[0-9]+$ ]]
	[[ "$(jq -r .ociVersionMax <<<"$output")" =~ ^1\.[0-9]+\.[0-9]+$ ]]
	# the max is at least the min, and at least the version spec writes
	min=$(jq -r .ociVersionMin <<<"$output")
	max=$(jq -r .ociVersionMax <<<"$output")
	[ "$(printf '%s\n%s\n' "$min" "$max" | sort -V | head -1)" = "$min" ]
	mkdir "$TEST_DIR/s"
	"$HUSK_OCI" spec --bundle "$TEST_DIR/s"
	specv=$(jq -r .ociVersion "$TEST_DIR/s/config.json")
	[ "$(printf '%s\n%s\n' "$specv" "$max" | sort -V | tail -1)" = "$max" ]
	[ "$(jq -r '.linux.namespaces | sort | join(" ")' <<<"$output")" = "cgroup ipc mount network pid time user uts" ]
	[ "$(jq -r .linux.seccomp.enabled <<<"$output")" = true ]
	[ "$(jq -r '.linux.seccomp.actions | index("SCMP_ACT_ERRNO") != null' <<<"$output")" = true ]
}
