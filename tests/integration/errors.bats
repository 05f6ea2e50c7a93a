#!/usr/bin/env bats
# Bad input: one clear line naming the field or path, a non-zero exit, and
# nothing left behind (no state dir, cgroup or mount; `list -q` empty).

load helpers

# run_husk CMD...: like `run husk CMD...`, but with stdio on files, so that
# a container created by mistake cannot hold bats' capture pipe (and hang
# the test): sets status, output and lines.
run_husk() {
	status=0
	"$HUSK_OCI" --root "$ROOT" "$@" </dev/null >"$TEST_DIR/cmd.out" 2>&1 || status=$?
	output=$(cat "$TEST_DIR/cmd.out")
	lines=()
	[ -z "$output" ] || mapfile -t lines <<<"$output"
}

# refused CMD...: run husk-oci with CMD, which must fail with one line of
# output; then nothing of the container may be left.
refused() {
	run_husk "$@"
	echo "status=$status output:"
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == husk-oci:* ]]
	assert_nothing_left
	[ -z "$(husk list -q)" ]
}

# refused_create: `create` of $BUNDLE as $ID with detached stdio must fail.
refused_create() {
	refused create --bundle "$BUNDLE" "$ID"
}

@test "errors: malformed JSON in config.json names the file, line and column" {
	cat >"$BUNDLE/config.json" <<-'EOF'
	{
	  "ociVersion": "1.0.2",
	  "process": { bad }
	}
	EOF
	refused_create
	[[ "$output" == *config.json* ]]
	[[ "$output" == *"line 3"* ]]
	[[ "$output" == *column* ]]
}

@test "errors: missing process.args" {
	update_config "$BUNDLE" 'del(.process.args)'
	refused_create
	[[ "$output" == *process.args* ]]
}

@test "errors: an unknown namespace type names linux.namespaces and the type" {
	update_config "$BUNDLE" '.linux.namespaces += [{"type": "foo"}]'
	refused_create
	[[ "$output" == *linux.namespaces* ]]
	[[ "$output" == *'"foo"'* ]]
}

@test "errors: a missing rootfs directory names root.path" {
	rm -rf "$BUNDLE/rootfs"
	refused_create
	[[ "$output" == *root.path* ]]
	[[ "$output" == *"$BUNDLE/rootfs"* ]]
}

@test "errors: a relative mount destination is refused" {
	update_config "$BUNDLE" '.mounts += [{"destination": "tmp/x", "type": "tmpfs", "source": "tmpfs"}]'
	refused_create
	[[ "$output" == *'mounts['*'].destination'* ]]
	[[ "$output" == *'"tmp/x"'* ]]
	[[ "$output" == *absolute* ]]
}

@test "errors: a namespace path that does not exist is named" {
	update_config "$BUNDLE" ".linux.namespaces |= map(if .type == \"network\" then .path = \"$TEST_DIR/no-such-netns\" else . end)"
	refused_create
	[[ "$output" == *linux.namespaces* ]]
	[[ "$output" == *"$TEST_DIR/no-such-netns"* ]]
}

@test "errors: an id already in use: the second create fails, the first still works" {
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d create --bundle "$BUNDLE" "$ID"
	pid=$(husk state "$ID" | jq -r .pid)
	# a second bundle, so that a clobbered state would show
	other="$TEST_DIR/other"
	make_bundle "$other"
	run_husk create --bundle "$other" "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$ID"*"already exists"* ]]
	[ "$(husk list -q)" = "$ID" ]
	run husk state "$ID"
	[ "$(jq -r .status <<<"$output")" = created ]
	[ "$(jq -r .pid <<<"$output")" = "$pid" ]
	[ "$(jq -r .bundle <<<"$output")" = "$BUNDLE" ]
	husk start "$ID"
	wait_for_status "$ID" running
	husk kill "$ID" KILL
	wait_for_status "$ID" stopped
	husk delete "$ID"
}

