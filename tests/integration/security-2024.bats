#!/usr/bin/env bats
# The runtime escapes found in runc, crun and youki since 2024 (issue 14),
# each tried against husk-oci with a crafted bundle or rootfs, or against the
# engine with a crafted image or layer.  As in security.bats, every attack is
# shown to be real first: a control runs the same step the way an
# undefended runtime does it (a mount, mknod or write by path) and sees it
# reach the target; then husk is shown not to.  Nothing here writes to a
# host-wide /proc file: the targets are only opened, read or looked at in
# mountinfo.

load helpers

bats_require_minimum_version 1.5.0

ATTACKS="$BATS_TEST_DIRNAME/attacks"

setup() {
	if [[ "$BATS_TEST_DESCRIPTION" == engine:* ]]; then
		engine_setup
	else
		setup_husk
	fi
	VICTIM="/tmp/husk-victim-$$-$BATS_TEST_NUMBER"
}

teardown() {
	rm -rf "$VICTIM"
	if [ -n "${SMALL_STORE:-}" ] && mountpoint -q "$SMALL_STORE"; then
		small_store_done || true
	fi
	if [[ "$BATS_TEST_DESCRIPTION" == engine:* ]]; then
		engine_teardown
	else
		teardown_husk
	fi
}

# build_attack NAME: compile attacks/NAME.c (static) to $TEST_DIR/NAME
build_attack() {
	command -v gcc >/dev/null || skip "gcc is needed to build attacks/$1.c"
	gcc -static -O2 -o "$TEST_DIR/$1" "$ATTACKS/$1.c"
}

# dev_from HOSTDIR: the bundle's /dev is a bind of HOSTDIR (a /dev that the
# image, or another container sharing it, filled), with no tmpfs of husk's
# own over it
dev_from() {
	update_config "$BUNDLE" ".mounts |= (map(select(.destination | startswith(\"/dev\") | not))
		+ [{\"destination\": \"/dev\", \"type\": \"bind\", \"source\": \"$1\", \"options\": [\"rbind\"]}])"
}

# the mountinfo line of a mount point, as a process of the container sees it
MOUNTS_OF='awk -v p="$0" '"'"'$5 == p {print $4, $5, $9, $10}'"'"' /proc/self/mountinfo'

# ---------------------------------------------------------------------
# CVE-2025-31133: maskedPaths are masked by binding /dev/null over them.
# A runtime that binds the path "/dev/null" follows whatever is there: a
# symlink to /proc/sys/kernel/core_pattern (put there by the image, or
# swapped in by a container sharing /dev) turns every masked file into a
# writable core_pattern, the host's.  husk opens the container's /dev/null
# without following a symlink, checks that it is the character device 1:3,
# and binds that fd.

@test "CVE-2025-31133: binding a /dev/null symlink by its path mounts core_pattern (control)" {
	mkdir -p "$TEST_DIR/dev" "$TEST_DIR/target"
	ln -s /proc/sys/kernel/core_pattern "$TEST_DIR/dev/null"
	touch "$TEST_DIR/target/timer_list"
	# what a runtime does when it masks by path: mount --bind /dev/null X
	run unshare -m sh -c "mount --bind '$TEST_DIR/dev/null' '$TEST_DIR/target/timer_list' &&
		awk '\$5 == \"$TEST_DIR/target/timer_list\" {print \$4, \$6, \$9}' /proc/self/mountinfo &&
		cat '$TEST_DIR/target/timer_list'"
	echo "$output"
	[ "$status" -eq 0 ]
	# the masked file became the host's core_pattern, writable
	[ "${lines[0]}" = "/sys/kernel/core_pattern rw,relatime proc" ]
	[ "${lines[1]}" = "$(cat /proc/sys/kernel/core_pattern)" ]
}

@test "CVE-2025-31133: a /dev/null symlink to core_pattern is refused, nothing is masked with it" {
	mkdir -p "$TEST_DIR/dev"
	ln -s /proc/sys/kernel/core_pattern "$TEST_DIR/dev/null"
	dev_from "$TEST_DIR/dev"
	update_config "$BUNDLE" ".process.args = [\"sh\", \"-c\", $(jq -Rn --arg s "$MOUNTS_OF" '$s') , \"/proc/timer_list\"]"
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *'mask "/proc/'*'": open /dev/null in the container (not following symlinks): Too many levels of symbolic links'* ]]
	[[ "$output" != *core_pattern* ]]
}

