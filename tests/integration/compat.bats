#!/usr/bin/env bats
# The same bundles under husk-oci and runc give the same observable results.
# runc gets its own state root in the test's temp dir and its own ids.

load helpers

setup() {
	setup_husk
	RUNC_BIN=${RUNC_BIN:-/usr/sbin/runc}
	if [ ! -x "$RUNC_BIN" ]; then
		RUNC_BIN=$(command -v "$RUNC" || true)
	fi
	if [ -z "$RUNC_BIN" ] || [ ! -x "$RUNC_BIN" ]; then
		skip "runc is missing (looked for /usr/sbin/runc and \"$RUNC\" in PATH): nothing to compare with"
	fi
	RUNC_ROOT="$TEST_DIR/runc-state"
	RID="rc$$-${BATS_TEST_NUMBER}"
	CRUN_ROOT="$TEST_DIR/crun-state"
	CID="cr$$-${BATS_TEST_NUMBER}"
}

# crun_rt ARGS...: Debian's crun 1.8.1 refuses a hybrid cgroup host, so on
# one it runs in a mount namespace of its own without the unified
# hierarchy (as bench/memory-floor.sh does).  Skips when crun is missing.
# The namespace keeps the host's propagation (so that a shared mount stays
# shared); only its copy of the unified mount is made private, then gone.
crun_rt() {
	command -v crun >/dev/null || skip "crun is missing: nothing to compare with"
	if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
		unshare -m --propagation unchanged sh -c 'mount --make-private /sys/fs/cgroup/unified &&
			umount /sys/fs/cgroup/unified && exec "$0" "$@"' \
			crun --root "$CRUN_ROOT" "$@"
	else
		crun --root "$CRUN_ROOT" "$@"
	fi
}

teardown() {
	if [ -n "${RUNC_BIN:-}" ] && [ -d "${RUNC_ROOT:-/nonexistent}" ]; then
		"$RUNC_BIN" --root "$RUNC_ROOT" delete --force "$RID" >/dev/null 2>&1 || true
	fi
	if [ -d "${CRUN_ROOT:-/nonexistent}" ]; then
		crun_rt delete --force "$CID" >/dev/null 2>&1 || true
	fi
	local ok=0
	# nothing of runc's run is left either
	local cg
	cg=$(find /sys/fs/cgroup -maxdepth 6 -type d \( -name "rc$$-*" -o -name "cr$$-*" \) 2>/dev/null || true)
	if [ -n "$cg" ]; then
		echo "runc or crun left cgroups: $cg" >&2
		find /sys/fs/cgroup -maxdepth 6 -type d \( -name "rc$$-*" -o -name "cr$$-*" \) -delete 2>/dev/null || true
		ok=1
	fi
	teardown_husk || ok=1
	return $ok
}

