#!/usr/bin/env bats
# The process object: env, cwd, user, rlimits, capabilities, noNewPrivileges,
# oomScoreAdj, ioPriority, apparmorProfile, terminal.

load helpers

bats_require_minimum_version 1.5.0

# the status line of /proc/self/status named $1, from the output of a run
field() {
	local name=$1 l
	for l in "${lines[@]}"; do
		if [[ "$l" == "$name:"* ]]; then
			l=${l#"$name:"}
			echo "${l//[[:space:]]/}"
			return 0
		fi
	done
	return 1
}

@test "env: exactly the configured variables, plus HOME" {
	update_config "$BUNDLE" '.process.env = ["PATH=/bin", "A=1", "B=two words", "EMPTY="] | .process.args = ["env"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	got=$(printf '%s\n' "${lines[@]}" | sort)
	want=$(printf '%s\n' "A=1" "B=two words" "EMPTY=" "HOME=/root" "PATH=/bin" | sort)
	[ "$got" = "$want" ]
}

@test "env: a configured HOME is kept, no duplicate" {
	update_config "$BUNDLE" '.process.env = ["PATH=/bin", "HOME=/home/x"] | .process.args = ["env"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "${lines[@]}" | grep -c '^HOME=')" = 1 ]
	[[ " ${lines[*]} " == *" HOME=/home/x "* ]]
}

@test "env: without PATH none is added (as runc): a bare name is not found, a path runs" {
	update_config "$BUNDLE" '.process.env = ["A=1"] | .process.args = ["sh", "-c", "true"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *'"sh": executable file not found in $PATH'* ]]
	update_config "$BUNDLE" '.process.args = ["/bin/sh", "-c", "echo $PATH"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	# not given to it: busybox sh falls back to its own default
	[ "$output" = "/sbin:/usr/sbin:/bin:/usr/bin" ]
}

@test "cwd: the process starts in process.cwd" {
	mkdir -p "$BUNDLE/rootfs/var/work"
	update_config "$BUNDLE" '.process.cwd = "/var/work" | .process.args = ["pwd"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = "/var/work" ]
}

@test "user: uid, gid, additionalGids and umask" {
	update_config "$BUNDLE" '.process.user = {"uid": 1000, "gid": 1001, "additionalGids": [5, 7], "umask": 23}
		| .mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["mode=1777"]}]
		| .process.args = ["sh", "-c", "id -u; id -g; grep ^Groups: /proc/self/status; umask; touch /tmp/f; stat -c \"%a %u %g\" /tmp/f"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1000 ]
	[ "${lines[1]}" = 1001 ]
	read -r _ g1 g2 g3 <<<"${lines[2]}"
	[ "$g1 $g2" = "5 7" ]
	[ -z "$g3" ]
	[ "${lines[3]}" = "0027" ]
	[ "${lines[4]}" = "640 1000 1001" ]
}

@test "user: without umask the default is 0022" {
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "umask"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = "0022" ]
}

@test "rlimits: NOFILE 512:1024 shows in ulimit -n and -Hn" {
	update_config "$BUNDLE" '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024}]
		| .process.args = ["sh", "-c", "ulimit -n; ulimit -Hn; grep \"^Max open files\" /proc/self/limits"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 512 ]
	[ "${lines[1]}" = 1024 ]
	read -r _ _ _ soft hard _ <<<"${lines[2]}"
	[ "$soft $hard" = "512 1024" ]
}

@test "rlimits: an unknown type is refused" {
	update_config "$BUNDLE" '.process.rlimits = [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"RLIMIT_BOGUS"* ]]
}