@test "CVE-2025-31133: a /dev/null that is another device or a file is refused; the real one masks" {
	mkdir -p "$TEST_DIR/dev"
	# /dev/zero's numbers: reads of a masked file would never end
	mknod "$TEST_DIR/dev/null" c 1 5
	dev_from "$TEST_DIR/dev"
	update_config "$BUNDLE" '.process.args = ["stat", "-c", "%F %t:%T", "/proc/timer_list"]'
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *'/dev/null in the container is not the null device (character device 1:3)'* ]]
	husk delete --force "$ID" 2>/dev/null || true

	rm "$TEST_DIR/dev/null"
	echo data >"$TEST_DIR/dev/null"
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *'is not the null device'* ]]
	husk delete --force "$ID" 2>/dev/null || true

	rm "$TEST_DIR/dev/null"
	mknod -m 666 "$TEST_DIR/dev/null" c 1 3
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "character special file 1:3" ]
}

@test "CVE-2025-31133: with husk's own /dev, masked files and directories are the null device and an empty read-only tmpfs" {
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "stat -c \"%F %t:%T\" /proc/timer_list; cat /proc/timer_list | wc -c; grep -E \" /(proc/acpi|sys/firmware) \" /proc/self/mountinfo | cut -d\" \" -f5,6,9; ls -A /proc/acpi | wc -l; ls -A /sys/firmware | wc -l"]'
	[ -d /proc/acpi ] || skip "no /proc/acpi on this host"
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "character special file 1:3" ]
	[ "${lines[1]}" = 0 ]
	# both directories (the second a clone of the first's tmpfs) empty
	[ "${lines[2]}" = "/proc/acpi ro,relatime tmpfs" ]
	[ "${lines[3]}" = "/sys/firmware ro,relatime tmpfs" ]
	[ "${lines[4]}" = 0 ]
	[ "${lines[5]}" = 0 ]
}

# ---------------------------------------------------------------------
# CVE-2025-52881: the runtime's writes to /proc (LSM labels, oom_score_adj,
# sysctls, setgroups, the id maps) redirected by a mount: over /proc, or
# over a directory below it (a mount that a symlink in a shared volume sent
# into /proc).  husk writes through /proc checked to be the root of a
# procfs, walking down with RESOLVE_NO_XDEV: a mount on the way fails the
# write instead of receiving it.

# A container that may mount (CAP_SYS_ADMIN) and lays the trap for the
# next `exec`: /proc a tmpfs whose self/oom_score_adj is a symlink to
# oom_score_adj of its init in a real procfs it keeps at /realproc (a
# harmless stand-in for /proc/sysrq-trigger).
trap_proc_for_exec() {
	update_config "$BUNDLE" '.root.readonly = false
		| .process.capabilities |= with_entries(.value += ["CAP_SYS_ADMIN"])
		| .process.args = ["sleep", "100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	husk exec "$ID" sh -c 'mkdir -p /realproc && mount -t proc proc /realproc &&
		mount -t tmpfs tmpfs /proc && mkdir /proc/self &&
		ln -s /realproc/1/oom_score_adj /proc/self/oom_score_adj'
	[ "$(husk exec "$ID" cat /realproc/1/oom_score_adj)" = 0 ]
	PID=$(husk state "$ID" | jq -r .pid)
}

@test "CVE-2025-52881: a write to /proc/self/oom_score_adj by path follows a container's mount to another procfs file (control)" {
	trap_proc_for_exec
	# what a runtime entering the container does: write the path
	run nsenter -t "$PID" -m sh -c 'echo 500 >/proc/self/oom_score_adj; cat /realproc/1/oom_score_adj'
	echo "$output"
	[ "$output" = 500 ]
}

@test "CVE-2025-52881: exec's oom_score_adj write is refused when the container mounted over /proc" {
	trap_proc_for_exec
	jq '.process | .args = ["cat", "/realproc/self/oom_score_adj"] | .oomScoreAdj = 500' \
		"$BUNDLE/config.json" >"$TEST_DIR/process.json"
	run husk exec --process "$TEST_DIR/process.json" "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *'process.oomScoreAdj: write /proc/self/oom_score_adj: /proc is not the root of a procfs'* ]]
	# the write went nowhere
	[ "$(husk exec "$ID" cat /realproc/1/oom_score_adj)" = 0 ]
	# without the trap the same exec sets the score
	husk exec "$ID" umount /proc
	run husk exec --process "$TEST_DIR/process.json" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = 500 ]
}