# set_script SCRIPT: the process is busybox sh -c SCRIPT
set_script() {
	jq --arg s "$1" '.process.args = ["/bin/sh", "-c", $s]' "$BUNDLE/config.json" >"$BUNDLE/config.json.new" &&
		mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# both: run the bundle to its end under husk-oci, then under runc; sets
# h_out/h_status and r_out/r_status (stdout only; stderr is shown) and
# prints both, with a diff, so that a failing test shows the difference.
both() {
	h_status=0
	h_out=$("$HUSK_OCI" --root "$ROOT" run --bundle "$BUNDLE" "$ID" </dev/null 2>"$TEST_DIR/h.err") || h_status=$?
	r_status=0
	r_out=$("$RUNC_BIN" --root "$RUNC_ROOT" run --bundle "$BUNDLE" "$RID" </dev/null 2>"$TEST_DIR/r.err") || r_status=$?
	show_both
}

show_both() {
	echo "--- husk-oci: status $h_status"
	echo "$h_out"
	sed 's/^/stderr: /' "$TEST_DIR/h.err"
	echo "--- runc: status $r_status"
	echo "$r_out"
	sed 's/^/stderr: /' "$TEST_DIR/r.err"
	echo "--- diff husk-oci runc"
	diff <(echo "$h_out") <(echo "$r_out") || true
}

same() {
	[ "$h_status" -eq "$r_status" ]
	[ "$h_out" = "$r_out" ]
}

@test "compat: hostname and pid 1" {
	set_script 'hostname; echo $$'
	both
	same
	[ "$h_status" -eq 0 ]
	[ "$h_out" = "$(printf 'husk\n1')" ]
}

@test "compat: the set of mount points" {
	set_script "awk '{ print \$5 }' /proc/self/mountinfo | sort"
	both
	[ "$h_status" -eq 0 ]
	[ "$r_status" -eq 0 ]
	# This host is hybrid: v1 controllers under /sys/fs/cgroup plus a
	# cgroup2 hierarchy at /sys/fs/cgroup/unified. husk mounts that
	# hierarchy too; runc 1.1.5 mounts only the v1 ones (its
	# GetCgroupMounts lists fstype "cgroup" only). That one mount point is
	# a legitimate difference: drop it from husk's list, only when the host
	# has it and runc did not mount it.
	h_norm=$h_out
	if awk '$5 == "/sys/fs/cgroup/unified" && $9 == "cgroup2" { f = 1 } END { exit !f }' /proc/self/mountinfo &&
		! grep -qx /sys/fs/cgroup/unified <<<"$r_out"; then
		h_norm=$(grep -vx /sys/fs/cgroup/unified <<<"$h_out")
	fi
	if [ "$h_norm" != "$r_out" ]; then
		echo "--- mount points differ after normalising (husk-oci < > runc)"
		diff <(echo "$h_norm") <(echo "$r_out") || true
		false
	fi
	# and the set is not trivially empty
	grep -qx / <<<"$h_out"
	grep -qx /proc <<<"$h_out"
	grep -qx /dev/pts <<<"$h_out"
	grep -qx /sys/fs/cgroup/memory <<<"$h_out"
}

@test "compat: capabilities of the default spec" {
	set_script 'grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb):" /proc/self/status'
	both
	same
	[ "$(wc -l <<<"$h_out")" -eq 5 ]
	# CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE
	grep -qx $'CapEff:\t0000000020000420' <<<"$h_out"
}

@test "compat: all five capability sets, as root and as a user" {
	update_config "$BUNDLE" '.process.capabilities = {
		"bounding": ["CAP_NET_RAW", "CAP_KILL", "CAP_CHOWN"],
		"permitted": ["CAP_NET_RAW", "CAP_KILL"],
		"effective": ["CAP_NET_RAW"],
		"inheritable": ["CAP_NET_RAW", "CAP_KILL"],
		"ambient": ["CAP_NET_RAW"]}'
	set_script 'grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb):" /proc/self/status'
	both
	same
	grep -qx $'CapAmb:\t0000000000002000' <<<"$h_out"
	update_config "$BUNDLE" '.process.user = {"uid": 1000, "gid": 1000}'
	both
	same
	grep -qx $'CapEff:\t0000000000002000' <<<"$h_out"
}

@test "compat: uid and gid of the default spec" {
	set_script 'id; id -u; id -g; id -G'
	both
	same
	[ "$(sed -n 2p <<<"$h_out")" = 0 ]
}

@test "compat: rlimits of the default spec (ulimit -a)" {
	set_script 'ulimit -a; echo hard nofile $(ulimit -Hn)'
	both
	same
	grep -q 'open files.* 1024$' <<<"$h_out"
}

@test "compat: rlimits NOFILE 512/1024 and CORE" {
	update_config "$BUNDLE" '.process.rlimits = [
		{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024},
		{"type": "RLIMIT_CORE", "soft": 4096, "hard": 8192}]'
	set_script 'ulimit -a; echo nofile $(ulimit -Sn) $(ulimit -Hn); echo core $(ulimit -Sc) $(ulimit -Hc); grep -E "^Max (open files|core file size)" /proc/self/limits'
	both
	same
	grep -qx 'nofile 512 1024' <<<"$h_out"
	grep -q '^Max core file size *4096 *8192 *bytes' <<<"$h_out"
}

@test "compat: the exit status" {
	set_script 'exit 7'
	both
	same
	[ "$h_status" -eq 7 ]
	set_script 'exit 0'
	both
	same
	[ "$h_status" -eq 0 ]
}

