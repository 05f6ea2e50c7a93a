#!/usr/bin/env bats
# The engine's containers confined by default: Docker's seccomp profile
# (the calls it denies fail with EPERM), and the options that change it.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	engine_setup
	gcc -static -O2 -o "$TEST_DIR/denied" "$BATS_TEST_DIRNAME/tools/denied.c"
}

teardown() {
	engine_teardown
}

# what each call of tools/denied.c got, on one line
calls() {
	"$HUSK" run --rm -v "$TEST_DIR/denied:/denied:ro" "$@" busybox /denied | tr '\n' ' '
}

@test "default seccomp profile: Docker's denied calls fail with EPERM; unconfined and --privileged lift it" {
	run "$HUSK" run --rm busybox grep -E '^Seccomp:' /proc/self/status
	[ "$output" = "Seccomp:	2" ]
	run calls
	[ "$output" = "keyctl EPERM add_key EPERM mount EPERM kexec_load EPERM bpf EPERM clone-newuser EPERM unshare EPERM " ]
	# control: the same binary with no filter; the keyring and new user
	# namespaces are there to take (mount still needs CAP_SYS_ADMIN)
	run calls --security-opt seccomp=unconfined
	[ "$output" = "keyctl ok add_key ok mount EPERM kexec_load ENOSYS bpf EINVAL clone-newuser ok unshare ok " ]
	run "$HUSK" run --rm --security-opt seccomp=unconfined busybox grep -E '^Seccomp:' /proc/self/status
	[ "$output" = "Seccomp:	0" ]
	# --privileged: no filter, every capability
	run calls --privileged
	[[ "$output" == "keyctl ok add_key ok mount ok "* ]]
	[[ "$output" == *"clone-newuser ok unshare ok "* ]]
	# CAP_SYS_ADMIN brings namespaces and mount back, not the keyring
	run calls --cap-add SYS_ADMIN
	[[ "$output" == "keyctl EPERM add_key EPERM mount ok "* ]]
	[[ "$output" == *"clone-newuser ok unshare ok "* ]]
	# an everyday workload is not in the way
	run "$HUSK" run --rm busybox sh -c 'echo a | sort; (sleep 0.01 &) ; wait; ls /etc >/dev/null && echo fine'
	[ "$output" = "a
fine" ]
}

@test "default seccomp profile: converted once per capability set into a root-only memo; a tampered memo is not used" {
	export HUSK_SECCOMP_CACHE="$TEST_DIR/seccomp-cache"
	id=$("$HUSK" create busybox true)
	memo=$(ls "$HUSK_SECCOMP_CACHE"/*.profile)
	[ "$(stat -c '%a %U' "$memo")" = "600 root" ]
	# config.json is valid JSON that carries the profile for the runtime
	cfg="$HUSK_ROOT/containers/$id/config.json"
	[ "$(jq -r '.linux.seccomp.defaultAction' "$cfg")" = SCMP_ACT_ERRNO ]
	[ "$(jq -r '.linux.seccomp.syscalls | length > 10' "$cfg")" = true ]
	"$HUSK" rm "$id" >/dev/null
	# a hit: the memo is read, not written again
	ino=$(stat -c %i "$memo")
	run calls
	[ "$output" = "keyctl EPERM add_key EPERM mount EPERM kexec_load EPERM bpf EPERM clone-newuser EPERM unshare EPERM " ]
	[ "$(stat -c %i "$memo")" = "$ino" ]
	# another capability set is another memo
	"$HUSK" run --rm --cap-add SYS_ADMIN busybox true
	[ "$(ls "$HUSK_SECCOMP_CACHE"/*.profile | wc -l)" -eq 2 ]
	# a memo changed behind our back (here: default allow, same length,
	# its hash left as it was) is a miss: converted anew, the filter holds
	LC_ALL=C sed -i 's/"defaultAction":"SCMP_ACT_ERRNO"/"defaultAction":"SCMP_ACT_ALLOW"/' "$memo"
	grep -aq '"defaultAction":"SCMP_ACT_ALLOW"' "$memo"
	run calls
	[ "$output" = "keyctl EPERM add_key EPERM mount EPERM kexec_load EPERM bpf EPERM clone-newuser EPERM unshare EPERM " ]
	! grep -aq '"defaultAction":"SCMP_ACT_ALLOW"' "$memo"
	# one that others could have written is not trusted either
	chmod 666 "$memo"
	ino=$(stat -c %i "$memo")
	run calls
	[[ "$output" == "keyctl EPERM add_key EPERM "* ]]
	[ "$(stat -c %i "$memo")" != "$ino" ]
	[ "$(stat -c %a "$memo")" = 600 ]
}

@test "default seccomp profile: the memo is keyed by the profile file; one rewritten in place is converted anew" {
	export HUSK_SECCOMP_CACHE="$TEST_DIR/seccomp-cache"
	export HUSK_SECCOMP_PROFILE="$TEST_DIR/profile.json"
	cp /usr/share/containers/seccomp.json "$HUSK_SECCOMP_PROFILE"
	# just written: it may still be being written, so nothing is stored
	run calls
	[[ "$output" == "keyctl EPERM add_key EPERM "* ]]
	[ -z "$(ls "$HUSK_SECCOMP_CACHE"/*.profile 2>/dev/null)" ]
	sleep 1.1
	run calls
	[[ "$output" == "keyctl EPERM add_key EPERM "* ]]
	[ "$(ls "$HUSK_SECCOMP_CACHE"/*.profile | wc -l)" -eq 1 ]
	# the same file, the same size, flock no longer named: the memo of
	# the old text must not be used
	sed 's/"flock"/"flocX"/' "$HUSK_SECCOMP_PROFILE" >"$TEST_DIR/changed.json"
	! cmp -s "$TEST_DIR/changed.json" "$HUSK_SECCOMP_PROFILE"
	ino=$(stat -c %i "$HUSK_SECCOMP_PROFILE")
	size=$(stat -c %s "$HUSK_SECCOMP_PROFILE")
	id=$("$HUSK" create busybox true)
	[ "$(jq '[.linux.seccomp.syscalls[].names[] | select(. == "flock")] | length' "$HUSK_ROOT/containers/$id/config.json")" = 1 ]
	"$HUSK" rm "$id"
	cat "$TEST_DIR/changed.json" >"$HUSK_SECCOMP_PROFILE"
	[ "$(stat -c %i.%s "$HUSK_SECCOMP_PROFILE")" = "$ino.$size" ]
	id=$("$HUSK" create busybox true)
	[ "$(jq '[.linux.seccomp.syscalls[].names[] | select(. == "flock")] | length' "$HUSK_ROOT/containers/$id/config.json")" = 0 ]
	[ "$(jq '[.linux.seccomp.syscalls[].names[] | select(. == "flocX")] | length' "$HUSK_ROOT/containers/$id/config.json")" = 1 ]
	"$HUSK" rm "$id"
}

@test "default seccomp profile: missing, the run fails closed with a clear line and leaves nothing" {
	HUSK_SECCOMP_PROFILE="$TEST_DIR/none.json" run "$HUSK" run --rm busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"the default seccomp profile"*"none.json"* ]]
	[ -z "$(ls "$HUSK_ROOT/containers" 2>/dev/null)" ]
	# a profile of the user's own is taken as it is
	cat >"$TEST_DIR/p.json" <<'J'
{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
J
	run "$HUSK" run --rm --security-opt seccomp="$TEST_DIR/p.json" busybox mkdir /x
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
}

@test "CVE-2019-5736: the monitor's steps, which enter containers, run from a read-only mount" {
	# a private copy of husk and its monitor: a successful attack would
	# overwrite the copy, never the build
	mkdir -p "$TEST_DIR/bin"
	d=$(dirname "$HUSK")
	cp "$HUSK" "$d/husk-monitor" "$d/husk-monitor-step" "$TEST_DIR/bin/"
	sum=$(sha256sum <"$TEST_DIR/bin/husk-monitor-step")
	# a healthcheck step lives as long as its check: catch it then
	HUSK_MONITOR= HUSK_SELF= "$TEST_DIR/bin/husk" run -d --name hc --health-cmd 'sleep 2' \
		--health-interval 1s busybox sleep 100
	mon=$(jq -r .monitor_pid "$HUSK_ROOT"/containers/*/meta.json)
	step=
	for _ in $(seq 100); do
		step=$(ps --ppid "$mon" -o pid=,args= | awk '/husk-monitor-step health/ {print $1}')
		[ -n "$step" ] && break
		sleep 0.05
	done
	[ -n "$step" ]
	# the attack: an fd to the step's exe kept while it runs, reopened for
	# writing once it has exited (while it runs the kernel says "Text file
	# busy" whatever the mount)
	run sh -c "exec 3</proc/$step/exe; while kill -0 $step 2>/dev/null; do sleep 0.05; done
		echo x >>/proc/self/fd/3"
	echo "$output"
	[[ "$output" == *"Read-only file system"* ]]
	[ "$(sha256sum <"$TEST_DIR/bin/husk-monitor-step")" = "$sum" ]
	"$HUSK" rm -f hc >/dev/null
}