# A bundle whose shared volume /vol holds a symlink "net" to
# /proc/sys/net/ipv4 (the end state of a container racing to swap it in),
# and a mount of a directory with a fake ip_forward onto /vol/net: the
# mount lands on /proc/sys/net/ipv4, inside the rootfs as RESOLVE_IN_ROOT
# allows; then the sysctl is written.
redirect_sysctl_bundle() {
	mkdir -p "$TEST_DIR/vol" "$TEST_DIR/fake"
	ln -s /proc/sys/net/ipv4 "$TEST_DIR/vol/net"
	echo 0 >"$TEST_DIR/fake/ip_forward"
	update_config "$BUNDLE" ".mounts += [
		{\"destination\": \"/vol\", \"type\": \"bind\", \"source\": \"$TEST_DIR/vol\", \"options\": [\"rbind\"]},
		{\"destination\": \"/vol/net\", \"type\": \"bind\", \"source\": \"$TEST_DIR/fake\", \"options\": [\"rbind\"]}]
		| .linux.sysctl = {\"net.ipv4.ip_forward\": \"1\"}
		| .process.args = [\"sh\", \"-c\", \"cat /proc/sys/net/ipv4/ip_forward\"]"
}

@test "CVE-2025-52881: a sysctl written by path after a mount redirected into /proc lands in the mounted file (control)" {
	redirect_sysctl_bundle
	# an undefended runtime: the same mounts, then the write by path
	mkdir -p "$TEST_DIR/proc"
	run unshare -mn sh -c "mount -t proc proc '$TEST_DIR/proc' &&
		mount --bind '$TEST_DIR/fake' '$TEST_DIR/proc/sys/net/ipv4' &&
		echo 1 >'$TEST_DIR/proc/sys/net/ipv4/ip_forward'"
	[ "$status" -eq 0 ]
	[ "$(cat "$TEST_DIR/fake/ip_forward")" = 1 ]
}

@test "CVE-2025-52881: a sysctl is not written through a mount redirected into /proc" {
	redirect_sysctl_bundle
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *'linux.sysctl "net.ipv4.ip_forward": open /proc/sys/net/ipv4/ip_forward: something is mounted over it'* ]]
	[ "$(cat "$TEST_DIR/fake/ip_forward")" = 0 ]
	husk delete --force "$ID" 2>/dev/null || true
	# without the redirecting link the sysctl is written, in the
	# container's own network namespace
	rm "$TEST_DIR/vol/net"
	mkdir "$TEST_DIR/vol/net"
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
	[ "$(cat "$TEST_DIR/fake/ip_forward")" = 0 ]
}

# ---------------------------------------------------------------------
# CVE-2025-52565: /dev/console is the pty slave bound onto it.  runc bound
# the path /dev/pts/N, and the target by path: a symlink at either end
# (put there by a container sharing /dev) gave the container
# /proc/sys/kernel/core_pattern as its console, writable.  husk takes the slave from
# TIOCGPTPEER, checks that it is a pty of the container's own /dev/pts,
# and binds that fd onto /dev/console opened without following a symlink.

recvtty_build() {
	gcc -Wall -o "$TEST_DIR/recvtty" "$BATS_TEST_DIRNAME/tools/recvtty.c"
}

start_recvtty() {
	rm -f "$TEST_DIR/tty.sock"
	"$TEST_DIR/recvtty" "$TEST_DIR/tty.sock" >"$TEST_DIR/tty.out" 2>"$TEST_DIR/tty.err" </dev/null &
	RECVTTY=$!
	for _ in $(seq 100); do [ -S "$TEST_DIR/tty.sock" ] && return 0; sleep 0.02; done
	return 1
}

# stop_recvtty: it ends when the pty's slave side closes; if no container
# ever connected (the run failed: status in $status), end it
stop_recvtty() {
	if [ "${status:-0}" -eq 0 ]; then
		for _ in $(seq 100); do kill -0 "$RECVTTY" 2>/dev/null || break; sleep 0.02; done
	fi
	kill "$RECVTTY" 2>/dev/null || true
	wait "$RECVTTY" 2>/dev/null || true
}

# the bundle's /dev a bind of $TEST_DIR/dev with a devpts of its own, and a
# terminal
console_bundle() {
	mkdir -p "$TEST_DIR/dev/pts"
	mknod -m 666 "$TEST_DIR/dev/null" c 1 3
	ln -sf pts/ptmx "$TEST_DIR/dev/ptmx"
	dev_from "$TEST_DIR/dev"
	update_config "$BUNDLE" '.mounts += [{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}]
		| .process.terminal = true'
}

@test "CVE-2025-52565: binding a pty path that is a symlink mounts /proc/sys/kernel/core_pattern as the console (control)" {
	mkdir -p "$TEST_DIR/dev/pts"
	touch "$TEST_DIR/dev/console"
	ln -s /proc/sys/kernel/core_pattern "$TEST_DIR/dev/pts/0"
	run unshare -m sh -c "mount --bind '$TEST_DIR/dev/pts/0' '$TEST_DIR/dev/console' &&
		awk '\$5 == \"$TEST_DIR/dev/console\" {print \$4, \$6, \$9}' /proc/self/mountinfo"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "/sys/kernel/core_pattern rw,relatime proc" ]
}

@test "CVE-2025-52565: a /dev/console symlink to /proc/sys/kernel/core_pattern is refused, nothing is bound over it" {
	recvtty_build
	console_bundle
	ln -s /proc/sys/kernel/core_pattern "$TEST_DIR/dev/console"
	update_config "$BUNDLE" '.process.args = ["true"]'
	start_recvtty
	run husk run --console-socket "$TEST_DIR/tty.sock" --bundle "$BUNDLE" "$ID"
	stop_recvtty
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *'console: open /dev/console (not following symlinks): Too many levels of symbolic links'* ]]
}