@test "compat: the status of a command not found or not executable" {
	for cmd in nosuch /nosuch /etc/passwd /etc; do
		update_config "$BUNDLE" ".process.args = [\"$cmd\"]"
		both
		[ "$h_status" -eq "$r_status" ]
		[ "$h_status" -ne 0 ]
		"$RUNC_BIN" --root "$RUNC_ROOT" delete --force "$RID" >/dev/null 2>&1 || true
	done
}

@test "compat: a non-root user with additionalGids and a umask" {
	update_config "$BUNDLE" '.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 63}
		| .mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}]'
	set_script 'id -u; id -g; id -G; umask; touch /tmp/f; mkdir /tmp/d; stat -c "%a %u %g %n" /tmp/f /tmp/d; grep -E "^(Uid|Gid|Groups|CapEff):" /proc/self/status'
	both
	same
	[ "$(sed -n 1,4p <<<"$h_out")" = "$(printf '1000\n1000\n1000 10 20\n0077')" ]
	grep -qx '600 1000 1000 /tmp/f' <<<"$h_out"
	grep -qx '700 1000 1000 /tmp/d' <<<"$h_out"
}

@test "compat: env of the default spec (PATH, HOME, TERM)" {
	set_script 'echo "PATH=$PATH"; echo "HOME=$HOME"; echo "TERM=$TERM"; env | sort'
	both
	same
	grep -qx 'HOME=/root' <<<"$h_out"
	grep -qx 'TERM=xterm' <<<"$h_out"
	grep -qx "$(jq -r '.process.env[] | select(startswith("PATH="))' "$BUNDLE/config.json")" <<<"$h_out"
}

@test "compat: env of a user without a passwd entry, and an explicit HOME" {
	update_config "$BUNDLE" '.process.user = {"uid": 1000, "gid": 1000}'
	set_script 'env | sort'
	both
	same
	grep -qx 'HOME=/' <<<"$h_out"
	update_config "$BUNDLE" '.process.env += ["HOME=/explicit"]'
	both
	same
	grep -qx 'HOME=/explicit' <<<"$h_out"
}

# runc sets HOME, when the config leaves it out, from the container's
# /etc/passwd entry for the uid ("/" when there is none).
@test "compat: HOME comes from the container's /etc/passwd" {
	echo 'u:x:1000:1000:u:/home/u:/bin/sh' >>"$BUNDLE/rootfs/etc/passwd"
	update_config "$BUNDLE" '.process.user = {"uid": 1000, "gid": 1000}'
	set_script 'echo "HOME=$HOME"'
	both
	same
	[ "$h_out" = HOME=/home/u ]
	# and root's home as the image says, not a fixed /root
	sed -i 's#^root:x:0:0:root:/root:#root:x:0:0:root:/var/roothome:#' "$BUNDLE/rootfs/etc/passwd"
	update_config "$BUNDLE" '.process.user = {"uid": 0, "gid": 0}'
	both
	same
	[ "$h_out" = HOME=/var/roothome ]
}

# With no PATH in process.env, runc 1.1.5 passes none: busybox sh then
# uses its own built-in default.
@test "compat: env without PATH" {
	update_config "$BUNDLE" '.process.env = ["TERM=dumb"]'
	set_script 'echo "PATH=$PATH"; env | sort'
	both
	same
}

# runc 1.1.5 makes a process.cwd that is missing from the rootfs (mode 755,
# before root.readonly takes effect) and the process starts there.
@test "compat: a process.cwd missing from the rootfs" {
	update_config "$BUNDLE" '.process.cwd = "/work/dir"'
	set_script 'pwd; stat -c "%a %u %g" .'
	both
	same
	[ "$h_out" = "$(printf '/work/dir\n755 0 0')" ]
}

@test "compat: /dev entries, no_new_privs and seccomp state" {
	set_script 'ls -l /dev | awk "NR > 1 { print \$1, \$5, \$6, \$NF }"; grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status; cat /proc/self/oom_score_adj'
	both
	same
	grep -qx $'NoNewPrivs:\t1' <<<"$h_out"
	grep -q ' null$' <<<"$h_out"
}