@test "capabilities: the five sets are exactly CAP_CHOWN + CAP_NET_RAW for root" {
	update_config "$BUNDLE" '.process.capabilities = {
			"bounding": ["CAP_CHOWN", "CAP_NET_RAW"], "effective": ["CAP_CHOWN", "CAP_NET_RAW"],
			"permitted": ["CAP_CHOWN", "CAP_NET_RAW"], "inheritable": ["CAP_CHOWN", "CAP_NET_RAW"],
			"ambient": ["CAP_CHOWN", "CAP_NET_RAW"]}
		| .process.args = ["grep", "^Cap", "/proc/self/status"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	for s in CapInh CapPrm CapEff CapBnd CapAmb; do
		[ "$(field $s)" = 0000000000002001 ] || { echo "$s: $(field $s)"; false; }
	done
}

@test "capabilities: the default set leaves out CAP_CHOWN; given it, chown works" {
	update_config "$BUNDLE" '.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]
		| .process.args = ["sh", "-c", "touch /tmp/f; chown 5 /tmp/f 2>&1; stat -c %u /tmp/f"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"Operation not permitted"* ]]
	[ "${lines[1]}" = 0 ]
	update_config "$BUNDLE" '.process.capabilities.bounding += ["CAP_CHOWN"] | .process.capabilities.effective += ["CAP_CHOWN"] | .process.capabilities.permitted += ["CAP_CHOWN"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = 5 ]
}

@test "capabilities: ambient for a non-root user survives exec" {
	update_config "$BUNDLE" '.process.user = {"uid": 1000, "gid": 1000}
		| .process.capabilities = {
			"bounding": ["CAP_CHOWN", "CAP_NET_RAW"], "effective": ["CAP_NET_RAW"],
			"permitted": ["CAP_NET_RAW"], "inheritable": ["CAP_CHOWN", "CAP_NET_RAW"],
			"ambient": ["CAP_NET_RAW"]}
		| .process.args = ["grep", "^Cap", "/proc/self/status"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(field CapBnd)" = 0000000000002001 ]
	[ "$(field CapInh)" = 0000000000002001 ]
	[ "$(field CapAmb)" = 0000000000002000 ]
	[ "$(field CapPrm)" = 0000000000002000 ]
	[ "$(field CapEff)" = 0000000000002000 ]
}

@test "capabilities: a non-root user without ambient has no effective capabilities" {
	update_config "$BUNDLE" '.process.user = {"uid": 1000, "gid": 1000}
		| .process.capabilities = {"bounding": ["CAP_NET_RAW"], "effective": ["CAP_NET_RAW"], "permitted": ["CAP_NET_RAW"]}
		| .process.args = ["grep", "^Cap", "/proc/self/status"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(field CapBnd)" = 0000000000002000 ]
	[ "$(field CapEff)" = 0000000000000000 ]
	[ "$(field CapAmb)" = 0000000000000000 ]
}

@test "capabilities: an unknown name is refused" {
	update_config "$BUNDLE" '.process.capabilities.bounding += ["CAP_NO_SUCH"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"CAP_NO_SUCH"* ]]
}

@test "noNewPrivileges: true gives NoNewPrivs 1, false gives 0" {
	update_config "$BUNDLE" '.process.noNewPrivileges = true | .process.args = ["grep", "^NoNewPrivs", "/proc/self/status"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(field NoNewPrivs)" = 1 ]
	update_config "$BUNDLE" '.process.noNewPrivileges = false'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(field NoNewPrivs)" = 0 ]
}

@test "oomScoreAdj: raised to 500" {
	[ "$(cat /proc/self/oom_score_adj)" -le 500 ] || skip "the host's oom_score_adj is above 500"
	update_config "$BUNDLE" '.process.oomScoreAdj = 500 | .process.args = ["cat", "/proc/self/oom_score_adj"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = 500 ]
}

@test "oomScoreAdj: without it the runtime's own value is inherited" {
	update_config "$BUNDLE" '.process.args = ["cat", "/proc/self/oom_score_adj"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat /proc/self/oom_score_adj)" ]
}

@test "ioPriority: class and level seen by ionice" {
	update_config "$BUNDLE" '.process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 6}
		| .process.args = ["ionice", "-p", "1"]'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = "best-effort: prio 6" ]
	update_config "$BUNDLE" '.process.ioPriority = {"class": "IOPRIO_CLASS_IDLE", "priority": 0}'
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == "idle"* ]]
}