@test "CVE-2025-52565: a container swapping /dev/console with a symlink cannot move the console's mount" {
	build_attack swap_race
	recvtty_build
	console_bundle
	touch "$TEST_DIR/dev/console"
	ln -s /proc/sys/kernel/core_pattern "$TEST_DIR/dev/console-link"
	cp "$TEST_DIR/swap_race" "$BUNDLE/rootfs/bin/swap_race"
	cp "$BUNDLE/config.json" "$TEST_DIR/victim-config.json"
	# the attacker shares /dev, swaps console and console-link
	update_config "$BUNDLE" '.process.terminal = false | .process.args = ["/bin/swap_race", "/dev/console", "/dev/console-link", "/dev/stop"]'
	husk_d run -d --bundle "$BUNDLE" "$ID-swap"
	wait_for_status "$ID-swap" running
	cp "$TEST_DIR/victim-config.json" "$BUNDLE/config.json"
	# the victim: where are ptys mounted?
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "awk \"\\$9 == \\\"devpts\\\" {print \\$5, \\$9}\" /proc/self/mountinfo >/dev/pts/0"]'
	ok=0 refused=0
	for i in $(seq 10); do
		start_recvtty
		run husk run --console-socket "$TEST_DIR/tty.sock" --bundle "$BUNDLE" "$ID-v$i"
		stop_recvtty
		out=$(tr -d '\r' <"$TEST_DIR/tty.out")
		if [ "$status" -eq 0 ]; then
			echo "run $i: $out"
			# the console and /dev/pts, and nothing else (the file the
			# console was bound on may have been renamed by a swap since)
			[ "$(grep -Ev '^/dev/(pts|console|console-link) devpts$' <<<"$out")" = "" ]
			grep -Eq '^/dev/(console|console-link) devpts$' <<<"$out"
			ok=$((ok + 1))
		else
			echo "run $i refused: $output"
			[[ "$output" == *console* ]]
			refused=$((refused + 1))
			husk delete --force "$ID-v$i" >/dev/null 2>&1 || true
		fi
		husk delete "$ID-v$i" >/dev/null 2>&1 || true
	done
	touch "$TEST_DIR/dev/stop"
	wait_for_status "$ID-swap" stopped
	cat "$TEST_DIR/container.log"
	echo "started: $ok, refused: $refused"
	grep -Eq 'swaps=[1-9][0-9]{3,}' "$TEST_DIR/container.log"
}