# The first thing a runc user tries: `runc spec` and run it, untouched.
# runc 1.1.5's default asks for three ambient capabilities that are not
# inheritable, which prctl(PR_CAP_AMBIENT_RAISE) refuses: runc and crun
# skip them, and husk-oci too, with a warning in its log.  The config
# wants a terminal: script(1) gives each runtime one.
@test "compat: runc spec's untouched default config runs under husk-oci, runc and crun" {
	local b="$TEST_DIR/runc-spec"
	mkdir -p "$b"
	cp -a "$(rootfs_template)" "$b/rootfs"
	(cd "$b" && "$RUNC_BIN" spec)
	[ "$(jq -c .process.capabilities.ambient "$b/config.json")" != null ]
	local input=$'grep -E "^Cap(Eff|Amb):" /proc/self/status\nexit 3\n'
	local rt out st
	for rt in husk runc crun; do
		st=0
		case $rt in
		husk) out=$(cd "$b" && printf '%s' "$input" | timeout -s KILL 20 script -qec \
			"$HUSK_OCI --root $ROOT --log $TEST_DIR/husk.log run $ID" /dev/null) || st=$? ;;
		runc) out=$(cd "$b" && printf '%s' "$input" | timeout -s KILL 20 script -qec \
			"$RUNC_BIN --root $RUNC_ROOT run $RID" /dev/null) || st=$? ;;
		crun) command -v crun >/dev/null || continue
			out=$(cd "$b" && printf '%s' "$input" | timeout -s KILL 20 script -qec \
			"$(declare -f crun_rt); CRUN_ROOT=$CRUN_ROOT crun_rt run $CID" /dev/null) || st=$? ;;
		esac
		echo "--- $rt: status $st"
		echo "$out"
		[ "$st" -eq 3 ]
		grep -q $'CapEff:\t0000000020000420' <<<"$out"
		grep -q $'CapAmb:\t0000000000000000' <<<"$out"
	done
	grep -q 'level=warning msg="process.capabilities.ambient: cannot raise cap_kill' "$TEST_DIR/husk.log"
}

# A seccomp profile that denies close_range (or, written before 2020, does
# not list it under a deny-by-default action) must not stop the start:
# without noNewPrivileges the filter goes in early, while the runtime still
# holds CAP_SYS_ADMIN, and only the privilege drop and execve may come after
# it.  runc and crun run both configs.
@test "compat: a seccomp profile denying close_range, without noNewPrivileges" {
	set_script 'echo ran; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status'
	local ret
	for ret in 1 38; do
		update_config "$BUNDLE" ".ociVersion = \"1.0.2\" | .process.noNewPrivileges = false | .linux.seccomp = {
			\"defaultAction\": \"SCMP_ACT_ALLOW\",
			\"syscalls\": [{\"names\": [\"close_range\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": $ret}]}"
		both
		same
		[ "$h_status" -eq 0 ]
		[ "$(sed -n 1p <<<"$h_out")" = ran ]
		grep -qx $'Seccomp:\t2' <<<"$h_out"
		grep -qx $'NoNewPrivs:\t0' <<<"$h_out"
		c_out=$(cd "$BUNDLE" && crun_rt run "$CID" </dev/null)
		[ "$c_out" = "$h_out" ]
	done
}

# Without noNewPrivileges, run's init puts its filter in while the runtime
# writes the state, before start (as runc does before its exec fifo), when
# the filter lets the wait for start through; one that does not (recvmsg,
# which that wait is, denied here) is put in after start, as before, and
# the container runs as under runc, which waits on a fifo instead.
@test "compat: a profile denying the init's wait for start (recvmsg), without noNewPrivileges" {
	set_script 'echo ran; grep -E "^Seccomp:" /proc/self/status'
	update_config "$BUNDLE" '.ociVersion = "1.0.2" | .process.noNewPrivileges = false | .linux.seccomp = {
		"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["recvmsg", "recvmmsg"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
	both
	same
	[ "$h_status" -eq 0 ]
	[ "$h_out" = "$(printf 'ran\nSeccomp:\t2')" ]
}