@test "apparmorProfile: on a host without AppArmor, a warning and the process still runs" {
	[ ! -e /sys/kernel/security/apparmor ] || skip "the host has AppArmor"
	update_config "$BUNDLE" '.process.apparmorProfile = "husk-test-profile" | .process.args = ["echo", "ran"]'
	run --separate-stderr husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = ran ]
	[[ "$stderr" == *"husk-test-profile"* ]]
}

recvtty_build() {
	gcc -Wall -o "$TEST_DIR/recvtty" "$BATS_TEST_DIRNAME/tools/recvtty.c"
}

# start_recvtty INPUT: the console socket listener, its output in tty.out
start_recvtty() {
	"$TEST_DIR/recvtty" "$TEST_DIR/tty.sock" "$@" >"$TEST_DIR/tty.out" 2>"$TEST_DIR/tty.err" </dev/null &
	RECVTTY=$!
	for _ in $(seq 100); do [ -S "$TEST_DIR/tty.sock" ] && return 0; sleep 0.02; done
	return 1
}

@test "terminal: --console-socket gets the pty; the process has a tty of consoleSize" {
	recvtty_build
	update_config "$BUNDLE" '.process.terminal = true | .process.consoleSize = {"height": 33, "width": 111}
		| .process.args = ["sh", "-c", "read line; echo got:$line; tty; stty size; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty"]'
	start_recvtty hello
	husk_d create --console-socket "$TEST_DIR/tty.sock" --bundle "$BUNDLE" "$ID"
	husk start "$ID"
	for _ in $(seq 100); do kill -0 "$RECVTTY" 2>/dev/null || break; sleep 0.05; done
	wait "$RECVTTY"
	out=$(tr -d '\r' <"$TEST_DIR/tty.out")
	echo "$out"
	grep -qx "got:hello" <<<"$out"
	grep -Eqx "/dev/(pts/[0-9]+|console)" <<<"$out"
	grep -qx "33 111" <<<"$out"
	grep -qx "all-tty" <<<"$out"
	wait_for_status "$ID" stopped
	husk delete "$ID"
}

@test "terminal: without a terminal the process has no tty" {
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "tty; [ -t 0 ] || echo no-tty"]'
	run husk run --bundle "$BUNDLE" "$ID" </dev/null
	[[ "$output" == *"no-tty"* ]]
}

@test "terminal: true without --console-socket in create is refused" {
	update_config "$BUNDLE" '.process.terminal = true'
	run husk create --bundle "$BUNDLE" "$ID" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"--console-socket"* ]]
}

@test "the process starts with no signal blocked or ignored, whatever its caller had" {
	update_config "$BUNDLE" '.process.args = ["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"]'
	# the caller ignores INT, QUIT and PIPE and blocks TERM and CHLD
	# (perl sets them and execs, as a monitor or a shell's background job)
	command -v perl >/dev/null || skip "no perl"
	run perl -e '$SIG{INT} = $SIG{QUIT} = $SIG{PIPE} = "IGNORE";
		use POSIX; sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGTERM, SIGCHLD));
		exec @ARGV' "$HUSK_OCI" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "SigBlk:	0000000000000000" ]
	[ "${lines[1]}" = "SigIgn:	0000000000000000" ]
	# control: what the caller had is what a plain exec would pass on
	run perl -e '$SIG{INT} = $SIG{QUIT} = $SIG{PIPE} = "IGNORE";
		use POSIX; sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGTERM, SIGCHLD));
		exec @ARGV' grep -E '^Sig(Blk|Ign)' /proc/self/status
	[ "${lines[0]}" = "SigBlk:	0000000000014000" ]
	[ "${lines[1]}" = "SigIgn:	0000000000001006" ]
}