# ---------------------------------------------------------------------
# /dev symlinks in the rootfs (crun's CVE-2026-47766 and
# CVE-2026-88264/88265: device nodes, /dev/console and /dev/null made
# through a /dev symlink when no /dev is mounted; runc's CVE-2026-41579:
# the runtime writing on the host through one).  husk makes every node,
# link and file of /dev from an fd of the rootfs, resolving in it
# (RESOLVE_IN_ROOT, or its own walk that never leaves it), so a /dev link
# to a host path stays inside the rootfs; /dev/null for masking and
# /dev/console are opened without following a symlink at all.

host_untouched() {
	[ "$(ls -A "$VICTIM")" = marker ]
	! grep -qF "$VICTIM" /proc/self/mountinfo
}

# no_dev_mounts: the bundle mounts nothing on /dev: the rootfs's own is used
no_dev_mounts() {
	update_config "$BUNDLE" '.mounts |= map(select(.destination | startswith("/dev") | not))'
}

@test "/dev symlink: making /dev/null through the rootfs's /dev by its host path writes in the host directory (control)" {
	mkdir -p "$VICTIM"
	touch "$VICTIM/marker"
	rm -rf "$BUNDLE/rootfs/dev"
	ln -s "$VICTIM" "$BUNDLE/rootfs/dev"
	# an undefended runtime: mknod ROOTFS/dev/null before pivot_root
	mknod -m 666 "$BUNDLE/rootfs/dev/null" c 1 3
	[ -c "$VICTIM/null" ]
}