# crun's --config: the config file to use instead of the bundle's
# config.json (relative to where the runtime runs); root.path stays the
# bundle's.
@test "compat: run and create --config FILE, as crun" {
	set_script 'echo from the bundle'
	jq '.ociVersion = "1.0.2" | .process.args = ["/bin/sh", "-c", "echo from elsewhere"]' \
		"$BUNDLE/config.json" >"$TEST_DIR/other.json"
	cd "$TEST_DIR"
	run husk run --bundle "$BUNDLE" --config other.json "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "from elsewhere" ]
	c_out=$(crun_rt run --bundle "$BUNDLE" --config other.json "$CID" </dev/null)
	[ "$c_out" = "from elsewhere" ]
	# create keeps it: start runs the process it named
	husk create --bundle "$BUNDLE" --config "$TEST_DIR/other.json" "$ID" >"$TEST_DIR/out" 2>&1
	husk start "$ID"
	wait_for_status "$ID" stopped
	[ "$(cat "$TEST_DIR/out")" = "from elsewhere" ]
	husk delete "$ID"
	# one that cannot be read is an error naming the flag
	run husk run --bundle "$BUNDLE" --config "$TEST_DIR/nosuch.json" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--config"*"nosuch.json"* ]]
}

# rootfsPropagation "unbindable": the rootfs bind must come before / is
# made unbindable (an unbindable mount cannot be bound).  crun runs it.
@test "compat: rootfsPropagation unbindable, as crun" {
	update_config "$BUNDLE" '.ociVersion = "1.0.2" | .linux.rootfsPropagation = "unbindable"'
	set_script 'awk "\$5 == \"/\" { print (/unbindable/ ? \"unbindable\" : \"bindable\") }" /proc/self/mountinfo'
	run husk run --bundle "$BUNDLE" "$ID"
	echo "husk-oci: $output"
	[ "$status" -eq 0 ]
	[ "$output" = unbindable ]
	c_out=$(cd "$BUNDLE" && crun_rt run "$CID" </dev/null)
	echo "crun: $c_out"
	[ "$c_out" = unbindable ]
}

# Kubernetes' bidirectional mount propagation: with rootfsPropagation
# rshared, a mount the container makes under an rshared bind of a shared
# host directory appears on the host (runc's prepareRoot keeps the host's
# peer groups and makes only the rootfs's own mount private).  runc and
# crun both propagate it.
@test "compat: rootfsPropagation rshared: a mount made in the container reaches the host" {
	local shared="$TEST_DIR/shared" rt
	mkdir -p "$shared/sub"
	mount --bind "$shared" "$shared"
	mount --make-shared "$shared"
	update_config "$BUNDLE" '.ociVersion = "1.0.2" | .linux.rootfsPropagation = "rshared"
		| .process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"]
		| .process.capabilities.permitted += ["CAP_SYS_ADMIN"]
		| .mounts += [{"destination": "/shared", "type": "bind", "source": "'"$shared"'", "options": ["rbind", "rshared"]}]'
	set_script 'mount -t tmpfs -o size=64k from-the-container /shared/sub && echo mounted'
	for rt in husk runc crun; do
		case $rt in
		husk) out=$(husk run --bundle "$BUNDLE" "$ID" 2>&1) ;;
		runc) out=$("$RUNC_BIN" --root "$RUNC_ROOT" run --bundle "$BUNDLE" "$RID" </dev/null 2>&1) ;;
		crun) command -v crun >/dev/null || continue
			out=$(cd "$BUNDLE" && crun_rt run "$CID" </dev/null 2>&1) ;;
		esac
		echo "$rt: $out"
		[ "$out" = mounted ]
		# the host sees it, and removes it
		awk -v m="$shared/sub" '$5 == m' /proc/self/mountinfo | grep -q from-the-container
		umount "$shared/sub"
	done
	umount "$shared"
	# the rootfs bind itself never reached the host
	! grep -F "$BUNDLE/rootfs" /proc/self/mountinfo
}