@test "errors: an id containing '/' is refused" {
	refused create --bundle "$BUNDLE" "a/b"
	[[ "$output" == *'"a/b"'* ]]
	[ ! -e "$ROOT/a" ]
}

@test "errors: the id '..' is refused" {
	refused create --bundle "$BUNDLE" ".."
	[[ "$output" == *'".."'* ]]
	[[ "$output" == *id* ]]
}

@test "errors: kill with a signal that does not exist" {
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	for sig in NOSUCHSIG SIGFOO 99 -1; do
		run husk kill "$ID" "$sig"
		echo "$sig: status=$status $output"
		[ "$status" -ne 0 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"unknown signal \"$sig\""* ]]
	done
	# the container is untouched
	[ "$(husk state "$ID" | jq -r .status)" = running ]
	husk delete --force "$ID"
}

@test "errors: an unknown rlimit type" {
	update_config "$BUNDLE" '.process.rlimits += [{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}]'
	refused_create
	[[ "$output" == *'process.rlimits['*'].type'* ]]
	[[ "$output" == *RLIMIT_FOO* ]]
}

@test "errors: an unknown capability name" {
	update_config "$BUNDLE" '.process.capabilities.bounding += ["CAP_FOO"]'
	refused_create
	[[ "$output" == *process.capabilities.bounding* ]]
	[[ "$output" == *CAP_FOO* ]]
}

@test "errors: an unknown command" {
	refused frobnicate "$ID"
	[[ "$output" == *'"frobnicate"'* ]]
}

@test "errors: a bundle dir that does not exist is named" {
	refused create --bundle "$TEST_DIR/no-such-bundle" "$ID"
	[[ "$output" == *"$TEST_DIR/no-such-bundle"* ]]
}

@test "errors: start of a container that does not exist" {
	refused start "$ID"
	[[ "$output" == *"\"$ID\" does not exist"* ]]
}

@test "errors: --systemd-cgroup is refused as not supported" {
	refused --systemd-cgroup create --bundle "$BUNDLE" "$ID"
	[[ "$output" == *"not supported"* ]]
	refused --cgroup-manager systemd create --bundle "$BUNDLE" "$ID"
	[[ "$output" == *"not supported"* ]]
}

@test "errors: --log-format json --log FILE writes a JSON error line" {
	update_config "$BUNDLE" '.linux.namespaces += [{"type": "foo"}]'
	refused --log "$TEST_DIR/log.json" --log-format json create --bundle "$BUNDLE" "$ID"
	cat "$TEST_DIR/log.json"
	# every line is one JSON object
	jq -e -c . "$TEST_DIR/log.json" >/dev/null
	[ "$(jq -s length "$TEST_DIR/log.json")" -ge 1 ]
	msg=$(jq -r 'select(.level == "error") | .msg' "$TEST_DIR/log.json")
	[[ "$msg" == *linux.namespaces* ]]
	[[ "$msg" == *'"foo"'* ]]
}

