#!/usr/bin/env bats
# hooks: the six stages, their order, their stdin (the state), args, env,
# and the namespace createContainer runs in.

load helpers

# A host hook script recording, for stage $1: its name in order, its stdin,
# its args (bash sees the script path as $0, so args[0] is not checked), $HOOK_VAR, its mount namespace and mountinfo, all in $LOG.
make_hook() {
	LOG="$TEST_DIR/log"
	mkdir -p "$LOG"
	cat >"$TEST_DIR/hook.sh" <<-EOF
		#!/bin/bash
		stage=\$1
		echo "\$stage" >>"$LOG/order"
		cat >"$LOG/state-\$stage.json"
		echo "\$*" >"$LOG/args-\$stage"
		echo "\${HOOK_VAR-unset}" >"$LOG/env-\$stage"
		readlink /proc/self/ns/mnt >"$LOG/mntns-\$stage"
		cat /proc/self/mountinfo >"$LOG/mountinfo-\$stage"
	EOF
	chmod +x "$TEST_DIR/hook.sh"
}

# hook_json STAGE: a hook entry running hook.sh for STAGE
hook_json() {
	echo '{"path": "'"$TEST_DIR/hook.sh"'", "args": ["hook.sh", "'"$1"'", "two words"], "env": ["HOOK_VAR=v-'"$1"'", "PATH=/usr/bin:/bin"]}'
}

all_hooks_config() {
	make_hook
	# startContainer runs in the container, after pivot_root: a path of the
	# rootfs, writing to the log dir bound in at /hooklog
	update_config "$BUNDLE" '.hooks = {
			"prestart": ['"$(hook_json prestart)"'],
			"createRuntime": ['"$(hook_json createRuntime)"'],
			"createContainer": ['"$(hook_json createContainer)"'],
			"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo startContainer >> /hooklog/order; cat > /hooklog/state-startContainer.json; echo \"$HOOK_VAR\" > /hooklog/env-startContainer", "sh"], "env": ["HOOK_VAR=v-startContainer"]}],
			"poststart": ['"$(hook_json poststart)"'],
			"poststop": ['"$(hook_json poststop)"']}
		| .mounts += [{"destination": "/hooklog", "source": "'"$LOG"'", "type": "bind", "options": ["bind"]}]'
}

@test "hooks: all six stages run, in order, each at its step of the lifecycle" {
	all_hooks_config
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "echo process >> /hooklog/order"]'
	husk_d create --bundle "$BUNDLE" "$ID"
	[ "$(cat "$LOG/order" | tr '\n' ' ')" = "prestart createRuntime createContainer " ]
	husk start "$ID"
	wait_for_status "$ID" stopped
	# poststart may run before or after the process has written
	order=$(cat "$LOG/order" | grep -v process | tr '\n' ' ')
	[ "$order" = "prestart createRuntime createContainer startContainer poststart " ]
	[ ! -e "$LOG/state-poststop.json" ]
	husk delete "$ID"
	order=$(cat "$LOG/order" | grep -v process | tr '\n' ' ')
	[ "$order" = "prestart createRuntime createContainer startContainer poststart poststop " ]
	# startContainer before the process
	[ "$(grep -n -e startContainer -e process "$LOG/order" | cut -d: -f2 | tr '\n' ' ')" = "startContainer process " ]
}