# --cgroup-manager disabled (crun's): no cgroup is made, the process stays
# in the runtime's cgroups (seen without a cgroup namespace)
@test "compat: --cgroup-manager disabled makes no cgroup, as crun" {
	update_config "$BUNDLE" '.ociVersion = "1.0.2" | .linux.namespaces -= [{"type": "cgroup"}]'
	set_script 'cat /proc/self/cgroup | sort'
	own=$(sort /proc/self/cgroup)
	run "$HUSK_OCI" --root "$ROOT" --cgroup-manager disabled run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$own" ]
	c_out=$(cd "$BUNDLE" && crun_rt --cgroup-manager disabled run "$CID" </dev/null)
	# crun runs in a namespace without the unified hierarchy: compare the v1 lines
	[ "$(grep -v '^0::' <<<"$c_out")" = "$(grep -v '^0::' <<<"$own")" ]
	# and while it runs, no directory of its name in any hierarchy
	set_script 'sleep 100'
	husk_d --cgroup-manager disabled run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	[ -z "$(find /sys/fs/cgroup -maxdepth 6 -type d -name "$ID")" ]
	husk delete --force "$ID"
}

# A process running as uid 1000 reopens its stdout pipe through /dev/stdout:
# runc (fixStdioPermissions) and crun give it the pipes it was handed.
@test "compat: a non-root process can reopen its stdio pipes" {
	update_config "$BUNDLE" '.process.user = {"uid": 1000, "gid": 1000}'
	set_script 'echo through-dev-stdout >/dev/stdout && echo ok'
	both
	same
	[ "$h_out" = "$(printf 'through-dev-stdout\nok')" ]
}

# linux.devices with a trailing slash in its path: runc cleans the path
@test "compat: a device path with a trailing slash" {
	update_config "$BUNDLE" '.linux.devices = [{"path": "/dev/mynull/", "type": "c", "major": 1, "minor": 3, "fileMode": 438, "uid": 0, "gid": 0}]'
	set_script 'stat -c "%F %t:%T %a %n" /dev/mynull; echo x >/dev/mynull && echo written'
	both
	same
	[ "$h_out" = "$(printf 'character special file 1:3 666 /dev/mynull\nwritten')" ]
}

# runc and crun refuse sysctl kernel.hostname and kernel.domainname: the
# config's hostname and domainname own them (the runc 1.1.5 and crun 1.8.1
# installed here refuse only the first; later versions both)
@test "compat: sysctl kernel.hostname and kernel.domainname are refused, as by runc and crun" {
	local key
	for key in kernel.hostname kernel.domainname; do
		update_config "$BUNDLE" ".ociVersion = \"1.0.2\" | .linux.sysctl = {\"$key\": \"x\"}"
		both
		[ "$h_status" -ne 0 ]
		[ "$key" = kernel.domainname ] || [ "$r_status" -ne 0 ]
		grep -q "linux.sysctl: \"$key\" is not allowed" "$TEST_DIR/h.err"
		run crun_rt run --bundle "$BUNDLE" "$CID"
		echo "crun: $output"
		[ "$key" = kernel.domainname ] || [ "$status" -ne 0 ]
		crun_rt delete --force "$CID" >/dev/null 2>&1 || true
		"$RUNC_BIN" --root "$RUNC_ROOT" delete --force "$RID" >/dev/null 2>&1 || true
	done
}

# jansson's integers are int64: a uint64 above INT64_MAX (RLIM_INFINITY as
# runc spec writes rlimits for "unlimited") is read as unsigned, as runc's
# Go decoder reads it
@test "compat: a uint64 above INT64_MAX (RLIMIT_CORE unlimited) is read as unsigned" {
	update_config "$BUNDLE" '.process.rlimits = [{"type": "RLIMIT_CORE", "soft": 1234, "hard": 5678}]
		| .annotations = {"big": "18446744073709551615 in a string stays"}'
	set_script 'ulimit -Sc; ulimit -Hc'
	# after jq, which would make them doubles
	sed -i 's/: 1234/: 18446744073709551615/; s/: 5678/: 18446744073709551615/' "$BUNDLE/config.json"
	[ "$(grep -c 18446744073709551615 "$BUNDLE/config.json")" -eq 3 ]
	both
	same
	[ "$h_out" = "$(printf 'unlimited\nunlimited')" ]
	# and the state keeps the annotation as written
	husk_d run -d --bundle "$BUNDLE" "$ID"
	[ "$(husk state "$ID" | jq -r .annotations.big)" = "18446744073709551615 in a string stays" ]
	husk delete --force "$ID"
}