@test "errors: --log-format text quotes the message as logrus does (its quotes escaped)" {
	update_config "$BUNDLE" '.linux.namespaces += [{"type": "foo"}]'
	refused --log "$TEST_DIR/log.txt" --log-format text create --bundle "$BUNDLE" "$ID"
	cat "$TEST_DIR/log.txt"
	line=$(grep 'level=error' "$TEST_DIR/log.txt")
	[[ "$line" =~ ^time=\"[0-9T:-]+Z\"\ level=error\ msg=\" ]]
	# the value is one quoted string: \" inside, a lone " only at its end
	msg=${line#*msg=}
	[[ "$msg" == *'\"foo\"'* ]]
	[ "$(sed 's/\\"//g' <<<"$msg" | tr -cd '"' | wc -c)" -eq 2 ]
}

@test "errors: an invalid seccomp action names linux.seccomp.syscalls[N].action" {
	update_config "$BUNDLE" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
		{"names": ["getcwd"], "action": "SCMP_ACT_BOGUS"}]}'
	refused_create
	[[ "$output" == *'linux.seccomp.syscalls[1].action'* ]]
	[[ "$output" == *SCMP_ACT_BOGUS* ]]
}

@test "errors: a sysctl that is not namespaced is refused and the host is unchanged" {
	before=$(cat /proc/sys/kernel/core_pattern)
	update_config "$BUNDLE" ".linux.sysctl = {\"kernel.core_pattern\": \"|$TEST_DIR/evil %p\"}"
	refused_create
	[[ "$output" == *linux.sysctl* ]]
	[[ "$output" == *kernel.core_pattern* ]]
	[ "$(cat /proc/sys/kernel/core_pattern)" = "$before" ]
}

@test "errors: a net. sysctl without a network namespace is refused and the host is unchanged" {
	before=$(cat /proc/sys/net/ipv4/ip_forward)
	want=$((1 - before))
	update_config "$BUNDLE" ".linux.namespaces |= map(select(.type != \"network\")) | .linux.sysctl = {\"net.ipv4.ip_forward\": \"$want\"}"
	refused_create
	[[ "$output" == *net.ipv4.ip_forward* ]]
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$before" ]
}

@test "errors: a createRuntime hook that exits 1 fails create and is named" {
	printf '#!/bin/sh\nexit 1\n' >"$TEST_DIR/hook-fail"
	chmod +x "$TEST_DIR/hook-fail"
	update_config "$BUNDLE" ".hooks.createRuntime = [{\"path\": \"$TEST_DIR/hook-fail\"}]"
	refused_create
	[[ "$output" == *"$TEST_DIR/hook-fail"* ]]
	[[ "$output" == *createRuntime* ]]
}

@test "errors: a createRuntime hook that times out fails within a few seconds" {
	printf '#!/bin/sh\necho $$ >"%s"\nexec sleep 5\n' "$TEST_DIR/hook.pid" >"$TEST_DIR/hook-slow"
	chmod +x "$TEST_DIR/hook-slow"
	update_config "$BUNDLE" ".hooks.createRuntime = [{\"path\": \"$TEST_DIR/hook-slow\", \"timeout\": 1}]"
	start=$(date +%s%N)
	refused_create
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	echo "elapsed: $elapsed_ms ms"
	[ "$elapsed_ms" -lt 4000 ]
	[[ "$output" == *"$TEST_DIR/hook-slow"* ]]
	[[ "$output" == *"timed out"* ]]
	# the hook was killed, not left running
	hp=$(cat "$TEST_DIR/hook.pid")
	for _ in $(seq 20); do kill -0 "$hp" 2>/dev/null || break; sleep 0.05; done
	! kill -0 "$hp" 2>/dev/null
}

@test "errors: a mount destination with '..' cannot escape the rootfs" {
	esc="/tmp/escape-$$"
	rm -rf "$esc"
	update_config "$BUNDLE" ".mounts += [{\"destination\": \"/../..$esc\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"}]
		| .process.args = [\"awk\", \"\$5 == \\\"$esc\\\" { print \$5 }\", \"/proc/self/mountinfo\"]"
	run husk run --bundle "$BUNDLE" "$ID"
	echo "status=$status output: $output"
	[ ! -e "$esc" ]
	if [ "$status" -eq 0 ]; then
		# it landed inside the rootfs: the container sees it at $esc
		[ "$output" = "$esc" ]
		[ -d "$BUNDLE/rootfs$esc" ]
	else
		[ "${#lines[@]}" -eq 1 ]
	fi
	husk delete "$ID" 2>/dev/null || true
	assert_nothing_left
	[ ! -e "$esc" ]
}

@test "errors: a relative process.cwd is refused" {
	update_config "$BUNDLE" '.process.cwd = "tmp"'
	refused_create
	[[ "$output" == *process.cwd* ]]
	[[ "$output" == *'"tmp"'* ]]
}

# Failures after the container process exists (in its namespaces, in its
# cgroup) must be cleaned up just the same.

@test "errors: a bind mount source that does not exist is named" {
	update_config "$BUNDLE" ".mounts += [{\"destination\": \"/mnt\", \"type\": \"bind\", \"source\": \"$TEST_DIR/no-such-src\", \"options\": [\"bind\"]}]"
	refused_create
	[[ "$output" == *'"/mnt"'* ]]
	[[ "$output" == *"$TEST_DIR/no-such-src"* ]]
}

@test "errors: rlimit soft above hard is refused" {
	update_config "$BUNDLE" '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}]'
	refused_create
	[[ "$output" == *process.rlimits* ]]
	[[ "$output" == *RLIMIT_NOFILE* ]]
}

@test "errors: a user namespace without id mappings, and mappings without one" {
	update_config "$BUNDLE" '.linux.namespaces += [{"type": "user"}]'
	refused_create
	[[ "$output" == *uidMappings* ]]
	update_config "$BUNDLE" '.linux.namespaces |= map(select(.type != "user"))
		| .linux.uidMappings = [{"containerID": 0, "hostID": 0, "size": 1}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 0, "size": 1}]'
	refused_create
	[[ "$output" == *uidMappings* ]]
}

