#!/usr/bin/env bats
# husk-oci exec: a new process in a running container.

load helpers

# a running container: sh that writes a file then sleeps
start_container() {
	update_config "$BUNDLE" '.root.readonly = false | .process.args = ["sh", "-c", "echo from-init > /tmp/init-file; exec sleep 1000"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	INIT_PID=$(husk state "$ID" | jq -r .pid)
	for _ in $(seq 100); do [ -e "$BUNDLE/rootfs/tmp/init-file" ] && break; sleep 0.05; done
}

@test "exec: runs in the container's namespaces (uts, pid, mount)" {
	start_container
	run husk exec "$ID" sh -c 'hostname; ps -o pid,args; cat /tmp/init-file'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = husk ]
	# the container's pid 1 is the init, sleeping
	grep -Eq '^ *1 +sleep 1000$' <<<"$output"
	# no host process is visible: ps header, init, sh, ps
	[ "$(grep -c '^ *[0-9]' <<<"$output")" -le 4 ]
	[ "${lines[-1]}" = from-init ]
	# the same namespaces as init, as the host sees them
	# detached: stdio that is not bats' capture pipe
	husk_d exec -d --pid-file "$TEST_DIR/exec.pid" "$ID" sleep 100
	epid=$(cat "$TEST_DIR/exec.pid")
	for ns in pid mnt uts ipc net cgroup; do
		echo "$ns: init $(readlink /proc/$INIT_PID/ns/$ns) exec $(readlink /proc/$epid/ns/$ns)"
		[ "$(readlink /proc/$INIT_PID/ns/$ns)" = "$(readlink /proc/$epid/ns/$ns)" ]
	done
	[ "$(readlink /proc/$epid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ]
}

@test "exec: passes the exit status" {
	start_container
	run husk exec "$ID" sh -c 'exit 42'
	[ "$status" -eq 42 ]
	run husk exec "$ID" true
	[ "$status" -eq 0 ]
	run husk exec "$ID" sh -c 'kill -KILL $$'
	[ "$status" -eq 137 ]
}

@test "exec: -e, --cwd" {
	start_container
	run husk exec -e FOO=bar --env BAZ=qux --cwd /tmp "$ID" sh -c 'echo $FOO $BAZ; pwd'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "bar qux" ]
	[ "${lines[1]}" = /tmp ]
	run husk exec -e NOEQUALS "$ID" true
	[ "$status" -ne 0 ]
	[[ "$output" == *'expected NAME=VALUE'* ]]
}

@test "exec: -u 1000:1000" {
	start_container
	run husk exec -u 1000:1000 "$ID" id
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "uid=1000 gid=1000"* ]]
	run husk exec --user 1001 "$ID" id -u
	[ "$status" -eq 0 ]
	[ "$output" = 1001 ]
	run husk exec -u nobody "$ID" id
	[ "$status" -ne 0 ]
	[[ "$output" == *'--user "nobody"'* ]]
}

# CapEff of the process, as a number
capeff_has() {
	local hex=$1 bit=$2
	(((0x$hex >> bit) & 1))
}

@test "exec: --cap CAP_SYS_ADMIN adds it to the effective set" {
	start_container
	run husk exec "$ID" sh -c 'grep CapEff /proc/self/status'
	[ "$status" -eq 0 ]
	! capeff_has "$(awk '{print $2}' <<<"$output")" 21
	run husk exec --cap CAP_SYS_ADMIN "$ID" sh -c 'grep CapEff /proc/self/status'
	[ "$status" -eq 0 ]
	capeff_has "$(awk '{print $2}' <<<"$output")" 21
	# and it works: a mount the container alone could not make
	run husk exec --cap CAP_SYS_ADMIN "$ID" sh -c 'mkdir -p /tmp/m && mount -t tmpfs t /tmp/m && echo mounted'
	[ "$status" -eq 0 ]
	[ "$output" = mounted ]
	run husk exec "$ID" sh -c 'mkdir -p /tmp/m2 && mount -t tmpfs t /tmp/m2 && echo mounted'
	[ "$status" -ne 0 ]
}

@test "exec: --no-new-privs" {
	update_config "$BUNDLE" '.process.noNewPrivileges = false'
	start_container
	run husk exec "$ID" grep NoNewPrivs /proc/self/status
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\t0' ]]
	run husk exec --no-new-privs "$ID" grep NoNewPrivs /proc/self/status
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\t1' ]]
}