@test "/dev symlink: with no /dev mounted, a /dev symlink to a host directory gets no device node, console or link on the host" {
	mkdir -p "$VICTIM" "$BUNDLE/rootfs$VICTIM"
	touch "$VICTIM/marker"
	cp "$BUNDLE/config.json" "$TEST_DIR/config.json"
	for link in "$VICTIM" "../../../../../../../../..$VICTIM"; do
		cp "$TEST_DIR/config.json" "$BUNDLE/config.json"
		rm -rf "$BUNDLE/rootfs/dev"
		ln -s "$link" "$BUNDLE/rootfs/dev"
		# not vacuous: from the host the link leads to the victim
		[ -e "$BUNDLE/rootfs/dev/marker" ]
		no_dev_mounts
		update_config "$BUNDLE" '.linux.devices = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]
			| .process.args = ["sh", "-c", "ls /dev/"]'
		# masking needs /dev/null, which is not followed through a link
		run husk run --bundle "$BUNDLE" "$ID"
		echo "$output"
		[ "$status" -ne 0 ]
		[[ "$output" == *'open /dev/null in the container (not following symlinks): Too many levels of symbolic links'* ]]
		husk delete --force "$ID" 2>/dev/null || true
		host_untouched
		# with nothing to mask, the nodes and links are made, inside
		update_config "$BUNDLE" '.linux.maskedPaths = []'
		run husk run --bundle "$BUNDLE" "$ID"
		echo "$output"
		[ "$status" -eq 0 ]
		[[ "$output" == *fuse*null*stdin*tty*urandom* ]]
		host_untouched
		[ -c "$BUNDLE/rootfs$VICTIM/null" ]
		[ -c "$BUNDLE/rootfs$VICTIM/fuse" ]
		rm -rf "${BUNDLE:?}/rootfs$VICTIM"/*
		husk delete "$ID" 2>/dev/null || true
	done
}

@test "/dev symlink: with no /dev mounted, /dev/console is not made through a /dev symlink" {
	recvtty_build
	mkdir -p "$VICTIM" "$BUNDLE/rootfs$VICTIM/pts"
	touch "$VICTIM/marker"
	rm -rf "$BUNDLE/rootfs/dev"
	ln -s "$VICTIM" "$BUNDLE/rootfs/dev"
	update_config "$BUNDLE" '.mounts |= map(select(.destination | startswith("/dev") | not))
		+ [{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["newinstance", "ptmxmode=0666"]}]
		| .linux.maskedPaths = [] | .process.terminal = true | .process.args = ["true"]'
	start_recvtty
	run husk run --console-socket "$TEST_DIR/tty.sock" --bundle "$BUNDLE" "$ID"
	stop_recvtty
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *'console: open /dev in the container (not following symlinks): Too many levels of symbolic links'* ]]
	host_untouched
	[ ! -e "$BUNDLE/rootfs$VICTIM/console" ]
}

# ---------------------------------------------------------------------
# CVE-2024-45310: a mount destination missing from the rootfs is created
# (directories, or an empty file for a file bind) with a MkdirAll that
# follows symlinks: a container sharing the volume swaps a directory on the
# way for a symlink to a host path, and the runtime creates there.  husk
# walks the path from the rootfs's fd, component by component with
# O_NOFOLLOW, reading a symlink and resolving it inside the rootfs.

@test "CVE-2024-45310: mkdir -p and a file made through a volume's symlink land on the host (control)" {
	mkdir -p "$VICTIM" "$TEST_DIR/vol"
	touch "$VICTIM/marker"
	ln -s "$VICTIM" "$TEST_DIR/vol/target"
	# what MkdirAll and an O_CREAT do with the destination's host path
	mkdir -p "$TEST_DIR/vol/target/new/deeper"
	touch "$TEST_DIR/vol/target/newfile"
	[ -d "$VICTIM/new/deeper" ]
	[ -f "$VICTIM/newfile" ]
}

@test "CVE-2024-45310: a container racing a symlink into a shared volume makes no directory or file on the host" {
	build_attack swap_race
	mkdir -p "$VICTIM" "$TEST_DIR/vol/target"
	touch "$VICTIM/marker" "$TEST_DIR/srcfile"
	ln -s "$VICTIM" "$TEST_DIR/vol/link"
	cp "$TEST_DIR/swap_race" "$BUNDLE/rootfs/bin/swap_race"
	cp "$BUNDLE/config.json" "$TEST_DIR/victim-config.json"
	update_config "$BUNDLE" ".mounts += [{\"destination\": \"/vol\", \"type\": \"bind\", \"source\": \"$TEST_DIR/vol\", \"options\": [\"rbind\"]}]
		| .process.args = [\"/bin/swap_race\", \"/vol/target\", \"/vol/link\", \"/vol/stop\"]"
	husk_d run -d --bundle "$BUNDLE" "$ID-swap"
	wait_for_status "$ID-swap" running
	# the victims create a directory tree and a file below the racing
	# entry, fresh each time (they are removed between runs)
	b="$TEST_DIR/b"
	mkdir -p "$b"
	cp -a "$(rootfs_template)" "$b/rootfs"
	cp "$TEST_DIR/victim-config.json" "$b/config.json"
	update_config "$b" ".mounts += [
		{\"destination\": \"/vol\", \"type\": \"bind\", \"source\": \"$TEST_DIR/vol\", \"options\": [\"rbind\"]},
		{\"destination\": \"/vol/target/new/deeper\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"size=1m\"]},
		{\"destination\": \"/vol/target/newfile\", \"type\": \"bind\", \"source\": \"$TEST_DIR/srcfile\", \"options\": [\"bind\"]}]"
	ok=0 refused=0
	for i in $(seq 15); do
		run husk run --bundle "$b" "$ID-v$i"
		if [ "$status" -eq 0 ]; then
			ok=$((ok + 1))
		else
			echo "run $i refused: $output"
			[[ "$output" == *"/vol/target/new"* ]]
			refused=$((refused + 1))
			husk delete --force "$ID-v$i" >/dev/null 2>&1 || true
		fi
		husk delete "$ID-v$i" >/dev/null 2>&1 || true
		host_untouched
		# what the run made, wherever the race put it: in the volume
		# or inside the victim's rootfs
		rm -rf "$TEST_DIR/vol/target/new" "$TEST_DIR/vol/link/new" "$TEST_DIR/vol/target/newfile" \
			"$TEST_DIR/vol/link/newfile" "$b/rootfs$VICTIM" 2>/dev/null || true
	done
	touch "$TEST_DIR/vol/stop"
	wait_for_status "$ID-swap" stopped
	cat "$TEST_DIR/container.log"
	echo "started: $ok, refused: $refused"
	grep -Eq 'swaps=[1-9][0-9]{3,}' "$TEST_DIR/container.log"
	host_untouched
}

# ---------------------------------------------------------------------
# The engine's side: what an image or a container can do to the host
# through the engine.

# evil_layer OUT.tar: a layer with busybox, a node of the host's
# /dev/fuse open to all (0600 on the host), and a setuid-root copy of the
# host's id(1)
evil_layer() {
	local d="$TEST_DIR/evil"
	mkdir -p "$d/bin"
	cp /bin/busybox "$d/bin/busybox"
	for a in sh head cat ls id; do ln -s busybox "$d/bin/$a"; done
	mknod -m 666 "$d/evil-dev" c 10 229
	cp "$(command -v id)" "$d/evil-id"
	chmod 4755 "$d/evil-id"
	tar -C "$d" -cf "$1" .
}

# as_nobody CMD...: run CMD as an unprivileged host user.  Through sh: setpriv
# execs its command still holding root's capabilities (its path walk passes
# any directory), which the kernel clears only at that exec.
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '"$@"' sh "$@"
}

@test "engine: a layer's device node and setuid file, unpacked where other users can reach them, give them a root-only device and root (control)" {
	evil_layer "$TEST_DIR/l.tar"
	mkdir -p "$TEST_DIR/open"
	chmod 755 "$TEST_DIR" "$TEST_DIR/open"
	tar -C "$TEST_DIR/open" -xpf "$TEST_DIR/l.tar"
	# an unprivileged user opens a device only root may open on the
	# host, and is root
	run as_nobody sh -c 'exec 3</dev/fuse'
	[ "$status" -ne 0 ]
	run as_nobody sh -c "exec 3<'$TEST_DIR/open/evil-dev' && echo opened"
	[ "$output" = opened ]
	run as_nobody "$TEST_DIR/open/evil-id" -u
	[ "$output" = 0 ]
}

@test "engine: a layer's device node and setuid file reach neither other host users nor the container's processes" {
	evil_layer "$TEST_DIR/l.tar"
	make_oci_image "$TEST_DIR/img.tar" "localhost/evil:v1" "$TEST_DIR/l.tar"
	"$HUSK" load -i "$TEST_DIR/img.tar"
	"$HUSK" run -d --name evil localhost/evil:v1 sh -c 'sleep 100'
	# what the store and the running container's root hold
	chmod 755 "$TEST_DIR"
	paths=$(find "$HUSK_ROOT" "$HUSK_RUNROOT" -name 'evil-*' 2>/dev/null)
	echo "$paths"
	[ -n "$paths" ]
	grep -q '/layers/' <<<"$paths"
	for p in $paths; do
		case $p in
		*evil-dev) run as_nobody sh -c "exec 3<'$p'" ;;
		*) run as_nobody "$p" -u ;;
		esac
		echo "$p: $status $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"Permission denied"* ]]
	done
	# in the container the node is there, and the device cgroup refuses it
	run "$HUSK" exec evil sh -c 'exec 3</evil-dev'
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "engine: a default container cannot open /proc/sysrq-trigger or core_pattern for writing; --privileged can (control)" {
	# opened for appending, never written: nothing changes on the host
	for f in /proc/sys/kernel/core_pattern /proc/sysrq-trigger; do
		[ -e "$f" ] || continue
		run "$HUSK" run --rm busybox sh -c "exec 3>>$f && echo opened"
		echo "$f: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"Read-only file system"* ]]
		run "$HUSK" run --rm --privileged busybox sh -c "exec 3>>$f && echo opened"
		[ "$output" = opened ]
	done
}

# a small store: HUSK_ROOT on a tmpfs of SIZE the test made
small_store() {
	mkdir -p "$HUSK_ROOT"
	mount -t tmpfs -o "size=$1" tmpfs "$HUSK_ROOT"
	SMALL_STORE=$HUSK_ROOT
}

# unmount it, after every container is gone (it fails while one's root is
# mounted in it)
small_store_done() {
	local c
	for c in $("$HUSK" ps -aq --no-trunc 2>/dev/null); do "$HUSK" rm -f "$c" >/dev/null 2>&1; done
	umount "$SMALL_STORE"
}

@test "engine: a container that fills its upper dir gets ENOSPC; its exit is recorded, rm frees it, a run on the full store fails clearly" {
	small_store 24m
	run "$HUSK" run --name fill busybox sh -c 'dd if=/dev/zero of=/big bs=1M count=100'
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"No space left on device"* ]]
	# the record took the exit even on a full disk
	run "$HUSK" ps -a --format '{{.Names}} {{.Status}}'
	echo "$output"
	[[ "$output" == "fill Exited (1) "* ]]
	# a new container cannot be made: a clear error, nothing left
	run "$HUSK" run --name two busybox true
	echo "$output"
	[ "$status" -eq 125 ]
	[[ "$output" == *"No space left on device"* ]]
	[ "$("$HUSK" ps -aq | wc -l)" = 1 ]
	# removing the container frees its space; the store works again
	"$HUSK" rm fill
	run "$HUSK" run --rm busybox echo after
	[ "$output" = after ]
	run "$HUSK" images --format '{{.Repository}}'
	[ "$output" = busybox ]
	small_store_done
}

@test "engine: rm -f removes a running container that filled the store, even its record's reserve" {
	small_store 24m
	"$HUSK" run -d --name fill busybox sh -c 'dd if=/dev/zero of=/big bs=1M count=100; sleep 100'
	for _ in $(seq 100); do
		[ "$(df --output=avail "$HUSK_ROOT" | tail -1)" -lt 200 ] && break
		sleep 0.05
	done
	# take the record's reserve too: the file that keeps space for its
	# next write
	rm -f "$HUSK_ROOT"/containers/*/meta.json.tmp
	head -c 1M /dev/zero >"$HUSK_ROOT/filler" 2>/dev/null || true
	run "$HUSK" rm -f fill
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$("$HUSK" ps -aq)" ]
	rm -f "$HUSK_ROOT/filler"
	small_store_done
}

@test "engine: a container that fills the store with its log: the log stops, the exit is recorded, the store stays usable" {
	small_store 16m
	"$HUSK" run -d --name logger busybox sh -c 'head -c 30000000 /dev/zero | tr "\0" a; echo; echo done'
	run "$HUSK" wait logger
	[ "$output" = 0 ]
	run "$HUSK" ps -a --format '{{.Names}} {{.Status}}'
	[[ "$output" == "logger Exited (0) "* ]]
	# the log holds what fitted
	[ "$("$HUSK" logs logger | head -c 100 | tr -d a)" = "" ]
	"$HUSK" rm logger
	run "$HUSK" run --rm busybox echo after
	[ "$output" = after ]
	small_store_done
}