@test "hooks: each gets the state on stdin: the id, the bundle, the pid, the status" {
	all_hooks_config
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d create --bundle "$BUNDLE" "$ID"
	pid=$(husk state "$ID" | jq -r .pid)
	husk start "$ID"
	wait_for_status "$ID" running
	husk delete --force "$ID"
	for s in prestart createRuntime createContainer startContainer poststart poststop; do
		[ "$(jq -r .id "$LOG/state-$s.json")" = "$ID" ] || { echo "$s: $(cat "$LOG/state-$s.json")"; false; }
		[ "$(jq -r .bundle "$LOG/state-$s.json")" = "$BUNDLE" ]
		[ "$(jq -r .ociVersion "$LOG/state-$s.json")" != null ]
	done
	# startContainer runs inside the pid namespace: its pid is not checked
	for s in prestart createRuntime createContainer poststart; do
		[ "$(jq -r .pid "$LOG/state-$s.json")" = "$pid" ] || { echo "$s: $(cat "$LOG/state-$s.json")"; false; }
	done
	[ "$(jq -r .status "$LOG/state-createRuntime.json")" = creating ]
	[ "$(jq -r .status "$LOG/state-createContainer.json")" = creating ]
	[ "$(jq -r .status "$LOG/state-startContainer.json")" = created ]
	[ "$(jq -r .status "$LOG/state-poststart.json")" = running ]
	[ "$(jq -r .status "$LOG/state-poststop.json")" = stopped ]
}

@test "hooks: args and env are passed as given" {
	all_hooks_config
	husk run --bundle "$BUNDLE" "$ID"
	for s in prestart createRuntime createContainer poststart poststop; do
		[ "$(cat "$LOG/args-$s")" = "$s two words" ] || { echo "$s: $(cat "$LOG/args-$s")"; false; }
		[ "$(cat "$LOG/env-$s")" = "v-$s" ]
	done
	[ "$(cat "$LOG/env-startContainer")" = v-startContainer ]
}

# config.md leaves a hook's env OPTIONAL; without one runc (Go's exec.Cmd
# with a nil Env) and crun give the hook the runtime's own environment.
@test "hooks: without env, a hook gets the runtime's environment, as with runc" {
	make_hook
	update_config "$BUNDLE" '.hooks = {"prestart": [{"path": "'"$TEST_DIR/hook.sh"'", "args": ["hook.sh", "prestart"]}]}'
	HOOK_VAR=from-the-runtime husk run --bundle "$BUNDLE" "$ID"
	[ "$(cat "$LOG/env-prestart")" = from-the-runtime ]
	rm "$LOG/env-prestart"
	HOOK_VAR=from-the-runtime "${RUNC_BIN:-/usr/sbin/runc}" --root "$TEST_DIR/runc-state" run \
		--bundle "$BUNDLE" "rc$$-$BATS_TEST_NUMBER" </dev/null
	[ "$(cat "$LOG/env-prestart")" = from-the-runtime ]
}

@test "hooks: createContainer runs in the container's mount namespace, createRuntime in the host's" {
	all_hooks_config
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d create --bundle "$BUNDLE" "$ID"
	pid=$(husk state "$ID" | jq -r .pid)
	[ "$(cat "$LOG/mntns-createContainer")" = "$(readlink /proc/$pid/ns/mnt)" ]
	[ "$(cat "$LOG/mntns-createRuntime")" = "$(readlink /proc/self/ns/mnt)" ]
	[ "$(cat "$LOG/mntns-prestart")" = "$(readlink /proc/self/ns/mnt)" ]
	# the container's mounts (its /proc, its /dev tmpfs) are in the hook's mountinfo
	grep -E " $BUNDLE/rootfs/proc | /proc " "$LOG/mountinfo-createContainer" | grep -q " - proc "
	grep -qE " ($BUNDLE/rootfs)?/hooklog " "$LOG/mountinfo-createContainer"
	! grep -q " /hooklog " "$LOG/mountinfo-createRuntime"
	husk delete --force "$ID"
}

@test "hooks: a failing prestart hook fails create and leaves nothing" {
	update_config "$BUNDLE" '.hooks = {"prestart": [{"path": "/bin/false"}]}'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"prestart"* ]]
	[[ "$output" == *"exited with status 1"* ]]
	assert_nothing_left
}

@test "hooks: a hook over its timeout is killed and fails create" {
	update_config "$BUNDLE" '.hooks = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}'
	SECONDS=0
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"timed out"* ]]
	[ "$SECONDS" -lt 10 ]
	assert_nothing_left
}