@test "exec -d --pid-file: the process runs in the container's cgroup" {
	start_container
	# detached: stdio that is not bats' capture pipe
	husk_d exec -d --pid-file "$TEST_DIR/exec.pid" "$ID" sleep 100
	epid=$(cat "$TEST_DIR/exec.pid")
	kill -0 "$epid"
	grep -q '^sleep' "/proc/$epid/comm"
	cat /proc/$epid/cgroup /proc/$INIT_PID/cgroup
	[ "$(cat /proc/$epid/cgroup)" = "$(cat /proc/$INIT_PID/cgroup)" ]
	# and husk-oci ps sees it
	run husk ps --format json "$ID"
	[ "$status" -eq 0 ]
	[ "$(jq "index($epid) != null" <<<"$output")" = true ]
	[ "$(jq "index($INIT_PID) != null" <<<"$output")" = true ]
}

@test "ps: the table is ps's header and the container's processes only, as runc prints it" {
	start_container
	run husk ps "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *PID* ]]
	# the init alone: no process of the host's (before, -ef -p listed all)
	[ "${#lines[@]}" -eq 2 ]
	[ "$(awk 'NR == 2 {print $2}' <<<"$output")" = "$INIT_PID" ]
	# the PID column found wherever the options put it
	run husk ps "$ID" -o comm,pid
	[ "$status" -eq 0 ]
	[ "$(awk 'NR == 2 {print $2}' <<<"$output")" = "$INIT_PID" ]
	# options that print no PID: one clear line
	run husk ps "$ID" -o comm
	[ "$status" -ne 0 ]
	[[ "$output" == *"no PID column"* ]]
}

@test "exec: a foreground process is in the container's cgroup too" {
	start_container
	run husk exec "$ID" cat /proc/self/cgroup
	[ "$status" -eq 0 ]
	# as seen from inside (cgroup namespace): the same as init's view
	[ "$output" = "$(husk exec "$ID" cat /proc/1/cgroup)" ]
}

@test "exec -p: a whole process object" {
	start_container
	cat >"$TEST_DIR/process.json" <<-'EOF'
	{
		"terminal": false,
		"user": {"uid": 1000, "gid": 1000},
		"args": ["sh", "-c", "echo $FOO; pwd; id -u; grep NoNewPrivs /proc/self/status"],
		"env": ["PATH=/bin:/usr/bin", "FOO=from-process-json"],
		"cwd": "/tmp",
		"noNewPrivileges": true
	}
	EOF
	run husk exec -p "$TEST_DIR/process.json" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = from-process-json ]
	[ "${lines[1]}" = /tmp ]
	[ "${lines[2]}" = 1000 ]
	[[ "${lines[3]}" == *$'\t1' ]]
	echo '{"args": ' >"$TEST_DIR/bad.json"
	run husk exec --process "$TEST_DIR/bad.json" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *'--process'* ]]
}

@test "exec: into a stopped container fails clearly" {
	update_config "$BUNDLE" '.process.args = ["true"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" stopped
	run husk exec "$ID" true
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot exec in container \"$ID\": it is stopped"* ]]
	run husk exec nosuchcontainer true
	[ "$status" -ne 0 ]
	[[ "$output" == *'"nosuchcontainer" does not exist'* ]]
}

@test "exec: into a paused container fails clearly, works after resume" {
	start_container
	husk pause "$ID"
	wait_for_status "$ID" paused
	run timeout 10 "$HUSK_OCI" --root "$ROOT" exec "$ID" echo hi
	[ "$status" -ne 0 ]
	[ "$status" -ne 124 ]
	[[ "$output" == *"cannot exec in container \"$ID\": it is paused"* ]]
	husk resume "$ID"
	run husk exec "$ID" echo hi
	[ "$status" -eq 0 ]
	[ "$output" = hi ]
}

@test "exec: a command that does not exist fails clearly and leaves no process" {
	start_container
	run husk ps --format json "$ID"
	before=$(jq -c 'sort' <<<"$output")
	run husk exec "$ID" no-such-command
	[ "$status" -ne 0 ]
	[[ "$output" == *'"no-such-command": executable file not found in $PATH'* ]]
	run husk exec "$ID" /no/such/path
	[ "$status" -ne 0 ]
	[[ "$output" == *'"/no/such/path"'* ]]
	sleep 0.2
	run husk ps --format json "$ID"
	[ "$(jq -c 'sort' <<<"$output")" = "$before" ]
	# and the container goes on
	run husk exec "$ID" echo still
	[ "$output" = still ]
}

@test "exec: with no command fails clearly" {
	start_container
	run husk exec "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *'expected a command to run'* ]]
}

