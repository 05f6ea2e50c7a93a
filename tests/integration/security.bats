#!/usr/bin/env bats
# Known runtime escapes (shared/DESIGN.md, "Known escapes"), each tried from
# inside a container.  Every test checks that the attack was really tried
# (the attacker saw its target, the symlink really points at the host, the
# leaked fd would have been a host directory) so that a pass is not vacuous,
# and where it can, first shows the same attack succeeding against an
# undefended target.  Tar-layer escapes are tested with the layer code.

load helpers

ATTACKS="$BATS_TEST_DIRNAME/attacks"

setup() {
	setup_husk
	VICTIM="/tmp/husk-victim-$$-$BATS_TEST_NUMBER"
}

teardown() {
	rm -rf "$VICTIM"
	teardown_husk
}

# build_attack NAME: compile attacks/NAME.c (static) to $TEST_DIR/NAME
build_attack() {
	command -v gcc >/dev/null || skip "gcc is needed to build attacks/$1.c"
	gcc -static -O2 -o "$TEST_DIR/$1" "$ATTACKS/$1.c"
}

# A private copy of the runtime: a successful CVE-2019-5736 attack
# overwrites this copy, never the shared build.
private_runtime() {
	mkdir -p "$TEST_DIR/rt"
	cp "$HUSK_OCI" "$TEST_DIR/rt/husk-oci"
	RT="$TEST_DIR/rt/husk-oci"
	RT_SUM=$(sha256sum <"$RT")
}

rt() {
	"$RT" --root "$ROOT" "$@"
}

rt_d() {
	"$RT" --root "$ROOT" "$@" </dev/null >>"$TEST_DIR/container.log" 2>&1
}

# ---------------------------------------------------------------------
# CVE-2019-5736: overwriting the runtime binary through /proc/PID/exe.
#
# The attacker (attacks/overwrite_exe.c) waits for a process in its pid
# namespace whose exe is the runtime, keeps an O_PATH fd to that exe, lets
# the runtime exit (it blocks opening a FIFO for --log until we read it),
# then reopens /proc/self/fd/N for writing.  The runtime inside the
# container is `husk-oci --log /tmp/fifo state nosuch`: it fails, and while
# it reports the failure it blocks on the FIFO, a deterministic window.

@test "CVE-2019-5736: the attack works against an undefended copy of the binary (control)" {
	# Without the sealed-memfd re-exec, a plain binary that an attacker can
	# see through /proc/PID/exe is overwritten: this is what the tests
	# below would observe if husk entered containers from its file.
	build_attack overwrite_exe
	mkdir -p "$TEST_DIR/victim"
	cp "$HUSK_OCI" "$TEST_DIR/victim/husk-victim"
	before=$(sha256sum <"$TEST_DIR/victim/husk-victim")
	mkfifo "$TEST_DIR/fifo"
	# `state` does not enter a container, so it runs from its file
	"$TEST_DIR/victim/husk-victim" --root "$TEST_DIR/nostate" --log "$TEST_DIR/fifo" \
		state nosuch </dev/null >/dev/null 2>&1 3>&- &
	run "$TEST_DIR/overwrite_exe" "$TEST_DIR/victim/husk-victim" "$TEST_DIR/fifo" 10
	wait
	echo "$output"
	[[ "$output" == *found*OVERWRITTEN* ]]
	[ "$(sha256sum <"$TEST_DIR/victim/husk-victim")" != "$before" ]
}

# Container A runs the attacker as its init; the runtime is then made to
# execute itself in A's pid namespace.
start_attacker() {
	build_attack overwrite_exe
	private_runtime
	cp "$TEST_DIR/overwrite_exe" "$BUNDLE/rootfs/bin/overwrite_exe"
	mkfifo "$BUNDLE/rootfs/tmp/fifo"
	update_config "$BUNDLE" '.root.readonly = false | .process.args = ["/bin/overwrite_exe", "/tmp/fifo", "/tmp/fifo", "15"]'
	"$RT" --root "$ROOT" run -d --bundle "$BUNDLE" "$ID-a" </dev/null >"$TEST_DIR/attacker.log" 2>&1
	wait_for_status "$ID-a" running
	APID=$(husk state "$ID-a" | jq -r .pid)
}