@test "hooks: a failing poststop hook does not stop delete" {
	update_config "$BUNDLE" '.hooks = {"poststop": [{"path": "/bin/false"}]}'
	husk_d create --bundle "$BUNDLE" "$ID"
	run husk delete --force "$ID"
	[ "$status" -eq 0 ]
	run husk state "$ID"
	[ "$status" -ne 0 ]
}

@test "hooks: the state given to every hook has the annotations" {
	all_hooks_config
	update_config "$BUNDLE" '.annotations = {"org.example.k": "v1"}'
	husk run --bundle "$BUNDLE" "$ID"
	for s in prestart createRuntime createContainer startContainer poststart poststop; do
		[ "$(jq -r '.annotations["org.example.k"]' "$LOG/state-$s.json")" = v1 ] || { echo "$s: $(cat "$LOG/state-$s.json")"; false; }
	done
}

@test "hooks: the state is valid JSON for a bundle path with a quote and a backslash" {
	all_hooks_config
	B="$TEST_DIR/b\"q\\x"
	mv "$BUNDLE" "$B"
	BUNDLE=$B
	husk run --bundle "$BUNDLE" "$ID"
	for s in prestart createRuntime createContainer startContainer poststart poststop; do
		[ "$(jq -r .bundle "$LOG/state-$s.json")" = "$BUNDLE" ] || { echo "$s: $(cat "$LOG/state-$s.json")"; false; }
	done
}

@test "hooks: poststart runs only after startContainer and the process's exec (start)" {
	all_hooks_config
	# a slow startContainer hook widens the window between the exec fifo
	# and the execve; poststart must still come after both
	update_config "$BUNDLE" '.hooks.startContainer[0].args[2] = "sleep 0.5; " + .hooks.startContainer[0].args[2]
		| .process.args = ["sh", "-c", "echo process >> /hooklog/order; sleep 100"]'
	husk_d create --bundle "$BUNDLE" "$ID"
	husk start "$ID"
	# start has returned: the process was executed (so startContainer ran
	# before) and poststart is done; the process may or may not have written
	order=$(grep -v process "$LOG/order" | tr '\n' ' ')
	husk delete --force "$ID"
	echo "$order"
	[ "$order" = "prestart createRuntime createContainer startContainer poststart " ]
}

# runtime.md, lifecycle step 13: a failing poststop hook is a warning, and
# the remaining hooks and the lifecycle go on as if it had succeeded.
@test "hooks: a failing poststop hook is a warning in the log, and the later hooks still run" {
	make_hook
	update_config "$BUNDLE" '.hooks = {"poststop": [{"path": "/bin/false"}, '"$(hook_json poststop)"']}'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" stopped
	run husk --log "$TEST_DIR/husk.log" delete "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: hooks.poststop[0] \"/bin/false\": exited with status 1"* ]]
	grep -q 'level=warning msg="hooks.poststop\[0\]' "$TEST_DIR/husk.log"
	[ "$(cat "$LOG/order")" = poststop ]
	run husk state "$ID"
	[ "$status" -ne 0 ]
}

# runtime.md (1.3), lifecycle step 9: if a poststart hook fails the runtime
# MUST generate an error, stop the container and go on at step 12: the
# container is destroyed and its poststop hooks run.
@test "hooks: a failing poststart hook fails start, stops and destroys the container, runs poststop" {
	make_hook
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]
		| .hooks = {"poststart": [{"path": "/bin/false"}], "poststop": ['"$(hook_json poststop)"']}'
	husk_d create --bundle "$BUNDLE" "$ID"
	pid=$(husk state "$ID" | jq -r .pid)
	run husk start "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"hooks.poststart[0]"* ]]
	! kill -0 "$pid" 2>/dev/null
	run husk state "$ID"
	[ "$status" -ne 0 ]
	[ "$(cat "$LOG/order")" = poststop ]
	# run: the same
	rm "$LOG/order"
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"hooks.poststart[0]"* ]]
	[ "$(cat "$LOG/order")" = poststop ]
	[ -z "$(husk list -q)" ]
}