@test "exec: stdin reaches the process" {
	start_container
	run bash -c "echo piped | '$HUSK_OCI' --root '$ROOT' exec '$ID' cat"
	[ "$status" -eq 0 ]
	[ "$output" = piped ]
}

@test "exec -t: a pty to the console socket" {
	gcc -Wall -o "$TEST_DIR/recvtty" "$BATS_TEST_DIRNAME/tools/recvtty.c"
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	"$TEST_DIR/recvtty" "$TEST_DIR/tty.sock" hello >"$TEST_DIR/tty.out" 2>"$TEST_DIR/tty.err" </dev/null &
	recv=$!
	for _ in $(seq 100); do [ -S "$TEST_DIR/tty.sock" ] && break; sleep 0.02; done
	husk_d exec -t -d --console-socket "$TEST_DIR/tty.sock" "$ID" \
		sh -c 'read line; echo got:$line; tty; [ -t 0 ] && [ -t 1 ] && echo all-tty'
	for _ in $(seq 100); do kill -0 "$recv" 2>/dev/null || break; sleep 0.05; done
	wait "$recv"
	out=$(tr -d '\r' <"$TEST_DIR/tty.out")
	echo "$out"
	grep -qx "got:hello" <<<"$out"
	grep -Eqx "/dev/pts/[0-9]+" <<<"$out"
	grep -qx "all-tty" <<<"$out"
}

@test "exec -t without --console-socket in the foreground: the pty is proxied" {
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	run husk exec -t "$ID" sh -c '[ -t 1 ] && echo tty-ok; exit 3' </dev/null
	[ "$status" -eq 3 ]
	[[ "$output" == *tty-ok* ]]
}

# runc: --env NAME=VALUE wins over NAME in process.env (getenv finds the
# first of two, so the config's must go); the command is looked up in the
# PATH given
@test "exec: --env overrides a variable of process.env, as runc" {
	update_config "$BUNDLE" '.process.env += ["FOO=from-config"]'
	start_container
	RUNC_BIN=${RUNC_BIN:-/usr/sbin/runc}
	local rid="rc$$-$BATS_TEST_NUMBER"
	"$RUNC_BIN" --root "$TEST_DIR/runc-state" run -d --bundle "$BUNDLE" "$rid" </dev/null >/dev/null 2>&1
	run husk exec --env FOO=from-flag "$ID" env
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep '^FOO=' <<<"$output")" = FOO=from-flag ]
	r_out=$("$RUNC_BIN" --root "$TEST_DIR/runc-state" exec --env FOO=from-flag "$rid" env)
	[ "$(grep '^FOO=' <<<"$r_out")" = FOO=from-flag ]
	run husk exec --env PATH=/nowhere "$ID" true
	echo "$output"
	[ "$status" -ne 0 ]
	run "$RUNC_BIN" --root "$TEST_DIR/runc-state" exec --env PATH=/nowhere "$rid" true
	[ "$status" -ne 0 ]
	"$RUNC_BIN" --root "$TEST_DIR/runc-state" delete --force "$rid"
}

# runc makes the exec'd process a process group leader; in the runtime's
# group, outside the container's pid namespace, getpgrp() would be 0
@test "exec: the process leads its own process group" {
	start_container
	run husk exec "$ID" sh -c 'echo $$; cut -d" " -f5 /proc/self/stat; ps -o pid,pgid | awk "\$1 == $$ { print \$2 }"'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" != 0 ]
	[ "$(awk '{print $5}' /proc/self/stat)" != 0 ]
	# sh is pid $$ and its own group leader
	[ "$(husk exec "$ID" sh -c 'test $(cut -d" " -f5 /proc/$$/stat) = $$ && echo leader')" = leader ]
}

# runc's exec --cgroup [CTRL[,CTRL]:]PATH: a sub-cgroup of the container's
@test "exec: --cgroup runs the process in a sub-cgroup of the container's" {
	start_container
	cg=$(grep ':memory:' /proc/self/cgroup | cut -d: -f3)
	mem="/sys/fs/cgroup/memory${cg%/}/$ID"
	[ -d "$mem" ]
	mkdir "$mem/sub"
	run husk exec --cgroup memory:sub "$ID" sh -c 'grep -E ":(memory|pids):" /proc/self/cgroup'
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q ':memory:/sub$' <<<"$output"
	grep -q ':pids:/$' <<<"$output"
	# without a controller: every hierarchy, and the cgroup must exist
	run husk exec --cgroup nosuch "$ID" true
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *'--cgroup "nosuch"'* ]]
	run husk exec --cgroup ../x "$ID" true
	[ "$status" -ne 0 ]
	rmdir "$mem/sub"
}