@test "errors: a namespace type given twice" {
	update_config "$BUNDLE" '.linux.namespaces += [{"type": "pid"}]'
	refused_create
	[[ "$output" == *linux.namespaces* ]]
	[[ "$output" == *'"pid"'* ]]
}

@test "errors: a missing config.json is named" {
	rm "$BUNDLE/config.json"
	refused_create
	[[ "$output" == *config.json* ]]
}

@test "errors: a failure after the container process exists is reported once (run)" {
	# an inheritable capability outside the bounding set cannot be set
	# (capset): found only when the process drops to its user
	update_config "$BUNDLE" '.process.user = {"uid": 1000, "gid": 1000} | .process.capabilities.inheritable = ["CAP_SYS_ADMIN"]'
	refused run --bundle "$BUNDLE" "$ID"
	[[ "$output" == *process.capabilities* ]]
}

@test "errors: a failure after the container process exists is reported by start" {
	update_config "$BUNDLE" '.process.user = {"uid": 1000, "gid": 1000} | .process.capabilities.inheritable = ["CAP_SYS_ADMIN"]'
	run_husk create --bundle "$BUNDLE" "$ID"
	if [ "$status" -eq 0 ]; then
		# husk applies the user and capabilities after `start`: then start
		# must fail and say why
		run_husk start "$ID"
		echo "start: status=$status $output"
		[ "$status" -ne 0 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *process.capabilities* ]]
		wait_for_status "$ID" stopped
		husk delete "$ID"
	else
		echo "create: $output"
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *process.capabilities* ]]
	fi
	assert_nothing_left
	[ -z "$(husk list -q)" ]
}

# runc: a --log that cannot be opened fails the command (silently ignored,
# the caller's errors would go nowhere)
@test "errors: --log to a path that cannot be opened is an error, as with runc" {
	run runc --log "$TEST_DIR/no/such/dir/log" list
	[ "$status" -ne 0 ]
	refused --log "$TEST_DIR/no/such/dir/log" run --bundle "$BUNDLE" "$ID"
	[[ "$output" == *'--log "'"$TEST_DIR"'/no/such/dir/log": No such file or directory'* ]]
	refused --log "$TEST_DIR/no/such/dir/log" list
	# one that can be opened gets the error lines, in order
	run_husk --log "$TEST_DIR/log" state nosuch
	run_husk --log "$TEST_DIR/log" kill nosuch
	[ "$(grep -c 'level=error msg=.*nosuch.* does not exist' "$TEST_DIR/log")" -eq 2 ]
}