attacker_result() {
	for _ in $(seq 400); do
		[ "$(husk state "$ID-a" | jq -r .status)" = stopped ] && break
		sleep 0.05
	done
	cat "$TEST_DIR/attacker.log"
}

# bundle_in_attacker_pidns ARGS-JSON: bundle $TEST_DIR/b on A's rootfs (the
# FIFO) in A's pid namespace (the attacker sees its processes)
bundle_in_attacker_pidns() {
	mkdir -p "$TEST_DIR/b"
	cp "$BUNDLE/config.json" "$TEST_DIR/b/config.json"
	update_config "$TEST_DIR/b" ".root.path = \"$BUNDLE/rootfs\" | .root.readonly = false
		| .linux.namespaces |= map(if .type == \"pid\" then .path = \"/proc/$APID/ns/pid\" else . end)
		| .process.args = $1"
}

# The attacker got an fd to the exe of the runtime in the container (the
# test is not vacuous) and could not write through it.
assert_not_overwritten() {
	run attacker_result
	echo "attacker: $output"
	[[ "$output" == *found* ]]
	[[ "$output" == *FAILED* ]]
	[[ "$output" != *OVERWRITTEN* ]]
	[ "$(sha256sum <"$RT")" = "$RT_SUM" ]
	cmp "$RT" "$HUSK_OCI"
}

@test "CVE-2019-5736: entrypoint /proc/self/exe cannot overwrite the runtime" {
	start_attacker
	# container B: same rootfs (the FIFO), A's pid namespace (the attacker
	# sees it), entrypoint /proc/self/exe: the runtime runs itself inside
	bundle_in_attacker_pidns '["/proc/self/exe", "--root", "/tmp/nostate", "--log", "/tmp/fifo", "state", "nosuch"]'
	run rt run --bundle "$TEST_DIR/b" "$ID-b" 3>&-
	echo "runtime in the container: $status $output"
	# it really was the runtime that ran in the container
	[[ "$output" == *'container "nosuch" does not exist'* ]]
	assert_not_overwritten
}

@test "CVE-2019-5736: #!/proc/self/exe script as entrypoint cannot overwrite the runtime" {
	start_attacker
	# the kernel runs the interpreter as [/proc/self/exe, --log=/tmp/fifo,
	# /bin/evil]: the runtime, which reports "/bin/evil" as an unknown
	# command, and blocks on the FIFO doing so
	printf '#!/proc/self/exe --log=/tmp/fifo\n' >"$BUNDLE/rootfs/bin/evil"
	chmod 755 "$BUNDLE/rootfs/bin/evil"
	bundle_in_attacker_pidns '["/bin/evil"]'
	run rt run --bundle "$TEST_DIR/b" "$ID-b" 3>&-
	echo "runtime in the container: $status $output"
	[[ "$output" == *'unknown command "/bin/evil"'* ]]
	assert_not_overwritten
}

@test "CVE-2019-5736: exec of /proc/self/exe into a container cannot overwrite the runtime" {
	start_attacker
	run rt exec "$ID-a" /proc/self/exe --root /tmp/nostate --log /tmp/fifo state nosuch 3>&-
	echo "runtime in the container: $status $output"
	[[ "$output" == *'container "nosuch" does not exist'* ]]
	assert_not_overwritten
}

@test "CVE-2019-5736: a container racing to open /proc/PID/exe of exec'd processes cannot overwrite the runtime" {
	# Between its clone and its execve, the process of `husk-oci exec` is
	# the runtime inside the container's pid namespace.  The attacker
	# scans /proc as fast as it can and keeps an fd to the exe of every
	# process it may open; then writes through each.
	build_attack overwrite_exe
	private_runtime
	cp "$TEST_DIR/overwrite_exe" "$BUNDLE/rootfs/bin/overwrite_exe"
	# the runtime is known by its command line (.../husk-oci ... exec):
	# match "husk"
	update_config "$BUNDLE" '.root.readonly = false | .process.args = ["/bin/overwrite_exe", "--race", "husk", "/tmp/stop", "/tmp/race.out"]'
	rt_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	for _ in $(seq 30); do
		rt exec "$ID" true 3>&-
	done
	rt exec "$ID" touch /tmp/stop 3>&-
	for _ in $(seq 200); do
		[ -s "$BUNDLE/rootfs/tmp/race.out" ] && break
		sleep 0.05
	done
	cat "$TEST_DIR/container.log"
	cat "$BUNDLE/rootfs/tmp/race.out"
	# Not vacuous: the attacker saw the runtime's processes in its pid
	# namespace (their exe refused to it: non-dumpable, and holding
	# capabilities the container lacks) ...
	grep -Eq 'denied=[1-9]' "$BUNDLE/rootfs/tmp/race.out"
	# ... and nothing it could open was written through
	grep -q 'overwritten=0$' "$BUNDLE/rootfs/tmp/race.out"
	[ "$(sha256sum <"$RT")" = "$RT_SUM" ]
	cmp "$RT" "$HUSK_OCI"
}

# ---------------------------------------------------------------------
# CVE-2024-21626: a runtime fd to a host directory leaked into the
# container makes process.cwd = /proc/self/fd/N a host directory.

# is the listing in $output one of the host?  The fds a runtime holds at
# exec time point at the state directory, a cgroup directory, the bundle
# or the caller's cwd.
host_listing() {
	[[ "$output" == *state.json* || "$output" == *exec.fifo* || "$output" == *cgroup.procs* ||
		"$output" == *config.json* || "$output" == *host-marker* ]]
}

@test "CVE-2024-21626: process.cwd /proc/self/fd/N never starts in a host directory" {
	touch "$TEST_DIR/host-marker" "$BUNDLE/host-marker"
	cd "$TEST_DIR"
	refused=0
	for n in $(seq 3 12); do
		update_config "$BUNDLE" ".process.cwd = \"/proc/self/fd/$n\" | .process.args = [\"sh\", \"-c\", \"echo cwd=\$(pwd); ls -a; ls -a ..\"]"
		run husk run --bundle "$BUNDLE" "$ID"
		echo "fd $n: status $status: $output"
		if [ "$status" -eq 0 ]; then
			! host_listing
			[[ "$output" == cwd=/* ]]
			[[ "$output" != *unreachable* ]]
		else
			# a clear error about the cwd
			[[ "$output" == *'process.cwd "/proc/self/fd/'"$n"'"'* ]]
			[[ "$output" == *"resolves outside the container's root"* ]] && refused=$((refused + 1))
		fi
		husk delete --force "$ID" >/dev/null 2>&1 || true
	done
	# none of the runtime's fds at the chdir is a directory (they are
	# sockets and files, or closed): so far the check had nothing to catch
	echo "refused as outside the root: $refused"
}

@test "CVE-2024-21626: a host directory fd that does reach the container is refused as cwd" {
	# Not vacuous: the caller passes a host directory as fd 3
	# (--preserve-fds 1), the very leak CVE-2024-21626 is about; with
	# cwd /proc/self/fd/3 the chdir itself succeeds, into the host, and
	# only the check that the cwd is inside the container's root stops it
	touch "$TEST_DIR/host-marker"
	update_config "$BUNDLE" '.process.cwd = "/proc/self/fd/3" | .process.args = ["sh", "-c", "echo cwd=$(pwd); ls -a"]'
	run husk run --preserve-fds 1 --bundle "$BUNDLE" "$ID" 3<"$TEST_DIR"
	echo "run: $status: $output"
	[ "$status" -ne 0 ]
	! host_listing
	[[ "$output" == *'process.cwd "/proc/self/fd/3": resolves outside the container'* ]]
	husk delete --force "$ID" >/dev/null 2>&1 || true

	update_config "$BUNDLE" '.process.cwd = "/" | .process.args = ["sleep", "100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	run husk exec --preserve-fds 1 --cwd /proc/self/fd/3 "$ID" sh -c 'echo cwd=$(pwd); ls -a' 3<"$TEST_DIR"
	echo "exec: $status: $output"
	[ "$status" -ne 0 ]
	! host_listing
	[[ "$output" == *'process.cwd "/proc/self/fd/3": resolves outside the container'* ]]
}

@test "CVE-2024-21626: exec --cwd /proc/self/fd/N never starts in a host directory" {
	touch "$TEST_DIR/host-marker"
	cd "$TEST_DIR"
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	for n in $(seq 3 12); do
		run husk exec --cwd "/proc/self/fd/$n" "$ID" sh -c 'echo cwd=$(pwd); ls -a; ls -a ..'
		echo "fd $n: status $status: $output"
		if [ "$status" -eq 0 ]; then
			! host_listing
			[[ "$output" == cwd=/* ]]
			[[ "$output" != *unreachable* ]]
		else
			[[ "$output" == *'process.cwd "/proc/self/fd/'"$n"'"'* ]]
		fi
	done
	# the container is still fine, nothing of the runtime stayed in it
	run husk ps "$ID"
	[ "$status" -eq 0 ]
}

@test "CVE-2024-21626: the container's process gets only fds 0, 1, 2 (run)" {
	# bats itself holds fd 3 and more: none of them, nor any of the
	# runtime's, may reach the container
	exec 7<"$BUNDLE/config.json" 9<"$TEST_DIR"
	# the container's process is ls itself (no shell, whose pipes and
	# saved fds would come and go in the listing): 0, 1, 2 and the
	# directory it reads, nothing else
	update_config "$BUNDLE" '.process.args = ["ls", "/proc/self/fd"]'
	run husk run --bundle "$BUNDLE" "$ID"
	exec 7<&- 9<&-
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "0 1 2 3" ]
}

@test "CVE-2024-21626: the exec'd process gets only fds 0, 1, 2 (exec)" {
	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	exec 7<"$BUNDLE/config.json" 9<"$TEST_DIR"
	run husk exec "$ID" ls /proc/self/fd
	exec 7<&- 9<&-
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "0 1 2 3" ]
	# and init has nothing more than it was given either
	run husk exec "$ID" ls /proc/1/fd
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "0 1 2" ]
}

@test "CVE-2024-21626: --preserve-fds 1 passes fd 3 and only it (run and exec)" {
	echo preserved-content >"$TEST_DIR/preserved"
	# ls lists its own fds: 0-2, the preserved 3, and 4, its own handle on
	# /proc/self/fd (a leaked fd would push that to 5).  No pipe in sh:
	# its pipe fds would race into the listing.
	want=$(printf '0\n1\n2\n3\n4\npreserved-content')
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "ls /proc/self/fd; cat <&3"]'
	run husk run --preserve-fds 1 --bundle "$BUNDLE" "$ID" 3<"$TEST_DIR/preserved" 4<"$TEST_DIR/preserved" </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
	husk delete --force "$ID"

	update_config "$BUNDLE" '.process.args = ["sleep", "100"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	run husk exec --preserve-fds 1 "$ID" sh -c 'ls /proc/self/fd; cat <&3' 3<"$TEST_DIR/preserved" 4<"$TEST_DIR/preserved" </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
}

# ---------------------------------------------------------------------
# CVE-2021-30465: a mount destination that is (or becomes) a symlink to a
# host path.  The mount must land inside the rootfs, resolving the link as
# if the rootfs were /, and nothing may be mounted or made on the host.

host_untouched() {
	# only the marker in the victim, and no mount of it on the host
	[ "$(ls -A "$VICTIM")" = marker ]
	! grep -qF "$VICTIM" /proc/self/mountinfo
}

@test "CVE-2021-30465: a mount onto a symlink to a host path lands inside the rootfs" {
	mkdir -p "$VICTIM" "$TEST_DIR/src" "$BUNDLE/rootfs/mnt" "$BUNDLE/rootfs$VICTIM"
	touch "$VICTIM/marker" "$TEST_DIR/src/volfile"
	ln -s "$VICTIM" "$BUNDLE/rootfs/mnt/abs"
	ln -s "../../../../../../..$VICTIM-rel" "$BUNDLE/rootfs/mnt/rel"
	mkdir -p "$VICTIM-rel" "$BUNDLE/rootfs$VICTIM-rel"
	touch "$VICTIM-rel/marker"
	# not vacuous: on the host, both links lead out of the rootfs to the
	# victims, as a runtime that followed them from the host would go
	[ -e "$BUNDLE/rootfs/mnt/abs/marker" ]
	[ -e "$BUNDLE/rootfs/mnt/rel/marker" ]
	update_config "$BUNDLE" ".mounts += [
		{\"destination\": \"/mnt/abs\", \"type\": \"bind\", \"source\": \"$TEST_DIR/src\", \"options\": [\"bind\"]},
		{\"destination\": \"/mnt/rel\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"size=1m\"]}]
		| .process.args = [\"sh\", \"-c\", \"ls /mnt/abs/; awk '{print \$5, \$9}' /proc/self/mountinfo; touch /mnt/rel/made-by-container\"]"
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	# the bind landed on the link's target inside the rootfs
	[ "${lines[0]}" = volfile ]
	grep -q "^$VICTIM " <<<"$output"
	[[ "$output" == *"$VICTIM-rel tmpfs"* ]]
	host_untouched
	[ "$(ls -A "$VICTIM-rel")" = marker ]
	! grep -qF "$VICTIM-rel" /proc/self/mountinfo
	rm -rf "$VICTIM-rel"
}

@test "CVE-2021-30465: a mount onto a symlink whose target is missing in the rootfs is made inside it" {
	# as runc (securejoin): the link is followed inside the rootfs and
	# the missing directories are created there, never on the host
	mkdir -p "$VICTIM" "$BUNDLE/rootfs/mnt"
	touch "$VICTIM/marker"
	ln -s "$VICTIM/sub" "$BUNDLE/rootfs/mnt/target"
	update_config "$BUNDLE" '.mounts += [{"destination": "/mnt/target", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}]
		| .process.args = ["sh", "-c", "awk \"{print \\$5, \\$9}\" /proc/self/mountinfo"]'
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	host_untouched
	[ "$status" -eq 0 ]
	[[ "$output" == *"$VICTIM/sub tmpfs"* ]]
	[ -d "$BUNDLE/rootfs$VICTIM/sub" ]
}

@test "CVE-2021-30465: a container swapping a directory and a symlink cannot redirect other containers' mounts" {
	build_attack swap_race
	mkdir -p "$VICTIM" "$TEST_DIR/vol/target/sub"
	touch "$VICTIM/marker"
	ln -s "$VICTIM" "$TEST_DIR/vol/link"
	# not vacuous: when the link is in place, a host-side walk of the
	# destination leaves the volume for the victim
	[ -e "$TEST_DIR/vol/link/marker" ]
	cp "$TEST_DIR/swap_race" "$BUNDLE/rootfs/bin/swap_race"
	cp "$BUNDLE/config.json" "$TEST_DIR/victim-config.json"
	update_config "$BUNDLE" ".mounts += [{\"destination\": \"/vol\", \"type\": \"bind\", \"source\": \"$TEST_DIR/vol\", \"options\": [\"rbind\"]}]
		| .process.args = [\"/bin/swap_race\", \"/vol/target\", \"/vol/link\", \"/vol/stop\"]"
	husk_d run -d --bundle "$BUNDLE" "$ID-swap"
	wait_for_status "$ID-swap" running

	# the victims: the volume, then a tmpfs on a path below the racing
	# entry; "new" exists nowhere, so a runtime following the link from
	# the host would create $VICTIM/sub/new
	b="$TEST_DIR/b"
	mkdir -p "$b"
	cp -a "$(rootfs_template)" "$b/rootfs"
	mkdir -p "$b/rootfs$VICTIM/sub"
	cp "$TEST_DIR/victim-config.json" "$b/config.json"
	update_config "$b" ".mounts += [
		{\"destination\": \"/vol\", \"type\": \"bind\", \"source\": \"$TEST_DIR/vol\", \"options\": [\"rbind\"]},
		{\"destination\": \"/vol/target/sub/new\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"size=1m\"]}]
		| .process.args = [\"sh\", \"-c\", \"awk '\$9 == \\\"tmpfs\\\" {print \$5}' /proc/self/mountinfo | grep -c '/sub/new\$'\"]"
	ok=0 refused=0
	for i in $(seq 30); do
		run husk run --bundle "$b" "$ID-v$i"
		if [ "$status" -eq 0 ]; then
			# the tmpfs is in the container's tree: it did not land
			# outside the rootfs (it would be gone with the old root)
			[ "$output" = 1 ] || { echo "run $i: mount not in the container: $output"; false; }
			ok=$((ok + 1))
		else
			echo "run $i refused: $output"
			[[ "$output" == *"/vol/target/sub/new"* ]]
			refused=$((refused + 1))
			husk delete --force "$ID-v$i" >/dev/null 2>&1 || true
		fi
		husk delete "$ID-v$i" >/dev/null 2>&1 || true
		host_untouched
	done
	touch "$TEST_DIR/vol/stop"
	wait_for_status "$ID-swap" stopped
	cat "$TEST_DIR/container.log"
	echo "started: $ok, refused: $refused"
	# the swapper really swapped all along
	grep -Eq 'swaps=[1-9][0-9]{3,}' "$TEST_DIR/container.log"
	host_untouched
}

# ---------------------------------------------------------------------
# The runtime's own processes inside the container's pid namespace (the
# CVE-2016-9962 shape, with the host reachable through /proc/PID/root,
# cwd or fds): the process of `husk-oci exec` must not be visible in the
# container while it still has the host's root, cwd or fds, or must be
# unreachable even to a container holding CAP_SYS_PTRACE (a capability
# containers are commonly given, for debuggers), which overrides
# non-dumpable.

@test "exec race: a container with CAP_SYS_PTRACE cannot reach the host through the entering runtime" {
	build_attack proc_root_race
	marker="$TEST_DIR/host-only-marker"
	echo host >"$marker"
	cp "$TEST_DIR/proc_root_race" "$BUNDLE/rootfs/bin/proc_root_race"
	update_config "$BUNDLE" ".root.readonly = false
		| .process.capabilities |= with_entries(.value += [\"CAP_SYS_PTRACE\"])
		| .process.args = [\"/bin/proc_root_race\", \"$marker\", \"/tmp/stop\", \"/tmp/race.out\"]"
	# the marker exists only on the host
	[ ! -e "$BUNDLE/rootfs$marker" ]
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	cd "$TEST_DIR"
	for _ in $(seq 50); do
		husk exec "$ID" true 3>&-
	done
	husk exec "$ID" touch /tmp/stop 3>&-
	for _ in $(seq 200); do
		[ -s "$BUNDLE/rootfs/tmp/race.out" ] && break
		sleep 0.05
	done
	cat "$BUNDLE/rootfs/tmp/race.out"
	# the attacker ran, and scanned processes
	grep -Eq 'tries=[1-9]' "$BUNDLE/rootfs/tmp/race.out"
	grep -q 'escaped=0' "$BUNDLE/rootfs/tmp/race.out"
}

@test "create race: a container sharing its pid namespace cannot reach the host through a new container's setup" {
	# Containers of a pod join one pid namespace by path.  The joining
	# container's init must not be visible there before it has pivoted
	# into its own root.
	build_attack proc_root_race
	marker="$TEST_DIR/host-only-marker"
	echo host >"$marker"
	cp "$TEST_DIR/proc_root_race" "$BUNDLE/rootfs/bin/proc_root_race"
	update_config "$BUNDLE" ".root.readonly = false
		| .process.capabilities |= with_entries(.value += [\"CAP_SYS_PTRACE\"])
		| .process.args = [\"/bin/proc_root_race\", \"$marker\", \"/tmp/stop\", \"/tmp/race.out\"]"
	[ ! -e "$BUNDLE/rootfs$marker" ]
	husk_d run -d --bundle "$BUNDLE" "$ID"
	wait_for_status "$ID" running
	pid=$(husk state "$ID" | jq -r .pid)
	make_bundle "$TEST_DIR/b2"
	update_config "$TEST_DIR/b2" ".linux.namespaces |= map(if .type == \"pid\" then .path = \"/proc/$pid/ns/pid\" else . end)
		| .process.args = [\"true\"]"
	for i in $(seq 20); do
		husk run --bundle "$TEST_DIR/b2" "$ID-j$i" </dev/null >/dev/null 2>&1 3>&-
	done
	husk exec "$ID" touch /tmp/stop 3>&-
	for _ in $(seq 200); do
		[ -s "$BUNDLE/rootfs/tmp/race.out" ] && break
		sleep 0.05
	done
	cat "$BUNDLE/rootfs/tmp/race.out"
	grep -Eq 'tries=[1-9]' "$BUNDLE/rootfs/tmp/race.out"
	grep -q 'escaped=0' "$BUNDLE/rootfs/tmp/race.out"
}
